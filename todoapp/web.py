"""Small pieces shared by the blueprints."""

import io
import time
from urllib.parse import urlsplit

from flask import current_app, g, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner


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


class Bounded(dict):
    """A dict of at most ``size`` entries: ``put`` past that empties it first.
    For what a process keeps to save itself work (signed tokens, verified
    cookies, formatted times): losing all of it at once costs only that work
    again, and the bound is what matters."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def put(self, key, value):
        if len(self) >= self.size:
            self.clear()
        self[key] = value
        return value


# How long a session's signed CSRF token is written again rather than signed
# anew: a minute, or a sixtieth of the token's lifetime if that is shorter.
CSRF_REUSE_SECONDS = 60
# Past this many sessions the kept tokens are all dropped (each is signed
# again when next needed), so that the cache stays small.
CSRF_KEPT_SESSIONS = 4096


def csrf_token() -> str:
    """The templates' ``csrf_token()``: Flask-WTF's ``generate_csrf``, with a
    session's signed token kept for a minute and written again.

    Flask-WTF signs the session's raw token on every request that shows a
    form: a new serializer, JSON, a zlib attempt and a timestamped HMAC, 4 %
    of a list page's instructions. The signed token carries its time, and
    any token of this session younger than ``WTF_CSRF_TIME_LIMIT`` is
    accepted, so a page may as well show the one signed for this session up
    to a minute ago; it then expires up to a minute sooner (after 59 minutes
    rather than 60, by default). The raw token and the key are the cache's
    key: a new session, a new raw token (logging in clears the session) or a
    new secret key has a token of its own. A token is put in ``g``, where
    Flask-WTF keeps the request's, so the rest of the request shows the same
    one; a page whose view made a form first (``{{ form.csrf_token }}``)
    shows that form's. Checking a token is Flask-WTF's, unchanged."""
    config = current_app.config
    field = config["WTF_CSRF_FIELD_NAME"]
    token = g.get(field)  # this request's
    if token is not None:
        return token
    limit = config["WTF_CSRF_TIME_LIMIT"]
    reuse = CSRF_REUSE_SECONDS if limit is None else min(CSRF_REUSE_SECONDS, limit / 60)
    kept = current_app.extensions.get("todoapp.csrf_tokens")
    if kept is None:  # the app's first form
        kept = current_app.extensions.setdefault("todoapp.csrf_tokens", Bounded(CSRF_KEPT_SESSIONS))
    secret = config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    now = time.monotonic()
    if (raw := session.get(field)) is not None:
        signed = kept.get((secret, raw))
        if signed is not None and now - signed[1] < reuse:
            setattr(g, field, signed[0])
            return signed[0]
    token = generate_csrf()  # signed, and on a session's first form its raw token made
    kept.put((secret, session[field]), (token, now))
    return token


# Past this many cookies the verified ones are all forgotten (each is
# verified again when next sent), so that the cache stays small (Bounded): a
# cookie and its session are about 1.5 KB.
SESSION_KEPT_COOKIES = 2048


def _copied(value):
    """A copy of decoded session data that shares nothing mutable with it:
    dicts, lists and tuples are copied all the way down; what else Flask's
    session JSON gives (str, numbers, bytes, Markup, UUID, datetime) cannot
    change."""
    kind = type(value)
    if kind is dict:
        return {key: _copied(item) for key, item in value.items()}
    if kind is list:
        return [_copied(item) for item in value]
    if kind is tuple:
        return tuple([_copied(item) for item in value])
    return value


class SignedCookieSession(SecureCookieSessionInterface):
    """Flask's session in a signed cookie, with what is the same on every
    request done once: the serializer built once per set of keys, and each
    cookie verified and decoded once.

    Flask builds a serializer for every request (it tests its own JSON on
    the way); itsdangerous derives the key and checks the HMAC, and the
    payload is unzipped and parsed each time: some 40 µs, 2 % of a list
    page. A browser sends the same cookie until the session changes, so a
    cookie found good with these keys is remembered, with the time it was
    signed and what it holds. Sent again, the byte-identical string has its
    age checked as before (``PERMANENT_SESSION_LIFETIME``), and the request
    gets a deep copy of what it holds (``_copied``): each request's session
    is its own, since Flask changes the flashes' list in place. A changed
    byte is a cookie of its own, verified in full. A new secret key or
    fallback makes a new serializer, with nothing verified. Saving is
    Flask's, unchanged.
    """

    def __init__(self):
        self._serializers = Bounded(8)  # more only when keys change at run time, as in tests

    def _signing(self, app):
        """(serializer, the cookies it verified: cookie -> (signed at, Unix
        time; the data it holds))."""
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        found = self._serializers.get(keys)
        if found is None:
            serializer = super().get_signing_serializer(app)
            found = self._serializers.put(keys, (serializer, Bounded(SESSION_KEPT_COOKIES)))
        return found

    def get_signing_serializer(self, app):
        return self._signing(app)[0] if app.secret_key else None

    def open_session(self, app, request):
        if not app.secret_key:
            return None
        serializer, verified = self._signing(app)
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            return self.session_class(_copied(self._load(serializer, verified, cookie, max_age)))
        except BadSignature:
            return self.session_class()

    @staticmethod
    def _load(serializer, verified: dict, cookie: str, max_age: int):
        """The data ``cookie`` holds, kept: the caller copies it."""
        kept = verified.get(cookie)
        if kept is None:
            data, when = serializer.loads(cookie, max_age=max_age, return_timestamp=True)
            verified.put(cookie, (int(when.timestamp()), data))
            return data
        signed_at, data = kept
        # As itsdangerous's TimestampSigner checks an age, on its clock
        # (get_timestamp reads no state of the signer): whole seconds.
        age = TimestampSigner.get_timestamp(None) - signed_at
        if age > max_age or age < 0:
            raise SignatureExpired("session cookie expired")
        return data


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
