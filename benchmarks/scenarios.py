"""The measurements of issue #7 (targets 1-5) and of target 6, and the table that reports them."""

import contextlib
import itertools
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.live import Browser

from . import data, pages
from .data import BENCH_USER, PASSWORD
from .load import fresh_cookie, log_in, peak_rss_mb, workers, wrk


@dataclass(frozen=True)
class Plan:
    small: int  # todos in the "before" database
    large: int  # and in the "after" one
    rounds: int  # load runs alternate between the two sides this many times
    seconds: float  # per wrk run
    migration_rows: int
    baseline_seconds: float  # the writer alone, before the purge or the upgrade starts
    held_seconds: float  # target 6: how long someone's transaction stays open on todos
    skew_base: int  # target 2 on skewed data: todos in the database before the skews
    skew: int  # and the todos each skew changes (benchmarks.skew)


FULL = Plan(
    small=1_000,
    large=1_000_000,
    rounds=5,
    seconds=3,
    migration_rows=1_000_000,
    baseline_seconds=5,
    held_seconds=30,
    skew_base=100_000,
    skew=100_000,
)
SMOKE = Plan(
    small=1_000,
    large=5_000,
    rounds=1,
    seconds=1,
    migration_rows=5_000,
    baseline_seconds=1,
    # Long enough that the upgrade, whose start-up alone takes 2-3 s on a
    # busy machine, surely reaches the table while the transaction is held.
    held_seconds=8,
    skew_base=1_000,
    skew=500,
)
# Target 1's goal: a list page's requests/s over hello-world's (issue 16).
TARGET_1 = 0.20
# Target 2 on skewed data: a page's latency after one user's skew ÷ before (issue 36).
SKEW_GOAL = 1.5
THROUGHPUT_CONNECTIONS = 4  # enough to keep both workers busy
LATENCY_CONNECTIONS = 1  # one request at a time: service time, no queueing
WRITER_PAUSE = 0.01  # seconds between the writer's requests


# Target 1's pages: each must show a full page of 50 rows, counted by this marker.
THROUGHPUT_PAGES = {
    "/todos": '<li class="todo',
    "/trash": '<li class="todo',
    "/admin/trash": 'data-label="Owner"',
}
FLASKR_MARKER = '<article class="post">'


def check_pages(browser, label: str = "") -> None:
    """Each page of target 1 shows its 50 rows to this logged-in browser."""
    for path, marker in THROUGHPUT_PAGES.items():
        shown = browser.request(path)[2].count(marker)
        if shown != 50:
            raise RuntimeError(f"{label}{path} shows {shown} rows, not 50")


def hello_brackets(hello_runs: list[float]) -> list[float]:
    """What each round's runs are divided by: the mean of the hello-world
    runs that open and close the round (the closing one opens the next)."""
    return [(a + b) / 2 for a, b in itertools.pairwise(hello_runs)]


def throughput(plan: Plan, hello, server, flaskr=None) -> dict:
    """Target 1: each page (50 rows) against hello-world, alternating, same
    settings; and the flaskr-like reference side (``flaskr``: its server),
    logged in too, for comparison."""
    print("Throughput: the list pages (50 rows) against hello-world", flush=True)
    browser = log_in(server.url)
    check_pages(browser)
    sides = {path: (server.url, path, browser) for path in THROUGHPUT_PAGES}
    if flaskr is not None:
        reference = Browser(flaskr.url)
        status = reference.request("/auth/login", {"username": BENCH_USER, "password": PASSWORD})[0]
        shown = reference.request("/")[2].count(FLASKR_MARKER)
        if status != 302 or shown != 50:
            raise RuntimeError(f"flaskr reference: login {status}, {shown} posts shown, not 50")
        sides["flaskr"] = (flaskr.url, "/", reference)
    # Hello-world opens each round and closes it (the next round's opening
    # run): a round's sides are divided by the mean of the two, so a machine
    # that speeds up or slows down during a round does not favour the sides
    # measured first.
    args = {"seconds": plan.seconds * 2, "connections": THROUGHPUT_CONNECTIONS}
    hello_runs, runs = [wrk(hello.url + "/", **args)["rps"]], {name: [] for name in sides}
    for _ in range(plan.rounds):
        for name, (base, path, client) in sides.items():
            cookie = fresh_cookie(client, path)
            runs[name].append(wrk(base + path, cookie=cookie, **args)["rps"])
        hello_runs.append(wrk(hello.url + "/", **args)["rps"])
        print(
            f"  hello {hello_runs[-2]:,.0f} / {hello_runs[-1]:,.0f} req/s; "
            + ", ".join(f"{name} {runs[name][-1]:,.0f}" for name in sides),
            flush=True,
        )
    brackets = hello_brackets(hello_runs)
    result = {"hello_rps": statistics.median(hello_runs), "rounds": plan.rounds, "pages": {}}
    for name in sides:
        ratios = [r / h for r, h in zip(runs[name], brackets, strict=True)]
        result["pages"][name] = {
            "rps": statistics.median(runs[name]),
            "ratio": statistics.median(ratios),
        }
    # The figures earlier runs wrote, kept for /todos.
    result["todos_rps"] = result["pages"]["/todos"]["rps"]
    result["ratio"] = result["pages"]["/todos"]["ratio"]
    return result


