"""``python -m benchmarks.versus REF [--db sqlite|postgres]``: target 1 for
an earlier commit and for this checkout, side by side in one run
(``make bench-versus BEFORE=REF``).

``make bench`` measures one version; a before-and-after figure from two
``make bench`` runs compares two machines as much as two versions, since
the machine's speed moves from run to run here. This serves the commit
``REF`` (a git worktree in a temporary directory, removed at the end) and
this checkout with gunicorn, 2 workers each, on one database of 1,000,000
todos built by this checkout's migrations (so ``REF`` must have the same
head), beside hello-world. Each round opens and closes with hello-world, as
in ``make bench``, and runs every page of target 1 on both versions, the
order of the two swapped from round to round; each run is divided by the
mean of its round's two hello-world runs, and the median of the rounds is
the result. Each version's workers' peak resident memory (VmHWM) follows.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests.live import gunicorn
from todoapp import ROOT

from . import data
from .load import fresh_cookie, log_in, peak_rss_mb, workers, wrk
from .scenarios import THROUGHPUT_CONNECTIONS, THROUGHPUT_PAGES, check_pages, hello_brackets

SIZE = 1_000_000
ROUNDS = 5
SECONDS = 6  # per wrk run, as target 1's


@contextmanager
def worktree(ref: str, directory: Path):
    """A checkout of ``ref`` in ``directory`` with its own ``.venv`` (``make
    install`` there: that commit's locked dependencies, with this checkout's
    uv), removed afterwards."""
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(directory), ref],
        check=True,
    )
    try:
        uv = ROOT / ".tools" / "bin" / "uv"
        uv = str(uv) if uv.exists() else shutil.which("uv")
        subprocess.run(
            ["make", "--no-print-directory", "-C", str(directory), "install"]
            + ([f"UV={uv}"] if uv else []),
            check=True,
        )
        yield directory
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(directory)], check=False
        )


def measure(servers: dict, hello, rounds: int, seconds: int) -> dict:
    """{(version, page): [ratio per round]}, each run ÷ its round's hello-world."""
    browsers = {version: log_in(server.url) for version, server in servers.items()}
    for version, browser in browsers.items():
        check_pages(browser, f"{version} ")
    args = {"seconds": seconds, "connections": THROUGHPUT_CONNECTIONS}
    hello_runs = [wrk(hello.url + "/", **args)["rps"]]
    runs: dict = {(version, path): [] for path in THROUGHPUT_PAGES for version in servers}
    versions = list(servers)
    for n in range(rounds):
        order = versions if n % 2 == 0 else versions[::-1]
        for path in THROUGHPUT_PAGES:
            for version in order:
                cookie = fresh_cookie(browsers[version], path)
                url = servers[version].url + path
                runs[(version, path)].append(wrk(url, cookie=cookie, **args)["rps"])
        hello_runs.append(wrk(hello.url + "/", **args)["rps"])
        print(
            f"  round {n + 1}: hello {hello_runs[-2]:,.0f} / {hello_runs[-1]:,.0f} req/s; "
            + ", ".join(f"{v} {p} {r[-1]:,.0f}" for (v, p), r in runs.items()),
            flush=True,
        )
    brackets = hello_brackets(hello_runs)
    return {side: [r / h for r, h in zip(rps, brackets, strict=True)] for side, rps in runs.items()}


def table(ratios: dict, before: str) -> str:
    lines = [
        f"| page ÷ hello-world | {before} (before) | this checkout (after) "
        "| after ÷ before, paired |",
        "|---|---:|---:|---:|",
    ]
    for path in THROUGHPUT_PAGES:
        old, new = ratios[("before", path)], ratios[("after", path)]
        paired = statistics.median(b / a for a, b in zip(old, new, strict=True))
        lines.append(
            f"| `{path}` | {statistics.median(old):.3f} | {statistics.median(new):.3f} "
            f"| {paired:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.versus", description=__doc__)
    parser.add_argument("before", help="the earlier commit (any git revision)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--size", type=int, default=SIZE)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--seconds", type=int, default=SECONDS)
    args = parser.parse_args()
    server_url = os.environ.get("TEST_DATABASE_URL", "")
    if args.db == "postgres" and not server_url.startswith("postgresql"):
        raise SystemExit("--db postgres needs TEST_DATABASE_URL (see make bench-versus)")
    before = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.before],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"Target 1 on {args.db}: {before} against this checkout, {args.rounds} rounds")
    with tempfile.TemporaryDirectory(prefix="todoapp-versus-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        old = stack.enter_context(worktree(before, work / "before"))
        if args.db == "sqlite":
            build = (data.build_sqlite, work / "versus.sqlite", args.size)
        else:
            build = (data.build_postgres, server_url, "todoapp_versus", args.size)
        dataset = data.timed(f"{args.size:,} todos", *build)
        logs = work / "logs"
        logs.mkdir()
        options = ("--workers", "2")
        hello = stack.enter_context(
            gunicorn(None, logs, app="benchmarks.hello:app", options=options)
        )
        servers = {
            "before": stack.enter_context(gunicorn(dataset.url, logs, workers=2, root=old)),
            "after": stack.enter_context(gunicorn(dataset.url, logs, workers=2)),
        }
        ratios = measure(servers, hello, args.rounds, args.seconds)
        peaks = {
            side: [peak_rss_mb(pid) for pid in workers(server.process.pid)]
            for side, server in servers.items()
        }
    print()
    print(table(ratios, before))
    print()
    for side, label in (("before", before), ("after", "this checkout")):
        print(f"Worker peak RSS, {label}: {' / '.join(f'{p:.1f}' for p in peaks[side])} MB")


if __name__ == "__main__":
    main()
