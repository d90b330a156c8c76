"""Engine set-up and the write-transaction helper that services use.

SQLite, as Rails 8 sets it up for production: WAL, synchronous=NORMAL,
foreign keys on, a 5 s busy timeout, and write transactions that begin
IMMEDIATE. A deferred transaction that reads and then writes can fail at once
with "database is locked" when another writer got there first (the busy
timeout cannot help there); an IMMEDIATE one waits for the write lock up front.
"""

import itertools
import os
import time
from collections import namedtuple
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache, partial

from flask import g
from sqlalchemy import Engine, delete, event, select
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
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


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgresql_on_connect)
        event.listen(engine, "checkout", _pinger(engine.dialect))
    event.listen(engine, "engine_disposed", _close_kept)


# Set while read_connection takes a connection from the pool: its first
# statement is the check (Query.all), so the pool need not ping it.
_first_read_checks = ContextVar("todoapp_first_read_checks", default=False)


def _pinger(dialect):
    """What ``pool_pre_ping`` does, at every checkout but the reads': a
    server that restarted (or ended the session) costs a new connection, not
    an error. Several app servers share PostgreSQL, so a pooled connection's
    server process may be gone. Raising InvalidatePoolError has the pool
    reconnect, and drop every connection older than this one (the restart
    took them all)."""

    def ping(dbapi_connection, _record, _proxy) -> None:
        if _first_read_checks.get():
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise InvalidatePoolError(str(error)) from error
            raise

    return ping


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
    autocommit_block): there each statement commits by itself."""
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
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


# flask.g key: the app context's driver connection for reads (read_connection).
_READS = "todoapp_reads"
# The read connection a process keeps between requests, with its engine:
# {process id: (engine, connection)}. One a process: a sync worker serves one
# request at a time (in a threaded server, the other threads use the pool).
# By process id, so a process forked from one that kept a connection never
# uses (or closes) its parent's.
_kept: dict[int, tuple[Engine, object]] = {}
# The read connections the pool handed out without a ping, until a statement
# has run on one. A set, not a flask.g key: Query.all looks on every read.
_untried: set = set()


def read_connection(*, pinged: bool = False):
    """The driver connection (pool-proxied) for the list pages and the user lookup.

    Inside a write transaction, or once the ORM session holds a connection,
    the session's own, so a service sees what it has just written. Otherwise
    one connection per app context (a request), in autocommit: the one the
    process kept from its last request, or one from the pool, on first use
    (``close_read_connection`` keeps it at the end): a request that only
    reads makes no ORM session, nor even a SQLAlchemy Connection, which cost
    more than its two queries' Python.

    On PostgreSQL the pool does not ping this connection (``_pinger``)
    unless ``pinged``: its first statement checks it instead, and if the
    server had dropped it, ``Query.all`` takes a pinged one and runs the
    statement again. That spares each page a round trip.
    """
    if db.session.registry.has():
        session = db.session()
        if session.in_transaction():
            return session.connection().connection
    connection = g.get(_READS)
    if connection is None:
        engine = db.engine
        connection = None if pinged else _take_kept(engine)
        if connection is None:
            token = _first_read_checks.set(not pinged)
            try:
                connection = engine.raw_connection()
            finally:
                _first_read_checks.reset(token)
            if engine.dialect.name == "postgresql":
                # psycopg would send a BEGIN before the first SELECT, and the
                # pool a ROLLBACK at the end; in autocommit neither is sent.
                # (SQLite's connections are in autocommit already:
                # _sqlite_on_connect.)
                try:
                    connection.driver_connection.autocommit = True
                except BaseException:
                    connection.invalidate()  # and back to the pool, which drops it
                    raise
        setattr(g, _READS, connection)
        if not pinged:
            _untried.add(connection)
    return connection


def close_read_connection(_error=None) -> None:
    """The end of the app context: its read connection is kept for the
    process's next request, as it is (in autocommit, with the statements
    psycopg has prepared on it), if it is idle and none is kept yet;
    otherwise it goes back to the pool. Taking a connection from the pool and
    giving it back cost 1-2 % of a page's instructions (the pool's bookkeeping
    and events, autocommit switched on and off); a kept connection is as unchecked
    as a pooled one, and its first statement checks it (``Query.all``)."""
    connection = g.pop(_READS, None)
    if connection is None:
        return
    _untried.discard(connection)
    engine = db.engine
    if _idle(engine, connection):
        kept = _kept.setdefault(os.getpid(), (engine, connection))
        if kept[1] is connection:
            return
    _give_back(engine, connection)


def _idle(engine: Engine, connection) -> bool:
    """Open, and in no transaction or statement: fit for the next request."""
    raw = connection.driver_connection
    if raw is None:  # invalidated
        return False
    if engine.dialect.name == "postgresql":
        return not raw.closed and raw.info.transaction_status.name == "IDLE"
    return not raw.in_transaction


def _take_kept(engine: Engine):
    """The connection this process kept from its last request, if it is
    this engine's; one kept for another engine (another app in the same
    process) goes back to that engine's pool."""
    kept = _kept.pop(os.getpid(), None)
    if kept is None:
        return None
    if kept[0] is engine:
        return kept[1]
    _give_back(*kept)
    return None


