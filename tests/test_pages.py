"""What a person sees: the list, undo, the trash, restore, the admin trash,
error pages."""

import html
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select, update

from todoapp.extensions import db
from todoapp.models import List, Todo, utcnow
from todoapp.services import due, todos, users
from todoapp.web import CONTENT

from .conftest import PASSWORD


@pytest.fixture
def alice_in(client, auth, alice):
    auth.login("alice")
    return alice


def text(response):
    return response.get_data(as_text=True)


def test_the_whole_trash_journey(client, alice_in):
    client.submit("/todos", {"title": "water the plants"})
    client.submit("/todos", {"title": "pay rent"})
    page = text(client.get("/todos"))
    assert page.index("pay rent") < page.index("water the plants")  # newest first
    with client.application.app_context():
        ids = {t.title: t.id for t in db.session.scalars(select(Todo))}
    rent, plants = ids["pay rent"], ids["water the plants"]

    response = client.submit(f"/todos/{rent}/delete", {"next": "/todos"}, follow_redirects=True)
    page = text(response)
    assert "Moved “pay rent” to the trash." in page
    assert f'action="/trash/{rent}/restore"' in page and ">Undo<" in page
    assert page.count('<li class="todo') == 1

    response = client.submit(f"/trash/{rent}/restore", {"next": "/todos"}, follow_redirects=True)
    assert "Restored “pay rent”." in text(response)
    assert text(response).count('<li class="todo') == 2

    client.submit(f"/todos/{plants}/delete")
    trash = text(client.get("/trash"))
    assert "water the plants" in trash and "purged in 30 days" in trash
    assert "deleted" in trash and "just now" in trash

    confirm = text(client.get(f"/trash/{plants}/restore"))
    assert "Restore this todo?" in confirm and "water the plants" in confirm

    response = client.submit(f"/trash/{plants}/purge", follow_redirects=True)
    assert "Deleted “water the plants” forever." in text(response)
    assert "Nothing in the trash." in text(response)
    assert client.get(f"/trash/{plants}/restore").status_code == 404


def test_days_left_count_down(app, client, alice_in, make_todo):
    todo_id = make_todo(alice_in, "old news", trashed=True)
    with app.app_context():
        db.session.execute(
            update(Todo)
            .where(Todo.id == todo_id)
            .values(deleted_at=utcnow() - timedelta(days=3, hours=1))
            .execution_options(trashed_only=True)
        )
        db.session.commit()
    page = text(client.get("/trash"))
    assert "3 days ago" in page and "purged in 27 days" in page


def test_invalid_title_is_shown_again_and_nothing_is_saved(app, client, alice_in):
    response = client.submit("/todos", {"title": "   "})
    assert response.status_code == 422
    assert "Title can&#39;t be empty." in text(response)
    response = client.submit("/todos", {"title": "x" * 201})
    assert response.status_code == 422
    assert "at most 200 characters" in text(response)
    with app.app_context():
        assert db.session.scalars(select(Todo)).all() == []


def test_edit_keeps_the_page_you_came_from(app, client, alice_in, make_todo):
    todo_id = make_todo(alice_in, "typo")
    form = text(client.get(f"/todos/{todo_id}/edit?next=/todos?page=1"))
    assert 'value="typo"' in form
    response = client.submit(f"/todos/{todo_id}/edit", {"title": "fixed", "next": "/todos?page=1"})
    # Back at the row edited: the browser scrolls to it and focuses it.
    assert response.status_code == 302 and response.location == f"/todos?page=1#todo-{todo_id}"
    response = client.submit(f"/todos/{todo_id}/edit", {"next": "/todos"})
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Todo, todo_id).title == "fixed"


def test_toggle_marks_done_and_back(app, client, alice_in, make_todo):
    todo_id = make_todo(alice_in, "laundry")
    client.submit(f"/todos/{todo_id}/toggle")
    assert 'aria-pressed="true"' in text(client.get("/todos"))
    client.submit(f"/todos/{todo_id}/toggle")
    assert 'aria-pressed="false"' in text(client.get("/todos"))


def link(page: str, rel: str) -> str | None:
    """The pager link with this rel ("next": older, "prev": newer), unescaped."""
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', page)
    return html.unescape(found.group(1)) if found else None


def titles(page: str) -> list[str]:
    return re.findall(r'<(?:span class="title"|td)(?: dir="auto")?>(item \d+)<', page)


