"""todoapp: todos with a trash you can undo and restore from."""

import hashlib
import logging
import os
from pathlib import Path
from types import FunctionType

from flask import Flask, Response, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound, SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter, ValidationError
from werkzeug.security import safe_join

from .config import load_config
from .database import close_read_connection, configure_engine
from .extensions import CONTENT_SECURITY_POLICY, csrf, db, login_manager
from .models import ID_DIGITS, parse_id
from .services.errors import NotFoundError
from .web import Bounded, SignedCookieSession, StreamedBodyLimit, csrf_token

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"
log = logging.getLogger(__name__)


class IdConverter(BaseConverter):
    """A database id in a URL (``models.parse_id``): anything else is a 404
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


class TodoApp(Flask):
    """Flask, keeping ``ensure_sync``'s answer for each plain function.

    Flask asks, for every view, before- and after-request function and
    teardown of every request, whether it is a coroutine function
    (``inspect.iscoroutinefunction``): about fifteen times a page, for
    functions that never change. The answer for a plain function is kept, at
    most ``SYNCED_KEPT`` of them (past that all are dropped, and asked about
    again): a function made for one request (``after_this_request``) is held
    only until then. A bound method or a callable object is asked about each
    time, as in Flask."""

    SYNCED_KEPT = 256

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._synced = Bounded(self.SYNCED_KEPT)

    def ensure_sync(self, func):
        if type(func) is not FunctionType:
            return super().ensure_sync(func)
        synced = self._synced.get(func)
        if synced is None:
            synced = self._synced.put(func, super().ensure_sync(func))
        return synced


def create_app(
    test_config: dict | None = None,
    *,
    instance_path: str | None = None,
    migrations: bool | None = None,
) -> TodoApp:
    """The app. ``migrations``: register Flask-Migrate and the ``flask db``
    commands. By default only on the command line (``flask ...``) and in
    tests: Flask-Migrate brings Alembic, Mako and Pygments, 13 MB that every
    web worker would carry and never use."""
    app = TodoApp(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    load_config(app, test_config)
    app.url_map.converters["id"] = IdConverter
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_caching(app)
    if migrations is None:
        # Flask's command line sets this before it loads the app.
        migrations = os.environ.get("FLASK_RUN_FROM_CLI") == "true" or app.testing
    register_commands(app, migrations=migrations)
    return app


def register_extensions(app: Flask) -> None:
    app.session_interface = SignedCookieSession()
    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    app.teardown_appcontext(close_read_connection)
    csrf.init_app(app)
    # Flask-WTF's csrf_token(), its signed token kept for a minute (web.csrf_token),
    # for the macros (a global) and the pages (over Flask-WTF's context processor).
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: {"csrf_token": csrf_token})
    login_manager.init_app(app)
    register_security_headers(app)
    app.wsgi_app = StreamedBodyLimit(app.wsgi_app, app.config["MAX_CONTENT_LENGTH"])
    if hops := app.config["TRUSTED_PROXIES"]:
        # Behind N proxies: take the client address and scheme from their headers.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from .auth.routes import load_user, send_to_login

    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(send_to_login)


# On every response, in this order. Redirecting to HTTPS is the proxy's job.
SECURITY_HEADERS = (
    ("Permissions-Policy", "browsing-topics=()"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
)
REFERRER_POLICY = ("Referrer-Policy", "same-origin")
# With HTTPS=1, on responses to requests that came over HTTPS (directly or
# per the proxy's X-Forwarded-Proto): a year, subdomains included.
HSTS = ("Strict-Transport-Security", "max-age=31556926; includeSubDomains")


def register_security_headers(app: Flask) -> None:
    """The security headers, the same on every response: built once, when the
    app is made, not on each request. HSTS is the one that depends on the request."""
    https = app.config["HTTPS"]

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        headers = response.headers
        for name, value in SECURITY_HEADERS:
            headers[name] = value
        if https and (
            request.is_secure or request.headers.get("X-Forwarded-Proto", "http") == "https"
        ):
            headers[HSTS[0]] = HSTS[1]
        headers[REFERRER_POLICY[0]] = REFERRER_POLICY[1]
        return response


def register_blueprints(app: Flask) -> None:
    from .account.routes import bp as account_bp
    from .admin.routes import bp as admin_bp
    from .auth.routes import bp as auth_bp
    from .lists.routes import bp as lists_bp
    from .todos.routes import bp as todos_bp
    from .trash.routes import bp as trash_bp

    for bp in (auth_bp, todos_bp, lists_bp, trash_bp, admin_bp, account_bp):
        app.register_blueprint(bp)

    # Where a user with a temporary password may go before choosing their own.
    allowed = {"account.password", "auth.logout", "static", "healthz"}

    @app.before_request
    def require_own_password():
        if (
            request.endpoint not in allowed  # first: static files need no user lookup
            and current_user.is_authenticated
            and current_user.must_change_password
        ):
            back = request.full_path.rstrip("?") if request.method == "GET" else None
            return redirect(url_for("account.password", next=back))
        return None

    @app.get("/")
    def index():
        return redirect(url_for("todos.index"))

    @app.get("/healthz")
    def healthz():
        """For load balancers: 200 when the database answers at the head
        revision, 503 otherwise (unreachable, or not migrated yet)."""
        from .services import health

        healthy, report = health.check()
        return report, 200 if healthy else 503


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


def register_errorhandlers(app: Flask) -> None:
    def render_error(error: HTTPException, message: str | None = None):
        message = message or FRIENDLY_ERRORS.get(error.code) or error.description
        # Keep headers such as Allow (405) or Retry-After (429).
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        body = render_template("errors/error.html", error=error, message=message)
        return body, error.code, headers

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        return render_error(error)

    @app.errorhandler(NotFoundError)
    def handle_not_found(error: NotFoundError):
        return render_error(NotFound(), str(error))

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


def register_template_helpers(app: Flask) -> None:
    from . import presentation

    presentation.init_app(app)


# Pages that hold a password or a fresh CSRF token even for a visitor.
NO_STORE_ENDPOINTS = frozenset({"auth.login", "auth.register"})
IMMUTABLE = f"public, max-age={365 * 24 * 3600}, immutable"


def file_hash(path: str | Path) -> str:
    """A short fingerprint of a file's bytes: the first 12 hex digits of their SHA-256."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def register_caching(app: Flask) -> None:
    """Who may keep a copy of a response.

    Every response to a logged-in user, and the login and register pages,
    carry ``Cache-Control: no-store``: no browser or proxy keeps them, so the
    back button after logging out, or the next person at a shared computer,
    finds nothing.

    Static files are fingerprinted: ``url_for('static', filename='app.css')``
    gives ``/static/app.css?v=<file_hash>``, and a request whose ``v`` is the
    file's current hash may be cached for a year (``immutable``), since a
    changed file gets a new URL. Without ``v``, or with an old one, Flask's
    default stays (``no-cache``: revalidated by ETag). A file is hashed once
    and the hash kept for the life of the process (a deploy restarts the
    workers); in debug mode it is hashed on every use, so edits show at once.
    """
    folder = app.static_folder
    hashes: dict[str, str] = {}

    def static_hash(filename: str) -> str | None:
        """The hash of an existing file in the static folder, else None. Only
        existing files are remembered, so strange URLs cannot fill the dict."""
        if filename in hashes and not app.debug:
            return hashes[filename]
        path = safe_join(folder, filename) if folder else None
        if path is None or not os.path.isfile(path):
            return None
        hashes[filename] = file_hash(path)
        return hashes[filename]

    @app.url_defaults
    def add_static_version(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "v" not in values:
            if version := static_hash(values.get("filename", "")):
                values["v"] = version

    @app.after_request
    def set_cache_control(response: Response) -> Response:
        if request.endpoint == "static":
            version = request.args.get("v")
            filename = (request.view_args or {}).get("filename", "")
            if version and response.status_code in (200, 206, 304):
                if version == static_hash(filename):
                    response.headers["Cache-Control"] = IMMUTABLE
        elif request.endpoint in NO_STORE_ENDPOINTS or (
            # /healthz looks up no user: it must answer 503, not fail, with the database down
            request.endpoint != "healthz" and current_user.is_authenticated
        ):
            response.headers["Cache-Control"] = "no-store"
        return response


def register_commands(app: Flask, *, migrations: bool) -> None:
    from .cli import activity_cli, trash_cli, users_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(trash_cli)
    app.cli.add_command(activity_cli)
    if not migrations:
        return
    from flask_migrate import Migrate
    from flask_migrate.cli import db as db_commands

    from .migration_tools.cli import register

    Migrate(app, db, directory=str(MIGRATIONS))
    # `flask db lint` and `flask db merge-heads`, beside Flask-Migrate's own.
    register(db_commands)
