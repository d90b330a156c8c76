"""What a person sees: the list, undo, the trash, restore, the admin trash,
error pages."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from todoapp.extensions import db
from todoapp.models import Todo, utcnow


@pytest.fixture
def alice_in(client, auth, alice):
    auth.login("alice")
    return alice


def text(response):
    return response.get_data(as_text=True)


def test_the_whole_trash_journey(client, alice_in):
    client.submit("/todos", {"title": "water the plants"})
    client.submit("/todos", {"title": "pay rent"})
    page = text(client.get("/todos"))
    assert page.index("pay rent") < page.index("water the plants")  # newest first
    with client.application.app_context():
        ids = {t.title: t.id for t in db.session.scalars(select(Todo))}
    rent, plants = ids["pay rent"], ids["water the plants"]

    response = client.submit(f"/todos/{rent}/delete", {"next": "/todos"}, follow_redirects=True)
    page = text(response)
    assert "Moved “pay rent” to the trash." in page
    assert f'action="/trash/{rent}/restore"' in page and ">Undo<" in page
    assert page.count('<li class="todo') == 1

    response = client.submit(f"/trash/{rent}/restore", {"next": "/todos"}, follow_redirects=True)
    assert "Restored “pay rent”." in text(response)
    assert text(response).count('<li class="todo') == 2

    client.submit(f"/todos/{plants}/delete")
    trash = text(client.get("/trash"))
    assert "water the plants" in trash and "purged in 30 days" in trash
    assert "deleted" in trash and "just now" in trash

    confirm = text(client.get(f"/trash/{plants}/restore"))
    assert "Restore this todo?" in confirm and "water the plants" in confirm

    response = client.submit(f"/trash/{plants}/purge", follow_redirects=True)
    assert "Deleted “water the plants” forever." in text(response)
    assert "Nothing in the trash." in text(response)
    assert client.get(f"/trash/{plants}/restore").status_code == 404


def test_days_left_count_down(app, client, alice_in, make_todo):
    todo_id = make_todo(alice_in, "old news", trashed=True)
    with app.app_context():
        db.session.execute(
            update(Todo)
            .where(Todo.id == todo_id)
            .values(deleted_at=utcnow() - timedelta(days=3, hours=1))
            .execution_options(trashed_only=True)
        )
        db.session.commit()
    page = text(client.get("/trash"))
    assert "3 days ago" in page and "purged in 27 days" in page


def test_invalid_title_is_shown_again_and_nothing_is_saved(app, client, alice_in):
    response = client.submit("/todos", {"title": "   "})
    assert response.status_code == 422
    assert "Title can&#39;t be empty." in text(response)
    response = client.submit("/todos", {"title": "x" * 201})
    assert response.status_code == 422
    assert "at most 200 characters" in text(response)
    with app.app_context():
        assert db.session.scalars(select(Todo)).all() == []


def test_edit_keeps_the_page_you_came_from(app, client, alice_in, make_todo):
    todo_id = make_todo(alice_in, "typo")
    form = text(client.get(f"/todos/{todo_id}/edit?next=/todos?page=1"))
    assert 'value="typo"' in form
    response = client.submit(f"/todos/{todo_id}/edit", {"title": "fixed", "next": "/todos?page=1"})
    assert response.status_code == 302 and response.location == "/todos?page=1"
    response = client.submit(f"/todos/{todo_id}/edit", {"next": "/todos"})
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Todo, todo_id).title == "fixed"


def test_toggle_marks_done_and_back(app, client, alice_in, make_todo):
    todo_id = make_todo(alice_in, "laundry")
    client.submit(f"/todos/{todo_id}/toggle")
    assert 'aria-pressed="true"' in text(client.get("/todos"))
    client.submit(f"/todos/{todo_id}/toggle")
    assert 'aria-pressed="false"' in text(client.get("/todos"))


def test_pagination(app, client, alice_in, make_todo):
    app.config["TODOS_PER_PAGE"] = 2
    for n in range(5):
        make_todo(alice_in, f"item {n}")
    first = text(client.get("/todos"))
    assert "item 4" in first and "item 2" not in first and "page=2" in first
    third = text(client.get("/todos?page=3"))
    assert "item 0" in third and "page=4" not in third
    assert "nothing on this page" in text(client.get("/todos?page=9"))


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "99999999999999999999", "٣"])
def test_a_bad_page_number_is_404(client, alice_in, page):
    assert client.get(f"/todos?page={page}").status_code == 404
    assert client.get(f"/trash?page={page}").status_code == 404


@pytest.mark.parametrize("todo_id", ["0", "-1", "abc", "99999999999999999999", "2147483648"])
def test_odd_ids_are_404_not_500(client, alice_in, todo_id):
    assert client.get(f"/todos/{todo_id}/edit").status_code == 404
    assert client.submit(f"/todos/{todo_id}/toggle").status_code == 404


def test_empty_trash(app, client, alice_in, make_todo):
    make_todo(alice_in, "one", trashed=True)
    make_todo(alice_in, "two", trashed=True)
    make_todo(alice_in, "stays")
    response = client.submit("/trash/empty", follow_redirects=True)
    assert "Emptied the trash: 2 todos deleted forever." in text(response)
    assert "stays" in text(client.get("/todos"))


def test_titles_are_escaped(client, alice_in):
    client.submit("/todos", {"title": "<script>alert(1)</script>"})
    client.submit("/todos", {"title": '"><img src=x onerror=alert(1)>'})
    page = text(client.get("/todos"))
    assert "<script>alert(1)</script>" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


class TestAdminTrash:
    @pytest.fixture
    def trash(self, make_user, make_todo, admin, auth):
        alice, bob = make_user("alice"), make_user("bob")
        ids = {
            "alice": make_todo(alice, "alice's old thing", trashed=True),
            "bob": make_todo(bob, "bob's old thing", trashed=True),
        }
        make_todo(bob, "bob's live thing")
        auth.login("root")
        return ids

    def test_sees_everyones_trash_with_owner_and_deleter(self, client, trash):
        page = text(client.get("/admin/trash"))
        assert "alice&#39;s old thing" in page and "bob&#39;s old thing" in page
        assert "bob&#39;s live thing" not in page
        assert page.count('data-label="Owner"><a href="/admin/trash?user=') == 2

    def test_filters_by_owner(self, client, trash):
        page = text(client.get("/admin/trash?user=bob"))
        assert "bob&#39;s old thing" in page and "alice&#39;s old thing" not in page
        assert "There is no user named “nobody”." in text(client.get("/admin/trash?user=nobody"))

    def test_restores_and_purges_for_anyone(self, app, client, trash):
        response = client.submit(f"/admin/trash/{trash['alice']}/restore")
        assert response.location == "/admin/trash"
        client.submit(f"/admin/trash/{trash['bob']}/purge", {"next": "/admin/trash?user=bob"})
        with app.app_context():
            rows = db.session.scalars(select(Todo).execution_options(include_trashed=True))
            assert sorted((t.title, t.is_trashed) for t in rows) == [
                ("alice's old thing", False),
                ("bob's live thing", False),
            ]

    def test_purge_expired_uses_the_retention(self, app, client, trash):
        with app.app_context():
            db.session.execute(
                update(Todo)
                .where(Todo.id == trash["alice"])
                .values(deleted_at=utcnow() - timedelta(days=31))
                .execution_options(trashed_only=True)
            )
            db.session.commit()
        response = client.submit("/admin/trash/purge-expired", follow_redirects=True)
        assert "Purged 1 todo trashed more than 30 days ago." in text(response)
        assert "bob&#39;s old thing" in text(response)


def test_error_pages_are_templates(client, alice_in):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "<!doctype html>" in text(response) and "Not Found" in text(response)


def test_a_crash_is_a_friendly_500_and_rolls_back(app, client, alice_in, monkeypatch):
    from todoapp.services import todos

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(todos, "list_todos", explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production
    response = client.get("/todos")
    assert response.status_code == 500
    page = text(response)
    assert "Something went wrong on our side" in page
    assert "Traceback" not in page and "boom" not in page


def test_an_oversized_body_is_413(client, alice_in):
    response = client.submit("/todos", {"title": "x" * 70_000})
    assert response.status_code == 413
    assert "too much data" in text(response)
