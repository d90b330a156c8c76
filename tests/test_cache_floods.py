"""What a worker keeps between requests stays bounded, whatever clients
send: each cache is flooded with distinct keys through a real gunicorn
(todoapp/gunicorn_conf.py, one worker) on 127.0.0.1, and the worker's
resident memory is read before and after. Each flood is a fixed number of
requests, each with a timeout."""

import http.client
import re
import secrets
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from todoapp.extensions import db
from todoapp.models import Todo
from todoapp.rows import TIME_TAGS_KEPT
from todoapp.services import lists, users
from todoapp.static_files import file_hash

from .conftest import PASSWORD, dispose, make_app
from .live import USER_AGENT, Browser, gunicorn

# A flood may leave the worker this much larger: allocator slack, not a cache.
GROWTH_MB = 3
PER_PAGE = 500  # the most a page may show (TODOS_PER_PAGE): many moments a request
MOMENTS = 24_000  # distinct <time> tags, past the cache's bound several times
STATIC = Path(__file__).resolve().parent.parent / "static"


@pytest.fixture(scope="module")
def server(tmp_path_factory, databases):
    url = databases.migrated()
    app = make_app(url)
    with app.app_context():
        owner = users.create_user("flood", PASSWORD).id
        start = datetime(2026, 1, 1, tzinfo=UTC)
        inbox = lists.inbox(owner)
        db.session.execute(
            insert(Todo),
            [
                {
                    "user_id": owner,
                    "list_id": inbox,
                    "title": f"todo {n}",
                    "created_at": start + timedelta(seconds=n),
                    "updated_at": start + timedelta(seconds=n),
                }
                for n in range(MOMENTS)
            ],
        )
        db.session.commit()
    dispose(app)
    env = {"TODOS_PER_PAGE": str(PER_PAGE)}
    with gunicorn(url, tmp_path_factory.mktemp("floods"), env=env) as running:
        yield running
    databases.drop(url)


def worker_rss_mb(server) -> float:
    """The resident memory of the server's one worker, in MB."""
    master = server.process.pid
    (worker,) = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    status = Path(f"/proc/{worker}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def connection(server):
    host, port = urllib.parse.urlsplit(server.url).netloc.split(":")
    return http.client.HTTPConnection(host, int(port), timeout=20)


def get(conn, path, headers=None):
    conn.request("GET", path, headers={"User-Agent": USER_AGENT, **(headers or {})})
    response = conn.getresponse()
    return response.status, response.getheader("Set-Cookie"), response.read()


def flood(server, send, count: int) -> float:
    """Warm up with ``send(n)`` a few hundred times, then send ``count``
    more: how many MB the worker grew by over those."""
    for n in range(300):
        send(n)
    before = worker_rss_mb(server)
    for n in range(count):
        send(300 + n)
    return worker_rss_mb(server) - before


def logged_in(server) -> Browser:
    browser = Browser(server.url)
    assert browser.submit("/auth/login", {"username": "flood", "password": PASSWORD})[0] == 302
    return browser


def test_anonymous_redirects_with_their_cookie_fed_back(server):
    """Each redirect to the login page adds a flash to the visitor's
    session; a client that sends that cookie back every time holds a
    session that grows with each request."""
    conn, cookie = connection(server), [None]

    def send(_n):
        status, set_cookie, _ = get(conn, "/todos", {"Cookie": cookie[0]} if cookie[0] else {})
        assert status == 302
        cookie[0] = set_cookie.split(";", 1)[0]

    assert flood(server, send, 1000) < GROWTH_MB
    conn.close()


def test_new_anonymous_sessions_each_with_a_form(server):
    """Each new visitor's login form gets a CSRF token of its own (kept a minute)."""
    conn = connection(server)

    def send(_n):
        status, _, page = get(conn, "/auth/login")
        assert status == 200 and b'name="csrf_token"' in page

    assert flood(server, send, 2000) < GROWTH_MB
    conn.close()


def test_static_paths_spelt_every_way(server):
    """/static/<random>/../app.css names app.css: one fingerprint, however spelt."""
    conn, version = connection(server), file_hash(STATIC / "app.css")

    def send(_n):
        status, _, _ = get(conn, f"/static/{secrets.token_hex(8)}/../app.css?v={version}")
        assert status == 200

    assert flood(server, send, 3000) < GROWTH_MB
    conn.close()


def test_script_name_headers_are_not_taken_from_clients(server):
    """A SCRIPT_NAME header would mount the app at a path of the client's
    choosing; gunicorn is told to take it from nobody."""
    browser = logged_in(server)
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    conn = connection(server)

    def send(_n):
        headers = {"Cookie": cookie, "SCRIPT_NAME": f"/{secrets.token_hex(8)}"}
        status, _, page = get(conn, "/lists", headers)
        assert status == 200 and b'<a href="/lists" aria-current="page">Lists</a>' in page

    assert flood(server, send, 1000) < GROWTH_MB
    conn.close()


def test_pages_of_distinct_moments(server):
    """Every row's <time> tag is kept by its moment; paging through tens of
    thousands of todos, each with a moment of its own, keeps a bounded number."""
    browser = logged_in(server)
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    conn, cursor, seen = connection(server), [None], set()

    def send(_n):
        seen.add(cursor[0])
        path = "/todos" if cursor[0] is None else f"/todos?before={cursor[0]}"
        status, _, page = get(conn, path, {"Cookie": cookie})
        assert status == 200 and page.count(b'<li class="todo') == PER_PAGE
        older = re.search(rb'rel="next" href="/todos\?before=(\d+)"', page)
        cursor[0] = older.group(1).decode() if older else None

    # The first pages fill the cache; every page after them brings moments it never held.
    filled = 2 * TIME_TAGS_KEPT // PER_PAGE
    for n in range(filled):
        send(n)
    before = worker_rss_mb(server)
    for n in range(filled, MOMENTS // PER_PAGE):
        send(n)
    assert worker_rss_mb(server) - before < GROWTH_MB
    assert len(seen) == MOMENTS // PER_PAGE  # every page, each once
    conn.close()
