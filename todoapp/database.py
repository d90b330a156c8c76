"""Engine set-up, the request's read connection, and the write-transaction
helper that services use.

SQLite, as Rails 8 sets it up for production: WAL, synchronous=NORMAL,
foreign keys on, a 5 s busy timeout, and write transactions that begin
IMMEDIATE. A deferred transaction that reads and then writes can fail at once
with "database is locked" when another writer got there first (the busy
timeout cannot help there); an IMMEDIATE one waits for the write lock up front.
"""

import itertools
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, g
from sqlalchemy import Connection, Engine, delete, event, select
from sqlalchemy.orm import Session

from .extensions import db

SQLITE_BUSY_TIMEOUT_MS = 5000
SQLITE_PRAGMAS = (
    # First, so that the pragmas after it wait for a lock rather than fail.
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)
# Execution option read by the "begin" hook: how a SQLite transaction begins.
SQLITE_BEGIN = "sqlite_begin"
# The isolation level of write transactions: each database's default, which
# the services' locking (FOR UPDATE, FOR SHARE) is written for.
WRITE_ISOLATION = {"sqlite": "SERIALIZABLE", "postgresql": "READ COMMITTED"}


def init_app(app: Flask) -> None:
    """The engine's hooks, and the read connection given back at the end of
    each app context."""
    with app.app_context():
        configure_engine(db.engine)
    app.teardown_appcontext(close_read_connection)


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgresql_on_connect)
    _close_on_return_after_dispose(engine)


# ConnectionPoolEntry.info key: the pool that made the connection (a weak reference).
_POOL = "todoapp_pool"


def _close_on_return_after_dispose(engine: Engine) -> None:
    """``engine.dispose()`` closes the connections in the pool and starts a
    new one; a connection checked out at that moment would go back to the
    old pool and stay open until the garbage collector finds it. It is
    closed as it comes back instead, so that after a dispose nothing of the
    engine's holds the database (PostgreSQL will not drop or copy a database
    a session is on). Pool events only: a listener for the engine's own
    events would put every statement through SQLAlchemy's event dispatch."""

    @event.listens_for(engine, "connect")
    def remember_pool(_dbapi_connection, record) -> None:
        record.info[_POOL] = weakref.ref(engine.pool)

    @event.listens_for(engine, "checkin")
    def close_if_disposed(_dbapi_connection, record) -> None:
        made_by = record.info.get(_POOL)
        if made_by is not None and made_by() is not engine.pool:
            record.invalidate()


