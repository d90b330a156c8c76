"""The body of ``migrations/env.py``: how ``flask db`` runs revisions.

- One run is one transaction, DDL included, under one lock. On SQLite the
  transaction begins IMMEDIATE, so a second ``flask db upgrade`` waits for the
  first and then finds nothing to do; on PostgreSQL a session-level advisory
  lock, held on its own connection, serialises runs. Both give up after
  MIGRATION_LOCK_TIMEOUT seconds with a clear message.
- On SQLite, foreign keys are off while revisions run, as SQLite's own
  procedure for altering a table prescribes: a batch rebuild drops the old
  table, and with foreign keys on that drop would fire ON DELETE CASCADE in
  every table that references it (a rebuild of ``users`` used to empty
  ``todos``). Before the commit, ``PRAGMA foreign_key_check`` must find
  nothing dangling, or the whole run rolls back, naming the rows.
- Offline (``--sql``) scripts for SQLite begin with ``.bail on``, so the
  sqlite3 shell stops at the first error instead of carrying on and
  committing the rest; a revision that needs the live database (a batch
  rebuild reads the table's definition) is refused with a message.
- New revisions get house ids (``naming``), and an autogenerate run that
  finds no change writes no file.
- Autogenerate renders batch operations, for SQLite, compares what Alembic
  does not (``autogen``), and writes the app's column types as plain
  SQLAlchemy types, so revision files need no import from the app.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from contextlib import contextmanager
from logging.config import fileConfig

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from ..database import SQLITE_BEGIN, SQLITE_BUSY_TIMEOUT_MS
from ..models import UTCDateTime
from . import autogen, naming  # noqa: F401 - autogen registers its comparator

# pg_advisory_lock key for migrations: any number no other code uses ("todo").
MIGRATION_LOCK_KEY = 0x746F646F
FIND_LOCK_HOLDER = (
    f"SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = {MIGRATION_LOCK_KEY}"  # noqa: S608
)
# First line of an offline SQLite script: the sqlite3 shell stops at the first error.
SQLITE_BAIL = ".bail on"
DANGLING_SHOWN = 5

logger = logging.getLogger("alembic.env")


def run(context) -> None:
    """What ``migrations/env.py`` does, given Alembic's ``context`` module."""
    config = context.config
    # Tests keep their own log capture; fileConfig would replace the root handlers.
    if config.config_file_name is not None and not current_app.testing:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    try:
        if context.is_offline_mode():
            _run_offline(context)
        else:
            _run_online(context)
    except CommandError as exc:
        if "Can't locate revision" not in str(exc):
            raise
        raise CommandError(
            f"{exc}. The database is at a revision that this checkout's migrations/versions/ "
            "does not have, most often one applied on another git branch. Check out that "
            "branch and `make db-downgrade` to a revision both branches share, or use a fresh "
            "database."
        ) from None


def _configure_args(context) -> dict:
    config = context.config

    def process_revision_directives(_context, revision, directives):
        script = directives[0]
        if getattr(config.cmd_opts, "autogenerate", False) and script.upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected: no revision file written.")
            return
        script.rev_id = naming.next_revision_id(ScriptDirectory.from_config(config), script.message)

    args = dict(current_app.extensions["migrate"].configure_args)
    args.setdefault("process_revision_directives", process_revision_directives)
    args.setdefault("render_as_batch", True)
    args.setdefault("compare_type", True)
    args.setdefault("render_item", render_item)
    return args


