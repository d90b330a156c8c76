"""The list and trash queries use the partial indexes made for them, on
SQLite (EXPLAIN QUERY PLAN) and on PostgreSQL (EXPLAIN): a page costs the same
at a thousand todos as at a million."""

import gc
import importlib
import pkgutil
import re
from datetime import date, timedelta
from itertools import product

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql

from todoapp import services
from todoapp.extensions import db
from todoapp.models import SEARCH_INDEX
from todoapp.services import todos
from todoapp.services.pages import Keyset, MergedKeyset

from .conftest import BACKEND, add_list, add_todo, add_user, dispose, make_app

DEEP = "1700000000000000-0-3"  # a trash cursor: deleted at 2023-11-14, a todo, id 3
DEEP_LIST = "1700000000000000-1-3"  # the same moment, a list
# The user's date, as the views pass it: any day will do.
DAY = date(2030, 1, 15)
DUE_DEEP = f"{(DAY - timedelta(days=3)).toordinal()}-3"  # due three days before, id 3
TODAY_DEEP = f"{DAY.toordinal()}-4"  # due on the day, id 4
# The Completed lists: done at that moment, id 3 (in the one part of their chain).
DONE_DEEP = "0-1700000000000000-3"


def settle(app):
    """What autovacuum does after a bulk insert, done now rather than whenever
    it wakes: PostgreSQL's statistics, and its GIN index's pending list merged
    into the index. (SQLite keeps statistics only when asked, and no test asks.)"""
    if BACKEND == "postgresql":
        with app.app_context(), db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE todos, lists"
            )