def _give_back(engine: Engine, connection) -> None:
    try:
        if engine.dialect.name == "postgresql":
            connection.driver_connection.autocommit = False  # as the pool gave it
    except Exception:
        connection.invalidate()  # broken: back to the pool, which opens a new one
        return
    connection.close()


def _close_kept(engine: Engine) -> None:
    """``engine.dispose()`` closes the connection kept for it too, as it
    closes the pool's: after it, nothing of the engine's holds the database
    (PostgreSQL will not drop or copy a database while a session is on it)."""
    kept = _kept.pop(os.getpid(), None)
    if kept is None:
        return
    if kept[0] is engine:
        kept[1].invalidate()  # closes it now; a disposed pool would keep it
    elif _kept.setdefault(os.getpid(), kept) is not kept:
        _give_back(*kept)  # another engine's, and a thread kept one meanwhile


# Called with (query, its parameters, SQL, the driver's values) before each
# Query runs: tests and debugging watch the statements that never pass
# SQLAlchemy's own events.
_read_observers: list[Callable] = []


@contextmanager
def observing_reads(callback: Callable) -> Iterator[None]:
    _read_observers.append(callback)
    try:
        yield
    finally:
        _read_observers.remove(callback)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...] | None  # positional parameters' order; None: by name
    defaults: dict  # the statement's own values (literals, defaults)
    binders: tuple  # (name, the bind processor of its type), where there is one
    # A row from the driver's tuple: the statement's named tuple, made in C
    # (tuple.__new__) rather than through the Python frame of its ``_make``.
    make: Callable


