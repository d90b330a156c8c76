"""A button on a page loaded before its todo was purged acts on nothing.

Ids are never handed out again (revision 0004 on SQLite; sequences on
PostgreSQL), so the stale Undo, Restore or "Delete forever" button of a
purged todo is a 404, never somebody else's newer todo with the same id."""

import pytest

from todoapp.extensions import db
from todoapp.models import Todo


@pytest.fixture
def purged(app, alice, bob, make_todo, client, auth):
    """Alice's newest todo, trashed and then purged; then bob adds one and trashes it."""
    gone = make_todo(alice, "alice's newest", trashed=True)
    auth.login("alice")
    assert client.submit(f"/trash/{gone}/purge").status_code == 302
    newer = make_todo(bob, "bob's newer", trashed=True)
    return gone, newer


def test_a_new_todo_never_takes_a_purged_todos_id(purged):
    gone, newer = purged
    assert newer > gone


@pytest.mark.parametrize("action", ["purge", "restore"])
def test_alices_stale_trash_buttons_are_404(app, client, purged, action):
    gone, newer = purged
    assert client.submit(f"/trash/{gone}/{action}").status_code == 404
    with app.app_context():
        assert db.session.get(Todo, newer, execution_options={"include_trashed": True})


@pytest.mark.parametrize("action", ["purge", "restore"])
def test_an_admins_stale_buttons_are_404(app, client, auth, make_user, purged, action):
    gone, newer = purged
    make_user("root", admin=True)
    auth.logout()
    auth.login("root")
    assert client.submit(f"/admin/trash/{gone}/{action}").status_code == 404
    with app.app_context():
        todo = db.session.get(Todo, newer, execution_options={"include_trashed": True})
        assert todo is not None and todo.is_trashed
