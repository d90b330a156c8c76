"""The body of ``migrations/env.py``: how ``flask db`` runs revisions.

- One run at a time: on PostgreSQL a session-level advisory lock, held on a
  connection of its own; on SQLite an exclusive lock on a file beside the
  database. A second ``flask db upgrade`` waits for the first, then finds
  nothing left to do; after MIGRATION_LOCK_TIMEOUT seconds it gives up with
  a clear message.
- Each revision is one transaction, DDL and version row together, so a
  failure leaves the database at the last revision that went through whole.
  A revision may commit part of its work early (Alembic's
  ``autocommit_block``, which ``online`` uses for ``CREATE INDEX
  CONCURRENTLY``); the run's lock outlasts those commits.
- On PostgreSQL every statement runs under a short ``lock_timeout``
  (MIGRATION_TABLE_LOCK_TIMEOUT_MS) and a ``statement_timeout``: an ALTER
  TABLE queued behind someone's open transaction makes every reader and
  writer of the table queue behind it, so it gives up quickly, the revision
  rolls back and is tried again after a pause (MIGRATION_TABLE_LOCK_TRIES
  times), and the log names the session in the way.
- On SQLite, foreign keys are off while revisions run, as SQLite's own
  procedure for altering a table prescribes: a batch rebuild drops the old
  table, and with foreign keys on that drop would fire ON DELETE CASCADE in
  every table that references it (a rebuild of ``users`` used to empty
  ``todos``). Before each revision commits, ``PRAGMA foreign_key_check``
  must find nothing dangling, or the revision rolls back, naming the rows
  (skipped for a revision that only adds: no rows written, no table dropped
  or rebuilt).
- Table rebuilds on SQLite keep AUTOINCREMENT and every id sequence
  (``sqlite``).
- Offline (``--sql``) scripts stop at their first error (``.bail on`` for the
  sqlite3 shell, ``\\set ON_ERROR_STOP on`` for psql) and cover every
  revision (``offline``).
- Nothing runs while a committed revision, or the project code it runs, is
  not as committed (``manifest``); a revision the database refuses is
  reported in words, with where the database stands.
- New revisions get house ids (``naming``), and an autogenerate run that
  finds no change writes no file.
- Autogenerate renders batch operations, for SQLite, compares what Alembic
  does not, writes new indexes and foreign keys on existing tables with the
  ``online`` helpers (``autogen``), and writes the app's column types as plain
  SQLAlchemy types, so revision files need no import from the app.
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import re
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from logging.config import fileConfig

from alembic.operations import Operations
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from sqlalchemy import Connection, Engine, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError

from ..database import SQLITE_BEGIN, SQLITE_BUSY_TIMEOUT_MS
from ..models import UTCDateTime
from . import autogen, manifest, naming, offline, search_objects, sqlite

# pg_advisory_lock key for migrations: any number no other code uses ("todo").
MIGRATION_LOCK_KEY = 0x746F646F
FIND_LOCK_HOLDER = (
    f"SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = {MIGRATION_LOCK_KEY}"  # noqa: S608
)
DANGLING_SHOWN = 5
# PostgreSQL's SQLSTATEs for "canceling statement due to lock timeout" and
# "... due to statement timeout" (the latter shares its code with a cancel).
LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
# Pauses between tries after a lock wait: doubling from the first, at most the longest.
FIRST_PAUSE = 0.5
LONGEST_PAUSE = 5.0

logger = logging.getLogger("alembic.env")


def run(context) -> None:
    """What ``migrations/env.py`` does, given Alembic's ``context`` module."""
    config = context.config
    # Tests keep their own log capture; fileConfig would replace the root handlers.
    if config.config_file_name is not None and not current_app.testing:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    refuse_edited_revisions(ScriptDirectory.from_config(config).dir)
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


def refuse_edited_revisions(migrations: str) -> None:
    """Stop before anything runs if a committed revision, or the code it
    runs, is not what was committed (``manifest``): two databases that both
    say "head" must have the same schema."""
    problems = manifest.refusals(migrations)
    if problems:
        raise CommandError(
            "Refusing to run: the migrations are not the ones committed.\n"
            + "\n".join(f"  {problem}" for problem in problems)
        )


