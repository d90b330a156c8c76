"""What a real gunicorn server, started with the project's own settings
(todoapp/gunicorn_conf.py, as `make serve` starts it), does with requests
that are too large or name another host. On 127.0.0.1 only."""

import http.client
import re
import urllib.parse

import pytest
from sqlalchemy import func, select

from todoapp.extensions import db
from todoapp.models import Todo

from .conftest import PASSWORD, dispose, make_app
from .live import Browser, gunicorn

LIMIT = 64 * 1024  # MAX_CONTENT_LENGTH


@pytest.fixture(scope="module")
def server(tmp_path_factory, databases):
    url = databases.migrated()
    app = make_app(url)
    with app.app_context():
        from todoapp.services import users

        users.create_user("chunky", PASSWORD)
    dispose(app)
    with gunicorn(url, tmp_path_factory.mktemp("limits")) as running:
        running.database_url = url
        yield running
    databases.drop(url)


@pytest.fixture(scope="module")
def browser(server):
    browser = Browser(server.url)
    browser.submit("/auth/login", {"username": "chunky", "password": PASSWORD})
    browser.request("/todos")  # a token of the logged-in session
    return browser


def titles(server):
    app = make_app(server.database_url)
    with app.app_context():
        found = db.session.scalars(select(Todo.title)).all()
        longest = db.session.scalar(select(func.max(func.length(Todo.title))))
    dispose(app)
    return found, longest


def connection(server):
    host, port = urllib.parse.urlsplit(server.url).netloc.split(":")
    return http.client.HTTPConnection(host, int(port), timeout=20)


def send_chunked(server, browser, path, body: bytes, chunk=8192):
    """POST ``body`` with Transfer-Encoding: chunked and no Content-Length.
    The server may answer and close before the whole body is sent."""
    conn = connection(server)
    conn.putrequest("POST", path)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.putheader("Content-Type", "application/x-www-form-urlencoded")
    conn.putheader("Cookie", "; ".join(f"{c.name}={c.value}" for c in browser.cookies))
    for name, value in browser.opener.addheaders:  # the same client as at login
        conn.putheader(name, value)
    conn.endheaders()
    try:
        for start in range(0, len(body), chunk):
            part = body[start : start + chunk]
            conn.send(b"%x\r\n%s\r\n" % (len(part), part))
        conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused early: the answer is already on its way
    response = conn.getresponse()
    result = response.status, dict(response.getheaders()), response.read().decode()
    conn.close()
    return result


def form(browser, title: str) -> bytes:
    return urllib.parse.urlencode({"csrf_token": browser.token, "title": title}).encode()


def test_a_chunked_body_within_the_limit_is_taken_whole(server, browser):
    status, headers, page = send_chunked(
        server, browser, "/todos", form(browser, "chunked but fine")
    )
    assert status == 302, re.findall(r"<main.*?</main>", page, re.S)
    assert "chunked but fine" in titles(server)[0]


@pytest.mark.parametrize("size", [65_562, 10 * 1024 * 1024])
def test_a_chunked_body_past_the_limit_is_413_and_nothing_is_stored(server, browser, size):
    body = form(browser, "x" * 150)
    body += b"&pad=" + b"y" * (size - len(body) - 5)
    assert len(body) == size > LIMIT
    before = titles(server)
    status, headers, page = send_chunked(server, browser, "/todos", body)
    assert status == 413
    assert "That was too much data to accept in one request." in page  # the app's own page
    assert "Content-Security-Policy" in headers
    assert titles(server) == before


def test_a_host_that_is_not_trusted_gets_400_and_no_redirect_to_it(server):
    conn = connection(server)
    conn.request("GET", "/todos/1//edit", headers={"Host": "evil.example"})
    response = conn.getresponse()
    assert response.status == 400
    assert response.getheader("Location") is None
    assert response.getheader("Content-Security-Policy")
    response.read()
    conn.request("GET", "/todos/1//edit")  # its own address: the usual redirect
    response = conn.getresponse()
    assert response.status == 308
    assert response.getheader("Location").startswith(server.url)
    conn.close()


def test_gunicorn_refuses_a_huge_request_line_and_too_many_headers(server):
    conn = connection(server)
    conn.request("GET", "/todos?q=" + "a" * 5000)
    assert conn.getresponse().status == 414  # limit_request_line
    conn.close()
    conn = connection(server)
    conn.request("GET", "/healthz", headers={f"X-Filler-{n}": "1" for n in range(60)})
    assert conn.getresponse().status == 431  # limit_request_fields
    conn.close()
