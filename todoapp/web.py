"""Small pieces shared by the blueprints."""

from urllib.parse import urlsplit

from flask import current_app, request, url_for
from flask_wtf import FlaskForm


class EmptyForm(FlaskForm):
    """A form that is only a button: it carries the CSRF token."""


def safe_next(target: str | None, default_endpoint: str = "todos.index") -> str:
    """``target`` if it is a path on this site, else the default page. Never
    an absolute URL, a scheme-relative ``//host`` or a backslash trick."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.isprintable() and "\\" not in target:
            return target
    return url_for(default_endpoint)


def cursor() -> dict[str, str | None]:
    """Where a list page starts: the ``before`` or ``after`` cursor of the
    query string, as keyword arguments for a list service (which checks them)."""
    return {"before": request.args.get("before"), "after": request.args.get("after")}


def per_page() -> int:
    return current_app.config["TODOS_PER_PAGE"]


def here() -> str:
    """This page's path and query, for a form's ``next`` field."""
    return request.full_path.rstrip("?")
