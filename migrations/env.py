"""Alembic environment for todoapp, run by Flask-Migrate inside the app.

Differences from the generated file:
- logging config does not silence the app's loggers (Flask-Migrate #330);
- concurrent upgrades are safe: on SQLite each run is one BEGIN IMMEDIATE
  transaction, DDL included, so a second run waits and then finds nothing to
  do; on PostgreSQL a session-level advisory lock, held on its own connection,
  serialises runs, and Alembic reads the version only once the lock is held.
  Both give up after MIGRATION_LOCK_TIMEOUT seconds with a clear message;
- revision ids are sequential (0001, 0002, ...), and an autogenerate run that
  finds no change writes no file;
- autogenerate renders batch operations, for SQLite, and the app's column
  types as plain SQLAlchemy types.
"""

import logging
import time
from contextlib import contextmanager
from logging.config import fileConfig

from alembic import context
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from todoapp.database import SQLITE_BEGIN, SQLITE_BUSY_TIMEOUT_MS
from todoapp.models import UTCDateTime

# pg_advisory_lock key for migrations: any number no other code uses ("todo").
MIGRATION_LOCK_KEY = 0x746F646F

config = context.config
# Tests keep their own log capture; fileConfig would replace the root handlers.
if config.config_file_name is not None and not current_app.testing:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def next_revision_id() -> str:
    script = ScriptDirectory.from_config(config)
    numbers = [int(rev.revision) for rev in script.walk_revisions() if rev.revision.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


def process_revision_directives(context, revision, directives):
    script = directives[0]
    if getattr(config.cmd_opts, "autogenerate", False) and script.upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected: no revision file written.")
        return
    script.rev_id = next_revision_id()


def render_item(type_, obj, autogen_context):
    """Write the app's own column types as the plain types they are stored as,
    so revision files need no import from the app (and survive its changes)."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure_args() -> dict:
    args = dict(current_app.extensions["migrate"].configure_args)
    args.setdefault("process_revision_directives", process_revision_directives)
    args.setdefault("render_as_batch", True)
    args.setdefault("compare_type", True)
    args.setdefault("render_item", render_item)
    return args


def run_migrations_offline() -> None:
    url = target_db.engine.url.render_as_string(hide_password=False)
    context.configure(
        url=url,
        target_metadata=target_db.metadata,
        literal_binds=True,
        # Wrap the printed script in BEGIN/COMMIT on SQLite too: it stops whole.
        transactional_ddl=True,
        **configure_args(),
    )
    with context.begin_transaction():
        context.run_migrations()


def _configure_and_run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_db.metadata,
        # SQLite can roll DDL back too; say so, so the whole run is one transaction.
        transactional_ddl=True,
        **configure_args(),
    )
    with context.begin_transaction():
        context.run_migrations()


@contextmanager
def postgres_migration_lock(engine, timeout: int):
    """Hold a session-level advisory lock on a connection of its own while
    migrations run, so two `flask db upgrade` never run at once."""
    with engine.connect() as lock_connection:
        lock_connection = lock_connection.execution_options(isolation_level="AUTOCOMMIT")
        deadline = time.monotonic() + timeout
        said_so = False
        take = text("SELECT pg_try_advisory_lock(:key)")
        while not lock_connection.scalar(take, {"key": MIGRATION_LOCK_KEY}):
            if time.monotonic() > deadline:
                raise CommandError(
                    f"Another migration has held the migration lock for over {timeout} s, so "
                    "this one gave up without changing anything. Wait for it to finish, or find "
                    f"it with: SELECT pid FROM pg_locks WHERE locktype = 'advisory' "
                    f"AND objid = {MIGRATION_LOCK_KEY}; (MIGRATION_LOCK_TIMEOUT sets the wait)"
                )
            if not said_so:
                logger.info("Another migration is running: waiting for it to finish.")
                said_so = True
            time.sleep(0.25)
        try:
            yield
        finally:
            lock_connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )


def run_migrations_online() -> None:
    # A caller (pytest-alembic, a script) may bring its own connection or engine.
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        _configure_and_run(given)
        return
    engine = given if isinstance(given, Engine) else target_db.engine
    timeout = current_app.config["MIGRATION_LOCK_TIMEOUT"]
    if engine.dialect.name == "postgresql":
        with postgres_migration_lock(engine, timeout), engine.connect() as connection:
            _configure_and_run(connection)
        return

    if engine.dialect.name != "sqlite":
        with engine.connect() as connection:
            _configure_and_run(connection)
        return

    # BEGIN IMMEDIATE takes SQLite's write lock before Alembic reads the
    # version; a concurrent run waits for it (up to the timeout), then sees
    # the new version and has nothing left to do.
    try:
        with engine.connect() as connection:
            raw = connection.connection.driver_connection
            raw.execute(f"PRAGMA busy_timeout = {timeout * 1000}")
            try:
                _configure_and_run(connection.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}))
            finally:
                raw.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    except OperationalError as exc:
        if "database is locked" not in str(exc):
            raise
        raise CommandError(
            f"Another process held the database's write lock for over {timeout} s, so "
            "this migration gave up without changing anything. Try again when it is done "
            "(MIGRATION_LOCK_TIMEOUT sets the wait)."
        ) from None


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