def flatness(plan: Plan, datasets: dict, servers: dict) -> dict:
    """Target 2: median latency of each page at the large size over the small one."""
    print("Flat in table size: median latency, one request at a time", flush=True)
    browsers = {label: log_in(server.url) for label, server in servers.items()}
    urls = {label: pages.urls(dataset) for label, dataset in datasets.items()}
    p50 = {label: {name: [] for name in urls[label]} for label in servers}
    for _ in range(plan.rounds):
        for name in urls["small"]:
            for label, server in servers.items():
                path = urls[label][name]
                run = wrk(
                    server.url + path,
                    seconds=plan.seconds,
                    connections=LATENCY_CONNECTIONS,
                    cookie=fresh_cookie(browsers[label], path),
                )
                p50[label][name].append(run["p50_ms"])
    result = {}
    for name in urls["small"]:
        small = statistics.median(p50["small"][name])
        large = statistics.median(p50["large"][name])
        result[name] = {
            "small_ms": small,
            "large_ms": large,
            "ratio": large / small,
            "small_url": urls["small"][name],
            "large_url": urls["large"][name],
        }
        print(f"  {name}: {small:.2f} ms -> {large:.2f} ms", flush=True)
    return result


def memory(server, dataset) -> dict:
    """Target 5: each worker's peak resident memory, after all the load so far."""
    peaks = [peak_rss_mb(pid) for pid in workers(server.process.pid)]
    print(f"Memory: worker peak RSS {', '.join(f'{p:.1f}' for p in peaks)} MB", flush=True)
    return {"todos": dataset.size, "worker_peak_rss_mb": peaks, "max_mb": max(peaks)}


def summary(values: list[float]) -> dict:
    values = sorted(values)
    return {
        "requests": len(values),
        "p50_ms": statistics.median(values),
        "p99_ms": values[min(len(values) - 1, int(len(values) * 0.99))],
        "max_ms": values[-1],
    }


def purge(plan: Plan, server, dataset) -> dict:
    """Target 4: ``flask trash purge`` of every expired todo while a writer keeps
    creating todos through the app; the writer's latency without and with it."""
    print(f"Purge: {dataset.trashed:,} expired todos while a writer creates todos", flush=True)
    browser = log_in(server.url, "user002")
    latencies = {"baseline": [], "purge": []}
    phase = ["baseline"]
    stop = threading.Event()
    failures = []

    def writer():
        n = 0
        while not stop.is_set():
            started = time.perf_counter()
            status, _, _ = browser.submit("/todos", {"title": f"Written during the purge {n}"})
            latencies[phase[0]].append((time.perf_counter() - started) * 1000)
            if status != 302:
                failures.append(status)
            n += 1
            stop.wait(WRITER_PAUSE)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    time.sleep(plan.baseline_seconds)
    phase[0] = "purge"
    started = time.perf_counter()
    done = data.flask("trash", "purge", url=dataset.url)
    elapsed = time.perf_counter() - started
    stop.set()
    thread.join(timeout=30)
    purged = int(re.search(r"Purged (\d+) todo", done.stdout).group(1))
    if purged != dataset.trashed or failures:
        raise RuntimeError(f"purged {purged} of {dataset.trashed}; writer failures: {failures}")
    base, during = summary(latencies["baseline"]), summary(latencies["purge"])
    result = {
        "purged": purged,
        "seconds": elapsed,
        "rows_per_second": purged / elapsed,
        "writer_baseline": base,
        "writer_during_purge": during,
        "p99_ratio": during["p99_ms"] / base["p99_ms"],
        "max_ratio": during["max_ms"] / base["max_ms"],
    }
    print(
        f"  {purged:,} rows in {elapsed:.1f} s ({purged / elapsed:,.0f} rows/s); writer p99 "
        f"{base['p99_ms']:.1f} -> {during['p99_ms']:.1f} ms, max {base['max_ms']:.1f} -> "
        f"{during['max_ms']:.1f} ms",
        flush=True,
    )
    return result


# Each side runs in a fresh process and times its own work: the revision as
# `flask db` runs it (flask_migrate's upgrade/downgrade, what the command
# calls), and the SQL that revision prints offline, fed to the sqlite3 shell
# as an operator would. Both close their connection, so both pay for
# SQLite's checkpoint of the log.
RAW_SQL = """
import subprocess, sys, time
sql = sys.stdin.read()
started = time.perf_counter()
subprocess.run(["sqlite3", sys.argv[1]], input=sql, text=True, check=True, capture_output=True)
print(time.perf_counter() - started)
"""
FLASK_MIGRATE = """
import sys, time
import flask_migrate
from todoapp import create_app
from todoapp.extensions import db
app = create_app(migrations=True)
with app.app_context():
    started = time.perf_counter()
    getattr(flask_migrate, sys.argv[1])(revision=sys.argv[2])
    db.engine.dispose()
    print(time.perf_counter() - started)
"""


