"""Headers, cookies, caching, key rotation, production switches and the last admin."""

import re
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner
from sqlalchemy import select

from todoapp import ROOT, create_app
from todoapp.config import ConfigError
from todoapp.extensions import db
from todoapp.models import User
from todoapp.static_files import file_hash

from .conftest import CSRF_INPUT, PASSWORD, dispose, make_app

CSP = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


@pytest.mark.parametrize("url", ["/auth/login", "/todos", "/no/such/page", "/static/app.css"])
def test_every_response_carries_the_security_headers(client, url):
    with client.get(url) as response:
        headers = response.headers
    assert headers["Content-Security-Policy"] == CSP
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # HTTPS is off in tests


def test_the_session_cookie_is_httponly_and_samesite(client):
    cookie = client.get("/auth/login").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


@pytest.fixture
def https_app(database_url):
    app = make_app(database_url, HTTPS=True, TRUSTED_HOSTS=["todo.example", "localhost"])
    yield app
    dispose(app)


def test_behind_https_cookies_are_secure_and_hsts_is_sent(https_app):
    client = https_app.test_client()
    response = client.get("/auth/login", base_url="https://todo.example")
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31556926")
    # a TLS-terminating proxy says so with X-Forwarded-Proto
    forwarded = client.get("/auth/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in forwarded.headers


def test_https_is_the_default_outside_debug_and_testing(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "k")
    monkeypatch.delenv("HTTPS", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = create_app(instance_path=str(tmp_path))
    assert app.config["HTTPS"] is True and app.config["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("HTTPS", "0")
    assert create_app(instance_path=str(tmp_path)).config["SESSION_COOKIE_SECURE"] is False


def test_production_refuses_debug_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "k")
    monkeypatch.setenv("TODOAPP_ENV", "production")
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(ConfigError, match="debug mode is on"):
        create_app(instance_path=str(tmp_path))


def test_rotated_keys_keep_people_logged_in(database_url, monkeypatch):
    path = database_url
    old = make_app(path, SECRET_KEY="old key")
    with old.app_context():
        from todoapp.services import users

        users.create_user("alice", PASSWORD)
    client = old.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post(
        "/auth/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token}
    )
    cookie = client.get_cookie("session").value

    monkeypatch.setenv("SECRET_KEY_FALLBACKS", "old key")
    rotated = make_app(path, SECRET_KEY="new key")
    monkeypatch.delenv("SECRET_KEY_FALLBACKS")
    without = make_app(path, SECRET_KEY="new key")
    for app, expected in [(rotated, 200), (without, 302)]:
        fresh = app.test_client()
        fresh.set_cookie("session", cookie)
        assert fresh.get("/todos").status_code == expected
    for app in (old, rotated, without):
        dispose(app)


def flipped(text: str, i: int) -> str:
    """``text`` with its character at ``i`` changed."""
    i %= len(text)
    return text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]


class TestSessionCookie:
    """The signed session cookie (Flask's): its signature and age are
    checked every time it is sent."""

    @pytest.fixture
    def clock(self, monkeypatch):
        """itsdangerous's clock, for signing and for a signature's age."""
        clock = SimpleNamespace(now=time.time())
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _signer: int(clock.now))
        return clock

    @pytest.fixture
    def cookie(self, client, auth, alice):
        auth.login("alice")
        return client.get_cookie("session").value

    @staticmethod
    def sent(app, cookie, path="/todos"):
        """A request from another client that holds ``cookie``."""
        other = app.test_client()
        other.set_cookie("session", cookie)
        return other.get(path)

    def test_any_changed_byte_is_refused(self, app, cookie):
        assert self.sent(app, cookie).status_code == 200
        payload, stamp, signature = cookie.rsplit(".", 2)
        forged = [  # one character changed in each part
            f"{payload}.{stamp}.{flipped(signature, 0)}",
            f"{flipped(payload, -1)}.{stamp}.{signature}",
            f"{payload}.{flipped(stamp, -1)}.{signature}",
        ]
        for changed in forged:
            response = self.sent(app, changed)
            assert response.status_code == 302
            assert response.headers["Location"].startswith("/auth/login")
        assert self.sent(app, cookie).status_code == 200

    def test_a_cookie_expires_after_the_session_lifetime(self, app, clock, cookie):
        app.permanent_session_lifetime = timedelta(hours=1)
        assert self.sent(app, cookie).status_code == 200
        clock.now += 3600
        assert self.sent(app, cookie).status_code == 200  # an hour old: still good
        clock.now += 1
        assert self.sent(app, cookie).status_code == 302
        clock.now -= 2 * 3600  # signed "in the future": refused as itsdangerous does
        assert self.sent(app, cookie).status_code == 302

    def test_a_new_secret_key_refuses_the_old_cookies(self, app, cookie):
        assert self.sent(app, cookie).status_code == 200
        app.secret_key = "a new key, no fallback"
        assert self.sent(app, cookie).status_code == 302

    def test_each_request_gets_its_own_session(self, app, client, cookie, make_todo, alice):
        """A cookie holding a flash shows it on every request that sends it,
        and only it: one request taking the flash out of its session, or
        adding one to the flashes' list, leaves the next one's alone, as
        when each cookie was decoded from scratch."""
        first, second = make_todo(alice, "flash me"), make_todo(alice, "and me")
        client.submit(f"/todos/{first}/delete")
        with_flash = client.get_cookie("session").value
        for _ in range(2):
            page = self.sent(app, with_flash).get_data(as_text=True)
            assert "flash me" in page and "to the trash." in page
        other = app.test_client()
        other.set_cookie("session", with_flash)
        token = CSRF_INPUT.search(self.sent(app, with_flash, "/trash").get_data(True))
        assert (
            other.post(f"/todos/{second}/delete", data={"csrf_token": token.group(1)}).status_code
            == 302
        )  # a second flash, added to the first's list
        page = self.sent(app, with_flash).get_data(as_text=True)
        assert page.count("to the trash.") == 1 and "and me" not in page


