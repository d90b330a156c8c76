"""Bulk restore and bulk purge: one pair of services for both trash pages."""

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from todoapp.extensions import db
from todoapp.models import Todo
from todoapp.services import todos


def rows(app):
    with app.app_context():
        found = db.session.scalars(
            select(Todo).execution_options(include_trashed=True).order_by(Todo.id)
        )
        return {t.title: t.is_trashed for t in found}


@pytest.fixture
def trash(make_user, make_todo):
    alice, bob = make_user("alice"), make_user("bob")
    return {
        "alice": alice,
        "a1": make_todo(alice, "a1", trashed=True),
        "a2": make_todo(alice, "a2", trashed=True),
        "a3": make_todo(alice, "a3", trashed=True),
        "live": make_todo(alice, "live"),
        "b1": make_todo(bob, "b1", trashed=True),
    }


class TestServices:
    def test_bulk_restore_only_touches_the_owners_trash(self, app, trash):
        ids = [trash["a1"], trash["a2"], trash["b1"], trash["live"], 999]
        with app.app_context():
            assert todos.bulk_restore(ids, owner_id=trash["alice"]).done == 2
        assert rows(app) == {"a1": False, "a2": False, "a3": True, "live": False, "b1": True}

    def test_bulk_purge_only_touches_the_owners_trash(self, app, trash):
        ids = [trash["a1"], trash["b1"], trash["live"]]
        with app.app_context():
            assert todos.bulk_purge(ids, owner_id=trash["alice"]).done == 1
        assert rows(app) == {"a2": True, "a3": True, "live": False, "b1": True}

    def test_admins_act_on_anyones_trash(self, app, trash):
        with app.app_context():
            assert todos.bulk_purge([trash["a3"], trash["b1"], trash["live"]]).done == 2
            assert todos.bulk_restore([trash["a1"], trash["live"]]).done == 1
        assert rows(app) == {"a1": False, "a2": True, "live": False}

    def test_restore_clears_both_columns(self, app, trash):
        with app.app_context():
            todos.bulk_restore([trash["a1"]], owner_id=trash["alice"])
            todo = db.session.get(Todo, trash["a1"])
            assert (todo.deleted_at, todo.deleted_by) == (None, None)

    def test_a_huge_selection_is_refused(self, app, trash):
        with app.app_context(), pytest.raises(ValueError, match="at most 500"):
            todos.bulk_purge(list(range(1, 502)))
        assert len(rows(app)) == 5


def bulk(client, url, action, ids, next_url=None):
    data = MultiDict([("action", action), ("csrf_token", client.csrf_token())])
    data.setlist("ids", [str(i) for i in ids])
    if next_url:
        data["next"] = next_url
    return client.post(url, data=data)


class TestPages:
    def test_the_trash_page_offers_checkboxes_and_both_buttons(self, client, auth, trash):
        auth.login("alice")
        page = client.get("/trash").get_data(as_text=True)
        assert page.count('type="checkbox" class="select" name="ids"') == 3
        assert 'form="bulk"' in page
        assert ">Restore selected<" in page and ">Delete selected forever<" in page

    def test_restore_selected(self, app, client, auth, trash):
        auth.login("alice")
        response = bulk(client, "/trash/bulk", "restore", [trash["a1"], trash["a2"]])
        assert response.status_code == 302 and response.location == "/trash"
        assert "Restored: 2 todos." in client.get("/trash").get_data(as_text=True)
        assert rows(app)["a1"] is False and rows(app)["a3"] is True

    def test_delete_selected_forever_says_what_was_skipped(self, app, client, auth, trash):
        auth.login("alice")
        bulk(client, "/trash/bulk", "purge", [trash["a1"], trash["b1"]])
        page = client.get("/trash").get_data(as_text=True)
        assert "Deleted forever: 1 todo. 1 of those ticked were no longer in the trash." in page
        assert "a1" not in rows(app) and "b1" in rows(app)

    def test_nothing_ticked(self, client, auth, trash):
        auth.login("alice")
        bulk(client, "/trash/bulk", "restore", [])
        page = client.get("/trash").get_data(as_text=True)
        assert "Nothing was ticked. Tick the todos and lists to restore or delete" in page

    @pytest.mark.parametrize(("action", "ids"), [("explode", [1]), ("purge", ["1; DROP"])])
    def test_forged_forms_are_400(self, app, client, auth, trash, action, ids):
        auth.login("alice")
        before = rows(app)
        assert bulk(client, "/trash/bulk", action, ids).status_code == 400
        assert rows(app) == before

    def test_the_admin_trash_bulk_acts_on_everyone(self, app, client, auth, trash, admin):
        auth.login("root")
        page = client.get("/admin/trash").get_data(as_text=True)
        assert page.count('name="ids"') == 4
        response = bulk(
            client,
            "/admin/trash/bulk",
            "purge",
            [trash["a1"], trash["b1"]],
            "/admin/trash?user=bob",
        )
        assert response.location == "/admin/trash?user=bob"
        assert rows(app) == {"a2": True, "a3": True, "live": False}
