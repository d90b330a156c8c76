"""Password rules (ASVS 6.2.4, 6.2.11): length, common passwords, the
username, and zxcvbn's strength score, wherever a password is chosen."""

import pytest
from sqlalchemy import func, select

from todoapp.extensions import db
from todoapp.models import User
from todoapp.services import users
from todoapp.services.passwords import PASSWORD_MAX, check_password_rules

from .conftest import PASSWORD

COMMON = "one of the most common ones"
HAS_USERNAME = "contain your username"
GUESSABLE = "Repeats like"  # zxcvbn's own warning, as the reason

# (username, password, what the refusal says)
REFUSED = [
    ("dave", "password", COMMON),
    ("dave", "12345678", COMMON),
    ("dave", "Password1", COMMON),
    ("dave", "PASSWORD", COMMON),
    ("dave", " " * 8, GUESSABLE),
    ("dave", "aaaaaaaaaaaa", GUESSABLE),
    ("alice", "alice-alice1", HAS_USERNAME),
    ("alice", "staple ALICE horse", HAS_USERNAME),
]
ACCEPTED = [
    "correct horse battery staple",
    PASSWORD,  # the suite's own, used by every fixture
    ("correct horse battery staple " * 40)[:PASSWORD_MAX],  # only the start is scored
]


def count_users(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def register(client, username, password):
    return client.submit(
        "/auth/register", {"username": username, "password": password, "confirm": password}
    )


@pytest.mark.parametrize(("username", "password", "message"), REFUSED)
def test_the_register_page_refuses_a_weak_password(app, client, username, password, message):
    response = register(client, username, password)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count_users(app) == 0


@pytest.mark.parametrize(("username", "password", "message"), REFUSED)
def test_create_user_refuses_a_weak_password(app, username, password, message):
    with app.app_context(), pytest.raises(ValueError, match=message):
        users.create_user(username, password)
    assert count_users(app) == 0


@pytest.mark.parametrize("password", ACCEPTED)
def test_a_strong_password_is_accepted(app, client, password):
    response = register(client, "dave", password)
    assert response.status_code == 302 and response.location == "/todos"
    with app.app_context():
        users.create_user("erin", password)
    assert count_users(app) == 2


def test_a_refused_username_still_gets_its_password_checked(app, client):
    page = register(client, "a b", "password").get_data(as_text=True)
    assert "may only contain" in page and COMMON in page
    assert count_users(app) == 0


def test_the_username_rule_is_case_insensitive_and_optional():
    with pytest.raises(ValueError, match=HAS_USERNAME):
        check_password_rules("my name is Grace Hopper", username="GRACE")
    check_password_rules("my name is Grace Hopper")


def test_the_rules_are_shown_next_to_the_field(client):
    page = client.get("/auth/register").get_data(as_text=True)
    assert 'aria-describedby="password-hint"' in page
    assert (
        '<p class="hint" id="password-hint">At least 8 characters, not a common password, '
        "and not containing your username.</p>"
    ) in page