def test_pagination_walks_older_and_back_newer(app, client, alice_in, make_todo):
    app.config["TODOS_PER_PAGE"] = 2
    for n in range(5):
        make_todo(alice_in, f"item {n}")
    first = text(client.get("/todos"))
    assert titles(first) == ["item 4", "item 3"] and link(first, "prev") is None
    second = text(client.get(link(first, "next")))
    assert titles(second) == ["item 2", "item 1"] and "Newest</a>" in second
    third = text(client.get(link(second, "next")))
    assert titles(third) == ["item 0"] and link(third, "next") is None
    back = text(client.get(link(third, "prev")))
    assert titles(back) == ["item 2", "item 1"]
    # Newer than the second page is fewer than a page: that is the first page.
    top = text(client.get(link(back, "prev")))
    assert titles(top) == ["item 4", "item 3"] and "Newest</a>" not in top


def test_a_page_stays_put_when_rows_before_it_go(app, client, alice_in, make_todo):
    """What offsets get wrong: deleting a todo on page 1 must not shift page 2."""
    app.config["TODOS_PER_PAGE"] = 2
    ids = [make_todo(alice_in, f"item {n}") for n in range(5)]
    second_url = link(text(client.get("/todos")), "next")
    client.submit(f"/todos/{ids[4]}/delete")
    assert titles(text(client.get(second_url))) == ["item 2", "item 1"]


def test_trash_pages_by_deletion_time(app, client, alice_in, make_todo):
    app.config["TODOS_PER_PAGE"] = 2
    ids = [make_todo(alice_in, f"item {n}") for n in range(5)]
    for todo_id in (ids[0], ids[3], ids[1], ids[4], ids[2]):  # deletion order
        client.submit(f"/todos/{todo_id}/delete")
    first = text(client.get("/trash"))
    assert titles(first) == ["item 2", "item 4"]
    second = text(client.get(link(first, "next")))
    assert titles(second) == ["item 1", "item 3"]
    third = text(client.get(link(second, "next")))
    assert titles(third) == ["item 0"] and link(third, "next") is None
    assert titles(text(client.get(link(third, "prev")))) == ["item 1", "item 3"]


def test_admin_trash_pages_keep_the_owner_filter(app, client, auth, admin, make_todo, alice, bob):
    app.config["TODOS_PER_PAGE"] = 2
    for n in range(3):
        make_todo(alice, f"item {n}", trashed=True)
        make_todo(bob, f"bob {n}", trashed=True)
    auth.login("root")
    first = text(client.get("/admin/trash?user=alice"))
    assert titles(first) == ["item 2", "item 1"]
    older = link(first, "next")
    assert "user=alice" in older
    assert titles(text(client.get(older))) == ["item 0"]


def test_list_pages_of_plain_todos_are_ascii_and_read_the_same(
    app, client, auth, alice, admin, make_todo, make_list
):
    """The list pages write their quotes, dots, tick and arrows as character
    references, so a page of ASCII todos is ASCII (Python then encodes it
    with a copy: see rows.py). What a reader or a screen reader gets
    is the same characters."""
    app.config["TODOS_PER_PAGE"] = 2
    groceries = make_list(alice, "Groceries")
    ids = []
    for n in range(4):
        ids.append(make_todo(alice, f"item {n}", list_id=groceries))
    for n in range(3):
        make_todo(alice, f"gone {n}", trashed=True)
    make_list(alice, "Old", todos=1, trashed=True)
    auth.login("alice")
    client.submit(f"/todos/{ids[0]}/toggle")  # done: in the Completed section, on the last page
    pages = []
    for path in ("/todos", "/trash"):
        first = client.get(path).get_data()
        pages += [first, client.get(link(first.decode(), "next")).get_data()]
    lists_pages = [client.get(path).get_data() for path in ("/lists", f"/lists/{groceries}")]
    auth.logout()
    auth.login("root")
    first = client.get("/admin/trash").get_data()
    pages += [first, client.get(link(first.decode(), "next")).get_data()]
    assert all(page.isascii() for page in pages + lists_pages)
    todos_page, older_todos, trash_page, _, admin_page, _ = (
        html.unescape(page.decode()) for page in pages
    )
    lists_page, groceries_page = (html.unescape(page.decode()) for page in lists_pages)
    assert 'aria-label="Delete list “Groceries” and its todos"' in lists_page
    assert 'Rename<span class="visually-hidden"> “Groceries”</span>' in lists_page
    assert 'aria-label="Delete list “Groceries” and its todos"' in groceries_page
    assert "Todos · todoapp</title>" in todos_page
    assert 'aria-label="Mark “item 2” done"' in todos_page
    assert "Groceries</a> · added" in todos_page and "Older →</a>" in todos_page
    done = 'aria-label="Mark “item 0” not done" class="check" aria-pressed="true">✓</button>'
    assert done in older_todos
    assert "← Newer</a>" in older_todos
    assert 'aria-label="Restore the list “Old”"' in trash_page
    assert 'data-confirm="Delete “gone 2” forever? This cannot be undone."' in trash_page
    assert "Select “gone 2”" in admin_page


