"""Load and crash tests against real gunicorn servers on 127.0.0.1, on
whichever database the suite runs on. Bounded in requests and time."""

import http.client
import random
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select, text

from todoapp.config import PASSWORD_HASH_METHOD
from todoapp.extensions import db
from todoapp.models import Todo, User
from todoapp.services import users

from .conftest import BACKEND, PASSWORD, dispose, make_app
from .live import Browser, gunicorn

LIST_ITEM = re.compile(
    r'action="/todos/(\d+)/toggle".*?<span class="title"[^>]*>([^<]*)</span>', re.DOTALL
)
TRASH_ITEM = re.compile(
    r'<span class="title"[^>]*>([^<]*)</span>.*?action="/trash/(\d+)/restore"', re.DOTALL
)
CLIENTS, USERS, REQUESTS_PER_CLIENT = 16, 8, 125


def seed_users(database_url, count):
    app = make_app(database_url)
    with app.app_context():
        names = [users.create_user(f"user{n}", PASSWORD).username for n in range(count)]
    dispose(app)
    return names


def database_state(database_url):
    app = make_app(database_url)
    with app.app_context():
        rows = db.session.execute(
            select(Todo.title, Todo.done, Todo.deleted_at.is_not(None)).execution_options(
                include_trashed=True
            )
        ).all()
    dispose(app)
    return {title: (bool(done), bool(trashed)) for title, done, trashed in rows}


class LoadClient:
    """One person clicking around, on todos only they touch, keeping a model of
    what every acknowledged request did."""

    def __init__(self, number, username, base_url):
        self.prefix = f"c{number}-"
        self.username = username
        self.browser = Browser(base_url)
        self.random = random.Random(number)
        self.model = {}  # title -> {"done": bool, "trashed": bool}
        self.ids = {}  # title -> id, learned from the pages
        self.statuses = Counter()
        self.created = 0

    def mine(self, title):
        return title.startswith(self.prefix)

    def call(self, path, data=None, expect=None):
        status, _, page = (
            self.browser.request(path) if data is None else self.browser.submit(path, data)
        )
        self.statuses[status] += 1
        return status, page

    def candidates(self, trashed):
        return [t for t, s in self.model.items() if s["trashed"] == trashed and t in self.ids]

    def run(self, requests):
        status, _ = self.call("/auth/login", {"username": self.username, "password": PASSWORD})
        assert status == 302
        for _ in range(requests - 1):
            op = self.random.choices(
                ["create", "list", "trash", "toggle", "delete", "restore"],
                weights=[30, 15, 10, 20, 15, 10],
            )[0]
            live, trashed = self.candidates(False), self.candidates(True)
            if op in ("toggle", "delete") and not live or op == "restore" and not trashed:
                op = "create"
            if op == "create":
                title = f"{self.prefix}{self.created}"
                self.created += 1
                if self.call("/todos", {"title": title})[0] == 302:
                    self.model[title] = {"done": False, "trashed": False}
            elif op == "list":
                status, page = self.call("/todos")
                self.ids.update((t, int(i)) for i, t in LIST_ITEM.findall(page) if self.mine(t))
            elif op == "trash":
                status, page = self.call("/trash")
                self.ids.update((t, int(i)) for t, i in TRASH_ITEM.findall(page) if self.mine(t))
            else:
                title = self.random.choice(trashed if op == "restore" else live)
                path = {
                    "toggle": "/todos/{}/toggle",
                    "delete": "/todos/{}/delete",
                    "restore": "/trash/{}/restore",
                }[op].format(self.ids[title])
                if self.call(path, {"next": "/todos"})[0] == 302:
                    if op == "toggle":
                        self.model[title]["done"] = not self.model[title]["done"]
                    else:
                        self.model[title]["trashed"] = op == "delete"


def test_mixed_load_loses_nothing_and_never_fails(database_url, tmp_path):
    names = seed_users(database_url, USERS)
    clients = []
    with gunicorn(database_url, tmp_path, workers=4) as server:
        clients = [LoadClient(n, names[n % USERS], server.url) for n in range(CLIENTS)]
        errors = []

        def work(client):
            try:
                client.run(REQUESTS_PER_CLIENT)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(f"{client.prefix}: {exc!r}")

        threads = [threading.Thread(target=work, args=(c,)) for c in clients]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        elapsed = time.monotonic() - started
    statuses = sum((c.statuses for c in clients), Counter())
    total = sum(statuses.values())
    print(f"\n{total} requests in {elapsed:.1f}s on {BACKEND}: {dict(statuses)}")
    assert errors == []
    assert total == CLIENTS * REQUESTS_PER_CLIENT
    assert not [s for s in statuses if s >= 500]
    # Each client owns its todos, so every request should have worked.
    assert set(statuses) <= {200, 302}
    expected = {}
    for client in clients:
        expected.update({t: (s["done"], s["trashed"]) for t, s in client.model.items()})
    assert database_state(database_url) == expected
    assert len(expected) > 300


