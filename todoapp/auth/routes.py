from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.exceptions import TooManyRequests

from ..extensions import db
from ..models import User
from ..services import throttle, users
from ..web import safe_next
from .forms import LoginForm, RegisterForm

bp = Blueprint("auth", __name__, url_prefix="/auth")


def load_user(user_id: str) -> User | None:
    try:
        return db.session.get(User, int(user_id))
    except ValueError:
        return None


def send_to_login():
    """Anonymous visitors go to the login page, which brings them back after."""
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    flash("Please log in to see that page.", "info")
    return redirect(url_for("auth.login", next=target))


def _start_session(user: User) -> None:
    # A fresh session at login: nothing set before it (by anyone) carries over.
    session.clear()
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = LoginForm()
    if form.validate_on_submit():
        keys = throttle.keys_for(form.username.data, request.remote_addr)
        if wait := throttle.retry_after(keys):
            raise TooManyRequests(
                f"Too many failed logins. Try again in {_minutes(wait)}.", retry_after=wait
            )
        user = users.authenticate(form.username.data, form.password.data)
        if user is not None:
            throttle.clear(f"user:{user.username}")
            _start_session(user)
            return redirect(next_url)
        throttle.record_failure(keys)
        form.form_errors.append("Wrong username or password.")
    status = 422 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


def _minutes(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("todos.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = users.create_user(form.username.data, form.password.data)
        except users.UsernameTaken:  # registered by someone else a moment ago
            form.username.errors.append("That username is taken.")
        else:
            _start_session(user)
            flash(f"Welcome, {user.username}! Add your first todo below.", "success")
            return redirect(url_for("todos.index"))
    status = 422 if form.is_submitted() else 200
    return render_template("auth/register.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