def nav(page: str) -> list[tuple[str, bool]]:
    """The main nav's links: (label, marked as the current page)."""
    main_nav = page.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    links = re.findall(r'<a href="[^"]+" (aria-current="page")?>([^<]+)</a>', main_nav)
    return [(label, bool(current)) for current, label in links]


def test_the_nav_marks_the_current_section_for_each_user(client, auth, alice, admin):
    """The nav's links are kept per endpoint and kind of user
    (presentation.nav_links): each request still gets its own."""
    auth.login("root")
    assert ("Admin trash", True) in nav(text(client.get("/admin/trash")))
    assert ("Trash", False) in nav(text(client.get("/admin/trash")))
    assert nav(text(client.get("/todos")))[:5] == [
        ("Todos", True),
        ("Today", False),
        ("Overdue", False),
        ("Lists", False),
        ("Trash", False),
    ]
    auth.logout()
    auth.login("alice")
    todos_nav = nav(text(client.get("/todos")))
    assert todos_nav == [
        ("Todos", True),
        ("Today", False),
        ("Overdue", False),
        ("Lists", False),
        ("Trash", False),
        ("Account", False),
    ]
    today_nav = nav(text(client.get("/todos/today")))
    assert [label for label, current in today_nav if current] == ["Today"]
    assert [label for label, current in nav(text(client.get("/todos/overdue"))) if current] == [
        "Overdue"
    ]
    assert ("Trash", True) in nav(text(client.get("/trash")))
    assert ("Account", True) in nav(text(client.get("/account")))


def test_a_cursor_past_the_end_says_so(client, alice_in, make_todo):
    make_todo(alice_in, "only")
    page = text(client.get("/todos?before=1"))
    assert "nothing on this page" in page and "only" not in page


@pytest.mark.parametrize(
    "query",
    [
        "before=",
        "before=abc",
        "before=1.5",
        "before=-1",
        "before=99999999999999999999",
        "before=٣",
        "after=x",
        "before=1&after=2",
    ],
)
def test_a_bad_cursor_is_404(client, alice_in, query):
    assert client.get(f"/todos?{query}").status_code == 404
    assert client.get(f"/trash?{query}").status_code == 404


def test_a_cursor_of_another_list_is_404(client, alice_in):
    assert client.get("/todos?before=1-2").status_code == 404
    assert client.get("/trash?before=12").status_code == 404
    assert client.get("/trash?before=1700000000000000-2").status_code == 404
    # A trash cursor names the kind of entry (0: a todo, 1: a list), as ids of two tables meet.
    assert client.get("/trash?before=1700000000000000-0-2").status_code == 200
    assert client.get("/trash?before=1700000000000000-1-2").status_code == 200
    assert client.get("/trash?before=1700000000000000-2-2").status_code == 404


@pytest.mark.parametrize("todo_id", ["0", "-1", "abc", "99999999999999999999", "2147483648"])
def test_odd_ids_are_404_not_500(client, alice_in, todo_id):
    assert client.get(f"/todos/{todo_id}/edit").status_code == 404
    assert client.submit(f"/todos/{todo_id}/toggle").status_code == 404


def test_empty_trash(app, client, alice_in, make_todo):
    make_todo(alice_in, "one", trashed=True)
    make_todo(alice_in, "two", trashed=True)
    make_todo(alice_in, "stays")
    response = client.submit("/trash/empty", follow_redirects=True)
    assert "Emptied the trash: 2 todos deleted forever." in text(response)
    assert "stays" in text(client.get("/todos"))