def _configure_args(context) -> dict:
    config = context.config

    def process_revision_directives(migration_context, revision, directives):
        script = directives[0]
        if getattr(config.cmd_opts, "autogenerate", False) and script.upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected: no revision file written.")
            return
        scripts = ScriptDirectory.from_config(config)
        script.rev_id = naming.next_revision_id(scripts, script.message)
        created = autogen.CreatedIndexes(scripts, migration_context.dialect.name)
        autogen.prefer_online(script, current_app.extensions["migrate"].db.metadata, created)

    args = dict(current_app.extensions["migrate"].configure_args)
    args.setdefault("process_revision_directives", process_revision_directives)
    args.setdefault("render_as_batch", True)
    args.setdefault("compare_type", True)
    args.setdefault("render_item", render_item)
    args.setdefault("include_name", search_objects.include_name)
    return args


def render_item(type_, obj, autogen_context):
    """Write the app's own column types as the plain types they are stored as."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run_offline(context) -> None:
    db = current_app.extensions["migrate"].db
    # The lint asks for PostgreSQL's SQL whatever the app's database is.
    url = make_url(context.config.attributes.get("offline_url") or db.engine.url)
    backend = url.get_backend_name()
    args = dict(
        url=url.render_as_string(hide_password=False),
        target_metadata=db.metadata,
        literal_binds=True,
        # Wrap the printed script in BEGIN/COMMIT on SQLite too: it stops whole.
        transactional_ddl=True,
        **_configure_args(context),
    )
    shadow = None
    if backend == "sqlite":
        script = ScriptDirectory.from_config(context.config)
        heads = offline.starting_heads(script, context.get_starting_revision_argument())
        shadow = offline.shadow_at(script, heads)
        out = context.config.output_buffer or sys.stdout
        args.update(output_buffer=offline.Tee(out, shadow))
    elif backend == "postgresql":
        # The online helpers commit steps of their own: a revision per transaction.
        args.update(transaction_per_migration=True)
    context.configure(**args)
    impl = context.get_context().impl
    if backend == "sqlite":
        impl.static_output(
            f"{offline.SQLITE_BAIL}\n-- For the sqlite3 shell: stop at the first error, so a "
            "refusal or a failure commits nothing."
        )
        impl.static_output(offline.SAVE_SEQUENCES)
        after = offline.restore_sequences(impl.static_output)
        context.configure(**args, on_version_apply=after)
    elif backend == "postgresql":
        config = current_app.config
        impl.static_output(
            f"{offline.POSTGRES_STOP}\n"
            "-- For psql: stop at the first error, so a revision that fails is never stamped.\n"
            "-- The bounds `flask db upgrade` sets: a statement waits this long for a lock\n"
            "-- (the app's queries queue behind it meanwhile), then fails; run the script again.\n"
            f"SET lock_timeout = {int(config['MIGRATION_TABLE_LOCK_TIMEOUT_MS'])};\n"
            f"SET statement_timeout = {int(config['MIGRATION_STATEMENT_TIMEOUT']) * 1000};\n"
        )
    try:
        with context.begin_transaction():
            if shadow is None:
                context.run_migrations()
            else:
                with Operations.context(context.get_context()), offline.rebuilds(shadow):
                    context.get_context().run_migrations()
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
    finally:
        if shadow is not None:
            shadow.close()


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
            _run_postgres(context, connection)
    elif engine.dialect.name == "sqlite":
        with sqlite_migration_lock(engine, timeout):
            _run_sqlite(context, engine, timeout)
    else:
        with engine.connect() as connection:
            _configure_and_run(context, connection)


def _configure_and_run(
    context, connection, *, before_commit=None, lock_waits=None, operations=None
) -> None:
    """Run the pending revisions, each in a transaction of its own that also
    records its version: a failure leaves the database at the last revision
    that went through whole. ``before_commit(connection, step)`` runs inside
    each revision's transaction, after its operations (``step``: Alembic's
    MigrationInfo); raising there rolls that revision back. With
    ``lock_waits`` (PostgreSQL), a revision that timed out waiting for a
    table lock is tried again after a pause. ``operations()``: a context
    manager wrapped around the revisions as they run, inside Alembic's
    ``Operations.context`` (SQLite's ``faithful_rebuilds``)."""
    applied: list = []

    def on_version_apply(ctx, step, heads, run_args) -> None:
        if before_commit is not None:
            before_commit(ctx.connection, step)
        applied.append(step)

    args = dict(
        connection=connection,
        target_metadata=current_app.extensions["migrate"].db.metadata,
        # SQLite can roll DDL back too: say so, so each revision is one transaction.
        transactional_ddl=True,
        transaction_per_migration=True,
        on_version_apply=on_version_apply,
        **_configure_args(context),
    )
    context.configure(**args)
    alembic_plan = context.get_context().opts.get("fn")
    if alembic_plan is not None:
        # Alembic works out the steps from the version it finds when the run
        # starts. A retry must go on with the same steps, not recompute a
        # relative target ("-1") from the revisions already applied.
        plan: list = []

        def remaining_steps(heads, ctx):
            if not plan:
                plan.append(list(alembic_plan(heads, ctx)))
            return plan[0][len(applied) :]

        context.configure(**args, fn=remaining_steps)
    for attempt in itertools.count(1):
        try:
            with context.begin_transaction():
                if operations is None:
                    context.run_migrations()
                else:
                    with Operations.context(context.get_context()), operations():
                        context.get_context().run_migrations()
            return
        except DBAPIError as exc:
            if lock_waits is not None and isinstance(exc, OperationalError):
                try:
                    lock_waits.handle(context, connection, exc, attempt)
                    continue
                except OperationalError:
                    pass  # not a lock wait: the revision failed
            if "database is locked" in str(exc.orig):
                raise  # SQLite's write lock: _run_sqlite says what to do
            raise _did_not_complete(context, exc) from None


def _did_not_complete(context, exc: DBAPIError) -> CommandError:
    """What a revision that the database refused leaves behind, in words."""
    migration = context.get_context()
    migration.connection.rollback()
    heads = migration.get_current_heads()
    migration.connection.rollback()
    at = ", ".join(heads) if heads else "no revision (empty)"
    return CommandError(
        f"A revision did not complete: {_one_line(str(exc.orig))}\n"
        f"  The statement: {_one_line(exc.statement)}\n"
        f"  The revisions before it are committed and the one that failed is not recorded: the "
        f"database is at {at}. Steps it committed on its own (the online helpers' index "
        "builds and backfill batches) stay done; they look first and skip what is there, so "
        "once the cause is fixed the same command finishes the revision."
    )


def _run_postgres(context, connection: Connection) -> None:
    """Every statement runs under a short ``lock_timeout``: while an ALTER
    TABLE waits for its lock, every reader and writer of that table queues
    behind it, so it waits a moment, gives up, and the revision is tried again
    after a pause, with the sessions in the way named."""
    config = current_app.config
    connection.exec_driver_sql(
        f"SET lock_timeout = {int(config['MIGRATION_TABLE_LOCK_TIMEOUT_MS'])}"
    )
    connection.exec_driver_sql(
        f"SET statement_timeout = {int(config['MIGRATION_STATEMENT_TIMEOUT']) * 1000}"
    )
    connection.commit()
    lock_waits = LockWaits(
        tries=config["MIGRATION_TABLE_LOCK_TRIES"],
        timeout_ms=config["MIGRATION_TABLE_LOCK_TIMEOUT_MS"],
    )
    try:
        _configure_and_run(context, connection, lock_waits=lock_waits)
    finally:
        if not connection.closed and not connection.invalidated:
            connection.rollback()
            connection.exec_driver_sql("RESET lock_timeout")
            connection.exec_driver_sql("RESET statement_timeout")
            connection.commit()


def _run_sqlite(context, engine: Engine, timeout: int) -> None:
    """Each revision's transaction begins IMMEDIATE, taking SQLite's write
    lock before anything is read. Foreign keys are off for the run (the pragma
    is a no-op inside a transaction, so it is set before) and checked before
    each revision commits. Table rebuilds keep AUTOINCREMENT and every id
    sequence (``sqlite``)."""
    try:
        with engine.connect() as connection:
            raw = connection.connection.driver_connection
            raw.execute(f"PRAGMA busy_timeout = {timeout * 1000}")
            raw.execute("PRAGMA foreign_keys = OFF")
            foreign_keys = ForeignKeyCheck(raw)
            ids = sqlite.IdSequences(raw, wanted=_model_has_autoincrement)

            def before_commit(connection: Connection, step) -> None:
                foreign_keys(connection)
                ids(", ".join(step.up_revision_ids), step.is_upgrade)

            try:
                _configure_and_run(
                    context,
                    connection.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}),
                    before_commit=before_commit,
                    operations=lambda: sqlite.faithful_rebuilds(raw),
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


