"""Small pieces shared by the blueprints."""

import io
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


class StreamedBodyLimit:
    """WSGI middleware: a body sent without ``Content-Length`` (chunked) is
    read here, up to one byte past ``limit``, and handed on with its length.

    Werkzeug enforces ``MAX_CONTENT_LENGTH`` on such a body by stopping at the
    limit, so the form parser would get the first 64 KiB of a longer body and
    act on it: a title cut short, or a 10 MB body accepted. With the length
    known, an oversized body is refused whole with the app's own 413 page.
    """

    def __init__(self, wsgi_app, limit: int):
        self.wsgi_app = wsgi_app
        self.limit = limit

    def __call__(self, environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH") and environ.get("wsgi.input_terminated"):
            stream, body = environ["wsgi.input"], b""
            while len(body) <= self.limit:  # a read may return less than asked
                part = stream.read(self.limit + 1 - len(body))
                if not part:
                    break
                body += part
            environ["wsgi.input"] = io.BytesIO(body)
            # Now a body of known length: werkzeug ignores Content-Length
            # while Transfer-Encoding says chunked.
            environ["CONTENT_LENGTH"] = str(len(body))
            del environ["HTTP_TRANSFER_ENCODING"], environ["wsgi.input_terminated"]
        return self.wsgi_app(environ, start_response)