def test_empty_trash_of_a_large_trash_stops_in_time_and_says_there_is_more(
    app, client, alice_in, make_todo, monkeypatch
):
    monkeypatch.setattr(todos, "PURGE_BATCH_SIZE", 2)
    app.config["WEB_PURGE_BATCHES"] = 1  # one request: 2 rows at most
    for n in range(3):
        make_todo(alice_in, f"t{n}", trashed=True)
    page = text(client.submit("/trash/empty", follow_redirects=True))
    assert "Deleted 2 todos forever. There are more in the trash" in page
    page = text(client.submit("/trash/empty", follow_redirects=True))
    assert "Emptied the trash: 1 todo deleted forever." in page


def test_titles_are_escaped(client, alice_in):
    client.submit("/todos", {"title": "<script>alert(1)</script>"})
    client.submit("/todos", {"title": '"><img src=x onerror=alert(1)>'})
    page = text(client.get("/todos"))
    assert "<script>alert(1)</script>" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_list_names_are_escaped_in_their_pages_labels(client, alice_in, alice, make_list):
    """A list's name goes into its delete button's aria-label through |format
    on markup: the name is escaped there, and the label's quotes are references."""
    name = '"><img src=x onerror=alert(1)>'
    found = make_list(alice, name)
    for path in ("/lists", f"/lists/{found}"):
        page = text(client.get(path))
        assert "<img src=x" not in page
        assert (
            'aria-label="Delete list &ldquo;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;&rdquo;'
            " and its todos" in page
        )


class TestAdminTrash:
    @pytest.fixture
    def trash(self, make_user, make_todo, admin, auth):
        alice, bob = make_user("alice"), make_user("bob")
        ids = {
            "alice": make_todo(alice, "alice's old thing", trashed=True),
            "bob": make_todo(bob, "bob's old thing", trashed=True),
            "alice_id": alice,
        }
        make_todo(bob, "bob's live thing")
        auth.login("root")
        return ids

    def test_sees_everyones_trash_with_owner_and_deleter(self, app, client, trash, admin):
        with app.app_context():
            carol = users.create_user("carol", PASSWORD).id
            todo = todos.create_todo(carol, "trashed by an admin").id
            todos.trash_todo(todo, carol, actor_id=admin)
        page = text(client.get("/admin/trash"))
        assert "alice&#39;s old thing" in page and "bob&#39;s old thing" in page
        assert "bob&#39;s live thing" not in page
        assert page.count('data-label="Owner"><a href="/admin/trash?user=') == 3
        # Who deleted it is said only when it was not the owner.
        assert "Deleted by" not in page
        assert page.count("</time> by ") == 1 and "</time> by root</td>" in page

    def test_filters_by_owner(self, client, trash):
        page = text(client.get("/admin/trash?user=bob"))
        assert "bob&#39;s old thing" in page and "alice&#39;s old thing" not in page
        assert "There is no user named “nobody”." in text(client.get("/admin/trash?user=nobody"))

    def test_restores_and_purges_for_anyone(self, app, client, trash):
        response = client.submit(f"/admin/trash/{trash['alice']}/restore")
        assert response.location == "/admin/trash"
        client.submit(f"/admin/trash/{trash['bob']}/purge", {"next": "/admin/trash?user=bob"})
        with app.app_context():
            rows = db.session.scalars(select(Todo).execution_options(include_trashed=True))
            assert sorted((t.title, t.is_trashed) for t in rows) == [
                ("alice's old thing", False),
                ("bob's live thing", False),
            ]

    def test_purge_expired_uses_the_retention(self, app, client, trash):
        with app.app_context():
            db.session.execute(
                update(Todo)
                .where(Todo.id == trash["alice"])
                .values(deleted_at=utcnow() - timedelta(days=31))
                .execution_options(trashed_only=True)
            )
            db.session.commit()
        response = client.submit("/admin/trash/purge-expired", follow_redirects=True)
        assert "Purged 1 todo trashed more than 30 days ago." in text(response)
        assert "bob&#39;s old thing" in text(response)

    def test_purge_expired_does_a_bounded_share_per_request(
        self, app, client, trash, make_todo, monkeypatch
    ):
        monkeypatch.setattr(todos, "PURGE_BATCH_SIZE", 2)
        app.config["WEB_PURGE_BATCHES"] = 1
        for n in range(3):
            make_todo(trash["alice_id"], f"expired {n}", trashed=True)
        with app.app_context():
            db.session.execute(
                update(Todo)
                .values(deleted_at=utcnow() - timedelta(days=31))
                .execution_options(trashed_only=True)
            )
            db.session.commit()
        page = text(client.submit("/admin/trash/purge-expired", follow_redirects=True))
        assert "Purged 2 todos trashed more than 30 days ago. Still due: 3 todos." in page
        assert "flask trash purge" in page
        page = text(client.submit("/admin/trash/purge-expired", follow_redirects=True))
        assert "Purged 2 todos" in page and "Still due: 1 todo." in page
        page = text(client.submit("/admin/trash/purge-expired", follow_redirects=True))
        assert "Purged 1 todo trashed" in page and "Still due" not in page


