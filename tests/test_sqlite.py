"""SQLite set up for concurrent writers: pragmas on every connection and
write transactions that begin IMMEDIATE."""

import threading

import pytest
from sqlalchemy import event, select, text

from todoapp.extensions import db
from todoapp.models import Todo
from todoapp.services import todos


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


def test_a_read_transaction_stays_deferred(ctx, alice, statements):
    db.session.rollback()
    todos.list_todos(alice, 1, 10)
    assert statements[0] == "BEGIN DEFERRED"


def test_foreign_keys_are_enforced(ctx):
    with pytest.raises(Exception, match="FOREIGN KEY"):
        db.session.execute(
            text(
                "INSERT INTO todos (user_id, title, done, created_at, updated_at) "
                "VALUES (999, 't', 0, '2026-01-01', '2026-01-01')"
            )
        )
    db.session.rollback()


def test_concurrent_read_then_write_transactions_all_succeed(app, alice, make_todo):
    """Several threads toggle the same todos at once: each toggle reads the row
    and writes it back. With deferred BEGIN some would fail with "database is
    locked"; with BEGIN IMMEDIATE they wait their turn."""
    ids = [make_todo(alice, f"t{n}") for n in range(4)]
    errors = []
    rounds = 25

    def worker(offset):
        with app.app_context():
            for n in range(rounds):
                try:
                    todos.toggle_todo(ids[(n + offset) % len(ids)], alice)
                except Exception as exc:  # noqa: BLE001 - recorded, asserted below
                    errors.append(repr(exc))
            db.session.remove()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with app.app_context():
        # 4 threads x 25 toggles spread evenly: each todo toggled 25 times -> done
        done = [t.done for t in db.session.scalars(select(Todo).order_by(Todo.id))]
    assert done == [True] * 4
