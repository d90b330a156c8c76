"""The account page: change the password, see recent activity and your
sessions, end one, log out everywhere."""

from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, logout_user

from ..auth.routes import renew_session, session_token
from ..services import activity, sessions, users
from ..user_agent import describe
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
        sessions=_sessions(),
        describe=describe,
        button=EmptyForm(),
    )


def _sessions() -> list[sessions.Listed]:
    config = current_app.config
    return sessions.list_sessions(
        current_user.id,
        current_token=session_token(),
        lifetime=timedelta(hours=config["SESSION_LIFETIME_HOURS"]),
        idle=timedelta(minutes=config["SESSION_IDLE_MINUTES"] + config["SESSION_ACTIVITY_MINUTES"]),
    )


@bp.post("/sessions/<handle>/end")
def end_session(handle: str):
    """End one of your sessions: its browser is logged out at its next
    request and told why. Another user's session is a 404, like a missing one."""
    if sessions.end_listed(current_user.id, handle, current_token=session_token()):
        logout_user()
        session.clear()
        flash("You ended this session, so you are logged out.", "info")
        return redirect(url_for("auth.login"))
    flash("Ended the session. That browser is logged out.", "success")
    return redirect(url_for("account.index"))


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


@bp.post("/completed/hide")
def hide_completed():
    """The lists show how many todos are done, not the todos: on every device."""
    users.set_hide_completed(current_user.id, True)
    return redirect(safe_next(request.form.get("next"), "account.index"))


@bp.post("/completed/show")
def show_completed():
    """The lists show their done todos again, in a Completed section."""
    users.set_hide_completed(current_user.id, False)
    return redirect(safe_next(request.form.get("next"), "account.index"))


@bp.post("/logout-everywhere")
def logout_everywhere():
    users.log_out_everywhere(current_user.id)
    logout_user()
    session.clear()
    flash("You are logged out everywhere, on this device too.", "info")
    return redirect(url_for("auth.login"))
