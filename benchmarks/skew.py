"""Target 2 on skewed data (issue 36): a page's median latency after one
user's data is made lopsided ÷ before, one request at a time.

    python -m benchmarks --db sqlite --only skew

Each scenario is one user's, on a database of plan.skew_base todos in
data.py's shape, to which each user gets a list by bulk insert:

- trashed list: the bench user's list of plan.skew todos goes to the trash
  through its Delete button (POST /lists/<id>/delete). Pages: /trash (the
  list is one entry there) and /todos.
- trashed newest: user002's list of plan.skew todos above SKEW_BELOW older
  ones; the newest plan.skew go to the trash, as trash_todo leaves each
  (one UPDATE: no button trashes that many at once). Pages: the list's page
  and /todos, which now step past them.
- done above open: user003's list of the same shape; the newest plan.skew
  are marked done, as toggle_todo leaves each (one UPDATE). Pages: the
  list's, and its last page of open todos (``<foot>``: a cursor to its
  PAGE oldest), where after the skew the Completed section stands: its
  bounded count and its newest PAGE done todos, collapsed.
- dated, trashed or done: user004's list of the same shape, every todo
  dated: the older ones half due today, half yesterday; the newest plan.skew
  half due today, half SKEW_OVERDUE_DAYS ago (so the most overdue), and the
  skew trashes half of them and marks the other half done (one UPDATE each),
  the rows /todos/today and /todos/overdue must skip. Pages: those two.
- matches trashed: user005's list of the same shape, every title holding
  SEARCH_WORD; the newest plan.skew go to the trash (one UPDATE). Page:
  /search?q=SEARCH_WORD, whose todos section must step past them (its
  trash section then lists some of them: only the todos section's rows
  are counted).

The database is built once and copied, so "before" is the copy as built and
"after" the copy with the skews applied; each is served by gunicorn (2
workers), and every round measures each page on both, as target 2
alternates between its two sizes, so a busy machine moves both sides alike.
"""

import shutil
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text, update

from tests.live import gunicorn
from todoapp.models import List, Todo, list_name_key

from . import data
from .load import fresh_cookie, log_in, wrk
from .scenarios import LATENCY_CONNECTIONS, SKEW_GOAL, THROUGHPUT_PAGES, Plan

SKEW_BELOW = 1_000  # the older live, open todos under a list's skewed ones
SKEW_OVERDUE_DAYS = 30  # how long ago the skewed overdue todos were due
SEARCH_WORD = "matches"  # in every title of the search scenario's list
INSERT_BATCH = 10_000
DATABASES = ("todoapp_bench_skew_before", "todoapp_bench_skew_after")
ROW = THROUGHPUT_PAGES["/todos"]  # how a page's todo rows are counted


@dataclass(frozen=True)
class Scenario:
    name: str
    user: str
    user_id: int
    skewed: int  # the list's todos the skew changes: its newest
    below: int  # and the older ones under them, left as they are
    pages: tuple[str, ...]  # "/lists/<list>" stands for the list's page


SCENARIOS = (
    ("trashed list", data.BENCH_USER, 1, 0, ("/trash", "/todos")),
    ("trashed newest", "user002", 2, SKEW_BELOW, ("/lists/<list>", "/todos")),
    ("done above open", "user003", 3, SKEW_BELOW, ("/lists/<list>", "/lists/<list>?before=<foot>")),
    ("dated, trashed or done", "user004", 4, SKEW_BELOW, ("/todos/today", "/todos/overdue")),
    ("matches trashed", "user005", 5, SKEW_BELOW, (f"/search?q={SEARCH_WORD}",)),
)
DATED = "dated, trashed or done"
PAGE = 50  # the rows of a page (the app's TODOS_PER_PAGE)


def scenarios(plan: Plan) -> list[Scenario]:
    return [
        Scenario(name, user, user_id, plan.skew, below, pages)
        for name, user, user_id, below, pages in SCENARIOS
    ]


def due_on(scenario: Scenario, n: int, today: date) -> date | None:
    """The due date of the list's ``n``th todo (from 0, oldest first): only
    the dated scenario's are dated, every other one due today; the others
    yesterday (the older ones) or SKEW_OVERDUE_DAYS ago (the skewed ones)."""
    if scenario.name != DATED:
        return None
    if n % 2 == 0:
        return today
    days = 1 if n < scenario.below else SKEW_OVERDUE_DAYS
    return today - timedelta(days=days)