def filled_once(fill, *, settled=True):
    """A module-scoped fixture for the tests that only read their data: one
    database migrated as every test's is (the ``databases`` fixture), filled
    by ``fill(app)`` and settled once for all of them. It gives
    ``(app, what fill returned)``. A test that adds rows takes ``app`` and
    calls ``fill`` on its own database instead.

    Unsettled, the tables are kept without statistics for as long as the
    module runs: autovacuum is turned off for them, which would otherwise
    analyze them at a moment of its choosing, between two tests."""

    @pytest.fixture(scope="module")
    def fixture(databases):
        url = databases.migrated()
        app = make_app(url)
        try:
            if BACKEND == "postgresql" and not settled:
                with app.app_context(), db.engine.begin() as conn:
                    for table in ("todos", "lists"):
                        conn.exec_driver_sql(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")
            found = fill(app)
            if settled:
                settle(app)
            yield app, found
        finally:
            dispose(app)
            databases.drop(url)

    return fixture


def an_owner(app):
    """alice, with a little of everything the pages show, beside bob's open
    todos; alice's id."""
    from todoapp.services import lists

    from .test_completed import add_many

    alice, bob = add_user(app, "alice"), add_user(app, "bob")
    # Another user's open todos, a few pages of index entries: each partial
    # index then has the size its condition gives it, as in any real table,
    # where PostgreSQL would otherwise find every index one page and tie.
    with app.app_context():
        bobs_inbox = lists.inbox_of(bob)
    add_many(app, bob, bobs_inbox, 2000, done=False)
    for n in range(6):
        add_todo(app, alice, f"todo {n}", trashed=n % 2 == 1)
        add_todo(app, alice, f"due {n}", due_on=DAY - timedelta(days=n % 3))
        add_todo(app, alice, f"done {n}", done=True)
    errands = add_list(app, alice, "Errands", todos=3)
    add_todo(app, alice, "errand with a date", list_id=errands, due_on=DAY)
    add_todo(app, alice, "errand done", list_id=errands, done=True)
    add_list(app, alice, "Old", todos=2, trashed=True)
    return alice


# Planned without statistics, as the index tests below were written: with
# them, PostgreSQL reads some open lists through ix_todos_live or pk_todos.
owned = filled_once(an_owner, settled=False)


def statements_run(run) -> list[tuple]:
    """Every statement ``run()`` sends, with its parameters, in order (inside
    an app context; the session is let go of afterwards)."""
    seen = []

    def record(conn, cursor, statement, parameters, *args):
        # A list of positional values would read as many rows of them.
        parameters = tuple(parameters) if isinstance(parameters, list) else parameters
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    db.session.remove()
    return seen


def first_on(statements, table="todos", containing="") -> tuple:
    """The first of ``statements`` on ``table`` whose SQL holds ``containing``."""
    return next((s, p) for s, p in statements if f"FROM {table}" in s and containing in s)


def plan_of(app, run, table="todos", containing=""):
    """Run a service call, catch its first query on ``table`` (whose SQL
    holds ``containing``), and EXPLAIN it."""
    with app.app_context():
        statement, parameters = first_on(statements_run(run), table, containing)
        # A transaction of its own (the session reads in autocommit), for SET LOCAL.
        with db.engine.begin() as conn:
            if BACKEND == "sqlite":
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
                lines = [row[-1] for row in rows]
            else:
                # The test tables are tiny, so PostgreSQL would rightly scan them whole;
                # with sequential scans priced out, the plan shows the index it picks.
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                lines = [row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)]
        return "\n".join(lines)


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (lambda owner: todos.list_todos(owner, 50), "ix_todos_open"),
        (lambda owner: todos.list_todos(owner, 50, before="4"), "ix_todos_open"),
        (lambda owner: todos.list_todos(owner, 50, after="2"), "ix_todos_open"),
        (lambda owner: todos.list_trash(owner, 50), "ix_todos_own_trash"),
        (lambda owner: todos.list_trash(owner, 50, before=DEEP), "ix_todos_own_trash"),
        (lambda owner: todos.list_trash(owner, 50, after=DEEP), "ix_todos_own_trash"),
        (lambda owner: todos.list_all_trash(50), "ix_todos_trash_entries"),
        (lambda owner: todos.list_all_trash(50, before=DEEP), "ix_todos_trash_entries"),
        (lambda owner: todos.list_all_trash(50, owner_id=owner), "ix_todos_own_trash"),
        (lambda owner: todos.count_expired(30), "ix_todos_trash_entries"),
        (lambda owner: todos.list_in_list(errands(owner), 50), "ix_todos_list_open"),
        (lambda owner: todos.list_in_list(errands(owner), 50, before="4"), "ix_todos_list_open"),
        (lambda owner: todos.list_trash(owner, 50, before=DEEP_LIST), "ix_todos_own_trash"),
        (lambda owner: todos.list_due_today(owner, DAY, 50), "ix_todos_due"),
        (lambda owner: todos.list_due_today(owner, DAY, 50, before=TODAY_DEEP), "ix_todos_due"),
        (lambda owner: todos.list_due_today(owner, DAY, 50, after=TODAY_DEEP), "ix_todos_due"),
        (lambda owner: todos.list_overdue(owner, DAY, 50), "ix_todos_due"),
        (lambda owner: todos.list_overdue(owner, DAY, 50, before=DUE_DEEP), "ix_todos_due"),
        (lambda owner: todos.list_overdue(owner, DAY, 50, after=DUE_DEEP), "ix_todos_due"),
        (lambda owner: todos.list_in_list_by_due(errands(owner), 50), "ix_todos_list_due_open"),
        (
            lambda owner: todos.list_in_list_by_due(errands(owner), 50, before=f"0-{DUE_DEEP}"),
            "ix_todos_list_due_open",
        ),
        (
            lambda owner: todos.list_in_list_by_due(errands(owner), 50, before="1-4"),
            "ix_todos_list_open",
        ),
        (lambda owner: todos.list_completed(owner, 50), "ix_todos_completed"),
        (lambda owner: todos.list_completed(owner, 50, before=DONE_DEEP), "ix_todos_completed"),
        (lambda owner: todos.list_completed(owner, 50, after=DONE_DEEP), "ix_todos_completed"),
        (lambda owner: todos.count_completed(owner), "ix_todos_completed"),
        (
            lambda owner: todos.list_in_list(errands(owner), 50, done=True),
            "ix_todos_list_completed",
        ),
        (
            lambda owner: todos.list_in_list(errands(owner), 50, before=DONE_DEEP, done=True),
            "ix_todos_list_completed",
        ),
        (
            lambda owner: todos.list_in_list(errands(owner), 50, after=DONE_DEEP, done=True),
            "ix_todos_list_completed",
        ),
        (lambda owner: todos.count_completed_in_list(errands(owner)), "ix_todos_list_completed"),
        (lambda owner: todos.list_in_list(inbox(owner), 50), "ix_todos_list_open"),
        (
            lambda owner: todos.list_in_list(inbox(owner), 50, done=True),
            "ix_todos_list_completed",
        ),
        (
            lambda owner: todos.list_in_list(inbox(owner), 50, before=DONE_DEEP, done=True),
            "ix_todos_list_completed",
        ),
        (lambda owner: todos.count_completed_in_list(inbox(owner)), "ix_todos_list_completed"),
    ],
    ids=[
        "list",
        "list, older page",
        "list, newer page",
        "trash",
        "trash, older page",
        "trash, newer page",
        "admin trash",
        "admin trash, older page",
        "admin trash of one owner",
        "expired count",
        "one list",
        "one list, older page",
        "trash, older page from a list's cursor",
        "due today",
        "due today, older page",
        "due today, newer page",
        "overdue",
        "overdue, older page",
        "overdue, newer page",
        "one list by due date",
        "one list by due date, older page",
        "one list by due date, undated page",
        "completed",
        "completed, older page",
        "completed, newer page",
        "completed count",
        "one list's completed",
        "one list's completed, older page",
        "one list's completed, newer page",
        "one list's completed count",
        "the Inbox",
        "the Inbox's completed",
        "the Inbox's completed, older page",
        "the Inbox's completed count",
    ],
)
def test_the_query_uses_its_index(owned, query, index):
    app, owner = owned
    plan = plan_of(app, lambda: query(owner))
    assert index in plan, plan
    if BACKEND == "sqlite":
        assert reads_a_page_through_the_index(plan, "todos"), plan


