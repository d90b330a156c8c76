import time
from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.exceptions import TooManyRequests

from ..models import User, utcnow
from ..services import activity, sessions, throttle, users
from ..services.pages import parse_id
from ..user_agent import clean as clean_user_agent
from ..web import safe_next
from . import devices
from .forms import LoginForm, RegisterForm

bp = Blueprint("auth", __name__, url_prefix="/auth")


# Session keys: the session's token (its row in user_sessions) and when the
# session was last used, in whole seconds, for the idle timeout.
TOKEN, SEEN = "sid", "seen"
# The "last used" time is written back at most this often, so a busy
# session does not get a new cookie on every request.
SEEN_EVERY = 60  # seconds


# What the login page says when a session ended without its own logout.
ENDED_EXPIRED = "expired"
WHY_LOGGED_OUT = {
    sessions.ENDED_ELSEWHERE: "Your session was ended from another device. Please log in again.",
    sessions.ENDED_EVERYWHERE: "You were logged out everywhere. Please log in again.",
    sessions.ENDED_BY_CHANGE: "Your password was changed, so your other sessions were logged "
    "out. Log in with the new password.",
    sessions.ENDED_BY_RESET: "An administrator gave your account a temporary password, so you "
    "were logged out. Log in with it to choose your own.",
    sessions.ENDED_BY_DISABLE: "Your account was disabled by an administrator.",
    ENDED_EXPIRED: "Your session expired. Please log in again.",
}


def load_user(user_id: str) -> sessions.SessionUser | None:
    """Flask-Login's loader: the user of this request's session, or None
    when the session was ended on the server, the account is disabled, or the
    session is past its idle timeout or its lifetime (the next page then
    says which). A session last stamped active ``SESSION_ACTIVITY_MINUTES``
    ago or more is stamped again: one small write per session that often,
    none on the pages in between."""
    token, uid = session.get(TOKEN), parse_id(user_id)
    if not isinstance(token, str) or uid is None:
        return None
    found = sessions.find(uid, token)
    if found is None:
        return _logged_out(sessions.why_ended(token))
    config, now = current_app.config, time.time()
    seen = session.get(SEEN, 0)
    if not found.user.is_active:
        return _logged_out(sessions.ENDED_BY_DISABLE)
    if (
        utcnow() - found.started > timedelta(hours=config["SESSION_LIFETIME_HOURS"])
        or not isinstance(seen, int)
        or now - seen > config["SESSION_IDLE_MINUTES"] * 60
    ):
        return _logged_out(ENDED_EXPIRED)
    if now - seen > SEEN_EVERY:
        session[SEEN] = int(now)
    every = timedelta(minutes=config["SESSION_ACTIVITY_MINUTES"])
    if found.last_active is None or utcnow() - found.last_active >= every:
        sessions.touch(token, every=every)
    return found.user


def _logged_out(reason: str | None) -> None:
    """This browser's session is over: forget its token, and say why on the
    next page (the login page) when the reason is known."""
    session.pop(TOKEN, None)
    session.pop(SEEN, None)
    if reason in WHY_LOGGED_OUT:
        flash(WHY_LOGGED_OUT[reason], "info")
        g.logged_out_because = reason
    return None


def session_token() -> str | None:
    """The token of the request's session (to keep it when ending the others)."""
    return session.get(TOKEN)


def renew_session(token: str | None) -> None:
    """This session goes on under ``token`` (None: it has ended, log out)."""
    if token is None:
        logout_user()
        session.clear()
    else:
        session[TOKEN] = token


def send_to_login():
    """Anonymous visitors go to the login page, which brings them back after."""
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    if not g.get("logged_out_because"):  # else the reason was said already
        flash("Please log in to see that page.", "info")
    return redirect(url_for("auth.login", next=target))


def _start_session(user: User) -> None:
    # A fresh session at login: nothing set before it (by anyone) carries over.
    session.clear()
    lifetime = timedelta(hours=current_app.config["SESSION_LIFETIME_HOURS"])
    session[TOKEN] = sessions.start(
        user.id,
        lifetime=lifetime,
        address=request.remote_addr,
        user_agent=clean_user_agent(request.headers.get("User-Agent")),
    )
    session[SEEN] = int(time.time())
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = LoginForm()
    if form.validate_on_submit():
        device = devices.recognised(form.username.data)
        keys = throttle.keys_for(form.username.data, request.remote_addr, device=device)
        # Counted before the password check, so parallel guesses cannot outrun it.
        if wait := throttle.attempt(keys):
            raise TooManyRequests(_too_many_logins(wait), retry_after=wait.seconds)
        user = users.authenticate(form.username.data, form.password.data)
        if user is not None and not user.is_active:
            form.form_errors.append(
                "This account is disabled. Ask an administrator to enable it again."
            )
        elif user is not None:
            throttle.succeeded(keys)
            _start_session(user)
            if user.must_change_password:
                flash("Choose a new password before you go on.", "info")
                response = redirect(url_for("account.password", next=next_url))
            else:
                response = redirect(next_url)
            devices.remember(response, user.username)
            return response
        else:
            known = users.get_user_by_username(form.username.data)
            activity.record(
                "login_failed",
                actor_id=None,
                user_id=known.id if known else None,
                address=request.remote_addr,
            )
            form.form_errors.append("Wrong username or password.")
    status = 422 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


def _too_many_logins(wait: throttle.Wait) -> str:
    if wait.on_account:
        return (
            "Too many failed logins to this account from browsers it has not been "
            f"used on. Try again in {_in_words(wait.seconds)}, or log in from a "
            "browser you have used for this account before."
        )
    return f"Too many failed logins. Try again in {_in_words(wait.seconds)}."


def _in_words(seconds: int) -> str:
    """A wait in whole seconds under a minute, else in minutes rounded up."""
    if seconds < 60:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("todos.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        # Counted before anything is said about the name, taken or not.
        if wait := throttle.attempt(throttle.registration_keys(request.remote_addr)):
            raise TooManyRequests(
                "Too many attempts to create an account from your address. "
                f"Try again in {_in_words(wait.seconds)}.",
                retry_after=wait.seconds,
            )
        try:
            user = users.create_user(
                form.username.data, form.password.data, address=request.remote_addr
            )
        except users.UsernameTaken:
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
    """Ends this session on the server too: a copy of its cookie opens nothing."""
    if token := session_token():
        sessions.end(token, current_user.id)
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
