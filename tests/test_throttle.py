"""Throttling: logins per (username, address) pair and per address, with
growing delays; registrations per address. Shared through the database."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from todoapp.auth import devices
from todoapp.config import PASSWORD_HASH_METHOD
from todoapp.extensions import db
from todoapp.models import LoginThrottle, User, utcnow
from todoapp.services import throttle, users

from .conftest import PASSWORD, Auth, make_app
from .live import Browser, gunicorn

ATTACKER, OWNER = "10.0.0.9", "10.0.0.1"
WRONG = "wrong password"


class Clock:
    """The throttle's clock, moved on by hand."""

    def __init__(self):
        self.now = utcnow()

    def advance(self, seconds):
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def app(app):
    app.config["LOGIN_DELAY_SECONDS"] = 3600  # no test here waits for the real clock
    return app


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(throttle, "utcnow", lambda: clock.now)
    return clock


@pytest.fixture
def password_checks(monkeypatch):
    """How many times a password was checked against a hash."""
    calls = []
    check = users.check_password_hash

    def counted(*args):
        calls.append(args)
        return check(*args)

    monkeypatch.setattr(users, "check_password_hash", counted)
    return calls


def auth_from(app, address):
    """An Auth helper whose requests come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Auth(client)


def fail(auth, username="alice", times=1):
    for _ in range(times):
        assert auth.login(username, WRONG).status_code == 422


def count_users(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_guesses_from_one_address_do_not_lock_the_owner_out(app, make_user):
    make_user("root", admin=True)
    attacker = auth_from(app, ATTACKER)
    fail(attacker, "root", times=5)
    refused = attacker.login("root")  # even the right password waits here
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 15 * 60
    assert "Too many failed logins. Try again in 15 minutes." in refused.get_data(as_text=True)
    owner = auth_from(app, OWNER)
    assert owner.login("root").status_code == 302
    assert owner.client.get("/todos").status_code == 200


def test_past_the_free_failures_each_attempt_waits_twice_as_long(
    app, alice, clock, password_checks
):
    app.config["LOGIN_DELAY_SECONDS"] = 10
    attacker = auth_from(app, ATTACKER)
    fail(attacker, times=5)
    assert len(password_checks) == 5

    def refused(wait):
        response = attacker.login("alice", WRONG)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == str(wait)
        assert f"Try again in {wait} seconds." in response.get_data(as_text=True)

    refused(10)
    clock.advance(10)
    fail(attacker)  # the sixth
    refused(20)
    clock.advance(10)
    refused(10)  # a refused attempt counts for nothing: the wait runs from the sixth
    clock.advance(10)
    fail(attacker)  # the seventh
    refused(40)
    assert len(password_checks) == 7  # none for the refused ones


def test_a_success_forgets_the_pair(auth, alice):
    fail(auth, times=4)
    assert auth.login("alice").status_code == 302
    auth.logout()
    fail(auth, times=4)
    assert auth.login("alice").status_code == 302


def test_a_success_gives_the_address_its_attempt_back(app, alice):
    app.config["LOGIN_FAILURES_PER_IP"] = 3
    for _ in range(5):  # each from a new browser, so the address counts every time
        auth = auth_from(app, ATTACKER)
        assert auth.login("alice").status_code == 302
        auth.logout()
    fail(auth_from(app, ATTACKER), times=3)


def test_the_too_many_logins_page_says_what_to_do_and_offers_the_log_in_page(
    app, client, auth, alice
):
    fail(auth, times=5)
    refused = auth.login("alice")
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "<h1>Too many attempts" in page
    assert "Try again in" in page and "an administrator can give you a temporary one" in page
    assert "Go to your todos" not in page  # nobody is logged in
    assert '<a href="/auth/login">Go to the log-in page</a>' in page


def test_the_counts_end_with_their_window(app, auth, alice, clock):
    fail(auth, times=5)
    assert auth.login("alice").status_code == 429
    clock.advance(15 * 60)
    assert auth.login("alice").status_code == 302
    with app.app_context():  # the ended window's rows are gone, the new ones counted
        rows = db.session.execute(select(LoginThrottle.key, LoginThrottle.failures)).all()
    assert sorted(rows) == [("account:alice", 0), ("ip:127.0.0.1", 0)]


def test_spraying_one_password_over_many_usernames_is_stopped(app):
    limit = app.config["LOGIN_FAILURES_PER_IP"]
    attacker = auth_from(app, ATTACKER)
    statuses = [attacker.login(f"user{n:03}", "Summer2026!").status_code for n in range(60)]
    assert statuses == [422] * limit + [429] * (60 - limit)


def test_invalid_usernames_count_against_the_address(app, alice):
    app.config["LOGIN_FAILURES_PER_IP"] = 3
    attacker = auth_from(app, ATTACKER)
    for name in ("alice", "no such name!", "x"):
        fail(attacker, name)
    assert attacker.login("alice").status_code == 429
    assert auth_from(app, OWNER).login("alice").status_code == 302


# --- per account, and device cookies ----------------------------------------


def device_cookie(auth, username):
    """The device cookie ``auth``'s browser holds for ``username``, or None."""
    cookie = auth.client.get_cookie(devices.cookie_name(username), path="/auth/login")
    return cookie.value if cookie else None