def reads_a_page_through_the_index(plan: str, table: str) -> bool:
    """SQLite neither scans the table nor sorts its rows: the index gives them
    in key order. The one sort it may make is of a member's page where a list
    is a UNION ALL of statements (pages._union): "SCAN anon_1" reads a
    subquery of a page and one rows, and that page is what is sorted."""
    lines = plan.splitlines()
    sorts_a_page = all(
        i and lines[i - 1].startswith("SCAN anon_")
        for i, line in enumerate(lines)
        if "TEMP B-TREE" in line
    )
    return f"SCAN {table}" not in plan and sorts_a_page


def errands(owner):
    from todoapp.services import lists

    return lists.get_list(next(r.id for r in lists.list_lists(owner) if r.name == "Errands"))


def inbox(owner):
    from todoapp.services import lists

    return lists.get_list(lists.inbox_of(owner))


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (lambda owner: todos.list_trash(owner, 50), "ix_lists_trash_owner"),
        (lambda owner: todos.list_trash(owner, 50, before=DEEP), "ix_lists_trash_owner"),
        (lambda owner: todos.list_all_trash(50), "ix_lists_trash"),
        (lambda owner: todos.list_all_trash(50, before=DEEP_LIST), "ix_lists_trash"),
    ],
    ids=["trash", "trash, older page", "admin trash", "admin trash, older page"],
)
def test_the_lists_half_of_a_trash_uses_its_index(owned, query, index):
    app, owner = owned
    plan = plan_of(app, lambda: query(owner), table="lists")
    assert index in plan, plan
    if BACKEND == "sqlite":
        assert reads_a_page_through_the_index(plan, "lists"), plan


def _every_keyset():
    """Each list of the app read a page at a time: the Keysets and
    MergedKeysets of the services' modules, also those kept in a dict."""
    for info in pkgutil.iter_modules(services.__path__, services.__name__ + "."):
        for name, value in vars(importlib.import_module(info.name)).items():
            found = value.values() if isinstance(value, dict) else [value]
            for i, keyset in enumerate(found):
                if isinstance(keyset, (Keyset, MergedKeyset)):
                    yield f"{info.name.rsplit('.', 1)[1]}.{name}[{i}]", keyset


def _page_statements(keyset):
    """Every statement ``keyset`` makes: the first page, and beyond a cursor."""
    if isinstance(keyset, Keyset):
        return [keyset._query(shape, 50) for shape in ("first", "older", "newer")]
    hows = product(("tie", "with", "past"), repeat=len(keyset.branches))
    first = (None,) * len(keyset.branches)
    return [keyset._query(first, True, 50)] + [
        keyset._query(how, older, 50) for how in hows for older in (True, False)
    ]


KEYSETS = dict(_every_keyset())


