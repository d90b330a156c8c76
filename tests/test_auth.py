import re

import pytest
from sqlalchemy import func, select

from todoapp.extensions import db
from todoapp.models import User

from .conftest import PASSWORD


def count_users(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_register_logs_in_and_lands_on_the_list(client):
    response = client.submit(
        "/auth/register", {"username": "Carol", "password": PASSWORD, "confirm": PASSWORD}
    )
    assert response.status_code == 302 and response.location == "/todos"
    page = client.get("/todos").get_data(as_text=True)
    assert "Welcome, carol!" in page


@pytest.mark.parametrize(
    ("username", "password", "confirm", "focused"),
    [
        ("carol", "short", "short", "password"),
        ("carol", PASSWORD, "something else", "confirm"),
        ("bad name", PASSWORD, PASSWORD, "username"),
        ("", "", "", "username"),
    ],
)
def test_after_a_registration_error_the_focus_is_on_the_wrong_field(
    client, username, password, confirm, focused
):
    form = {"username": username, "password": password, "confirm": confirm}
    page = client.submit("/auth/register", form).get_data(as_text=True)
    autofocused = re.findall(r"<input[^>]*\bautofocus\b[^>]*>", page)
    assert len(autofocused) == 1 and f'name="{focused}"' in autofocused[0]


@pytest.mark.parametrize(
    ("username", "password", "confirm", "message"),
    [
        ("ab", PASSWORD, PASSWORD, "3 to 32 characters"),
        ("a" * 33, PASSWORD, PASSWORD, "3 to 32 characters"),
        ("bad name", PASSWORD, PASSWORD, "may only contain"),
        ("ünïcode", PASSWORD, PASSWORD, "may only contain"),
        ("ALICE", PASSWORD, PASSWORD, "That username is taken"),
        ("dave", "short", "short", "at least 8 characters"),
        ("dave", PASSWORD, PASSWORD + "x", "The two passwords differ"),
        ("", "", "", "Choose a username"),
    ],
)
def test_invalid_registration_is_shown_again_with_errors(
    app, client, alice, username, password, confirm, message
):
    before = count_users(app)
    response = client.submit(
        "/auth/register", {"username": username, "password": password, "confirm": confirm}
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count_users(app) == before


def test_login_is_case_insensitive_on_the_username(auth, alice):
    assert auth.login("Alice").status_code == 302


@pytest.mark.parametrize(
    ("username", "password"), [("alice", "wrong password"), ("nobody", PASSWORD)]
)
def test_failed_login_says_so_without_telling_which_part(client, auth, alice, username, password):
    response = auth.login(username, password)
    assert response.status_code == 422
    assert "Wrong username or password." in response.get_data(as_text=True)
    assert client.get("/todos").status_code == 302


@pytest.mark.parametrize(
    ("next_url", "landing"),
    [
        ("/trash?before=1", "/trash?before=1"),
        ("https://evil.example/", "/todos"),
        ("//evil.example/", "/todos"),
        ("/\\evil.example", "/todos"),
        ("javascript:alert(1)", "/todos"),
        ("", "/todos"),
    ],
)
def test_next_after_login_accepts_only_local_paths(client, alice, next_url, landing):
    response = client.submit(
        f"/auth/login?next={next_url}", {"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.location == landing


def test_login_starts_a_fresh_session(client, alice):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    client.submit("/auth/login", {"username": "alice", "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == str(alice)


def test_logout_ends_the_session(client, auth, alice):
    auth.login("alice")
    assert client.get("/todos").status_code == 200
    response = auth.logout()
    assert response.status_code == 302 and response.location == "/auth/login"
    assert client.get("/todos").status_code == 302
    with client.session_transaction() as session:
        assert "_user_id" not in session
