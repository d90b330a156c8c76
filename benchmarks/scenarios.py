"""The five measurements of issue #7, and the table that reports them."""

import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import data, pages
from .load import log_in, peak_rss_mb, session_cookie, workers, wrk


@dataclass(frozen=True)
class Plan:
    small: int  # todos in the "before" database
    large: int  # and in the "after" one
    rounds: int  # load runs alternate between the two sides this many times
    seconds: float  # per wrk run
    migration_rows: int
    baseline_seconds: float  # the writer alone, before the purge starts


FULL = Plan(
    small=1_000,
    large=1_000_000,
    rounds=3,
    seconds=3,
    migration_rows=1_000_000,
    baseline_seconds=5,
)
SMOKE = Plan(
    small=1_000,
    large=5_000,
    rounds=1,
    seconds=1,
    migration_rows=5_000,
    baseline_seconds=1,
)
THROUGHPUT_CONNECTIONS = 4  # enough to keep both workers busy
LATENCY_CONNECTIONS = 1  # one request at a time: service time, no queueing
WRITER_PAUSE = 0.01  # seconds between the writer's requests


def throughput(plan: Plan, hello, server) -> dict:
    """Target 1: /todos (50 rows) against hello-world, alternating, same settings."""
    print("Throughput: /todos (50 rows) against hello-world", flush=True)
    browser = log_in(server.url)
    page = browser.request("/todos")[2]
    shown = page.count('<li class="todo')
    if shown != 50:
        raise RuntimeError(f"/todos shows {shown} rows, not 50")
    cookie = session_cookie(browser)
    hello_runs, todos_runs = [], []
    for _ in range(plan.rounds):
        args = {"seconds": plan.seconds * 2, "connections": THROUGHPUT_CONNECTIONS}
        hello_runs.append(wrk(hello.url + "/", **args)["rps"])
        todos_runs.append(wrk(server.url + "/todos", cookie=cookie, **args)["rps"])
        print(
            f"  hello {hello_runs[-1]:,.0f} req/s, /todos {todos_runs[-1]:,.0f} req/s", flush=True
        )
    ratios = [t / h for t, h in zip(todos_runs, hello_runs, strict=True)]
    return {
        "hello_rps": statistics.median(hello_runs),
        "todos_rps": statistics.median(todos_runs),
        "ratio": statistics.median(ratios),
        "rounds": plan.rounds,
    }


def flatness(plan: Plan, datasets: dict, servers: dict) -> dict:
    """Target 2: median latency of each page at the large size over the small one."""
    print("Flat in table size: median latency, one request at a time", flush=True)
    cookies = {label: session_cookie(log_in(server.url)) for label, server in servers.items()}
    urls = {label: pages.urls(dataset) for label, dataset in datasets.items()}
    p50 = {label: {name: [] for name in urls[label]} for label in servers}
    for _ in range(plan.rounds):
        for name in urls["small"]:
            for label, server in servers.items():
                run = wrk(
                    server.url + urls[label][name],
                    seconds=plan.seconds,
                    connections=LATENCY_CONNECTIONS,
                    cookie=cookies[label],
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

    def summary(values):
        values = sorted(values)
        return {
            "requests": len(values),
            "p50_ms": statistics.median(values),
            "p99_ms": values[min(len(values) - 1, int(len(values) * 0.99))],
            "max_ms": values[-1],
        }

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
    import sqlite3

    with sqlite3.connect(path) as con:
        return con.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()


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
    shutil.copy(base, raw_db)
    shutil.copy(base, app_db)
    url = f"sqlite:///{base}"
    sql = {
        "upgrade": data.flask("db", "upgrade", "0001:0002", "--sql", url=url).stdout,
        "downgrade": data.flask("db", "downgrade", "0002:0001", "--sql", url=url).stdout,
    }
    target = {"upgrade": "0002", "downgrade": "0001"}
    result = {"rows": plan.migration_rows}
    for step in ("upgrade", "downgrade"):
        for _ in range(2):  # there and back once more, so each figure is the better of two
            shutil.copy(base if step == "upgrade" else work / "at-0002.sqlite", raw_db)
            shutil.copy(raw_db, app_db)
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
            shutil.copy(app_db, work / "at-0002.sqlite")
        # The whole command as an operator runs it, start-up included.
        shutil.copy(base if step == "upgrade" else work / "at-0002.sqlite", app_db)
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


def targets(results: dict) -> list[dict]:
    """One row per figure: what was measured, its ratio or value, the goal, met or not."""
    rows = []
    if t := results.get("throughput"):
        rows.append(
            {
                "target": "1 /todos ÷ hello-world req/s",
                "figure": f"{t['todos_rps']:,.0f} ÷ {t['hello_rps']:,.0f} req/s",
                "value": f"{t['ratio']:.2f}",
                "goal": "≥ 0.5",
                "met": t["ratio"] >= 0.5,
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