def holding(app, address, username, value):
    """A new browser at ``address`` whose device cookie for ``username`` is ``value``."""
    auth = auth_from(app, address)
    auth.client.set_cookie(devices.cookie_name(username), value, path="/auth/login")
    return auth


def lock_the_account_for_unknown_devices(app, username):
    """Wrong guesses from as many addresses as the account's limit."""
    for n in range(app.config["LOGIN_FAILURES_PER_ACCOUNT"]):
        fail(auth_from(app, f"10.1.0.{n}"), username)


UNKNOWN_DEVICE_WAITS = (
    "Too many failed logins to this account from browsers it has not been used on."
)


def test_guesses_from_many_addresses_get_few_checks_and_the_owners_browser_still_gets_in(
    app, alice, password_checks
):
    limit = app.config["LOGIN_FAILURES_PER_ACCOUNT"]
    owner = auth_from(app, OWNER)
    assert owner.login("alice").status_code == 302  # this browser now has a device cookie
    owner.logout()
    checked_before = len(password_checks)
    statuses = Counter()
    for n in range(20):  # 20 addresses, 6 guesses each
        attacker = auth_from(app, f"10.1.0.{n}")
        for _ in range(6):
            statuses[attacker.login("alice", WRONG).status_code] += 1
    assert len(password_checks) - checked_before == limit
    assert statuses == {422: limit, 429: 120 - limit}

    newcomer = auth_from(app, OWNER)  # the owner's address, a browser new to the account
    refused = newcomer.login("alice")  # the right password waits too: no oracle
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 15 * 60
    page = refused.get_data(as_text=True)
    assert UNKNOWN_DEVICE_WAITS in page
    assert "log in from a browser you have used for this account before" in page
    assert owner.login("alice").status_code == 302
    assert owner.client.get("/todos").status_code == 200


def test_guesses_with_a_device_cookie_count_against_that_browser_alone(app, alice, password_checks):
    app.config["LOGIN_FAILURES_PER_ACCOUNT"] = 2  # fewer than the device's own
    stolen = auth_from(app, ATTACKER)
    assert stolen.login("alice").status_code == 302
    stolen.logout()
    checked_before = len(password_checks)
    fail(stolen, times=app.config["LOGIN_FAILURES_PER_DEVICE"])
    refused = stolen.login("alice", WRONG)
    assert refused.status_code == 429
    assert UNKNOWN_DEVICE_WAITS not in refused.get_data(as_text=True)
    assert len(password_checks) - checked_before == app.config["LOGIN_FAILURES_PER_DEVICE"]
    # None of it counted against the account: a browser new to it gets in.
    assert auth_from(app, OWNER).login("alice").status_code == 302


@pytest.mark.parametrize("cookie", ["another account's", "changed", "unsigned", "nonsense"])
def test_only_a_valid_device_cookie_for_this_account_gets_past_its_limit(app, alice, bob, cookie):
    issued = {}
    for name in ("alice", "bob"):
        browser = auth_from(app, OWNER)
        assert browser.login(name).status_code == 302
        issued[name] = device_cookie(browser, name)
    lock_the_account_for_unknown_devices(app, "alice")
    payload, signature = issued["alice"].rsplit(".", 1)
    value = {
        "another account's": issued["bob"],
        "changed": payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + signature,
        "unsigned": payload,
        "nonsense": "a.b.c",
    }[cookie]
    refused = holding(app, OWNER, "alice", value).login("alice")
    assert refused.status_code == 429
    assert UNKNOWN_DEVICE_WAITS in refused.get_data(as_text=True)
    assert holding(app, OWNER, "alice", issued["alice"]).login("alice").status_code == 302


def test_a_device_cookie_is_honoured_for_device_cookie_days(app, alice, monkeypatch):
    owner = auth_from(app, OWNER)
    assert owner.login("alice").status_code == 302
    issued = device_cookie(owner, "alice")
    lock_the_account_for_unknown_devices(app, "alice")
    days = app.config["DEVICE_COOKIE_DAYS"]
    signed_at = TimestampSigner("x").get_timestamp()
    for age, status in ((days - 1, 302), (days + 1, 429)):
        later = signed_at + age * 86_400
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _signer, t=later: t)
        assert holding(app, OWNER, "alice", issued).login("alice").status_code == status


