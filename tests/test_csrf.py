"""CSRF stays on in the tests: every state change needs the form's token."""

import time
from types import SimpleNamespace

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from todoapp import web
from todoapp.extensions import db
from todoapp.models import Todo
from todoapp.services import users

from .conftest import CSRF_INPUT, PASSWORD, Auth, Client, dispose, make_app

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


@pytest.fixture
def clock(monkeypatch):
    """One clock for signing and checking tokens (itsdangerous) and for how
    long the app keeps a signed token (todoapp.web); ``clock.now += s``."""
    clock = SimpleNamespace(now=time.time())
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _signer: int(clock.now))
    monkeypatch.setattr(web, "time", SimpleNamespace(monotonic=lambda: clock.now))
    return clock


def page_token(client, path="/todos"):
    return CSRF_INPUT.search(client.get(path).get_data(as_text=True)).group(1)


def test_a_session_shows_one_signed_token_for_a_minute_and_each_one_works(
    app, client, logged_in, clock
):
    first = page_token(client)
    clock.now += 30
    assert page_token(client, "/trash") == first  # written again, not signed again
    clock.now += 31
    second = page_token(client)
    assert second != first
    clock.now += 30
    assert page_token(client) == second
    for token in (first, second):  # 91 and 30 seconds old: both well inside the hour
        response = client.post("/todos", data={"title": f"with {token[-6:]}", "csrf_token": token})
        assert response.status_code == 302
    clock.now += 3600 - 91 + 1  # the first token is now past the hour
    response = client.post("/todos", data={"title": "too late", "csrf_token": first})
    assert response.status_code == 400


def test_a_kept_token_is_never_another_sessions(app, client, auth, logged_in, bob, clock):
    alices = page_token(client)
    other = app.test_client(use_cookies=True)
    Auth(other).login("bob")
    bobs = page_token(other)
    assert bobs != alices
    response = other.post("/todos", data={"title": "x", "csrf_token": alices})
    assert response.status_code == 400

    auth.logout()
    auth.login("alice")  # a new session, a new raw token
    assert page_token(client) != alices


def test_a_short_token_lifetime_keeps_a_token_a_sixtieth_of_it(database_url, clock):
    app = make_app(database_url, WTF_CSRF_TIME_LIMIT=120)  # kept for 2 seconds
    try:
        with app.app_context():
            users.create_user("carol", PASSWORD)
        app.test_client_class = Client
        client = app.test_client()
        Auth(client).login("carol")
        first = page_token(client)
        clock.now += 1.5
        assert page_token(client) == first
        clock.now += 1
        assert page_token(client) != first
    finally:
        dispose(app)


def test_a_form_page_shows_its_forms_token_and_it_works(client, logged_in, clock):
    """A view that makes its form before the page (here the edit form) has
    Flask-WTF sign its token, as before; that token works like a kept one."""
    kept = page_token(client)
    clock.now += 5
    edit = f"/todos/{logged_in['live']}/edit"
    token = page_token(client, edit)
    assert token != kept and page_token(client) == kept
    response = client.post(edit, data={"title": "renamed", "csrf_token": token})
    assert response.status_code == 302