def test_every_paged_list_is_found():
    # Every Keyset and MergedKeyset the app made is one the test below checks,
    # and there are some of each, so that it cannot pass on none.
    made = {id(o) for o in gc.get_objects() if isinstance(o, (Keyset, MergedKeyset))}
    kinds = {type(keyset).__name__ for keyset in KEYSETS.values()}
    assert made == {id(keyset) for keyset in KEYSETS.values()}, sorted(KEYSETS)
    assert kinds == {"Keyset", "MergedKeyset"}, sorted(KEYSETS)


# The values that say whose rows a page shows and where it starts.
HIDDEN = r"(?:key_\d+|owner_id|list_id)"


@pytest.mark.parametrize("name", sorted(KEYSETS))
def test_the_planner_never_sees_an_owner_or_a_cursor(name):
    """An owner, a list and a cursor's values reach PostgreSQL only as
    ``(SELECT $n)``, so each page statement gets one plan for every owner
    and cursor, which the server keeps (pages.planned_once). Seen by the
    planner, a cursor near the end of a long list, or the owner of most of
    the trash, was planned anew on every request."""
    seen = 0
    for query in _page_statements(KEYSETS[name]):
        sql = str(query.stmt.compile(dialect=postgresql.dialect()))
        every = re.findall(rf"%\({HIDDEN}\)s", sql)
        hidden = re.findall(rf"\(SELECT %\({HIDDEN}\)s(?:::[A-Z ]+)? AS anon_\d+\)", sql)
        assert len(hidden) == len(every), sql
        seen += len(every)
    assert seen  # every list has cursors


# --- Skewed data: a page reads only the rows it shows ------------------------------

SKEW = 500  # rows hidden from a page, many more than it shows
PER_PAGE = 5
# Every value a page statement may take; each list's statements use their own.
SKEWED_PARAMS = {
    "owner_id": None,
    "list_id": None,
    "user_id": None,
    "action": "trash",
    "today": DAY,
    "query": "inbox",  # the search's: the titles "inbox <n>" of the fixture below
}
MANY = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
INSERT INTO todos (user_id, list_id, title, done, created_at, updated_at,
                   deleted_at, deleted_by, trashed_with_list, due_on)
SELECT :owner, :list_id, 'hidden', :done, :now, :now, :deleted_at, :deleted_by, :with_list, :due_on
FROM n
"""


@pytest.fixture
def skew(app, alice, make_todo, make_list):
    """alice's lists and trash with a little of everything the pages show,
    and a function that hides SKEW rows from every page the way users do:
    a list of SKEW todos trashed in one click, and SKEW todos trashed one by
    one (newest first) above a live list's todos. Returns (params, hide)."""
    from todoapp.models import UTCDateTime, utcnow
    from todoapp.services import lists

    big = make_list(alice, "Big", todos=3 * PER_PAGE)
    for n in range(3 * PER_PAGE):
        make_todo(alice, f"trashed {n}", trashed=True)
        make_todo(alice, f"inbox {n}")
        # due today, overdue, and in Big by due date
        make_todo(alice, f"due {n}", list_id=big, due_on=DAY - timedelta(days=n % 2))
    gone = make_list(alice, "Gone")
    params = {**SKEWED_PARAMS, "owner_id": alice, "list_id": big, "user_id": alice}

    def hide():
        when = sa.bindparam("now", type_=UTCDateTime())
        deleted = sa.bindparam("deleted_at", type_=UTCDateTime())
        due = sa.bindparam("due_on", type_=sa.Date())
        insert = sa.text(MANY).bindparams(when, deleted, due)
        later = utcnow()
        rows = {
            "owner": alice,
            "count": SKEW,
            "now": later,
            "done": False,
            "with_list": False,
            "due_on": DAY,  # hidden from the due-date pages too
        }
        with app.app_context(), db.engine.begin() as conn:
            # SKEW live todos in Gone, which is then trashed with them in one click;
            conn.execute(insert, {**rows, "list_id": gone, "deleted_at": None, "deleted_by": None})
            # the newest SKEW todos of Big, each trashed on its own.
            conn.execute(insert, {**rows, "list_id": big, "deleted_at": later, "deleted_by": alice})
        with app.app_context():
            lists.trash_list(gone, alice, actor_id=alice)
            if BACKEND == "postgresql":
                with db.engine.begin() as conn:
                    conn.exec_driver_sql("ANALYZE todos")

    return params, hide


