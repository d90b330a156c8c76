"""The Completed section (issue 35): a list shows its open todos, and at its
foot a collapsed section of the done ones with how many there are, bounded;
the account can hide it, on every device. Plain HTML: nothing here needs
JavaScript (the section is a <details>, the buttons are forms)."""

import re
from datetime import UTC, datetime, timedelta

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from todoapp.extensions import db
from todoapp.models import UTCDateTime, utcnow
from todoapp.services import lists, todos

from .conftest import Auth, migrate_config

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def text(response):
    return response.get_data(as_text=True)


def main_titles(page: str) -> list[str]:
    """The titles of the rows before the Completed section."""
    main = page.split('<details class="completed">')[0]
    return re.findall(r'<span class="title" dir="auto">([^<]+)<', main)


def section(page: str) -> str | None:
    found = re.search(r'<details class="completed">(.*?)</details>', page, re.S)
    return found.group(1) if found else None


def section_titles(page: str) -> list[str]:
    return re.findall(r'<span class="title" dir="auto">([^<]+)<', section(page) or "")


@pytest.fixture
def alice_in(client, auth, alice):
    auth.login("alice")
    return alice


@pytest.fixture
def errands(alice, make_list, make_todo):
    """alice's Errands list: two open todos, two done, and one of each in her Inbox."""
    made = make_list(alice, "Errands")
    for title, done in (("stamps", True), ("letter", False), ("milk", True), ("bread", False)):
        make_todo(alice, title, list_id=made, done=done)
    make_todo(alice, "inbox open")
    make_todo(alice, "inbox done", done=True)
    return made


def test_a_list_shows_its_open_todos_and_its_done_ones_collapsed_at_its_foot(
    client, alice_in, errands
):
    page = text(client.get(f"/lists/{errands}"))
    assert main_titles(page) == ["bread", "letter"]
    assert section_titles(page) == ["milk", "stamps"]  # newest first
    assert "<summary>Completed (2)</summary>" in page
    assert '<details class="completed" open' not in page  # collapsed
    everything = text(client.get("/todos"))
    assert main_titles(everything) == ["inbox open", "bread", "letter"]
    assert section_titles(everything) == ["inbox done", "milk", "stamps"]
    assert "<summary>Completed (3)</summary>" in everything


def test_ticking_moves_a_todo_into_completed_and_unticking_brings_it_back(
    app, client, alice_in, errands
):
    with app.app_context():
        letter = next(
            row["id"]
            for row in todos.list_in_list(lists.get_list(errands), 50).items
            if row["title"] == "letter"
        )
    here = f"/lists/{errands}"
    client.submit(f"/todos/{letter}/toggle", {"next": here})
    page = text(client.get(here))
    assert main_titles(page) == ["bread"]
    assert section_titles(page) == ["letter", "milk", "stamps"]  # the latest done first
    assert "<summary>Completed (3)</summary>" in page
    client.submit(f"/todos/{letter}/toggle", {"next": here})
    page = text(client.get(here))
    assert main_titles(page) == ["bread", "letter"] and "letter" not in section_titles(page)


def test_a_list_with_nothing_done_has_no_section_and_nothing_open_says_all_done(
    client, alice_in, make_list, make_todo, alice
):
    plain = make_list(alice, "Plain", todos=1)
    assert section(text(client.get(f"/lists/{plain}"))) is None
    finished = make_list(alice, "Finished")
    make_todo(alice, "the only one", list_id=finished, done=True)
    page = text(client.get(f"/lists/{finished}"))
    assert "All done in this list." in page and section_titles(page) == ["the only one"]
    # The rows' buttons post the page's one form, there even with no open row.
    assert '<form id="rows" method="post" hidden>' in page


def test_the_section_stands_after_the_last_page_of_open_todos(
    app, client, alice_in, alice, make_list, make_todo
):
    app.config["TODOS_PER_PAGE"] = 2
    paged = make_list(alice, "Paged")
    for n in range(3):
        make_todo(alice, f"open {n}", list_id=paged)
    make_todo(alice, "done 0", list_id=paged, done=True)
    first = text(client.get(f"/lists/{paged}"))
    assert main_titles(first) == ["open 2", "open 1"] and section(first) is None
    older = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    last = text(client.get(older))
    assert main_titles(last) == ["open 0"] and section_titles(last) == ["done 0"]


