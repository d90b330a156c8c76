"""Target 6 for the newest revisions: each applied with ``flask db upgrade``
to a database of plan.migration_rows todos while a writer inserts a todo and
updates another every WRITER_PAUSE; its latency alone, and during each.

    python -m benchmarks --db sqlite --only revisions --since <revision>

``--since`` names the revision the database is built at; every revision
after it, up to head, is applied in turn (one ``flask db upgrade <rev>``
each). It is how a new revision's target 6 is measured on both databases.
"""

import threading
import time
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from . import data
from .scenarios import WRITER_PAUSE, Plan, summary

TARGET_MAX_MS = 250  # target 6: no write waits longer than this


def after(since: str) -> list[str]:
    """The revisions an upgrade from ``since`` to head runs, oldest first."""
    script = ScriptDirectory(str(data.ROOT / "migrations"))
    return [rev.revision for rev in script.iterate_revisions("heads", since)][::-1]


def revisions_under_load(plan: Plan, db: str, server_url: str, work: Path, since: str) -> dict:
    rows = plan.migration_rows
    pending = after(since)
    print(f"Revisions under load: {rows:,} todos at {since}, then {', '.join(pending)}", flush=True)
    name = "todoapp_bench_revisions"
    if db == "sqlite":
        build = (data.build_sqlite, work / "revisions.sqlite", rows)
    else:
        build = (data.build_postgres, server_url, name, rows)
    dataset = data.timed(f"{rows:,} todos at {since}", *build, revision=since)
    engine = sa.create_engine(
        dataset.url, connect_args={"timeout": 30} if db == "sqlite" else {}, pool_size=1
    )
    owner = sa.text("SELECT user_id, list_id FROM todos WHERE id = :id")
    insert = sa.text(
        "INSERT INTO todos (user_id, list_id, title, done, created_at, updated_at) "
        "VALUES (:user, :list, :title, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    update = sa.text("UPDATE todos SET done = NOT done WHERE id = :id")
    samples: list[tuple[float, float]] = []
    errors: list[str] = []
    stop = threading.Event()

    def writer():
        with engine.connect() as con:
            user, list_id = con.execute(owner, {"id": 1}).one()
        n = 0
        while not stop.is_set():
            for statement, params in (
                (insert, {"user": user, "list": list_id, "title": f"Written meanwhile {n}"}),
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

    result = {"rows": rows, "since": since, "revisions": {}}
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        alone_from = time.perf_counter()
        time.sleep(plan.baseline_seconds)
        result["writer_alone"] = during(alone_from, time.perf_counter())
        for revision in pending:
            started = time.perf_counter()
            data.flask("db", "upgrade", revision, url=dataset.url)
            ended = time.perf_counter()
            result["revisions"][revision] = {
                "upgrade_s": ended - started,
                "writer_during": during(started, ended),
            }
    finally:
        stop.set()
        thread.join(timeout=60)
    engine.dispose()
    if errors:
        raise RuntimeError(f"errors while the revisions ran: {errors[:5]}")
    if db == "postgres":
        import psycopg

        with psycopg.connect(data._libpq(server_url), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    alone = result["writer_alone"]
    for revision, r in result["revisions"].items():
        during_ = r["writer_during"]
        print(
            f"  {revision}: upgrade {r['upgrade_s']:.1f} s; writer p99 {alone['p99_ms']:.1f} -> "
            f"{during_['p99_ms']:.1f} ms, max {alone['max_ms']:.1f} -> {during_['max_ms']:.1f} ms",
            flush=True,
        )
    return result