class Query:
    """A Core SELECT that runs on the driver's cursor, compiled once for each
    database: the list pages and the user lookup, on every request.

    ``Connection.execute`` wraps a page's query of about 120 µs of driver
    work in some 200 µs of Python (an execution context, a result, its row
    objects) and a read connection in 40 µs more; this keeps the statement's
    compiled SQL and its bind values' order, and converts each column with
    its type's own result processor, as SQLAlchemy would. The rows are named
    tuples with the statement's column keys (tests/test_reads.py holds them
    equal to ``Connection.execute``'s rows, on both databases). The statement
    still comes from the models (the soft-delete filter: ``models.visible``).

    Driver errors come out as SQLAlchemy's (``sqlalchemy.exc.DBAPIError``),
    and a lost connection is dropped from the pool.
    """

    def __init__(self, stmt):
        self.stmt = stmt
        self._compiled: dict[tuple, _Compiled] = {}
        self._processors: dict[tuple, list] = {}

    def _compile(self, dialect) -> tuple[tuple, _Compiled]:
        kind = (dialect.name, dialect.driver, dialect.paramstyle)
        found = self._compiled.get(kind)
        if found is None:
            compiled = self.stmt.compile(dialect=dialect)
            if compiled.post_compile_params or compiled.literal_execute_params:
                raise ValueError("Query cannot run statements rendered per call (IN lists)")
            names = tuple(compiled.positiontup) if compiled.positional else None
            binders = []
            for name, bind in compiled.binds.items():
                processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    binders.append((name, processor))
            columns = tuple(self.stmt.selected_columns.keys())
            found = self._compiled[kind] = _Compiled(
                str(compiled),
                names,
                compiled.params,
                tuple(binders),
                partial(tuple.__new__, _row_type(columns)),
            )
        return kind, found

    def _convert(self, kind, dialect, cursor) -> list:
        """(index, processor) for the columns whose values need one."""
        processors = self._processors.get(kind)
        if processors is None:
            processors = []
            columns = self.stmt.selected_columns
            for i, (column, described) in enumerate(zip(columns, cursor.description, strict=True)):
                type_ = column.type.dialect_impl(dialect)
                processor = type_.result_processor(dialect, described[1])
                if processor is not None:
                    processors.append((i, processor))
            self._processors[kind] = processors
        return processors

    def all(self, params: dict) -> list:
        """Every row, as named tuples."""
        dialect = db.engine.dialect
        kind, compiled = self._compile(dialect)
        values = {**compiled.defaults, **params}
        for name, process in compiled.binders:
            values[name] = process(values[name])
        if compiled.names is not None:
            values = [values[name] for name in compiled.names]
        for observe in _read_observers:
            observe(self, params, compiled.sql, values)
        connection = read_connection()
        while True:
            cursor = None
            try:
                cursor = _cursor(connection)
                cursor.execute(compiled.sql, values)
                raw = cursor.fetchall()
                processors = self._convert(kind, dialect, cursor)
            except dialect.loaded_dbapi.Error as error:
                _drop_cursor(connection)
                lost = dialect.is_disconnect(error, connection, cursor)
                if lost and g.get(_READS) is connection:
                    g.pop(_READS)
                    connection.invalidate()  # the pool opens a new one for the next read
                    if connection in _untried:
                        _untried.discard(connection)
                        # Its first statement: a connection the server dropped
                        # while it sat in the pool (a restart). Once more, on
                        # one the pool has checked.
                        connection = read_connection(pinged=True)
                        continue
                raise DBAPIError.instance(
                    compiled.sql,
                    values,
                    error,
                    dialect.loaded_dbapi.Error,
                    connection_invalidated=lost,
                    dialect=dialect,
                ) from error
            break
        if _untried:
            _untried.discard(connection)  # checked: a later loss is an error, as anywhere
        make = compiled.make
        if not processors:
            return list(map(make, raw))
        rows = []
        for values in raw:
            values = list(values)
            for i, process in processors:
                values[i] = process(values[i])
            rows.append(make(values))
        return rows

    def first(self, params: dict):
        """The first row, or None (the statement should ask for one row)."""
        rows = self.all(params)
        return rows[0] if rows else None


# ManagesConnection.info key: the driver cursor that Query.all runs its
# statements on. The pool clears info when it replaces the connection.
_CURSOR = "todoapp_cursor"


def _cursor(connection):
    """The connection's own driver cursor, kept for its life: a new psycopg
    cursor finds and makes its column loaders again on its first statement,
    a third of the user lookup's client time; a kept one has them."""
    cursor = connection.info.get(_CURSOR)
    if cursor is None:
        cursor = connection.info[_CURSOR] = connection.cursor()
    return cursor


def _drop_cursor(connection) -> None:
    """After a driver error, the next statement gets a new cursor (the old
    one holds no server resource: it goes with the garbage)."""
    connection.info.pop(_CURSOR, None)


@cache
def _row_type(columns: tuple[str, ...]):
    """A named tuple for rows of these columns: one per statement shape."""
    return namedtuple("Row", columns)


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
