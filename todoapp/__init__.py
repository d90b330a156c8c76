"""todoapp: todos with a trash you can undo and restore from."""

import os
from pathlib import Path

from flask import Flask, redirect, request, url_for
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from . import (
    database,
    error_pages,
    headers,
    presentation,
    soft_delete,  # noqa: F401 - importing it installs the ORM hook that hides the trash
    static_files,
)
from .config import load_config
from .extensions import csrf, db, login_manager
from .web import IdConverter, SessionInterface, StreamedBodyLimit, csrf_token

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"


def create_app(
    test_config: dict | None = None,
    *,
    instance_path: str | None = None,
    migrations: bool | None = None,
) -> Flask:
    """The app. ``migrations``: register Flask-Migrate and the ``flask db``
    commands. By default only on the command line (``flask ...``) and in
    tests: Flask-Migrate brings Alembic, Mako and Pygments, which a web
    worker would carry and never use."""
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.jinja_environment = presentation.TemplateEnvironment
    load_config(app, test_config)
    app.url_map.converters["id"] = IdConverter
    register_extensions(app)
    register_blueprints(app)
    error_pages.init_app(app)
    headers.init_app(app)
    static_files.init_app(app)
    presentation.init_app(app)
    if migrations is None:
        # Flask's command line sets this before it loads the app.
        migrations = os.environ.get("FLASK_RUN_FROM_CLI") == "true" or app.testing
    register_commands(app, migrations=migrations)
    return app


def register_extensions(app: Flask) -> None:
    app.session_interface = SessionInterface()
    db.init_app(app)
    database.init_app(app)
    csrf.init_app(app)
    # Flask-WTF's csrf_token(), its signed token kept for a minute (web.csrf_token),
    # for the macros, which write every form's token.
    app.jinja_env.globals["csrf_token"] = csrf_token
    login_manager.init_app(app)
    app.wsgi_app = StreamedBodyLimit(app.wsgi_app, app.config["MAX_CONTENT_LENGTH"])
    if hops := app.config["TRUSTED_PROXIES"]:
        # Behind N proxies: take the client address and scheme from their headers.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from .auth.routes import load_user, send_to_login

    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(send_to_login)


def register_blueprints(app: Flask) -> None:
    from .account.routes import bp as account_bp
    from .admin.routes import bp as admin_bp
    from .auth.routes import bp as auth_bp
    from .lists.routes import bp as lists_bp
    from .search.routes import bp as search_bp
    from .todos.routes import bp as todos_bp
    from .trash.routes import bp as trash_bp

    for bp in (auth_bp, todos_bp, lists_bp, trash_bp, search_bp, admin_bp, account_bp):
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