def _timed_run(command: list[str], **kwargs) -> float:
    """The seconds the command printed as its last line."""
    done = subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)
    return float(done.stdout.split()[-1])


def _wall(command: list[str], **kwargs) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)
    return time.perf_counter() - started


def _schema(path: Path) -> list:
    """The database's own objects. SQLite's internal tables are left out: the
    offline script makes ``sqlite_sequence`` exist so it can save the id
    sequences, where ``flask db`` needs no such table until one is used."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as con:
        return con.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            " ORDER BY name"
        ).fetchall()


def _copy_database(source: Path, target: Path) -> None:
    """A closed SQLite database copied over another, without the target's old
    write-ahead log, which would otherwise be read as part of the copy."""
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copy(source, target)


def migrations(plan: Plan, work: Path) -> dict:
    """Target 3: the soft-delete revision through ``flask db``, and the SQL it
    prints offline run by the sqlite3 shell, on copies of one database."""
    print(f"Migrations: revision 0002 on {plan.migration_rows:,} todos (SQLite)", flush=True)
    base = work / "at-0001.sqlite"
    data.timed(
        f"{plan.migration_rows:,} todos at 0001",
        data.build_sqlite,
        base,
        plan.migration_rows,
        revision="0001",
    )
    raw_db, app_db = work / "raw.sqlite", work / "flask.sqlite"
    _copy_database(base, raw_db)
    _copy_database(base, app_db)
    url = f"sqlite:///{base}"
    sql = {
        "upgrade": data.flask("db", "upgrade", "0001:0002", "--sql", url=url).stdout,
        "downgrade": data.flask("db", "downgrade", "0002:0001", "--sql", url=url).stdout,
    }
    target = {"upgrade": "0002", "downgrade": "0001"}
    result = {"rows": plan.migration_rows}
    for step in ("upgrade", "downgrade"):
        for _ in range(2):  # there and back once more, so each figure is the better of two
            _copy_database(base if step == "upgrade" else work / "at-0002.sqlite", raw_db)
            _copy_database(raw_db, app_db)
            env = data.flask_env(f"sqlite:///{app_db}")
            raw = _timed_run([sys.executable, "-c", RAW_SQL, str(raw_db)], input=sql[step])
            flask = _timed_run(
                [sys.executable, "-c", FLASK_MIGRATE, step, target[step]], cwd=data.ROOT, env=env
            )
            if _schema(raw_db) != _schema(app_db):
                raise RuntimeError(f"{step}: the raw SQL and flask db left different schemas")
            best = result.get(step)
            if best is None or flask / raw < best["ratio"]:
                result[step] = {"flask_s": flask, "raw_s": raw, "ratio": flask / raw}
        if step == "upgrade":
            _copy_database(app_db, work / "at-0002.sqlite")
        # The whole command as an operator runs it, start-up included.
        _copy_database(base if step == "upgrade" else work / "at-0002.sqlite", app_db)
        command = _wall(
            data.FLASK + ["db", step, target[step]],
            cwd=data.ROOT,
            env=data.flask_env(f"sqlite:///{app_db}"),
        )
        result[step]["command_s"] = command
        r = result[step]
        print(
            f"  {step}: flask db {r['flask_s']:.2f} s, raw SQL {r['raw_s']:.2f} s; "
            f"the whole `flask db {step}` command {command:.2f} s",
            flush=True,
        )
    return result


# Target 6, PostgreSQL: `flask db upgrade` while a writer (and, with a held
# transaction, a reader) keeps using todos. The runner's settings are passed
# explicitly, at their defaults (todoapp/config.py), so the bound is known.
LOCK_TIMEOUT_MS = 300  # MIGRATION_TABLE_LOCK_TIMEOUT_MS
LOCK_TRIES = 30  # MIGRATION_TABLE_LOCK_TRIES: with the pauses, about 2 minutes of patience
ONE_RETRY_MS = 250  # the try that goes through: see README.md, "Benchmarks"
CLIENT_STATEMENT_TIMEOUT_S = 120  # no writer or reader statement waits longer, whatever happens
UPGRADE_TIMEOUT_S = 600
LIVE_DATABASES = ("todoapp_bench_live_0001", "todoapp_bench_live_head", "todoapp_bench_live_held")
SCRATCH_REVISION = """\
\"\"\"{message}

Benchmark only: written by benchmarks/scenarios.py into a copy of migrations/.
\"\"\"

import sqlalchemy as sa
from alembic import op

from todoapp.migration_tools import online

revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
{upgrade}


def downgrade():
    pass
