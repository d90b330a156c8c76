"""Search, flat in table size (issue 35, item 5): the bench user's search at
1,000 and 1,000,000 todos, one request at a time, beside ``/todos`` in the
same run: each size's search ÷ its ``/todos``, and the search's large ÷ small
(target 2's measure). Two queries: the number of the bench user's newest live
todo (a title or two in the whole table: what one looks for), and "number",
which every title holds (the worst case: reported, not held to a goal)."""

import statistics
from contextlib import ExitStack
from pathlib import Path

from tests.live import gunicorn

from . import data
from .load import fresh_cookie, log_in, wrk
from .scenarios import LATENCY_CONNECTIONS


def queries(dataset) -> dict[str, str]:
    """name -> URL. The bench user's todos are every (size / its share)th id
    from 1, the live ones every other (benchmarks.data.todos)."""
    share = min(dataset.size, max(200, dataset.size // 100))
    step = dataset.size / share
    newest_live = int(2 * ((share - 1) // 2) * step) + 1
    return {
        "/search one title": f"/search?q={newest_live}",
        "/search every title": "/search?q=number",
    }


def search(plan, db: str, server_url: str, work: Path) -> dict:
    print("Search: median latency, one request at a time, beside /todos", flush=True)
    datasets = {}
    for label, size in (("small", plan.small), ("large", plan.large)):
        if db == "sqlite":
            build = (data.build_sqlite, work / f"{label}.sqlite", size)
        else:
            build = (data.build_postgres, server_url, f"todoapp_bench_{label}", size)
        datasets[label] = data.timed(f"{size:,} todos", *build)
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    with ExitStack() as stack:
        servers = {
            label: stack.enter_context(gunicorn(dataset.url, logs, workers=2))
            for label, dataset in datasets.items()
        }
        browsers = {label: log_in(server.url) for label, server in servers.items()}
        urls = {label: {"/todos": "/todos", **queries(d)} for label, d in datasets.items()}
        for label, browser in browsers.items():  # the page shows what it found
            for path in urls[label].values():
                status, _, text = browser.request(path)
                if status != 200 or "No todo matches" in text:
                    raise RuntimeError(f"{path} on the {label} database found nothing ({status})")
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
    medians = {
        label: {name: statistics.median(runs) for name, runs in by_name.items()}
        for label, by_name in p50.items()
    }
    result = {}
    for name in urls["small"]:
        if name == "/todos":
            continue
        small, large = medians["small"][name], medians["large"][name]
        result[name] = {
            "small_ms": small,
            "large_ms": large,
            "ratio": large / small,
            "todos_small_ms": medians["small"]["/todos"],
            "todos_large_ms": medians["large"]["/todos"],
            "versus_todos": large / medians["large"]["/todos"],
            "small_url": urls["small"][name],
            "large_url": urls["large"][name],
        }
        print(
            f"  {name}: {small:.2f} ms -> {large:.2f} ms; /todos "
            f"{medians['small']['/todos']:.2f} -> {medians['large']['/todos']:.2f} ms",
            flush=True,
        )
    return result