def add_list(engine, scenario: Scenario) -> int:
    """A live list of the scenario's user with ``below + skewed`` open todos,
    by bulk insert, oldest first (so the newest have the highest ids); its id.
    Today is the date in UTC, as the pages see it without a ``tz`` cookie."""
    name = f"Skewed: {scenario.name}"
    total = scenario.below + scenario.skewed
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    started = time.perf_counter()
    with engine.begin() as con:
        list_id = con.execute(
            insert(List)
            .values(user_id=scenario.user_id, name=name, name_key=list_name_key(name))
            .returning(List.id)
        ).scalar_one()
        for first in range(0, total, INSERT_BATCH):
            rows = []
            for n in range(first, min(first + INSERT_BATCH, total)):
                moment = now - timedelta(seconds=total - n)
                rows.append(
                    {
                        "user_id": scenario.user_id,
                        "list_id": list_id,
                        "title": f"{name}, todo {n + 1}",
                        "done": False,
                        "due_on": due_on(scenario, n, today),
                        "created_at": moment,
                        "updated_at": moment,
                    }
                )
            con.execute(insert(Todo), rows)
    print(
        f"  {scenario.user}: list {list_id} of {total:,} todos "
        f"({time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    return list_id


def newest(con, list_id: int, count: int) -> int:
    """The lowest id among the list's ``count`` newest todos."""
    return con.execute(
        select(Todo.id)
        .where(Todo.list_id == list_id)
        .order_by(Todo.id.desc())
        .offset(count - 1)
        .limit(1)
    ).scalar_one()


def apply_skew(engine, browser, scenario: Scenario, list_id: int) -> float:
    """Make the scenario's skew on the "after" database; the seconds it took."""
    started = time.perf_counter()
    if scenario.name == "trashed list":
        status = browser.submit(f"/lists/{list_id}/delete")[0]
        if status != 302:
            raise RuntimeError(f"deleting list {list_id} answered HTTP {status}")
    else:
        now = datetime.now(UTC)
        with engine.begin() as con:
            first = newest(con, list_id, scenario.skewed)
            skewed = (Todo.list_id == list_id) & (Todo.id >= first)
            trash = {"deleted_at": now, "deleted_by": scenario.user_id}
            if scenario.name == DATED:
                # (id - first) % 4: 0 and 1 (due today, overdue) trashed,
                # 2 and 3 done, so each page loses both kinds.
                half = (Todo.id - first) % 4 < 2
                changes = [(skewed & half, trash), (skewed & ~half, {"done": True})]
                expected = scenario.skewed // 2
            elif scenario.name in ("trashed newest", "matches trashed"):
                changes, expected = [(skewed, trash)], scenario.skewed
            else:
                changes, expected = [(skewed, {"done": True})], scenario.skewed
            for where, change in changes:
                done = con.execute(update(Todo).where(where).values(updated_at=now, **change))
                if done.rowcount != expected:
                    raise RuntimeError(f"{scenario.name}: changed {done.rowcount} todos")
    return time.perf_counter() - started


def check_after(engine, scenario: Scenario, list_id: int) -> None:
    """The skew is in place: the newest todos are trashed or done, the older
    ones live and open, as the scenario says."""
    with engine.connect() as con:
        live, trashed, done = con.execute(
            select(
                func.count().filter(Todo.deleted_at.is_(None)),
                func.count().filter(Todo.deleted_at.is_not(None)),
                func.count().filter(Todo.done),
            ).where(Todo.list_id == list_id)
        ).one()
    expected = {
        "trashed list": (0, scenario.skewed, 0),
        "trashed newest": (scenario.below, scenario.skewed, 0),
        "done above open": (scenario.skewed + scenario.below, 0, scenario.skewed),
        DATED: (scenario.below + scenario.skewed // 2, scenario.skewed // 2, scenario.skewed // 2),
        "matches trashed": (scenario.below, scenario.skewed, 0),
    }[scenario.name]
    if (live, trashed, done) != expected:
        raise RuntimeError(f"{scenario.name}: live, trashed, done = {live, trashed, done}")


def rows_shown(html: str) -> int:
    """A page's todo rows; on the search page, its todos section's alone
    (its lists and trash sections follow it, in rows of the same class)."""
    main = html.split('<section class="search-section"', 1)[0]
    # A list's Completed section follows its open rows.
    return main.split('<details class="completed"', 1)[0].count(ROW)


def foot_cursor(engine, list_id: int) -> int:
    """A cursor to the list's last page: before its (PAGE + 1)th oldest todo."""
    with engine.connect() as con:
        return con.execute(
            select(Todo.id).where(Todo.list_id == list_id).order_by(Todo.id).offset(PAGE).limit(1)
        ).scalar_one()


def _copy(db: str, server_url: str, before: data.Dataset, work: Path) -> str:
    """A copy of the built database, for the skews; its URL."""
    if db == "sqlite":
        copy = work / "skew-after.sqlite"
        shutil.copy(before.url.removeprefix("sqlite:///"), copy)
        return f"sqlite:///{copy}"
    import psycopg

    with psycopg.connect(data._libpq(server_url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASES[1]}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DATABASES[1]}" TEMPLATE "{DATABASES[0]}"')
    return data.postgres_url(server_url, DATABASES[1])


def _engine(url: str):
    return create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})