"""
ONLINE_UPGRADE = """\
    online.create_index("ix_todos_bench_created", "todos", ["created_at"])
    online.add_foreign_key("fk_todos_bench_user", "todos", "users", ["user_id"], ["id"])"""
LOCKING_UPGRADE = """\
    op.add_column("todos", sa.Column("bench_flag", sa.Integer()))"""


def _scratch_revision(work: Path, name: str, message: str, upgrade: str) -> tuple[Path, str]:
    """A copy of migrations/ with one more revision on top of its head."""
    from datetime import UTC, datetime

    from alembic.script import ScriptDirectory

    from todoapp.migration_tools import naming

    directory = work / name
    shutil.copytree(
        data.ROOT / "migrations", directory, ignore=shutil.ignore_patterns("__pycache__")
    )
    script = ScriptDirectory(str(directory))
    head = script.get_current_head()  # raises if the migrations have two heads
    revision = naming.next_revision_id(script, message)
    source = SCRATCH_REVISION.format(message=message, revision=revision, down=head, upgrade=upgrade)
    (directory / "versions" / f"{datetime.now(UTC):%Y_%m_%d}_{revision}.py").write_text(source)
    return directory, revision


class _Client(threading.Thread):
    """A user of ``todos`` on a connection of its own (autocommit, as the
    app's requests commit at once): runs ``ops`` in turn, then pauses
    WRITER_PAUSE, and times each op. Stops when told, or at its first error
    outside an op."""

    def __init__(self, url: str, name: str, ops):
        super().__init__(name=name, daemon=True)
        self.url, self.ops = url, ops
        self.samples: list[tuple[float, float]] = []  # (started, ms)
        self.errors: list[str] = []
        self.stopping = threading.Event()

    def run(self):
        import psycopg

        try:
            with psycopg.connect(data._libpq(self.url), autocommit=True) as con:
                con.execute(f"SET statement_timeout = {CLIENT_STATEMENT_TIMEOUT_S * 1000}")
                n = 0
                while not self.stopping.is_set():
                    for op in self.ops:
                        started = time.perf_counter()
                        try:
                            op(con, n)
                        except psycopg.Error as exc:
                            self.errors.append(f"{type(exc).__name__}: {exc}")
                        self.samples.append((started, (time.perf_counter() - started) * 1000))
                    n += 1
                    self.stopping.wait(WRITER_PAUSE)
        except Exception as exc:  # noqa: BLE001 - reported by the scenario
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def stop(self):
        self.stopping.set()
        self.join(CLIENT_STATEMENT_TIMEOUT_S + 10)

    def between(self, start: float, end: float) -> list[float]:
        """The ops that were under way at any moment from ``start`` to ``end``."""
        return [ms for at, ms in self.samples if at < end and at + ms / 1000 > start]


def _writer_ops(rows: int, *, lists: bool = True):
    """The writer's insert and update; with ``lists`` (a schema with lists),
    each new todo goes to its owner's Inbox, whose id is the user's (data.inboxes)."""

    def insert(con, n):
        user = 2 + n % (data.USERS - 1)
        if lists:
            con.execute(
                "INSERT INTO todos (user_id, list_id, title, done, created_at, updated_at) "
                "VALUES (%s, %s, %s, false, now(), now())",
                (user, user, f"Written during the migration {n}"),
            )
        else:
            con.execute(
                "INSERT INTO todos (user_id, title, done, created_at, updated_at) "
                "VALUES (%s, %s, false, now(), now())",
                (user, f"Written during the migration {n}"),
            )

    def update(con, n):
        con.execute(
            "UPDATE todos SET done = NOT done, updated_at = now() WHERE id = %s",
            (1 + (n * 7919) % rows,),
        )

    return [insert, update]


def _read_page(con, n):
    con.execute(
        "SELECT id, title, done, created_at, updated_at FROM todos "
        "WHERE user_id = %s AND deleted_at IS NULL ORDER BY id DESC LIMIT 51",
        (2 + n % (data.USERS - 1),),
    ).fetchall()


class _HeldTransaction(threading.Thread):
    """Someone's report: a transaction that reads todos and stays open,
    holding its lock on the table, for ``seconds`` after the first time
    another session queues for a lock on it (or until stopped). Counting
    from the first wait, not from the command's start, keeps the scenario
    the same on a loaded machine where the command takes long to start."""

    MEET_TIMEOUT_S = 120

    def __init__(self, url: str, seconds: float):
        super().__init__(name="held transaction", daemon=True)
        self.url, self.seconds = url, seconds
        self.opened = threading.Event()
        self.stopping = threading.Event()
        self.held_for = 0.0
        self.errors: list[str] = []

    def run(self):
        import psycopg

        try:
            with (
                psycopg.connect(data._libpq(self.url)) as con,
                psycopg.connect(data._libpq(self.url), autocommit=True) as watcher,
            ):
                con.execute("SELECT count(*) FROM todos").fetchone()
                started = time.perf_counter()
                self.opened.set()
                self._wait_for_someone_queued(watcher)
                self.stopping.wait(self.seconds)
                con.rollback()
                self.held_for = time.perf_counter() - started
        except Exception as exc:  # noqa: BLE001 - reported by the scenario
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.opened.set()  # also when it failed: the scenario reports the error

    def _wait_for_someone_queued(self, watcher) -> None:
        deadline = time.perf_counter() + self.MEET_TIMEOUT_S
        while not self.stopping.is_set() and time.perf_counter() < deadline:
            queued = watcher.execute(
                "SELECT 1 FROM pg_locks WHERE relation = 'todos'::regclass AND NOT granted"
            ).fetchone()
            if queued:
                return
            time.sleep(0.01)

    def stop(self):
        self.stopping.set()
        self.join(30)


def _upgrade_under_load(
    plan: Plan,
    url: str,
    upgrade_args: list[str],
    *,
    reader: bool,
    rows: int,
    hold: float = 0,
    lists: bool = True,
) -> dict:
    """The writer (and the reader) alone for plan.baseline_seconds, then
    ``flask db upgrade ARGS`` as a subprocess, with a transaction held open
    for ``hold`` seconds from just before it starts."""
    clients = {"writer": _Client(url, "writer", _writer_ops(rows, lists=lists))}
    if reader:
        clients["reader"] = _Client(url, "reader", [_read_page])
    held = _HeldTransaction(url, hold) if hold else None
    env = data.flask_env(url) | {
        "MIGRATION_TABLE_LOCK_TIMEOUT_MS": str(LOCK_TIMEOUT_MS),
        "MIGRATION_TABLE_LOCK_TRIES": str(LOCK_TRIES),
    }
    try:
        for client in clients.values():
            client.start()
        time.sleep(0.5)  # connected, first statements planned
        alone_from = time.perf_counter()
        time.sleep(plan.baseline_seconds)
        alone_to = time.perf_counter()
        if held is not None:
            held.start()
            held.opened.wait(60)
        started = time.perf_counter()
        done = subprocess.run(
            data.FLASK + ["db", "upgrade", *upgrade_args],
            cwd=data.ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=UPGRADE_TIMEOUT_S,
        )
        ended = time.perf_counter()
        time.sleep(0.2)
    finally:
        if held is not None:
            held.stop()
        for client in clients.values():
            client.stop()
    if done.returncode:
        raise RuntimeError(f"flask db upgrade {' '.join(upgrade_args)} failed:\n{done.stderr}")
    errors = [e for c in clients.values() for e in c.errors] + (held.errors if held else [])
    if errors:
        raise RuntimeError(f"errors while the upgrade ran: {errors[:5]}")
    result = {"upgrade_s": ended - started}
    for name, client in clients.items():
        result[f"{name}_alone"] = summary(client.between(alone_from, alone_to))
        result[f"{name}_during"] = summary(client.between(started, ended))
    if held is not None:
        result["held_s"] = held.held_for
        result["tries"] = 1 + done.stderr.count("Waiting for a lock")
    return result


def _check(url: str, sql: str, expected) -> None:
    import psycopg

    with psycopg.connect(data._libpq(url)) as con:
        found = con.execute(sql).fetchone()[0]
    if found != expected:
        raise RuntimeError(f"{sql}: {found!r}, expected {expected!r}")


def _say(label: str, r: dict) -> None:
    alone, during = r["writer_alone"], r["writer_during"]
    line = (
        f"  {label}: upgrade {r['upgrade_s']:.1f} s; writer p99 {alone['p99_ms']:.1f} -> "
        f"{during['p99_ms']:.1f} ms, max {alone['max_ms']:.1f} -> {during['max_ms']:.1f} ms"
    )
    if "reader_during" in r:
        line += f"; reader max {r['reader_during']['max_ms']:.1f} ms"
    if "tries" in r:
        line += f"; {r['tries']} tries, transaction held {r['held_s']:.1f} s"
    print(line, flush=True)


def live_migration(plan: Plan, server_url: str, work: Path) -> dict:
    """Target 6 (PostgreSQL): ``flask db upgrade`` on a live todos table.
    Revision 0002 as written (the before); a scratch revision that adds an
    index and a foreign key through ``online`` (the after); and a scratch
    revision that needs the table to itself while a transaction stays open
    on it for plan.held_seconds."""
    import psycopg

    rows = plan.migration_rows
    print(f"Live migration: {rows:,} todos, writes every {WRITER_PAUSE * 1000:.0f} ms", flush=True)
    names = dict(zip(("0001", "head", "held"), LIVE_DATABASES, strict=True))
    online_dir, online_rev = _scratch_revision(
        work, "online", "bench online index and foreign key", ONLINE_UPGRADE
    )
    held_dir, held_rev = _scratch_revision(work, "held", "bench column on todos", LOCKING_UPGRADE)
    try:
        before = data.timed(
            f"{rows:,} todos at 0001",
            data.build_postgres,
            server_url,
            names["0001"],
            rows,
            revision="0001",
        )
        after = data.timed(
            f"{rows:,} todos at head", data.build_postgres, server_url, names["head"], rows
        )
        with psycopg.connect(data._libpq(server_url), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{names["held"]}" TEMPLATE "{names["head"]}"')
            # Write out what the bulk loads left in memory now, not while measuring.
            admin.execute("CHECKPOINT")
        held_url = data.postgres_url(server_url, names["held"])

        result = {"rows": rows, "lock_timeout_ms": LOCK_TIMEOUT_MS, "one_retry_ms": ONE_RETRY_MS}
        # The control: the same command with nothing to do (start-up, connect,
        # read the version), so its share of the figures below can be told apart.
        result["noop"] = _upgrade_under_load(plan, after.url, [], reader=False, rows=rows)
        _say("no-op upgrade (control)", result["noop"])
        result["before"] = _upgrade_under_load(
            plan, before.url, ["0002"], reader=False, rows=rows, lists=False
        )
        _check(before.url, "SELECT version_num FROM alembic_version", "0002")
        _say("0002 (before)", result["before"])

        result["online"] = _upgrade_under_load(
            plan, after.url, ["--directory", str(online_dir)], reader=False, rows=rows
        )
        _check(after.url, "SELECT version_num FROM alembic_version", online_rev)
        _check(
            after.url,
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_todos_bench_created'::regclass",
            True,
        )
        _check(
            after.url,
            "SELECT convalidated FROM pg_constraint WHERE conname = 'fk_todos_bench_user'",
            True,
        )
        _say("online revision", result["online"])
        result["online"]["revision"] = online_rev

        held = _upgrade_under_load(
            plan,
            held_url,
            ["--directory", str(held_dir)],
            reader=True,
            rows=rows,
            hold=plan.held_seconds,
        )
        _check(held_url, "SELECT version_num FROM alembic_version", held_rev)
        if held["tries"] < 2 or held["held_s"] < plan.held_seconds:
            raise RuntimeError(f"the upgrade never waited for the held transaction: {held}")
        held["revision"] = held_rev
        held["seconds"] = plan.held_seconds
        held["bound_ms"] = LOCK_TIMEOUT_MS + ONE_RETRY_MS
        result["held"] = held
        _say(f"held {plan.held_seconds:.0f} s", held)
    finally:
        with psycopg.connect(data._libpq(server_url), autocommit=True) as admin:
            for name in LIVE_DATABASES:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return result


def lists_revisions() -> tuple[str, str, str]:
    """The revision before the lists, the lists expand, and its backfill."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(data.ROOT / "migrations"))
    every = list(script.walk_revisions())
    expand = next(rev for rev in every if rev.revision.endswith("_lists_expand"))
    backfill = next(rev for rev in every if rev.down_revision == expand.revision)
    return expand.down_revision, expand.revision, backfill.revision


def lists_migration(plan: Plan, db: str, server_url: str, work: Path) -> dict:
    """Target 6 for the lists revisions (SQLite and PostgreSQL): ``flask db
    upgrade`` to the expand, then to the backfill, on plan.migration_rows
    todos, while a writer of the version before lists (no list_id) inserts
    and updates todos every WRITER_PAUSE; its latency alone and during each."""
    import sqlalchemy as sa

    before, expand, backfill = lists_revisions()
    rows = plan.migration_rows
    print(f"Lists migration: {rows:,} todos, expand then backfill, on {db}", flush=True)
    if db == "sqlite":
        dataset = data.timed(
            f"{rows:,} todos at {before}",
            data.build_sqlite,
            work / "lists.sqlite",
            rows,
            revision=before,
        )
    else:
        dataset = data.timed(
            f"{rows:,} todos at {before}",
            data.build_postgres,
            server_url,
            "todoapp_bench_lists",
            rows,
            revision=before,
        )
    engine = sa.create_engine(
        dataset.url, connect_args={"timeout": 30} if db == "sqlite" else {}, pool_size=1
    )
    insert = sa.text(
        "INSERT INTO todos (user_id, title, done, created_at, updated_at) "
        "VALUES (:user, :title, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    update = sa.text("UPDATE todos SET done = NOT done WHERE id = :id")
    samples: list[tuple[float, float]] = []
    errors: list[str] = []
    stop = threading.Event()

    def writer():
        n = 0
        while not stop.is_set():
            for statement, params in (
                (insert, {"user": 2 + n % (data.USERS - 1), "title": f"Written meanwhile {n}"}),
                (update, {"id": 1 + (n * 7919) % rows}),
            ):
                started = time.perf_counter()
                try:
                    with engine.begin() as con:
                        con.execute(statement, params)
                except sa.exc.SQLAlchemyError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                samples.append((started, (time.perf_counter() - started) * 1000))
            n += 1
            stop.wait(WRITER_PAUSE)

    def during(start: float, end: float) -> dict:
        return summary([ms for at, ms in samples if at < end and at + ms / 1000 > start])

    result = {"rows": rows, "revisions": {"expand": expand, "backfill": backfill}}
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        alone_from = time.perf_counter()
        time.sleep(plan.baseline_seconds)
        result["writer_alone"] = during(alone_from, time.perf_counter())
        for step, revision in (("expand", expand), ("backfill", backfill)):
            started = time.perf_counter()
            done = data.flask("db", "upgrade", revision, url=dataset.url)
            ended = time.perf_counter()
            result[step] = {"upgrade_s": ended - started, "writer_during": during(started, ended)}
            if step == "backfill":
                bars = [line for line in done.stderr.splitlines() if "Backfill of todos: [" in line]
                result[step]["progress_lines"] = len(bars)
    finally:
        stop.set()
        thread.join(timeout=60)
    with engine.connect() as con:
        version = con.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        unlisted = con.execute(
            sa.text("SELECT count(*) FROM todos WHERE list_id IS NULL AND id <= :n"), {"n": rows}
        ).scalar()
    engine.dispose()
    if errors or version != backfill or unlisted:
        raise RuntimeError(f"version {version}, {unlisted} rows left unlisted, errors {errors[:5]}")
    if db == "postgres":
        import psycopg

        with psycopg.connect(data._libpq(server_url), autocommit=True) as admin:
            admin.execute('DROP DATABASE IF EXISTS "todoapp_bench_lists" WITH (FORCE)')
    alone = result["writer_alone"]
    for step in ("expand", "backfill"):
        r = result[step]
        print(
            f"  {step}: upgrade {r['upgrade_s']:.1f} s; writer p99 {alone['p99_ms']:.1f} -> "
            f"{r['writer_during']['p99_ms']:.1f} ms, max {alone['max_ms']:.1f} -> "
            f"{r['writer_during']['max_ms']:.1f} ms",
            flush=True,
        )
    return result


def targets(results: dict) -> list[dict]:
    """One row per figure: what was measured, its ratio or value, the goal, met or not."""
    rows = []
    if t := results.get("throughput"):
        pages = t.get("pages") or {"/todos": {"rps": t["todos_rps"], "ratio": t["ratio"]}}
        for name, page in pages.items():
            reference = name == "flaskr"
            rows.append(
                {
                    "target": (
                        "1 flaskr-like reference ÷ hello-world req/s"
                        if reference
                        else f"1 {name} ÷ hello-world req/s"
                    ),
                    "figure": f"{page['rps']:,.0f} ÷ {t['hello_rps']:,.0f} req/s",
                    "value": f"{page['ratio']:.2f}",
                    "goal": "report" if reference else f"≥ {TARGET_1}",
                    "met": None if reference else page["ratio"] >= TARGET_1,
                }
            )
    for name, f in results.get("flatness", {}).items():
        rows.append(
            {
                "target": f"2 {name} p50, large ÷ small",
                "figure": f"{f['large_ms']:.2f} ÷ {f['small_ms']:.2f} ms",
                "value": f"{f['ratio']:.2f}",
                "goal": "≤ 1.2",
                "met": f["ratio"] <= 1.2,
            }
        )
    for name, scenario in results.get("skew", {}).get("scenarios", {}).items():
        for page, p in scenario["pages"].items():
            rows.append(
                {
                    "target": f"2 skew, {name}: {page} p50, after ÷ before",
                    "figure": f"{p['after_ms']:.2f} ÷ {p['before_ms']:.2f} ms",
                    "value": f"{p['ratio']:.2f}",
                    "goal": f"≤ {SKEW_GOAL}",
                    "met": p["ratio"] <= SKEW_GOAL,
                }
            )
    for name, f in results.get("search", {}).items():
        if not isinstance(f, dict) or "ratio" not in f:
            continue  # the run's machine and seconds
        every = "every title" in name
        rows.append(
            {
                "target": f"2 {name} p50, large ÷ small",
                "figure": f"{f['large_ms']:.2f} ÷ {f['small_ms']:.2f} ms",
                "value": f"{f['ratio']:.2f}",
                "goal": "report" if every else "≤ 1.2",
                "met": None if every else f["ratio"] <= 1.2,
            }
        )
        rows.append(
            {
                "target": f"  {name} ÷ /todos p50 at the large size",
                "figure": f"{f['large_ms']:.2f} ÷ {f['todos_large_ms']:.2f} ms",
                "value": f"{f['versus_todos']:.2f}",
                "goal": "report",
                "met": None,
            }
        )
    if m := results.get("migrations"):
        for step in ("upgrade", "downgrade"):
            s = m[step]
            rows.append(
                {
                    "target": f"3 0002 {step}, flask db ÷ raw SQL",
                    "figure": f"{s['flask_s']:.2f} ÷ {s['raw_s']:.2f} s",
                    "value": f"{s['ratio']:.2f}",
                    "goal": "≤ 1.2",
                    "met": s["ratio"] <= 1.2,
                }
            )
            rows.append(
                {
                    "target": f"3 0002 {step}, whole command ÷ raw SQL",
                    "figure": f"{s['command_s']:.2f} ÷ {s['raw_s']:.2f} s",
                    "value": f"{s['command_s'] / s['raw_s']:.2f}",
                    "goal": "report",
                    "met": None,
                }
            )
    if p := results.get("purge"):
        base, during = p["writer_baseline"], p["writer_during_purge"]
        rows += [
            {
                "target": "4 purge rate",
                "figure": f"{p['purged']:,} rows in {p['seconds']:.1f} s",
                "value": f"{p['rows_per_second']:,.0f} rows/s",
                "goal": "report",
                "met": None,
            },
            {
                "target": "4 writer p99, purge ÷ alone",
                "figure": f"{during['p99_ms']:.1f} ÷ {base['p99_ms']:.1f} ms",
                "value": f"{p['p99_ratio']:.2f}",
                "goal": "report",
                "met": None,
            },
            {
                "target": "4 writer max during purge",
                "figure": f"{during['max_ms']:.1f} ÷ {base['max_ms']:.1f} ms alone",
                "value": f"{during['max_ms']:.0f} ms ({p['max_ratio']:.2f}×)",
                "goal": "< 250 ms",
                "met": during["max_ms"] < 250,
            },
        ]
    if lm := results.get("lists_migration"):
        for step in ("expand", "backfill"):
            r = lm[step]
            rows.append(
                {
                    "target": f"6 lists {step} ({lm['revisions'][step]}): writer max",
                    "figure": (
                        f"{r['writer_during']['max_ms']:.1f} ms; upgrade {r['upgrade_s']:.1f} s; "
                        f"max alone {lm['writer_alone']['max_ms']:.1f} ms"
                    ),
                    "value": f"{r['writer_during']['max_ms']:.0f} ms",
                    "goal": "< 250 ms",
                    "met": r["writer_during"]["max_ms"] < 250,
                }
            )
    if mem := results.get("memory"):
        rows.append(
            {
                "target": f"5 worker peak RSS at {mem['todos']:,} todos",
                "figure": " / ".join(f"{x:.1f}" for x in mem["worker_peak_rss_mb"]) + " MB",
                "value": f"{mem['max_mb']:.1f} MB",
                "goal": "≤ 80 MB",
                "met": mem["max_mb"] <= 80,
            }
        )
    if live := results.get("live_migration"):
        for key, label in (
            ("online", "online revision"),
            ("before", "0002 (before)"),
            ("noop", "no-op upgrade (control)"),
        ):
            r = live[key]
            alone, during = r["writer_alone"], r["writer_during"]
            ceiling = min(250, 3 * alone["p99_ms"])
            times = during["max_ms"] / alone["p99_ms"]
            rows.append(
                {
                    "target": f"6 {label}: writer max during upgrade",
                    "figure": f"{during['max_ms']:.1f} ms; p99 alone {alone['p99_ms']:.1f} ms",
                    "value": f"{times:.1f}× p99" if times < 100 else f"{times:,.0f}× p99",
                    "goal": "< 250 ms and < 3× p99 alone" if key == "online" else "report",
                    "met": during["max_ms"] < ceiling if key == "online" else None,
                }
            )
        h = live["held"]
        worst = max(h["writer_during"]["max_ms"], h["reader_during"]["max_ms"])
        rows += [
            {
                "target": f"6 held {h['seconds']:.0f} s: max wait, writer/reader",
                "figure": (
                    f"{h['writer_during']['max_ms']:.0f} / {h['reader_during']['max_ms']:.0f} ms, "
                    f"bound {live['lock_timeout_ms']} + {live['one_retry_ms']} ms"
                ),
                "value": f"{worst:.0f} ms",
                "goal": "≤ lock timeout + one retry",
                "met": worst <= h["bound_ms"],
            },
            {
                "target": "6 upgrade time: 0002 / online / held",
                "figure": (
                    f"{live['before']['upgrade_s']:.1f} / {live['online']['upgrade_s']:.1f} / "
                    f"{h['upgrade_s']:.1f} s"
                ),
                "value": f"held: {h['tries']} tries",
                "goal": "report",
                "met": None,
            },
        ]
    return rows


def table(results: dict) -> str:
    rows = targets(results)
    header = ("target", "measured", "result", "goal", "met")
    cells = [
        (
            r["target"],
            r["figure"],
            r["value"],
            r["goal"],
            {True: "yes", False: "NO", None: "—"}[r["met"]],
        )
        for r in rows
    ]
    widths = [max(len(str(c[i])) for c in cells + [header]) for i in range(len(header))]

    def line(values):
        return (
            "| " + " | ".join(str(v).ljust(w) for v, w in zip(values, widths, strict=True)) + " |"
        )

    return "\n".join(
        [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        + [line(c) for c in cells]
    )