class TestLastAdmin:
    def admins(self, app):
        with app.app_context():
            return sorted(db.session.scalars(select(User.username).where(User.is_admin)))

    def test_the_last_admin_cannot_be_revoked(self, app, runner, admin):
        result = runner.invoke(args=["users", "revoke-admin", "root"])
        assert result.exit_code == 1
        assert "last administrator" in result.output
        assert self.admins(app) == ["root"]

    def test_with_two_admins_one_can_go(self, app, runner, admin, alice):
        assert runner.invoke(args=["users", "grant-admin", "alice"]).exit_code == 0
        result = runner.invoke(args=["users", "revoke-admin", "root"])
        assert result.exit_code == 0 and "no longer an administrator" in result.output
        assert self.admins(app) == ["alice"]
        assert runner.invoke(args=["users", "revoke-admin", "alice"]).exit_code == 1
        assert self.admins(app) == ["alice"]

    def test_unknown_user(self, runner, admin):
        result = runner.invoke(args=["users", "grant-admin", "nobody"])
        assert result.exit_code == 1 and "no user named 'nobody'" in result.output


def test_passwords_are_stored_as_scrypt_hashes(app, alice):
    with app.app_context():
        stored = db.session.scalar(select(User.password_hash).where(User.id == alice))
    assert stored.startswith("scrypt:") and PASSWORD not in stored


def test_production_hashes_with_owasp_strength_scrypt_in_8_mib(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "k")
    method = create_app(instance_path=str(tmp_path)).config["PASSWORD_HASH_METHOD"]
    _, n, r, p = method.split(":")
    assert method.startswith("scrypt:") and (int(n), int(r), int(p)) == (2**13, 8, 10)


def test_a_hash_with_old_parameters_is_redone_at_login(app, client, auth):
    from werkzeug.security import generate_password_hash

    from todoapp.services import users

    with app.app_context():
        user = users.create_user("carol", PASSWORD)
        user.password_hash = generate_password_hash(PASSWORD, method="scrypt:2048:8:1")
        db.session.commit()
    assert auth.login("carol", PASSWORD).status_code == 302
    with app.app_context():
        stored = db.session.scalar(select(User.password_hash).where(User.username == "carol"))
    assert stored.startswith(app.config["PASSWORD_HASH_METHOD"] + "$")
    auth.logout()
    assert auth.login("carol", PASSWORD).status_code == 302


def test_a_redone_hash_never_overwrites_a_password_changed_meanwhile(app, auth, monkeypatch):
    """The old hash is redone outside any transaction: a password set while
    it is being made (here, by someone else's request) is the one kept."""
    from werkzeug.security import generate_password_hash

    from todoapp.services import users

    with app.app_context():
        user = users.create_user("carol", PASSWORD)
        user.password_hash = generate_password_hash(PASSWORD, method="scrypt:2048:8:1")
        db.session.commit()
    changed_meanwhile = generate_password_hash(
        "set by the admin meanwhile", method="scrypt:2048:8:1"
    )
    hash_password = users._hash_password

    def slow_hash(password):
        with db.engine.begin() as other:  # another request, while this hash is made
            other.execute(
                sa.update(User)
                .where(User.username == "carol")
                .values(password_hash=changed_meanwhile)
            )
        return hash_password(password)

    monkeypatch.setattr(users, "_hash_password", slow_hash)
    assert auth.login("carol", PASSWORD).status_code == 302
    with app.app_context():
        stored = db.session.scalar(select(User.password_hash).where(User.username == "carol"))
    assert stored == changed_meanwhile


