"""Your own todo or list, reached while it is in the trash (a tab opened
before it was deleted, the Back button): the page says so and offers Restore,
keeping what you typed. Anyone else's, and what was deleted forever, stay a
plain 404."""

import html
import re

import pytest

from todoapp.extensions import db
from todoapp.models import List, Todo
from todoapp.services import lists, todos
from todoapp.services.errors import InTrash, NotFoundError

RESTORE_FORM = re.compile(
    r'<form class="inline" method="post" action="(?P<action>[^"]+)">\s*'
    r'<input type="hidden" name="csrf_token" value="[^"]*">'
    r'<input type="hidden" name="next" value="(?P<next>[^"]*)">\s*'
    r'<button type="submit">(?P<label>Restore[^<]*)</button>'
)


def restore_form(page: str) -> tuple[str, str, str]:
    found = RESTORE_FORM.search(page)
    assert found, page
    return tuple(html.unescape(found[name]) for name in ("action", "next", "label"))


def press_restore(client, page: str):
    action, next_url, _ = restore_form(page)
    return client.submit(action, {"next": next_url})


def stored(app, model, id_):
    with app.app_context():
        return db.session.get(model, id_, execution_options={"include_trashed": True})


TODO_VISITS = [
    ("GET", "/todos/{id}/edit", {}, 404),
    ("POST", "/todos/{id}/edit", {"title": "changed elsewhere"}, 409),
    ("POST", "/todos/{id}/toggle", {}, 409),
    ("POST", "/todos/{id}/delete", {}, 409),
]


def visit(client, method, url, data):
    return client.get(url) if method == "GET" else client.submit(url, data)


@pytest.mark.parametrize(("method", "url", "data", "status"), TODO_VISITS)
def test_your_trashed_todo_says_it_is_in_the_trash_and_offers_restore(
    app, client, auth, alice, make_todo, method, url, data, status
):
    todo_id = make_todo(alice, "Buy milk", trashed=True)
    auth.login("alice")
    response = visit(client, method, url.format(id=todo_id), data)
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert "This todo is in the trash" in page and "Buy milk" in page
    assert "There is no such todo" not in page
    action, _, label = restore_form(page)
    assert (action, label) == (f"/trash/{todo_id}/restore", "Restore")
    todo = stored(app, Todo, todo_id)
    assert todo.is_trashed and todo.title == "Buy milk" and not todo.done  # nothing changed

    restored = press_restore(client, page)
    assert restored.status_code == 302
    assert not stored(app, Todo, todo_id).is_trashed


LIST_VISITS = [
    ("GET", "/lists/{id}", {}, 404),
    ("GET", "/lists/{id}/edit", {}, 404),
    ("POST", "/lists/{id}", {"title": "Eggs"}, 409),
    ("POST", "/lists/{id}/edit", {"name": "Shopping"}, 409),
    ("POST", "/lists/{id}/delete", {}, 409),
]


@pytest.mark.parametrize(("method", "url", "data", "status"), LIST_VISITS)
def test_your_trashed_list_says_it_is_in_the_trash_and_offers_restore(
    app, client, auth, alice, make_list, method, url, data, status
):
    list_id = make_list(alice, "Groceries", todos=2, trashed=True)
    auth.login("alice")
    response = visit(client, method, url.format(id=list_id), data)
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert "This list is in the trash" in page and "Groceries" in page
    action, _, _ = restore_form(page)
    assert action == f"/trash/lists/{list_id}/restore"
    assert stored(app, List, list_id).is_trashed

    assert press_restore(client, page).status_code == 302
    with app.app_context():
        assert lists.get_list(list_id, owner_id=alice).name == "Groceries"
        assert todos.list_in_list(lists.get_list(list_id), 10).items  # its todos came back


def test_back_to_a_deleted_list_then_restore_returns_to_it(app, client, auth, alice, make_list):
    list_id = make_list(alice, "Groceries", todos=1)
    auth.login("alice")
    assert client.submit(f"/lists/{list_id}/delete").status_code == 302
    back = client.get(f"/lists/{list_id}")  # the Back button
    assert back.status_code == 404
    restored = press_restore(client, back.get_data(as_text=True))
    assert restored.location.endswith(f"/lists/{list_id}")
    assert client.get(restored.location).status_code == 200


