"""Concurrent writers on one database, on SQLite and on PostgreSQL."""

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from todoapp.extensions import db
from todoapp.models import Todo
from todoapp.services import todos


def test_concurrent_read_then_write_transactions_all_succeed(app, alice, make_todo):
    """Several threads toggle the same todos at once: each toggle reads the row
    and writes it back. On SQLite a deferred BEGIN would fail some with
    "database is locked" (BEGIN IMMEDIATE makes them wait); on PostgreSQL an
    unlocked read would lose toggles (SELECT ... FOR UPDATE makes them wait)."""
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


def test_foreign_keys_are_enforced(app):
    with app.app_context():
        db.session.add(Todo(user_id=999, title="nobody's"))
        with pytest.raises(IntegrityError, match="(?i)foreign key"):
            db.session.flush()
        db.session.rollback()
