"""The todo pages' side panel of lists with their open todos, "Move to…"
on each row, and the bad input both meet."""

import re

import pytest
from sqlalchemy import insert

from todoapp.extensions import db
from todoapp.models import Todo
from todoapp.services import lists, todos
from todoapp.services.errors import InTrash, NotFoundError


@pytest.fixture
def alice_in(client, auth, alice):
    auth.login("alice")
    return alice


def text(response) -> str:
    return response.get_data(as_text=True)


def panel_of(page: str) -> dict[str, str]:
    """The panel's lists as a reader sees them: name to count."""
    nav = page.split('<nav class="lists-panel" aria-label="Lists">', 1)[1].split("</nav>", 1)[0]
    found = re.findall(r'<span dir="auto">([^<]+)</span> <span class="count">([^<]+)<span', nav)
    return dict(found)


def current_in_panel(page: str) -> list[str]:
    nav = page.split('<nav class="lists-panel" aria-label="Lists">', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'aria-current="page">(?:<span dir="auto">)?([^<]+)<', nav)


def add_open_todos(app, owner, list_id, n):
    """``n`` open todos in one statement: enough to pass the panel's bound."""
    with app.app_context():
        rows = [{"user_id": owner, "list_id": list_id, "title": f"t{i}"} for i in range(n)]
        db.session.execute(insert(Todo), rows)
        db.session.commit()


