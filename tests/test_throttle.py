"""Login throttling: per username and per address, shared through the database."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from todoapp.extensions import db
from todoapp.models import LoginThrottle, utcnow

from .conftest import PASSWORD, make_app
from .live import Browser, gunicorn


def fail(auth, username="alice", times=1):
    for _ in range(times):
        assert auth.login(username, "wrong password").status_code == 422


def test_a_username_is_locked_after_five_failures_even_with_the_right_password(client, auth, alice):
    fail(auth, times=5)
    response = auth.login("alice")
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60
    page = response.get_data(as_text=True)
    assert "Too many failed logins. Try again in 15 minutes." in page
    assert client.get("/todos").status_code == 302  # not logged in


def test_other_usernames_are_not_affected(auth, alice, bob):
    fail(auth, "alice", times=5)
    assert auth.login("bob").status_code == 302


def test_the_lock_ends_with_its_window(app, auth, alice):
    fail(auth, times=5)
    with app.app_context():
        db.session.execute(
            update(LoginThrottle).values(window_start=utcnow() - timedelta(minutes=16))
        )
        db.session.commit()
    assert auth.login("alice").status_code == 302


def test_a_success_clears_the_count(auth, alice):
    fail(auth, times=4)
    assert auth.login("alice").status_code == 302
    auth.logout()
    fail(auth, times=4)
    assert auth.login("alice").status_code == 302


def test_one_address_trying_many_usernames_is_stopped(app, auth, alice):
    app.config["LOGIN_FAILURES_PER_IP"] = 3
    for name in ("alice", "bob", "carol"):
        fail(auth, name)
    assert auth.login("alice").status_code == 429


@pytest.fixture
def shared_database(database_url):
    app = make_app(database_url)
    with app.app_context():
        from todoapp.services import users

        users.create_user("alice", PASSWORD)
        db.engine.dispose()
    return database_url


def test_the_limit_holds_across_two_server_processes(shared_database, tmp_path):
    with (
        gunicorn(shared_database, tmp_path) as first,
        gunicorn(shared_database, tmp_path) as second,
    ):
        wrong = {"username": "alice", "password": "wrong password"}
        for server, times in ((first, 3), (second, 2)):
            browser = Browser(server.url)
            for _ in range(times):
                status, _, _ = browser.submit("/auth/login", wrong)
                assert status == 422
        # Five failures in all, split over two processes: both now refuse.
        for server in (first, second):
            right = {"username": "alice", "password": PASSWORD}
            status, headers, _ = Browser(server.url).submit("/auth/login", right)
            assert status == 429
            assert int(headers["Retry-After"]) > 0
