"""Search (issue 35, item 5): one box over one's own live todos, lists and
trash, through the title search index on both databases."""

import re

import pytest

from todoapp.services import search as searching
from todoapp.services import todos

from .conftest import BACKEND


def titles(page_html: str, section: str) -> list[str]:
    """The titles shown in a section of the search page ("Todos", "Lists",
    "Also in the trash"), in order."""
    part = page_html.split(f">{section}</h2>", 1)
    if len(part) == 1:
        return []
    body = part[1].split("</section>", 1)[0]
    return re.findall(r'<span class="title"[^>]*>([^<]*)', body) or re.findall(
        r'<li class="todo"><a href="/lists/\d+">([^<]*)</a>', body
    )


def found(app, owner, query, per_page=50):
    with app.app_context():
        return searching.search(owner, query, per_page)


def test_finds_own_live_todos_in_any_case_with_trash_apart(app, alice, bob, make_todo, make_list):
    make_todo(alice, "Buy MILK")
    make_todo(alice, "Call the plumber")
    make_todo(alice, "Old milkshake", trashed=True)
    make_todo(bob, "Bob's milk")
    make_list(alice, "Milk run")
    make_list(alice, "Dairy milk", trashed=True)
    results = found(app, alice, "milk")
    assert results.problem is None
    assert [row["title"] for row in results.todos.items] == ["Buy MILK"]
    assert [row["name"] for row in results.lists] == ["Milk run"]
    assert [row["title"] for row in results.trash] == ["Dairy milk", "Old milkshake"]
    assert [row["title"] for row in found(app, bob, "MILK").todos.items] == ["Bob's milk"]


def test_a_todo_trashed_with_its_list_is_found_through_the_list(app, alice, make_list):
    make_list(alice, "Errands", todos=2, trashed=True)
    results = found(app, alice, "errands")
    assert results.todos.items == []
    # The list's entry stands for its todos: they are restored with it.
    assert [(row["kind"], row["title"]) for row in results.trash] == [(todos.LIST_ENTRY, "Errands")]


@pytest.mark.parametrize(
    ("query", "match"),
    [
        ("100%", "100% sure"),
        ("100% s", "100% sure"),
        ("a_b", "a_b c"),
        ("abc\\d", "abc\\d e"),
        ('say "hi"', 'say "hi" now'),
        ("it's fine", "it's fine"),
        ("NEAR(milk", "NEAR(milk OR bread"),
        ("milk OR", "NEAR(milk OR bread"),
        ("bread*", "bread* and jam"),
        ("col:umn", "col:umn ^start"),
    ],
)
def test_special_characters_are_searched_for_as_typed(app, alice, make_todo, query, match):
    for title in (
        "100% sure",
        "1000 sure",
        "a_b c",
        "axb c",
        "abc\\d e",
        "abcd e",
        'say "hi" now',
        "it's fine",
        "NEAR(milk OR bread",
        "milk bread",
        "bread* and jam",
        "col:umn ^start",
    ):
        make_todo(alice, title)
    assert [row["title"] for row in found(app, alice, query).todos.items] == [match]


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("", "at least 3"),
        ("   ", "at least 3"),
        ("ab", "at least 3"),
        ("a b c", "at least 3"),
        ("%%%", "at least 3"),
        ("x" * 201, "at most 200"),
        ("ab\x00cd", "control characters"),
    ],
)
def test_queries_that_cannot_be_searched_for_say_why(app, alice, make_todo, query, problem):
    make_todo(alice, "abcd")
    results = found(app, alice, query)
    assert problem in results.problem
    assert results.todos.items == [] and results.trash == []


def test_a_query_at_the_longest_title_finds_it(app, alice, make_todo):
    title = "t" * 200
    make_todo(alice, title)
    assert [row["title"] for row in found(app, alice, title).todos.items] == [title]


def test_live_todos_are_paged_and_lists_and_trash_bounded(app, alice, make_todo, make_list):
    for n in range(7):
        make_todo(alice, f"match {n}")
        make_todo(alice, f"match trashed {n}", trashed=True)
    for n in range(4):
        make_list(alice, f"match list {n}")
    first = found(app, alice, "match", per_page=3)
    assert [row["title"] for row in first.todos.items] == ["match 6", "match 5", "match 4"]
    assert len(first.lists) == 3 and first.more_lists
    assert len(first.trash) == 3 and first.more_trash
    with app.app_context():
        second = searching.search(alice, "match", 3, before=first.todos.older)
    assert [row["title"] for row in second.todos.items] == ["match 3", "match 2", "match 1"]


