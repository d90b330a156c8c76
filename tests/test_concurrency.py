"""Concurrent writers on one database, on SQLite and on PostgreSQL."""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from todoapp.extensions import db
from todoapp.models import Todo, User
from todoapp.services import todos, users

from .conftest import BACKEND, PASSWORD, dispose, make_app
from .live import Browser, gunicorn


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


ADMIN_RACE_TRIALS = 20
ACCOUNT_ACTIONS = ("revoke-admin", "disable")


@contextmanager
def rows_held_until_waited_on(engine, user_ids, waiters):
    """PostgreSQL: hold the users' rows locked from another connection until
    ``waiters`` sessions wait for a lock, then let them all go at once, so
    their transactions start locking at the same moment. SQLite: nothing
    (its write lock lets one writer in at a time)."""
    if BACKEND != "postgresql":
        yield
        return
    with engine.connect() as holder, engine.connect() as watcher:
        holder.execute(select(User.id).where(User.id.in_(user_ids)).with_for_update())
        yield
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        deadline = time.monotonic() + 30
        while watcher.execute(waiting).scalar() < waiters:
            assert time.monotonic() < deadline, "the requests never waited for the rows"
            time.sleep(0.01)
            watcher.rollback()
        holder.rollback()


def test_two_admins_acting_on_each_other_at_once_never_fail(database_url, tmp_path):
    """Each of two admins revokes or disables the other, at the same moment,
    through the pages: one wins, the other is told it would leave no admin,
    or finds they no longer are one. Never a 500 (on PostgreSQL, a lock
    order that differed between the two was a deadlock)."""
    app = make_app(database_url)
    names = ("ann", "ben")
    with app.app_context():
        ids = [users.create_user(name, PASSWORD, is_admin=True).id for name in names]
    statuses = Counter()
    with gunicorn(database_url, tmp_path, workers=2) as server, app.app_context():
        browsers = {name: Browser(server.url) for name in names}
        for trial in range(ADMIN_RACE_TRIALS):
            with db.engine.begin() as connection:  # both admins again, enabled
                connection.execute(update(User).values(is_admin=True, disabled_at=None))
            for name, browser in browsers.items():
                if browser.request("/admin/users")[0] != 200:  # disabled last time
                    login = {"username": name, "password": PASSWORD}
                    assert browser.submit("/auth/login", login)[0] == 302
                    browser.request("/admin/users")  # this session's CSRF token
            actions = ACCOUNT_ACTIONS[trial % 2], ACCOUNT_ACTIONS[trial // 2 % 2]
            requests = [
                (browsers["ann"], f"/admin/users/ben/{actions[0]}"),
                (browsers["ben"], f"/admin/users/ann/{actions[1]}"),
            ]
            with (
                ThreadPoolExecutor(2) as pool,
                rows_held_until_waited_on(db.engine, ids, waiters=2),
            ):
                sent = [pool.submit(browser.submit, path) for browser, path in requests]
            for future in sent:
                statuses[future.result()[0]] += 1
            with db.engine.connect() as connection:
                left = connection.execute(
                    select(User.username).where(User.is_admin, User.disabled_at.is_(None))
                ).all()
            assert len(left) == 1, (trial, actions, left)
    dispose(app)
    assert not [s for s in statuses if s >= 500], statuses
    assert set(statuses) <= {302, 403}