def _settle(engine, db: str) -> None:
    """After a bulk load: PostgreSQL's VACUUM ANALYZE (what autovacuum does
    after one, as data.py does), SQLite's log written back."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
        settle = "VACUUM ANALYZE" if db == "postgres" else "PRAGMA wal_checkpoint(TRUNCATE)"
        con.execute(text(settle))


def skewed_pages(plan: Plan, db: str, server_url: str, work: Path) -> dict:
    """Target 2 on skewed data: each scenario's pages, median latency after ÷ before."""
    chosen = scenarios(plan)
    print(
        f"Skewed data: {plan.skew:,} todos skewed per scenario, on {plan.skew_base:,} todos ({db})",
        flush=True,
    )
    if db == "sqlite":
        build = (data.build_sqlite, work / "skew-before.sqlite", plan.skew_base)
    else:
        build = (data.build_postgres, server_url, DATABASES[0], plan.skew_base)
    try:
        before = data.timed(f"{plan.skew_base:,} todos", *build)
        engine = _engine(before.url)
        list_ids = {s.name: add_list(engine, s) for s in chosen}
        feet = {s.name: foot_cursor(engine, list_ids[s.name]) for s in chosen}
        _settle(engine, db)
        engine.dispose()
        after_url = _copy(db, server_url, before, work)
        urls = {"before": before.url, "after": after_url}
        return _measure(plan, chosen, list_ids, feet, urls, work)
    finally:
        if db == "postgres":
            import psycopg

            with psycopg.connect(data._libpq(server_url), autocommit=True) as admin:
                for name in DATABASES:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _autovacuum(url: str, since: datetime) -> dict:
    """Whether autovacuum tidied ``todos`` on the skewed copy while it was
    measured (PostgreSQL): the old versions of the rows the skews changed
    are read past until it does."""
    engine = _engine(url)
    try:
        with engine.connect() as con:
            vacuum, analyze, dead = con.execute(
                text(
                    "SELECT last_autovacuum, last_autoanalyze, n_dead_tup"
                    " FROM pg_stat_user_tables WHERE relname = 'todos'"
                )
            ).one()
    finally:
        engine.dispose()
    seconds = {
        name: None if at is None or at < since else round((at - since).total_seconds(), 1)
        for name, at in (("vacuum_after_s", vacuum), ("analyze_after_s", analyze))
    }
    print(f"  autovacuum of todos, seconds after the skews: {seconds}; dead rows {dead:,}")
    return seconds | {"dead_rows_at_end": dead}


def _measure(plan: Plan, chosen, list_ids: dict, feet: dict, urls: dict, work: Path) -> dict:
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    result = {"todos": plan.skew_base, "skewed": plan.skew, "below": SKEW_BELOW, "scenarios": {}}
    with (
        gunicorn(urls["before"], logs, workers=2) as before,
        gunicorn(urls["after"], logs, workers=2) as after,
    ):
        servers = {"before": before, "after": after}
        browsers = {
            (side, s.name): log_in(server.url, s.user)
            for side, server in servers.items()
            for s in chosen
        }
        after_engine = _engine(urls["after"])
        skewed_at = datetime.now(UTC)
        try:
            for s in chosen:
                seconds = apply_skew(after_engine, browsers["after", s.name], s, list_ids[s.name])
                check_after(after_engine, s, list_ids[s.name])
                print(f"  {s.name} ({s.user}): skew applied in {seconds:.1f} s", flush=True)
                result["scenarios"][s.name] = {
                    "user": s.user,
                    "list_id": list_ids[s.name],
                    "skew_s": seconds,
                    "pages": {},
                }
        finally:
            after_engine.dispose()
        measured = [
            (
                s,
                page,
                page.replace("<list>", str(list_ids[s.name])).replace("<foot>", str(feet[s.name])),
            )
            for s in chosen
            for page in s.pages
        ]
        for s, _, path in measured:
            for side in servers:
                shown = rows_shown(browsers[side, s.name].request(path)[2])
                if shown != 50:
                    raise RuntimeError(f"{s.name}, {side}: {path} shows {shown} rows, not 50")
        p50 = {(s.name, page, side): [] for s, page, _ in measured for side in servers}
        rounds_at = []
        for _ in range(plan.rounds):
            rounds_at.append(round((datetime.now(UTC) - skewed_at).total_seconds(), 1))
            for s, page, path in measured:
                for side, server in servers.items():
                    run = wrk(
                        server.url + path,
                        seconds=plan.seconds,
                        connections=LATENCY_CONNECTIONS,
                        cookie=fresh_cookie(browsers[side, s.name], path),
                    )
                    p50[s.name, page, side].append(run["p50_ms"])
        result["rounds_after_skews_s"] = rounds_at
        if urls["after"].startswith("postgresql"):
            result["autovacuum"] = _autovacuum(urls["after"], skewed_at)
    for s, page, path in measured:
        first = statistics.median(p50[s.name, page, "before"])
        then = statistics.median(p50[s.name, page, "after"])
        ratio = then / first
        result["scenarios"][s.name]["pages"][page] = {
            "before_ms": first,
            "after_ms": then,
            "ratio": ratio,
            "url": path,
            "rounds_before_ms": p50[s.name, page, "before"],
            "rounds_after_ms": p50[s.name, page, "after"],
        }
        flag = f"  <-- OVER {SKEW_GOAL}x" if ratio > SKEW_GOAL else ""
        print(
            f"  {s.name}, {page}: {first:.2f} ms -> {then:.2f} ms ({ratio:.2f}x){flag}",
            flush=True,
        )
    return result