def _postgresql_on_connect(dbapi_connection, _record) -> None:
    """Sessions in UTC, whatever the server's ``TimeZone``: psycopg then gives
    each timestamp with ``datetime.UTC`` as its zone, which the models' reader
    (``UTCDateTime``) keeps as it is, rather than converting every value from
    the server's zone (a list page reads 50 to 100 of them). An instant is the
    same in any zone, so nothing read or written changes."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True  # a SET outside any transaction lasts
    try:
        dbapi_connection.execute("SET TIME ZONE 'UTC'")
    finally:
        dbapi_connection.autocommit = autocommit


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    # Turn off the driver's own transaction handling (it BEGINs lazily and
    # only before DML), so that the "begin" hook decides how each one starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _sqlite_on_begin(connection) -> None:
    """How a SQLite transaction begins: as SQLITE_BEGIN says (IMMEDIATE for
    write_transaction() and migrations), DEFERRED when it says nothing, and
    not at all in autocommit (the session's reads, Alembic's
    autocommit_block) nor when SQLITE_BEGIN is None (the request's reads,
    on a connection the engine keeps in autocommit): there each statement
    commits by itself."""
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT" or options.get(SQLITE_BEGIN, 0) is None:
        return
    raw = connection.connection.driver_connection
    if raw.isolation_level is not None:
        # Leaving AUTOCOMMIT hands the driver its implicit BEGINs back; the
        # hook keeps deciding how transactions begin.
        raw.isolation_level = None
    mode = options.get(SQLITE_BEGIN, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


# Session.info key: how deep inside write_transaction() the session is.
_WRITE_DEPTH = "todoapp_write_depth"


class TransactionMisuse(RuntimeError):
    """write_transaction() found changes made outside any write transaction."""


@contextmanager
def write_transaction() -> Iterator[Session]:
    """Run the body in a write transaction that commits at the end and rolls
    back on error (on SQLite it begins IMMEDIATE, taking the write lock first).

    - Nested: a service that calls another one joins the outer transaction.
      Only the outermost commits; an error anywhere rolls all of it back.
    - A read-only transaction already open (a view read something first) is
      ended, so the write transaction starts fresh.
    - Changes already pending in the session, made outside any write
      transaction, are refused with TransactionMisuse: committing them here
      would join two units of work nobody meant to join.
    """
    session = db.session()
    depth = session.info.get(_WRITE_DEPTH, 0)
    if depth:
        session.info[_WRITE_DEPTH] = depth + 1
        try:
            yield session
        finally:
            session.info[_WRITE_DEPTH] = depth
        return
    if session.new or session.dirty or session.deleted:
        raise TransactionMisuse(
            "write_transaction() found unsaved changes made outside a write transaction; "
            "make them inside it."
        )
    if session.in_transaction():
        session.rollback()  # read-only: nothing is lost
    # The session reads in autocommit (extensions.db); a write gets a transaction.
    level = WRITE_ISOLATION[session.get_bind().dialect.name]
    session.connection(execution_options={"isolation_level": level, SQLITE_BEGIN: "IMMEDIATE"})
    session.info[_WRITE_DEPTH] = 1
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info[_WRITE_DEPTH] = 0


# flask.g key: the request's connection for reads (read_connection).
_READS = "todoapp_reads"
# How the read connection runs each statement on its own: SQLite's engine is in
# autocommit already (config), so its begin hook is only told not to BEGIN.
_AUTOCOMMIT_READS = {
    "sqlite": {SQLITE_BEGIN: None},
    "postgresql": {"isolation_level": "AUTOCOMMIT"},
}


def read_connection() -> Connection:
    """The connection for the list pages' and the user lookup's reads.

    Inside a write transaction, or once the ORM session holds a connection,
    the session's own, so that a service sees what it has just written.
    Otherwise one connection per app context (a request), as flaskr's
    ``get_db``: taken from the pool on first use, in autocommit, so a page
    that only reads sends no BEGIN nor ROLLBACK; ``close_read_connection``
    gives it back at the end. The pool checks it out as any other
    (``pool_pre_ping``, ``pool_recycle``, events)."""
    if db.session.registry.has():
        session = db.session()
        if session.in_transaction():
            return session.connection()
    connection = g.get(_READS)
    if connection is None:
        connection = db.engine.connect()
        connection = connection.execution_options(**_AUTOCOMMIT_READS[connection.dialect.name])
        setattr(g, _READS, connection)
    return connection


def close_read_connection(_error=None) -> None:
    """The end of the app context: its read connection goes back to the pool."""
    connection = g.pop(_READS, None)
    if connection is not None:
        connection.close()


class Query:
    """A Core SELECT that the list pages and the user lookup run on each
    request, on the request's read connection (``read_connection``).

    It runs through ``Connection.execute``: SQLAlchemy compiles it once per
    engine and keeps it in its compiled cache, and every statement passes
    its events (``before_cursor_execute``, ``handle_error``, echo), so
    logging, tracing and error hooks see the pages' reads as any other.
    The statement comes from the models (the soft-delete filter:
    ``soft_delete.visible``)."""

    def __init__(self, stmt):
        self.stmt = stmt

    def all(self, params: dict) -> list:
        """Every row (``sqlalchemy.Row``: by attribute, position or ``_mapping``)."""
        return read_connection().execute(self.stmt, params).all()

    def mappings(self, params: dict) -> list:
        """Every row as a mapping of column name to value: reading a column
        is a dict lookup, whatever its label (``from``, ``order``)."""
        return read_connection().execute(self.stmt, params).mappings().all()

    def first(self, params: dict):
        """The first row, or None (the statement should ask for one row)."""
        return read_connection().execute(self.stmt, params).first()


@dataclass(frozen=True)
class Purge:
    """What a batched delete did: ``deleted`` rows, and whether it stopped at
    its batch limit with matching rows still left (``finished`` is False)."""

    deleted: int
    finished: bool


def delete_in_batches(
    model,
    where: list,
    *,
    order_by,
    batch_size: int,
    options: dict | None = None,
    before_delete: Callable[[list], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
    max_batches: int | None = None,
    pause: float = 0.0,
) -> Purge:
    """Delete the ``model`` rows matching ``where``, ``batch_size`` at a time,
    each batch in a write transaction of its own: other writers wait for one
    short batch at most, never for the whole delete.

    ``before_delete`` runs in each batch's transaction with the ids selected,
    before they are deleted (a list's todos go before the list).

    The conditions are checked again in each DELETE, since a row may have
    changed since its batch was selected (no lock is taken). ``on_batch``
    runs inside each batch's transaction with the number deleted (for the
    activity log); ``progress`` after it commits. ``max_batches`` bounds the
    work (a web request); ``pause`` is a sleep between batches, so writers
    polling for SQLite's lock get in. ``options``: execution options for both
    statements (the soft-delete filter's ``trashed_only``, say)."""
    options = options or {}
    deleted_in_all = 0
    for batch in itertools.count(1):
        with write_transaction() as session:
            chosen = (
                select(model.id)
                .where(*where)
                .order_by(order_by)
                .limit(batch_size)
                .execution_options(**options)
            )
            if before_delete is not None:
                # What before_delete removes must belong to rows that are
                # still going: lock them (PostgreSQL) so none is restored meanwhile.
                chosen = chosen.with_for_update()
            ids = session.scalars(chosen).all()
            deleted = 0
            if ids and before_delete is not None:
                before_delete(ids)
            if ids:
                deleted = session.execute(
                    delete(model)
                    .where(model.id.in_(ids), *where)
                    .execution_options(**options, synchronize_session=False)
                ).rowcount
            if deleted and on_batch is not None:
                on_batch(deleted)
        deleted_in_all += deleted
        if deleted and progress is not None:
            progress(deleted)
        if len(ids) < batch_size:  # that was the last of them
            return Purge(deleted_in_all, finished=True)
        if batch == max_batches:
            return Purge(deleted_in_all, finished=False)
        time.sleep(pause)
    raise AssertionError("unreachable")
