"""Small pieces shared by the blueprints."""

import io
import re
import time
from urllib.parse import urlsplit

from cachetools import LRUCache, TTLCache
from flask import current_app, g, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from werkzeug.routing import BaseConverter, ValidationError

from .models import TITLE_MAX
from .services import due
from .services.pages import ID_DIGITS, parse_id


class IdConverter(BaseConverter):
    """A database id in a URL (``services.pages.parse_id``): anything else is a 404
    rather than an overflow inside the database driver. ASCII digits only:
    werkzeug's own int converter also takes other scripts' digits, such as "١"."""

    regex = rf"[0-9]{{1,{ID_DIGITS}}}"

    def to_python(self, value: str) -> int:
        parsed = parse_id(value)
        if parsed is None:
            raise ValidationError()
        return parsed

    def to_url(self, value: int) -> str:
        return str(value)


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


# The field a row's button sends to name the row to come back to when its own
# goes (rows._then), and the anchors a row may have (rows._todo_anchor,
# rows._entry_anchor) or, for a page's only row, the page's content
# (``CONTENT``, base.html's <main id="main">, the skip link's target): nothing
# else is written into a redirect.
THEN = "then"
CONTENT = "main"
_ROW_ANCHOR = re.compile(rf"{CONTENT}|(?:todo|trash-todo|trash-list)-[0-9]{{1,{ID_DIGITS}}}")


def to_row(url: str, anchor: str | None = None) -> str:
    """``url`` with a fragment naming the row to come back to: the one the
    pressed button named (``THEN``), else ``anchor``. The browser scrolls to
    it and, since a row takes the focus, puts the focus on it (on the
    page's content, the next Tab goes to its first control, the message's
    Undo). ``url`` as it is when neither names a row."""
    if "#" in url:
        return url
    for named in (request.form.get(THEN), anchor):
        if named and _ROW_ANCHOR.fullmatch(named):
            return f"{url}#{named}"
    return url


# A typed text a POST could not save (its todo or list was in the trash), kept
# in the session for the form at the same URL: the fields it may hold, each cut
# to the longest a title may be, and one draft at a time (a cookie is small).
DRAFT, DRAFT_FIELDS = "draft", ("title", "name")


def keep_draft() -> dict[str, str]:
    """The text this POST's form carried (``DRAFT_FIELDS``), for the page to
    show. When this URL also shows the form (an edit page, a list's page),
    it is kept for that form's next GET (``take_draft``)."""
    typed = {
        name: value[:TITLE_MAX]
        for name in DRAFT_FIELDS
        if isinstance(value := request.form.get(name), str) and value.strip()
    }
    if typed and shows_a_page():
        session[DRAFT] = {"path": request.path, "fields": typed}
    return typed


def shows_a_page() -> bool:
    """Whether this request's URL also answers a GET (an edit page, a list's page)."""
    return current_app.create_url_adapter(request).test(request.path, method="GET")


def take_draft() -> dict[str, str]:
    """The draft kept for this URL, if any: it is used up."""
    draft = session.get(DRAFT)
    if not isinstance(draft, dict) or draft.get("path") != request.path:
        return {}
    session.pop(DRAFT)
    fields = draft.get("fields")
    if not isinstance(fields, dict):
        return {}
    return {k: v for k, v in fields.items() if k in DRAFT_FIELDS and isinstance(v, str)}


def fill_from_draft(form: FlaskForm) -> None:
    """Put the draft kept for this URL, if any, into ``form``'s fields."""
    for name, value in take_draft().items():
        if name in form:
            form[name].data = value


def cursor() -> dict[str, str | None]:
    """Where a list page starts: the ``before`` or ``after`` cursor of the
    query string, as keyword arguments for a list service (which checks them)."""
    return {"before": request.args.get("before"), "after": request.args.get("after")}


def user_today():
    """The user's own date: in the time zone their browser keeps in the
    ``tz`` cookie (static/app.js), UTC without one (services.due)."""
    return due.today_in(request.cookies.get(due.ZONE_COOKIE))


def per_page() -> int:
    return current_app.config["TODOS_PER_PAGE"]


def here() -> str:
    """This page's path and query, for a form's ``next`` field."""
    return request.full_path.rstrip("?")


# How long a session's signed CSRF token is written again rather than signed
# anew: a minute, or a sixtieth of the token's lifetime if that is shorter.
CSRF_REUSE_SECONDS = 60
# At most this many sessions' tokens are kept; the least recently used go first.
CSRF_KEPT_SESSIONS = 1024


def _kept_tokens(app) -> TTLCache:
    """The app's kept tokens: (key, raw token) -> signed token, each for its reuse time."""
    kept = app.extensions.get("todoapp.csrf_tokens")
    if kept is None:
        limit = app.config["WTF_CSRF_TIME_LIMIT"]
        reuse = CSRF_REUSE_SECONDS if limit is None else min(CSRF_REUSE_SECONDS, limit / 60)
        # The clock is looked up on each use, so that tests can move it.
        kept = TTLCache(CSRF_KEPT_SESSIONS, reuse, timer=lambda: time.monotonic())
        kept = app.extensions.setdefault("todoapp.csrf_tokens", kept)
    return kept


def csrf_token() -> str:
    """The templates' ``csrf_token()``: Flask-WTF's ``generate_csrf``, with a
    session's signed token kept for a minute and written again.

    Flask-WTF signs the session's raw token on every request that shows a
    form. The signed token carries its time, and any token of this session
    younger than ``WTF_CSRF_TIME_LIMIT`` is accepted, so a page may as well
    show the one signed for this session up to a minute ago; it then expires
    up to a minute sooner. The key is the secret key and the session's raw
    token, both made by the app (a client cannot choose one; a new session
    gets a new raw token), and the cache is bounded by entries. A token is
    put in ``g``, where Flask-WTF keeps the request's, so the rest of the
    request shows the same one; a page whose view made a form first shows
    that form's. Checking a token is Flask-WTF's, unchanged."""
    config = current_app.config
    field = config["WTF_CSRF_FIELD_NAME"]
    token = g.get(field)  # this request's
    if token is not None:
        return token
    kept = _kept_tokens(current_app)
    secret = config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    if (raw := session.get(field)) is not None:
        signed = kept.get((secret, raw))
        if signed is not None:
            setattr(g, field, signed)
            return signed
    token = generate_csrf()  # signed, and on a session's first form its raw token made
    kept[(secret, session[field])] = token
    return token


class SessionInterface(SecureCookieSessionInterface):
    """Flask's session in a signed cookie, with its serializer made once per
    set of keys (the secret key and its fallbacks) rather than on every
    request. Every cookie is verified, and saved, as Flask does."""

    def __init__(self):
        # More than one set only when the keys change at run time (tests).
        self._serializers = LRUCache(maxsize=4)

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer


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