def test_a_login_renews_the_device_cookie_sent_only_to_the_login_page(app, auth, alice):
    response = auth.login("alice")
    assert response.status_code == 302
    (set_cookie,) = [v for v in response.headers.getlist("Set-Cookie") if v.startswith("device_")]
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
    assert "Path=/auth/login" in set_cookie
    assert f"Max-Age={app.config['DEVICE_COOKIE_DAYS'] * 86_400}" in set_cookie
    first = device_cookie(auth, "alice")
    auth.logout()
    assert device_cookie(auth, "alice") == first  # a logout leaves it
    assert auth.login("alice").status_code == 302
    assert device_cookie(auth, "alice") not in (None, first)


def register(auth, username):
    form = {"username": username, "password": PASSWORD, "confirm": PASSWORD}
    response = auth.client.submit("/auth/register", form)
    if response.status_code == 302:
        auth.logout()
    return response


def test_registrations_are_limited_per_address(app, clock):
    limit, window = 5, 3600
    app.config.update(REGISTRATIONS_PER_IP=limit, REGISTRATION_WINDOW_SECONDS=window)
    visitor = auth_from(app, ATTACKER)
    for _ in range(limit + 1):  # forms that fail validation count for nothing
        form = {"username": "carol", "password": PASSWORD, "confirm": "other"}
        assert visitor.client.submit("/auth/register", form).status_code == 422
    for n in range(limit):
        assert register(visitor, f"new{n}").status_code == 302
    refused = register(visitor, "one.more")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= window
    assert "Too many attempts to create an account from your address." in refused.get_data(
        as_text=True
    )
    assert count_users(app) == limit

    assert register(auth_from(app, OWNER), "elsewhere").status_code == 302
    clock.advance(window)
    assert register(visitor, "one.more").status_code == 302


def test_past_its_registration_limit_an_address_learns_nothing_of_taken_names(app, alice):
    app.config["REGISTRATIONS_PER_IP"] = 2
    visitor = auth_from(app, ATTACKER)
    taken = register(visitor, "alice")  # within the limit: said, and counted
    assert taken.status_code == 422
    assert "That username is taken." in taken.get_data(as_text=True)
    assert register(visitor, "new0").status_code == 302
    for name in ("alice", "ALICE", "not.yet.taken"):
        refused = register(visitor, name)
        assert refused.status_code == 429
        page = refused.get_data(as_text=True)
        assert "Too many attempts to create an account from your address." in page
        assert "taken" not in page
    assert count_users(app) == 2


@pytest.fixture
def shared_database(database_url):
    app = make_app(database_url)
    with app.app_context():
        users.create_user("alice", PASSWORD)
        db.engine.dispose()
    return database_url


def test_the_limit_holds_across_two_server_processes(shared_database, tmp_path):
    env = {"LOGIN_DELAY_SECONDS": "3600"}
    with (
        gunicorn(shared_database, tmp_path, env=env) as first,
        gunicorn(shared_database, tmp_path, env=env) as second,
    ):
        wrong = {"username": "alice", "password": WRONG}
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


@pytest.fixture
def slow_hash_database(database_url):
    """alice's password hashed as a real server hashes it: a check takes long
    enough that parallel requests overlap."""
    app = make_app(database_url, PASSWORD_HASH_METHOD=PASSWORD_HASH_METHOD)
    with app.app_context():
        users.create_user("alice", PASSWORD)
        db.engine.dispose()
    return database_url


def test_parallel_guesses_do_not_get_past_the_limit(slow_hash_database, tmp_path):
    guesses, limit = 40, 5  # LOGIN_FAILURES_PER_USER's default
    env = {"LOGIN_DELAY_SECONDS": "3600"}
    with gunicorn(slow_hash_database, tmp_path, workers=4, env=env) as server:
        browsers = [Browser(server.url) for _ in range(guesses)]
        for browser in browsers:
            browser.request("/auth/login")  # each its own session and CSRF token
        start = threading.Barrier(guesses)

        def guess(browser):
            start.wait()
            status, _, _ = browser.submit("/auth/login", {"username": "alice", "password": WRONG})
            return status

        with ThreadPoolExecutor(guesses) as pool:
            statuses = list(pool.map(guess, browsers))
    # 422 is "Wrong username or password.": the password was checked.
    assert sorted(statuses) == [422] * limit + [429] * (guesses - limit)
