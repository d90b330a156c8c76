"""Small pieces shared by the blueprints."""

from urllib.parse import urlsplit

from flask import abort, current_app, request, url_for
from flask_wtf import FlaskForm

MAX_PAGE = 1_000_000


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


def page_number() -> int:
    """The ``page`` query parameter: 1 when absent. :raise 404: not a page number."""
    raw = request.args.get("page", "1")
    # Length first: int() refuses strings of thousands of digits with an error.
    if len(raw) > 7 or not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        abort(404)
    return int(raw)


def per_page() -> int:
    return current_app.config["TODOS_PER_PAGE"]


def here() -> str:
    """This page's path and query, for a form's ``next`` field."""
    return request.full_path.rstrip("?")