def test_the_trash_beside_the_todos_is_a_glance(app, alice, make_todo):
    """However long a page of todos, the trash section shows the latest
    ``BESIDE_SHOWN`` matches and says there are more."""
    for n in range(searching.BESIDE_SHOWN + 2):
        make_todo(alice, f"match trashed {n}", trashed=True)
    results = found(app, alice, "match", per_page=50)
    titles = [row["title"] for row in results.trash]
    newest = searching.BESIDE_SHOWN + 1
    assert titles == [f"match trashed {n}" for n in range(newest, 1, -1)]
    assert results.more_trash


def test_edits_deletes_and_purges_keep_the_index_in_step(app, alice, make_todo):
    kept = make_todo(alice, "first title")
    gone = make_todo(alice, "second title", trashed=True)
    with app.app_context():
        todos.edit_todo(kept, alice, "renamed entry")
        todos.purge_todo(gone, owner_id=alice, actor_id=alice)
    assert found(app, alice, "first").todos.items == []
    assert [row["title"] for row in found(app, alice, "renamed").todos.items] == ["renamed entry"]
    assert found(app, alice, "second").trash == []


def test_the_page_shows_the_three_sections_and_restores(
    app, client, auth, alice, make_todo, make_list
):
    make_todo(alice, "Buy milk")
    trashed = make_todo(alice, "Spilt milk", trashed=True)
    make_list(alice, "Milk run")
    auth.login("alice")
    page = client.get("/search?q=milk").get_data(as_text=True)
    assert 'role="search"' in page and 'value="milk"' in page
    assert titles(page, "Todos") == ["Buy milk"]
    assert titles(page, "Lists") == ["Milk run"]
    assert titles(page, "Also in the trash") == ["Spilt milk"]
    response = client.submit(f"/trash/{trashed}/restore", {"next": "/search?q=milk"})
    assert response.status_code == 302 and response.location.endswith("/search?q=milk")
    page = client.get("/search?q=milk").get_data(as_text=True)
    assert "Also in the trash" not in page
    assert sorted(titles(page, "Todos")) == ["Buy milk", "Spilt milk"]


@pytest.mark.parametrize(
    "query", ["", "a", "%", '"', "'; DROP TABLE todos; --", "x" * 5000, "ab\x00c", "NEAR(a b)"]
)
def test_no_query_ever_fails(app, client, auth, alice, query):
    auth.login("alice")
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200
    assert "<h1>Search</h1>" in response.get_data(as_text=True)


def test_a_malformed_cursor_is_a_404(client, auth, alice):
    auth.login("alice")
    assert client.get("/search?q=milk&before=nope").status_code == 404


def test_every_page_has_the_search_box_when_logged_in(client, auth, alice):
    assert 'role="search"' not in client.get("/auth/login").get_data(as_text=True)
    auth.login("alice")
    assert 'role="search"' in client.get("/todos").get_data(as_text=True)


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's FTS5 table")
def test_sqlite_index_holds_every_todo_once(app, alice, make_todo, make_list):
    from todoapp.extensions import db

    make_todo(alice, "one todo")
    make_list(alice, "A list", todos=3, trashed=True)
    with app.app_context(), db.engine.connect() as conn:
        check = conn.exec_driver_sql(
            "INSERT INTO todos_search (todos_search, rank) VALUES ('integrity-check', 1)"
        )
        check.close()
        indexed = conn.exec_driver_sql("SELECT count(*) FROM todos_search_docsize").scalar()
        rows = conn.exec_driver_sql("SELECT count(*) FROM todos").scalar()
    assert indexed == rows


def test_autogenerate_leaves_the_search_index_alone(app):
    """The search index is in no model: autogenerate, ``flask db check`` and
    the next generated revision leave it alone (search_objects.include_name),
    and without that filter they would drop it."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from todoapp.extensions import db
    from todoapp.migration_tools.search_objects import include_name
    from todoapp.models import SEARCH_INDEX, SEARCH_TABLE

    def diff(**opts):
        with app.app_context(), db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, **opts})
            return [str(change) for change in compare_metadata(context, db.metadata)]

    unfiltered = diff()
    assert any(SEARCH_TABLE in d or SEARCH_INDEX in d for d in unfiltered), unfiltered
    assert diff(include_name=include_name) == []