def work_of(app, keyset, params):
    """What the database does for each page statement of ``keyset`` (the
    first page and the one after it): SQLite's virtual-machine steps, or the
    rows PostgreSQL's scans of todos read, returned or dropped by a filter."""

    def both_pages():
        first = keyset.page(params, PER_PAGE)
        if first.older:
            keyset.page(params, PER_PAGE, before=first.older)

    with app.app_context():
        return [cost(statement, parameters) for statement, parameters in statements_run(both_pages)]


def cost(statement, parameters) -> int:
    with db.engine.begin() as conn:
        if BACKEND == "sqlite":
            raw = conn.connection.driver_connection
            steps = [0]

            def count():
                steps[0] += 1

            raw.set_progress_handler(count, 1)
            try:
                conn.exec_driver_sql(statement, parameters).all()
            finally:
                raw.set_progress_handler(None, 1)
            return steps[0]
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        [[plan]] = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
        return rows_read(plan[0]["Plan"])


def rows_read(node) -> int:
    """Rows the plan's scans of todos read: those they returned, and those a
    filter or a recheck dropped after reading them."""
    read = 0
    if node.get("Relation Name") == "todos":
        loops = node.get("Actual Loops", 1)
        read += loops * (
            node.get("Actual Rows", 0)
            + node.get("Rows Removed by Filter", 0)
            + node.get("Rows Removed by Index Recheck", 0)
        )
    return read + sum(rows_read(child) for child in node.get("Plans", ()))


@pytest.mark.parametrize("name", sorted(KEYSETS))
def test_a_page_reads_no_more_when_rows_are_hidden_from_it(app, skew, name):
    """Every paged list (found as above), before and after SKEW rows are
    hidden from it: whatever it reads beyond its page it must have dropped
    through its index's condition, not read and dropped by a filter. A page
    that stepped over the hidden rows would read SKEW more."""
    params, hide = skew
    before = work_of(app, KEYSETS[name], params)
    hide()
    after = work_of(app, KEYSETS[name], params)
    assert before and len(after) == len(before)  # every list reads, and the same pages
    for was, now in zip(before, after, strict=True):
        assert now - was < SKEW, (before, after)


# The open and the completed lists, each with the kind of row it never shows.
OPEN_OR_DONE = {
    name: "done" in name.lower()
    for name in KEYSETS
    if re.search(r"_(OPEN|DONE)_|_IN_LIST_(DATED|UNDATED)", name)
}


@pytest.mark.parametrize("name", sorted(OPEN_OR_DONE))
def test_open_and_done_todos_never_read_each_other(app, skew, make_todo, name):
    """A list with SKEW done todos (issue 36's skew: a hundred thousand in
    one list) reads none of them for its open rows, and a list of done
    todos none of its SKEW open ones: each reads through its own index."""
    params, _ = skew
    shows_done = OPEN_OR_DONE[name]
    for n in range(3 * PER_PAGE):  # a few rows of the kind shown, in both lists
        make_todo(params["owner_id"], f"done {n}", list_id=params["list_id"], done=shows_done)
    before = work_of(app, KEYSETS[name], params)
    from todoapp.models import UTCDateTime, utcnow

    insert = sa.text(MANY).bindparams(
        sa.bindparam("now", type_=UTCDateTime()),
        sa.bindparam("deleted_at", type_=UTCDateTime()),
        sa.bindparam("due_on", type_=sa.Date()),
    )
    with app.app_context(), db.engine.begin() as conn:
        # SKEW of the other kind where each page starts: the newest, and the soonest due.
        for due_on in (DAY - timedelta(days=5), None):
            conn.execute(
                insert,
                {
                    "owner": params["owner_id"],
                    "list_id": params["list_id"],
                    "count": SKEW // 2,
                    "now": utcnow(),
                    "done": not shows_done,
                    "with_list": False,
                    "deleted_at": None,
                    "deleted_by": None,
                    "due_on": due_on,
                },
            )
        if BACKEND == "postgresql":
            conn.exec_driver_sql("ANALYZE todos")
    after = work_of(app, KEYSETS[name], params)
    assert before and len(after) == len(before)
    for was, now in zip(before, after, strict=True):
        assert now - was < SKEW // 2, (name, before, after)


