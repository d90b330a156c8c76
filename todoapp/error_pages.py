"""Error pages as templates, with a friendly word for each status."""

import logging

from flask import Flask, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import (
    Conflict,
    HTTPException,
    InternalServerError,
    NotFound,
    SecurityError,
)

from .extensions import db
from .services.errors import InTrash, NotFoundError
from .web import keep_draft, safe_next, shows_a_page

log = logging.getLogger(__name__)

FRIENDLY_ERRORS = {
    400: "The request could not be understood. If you sent a form, go back, "
    "reload the page and try again.",
    403: "This page is for administrators only.",
    404: "There is nothing here. It may have been deleted, or it belongs to someone else.",
    405: "This address does not accept that kind of request.",
    413: "That was too much data to accept in one request.",
    429: None,  # the error's own description says how long to wait
    422: "The form has errors.",
    # Only what is known: the crash may have come after a change was saved.
    500: "Something went wrong on our side, and it has been logged. If you were "
    "changing something, check whether the change was made before you try again.",
}


# A plainer heading than the HTTP name, where one helps.
FRIENDLY_TITLES = {429: "Too many attempts"}
# What one can do meanwhile, below the message, by (status, endpoint).
ADVICE = {
    (429, "auth.login"): "The wait grows with each failed attempt, to slow down anyone "
    "guessing passwords. If you have forgotten yours, an administrator can give you a "
    "temporary one.",
}


def render_error(error: HTTPException, message: str | None = None):
    message = message or FRIENDLY_ERRORS.get(error.code) or error.description
    # Keep headers such as Allow (405) or Retry-After (429).
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    body = render_template(
        "errors/error.html",
        error=error,
        message=message,
        title=FRIENDLY_TITLES.get(error.code, error.name),
        advice=ADVICE.get((error.code, request.endpoint)),
    )
    return body, error.code, headers


def render_in_trash(error: InTrash):
    """The owner's own todo or list, reached while it is in the trash (from a
    tab opened before, or Back): say so and offer to restore it, then come
    back here. A page asked for is a 404, as any page that is not there; an
    action on it (a form posted) is a 409, a conflict with its state. The
    text a form carried is shown, and kept for the form of this URL."""
    if request.method in ("GET", "HEAD"):
        status, back, typed = NotFound(), request.full_path.rstrip("?"), {}
    else:
        status, typed = Conflict(), keep_draft()
        back = request.path if shows_a_page() else safe_next(request.form.get("next"))
    kind, entry_id = error.entry
    if kind == "todo":
        restore = url_for("trash.restore", todo_id=entry_id)
        details = url_for("trash.confirm_restore", todo_id=entry_id)
    else:
        restore = url_for("trash.restore_list", list_id=entry_id)
        details = url_for("trash.confirm_restore_list", list_id=entry_id)
    body = render_template(
        "errors/in_trash.html",
        error=error,
        restore=restore,
        details=details,
        back=back,
        typed=typed,
        kept=bool(typed) and back == request.path,
    )
    return body, status.code


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        return render_error(error)

    @app.errorhandler(NotFoundError)
    def handle_not_found(error: NotFoundError):
        return render_error(NotFound(), str(error))

    @app.errorhandler(InTrash)
    def handle_in_trash(error: InTrash):
        return render_in_trash(error)

    @app.errorhandler(SecurityError)
    def handle_untrusted_host(error: SecurityError):
        # Flask raises it for a Host header that is not in TRUSTED_HOSTS.
        host = request.environ.get("HTTP_HOST", "")
        log.warning("Refused a request for host %r: it is not in TRUSTED_HOSTS.", host)
        # No URL can be built for an untrusted host, so no page template either.
        return (
            "This server does not answer for that host name.",
            400,
            {"Content-Type": "text/plain"},
        )

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError):
        return render_error(
            error,
            "This form had expired or did not come from this site, so nothing was "
            "changed. Go back, reload the page and try again.",
        )

    @app.errorhandler(InternalServerError)
    def handle_server_error(error: InternalServerError):
        db.session.rollback()
        if error.original_exception is not None:
            log.error(
                "Unhandled error on %s %s",
                request.method,
                request.path,
                exc_info=error.original_exception,
            )
        return render_error(error)
