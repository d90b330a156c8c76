"""Lists, and soft delete across two tables: the cascade into the trash, the
restore of exactly what went with a list, names unique among live lists,
and the purges. Through the pages, the services, relationships, joins and
counts."""

import re

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select, text

from todoapp.extensions import db
from todoapp.models import List, Todo
from todoapp.services import lists, todos
from todoapp.services.errors import NotFoundError


@pytest.fixture
def alice_in(client, auth, alice):
    auth.login("alice")
    return alice


def titles(app, **where):
    with app.app_context():
        stmt = select(Todo.title).order_by(Todo.id)
        return db.session.scalars(stmt.execution_options(**where)).all()


def get_any(model, row_id):
    """A row by id, live or trashed."""
    return db.session.get(model, row_id, execution_options={"include_trashed": True})


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def list_id_named(app, owner, name):
    with app.app_context():
        return db.session.scalar(
            select(List.id)
            .where(List.user_id == owner, List.name == name)
            .execution_options(include_trashed=True)
        )


# --- The cascade ---------------------------------------------------------------


def test_trashing_a_list_trashes_its_live_todos_as_one_entry(
    app, client, alice_in, make_list, make_todo
):
    groceries = make_list(alice_in, "Groceries", todos=3)
    alone = make_todo(alice_in, "eggs, on its own", list_id=groceries, trashed=True)
    make_todo(alice_in, "call mum")  # the Inbox

    response = client.submit(f"/lists/{groceries}/delete", follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "Moved the list “Groceries”, with 3 todos, to the trash." in body
    assert "Undo" in body

    trash = page(client, "/trash")
    assert "Groceries</bdi>, with 3 todos" in trash
    assert "eggs, on its own" in trash  # its own entry still
    assert "Groceries 0" not in trash  # the list's todos are inside its entry
    assert trash.count('name="list_ids"') == 1 and trash.count('name="ids"') == 1
    todo_list = page(client, "/todos")
    assert "Groceries 0" not in todo_list and "call mum" in todo_list
    assert client.get(f"/lists/{groceries}").status_code == 404
    assert "Groceries" not in page(client, "/lists")
    with app.app_context():
        assert get_any(Todo, alone).trashed_with_list is False


def test_undo_brings_back_the_list_with_its_todos(app, client, alice_in, make_list):
    groceries = make_list(alice_in, "Groceries", todos=2)
    client.submit(f"/lists/{groceries}/delete")
    response = client.submit(f"/trash/lists/{groceries}/restore", {"next": f"/lists/{groceries}"})
    assert response.location == f"/lists/{groceries}"
    body = page(client, f"/lists/{groceries}")
    assert "Groceries 0" in body and "Groceries 1" in body
    assert titles(app, trashed_only=True) == []


UNDO_NEXT = r'action="/trash/lists/{}/restore">.*?name="next" value="([^"]+)"'


@pytest.mark.parametrize("on", ["lists page", "list's own page"])
def test_undo_of_a_list_delete_goes_back_to_the_page_it_was_pressed_on(
    app, client, alice_in, make_list, on
):
    groceries = make_list(alice_in, "Groceries", todos=2)
    pressed_on = "/lists" if on == "lists page" else f"/lists/{groceries}"
    deleted = client.submit(f"/lists/{groceries}/delete", {"next": pressed_on})
    assert deleted.location == "/lists"  # the list's own page is gone until Undo
    body = page(client, "/lists")
    back = re.search(UNDO_NEXT.format(groceries), body, re.S).group(1)
    undone = client.submit(f"/trash/lists/{groceries}/restore", {"next": back})
    assert undone.location == pressed_on
    assert "Groceries" in page(client, "/lists")


def test_undo_of_a_todo_delete_on_a_list_page_goes_back_to_that_list(
    client, alice_in, make_list, make_todo
):
    groceries = make_list(alice_in, "Groceries")
    milk = make_todo(alice_in, "milk", list_id=groceries)
    deleted = client.submit(f"/todos/{milk}/delete", {"next": f"/lists/{groceries}"})
    body = page(client, deleted.location)
    back = re.search(rf'action="/trash/{milk}/restore">.*?name="next" value="([^"]+)"', body, re.S)
    assert back.group(1) == f"/lists/{groceries}"


def test_restoring_a_list_restores_exactly_the_todos_trashed_with_it(
    app, alice, make_list, make_todo
):
    groceries = make_list(alice, "Groceries", todos=3)
    before = make_todo(alice, "trashed before", list_id=groceries, trashed=True)
    with app.app_context():
        trashed = lists.trash_list(groceries, alice, actor_id=alice)
        assert trashed.todos == 3
        back = lists.restore_list(groceries, owner_id=alice, actor_id=alice)
        assert back.todos == 3
        assert get_any(List, groceries).trashed_todos == 0
    assert titles(app) == ["Groceries 0", "Groceries 1", "Groceries 2"]
    assert titles(app, trashed_only=True) == ["trashed before"]
    with app.app_context():
        # Still its own entry: a later trash of the list leaves it so.
        lists.trash_list(groceries, alice, actor_id=alice)
        lists.restore_list(groceries, owner_id=alice, actor_id=alice)
        assert get_any(Todo, before).is_trashed


def test_a_todo_trashed_with_its_list_is_not_an_entry_of_its_own(app, alice, make_list):
    groceries = make_list(alice, "Groceries", todos=1, trashed=True)
    with app.app_context():
        [inside] = db.session.scalars(
            select(Todo.id).where(Todo.list_id == groceries).execution_options(include_trashed=True)
        ).all()
        for act in (todos.restore_todo, todos.purge_todo):
            with pytest.raises(NotFoundError):
                act(inside, owner_id=alice)
        assert todos.bulk_restore([inside], owner_id=alice).done == 0
        assert todos.bulk_purge([inside], owner_id=alice).done == 0
        assert todos.list_trash(alice, 50).items[0]["kind"] == todos.LIST_ENTRY


def test_restoring_a_list_of_ten_thousand_todos_is_one_transaction(app, alice, make_list):
    groceries = make_list(alice, "Big")
    with app.app_context():
        db.session.execute(
            Todo.__table__.insert(),
            [{"user_id": alice, "list_id": groceries, "title": f"t{n}"} for n in range(10_000)],
        )
        db.session.commit()
        lists.trash_list(groceries, alice, actor_id=alice)
        seen = []
        from sqlalchemy import event

        def record(conn, cursor, statement, *args):
            seen.append(statement.split()[0].upper())

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            back = lists.restore_list(groceries, owner_id=alice, actor_id=alice)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert back.todos == 10_000
        assert seen.count("UPDATE") <= 3  # the todos at once, the list, nothing per row
        live = select(func.count()).select_from(Todo).where(Todo.list_id == groceries)
        assert db.session.scalar(live) == 10_000


# --- Hidden everywhere -----------------------------------------------------------


def test_a_trashed_lists_todos_are_hidden_even_if_not_trashed_themselves(
    app, client, alice_in, make_list
):
    groceries = make_list(alice_in, "Groceries", todos=2)
    with app.app_context():
        lists.trash_list(groceries, alice_in, actor_id=alice_in)
        # As an older server, or a hand-written UPDATE, could leave one: live
        # itself, in a list that is in the trash.
        db.session.execute(
            text("UPDATE todos SET deleted_at = NULL, trashed_with_list = :no WHERE title = :t"),
            {"no": False, "t": "Groceries 0"},
        )
        db.session.commit()
        assert titles(app) == []  # a top-level select
        joined = db.session.execute(
            select(Todo.title, List.name).join(List, Todo.list_id == List.id)
        ).all()
        assert joined == []  # a join
        count = select(func.count()).select_from(Todo).where(Todo.user_id == alice_in)
        assert db.session.scalar(count) == 0  # a count
        every = db.session.scalars(
            select(List).where(List.id == groceries).execution_options(include_trashed=True)
        ).one()
        assert sorted(t.title for t in every.todos) == ["Groceries 0", "Groceries 1"]
    assert "Groceries 0" not in page(client, "/todos")
    assert client.get(f"/lists/{groceries}").status_code == 404


def test_a_live_lists_relationship_loads_only_live_todos(app, alice, make_list, make_todo):
    errands = make_list(alice, "Errands", todos=2)
    make_todo(alice, "gone", list_id=errands, trashed=True)
    with app.app_context():
        found = db.session.scalars(select(List).where(List.id == errands)).one()
        assert sorted(t.title for t in found.todos) == ["Errands 0", "Errands 1"]
        assert (
            db.session.scalar(
                select(func.count()).select_from(Todo).join(List).where(List.id == errands)
            )
            == 2
        )


def test_the_admin_users_page_counts_agree_with_the_trash(client, auth, admin, alice, make_list):
    make_list(alice, "Groceries", todos=2, trashed=True)
    auth.login("root")
    body = page(client, "/admin/users")
    row = body[body.index(">alice<") :][:600]
    assert ">0<" in row.replace(" ", "")  # no live todos: both are in the trash with the list


# --- Names -----------------------------------------------------------------------


def test_names_are_unique_among_live_lists_whatever_their_case(app, client, alice_in):
    client.submit("/lists", {"name": "Groceries"})
    response = client.submit("/lists", {"name": "GROCERIES"})
    assert response.status_code == 422
    # The list that has the name, as it is written; not what was typed.
    assert "You already have a list named “Groceries”." in response.get_data(as_text=True)
    response = client.submit("/lists", {"name": "inbox"})
    assert response.status_code == 422  # the Inbox keeps its name
    groceries = list_id_named(app, alice_in, "Groceries")
    client.submit(f"/lists/{groceries}/delete")
    response = client.submit("/lists", {"name": "groceries"})
    assert response.status_code == 302  # the trashed one leaves the name free


def test_restoring_a_list_whose_name_is_taken_asks_for_a_new_one(app, client, alice_in):
    client.submit("/lists", {"name": "Groceries"})
    old = list_id_named(app, alice_in, "Groceries")
    client.submit(f"/lists/{old}/delete")
    client.submit("/lists", {"name": "Groceries"})

    response = client.submit(f"/trash/lists/{old}/restore")
    assert response.status_code == 302
    assert response.location == f"/trash/lists/{old}/restore"
    form = page(client, response.location)
    assert "needs a new name" in form and 'value="Groceries (2)"' in form
    with app.app_context():
        assert get_any(List, old).is_trashed  # nothing renamed, nothing restored

    response = client.submit(f"/trash/lists/{old}/restore", {"name": "GROCERIES"})
    assert response.status_code == 422
    assert "Try “GROCERIES (2)”" in response.get_data(as_text=True)
    response = client.submit(f"/trash/lists/{old}/restore", {"name": "Groceries (2)"})
    assert response.status_code == 302
    with app.app_context():
        names = db.session.scalars(select(List.name).where(List.user_id == alice_in)).all()
    assert sorted(names) == ["Groceries", "Groceries (2)", "Inbox"]


def test_restoring_a_list_names_the_list_that_took_its_name(app, client, alice_in, make_list):
    old = make_list(alice_in, "Groceries", trashed=True)
    make_list(alice_in, "GROCERIES")
    form = page(client, f"/trash/lists/{old}/restore")
    assert "You have another list named “GROCERIES” now" in form


def test_a_race_for_a_name_is_a_clear_refusal_not_an_integrity_error(app, alice, make_list):
    old = make_list(alice, "Groceries", trashed=True)
    make_list(alice, "Groceries")
    with app.app_context():
        # As if the check had passed just before another request took the name.
        real = lists._name_free
        lists._name_free = lambda *a, **k: None
        try:
            with pytest.raises(lists.NameTaken) as taken:
                lists.restore_list(old, owner_id=alice)
            with pytest.raises(lists.NameTaken) as raced:
                lists.create_list(alice, "groceries", actor_id=alice)
        finally:
            lists._name_free = real
        assert str(raced.value) == "You already have a list named “Groceries”."
        assert taken.value.suggestion == "Groceries (2)"
        assert get_any(List, old).is_trashed


def test_a_refusal_for_another_rule_is_not_called_a_taken_name(app, alice, monkeypatch):
    """The database's own limit on a name (a CHECK narrower than the model,
    as after a model change with no revision yet) is not "You already have a
    list named ...": it is the error it is."""
    from todoapp.services import titles

    monkeypatch.setattr(titles, "LIST_NAME_MAX", titles.LIST_NAME_MAX + 20)
    longer = "x" * (titles.LIST_NAME_MAX - 5)
    with app.app_context():
        with pytest.raises(sa.exc.DBAPIError) as refused:
            lists.create_list(alice, longer, actor_id=alice)
        assert not isinstance(refused.value, lists.NameTaken)


def test_names_fold_beyond_ascii(app, alice, make_list):
    make_list(alice, "Straße")
    with app.app_context(), pytest.raises(lists.NameTaken):
        lists.create_list(alice, "STRASSE", actor_id=alice)


def test_the_inbox_can_be_neither_renamed_nor_deleted(app, client, alice_in):
    inbox = list_id_named(app, alice_in, "Inbox")
    assert client.get(f"/lists/{inbox}/edit").status_code == 404
    response = client.submit(f"/lists/{inbox}/delete", follow_redirects=True)
    assert "The Inbox can&#39;t be deleted" in response.get_data(as_text=True)
    with app.app_context():
        assert not get_any(List, inbox).is_trashed


# --- A todo whose list is in the trash ---------------------------------------------


@pytest.mark.parametrize("into", ["list", "inbox"])
def test_restoring_a_todo_whose_list_is_trashed_asks_where_it_goes(
    app, client, alice_in, make_list, make_todo, into
):
    groceries = make_list(alice_in, "Groceries", todos=2)
    eggs = make_todo(alice_in, "eggs", list_id=groceries, trashed=True)
    client.submit(f"/lists/{groceries}/delete")

    response = client.submit(f"/trash/{eggs}/restore")
    assert response.location == f"/trash/{eggs}/restore"
    form = page(client, response.location)
    assert "Restore the list “Groceries” too" in form and "Put it in the Inbox" in form
    assert titles(app, trashed_only=True) == ["eggs"]  # nothing restored yet

    client.submit(f"/trash/{eggs}/restore", {"into": into})
    with app.app_context():
        todo = get_any(Todo, eggs)
        restored_list = get_any(List, groceries)
        assert not todo.is_trashed
        if into == "list":
            assert todo.list_id == groceries and not restored_list.is_trashed
            assert titles(app) == ["Groceries 0", "Groceries 1", "eggs"]
        else:
            assert todo.list.is_inbox and restored_list.is_trashed
            assert titles(app) == ["eggs"]


def test_bulk_restore_holds_back_a_todo_whose_list_is_trashed(
    client, alice_in, make_list, make_todo
):
    groceries = make_list(alice_in, "Groceries")
    eggs = make_todo(alice_in, "eggs", list_id=groceries, trashed=True)
    milk = make_todo(alice_in, "milk", trashed=True)
    client.submit(f"/lists/{groceries}/delete")
    response = client.submit(
        "/trash/bulk", {"action": "restore", "ids": [eggs, milk]}, follow_redirects=True
    )
    body = response.get_data(as_text=True)
    assert "Restored: 1 todo." in body and "1 of those ticked need a choice first" in body


# --- Purges ------------------------------------------------------------------------


def test_purging_a_list_purges_all_its_todos(app, client, alice_in, make_list, make_todo):
    groceries = make_list(alice_in, "Groceries", todos=2)
    make_todo(alice_in, "eggs", list_id=groceries, trashed=True)
    make_todo(alice_in, "kept", trashed=True)
    client.submit(f"/lists/{groceries}/delete")
    response = client.submit(f"/trash/lists/{groceries}/purge", follow_redirects=True)
    assert "Deleted the list “Groceries” and 3 todos forever." in response.get_data(as_text=True)
    assert titles(app, include_trashed=True) == ["kept"]
    assert list_id_named(app, alice_in, "Groceries") is None


def test_empty_trash_takes_lists_and_their_todos(app, client, alice_in, make_list, make_todo):
    make_list(alice_in, "Groceries", todos=2, trashed=True)
    make_list(alice_in, "Empty one", trashed=True)
    make_todo(alice_in, "alone", trashed=True)
    make_todo(alice_in, "live")
    response = client.submit("/trash/empty", follow_redirects=True)
    assert "3 todos deleted forever" in response.get_data(as_text=True)
    assert titles(app, include_trashed=True) == ["live"]
    with app.app_context():
        left = db.session.scalars(
            select(List.name).execution_options(include_trashed=True).order_by(List.name)
        ).all()
    assert left == ["Inbox"]


def test_expiry_purges_expired_lists_with_their_todos(app, alice, make_list, make_todo):
    old = make_list(alice, "Old", todos=2, trashed=True)
    make_list(alice, "Recent", todos=1, trashed=True)
    with app.app_context():
        db.session.execute(
            text("UPDATE lists SET deleted_at = '2000-01-01 00:00:00' WHERE id = :id"), {"id": old}
        )
        db.session.execute(
            text("UPDATE todos SET deleted_at = '2000-01-01 00:00:00' WHERE list_id = :id"),
            {"id": old},
        )
        db.session.commit()
        assert todos.count_expired(30) == 2
        purge = todos.purge_expired(30)
        assert purge.deleted == 2 and purge.finished
    assert titles(app, include_trashed=True) == ["Recent 0"]


def test_bulk_purge_and_restore_take_lists(app, client, alice_in, make_list):
    a = make_list(alice_in, "A", todos=2, trashed=True)
    b = make_list(alice_in, "B", todos=1, trashed=True)
    response = client.submit(
        "/trash/bulk", {"action": "restore", "list_ids": [a]}, follow_redirects=True
    )
    assert "Restored: 1 entry." in response.get_data(as_text=True)
    response = client.submit(
        "/trash/bulk", {"action": "purge", "list_ids": [a, b]}, follow_redirects=True
    )
    body = response.get_data(as_text=True)
    assert "Deleted forever: 1 entry." in body and "1 of those ticked were no longer" in body
    assert titles(app, include_trashed=True) == ["A 0", "A 1"]


def test_the_admin_trash_shows_lists_with_their_counts(client, auth, admin, alice, make_list):
    groceries = make_list(alice, "Groceries", todos=12, trashed=True)
    auth.login("root")
    body = page(client, "/admin/trash")
    assert "Groceries</bdi>, with 12 todos" in body
    response = client.submit(f"/admin/trash/lists/{groceries}/restore", follow_redirects=True)
    assert "Restored the list “Groceries” for alice, with 12 todos." in response.get_data(
        as_text=True
    )


# --- Lists themselves ----------------------------------------------------------------


def test_todos_without_a_list_go_to_the_inbox(app, client, alice_in, make_list):
    """The todo list names a todo's list only when it is not the Inbox, where
    what is added there goes anyway: the name would repeat on most rows."""
    client.submit("/todos", {"title": "from the todo page"})
    inbox = list_id_named(app, alice_in, "Inbox")
    assert "from the todo page" in page(client, f"/lists/{inbox}")
    todos_page = page(client, "/todos")
    assert "from the todo page" in todos_page and "Inbox</a> &middot;" not in todos_page
    errands = make_list(alice_in, "Errands", todos=1)
    assert f'in <a href="/lists/{errands}">Errands</a> &middot;' in page(client, "/todos")


def test_a_todo_moves_to_another_list_on_its_edit_page(app, client, alice_in, make_list):
    errands = make_list(alice_in, "Errands")
    client.submit("/todos", {"title": "post a letter"})
    with app.app_context():
        todo_id = db.session.scalar(select(Todo.id))
    form = page(client, f"/todos/{todo_id}/edit")
    assert "Errands" in form and 'name="list_id"' in form
    client.submit(f"/todos/{todo_id}/edit", {"title": "post a letter", "list_id": errands})
    assert "post a letter" in page(client, f"/lists/{errands}")
    response = client.submit(f"/todos/{todo_id}/edit", {"title": "x", "list_id": "999"})
    assert response.status_code == 422  # not one of the user's lists


def test_a_list_page_is_keyset_paginated(app, client, alice_in, make_list):
    app.config["TODOS_PER_PAGE"] = 2
    errands = make_list(alice_in, "Errands", todos=5)
    first = page(client, f"/lists/{errands}")
    assert "Errands 4" in first and "Errands 3" in first and "Errands 2" not in first
    older = first.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    assert older.startswith(f"/lists/{errands}?before=")
    second = page(client, older)
    assert "Errands 2" in second and "Errands 1" in second and "Errands 4" not in second


def test_another_users_list_is_404(client, auth, alice, bob, make_list):
    theirs = make_list(alice, "Private")
    auth.login("bob")
    assert client.get(f"/lists/{theirs}").status_code == 404
    assert client.submit(f"/lists/{theirs}", {"title": "sneaky"}).status_code == 404
    assert client.submit(f"/lists/{theirs}/delete").status_code == 404