def test_an_unknown_username_costs_a_password_check_too(app, alice, monkeypatch):
    """Not a timing test: it shows that both paths do the same expensive work,
    one scrypt check with the configured method."""
    from todoapp.services import users

    checked = []
    real_check = users.check_password_hash

    def spy(pwhash, password):
        checked.append(pwhash.split("$", 1)[0])
        return real_check(pwhash, password)

    monkeypatch.setattr(users, "check_password_hash", spy)
    with app.app_context():
        assert users.authenticate("alice", "wrong password") is None
        assert users.authenticate("nobody", "wrong password") is None
    method = app.config["PASSWORD_HASH_METHOD"]
    assert checked == [method, method]


def test_a_host_that_is_not_trusted_is_refused_before_routing(client, caplog):
    # /todos/1//edit would be a 308 to the same path on the Host it was asked for.
    response = client.get("/todos/1//edit", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Security-Policy"] == CSP
    assert "not in TRUSTED_HOSTS" in caplog.text and "evil.example" in caplog.text
    assert client.get("/todos/1//edit").status_code == 308  # localhost: trusted by default


@pytest.mark.parametrize(
    ("value", "trusted", "refused"),
    [
        ("todo.example.com", ["todo.example.com"], ["localhost", "example.com"]),
        (".example.com", ["a.example.com", "example.com"], ["badexample.com"]),
        ("*", ["anything.example"], []),
    ],
)
def test_trusted_hosts_come_from_the_environment(
    database_url, monkeypatch, value, trusted, refused
):
    monkeypatch.setenv("TRUSTED_HOSTS", value)
    app = make_app(database_url)
    client = app.test_client()
    for host in trusted:
        assert client.get("/auth/login", headers={"Host": host}).status_code == 200, host
    for host in refused:
        assert client.get("/auth/login", headers={"Host": host}).status_code == 400, host
    dispose(app)


@pytest.mark.parametrize("value", ["https://todo.example.com", "todo.example.com:8000"])
def test_a_trusted_host_with_a_scheme_or_port_is_refused_at_start(tmp_path, monkeypatch, value):
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("TRUSTED_HOSTS", value)
    with pytest.raises(ConfigError, match="TRUSTED_HOSTS takes host names"):
        create_app(instance_path=str(tmp_path))


STATIC_URL = re.compile(r'"(/static/([^"?]+)\?v=([0-9a-f]+))"')
IMMUTABLE = "public, max-age=31536000, immutable"


def cache_control(client, url, status=200):
    with client.get(url) as response:
        assert response.status_code == status, url
        return response.headers.get("Cache-Control", "")


@pytest.mark.parametrize("url", ["/auth/login", "/auth/register"])
def test_the_login_and_register_pages_are_never_stored(client, url):
    assert cache_control(client, url) == "no-store"


def test_a_refused_login_is_never_stored(client, auth, alice):
    with auth.login("alice", "wrong password") as response:
        assert response.status_code == 422
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("url", "status"), [("/todos", 200), ("/trash", 200), ("/auth/login", 302), ("/nowhere", 404)]
)
def test_every_response_to_a_logged_in_user_is_never_stored(client, auth, alice, url, status):
    auth.login("alice")
    assert cache_control(client, url, status) == "no-store"


def test_an_anonymous_page_other_than_login_and_register_may_be_stored(client):
    assert "no-store" not in cache_control(client, "/nowhere", 404)


def test_static_urls_name_their_content_and_are_cached_for_good(client, auth, alice):
    auth.login("alice")
    found = STATIC_URL.findall(client.get("/todos").get_data(as_text=True))
    assert {name for _, name, _ in found} >= {"app.css", "app.js", "favicon.svg"}
    for url, name, version in found:
        assert version == file_hash(ROOT / "static" / name)
        # Logged in or not, a static file is cached, never no-store.
        assert cache_control(client, url) == IMMUTABLE


@pytest.mark.parametrize("query", ["", "?v=", "?v=000000000000"])
def test_a_static_url_without_its_current_hash_is_revalidated(client, query):
    control = cache_control(client, f"/static/app.css{query}")
    assert "immutable" not in control and "max-age" not in control
    assert "no-store" not in control


def test_the_hash_follows_the_content(tmp_path):
    path = tmp_path / "app.css"
    path.write_text("body { color: black; }")
    first = file_hash(path)
    assert file_hash(path) == first and re.fullmatch(r"[0-9a-f]{12}", first)
    path.write_text("body { color: navy; }")
    assert file_hash(path) != first
