"""CSRF stays on in the tests: every state change needs the form's token."""

import pytest
from sqlalchemy import func, select

from todoapp.extensions import db
from todoapp.models import Todo

POSTS = [
    "/todos",
    "/todos/{live}/edit",
    "/todos/{live}/toggle",
    "/todos/{live}/delete",
    "/trash/{trashed}/restore",
    "/trash/{trashed}/purge",
    "/trash/empty",
    "/auth/logout",
    "/auth/login",
    "/auth/register",
]


@pytest.fixture
def logged_in(client, auth, alice, make_todo):
    auth.login("alice")
    return {"live": make_todo(alice, "keep me"), "trashed": make_todo(alice, "bin", trashed=True)}


def snapshot(app):
    with app.app_context():
        rows = db.session.scalars(
            select(Todo).execution_options(include_trashed=True).order_by(Todo.id)
        )
        return [(t.title, t.done, t.deleted_at) for t in rows]


@pytest.mark.parametrize("url", POSTS)
@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_post_without_a_valid_token_is_400_and_changes_nothing(
    app, client, logged_in, url, token
):
    before = snapshot(app)
    data = {"title": "changed", "username": "alice", "password": "x", "confirm": "x"}
    if token:
        data["csrf_token"] = token
    response = client.post(url.format(**logged_in), data=data)
    assert response.status_code == 400
    assert "expired or did not come from this site" in response.get_data(as_text=True)
    assert snapshot(app) == before
    assert client.get("/todos").status_code == 200  # still logged in


def test_a_token_from_another_session_is_refused(app, client, logged_in):
    other = app.test_client()
    foreign_token = other.csrf_token()
    response = client.post("/todos", data={"title": "x", "csrf_token": foreign_token})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Todo)) == 1  # live only


def test_the_page_token_works(client, logged_in):
    assert client.submit("/todos", {"title": "with token"}).status_code == 302
