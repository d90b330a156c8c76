"""SQLite set up for concurrent writers: pragmas on every connection and
write transactions that begin IMMEDIATE."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event, literal, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator

from todoapp.database import close_read_connection, read_connection
from todoapp.extensions import db
from todoapp.models import UTCDateTime
from todoapp.services import todos

from .conftest import BACKEND

pytestmark = pytest.mark.skipif(
    BACKEND != "sqlite",
    reason="PRAGMAs and BEGIN IMMEDIATE/DEFERRED exist only in SQLite; on PostgreSQL, "
    "row locks do this job (tests/test_concurrency.py)",
)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.mark.parametrize(
    ("pragma", "expected"),
    [("journal_mode", "wal"), ("synchronous", 1), ("foreign_keys", 1), ("busy_timeout", 5000)],
)
def test_every_connection_gets_the_pragmas(ctx, pragma, expected):
    # A brand-new connection, not one the pool has seen.
    with db.engine.connect() as first, db.engine.connect() as second:
        for conn in (first, second):
            assert conn.exec_driver_sql(f"PRAGMA {pragma}").scalar() == expected


@pytest.fixture
def statements(ctx):
    seen = []

    def record(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def test_a_write_transaction_begins_immediate(ctx, alice, statements):
    todos.create_todo(alice, "x")
    begin = statements.index("BEGIN IMMEDIATE")
    insert = next(i for i, s in enumerate(statements) if s.startswith("INSERT INTO todos"))
    assert begin < insert
    assert "BEGIN IMMEDIATE" not in statements[begin + 1 : insert]


def test_a_read_sends_no_begin(ctx, alice):
    """Reads run in autocommit: the driver itself sends no BEGIN before them,
    nor a ROLLBACK when the connection goes back to the pool
    (tests/test_services.py checks it on both databases, through a request)."""
    db.session.remove()
    sent = []
    read_connection().connection.driver_connection.set_trace_callback(sent.append)
    todos.list_todos(alice, 10)
    close_read_connection()
    assert sent and all(s.lstrip().startswith("SELECT") for s in sent), sent


# UTCDateTime's own reader of SQLite's text against the generic one it
# replaces (SQLAlchemy's parser, then the zone attached).
_DIALECT = sqlite.dialect()
_TYPE = UTCDateTime().dialect_impl(_DIALECT)  # as an engine uses it
_FAST = _TYPE.result_processor(_DIALECT, None)
_GENERIC = TypeDecorator.result_processor(_TYPE, _DIALECT, None)
_WRITE = sqlite.DATETIME().bind_processor(_DIALECT)


@given(st.datetimes(timezones=st.just(UTC)))
def test_reading_a_datetime_gives_what_the_generic_reader_gives(moment):
    text = _WRITE(moment.replace(tzinfo=None))  # what a write stores
    read = _FAST(text)
    assert read == _GENERIC(text) == moment
    assert read.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-02",
        "2026-01-02 03:04:05",
        "2026-01-02 03:04:05.5",
        "2026-01-02T03:04:05.000006",
        "2026-01-02 03:04:05.123+01",
    ],
)
def test_other_datetime_texts_read_as_the_generic_reader_reads_them(text):
    assert _FAST(text) == _GENERIC(text)
    assert _FAST(None) is None


def test_a_stored_datetime_reads_back_the_same(ctx):
    moment = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    with db.engine.begin() as conn:
        stored = conn.execute(select(literal(moment, UTCDateTime()))).scalar_one()
    assert stored == moment and stored.tzinfo is UTC