def test_the_full_completed_view_pages_through_every_done_todo(
    app, client, alice_in, alice, make_list, make_todo
):
    app.config["TODOS_PER_PAGE"] = 2
    many = make_list(alice, "Many")
    for n in range(5):
        make_todo(alice, f"done {n}", list_id=many, done=True)
    make_todo(alice, "still open", list_id=many)
    page = text(client.get(f"/lists/{many}"))
    assert section_titles(page) == ["done 4", "done 3"]
    assert f'<a href="/lists/{many}?show=completed">All completed todos</a>' in page
    seen, url = [], f"/lists/{many}?show=completed"
    while url:
        shown = text(client.get(url))
        assert "still open" not in shown
        seen += re.findall(r'<span class="title" dir="auto">([^<]+)<', shown)
        found = re.search(r'<a rel="next" href="([^"]+)"', shown)
        url = found and found.group(1).replace("&amp;", "&")
    assert seen == [f"done {n}" for n in range(4, -1, -1)]
    across = text(client.get("/todos?show=completed"))
    assert re.findall(r'<span class="title" dir="auto">([^<]+)<', across) == ["done 4", "done 3"]
    assert client.get(f"/lists/{many}?show=open").status_code == 404
    assert client.get("/todos?show=everything").status_code == 404


def add_many(app, owner, list_id, count, *, done):
    """``count`` todos in one statement: a test of thousands of rows."""
    insert = sa.text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
        "INSERT INTO todos (user_id, list_id, title, done, created_at, updated_at, "
        "trashed_with_list) SELECT :owner, :list_id, 'many', :done, :now, :now, :no FROM n"
    ).bindparams(sa.bindparam("now", type_=UTCDateTime()))
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            insert,
            {
                "count": count,
                "owner": owner,
                "list_id": list_id,
                "done": done,
                "now": utcnow(),
                "no": False,
            },
        )


def test_the_count_stops_at_its_bound_and_says_so(app, client, alice_in, alice, make_list):
    limit = todos.COMPLETED_COUNT_LIMIT
    at_limit, beyond = make_list(alice, "At the bound"), make_list(alice, "Beyond it")
    add_many(app, alice, at_limit, limit, done=True)
    add_many(app, alice, beyond, limit + 1, done=True)
    add_many(app, alice, beyond, 3, done=False)
    with app.app_context():
        assert todos.count_completed_in_list(lists.get_list(at_limit)) == todos.Count(limit)
        assert todos.count_completed_in_list(lists.get_list(beyond)) == todos.Count(limit, True)
        assert todos.count_completed(alice).more
    assert f"<summary>Completed ({limit:,})</summary>" in text(client.get(f"/lists/{at_limit}"))
    page = text(client.get(f"/lists/{beyond}"))
    assert f"<summary>Completed ({limit:,}+)</summary>" in page
    assert main_titles(page) == ["many"] * 3


def test_hide_completed_is_kept_on_the_account_for_every_session(app, client, alice_in, errands):
    here = f"/lists/{errands}"
    hidden = client.submit("/account/completed/hide", {"next": here})
    assert hidden.status_code == 302 and hidden.headers["Location"] == here
    page = text(client.get(here))
    assert section(page) is None and "2 completed hidden" in page
    assert main_titles(page) == ["bread", "letter"] and "stamps" not in page
    # Another device's new session finds it hidden too, and shows it again for both.
    other = app.test_client()
    Auth(other).login("alice")
    assert "3 completed hidden" in text(other.get("/todos"))
    other.submit("/account/completed/show", {"next": here})
    assert section_titles(text(client.get(here))) == ["milk", "stamps"]