def test_a_crash_mid_write_loses_no_acknowledged_todo(database_url, tmp_path):
    seed_users(database_url, 1)
    acknowledged = []
    stop = threading.Event()

    def writer(number, base_url):
        browser = Browser(base_url)
        browser.submit("/auth/login", {"username": "user0", "password": PASSWORD})
        for n in range(2000):
            if stop.is_set():
                return
            title = f"w{number}-{n}"
            try:
                status, _, _ = browser.submit("/todos", {"title": title})
            except (OSError, http.client.HTTPException):
                return  # the server died mid-request: outcome unknown, not acknowledged
            if status == 302:
                acknowledged.append(title)

    with gunicorn(database_url, tmp_path, workers=2) as server:
        threads = [threading.Thread(target=writer, args=(n, server.url)) for n in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 150 and time.monotonic() < deadline:
            time.sleep(0.02)
        server.kill()  # SIGKILL, in the middle of the writes
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert len(acknowledged) >= 150

    with gunicorn(database_url, tmp_path, workers=2) as server:
        status, _, body = Browser(server.url).request("/healthz")
        assert status == 200, body
        browser = Browser(server.url)
        browser.submit("/auth/login", {"username": "user0", "password": PASSWORD})
        assert browser.submit("/todos", {"title": "after the crash"})[0] == 302

    app = make_app(database_url)
    with app.app_context():
        if BACKEND == "sqlite":
            assert db.session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        stored = set(db.session.scalars(select(Todo.title)))
        assert db.session.scalar(select(User.username)) == "user0"
    dispose(app)
    missing = [t for t in acknowledged if t not in stored]
    assert missing == []
    assert "after the crash" in stored


FIRST_LOGINS, FIRST_LOGIN_WORKERS = 16, 8
# The production method with four times the work: one hash takes as long as
# on a loaded machine.
SLOW_HASH_METHOD = PASSWORD_HASH_METHOD.rsplit(":", 1)[0] + ":40"


def test_first_logins_that_redo_old_hashes_at_once_all_get_in(database_url, tmp_path):
    """Every seeded hash has the suite's cheap parameters and the server
    hashes with slower ones, so each of these logins redoes its user's hash.
    A hash redone inside the write transaction held SQLite's write lock for
    the whole scrypt, and the logins queued behind it failed with "database
    is locked" (a 500)."""
    names = seed_users(database_url, FIRST_LOGINS)
    app_with_slow_hash = f"todoapp:create_app({{'PASSWORD_HASH_METHOD': {SLOW_HASH_METHOD!r}}})"
    with gunicorn(
        database_url, tmp_path, workers=FIRST_LOGIN_WORKERS, app=app_with_slow_hash
    ) as server:
        browsers = [Browser(server.url) for _ in names]
        for browser in browsers:
            browser.request("/auth/login")  # each its own session and CSRF token
        start = threading.Barrier(len(browsers))

        def log_in(browser, name):
            form = {"username": name, "password": PASSWORD, "csrf_token": browser.token}
            start.wait()
            # Sixteen slow hashes on a shared machine: give them time.
            return browser.request("/auth/login", form, timeout=120)[0]

        with ThreadPoolExecutor(len(browsers)) as pool:
            started = time.monotonic()
            statuses = list(pool.map(log_in, browsers, names))
            elapsed = time.monotonic() - started
        log = next(tmp_path.glob("gunicorn-*.log")).read_text()
    print(f"\n{FIRST_LOGINS} first logins in {elapsed:.1f}s on {BACKEND}: {Counter(statuses)}")
    assert "database is locked" not in log
    assert statuses == [302] * FIRST_LOGINS
    app = make_app(database_url)
    with app.app_context():
        stored = db.session.scalars(select(User.password_hash)).all()
    dispose(app)
    assert all(h.startswith(SLOW_HASH_METHOD + "$") for h in stored)
