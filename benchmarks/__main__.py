"""``python -m benchmarks [--db sqlite|postgres] [--smoke] [--only skew]``: see
README.md, "Benchmarks"."""

import argparse
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from tests.live import gunicorn

from . import data, flaskr, revisions, scenarios, search, skew

RESULTS = Path(__file__).with_name("results")


def machine(db: str, url: str) -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    with open("/proc/meminfo") as meminfo:
        mem_gib = int(meminfo.readline().split()[1]) / 1024**2
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_gib, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    if db == "postgres":
        import psycopg

        with psycopg.connect(data._libpq(url)) as con:
            info["postgresql"] = con.execute("SHOW server_version").fetchone()[0]
    return info


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: prove the harness works")
    parser.add_argument("--out", type=Path, help="where to write the JSON figures")
    parser.add_argument(
        "--only",
        choices=("skew", "search", "live-migration", "lists-migration", "revisions"),
        help="run this scenario alone (target 2 on skewed data: skew; the search's target 2: "
        "search; target 6: live-migration on PostgreSQL, lists-migration or revisions on either) "
        "and merge its figures into the results file, keeping the others",
    )
    parser.add_argument(
        "--since",
        metavar="REVISION",
        help="with --only revisions: build the database at REVISION, then apply each later one",
    )
    args = parser.parse_args()
    if (args.only == "revisions") != bool(args.since):
        parser.error("--only revisions and --since REVISION go together")
    if args.only == "live-migration" and args.db != "postgres":
        parser.error("--only live-migration needs --db postgres")
    plan = scenarios.SMOKE if args.smoke else scenarios.FULL
    out = args.out or RESULTS / f"{'smoke-' if args.smoke else ''}{args.db}.json"
    server_url = os.environ.get("TEST_DATABASE_URL", "")
    if args.db == "postgres" and not server_url.startswith("postgresql"):
        raise SystemExit(
            "--db postgres needs TEST_DATABASE_URL (a PostgreSQL server's maintenance "
            "database); 'make bench DB=postgres' starts a throwaway one."
        )
    started = time.perf_counter()
    if args.only:
        only(args, plan, out, server_url, started)
        return
    results = {"db": args.db, "smoke": args.smoke, "machine": machine(args.db, server_url)}
    print(f"Benchmarks on {args.db}{' (smoke: tiny sizes)' if args.smoke else ''}", flush=True)

    with tempfile.TemporaryDirectory(prefix="todoapp-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        print("Preparing databases (bulk insert):", flush=True)
        datasets = {}
        for label, size in (("small", plan.small), ("large", plan.large)):
            if args.db == "sqlite":
                build = (data.build_sqlite, work / f"{label}.sqlite", size)
            else:
                build = (data.build_postgres, server_url, f"todoapp_bench_{label}", size)
            datasets[label] = data.timed(f"{size:,} todos", *build)

        logs = work / "logs"
        logs.mkdir()
        options = ("--workers", "2")
        hello = stack.enter_context(
            gunicorn(None, logs, app="benchmarks.hello:app", options=options)
        )
        flaskr_db = work / "flaskr.sqlite"
        flaskr.seed(flaskr_db, 50, data.BENCH_USER, data.PASSWORD)
        reference = stack.enter_context(
            gunicorn(
                None,
                logs,
                app="benchmarks.flaskr:app",
                options=options,
                env={"FLASKR_DATABASE": str(flaskr_db)},
            )
        )
        servers = {
            label: stack.enter_context(gunicorn(dataset.url, logs, workers=2))
            for label, dataset in datasets.items()
        }
        results["throughput"] = scenarios.throughput(
            plan, hello, servers["large"], flaskr=reference
        )
        results["flatness"] = scenarios.flatness(plan, datasets, servers)
        results["memory"] = scenarios.memory(servers["large"], datasets["large"])
        if args.db == "sqlite":
            results["purge"] = scenarios.purge(plan, servers["large"], datasets["large"])
    with tempfile.TemporaryDirectory(prefix="todoapp-bench-") as tmp:
        results["skew"] = skew.skewed_pages(plan, args.db, server_url, Path(tmp))
    with tempfile.TemporaryDirectory(prefix="todoapp-bench-") as tmp:
        if args.db == "sqlite":
            results["migrations"] = scenarios.migrations(plan, Path(tmp))
        else:
            results["live_migration"] = scenarios.live_migration(plan, server_url, Path(tmp))
    with tempfile.TemporaryDirectory(prefix="todoapp-bench-") as tmp:
        results["lists_migration"] = scenarios.lists_migration(plan, args.db, server_url, Path(tmp))

    results["seconds"] = round(time.perf_counter() - started, 1)
    report(args, results, out, results["seconds"])


def only(args, plan, out: Path, server_url: str, started: float) -> None:
    """One scenario, its figures merged into the results file already there
    (same database and size), with the date and machine of this run."""
    print(f"Benchmarks on {args.db}, {args.only} only", flush=True)
    results = {"db": args.db, "smoke": args.smoke}
    if out.exists():
        earlier = json.loads(out.read_text())
        if (earlier.get("db"), earlier.get("smoke")) == (args.db, args.smoke):
            results = earlier
    with tempfile.TemporaryDirectory(prefix="todoapp-bench-") as tmp:
        if args.only == "skew":
            figures = skew.skewed_pages(plan, args.db, server_url, Path(tmp))
        elif args.only == "live-migration":
            figures = scenarios.live_migration(plan, server_url, Path(tmp))
        elif args.only == "search":
            figures = search.search(plan, args.db, server_url, Path(tmp))
        elif args.only == "revisions":
            figures = revisions.revisions_under_load(
                plan, args.db, server_url, Path(tmp), args.since
            )
        else:
            figures = scenarios.lists_migration(plan, args.db, server_url, Path(tmp))
    figures["machine"] = machine(args.db, server_url)
    figures["seconds"] = round(time.perf_counter() - started, 1)
    results[args.only.replace("-", "_")] = figures
    report(args, results, out, figures["seconds"])


def report(args, results: dict, out: Path, seconds: float) -> None:
    print()
    print(scenarios.table(results))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nFigures written to {out} ({seconds:.0f} s in all).")
    if not args.smoke:
        missed = [row for row in scenarios.targets(results) if row["met"] is False]
        if missed:
            print("Targets missed: " + ", ".join(row["target"] for row in missed))


if __name__ == "__main__":
    sys.exit(main())