def test_the_completed_count_reads_no_more_than_its_bound(app, alice, make_list):
    """A count of a list with many more done todos than the bound reads
    about the bound's worth of index entries, not the list."""
    from todoapp.services import lists

    from .test_completed import add_many

    big = make_list(alice, "Big")
    limit = todos.COMPLETED_COUNT_LIMIT
    add_many(app, alice, big, limit + 1, done=True)

    def counted():
        with app.app_context():
            found = lists.get_list(big)
        return plan_work(app, lambda: todos.count_completed_in_list(found))

    at_bound = counted()
    add_many(app, alice, big, 4 * limit, done=True)
    assert counted() - at_bound < limit


def plan_work(app, run) -> int:
    """The work of the first statement ``run`` makes on todos (``cost``)."""
    with app.app_context():
        return cost(*first_on(statements_run(run)))


# --- Search: through the title search index -----------------------------------------

OTHERS = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
INSERT INTO todos (user_id, list_id, title, done, created_at, updated_at, trashed_with_list)
SELECT :owner, :list_id, 'todo number ' || i, :no, :now, :now, :no FROM n
"""


def a_crowd(app):
    """alice's and bob's 20 000 todos each, titled "todo number <n>", and
    alice's "zebra crossing", one live and one trashed: alice's id."""
    from todoapp.models import UTCDateTime, utcnow
    from todoapp.services import lists

    alice, bob = add_user(app, "alice"), add_user(app, "bob")
    for trashed in (False, True):
        add_todo(app, alice, "zebra crossing", trashed=trashed)
    with app.app_context():
        insert = sa.text(OTHERS).bindparams(sa.bindparam("now", type_=UTCDateTime()))
        with db.engine.begin() as conn:
            for owner in (alice, bob):
                rows = {"owner": owner, "count": 20_000, "now": utcnow(), "no": False}
                conn.execute(insert, {**rows, "list_id": lists.inbox_of(owner)})
    return alice


crowd = filled_once(a_crowd)


@pytest.mark.parametrize("trash", [False, True], ids=["live todos", "trashed todos"])
def test_search_reads_the_title_index(crowd, trash):
    """A search looks its query up in the title search index (SQLite's FTS5
    table, PostgreSQL's GIN trigram index) rather than reading the owner's
    todos one by one, for its live todos and for its trash."""
    from todoapp.services import search as searching

    app, alice = crowd

    def run():
        results = searching.search(alice, "zebra", 50)
        assert len(results.trash if trash else results.todos.items) == 1

    plan = plan_of(app, run, containing="deleted_at IS NOT NULL" if trash else "")
    if BACKEND == "sqlite":
        assert "SCAN todos_search VIRTUAL TABLE INDEX" in plan, plan
        assert not re.search(r"SCAN todos\b(?!_search)", plan), plan
    else:
        assert SEARCH_INDEX in plan, plan


# Todos of many owners, interleaved as users write them: the row i is slot
# i % (number of slots)'s, trashed or not in turns.
SLOTTED = """
INSERT INTO todos (user_id, list_id, title, done, created_at, updated_at, trashed_with_list,
                   deleted_at, deleted_by)
SELECT owners[k], inboxes[k], titles[k] || ' ' || i, false, now(), now(), false,
       CASE WHEN trashed THEN now() END, CASE WHEN trashed THEN owners[k] END
FROM (SELECT i, 1 + i %% %(slots)s AS k, (i / %(slots)s) %% 2 = 1 AS trashed
      FROM generate_series(1, %(count)s) AS i) AS n,
     (SELECT %(owners)s::int[] AS owners, %(inboxes)s::int[] AS inboxes,
             %(titles)s::text[] AS titles) AS given
"""
OTHER_OWNERS = 8
# Another user's titles that hold the query, live and trashed: one slot in
# SLOTS, pages of the title index's entries, none of which the owner's
# search may read.
SLOTS = 40
THEIR_MATCHES = 1000


def a_rare_title(app):
    """alice's "zebra crossing", one live and one trashed, among the todos
    of bob and eight other users, SLOTS of them in turns: bob's slot holds
    THEIR_MATCHES titles with "zebra" in them. alice's id."""
    from todoapp.services import lists

    alice, bob = add_user(app, "alice"), add_user(app, "bob")
    for trashed in (False, True):
        add_todo(app, alice, "zebra crossing", trashed=trashed)
    others = [alice] + [add_user(app, f"user{n}") for n in range(OTHER_OWNERS)]
    owners = [bob] + [others[n % len(others)] for n in range(SLOTS - 1)]
    titles = ["zebra"] + ["todo number"] * (SLOTS - 1)
    with app.app_context():
        inboxes = [lists.inbox_of(owner) for owner in owners]
        rows = {"owners": owners, "inboxes": inboxes, "titles": titles}
        with db.engine.begin() as conn:
            conn.exec_driver_sql(SLOTTED, {**rows, "slots": SLOTS, "count": SLOTS * THEIR_MATCHES})
    return alice


rare_title = filled_once(a_rare_title)


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL's GIN index of owner and title")
@pytest.mark.parametrize("trash", [False, True], ids=["live todos", "trashed todos"])
def test_a_rare_title_is_found_among_the_owners_entries_only(rare_title, trash):
    """A query one of the owner's titles holds, and hundreds of another
    user's: the search reads the index of owner and title trigrams with both
    as its condition, so it reads the owner's match and none of the other
    user's. Through an index of the title alone it read every match of every
    owner and intersected them with the owner's rows, work that grew with
    the whole table (docs/performance.md, "Search")."""
    from todoapp.services import search as searching

    app, alice = rare_title

    def run():
        results = searching.search(alice, "zebra", 50)
        assert len(results.trash if trash else results.todos.items) == 1

    statement, parameters = first_statement(
        app, run, "deleted_at IS NOT NULL AND" if trash else "deleted_at IS NULL AND"
    )
    with app.app_context(), db.engine.begin() as conn:
        [[plan]] = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
    plan = plan[0]["Plan"]
    scans = [
        (node["Node Type"], node.get("Index Name"), node.get("Index Cond"), node.get("Actual Rows"))
        for node in nodes(plan)
        if "Scan" in node["Node Type"]
    ]
    conditions = [cond for _, index, cond, _ in scans if index == SEARCH_INDEX]
    assert conditions and "user_id" in conditions[0] and "~~*" in conditions[0], scans
    assert entries_read(plan) < THEIR_MATCHES // 2, scans


def first_statement(app, run, containing: str):
    """The first statement on todos a service call runs whose SQL holds
    ``containing``, with its parameters."""
    with app.app_context():
        return first_on(statements_run(run), containing=containing)


def nodes(node):
    """A JSON plan's node and every node under it."""
    yield node
    for child in node.get("Plans", ()):
        yield from nodes(child)


def entries_read(plan) -> int:
    """What a plan read of todos: the rows of its scans of the table
    (``rows_read``) and the entries its index scans handed to a bitmap."""
    bitmaps = sum(
        node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
        for node in nodes(plan)
        if node["Node Type"] == "Bitmap Index Scan"
    )
    return rows_read(plan) + bitmaps


def test_the_panel_counts_each_list_through_its_index(app, make_list):
    """The side panel reads the owner's lists by their index and counts each
    one's open todos through an index on a list's live todos, a bounded
    number of them: never the todos table, whatever a list holds."""
    from todoapp.services import lists

    from .test_completed import add_many

    owner = an_owner(app)  # on a database of its own: this test adds to it
    # A big list beside the others: counting a list through the owner's
    # index, filtered by list, would step over all of it.
    add_many(app, owner, make_list(owner, "Big"), 2000, done=False)
    settle(app)
    plan = plan_of(app, lambda: lists.panel(owner), table="lists", containing="count(")
    # The partial index of a list's open todos: done ones are never read.
    assert "ix_todos_list_open" in plan, plan
    if BACKEND == "sqlite":
        assert "SCAN todos" not in plan and "SCAN lists" not in plan, plan
    else:
        assert "Seq Scan" not in plan, plan


@pytest.mark.skipif(BACKEND != "postgresql", reason="a prepared statement's generic plan")
def test_a_common_word_reads_a_page_of_the_owners_todos_in_any_plan(crowd):
    """A word most of the owner's titles hold is found by walking the owner's
    live todos newest first and stopping after a page, not by reading every
    match through the trigram index and sorting them: also in the generic
    plan PostgreSQL keeps for a statement run often on one connection, which
    sees the query only if the query is written into the SQL."""
    from todoapp.services import search as searching

    app, alice = crowd

    def run():
        assert len(searching.search(alice, "number", 50).todos.items) == 50

    plan = generic_plan(app, run, "deleted_at IS NULL")
    assert "Index Scan Backward using ix_todos_live" in plan, plan
    assert "Sort" not in plan, plan


def generic_plan(app, run, containing: str) -> str:
    """Run a service call, catch its first query on todos whose SQL holds
    ``containing``, and EXPLAIN it as PostgreSQL runs a prepared statement
    once it keeps one plan for it: planned without its parameters' values."""
    with app.app_context():
        statement, parameters = first_on(statements_run(run), containing=containing)
        # The statement as psycopg prepares it: $1, $2... for its parameters.
        names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
        numbered = {name: f"${i}" for i, name in enumerate(names, 1)}
        prepared = re.sub(r"%\((\w+)\)s", lambda m: numbered[m[1]], statement)
        with db.engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
            conn.exec_driver_sql(f"PREPARE found AS {prepared}")
            values = ", ".join(_sql_literal(parameters[name]) for name in names)
            explain = f"EXPLAIN EXECUTE found({values})" if names else "EXPLAIN EXECUTE found"
            plan = "\n".join(row[0] for row in conn.exec_driver_sql(explain))
            conn.exec_driver_sql("DEALLOCATE found")
        return plan


def _sql_literal(value) -> str:
    """A parameter's value as an SQL literal of its type (EXECUTE's arguments
    have none of their own), its % doubled as in the statement."""
    if isinstance(value, int):
        return str(value)
    kind = "date" if isinstance(value, date) else "text"
    quoted = str(value).replace("'", "''").replace("%", "%%")
    return f"CAST('{quoted}' AS {kind})"


LISTS_OF_OTHERS = 150
BUSY_DAY = """
INSERT INTO todos (user_id, list_id, title, done, created_at, updated_at, trashed_with_list, due_on)
SELECT %(owner)s, %(list_id)s, 'todo ' || i, false, now(), now(), false,
       CAST(%(day)s AS date) - (i %% %(days)s)
FROM generate_series(1, %(count)s) AS i
"""


def a_busy_day(app):
    """alice's 5 000 todos due on DAY and as many the day before, among bob's
    10 000 spread over 5 000 days and his LISTS_OF_OTHERS lists: alice's id."""
    from todoapp.services import lists

    alice, bob = add_user(app, "alice"), add_user(app, "bob")
    for n in range(LISTS_OF_OTHERS):  # enough lists that joining them is no longer free
        add_list(app, bob, f"list {n}", trashed=n % 10 == 0)
    with app.app_context(), db.engine.begin() as conn:
        for owner, days in ((alice, 1), (bob, 5000)):
            inbox = lists.inbox_of(owner)
            for day in (DAY, DAY - timedelta(days=1)):
                rows = {"owner": owner, "list_id": inbox, "day": day, "days": days, "count": 5000}
                conn.exec_driver_sql(BUSY_DAY, rows)
    return alice


busy_day = filled_once(a_busy_day)


@pytest.mark.skipif(BACKEND != "postgresql", reason="a prepared statement's generic plan")
@pytest.mark.parametrize(
    "page",
    [
        lambda owner: todos.list_due_today(owner, DAY, 50),
        lambda owner: todos.list_due_today(owner, DAY, 50, before=TODAY_DEEP),
        lambda owner: todos.list_overdue(owner, DAY, 50),
    ],
    ids=["today", "today, older page", "overdue"],
)
def test_a_busy_day_is_read_a_page_at_a_time(busy_day, page):
    """Today and Overdue walk ix_todos_due in their order and stop after a
    page, in the plan PostgreSQL keeps for every owner and day, also for a
    user with thousands of todos due on one day among others' todos spread
    over thousands of days (which the planner, seeing neither owner nor day, takes
    for a few rows: it read the whole day and sorted it)."""
    app, alice = busy_day
    plan = generic_plan(app, lambda: page(alice), "due_on")
    assert "using ix_todos_due" in plan, plan
    assert "Sort" not in plan and "Bitmap" not in plan, plan
