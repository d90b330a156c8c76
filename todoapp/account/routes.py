"""The account page: change the password, see recent activity, log out
everywhere."""

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from ..auth.routes import renew_session, session_token
from ..services import activity, users
from ..web import EmptyForm, safe_next
from .forms import PasswordForm

bp = Blueprint("account", __name__, url_prefix="/account")
bp.before_request(login_required(lambda: None))


@bp.get("")
def index():
    return render_template(
        "account/index.html",
        previous_login=activity.previous_login(current_user.id),
        recent=activity.recent(current_user.id),
        button=EmptyForm(),
    )


@bp.route("/password", methods=["GET", "POST"])
def password():
    """Change the password. Every other session of the account ends."""
    form = PasswordForm()
    next_url = safe_next(request.values.get("next"), "account.index")
    if form.validate_on_submit():
        try:
            renewed = users.change_password(
                current_user.id, form.current.data, form.new.data, session_token=session_token()
            )
        except users.WrongPassword as exc:
            form.current.errors.append(str(exc))
        except ValueError as exc:
            form.new.errors.append(str(exc))
        else:
            renew_session(renewed)
            flash("Your password is changed. Your other sessions are logged out.", "success")
            return redirect(next_url)
    status = 422 if form.is_submitted() else 200
    return render_template("account/password.html", form=form, next_url=next_url), status


@bp.post("/logout-everywhere")
def logout_everywhere():
    users.log_out_everywhere(current_user.id)
    logout_user()
    session.clear()
    flash("You are logged out everywhere, on this device too.", "info")
    return redirect(url_for("auth.login"))