def test_the_setting_is_on_the_account_page_and_changes_nothing_without_its_token(
    client, alice_in, errands
):
    account = text(client.get("/account"))
    assert 'action="/account/completed/hide"' in account
    refused = client.post("/account/completed/hide", data={"next": "/todos"})
    assert refused.status_code == 400
    assert section(text(client.get("/todos"))) is not None
    client.submit("/account/completed/hide")
    assert 'action="/account/completed/show"' in text(client.get("/account"))


def test_another_users_done_todos_are_neither_counted_nor_shown(
    client, alice_in, errands, bob, make_todo
):
    make_todo(bob, "bob's done", done=True)
    page = text(client.get("/todos"))
    assert "bob&#39;s done" not in page and "<summary>Completed (3)</summary>" in page


# --- The revision: on a database with data ---------------------------------------


def revision_named(app, slug: str):
    """A revision found by its name (its number is its depth)."""
    script = ScriptDirectory.from_config(migrate_config(app))
    [found] = [r for r in script.walk_revisions() if r.revision.endswith(slug)]
    return found


SEED = [
    "INSERT INTO users (id, username, password_hash, is_admin, created_at) "
    "VALUES (1, 'alice', 'h', :no, :now), (2, 'bob', 'h', :no, :now)",
    "INSERT INTO lists (id, user_id, name, name_key, is_inbox, created_at) "
    "VALUES (1, 1, 'Inbox', 'inbox', :yes, :now), (2, 2, 'Inbox', 'inbox', :yes, :now)",
    "INSERT INTO todos (id, user_id, list_id, title, done, created_at, updated_at) VALUES "
    "(1, 1, 1, 'open', :no, :now, :now), (2, 1, 1, 'done', :yes, :now, :now), "
    "(3, 2, 2, 'bob done', :yes, :now, :now)",
]


def test_the_revision_keeps_every_row_and_reads_open_and_done_apart(empty_app):
    revision = revision_named(empty_app, "_completed_apart_from_open")
    flask_migrate.upgrade(revision=revision.down_revision)
    params = {"now": utcnow(), "no": False, "yes": True}
    for sql in SEED:
        db.session.execute(
            sa.text(sql).bindparams(sa.bindparam("now", type_=UTCDateTime())), params
        )
    db.session.commit()

    def snapshot():
        result = db.session.execute(sa.text("SELECT * FROM todos ORDER BY id")).all()
        users = db.session.execute(sa.text("SELECT id, username FROM users ORDER BY id")).all()
        db.session.commit()
        return [tuple(row) for row in result], [tuple(row) for row in users]

    before = snapshot()
    flask_migrate.upgrade(revision=revision.revision)
    assert snapshot() == before
    hide = db.session.execute(sa.text("SELECT hide_completed FROM users ORDER BY id")).scalars()
    assert list(hide) == [False, False]
    db.session.commit()
    indexes = {ix["name"] for ix in inspect(db.engine).get_indexes("todos")}
    assert {"ix_todos_open", "ix_todos_done", "ix_todos_list_open", "ix_todos_list_done"} <= indexes
    # The app of today reads the schema of today: the revisions after this one too.
    flask_migrate.upgrade(revision="heads")
    inbox = lists.get_list(1)
    assert [row["title"] for row in todos.list_in_list(inbox, 50).items] == ["open"]
    assert [row["title"] for row in todos.list_completed(1, 50).items] == ["done"]
    assert todos.count_completed_in_list(inbox) == todos.Count(1)
    db.session.remove()

    flask_migrate.downgrade(revision=revision.down_revision)
    assert snapshot() == before
    columns = {c["name"] for c in inspect(db.engine).get_columns("users")}
    assert "hide_completed" not in columns
    flask_migrate.upgrade(revision=revision.revision)
    assert snapshot() == before


# --- In the order they were done (issue 35, item 2) --------------------------------


def titles_of(page: str) -> list[str]:
    return re.findall(r'<span class="title" dir="auto">([^<]+)<', page)


def every_page(client, url: str) -> list[str]:
    """The titles of a paged list, following its "next" links to the end."""
    seen = []
    while url:
        shown = text(client.get(url))
        seen += titles_of(shown)
        found = re.search(r'<a rel="next" href="([^"]+)"', shown)
        url = found and found.group(1).replace("&amp;", "&")
    return seen