def render_item(type_, obj, autogen_context):
    """Write the app's own column types as the plain types they are stored as."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run_offline(context) -> None:
    db = current_app.extensions["migrate"].db
    url = db.engine.url
    context.configure(
        url=url.render_as_string(hide_password=False),
        target_metadata=db.metadata,
        literal_binds=True,
        # Wrap the printed script in BEGIN/COMMIT on SQLite too: it stops whole.
        transactional_ddl=True,
        **_configure_args(context),
    )
    if url.get_backend_name() == "sqlite":
        context.get_context().impl.static_output(
            f"{SQLITE_BAIL}\n-- For the sqlite3 shell: stop at the first error, so a "
            "refusal or a failure commits nothing."
        )
    try:
        with context.begin_transaction():
            context.run_migrations()
    except CommandError as exc:
        if "--sql mode" not in str(exc):
            raise
        # A batch rebuild reads the live table. What was printed so far has no
        # COMMIT, so running it changes nothing.
        raise CommandError(
            f"{exc}\nOffline SQL can be written up to the revision before this one "
            "(the log line above names it); apply this one with `flask db upgrade` "
            "against the database."
        ) from None


def _run_online(context) -> None:
    db = current_app.extensions["migrate"].db
    # A caller (pytest-alembic, a script) may bring its own connection or engine.
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        _configure_and_run(context, given)
        return
    engine = given if isinstance(given, Engine) else db.engine
    timeout = current_app.config["MIGRATION_LOCK_TIMEOUT"]
    if engine.dialect.name == "postgresql":
        with postgres_migration_lock(engine, timeout), engine.connect() as connection:
            _configure_and_run(context, connection)
    elif engine.dialect.name == "sqlite":
        _run_sqlite(context, engine, timeout)
    else:
        with engine.connect() as connection:
            _configure_and_run(context, connection)


def _configure_and_run(context, connection, *, check=None) -> None:
    context.configure(
        connection=connection,
        target_metadata=current_app.extensions["migrate"].db.metadata,
        # SQLite can roll DDL back too; say so, so the whole run is one transaction.
        transactional_ddl=True,
        **_configure_args(context),
    )
    with context.begin_transaction():
        context.run_migrations()
        if check is not None:
            check(connection)  # raising here rolls the whole run back


def _run_sqlite(context, engine: Engine, timeout: int) -> None:
    """BEGIN IMMEDIATE takes SQLite's write lock before Alembic reads the
    version; a concurrent run waits for it (up to the timeout), then sees the
    new version and has nothing left to do. Foreign keys are off for the run
    (the pragma is a no-op inside a transaction, so it is set before) and
    checked before the commit."""
    try:
        with engine.connect() as connection:
            raw = connection.connection.driver_connection
            raw.execute(f"PRAGMA busy_timeout = {timeout * 1000}")
            raw.execute("PRAGMA foreign_keys = OFF")
            try:
                _configure_and_run(
                    context,
                    connection.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}),
                    check=check_sqlite_foreign_keys,
                )
            finally:
                # The connection goes back to the app's pool as the app set it up.
                raw.execute("PRAGMA foreign_keys = ON")
                raw.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    except OperationalError as exc:
        if "database is locked" not in str(exc):
            raise
        raise CommandError(
            f"Another process held the database's write lock for over {timeout} s, so "
            "this migration gave up without changing anything. Try again when it is done "
            "(MIGRATION_LOCK_TIMEOUT sets the wait)."
        ) from None


def check_sqlite_foreign_keys(connection: Connection) -> None:
    """Raise if any row's foreign key points at a row that does not exist."""
    dangling: dict[tuple[str, str], set[int]] = defaultdict(set)
    for table, rowid, parent, _fk in connection.exec_driver_sql("PRAGMA foreign_key_check"):
        dangling[(table, parent)].add(rowid)
    if not dangling:
        return
    lines = []
    for (table, parent), found in sorted(dangling.items()):
        rowids = sorted(found)
        shown = ", ".join(str(r) for r in rowids[:DANGLING_SHOWN])
        more = f" and {len(rowids) - DANGLING_SHOWN} more" if len(rowids) > DANGLING_SHOWN else ""
        lines.append(
            f"  {table}: {len(rowids)} row(s) point at missing {parent} rows (rowid {shown}{more})"
        )
    raise CommandError(
        "The migration left rows whose foreign keys point nowhere, so it was rolled back "
        "and nothing changed:\n" + "\n".join(lines)
    )


@contextmanager
def postgres_migration_lock(engine: Engine, timeout: int):
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
                    f"it with: {FIND_LOCK_HOLDER}; (MIGRATION_LOCK_TIMEOUT sets the wait)"
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