def test_the_panel_counts_open_todos_of_live_lists_only(
    app, client, alice_in, bob, make_todo, make_list
):
    groceries = make_list(alice_in, "Groceries", todos=3)
    make_todo(alice_in, "eggs, deleted", list_id=groceries, trashed=True)
    ticked = make_todo(alice_in, "milk", list_id=groceries)
    make_todo(alice_in, "call mum")  # the Inbox
    make_list(alice_in, "Old", todos=2, trashed=True)
    make_list(bob, "Bob's secrets", todos=1)
    client.submit(f"/todos/{ticked}/toggle")

    for url in ("/todos", "/todos/today", "/todos/overdue", f"/lists/{groceries}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert panel_of(text(response)) == {"Inbox": "1", "Groceries": "3"}, url

    client.submit(f"/todos/{ticked}/toggle")
    assert panel_of(text(client.get("/todos")))["Groceries"] == "4"


def test_the_panel_marks_where_you_are(client, alice_in, make_list):
    groceries = make_list(alice_in, "Groceries")
    assert current_in_panel(text(client.get(f"/lists/{groceries}"))) == ["Groceries"]
    assert current_in_panel(text(client.get("/todos/today"))) == []
    assert current_in_panel(text(client.get("/todos"))) == []
    # Beside search results too, with the counts.
    searched = text(client.get("/search?q=milk"))
    assert current_in_panel(searched) == [] and "Groceries" in panel_of(searched)


def test_a_big_list_reads_99_plus(app, client, alice_in, make_list):
    big = make_list(alice_in, "Big")
    add_open_todos(app, alice_in, big, lists.OPEN_COUNTED + 5)
    add_open_todos(app, alice_in, make_list(alice_in, "Just under"), lists.OPEN_COUNTED - 1)
    counts = panel_of(text(client.get("/todos")))
    assert counts["Big"] == f"{lists.OPEN_COUNTED - 1}+"
    assert counts["Just under"] == str(lists.OPEN_COUNTED - 1)


def test_the_panel_shows_a_bounded_number_of_lists(app, client, alice_in, make_list):
    for n in range(lists.PANEL_LISTS):  # with the Inbox, one more than it shows
        make_list(alice_in, f"List {n:02}")
    page = text(client.get("/todos"))
    shown = panel_of(page)
    assert len(shown) == lists.PANEL_LISTS
    assert next(iter(shown)) == "Inbox"
    assert f"List {lists.PANEL_LISTS - 1:02}" not in shown
    nav = page.split('aria-label="Lists">', 1)[1].split("</nav>", 1)[0]
    assert ">All lists</a>" in nav


def test_a_short_panel_has_no_all_lists_link(client, alice_in):
    nav = text(client.get("/todos")).split('aria-label="Lists">', 1)[1].split("</nav>", 1)[0]
    assert ">All lists</a>" not in nav and ">New list</a>" in nav


# --- Move to… --------------------------------------------------------------------


def test_move_to_another_list_from_a_row(app, client, alice_in, make_todo, make_list):
    groceries = make_list(alice_in, "Groceries")
    todo = make_todo(alice_in, "buy milk")
    page = text(client.get("/todos"))
    move_url = f"/todos/{todo}/move?next=/todos"
    assert f'href="{move_url}">Move<span class="visually-hidden"> &ldquo;buy milk&rdquo;' in page

    chooser = text(client.get(move_url))
    assert f'name="list_id" value="{groceries}"><span dir="auto">Groceries' in chooser
    assert 'Inbox</span> <span class="muted">(it is here)' in chooser

    response = client.submit(move_url, {"list_id": groceries, "next": "/todos"})
    assert response.status_code == 302 and response.headers["Location"] == "/todos"
    after = text(client.get("/todos"))
    assert "Moved “buy milk” to Groceries." in after
    assert panel_of(after) == {"Inbox": "0", "Groceries": "1"}
    with app.app_context():
        assert todos.get_todo(todo).list_id == groceries

    # Undo moves it back to where it was.
    undo = re.search(
        r'action="(/todos/\d+/move)">.*?name="next" value="([^"]+)".*?'
        r'name="list_id" value="(\d+)">Undo</button>',
        after,
        re.S,
    )
    assert undo and undo[1] == f"/todos/{todo}/move" and undo[2] == "/todos"
    client.submit(undo[1], {"list_id": undo[3], "next": undo[2]})
    assert panel_of(text(client.get("/todos"))) == {"Inbox": "1", "Groceries": "0"}
    with app.app_context():
        assert todos.get_todo(todo).list_id == lists.inbox_of(alice_in)


@pytest.mark.parametrize("whose", ["bob's", "trashed", "no such"])
def test_moving_to_a_list_that_is_not_offered_says_so(
    app, client, alice_in, bob, make_todo, make_list, whose
):
    todo = make_todo(alice_in, "buy milk")
    target = {
        "bob's": lambda: make_list(bob, "Bob's"),
        "trashed": lambda: make_list(alice_in, "Old", trashed=True),
        "no such": lambda: 987654,
    }[whose]()
    response = client.submit(f"/todos/{todo}/move", {"list_id": target})
    assert response.status_code == 422
    assert "That list is not one of your lists any more: pick another." in text(response)
    assert "Old" not in text(response) and "Bob" not in text(response)
    with app.app_context():
        assert todos.get_todo(todo).list_id == lists.inbox_of(alice_in)


@pytest.mark.parametrize("value", ["", "abc", "1e3", "-1"])
def test_move_with_garbage_is_a_clear_422(client, alice_in, make_todo, value):
    todo = make_todo(alice_in, "buy milk")
    response = client.submit(f"/todos/{todo}/move", {"list_id": value})
    assert response.status_code == 422
    assert "pick another" in text(response)


def test_another_users_todo_cannot_be_moved(client, auth, alice, bob, make_todo, make_list):
    bobs = make_todo(bob, "bob's todo")
    mine = make_list(alice, "Mine")
    auth.login("alice")
    assert client.get(f"/todos/{bobs}/move").status_code == 404
    assert client.submit(f"/todos/{bobs}/move", {"list_id": mine}).status_code == 404


def test_move_todo_refuses_a_trashed_list_and_another_users(app, alice, bob, make_todo, make_list):
    todo = make_todo(alice, "buy milk")
    old = make_list(alice, "Old", trashed=True)
    bobs = make_list(bob, "Bob's")
    with app.app_context():
        with pytest.raises(InTrash):
            todos.move_todo(todo, alice, old)
        with pytest.raises(NotFoundError):
            todos.move_todo(todo, alice, bobs)
        moved, found = todos.move_todo(todo, alice, make_list(alice, "New"))
        assert found.name == "New" and moved.list_id == found.id


def test_a_todo_in_a_trashed_list_cannot_be_moved(client, alice_in, make_todo, make_list):
    old = make_list(alice_in, "Old")
    todo = make_todo(alice_in, "in the old list", list_id=old)
    client.submit(f"/lists/{old}/delete")
    response = client.get(f"/todos/{todo}/move")
    assert response.status_code == 404  # the "in the trash" page
    assert "in the trash" in text(response)