def test_a_todo_ticked_last_comes_first_however_old_it_is(
    app, client, alice_in, alice, make_list, make_todo
):
    app.config["TODOS_PER_PAGE"] = 3
    chores = make_list(alice, "Chores")
    old = make_todo(alice, "old one", list_id=chores)
    done = [f"done {n}" for n in range(5)]  # more than a page of them, done since
    for title in done:
        make_todo(alice, title, list_id=chores, done=True)
    here = f"/lists/{chores}"
    client.submit(f"/todos/{old}/toggle", {"next": here})
    latest_first = ["old one", *reversed(done)]
    assert section_titles(text(client.get(here))) == latest_first[:3]
    assert section_titles(text(client.get("/todos"))) == latest_first[:3]
    assert every_page(client, f"{here}?show=completed") == latest_first
    assert every_page(client, "/todos?show=completed") == latest_first
    with app.app_context():
        assert todos.count_completed_in_list(lists.get_list(chores)) == todos.Count(6)

    client.submit(f"/todos/{old}/toggle", {"next": here})  # not done after all
    assert every_page(client, f"{here}?show=completed") == latest_first[1:]
    assert "old one" in main_titles(text(client.get(here)))
    # Done again: the latest once more.
    client.submit(f"/todos/{old}/toggle", {"next": here})
    assert every_page(client, "/todos?show=completed") == latest_first


def set_completed_at(app, todo_ids, moment) -> None:
    """Write completed_at as SQL."""
    statement = sa.text("UPDATE todos SET completed_at = :moment WHERE id IN :ids").bindparams(
        sa.bindparam("moment", type_=UTCDateTime()), sa.bindparam("ids", expanding=True)
    )
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(statement, {"moment": moment, "ids": list(todo_ids)})


def completed_at_of(app, todo_id):
    with app.app_context(), db.engine.connect() as conn:
        statement = sa.text("SELECT completed_at FROM todos WHERE id = :id").columns(
            completed_at=UTCDateTime()
        )
        return conn.execute(statement, {"id": todo_id}).scalar_one()


def test_a_tick_stamps_when_and_an_untick_clears_it(app, client, alice_in, alice, make_todo):
    # Every done todo has a completed_at: the pages read them by it alone.
    todo = make_todo(alice, "to do")
    assert completed_at_of(app, todo) is None
    before = utcnow()
    client.submit(f"/todos/{todo}/toggle", {"next": "/todos"})
    stamped = completed_at_of(app, todo)
    assert stamped is not None and before <= stamped <= utcnow()
    client.submit(f"/todos/{todo}/toggle", {"next": "/todos"})
    assert completed_at_of(app, todo) is None


def lists_inbox(app, owner) -> int:
    with app.app_context():
        return lists.inbox_of(owner)


def walk_both_ways(app, read) -> tuple[list[int], list[int]]:
    """The ids of a paged list read page by page to its end through the
    "older" cursors, and back up from there through the "newer" ones."""
    with app.app_context():
        down, page = [], read({})
        pages = [page]
        while True:
            down += [row["id"] for row in page.items]
            if page.older is None:
                break
            page = read({"before": page.older})
            pages.append(page)
        up = [row["id"] for row in page.items]
        while page.newer is not None:
            page = read({"after": page.newer})
            up = [row["id"] for row in page.items] + up
        return down, up


def test_paging_through_todos_done_at_the_same_moment_misses_none_and_repeats_none(
    app, alice, make_list, make_todo
):
    tied = make_list(alice, "Tied")
    made = [make_todo(alice, f"done {n}", list_id=tied, done=True) for n in range(7)]
    # Bulk edits, clock steps, two servers: equal stamps happen. Five share
    # one, between the latest done and the earliest.
    moment = utcnow()
    set_completed_at(app, made[1:6], moment)
    set_completed_at(app, [made[0]], moment - timedelta(seconds=1))
    set_completed_at(app, [made[6]], moment + timedelta(seconds=1))
    expected = [made[6], *reversed(made[1:6]), made[0]]
    with app.app_context():
        found = lists.get_list(tied)
    for per_page in (1, 2, 3, 4):
        readers = [
            lambda cursor, n=per_page: todos.list_in_list(found, n, done=True, **cursor),
            lambda cursor, n=per_page: todos.list_completed(alice, n, **cursor),
        ]
        for read in readers:
            down, up = walk_both_ways(app, read)
            assert down == expected, per_page
            assert up == expected, per_page