@contextmanager
def sqlite_migration_lock(engine: Engine, timeout: int):
    """Hold an exclusive lock on ``<database>-migrate-lock`` (named like
    SQLite's own -wal and -shm files) for the whole run. Each revision
    commits on its own, and SQLite's write lock goes with each commit; this
    one keeps a second ``flask db upgrade`` out until the first has finished,
    so no revision runs twice."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    with open(f"{database}-migrate-lock", "a") as lock_file:
        deadline = time.monotonic() + timeout
        said_so = False
        while True:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise CommandError(
                        f"Another migration has been running for over {timeout} s, so this "
                        "one gave up without changing anything. Wait for it to finish "
                        "(MIGRATION_LOCK_TIMEOUT sets the wait)."
                    ) from None
                if not said_so:
                    logger.info("Another migration is running: waiting for it to finish.")
                    said_so = True
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


@dataclass
class LockWaits:
    """What a PostgreSQL run does when a statement gives up waiting for a lock."""

    tries: int
    timeout_ms: int

    @staticmethod
    def pause(attempt: int) -> float:
        return min(FIRST_PAUSE * 2 ** (attempt - 1), LONGEST_PAUSE)

    def handle(self, context, connection: Connection, exc: OperationalError, attempt: int):
        """Log and return to try again, or raise a CommandError that says
        what stood in the way. Anything but a lock or statement timeout is
        raised as it is."""
        code = getattr(exc.orig, "sqlstate", None)
        if code == QUERY_CANCELED and "statement timeout" in str(exc.orig):
            raise CommandError(
                "A migration statement ran for longer than MIGRATION_STATEMENT_TIMEOUT "
                f"({current_app.config['MIGRATION_STATEMENT_TIMEOUT']} s) and was cancelled; "
                f"its revision did not complete. {_where_it_stands(context)} The statement: "
                f"{_one_line(exc.statement)}"
            ) from None
        if code != LOCK_NOT_AVAILABLE:
            raise exc
        connection.rollback()
        holders = lock_holders(connection, exc.statement)
        connection.rollback()
        if attempt >= self.tries:
            pids = ", ".join(str(h.pid) for h in holders)
            ending = (
                f"End the session(s) in the way (SELECT pg_terminate_backend(pid) for pid {pids}) "
                "or wait for them, then run `flask db upgrade` again."
                if holders
                else "Run `flask db upgrade` again when the database is quieter."
            )
            raise CommandError(
                f"Gave up after {self.tries} tries of {self.timeout_ms} ms each waiting for "
                f"{_describe(holders, exc.statement)}. {_where_it_stands(context)} {ending} "
                "MIGRATION_TABLE_LOCK_TRIES and MIGRATION_TABLE_LOCK_TIMEOUT_MS set the patience."
            ) from None
        pause = self.pause(attempt)
        logger.info(
            "Waiting for %s: try %d of %d failed, next in %.1f s.",
            _describe(holders, exc.statement),
            attempt,
            self.tries,
            pause,
        )
        time.sleep(pause)


@dataclass(frozen=True)
class LockHolder:
    table: str
    pid: int
    state: str
    seconds: float  # how long its transaction has been open
    query: str


# Who holds a lock on the tables a statement names (all tables when it names
# none we know), longest-open transaction first.
LOCK_HOLDERS = text(
    r"""
    SELECT DISTINCT ON (a.pid) c.relname, a.pid, coalesce(a.state, ''),
           coalesce(extract(epoch FROM now() - a.xact_start), 0)::float8,
           left(regexp_replace(coalesce(a.query, ''), '\s+', ' ', 'g'), 120)
    FROM pg_locks l
    JOIN pg_class c ON c.oid = l.relation
    JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.granted AND l.pid <> pg_backend_pid()
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND c.relkind IN ('r', 'p')
      AND (cardinality(CAST(:tables AS text[])) = 0 OR c.relname = ANY(CAST(:tables AS text[])))
    ORDER BY a.pid, a.xact_start
    """
)
NAMED_TABLE = re.compile(
    r"\b(?:TABLE|ON|REFERENCES|INTO|UPDATE|FROM|JOIN)\s+(?:ONLY\s+|IF\s+(?:NOT\s+)?EXISTS\s+)?"
    r'(?:"?\w+"?\.)?"?(\w+)"?',
    re.IGNORECASE,
)


def lock_holders(connection: Connection, statement: str | None) -> list[LockHolder]:
    named = sorted(set(NAMED_TABLE.findall(statement or "")))
    rows = connection.execute(LOCK_HOLDERS, {"tables": named}).all()
    if not rows and named:  # the statement named no table, or none that is locked
        rows = connection.execute(LOCK_HOLDERS, {"tables": []}).all()
    holders = [LockHolder(*row) for row in rows]
    # Longest-open first, to the microsecond: a report open for 0.4 s comes
    # before an app request that began its transaction a moment ago.
    return sorted(holders, key=lambda h: -h.seconds)


def _describe(holders: list[LockHolder], statement: str | None) -> str:
    if not holders:
        return f"a lock for: {_one_line(statement)} (whoever held it has let go)"
    first = holders[0]
    text_ = (
        f"a lock on {first.table} held by pid {first.pid} ({first.state}, transaction open "
        f"{int(first.seconds)} s, query: {first.query})"
    )
    if len(holders) > 1:
        text_ += f" and {len(holders) - 1} other session(s)"
    return text_


def _where_it_stands(context) -> str:
    heads = context.get_context().get_current_heads()
    context.get_context().connection.rollback()
    at = ", ".join(heads) if heads else "no revision (empty)"
    return f"The revisions before it are committed; the database is at {at}."


def _one_line(statement: str | None, width: int = 160) -> str:
    flat = " ".join((statement or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _model_has_autoincrement(table: str) -> bool:
    model = current_app.extensions["migrate"].db.metadata.tables.get(table)
    return model is not None and bool(model.dialect_options["sqlite"]["autoincrement"])


class ForeignKeyCheck:
    """``check_sqlite_foreign_keys`` before a revision commits, when the
    revision could have left a key dangling: it wrote rows (besides its
    version stamp) with foreign keys off, or it dropped or rebuilt a table. A revision that only
    adds (a column, an index, a table) cannot, and on a large table the check
    would hold the write lock for nothing."""

    def __init__(self, raw):
        self.raw = raw
        self.changes = self._unchecked()
        self.tables = self._tables()

    def _unchecked(self) -> int:
        """Rows written so far without SQLite checking their keys: online's
        backfills and execute_checked run with foreign keys on."""
        from . import online

        return self.raw.total_changes - online.checked_changes

    def _tables(self) -> dict[str, int]:
        rows = self.raw.execute("SELECT name, rootpage FROM sqlite_master WHERE type = 'table'")
        return dict(rows.fetchall())

    def __call__(self, connection: Connection) -> None:
        tables = self._tables()
        wrote = self._unchecked() - self.changes > 1  # 1: the version stamp
        gone_or_rebuilt = any(tables.get(name) != page for name, page in self.tables.items())
        if wrote or gone_or_rebuilt:
            check_sqlite_foreign_keys(connection)
        # The next revision is measured from here (its stamp included).
        self.changes, self.tables = self._unchecked(), tables


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
        "The revision being applied left rows whose foreign keys point nowhere, so it was "
        "rolled back whole (the revisions before it stay applied):\n" + "\n".join(lines)
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
