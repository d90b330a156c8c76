"""``python -m benchmarks.profile [--db sqlite|postgres] [--requests N]``: where
one request's time goes, for each list page of target 1 (``make profile``).

The app runs in this process, called as gunicorn's workers call it (the WSGI
callable, an environ like a browser's: the session cookie and the same
User-Agent the login came with), against a database built like the
benchmarks' at 20,000 todos (the pages read 50 rows whatever the size: target
2). Each page is timed over N requests (the CPU time of this process, best
of three rounds), then profiled with pyinstrument over N more, and every
sample is put in the first part of ``PARTS`` that one of its frames belongs
to. The table gives each part in worker-ms per request: its share of the
samples times the unprofiled time (the profiler slows every part alike).
"""

import argparse
import os
import re
import tempfile
import time
from pathlib import Path

from . import data

PAGES = ("/todos", "/trash", "/admin/trash")
SIZE = 20_000
UA = "todoapp-profile/1"

# (part, a test on one frame: function name and file). A sample is the first
# part any of its frames passes, so the specific parts come first.
PARTS = (
    ("user loader: the session's row and user (a Query)", lambda f, p: f == "load_user"),
    ("rows: todoapp.rows, one escape per value", lambda f, p: f.endswith("_rows")),
    ("list query: a Query, result rows", lambda f, p: p.endswith("pages.py")),
    ("CSRF token: made and signed", lambda f, p: f == "generate_csrf"),
    ("rest of the template: layout, nav, pager", lambda f, p: "jinja2" in p or "templates" in p),
    (
        "session cookie: verified, loaded, saved",
        lambda f, p: "itsdangerous" in p or "flask/sessions" in p,
    ),
    ("read connection: pool checkout and return", lambda f, p: "sqlalchemy" in p),
    ("response headers: security, caching", lambda f, p: f.startswith("set_")),
    ("Flask and Werkzeug: request, routing, response", lambda f, p: True),
)


def _login(app):
    from werkzeug.test import EnvironBuilder

    client = app.test_client()
    client.environ_base.update(HTTP_USER_AGENT=UA, REMOTE_ADDR="127.0.0.1")
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = {"username": data.BENCH_USER, "password": data.PASSWORD, "csrf_token": token}
    if client.post("/auth/login", data=form).status_code != 302:
        raise SystemExit("could not log in as the bench user")

    def environ(path: str) -> dict:
        client.get(path)  # the session cookie as a browser holds it after this page
        cookie = client.get_cookie("session").value
        headers = {"Cookie": f"session={cookie}", "User-Agent": UA, "Host": "127.0.0.1"}
        return EnvironBuilder(path=path, headers=headers).get_environ() | {
            "REMOTE_ADDR": "127.0.0.1"
        }

    return environ


def _serve(app, environ: dict, count: int) -> None:
    status = []

    def start_response(code, _headers, _exc_info=None):
        status.append(code)

    for _ in range(count):
        b"".join(app(dict(environ), start_response))
    if not status[-1].startswith("200"):
        raise SystemExit(f"{environ['PATH_INFO']}: HTTP {status[-1]}")


def _part(frame_ids: list[str]) -> str:
    frames = []
    for identifier in frame_ids:
        function, path, *_ = identifier.split("\x00")
        frames.append((function, path))
    for name, belongs in PARTS:
        if any(belongs(function, path) for function, path in frames):
            return name
    raise AssertionError("the last part takes every frame")


def profile_page(app, environ: dict, requests: int) -> dict:
    from pyinstrument import Profiler

    _serve(app, environ, 50)  # warm: templates compiled, statements cached
    rounds = []
    for _ in range(3):
        started = time.process_time()
        _serve(app, environ, requests)
        rounds.append((time.process_time() - started) / requests * 1000)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    _serve(app, environ, requests)
    profiler.stop()
    shares: dict[str, float] = {}
    for frame_ids, seconds in profiler.last_session.frame_records:
        if not any("wsgi_app" in f for f in frame_ids):
            continue  # the loop itself
        part = _part(frame_ids)
        shares[part] = shares.get(part, 0.0) + seconds
    total = sum(shares.values())
    ms = min(rounds)
    return {"ms": ms, "parts": {name: ms * s / total for name, s in shares.items()}}


def table(results: dict) -> str:
    pages = list(results)
    lines = [
        "| part | " + " | ".join(f"`{p}` ms" for p in pages) + " |",
        "|---|" + "---:|" * len(pages),
    ]
    for name, _ in PARTS:
        cells = [f"{results[p]['parts'].get(name, 0.0):.2f}" for p in pages]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append(
        "| **one request, in all** | "
        + " | ".join(f"**{results[p]['ms']:.2f}**" for p in pages)
        + " |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="todoapp-profile-") as tmp:
        if args.db == "sqlite":
            dataset = data.build_sqlite(Path(tmp) / "profile.sqlite", SIZE)
        else:
            server = os.environ.get("TEST_DATABASE_URL", "")
            if not server.startswith("postgresql"):
                raise SystemExit("--db postgres needs TEST_DATABASE_URL (see make profile)")
            dataset = data.build_postgres(server, "todoapp_profile", SIZE)
        os.environ.update(data.flask_env(dataset.url), HTTPS="0")
        from todoapp import create_app

        app = create_app(migrations=False)
        environ = _login(app)
        results = {page: profile_page(app, environ(page), args.requests) for page in PAGES}
        with app.app_context():
            from todoapp.extensions import db

            db.engine.dispose()
    print(f"Where one request's time goes ({args.db}, {args.requests:,} requests a page):\n")
    print(table(results))


if __name__ == "__main__":
    main()