def test_a_cursor_of_another_list_is_no_page(client, alice_in, errands):
    # A cursor of the open list (an id alone) is not one of the completed list's.
    assert client.get("/todos?show=completed&before=4").status_code == 404
    assert client.get(f"/lists/{errands}?show=completed&before=0-4").status_code == 404
    # Nor is one of the todos left without completed_at, a part no longer there.
    assert client.get("/todos?show=completed&before=1-4").status_code == 404


def test_a_cursor_written_by_the_version_before_pages_on(
    app, client, alice_in, alice, make_list, make_todo
):
    """0020's code wrote the Completed cursors as "0-<completed_at>-<id>" (the
    first part of a chain); a page it served pages on through this version
    during the deploy, and the reverse, so the cursors keep that form."""
    app.config["TODOS_PER_PAGE"] = 2
    kept = make_list(alice, "Kept")
    made = [make_todo(alice, f"done {n}", list_id=kept, done=True) for n in range(3)]
    with app.app_context():
        row = next(r for r in todos.list_completed(alice, 50).items if r["id"] == made[1])
    written = f"0-{(row['completed_at'] - EPOCH) // timedelta(microseconds=1)}-{made[1]}"
    for url in (f"/lists/{kept}?show=completed", "/todos?show=completed"):
        shown = text(client.get(f"{url}&before={written}"))
        assert titles_of(shown) == ["done 0"]
        assert f"before={written}" in text(client.get(url)).replace("&amp;", "&")


NEW_INDEXES = {"ix_todos_completed", "ix_todos_list_completed"}


def todo_rows() -> list[dict]:
    """Every row of todos as it stands, column by column, to compare a
    revision's before and after."""
    rows = db.session.execute(sa.text("SELECT * FROM todos ORDER BY id")).mappings().all()
    db.session.commit()
    return [dict(row) for row in rows]


def test_the_revision_stamps_the_done_todos_with_their_creation_and_keeps_the_rest(empty_app):
    revision = revision_named(empty_app, "_completed_in_the_order_done")
    flask_migrate.upgrade(revision=revision.down_revision)
    params = {"now": utcnow(), "no": False, "yes": True}
    for sql in SEED:
        db.session.execute(
            sa.text(sql).bindparams(sa.bindparam("now", type_=UTCDateTime())), params
        )
    # A done todo in the trash, created a day earlier: stamped too, for when it comes back.
    db.session.execute(
        sa.text(
            "INSERT INTO todos (id, user_id, list_id, title, done, created_at, updated_at, "
            "deleted_at) VALUES (4, 1, 1, 'trashed done', :yes, "
            "DATETIME('now', '-1 day'), :now, :now)"
            if db.engine.dialect.name == "sqlite"
            else "INSERT INTO todos (id, user_id, list_id, title, done, created_at, updated_at, "
            "deleted_at) VALUES (4, 1, 1, 'trashed done', :yes, "
            "now() - interval '1 day', :now, :now)"
        ).bindparams(sa.bindparam("now", type_=UTCDateTime())),
        params,
    )
    db.session.commit()

    before = todo_rows()
    flask_migrate.upgrade(revision=revision.revision)
    after = todo_rows()
    assert [{k: v for k, v in row.items() if k != "completed_at"} for row in after] == before
    stamped = db.session.execute(
        sa.text("SELECT id FROM todos WHERE completed_at = created_at ORDER BY id")
    ).scalars()
    assert list(stamped) == [row["id"] for row in before if row["done"]]
    open_ids = [row["id"] for row in after if not row["done"]]
    assert open_ids and all(row["completed_at"] is None for row in after if not row["done"])
    db.session.commit()
    indexes = {ix["name"] for ix in inspect(db.engine).get_indexes("todos")}
    # The new indexes; the old ones stay for the servers of the version before
    # (until 0021_completed_contract).
    assert NEW_INDEXES | {"ix_todos_done", "ix_todos_list_done"} <= indexes

    flask_migrate.downgrade(revision=revision.down_revision)
    assert todo_rows() == before
    assert not NEW_INDEXES & {ix["name"] for ix in inspect(db.engine).get_indexes("todos")}
    flask_migrate.upgrade(revision=revision.revision)
    assert todo_rows() == after