def test_error_pages_are_templates(client, alice_in):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "<!doctype html>" in text(response) and "Not Found" in text(response)


def test_a_crash_is_a_friendly_500_and_rolls_back(app, client, alice_in, monkeypatch):
    from todoapp.services import todos

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(todos, "list_todos", explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production
    response = client.get("/todos")
    assert response.status_code == 500
    page = text(response)
    assert "Something went wrong on our side" in page
    assert "Traceback" not in page and "boom" not in page


def test_the_500_page_claims_nothing_it_cannot_know(app, client, alice_in, monkeypatch):
    """A crash after the commit: the todo was saved, so the page must not say
    that nothing was."""
    from todoapp.todos import routes

    def crash_after_saving(*args, **kwargs):
        raise RuntimeError("after the commit")

    monkeypatch.setattr(routes, "redirect", crash_after_saving)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.submit("/todos", {"title": "saved before the crash"})
    assert response.status_code == 500
    page = text(response)
    assert "half-saved" not in page and "Nothing you entered" not in page
    assert "check whether the change was made" in page
    assert "saved before the crash" in text(client.get("/todos"))


def test_an_oversized_body_is_413(client, alice_in):
    response = client.submit("/todos", {"title": "x" * 70_000})
    assert response.status_code == 413
    assert "too much data" in text(response)


def test_every_page_names_its_icon_and_the_icon_is_served(client):
    page = text(client.get("/auth/login"))
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page).group(1)
    with client.get(icon) as response:
        assert response.status_code == 200
        assert response.mimetype == "image/svg+xml"
        assert response.get_data().startswith(b"<svg")


def test_fixed_links_follow_the_path_the_app_is_mounted_at(client, alice_in):
    """The nav's links and the static files' URLs are built once and kept:
    behind a proxy that mounts the app at /todoapp they carry that prefix,
    and the same process serving it at / does not hand those out."""
    mounted = text(client.get("/todos", environ_overrides={"SCRIPT_NAME": "/todoapp"}))
    plain = text(client.get("/todos"))
    for page, prefix in ((mounted, "/todoapp"), (plain, "")):
        assert f'<a href="{prefix}/lists" >Lists</a>' in page
        css = re.search(r'<link rel="stylesheet" href="([^"]+)">', page).group(1)
        assert re.fullmatch(rf"{prefix}/static/app\.css\?v=[0-9a-f]{{12}}", css)
    assert "/todoapp/" not in plain


ARABIC = "شراء الحليب"  # "buy milk": a right-to-left title


def test_titles_and_names_take_their_own_direction(
    app, client, auth, alice, admin, make_todo, make_list
):
    """An Arabic title is laid out right to left wherever it stands alone:
    ``dir="auto"`` on it (and on the fields where one is typed)."""
    shopping = make_list(alice, ARABIC)
    make_todo(alice, ARABIC, list_id=shopping)
    gone = make_todo(alice, ARABIC, trashed=True)
    auth.login("alice")
    own_direction = re.compile(rf'dir="auto"[^>]*>{ARABIC}<')
    for path in ("/todos", f"/lists/{shopping}", "/lists", "/trash", f"/trash/{gone}/restore"):
        assert own_direction.search(text(client.get(path))), path
    for path in ("/todos", "/lists"):
        assert re.search(r'<input[^>]*dir="auto"', text(client.get(path))), path
    auth.logout()
    auth.login("root")
    assert own_direction.search(text(client.get("/admin/trash")))


