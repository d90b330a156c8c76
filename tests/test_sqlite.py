"""SQLite set up for concurrent writers: pragmas on every connection and
write transactions that begin IMMEDIATE."""

import pytest
from sqlalchemy import event

from todoapp.extensions import db
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


def test_a_read_sends_no_begin(ctx, alice, statements):
    """Reads run in autocommit: no BEGIN before them, no ROLLBACK after
    (tests/test_services.py checks it on both databases, through a request)."""
    db.session.rollback()
    todos.list_todos(alice, 10)
    db.session.remove()
    assert statements and statements[0].startswith("SELECT")
    assert not [s for s in statements if s.startswith(("BEGIN", "ROLLBACK", "COMMIT"))]