# --- The contract step (0021): once every server stamps its ticks ---------------

OLD_INDEXES = ("ix_todos_done", "ix_todos_list_done")


def index_definitions(names) -> dict:
    """Each index's definition as the database keeps it, condition included."""
    if db.engine.dialect.name == "sqlite":
        sql = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN :names"
    else:
        sql = "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN :names"
    statement = sa.text(sql).bindparams(sa.bindparam("names", expanding=True))
    found = dict(db.session.execute(statement, {"names": list(names)}).all())
    db.session.commit()
    return found


def test_the_contract_stamps_the_todos_left_unstamped_and_drops_the_old_indexes(empty_app):
    revision = revision_named(empty_app, "_completed_contract")
    flask_migrate.upgrade(revision=revision.down_revision)
    now = utcnow()
    params = {"now": now, "day_before": now - timedelta(days=1), "no": False, "yes": True}
    moments = [sa.bindparam(name, type_=UTCDateTime()) for name in ("now", "day_before")]
    # SEED's done todos have no completed_at: ticked by a server from before
    # 0020 during its deploy. So has a day-old one, and one in the trash;
    # another was ticked by 0020's code, a day after it was made.
    later = [
        *SEED,
        "INSERT INTO todos (id, user_id, list_id, title, done, created_at, updated_at, "
        "completed_at, deleted_at) VALUES "
        "(4, 1, 1, 'ticked since', :yes, :day_before, :now, :now, NULL), "
        "(5, 1, 1, 'a day old', :yes, :day_before, :day_before, NULL, NULL), "
        "(6, 1, 1, 'trashed', :yes, :day_before, :now, NULL, :now)",
    ]
    for sql in later:
        statement = sa.text(sql)
        db.session.execute(
            statement.bindparams(*(m for m in moments if f":{m.key}" in sql)), params
        )
    db.session.commit()

    before = todo_rows()
    assert [row["id"] for row in before if row["done"] and row["completed_at"] is None]
    old_indexes = index_definitions(OLD_INDEXES)
    assert set(old_indexes) == set(OLD_INDEXES)

    flask_migrate.upgrade(revision=revision.revision)
    after = todo_rows()
    # Each done todo without a stamp gets its created_at; nothing else changes.
    expected = [
        {
            **row,
            "completed_at": row["created_at"]
            if row["done"] and row["completed_at"] is None
            else row["completed_at"],
        }
        for row in before
    ]
    assert after == expected
    assert not index_definitions(OLD_INDEXES)

    # The app of today reads the schema of today: the revisions after this one too.
    flask_migrate.upgrade(revision="heads")
    titles = [row["title"] for row in todos.list_completed(1, 50).items]
    assert titles == ["ticked since", "done", "a day old"]
    assert todos.count_completed(1) == todos.Count(3)
    assert todos.count_completed_in_list(lists.get_list(1)) == todos.Count(3)
    db.session.remove()

    # The downgrade builds the indexes as they were, conditions and all, and
    # keeps the stamps (0020's code reads them as it reads its own).
    flask_migrate.downgrade(revision=revision.down_revision)
    assert index_definitions(OLD_INDEXES) == old_indexes
    assert todo_rows() == after
    flask_migrate.upgrade(revision=revision.revision)
    assert todo_rows() == after and not index_definitions(OLD_INDEXES)