class _Buttons(HTMLParser):
    """A page's forms (by id: action and fields) and buttons (by accessible
    name: the form they post, where to, and their own name and value)."""

    def __init__(self):
        super().__init__()
        self.forms, self.buttons, self._form = {}, {}, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = a.get("id")
            self.forms[self._form] = {"action": a.get("action"), "fields": {}}
        elif tag == "input" and a.get("type") == "hidden" and self._form is not None:
            self.forms[self._form]["fields"][a["name"]] = a["value"]
        elif tag == "button" and "aria-label" in a:
            owner = a.get("form", self._form)
            own = {a["name"]: a.get("value", "")} if "name" in a else {}
            self.buttons[a["aria-label"]] = (owner, a.get("formaction"), own)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def press(client, path, label):
    """Press the button named ``label`` on ``path`` as a browser without
    JavaScript does: post the fields of the form it names to its formaction."""
    buttons = _Buttons()
    buttons.feed(text(client.get(path)))
    owner, action, own = buttons.buttons[label]
    form = buttons.forms[owner]
    return client.post(action or form["action"], data=form["fields"] | own)


def test_a_rows_buttons_post_the_pages_one_form_without_javascript(
    app, client, auth, alice, admin, make_todo, make_list
):
    """A row has buttons, not forms: each names the page's one hidden form
    (the CSRF token, where to come back) and posts it to its own URL. Pressed
    as a browser without JavaScript presses them, each does its work and
    comes back to the page; the same post without the form's token does nothing."""
    kept, gone = make_todo(alice, "kept"), make_todo(alice, "gone")
    groceries = make_list(alice, "Groceries")
    auth.login("alice")
    page = text(client.get("/todos"))
    assert page.count("<form") == 4  # the search, the add form, the row form, logging out
    assert page.count('name="csrf_token"') == 3

    response = press(client, "/todos", "Mark “kept” done")
    # Done, "kept" goes to the Completed section: back at the row that took its place.
    assert response.status_code == 302 and response.location == f"/todos#todo-{gone}"
    assert 'aria-label="Mark “kept” not done"' in html.unescape(text(client.get("/todos")))
    token_free = client.post(f"/todos/{gone}/delete", data={"next": "/todos"})
    assert token_free.status_code == 400
    assert press(client, "/todos", "Delete “gone”").status_code == 302
    assert "Moved “gone” to the trash." in html.unescape(text(client.get("/todos")))
    assert press(client, "/trash", "Restore “gone”").status_code == 302
    assert press(client, "/todos", "Delete “gone”").status_code == 302
    assert press(client, "/trash", "Delete forever: “gone”").status_code == 302
    assert press(client, "/lists", "Delete list “Groceries” and its todos").status_code == 302
    with app.app_context():
        assert db.session.get(Todo, gone, execution_options={"include_trashed": True}) is None
        assert db.session.get(Todo, kept).done
    assert "Groceries</bdi>, with 0 todos" in text(client.get("/trash"))

    auth.logout()
    auth.login("root")
    assert press(client, "/admin/trash", "Restore the list “Groceries”").status_code == 302
    restored = "Restored the list “Groceries” for alice, with 0 todos."
    assert restored in html.unescape(text(client.get("/admin/trash")))
    with app.app_context():
        assert db.session.get(List, groceries) is not None


def _row_ids(page: str, kind: str = "todo") -> list[str]:
    return re.findall(rf'<(?:li|tr)[^>]* id="({kind}-[0-9]+)"', page)