@pytest.mark.parametrize("purged", [False, True], ids=["someone_elses", "deleted_forever"])
def test_someone_elses_or_a_purged_todo_is_a_plain_404(
    app, client, auth, alice, bob, make_todo, make_list, purged
):
    owner = alice if purged else bob
    todo_id = make_todo(owner, "Secret plan", trashed=True)
    list_id = make_list(owner, "Secret list", trashed=True)
    if purged:
        with app.app_context():
            todos.purge_todo(todo_id, owner_id=owner)
            lists.purge_list(list_id, owner_id=owner)
    auth.login("alice")
    for method, url, data, _ in TODO_VISITS:
        response = visit(client, method, url.format(id=todo_id), data)
        page = response.get_data(as_text=True)
        assert response.status_code == 404
        assert "There is no such todo." in page and "Secret plan" not in page
        assert "in the trash" not in page
    for method, url, data, _ in LIST_VISITS:
        response = visit(client, method, url.format(id=list_id), data)
        page = response.get_data(as_text=True)
        assert response.status_code == 404
        assert "Secret list" not in page and "in the trash" not in page


def test_an_edit_typed_while_the_todo_was_trashed_comes_back_after_restore(
    app, client, auth, alice, make_todo
):
    todo_id = make_todo(alice, "Buy milk")
    auth.login("alice")
    assert client.get(f"/todos/{todo_id}/edit").status_code == 200  # the edit tab
    client.submit(f"/todos/{todo_id}/delete")  # another tab
    response = client.submit(f"/todos/{todo_id}/edit", {"title": "Buy oat milk"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Buy oat milk" in page and "the form shows it again" in page  # to copy, too
    assert stored(app, Todo, todo_id).title == "Buy milk"

    restored = press_restore(client, page)
    assert restored.location.endswith(f"/todos/{todo_id}/edit")
    form = client.get(restored.location).get_data(as_text=True)
    assert 'value="Buy oat milk"' in form
    # Used once: the next visit shows the saved title.
    assert 'value="Buy milk"' in client.get(f"/todos/{todo_id}/edit").get_data(as_text=True)


def test_a_todo_added_to_a_list_deleted_meanwhile_is_kept_for_after_restore(
    app, client, auth, alice, make_list
):
    list_id = make_list(alice, "Groceries")
    auth.login("alice")
    client.submit(f"/lists/{list_id}/delete")
    response = client.submit(f"/lists/{list_id}", {"title": "Eggs"})
    assert response.status_code == 409
    restored = press_restore(client, response.get_data(as_text=True))
    page = client.get(restored.location).get_data(as_text=True)
    assert 'value="Eggs"' in page


def test_a_todo_trashed_with_its_list_is_restored_with_the_list(
    app, client, auth, alice, make_todo, make_list
):
    list_id = make_list(alice, "Groceries")
    todo_id = make_todo(alice, "Eggs", list_id=list_id)
    with app.app_context():
        lists.trash_list(list_id, alice, actor_id=alice)
    auth.login("alice")
    response = client.get(f"/todos/{todo_id}/edit")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "with its list “Groceries”" in page
    action, next_url, label = restore_form(page)
    assert action == f"/trash/lists/{list_id}/restore"
    assert label == "Restore the list “Groceries”"
    assert press_restore(client, page).location.endswith(f"/todos/{todo_id}/edit")
    assert not stored(app, Todo, todo_id).is_trashed


def test_only_the_owners_lookup_says_in_trash(app, alice, make_todo):
    todo_id = make_todo(alice, "Buy milk", trashed=True)
    with app.app_context():
        with pytest.raises(InTrash):
            todos.get_todo(todo_id, owner_id=alice)
        with pytest.raises(NotFoundError) as raised:
            todos.get_todo(todo_id)  # no owner: admins and the command line
        assert not isinstance(raised.value, InTrash)