def test_without_javascript_a_button_comes_back_to_its_row(client, alice, auth, make_todo):
    """Each row has an id, and a row's button redirects to the page with it as
    the fragment: the browser scrolls to that row and focuses it (it takes
    the focus, tabindex -1). When the row went away, to the next row, or the
    one before it for the last; never to anything but a row's id."""
    title_of = {f"todo-{make_todo(alice, title)}": title for title in ("a", "b", "c", "d")}
    auth.login("alice")
    page = text(client.get("/todos"))
    shown = _row_ids(page)
    assert sorted(shown) == sorted(title_of) and page.count('tabindex="-1"') == 4
    first, second, third, last = shown

    # Done, it goes to the Completed section: back at the row that took its
    # place. Ticked again (the only one there), back among the open, at itself.
    ticked = press(client, "/todos", f"Mark “{title_of[second]}” done")
    assert ticked.location == f"/todos#{third}"
    ticked = press(client, "/todos", f"Mark “{title_of[second]}” not done")
    assert ticked.location == f"/todos#{second}"
    deleted = press(client, "/todos", f"Delete “{title_of[second]}”")
    assert deleted.location == f"/todos#{third}"
    deleted = press(client, "/todos", f"Delete “{title_of[last]}”")
    assert deleted.location == f"/todos#{third}"  # the last row: the one before it

    # Undo comes back to the todo, in its place again.
    page = text(client.get("/todos"))
    assert re.search(rf'<button type="submit" name="then" value="{last}"[^>]*>Undo<', page)
    undo = client.submit(
        f"/trash/{last.removeprefix('todo-')}/restore", {"next": "/todos", "then": last}
    )
    assert undo.location == f"/todos#{last}"

    # In the trash, restoring or purging a row comes back to the next one.
    press(client, "/todos", f"Delete “{title_of[first]}”")
    entries = _row_ids(text(client.get("/trash")), "trash-todo")
    assert len(entries) == 2
    restored = press(client, "/trash", f"Restore “{title_of[entries[0].removeprefix('trash-')]}”")
    assert restored.location == f"/trash#{entries[1]}"

    # A made-up anchor is not written into the redirect.
    toggle = f"/todos/{third.removeprefix('todo-')}/toggle"
    for forged in ("x", "todo-1 onclick", "todo-", "../todo-1", "trash-todo-1#a"):
        response = client.submit(toggle, {"next": "/todos", "then": forged})
        assert response.location == f"/todos#{third}", forged
    assert client.submit(toggle, {"next": "/todos#top"}).location == "/todos#top"


def test_without_javascript_the_only_row_leaving_its_page_comes_back_to_the_content(
    client, alice, auth, make_todo, monkeypatch
):
    """A page's only row has no neighbour to come back to. Where it leaves
    the page (ticked on Today, Overdue or Completed, which show one state;
    deleted anywhere) the redirect names the page's content, where the skip
    link goes, not the top of the page nor a row no longer there. Ticked on
    the todo list it goes to Completed, and comes back to itself there."""
    now = utcnow()
    monkeypatch.setattr(due, "utcnow", lambda: now)
    today = due.today_in(None)
    auth.login("alice")

    done = make_todo(alice, "done long ago", done=True)
    completed = "/todos?show=completed"
    assert _row_ids(text(client.get(completed))) == [f"todo-{done}"]
    unticked = press(client, completed, "Mark “done long ago” not done")
    assert unticked.location == f"{completed}#{CONTENT}"
    assert _row_ids(text(client.get(completed))) == []

    for path, due_on in (("/todos/today", today), ("/todos/overdue", today - timedelta(days=3))):
        title = f"due for {path}"
        todo = make_todo(alice, title, due_on=due_on)
        page = text(client.get(path))
        assert _row_ids(page) == [f"todo-{todo}"] and f'<main id="{CONTENT}"' in page
        ticked = press(client, path, f"Mark “{title}” done")
        assert ticked.location == f"{path}#{CONTENT}"
        assert _row_ids(text(client.get(path))) == []

    # On the todo list the only open row, ticked, is in Completed: back at it.
    assert _row_ids(text(client.get("/todos")))[0] == f"todo-{done}"
    ticked = press(client, "/todos", "Mark “done long ago” done")
    assert ticked.location == f"/todos#todo-{done}"
    assert f"todo-{done}" in _row_ids(text(client.get("/todos")))
    last = make_todo(alice, "the last one")
    deleted = press(client, "/todos", "Delete “the last one”")
    assert deleted.location == f"/todos#{CONTENT}"
    assert f"todo-{last}" not in _row_ids(text(client.get("/todos")))


def test_a_list_opens_with_the_focus_in_its_add_field(client, alice, auth, make_list):
    """The todo list and a list's page put the focus in the add field (and
    nowhere else); without a row named in the address, the browser does."""
    groceries = make_list(alice, "Groceries")
    auth.login("alice")
    for path in ("/todos", f"/lists/{groceries}"):
        focused = re.findall(r"<[^>]*\bautofocus\b[^>]*>", text(client.get(path)))
        assert len(focused) == 1 and 'name="title"' in focused[0], path
