"""Due dates: the user's own date, the Today and Overdue views across lists,
a list by due date, and the forms. The clock is the test's: every date here
is derived from a moment it chooses, never from the day the test runs."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from todoapp.extensions import db
from todoapp.models import Todo
from todoapp.services import due, lists, todos

# Half past eleven at night in UTC: already tomorrow in Tokyo (UTC+9, no
# summer time), still today in UTC.
LATE = datetime.now(UTC).replace(hour=23, minute=30, second=0, microsecond=0)
UTC_DAY = LATE.date()
TOKYO = "Asia/Tokyo"


@pytest.fixture
def clock(monkeypatch):
    """The app's clock for due dates, stopped at LATE."""
    monkeypatch.setattr(due, "utcnow", lambda: LATE)
    return LATE


def text(response):
    return response.get_data(as_text=True)


def test_today_is_the_date_where_the_user_is(clock):
    assert due.today_in(None) == UTC_DAY
    assert due.today_in(TOKYO) == UTC_DAY + timedelta(days=1)
    # A zone the server does not know, or anything else a cookie may say: UTC.
    for name in ("Mars/Olympus_Mons", "../../etc/passwd", "", "x" * 1000):
        assert due.today_in(name) == UTC_DAY


@pytest.mark.parametrize(
    ("offset", "done", "says", "overdue"),
    [
        (0, False, "Due today", False),
        (1, False, "Due tomorrow", False),
        (-3, False, "Overdue · {day}", True),
        (-3, True, "Due {day}", False),  # done: no longer overdue
        (9, False, "Due {day}", False),
        (400, False, "Due {day} {year}", False),
    ],
)
def test_a_due_date_reads_from_the_users_date(offset, done, says, overdue):
    due_on = UTC_DAY + timedelta(days=offset)
    expected = says.format(day=f"{due_on.day} {due_on:%b}", year=due_on.year)
    assert due.due_label(due_on, UTC_DAY, done=done) == (expected, overdue)


@pytest.fixture
def agenda(app, alice, bob, make_todo, make_list):
    """alice's todos around UTC_DAY in two lists, and what should not show."""
    errands = make_list(alice, "Errands")
    old = make_list(alice, "Old")
    day = UTC_DAY
    made = {
        "today, inbox": make_todo(alice, "today, inbox", due_on=day),
        "today, errands": make_todo(alice, "today, errands", list_id=errands, due_on=day),
        "yesterday": make_todo(alice, "yesterday", list_id=errands, due_on=day - timedelta(1)),
        "long ago": make_todo(alice, "long ago", due_on=day - timedelta(days=40)),
        "tomorrow": make_todo(alice, "tomorrow", due_on=day + timedelta(1)),
        "undated": make_todo(alice, "undated"),
    }
    done = make_todo(alice, "done today", due_on=day)
    make_todo(alice, "trashed today", due_on=day, trashed=True)
    make_todo(alice, "in a trashed list", list_id=old, due_on=day - timedelta(1))
    make_todo(bob, "bob's today", due_on=day)
    with app.app_context():
        todos.toggle_todo(done, alice)
        lists.trash_list(old, alice, actor_id=alice)
    return made


def titles(page):
    return [row["title"] for row in page.items]


def test_today_and_overdue_show_open_todos_across_lists(app, alice, agenda):
    with app.app_context():
        assert titles(todos.list_due_today(alice, UTC_DAY, 50)) == [
            "today, errands",
            "today, inbox",
        ]
        # The longest overdue first; each row names its list.
        overdue = todos.list_overdue(alice, UTC_DAY, 50)
        assert titles(overdue) == ["long ago", "yesterday"]
        assert [row["list_name"] for row in overdue.items] == ["Inbox", "Errands"]
        # Tomorrow in Tokyo, "tomorrow" is due today and "today" overdue.
        tomorrow = UTC_DAY + timedelta(days=1)
        assert titles(todos.list_due_today(alice, tomorrow, 50)) == ["tomorrow"]
        assert len(todos.list_overdue(alice, tomorrow, 50).items) == 4


def walk(listing, per_page):
    """Every row of a list, page by page down it, then back up from the last
    page: (rows going down, rows going up, in list order)."""
    down, page = [], listing(per_page)
    pages = [page]
    while True:
        down += page.items
        if page.older is None:
            break
        page = listing(per_page, before=page.older)
        pages.append(page)
    up = list(page.items)
    while page.newer is not None:
        page = listing(per_page, after=page.newer)
        up = list(page.items) + up
    assert page.first or not up
    return [row["id"] for row in down], [row["id"] for row in up]


def test_a_list_by_due_date_pages_through_dated_then_undated_both_ways(
    app, alice, make_todo, make_list
):
    errands = make_list(alice, "Errands")
    offsets = [5, -2, 0, 5, 30, -2, 1]  # two pairs share a date: the id breaks the tie
    dated = [
        (
            UTC_DAY + timedelta(days=n),
            make_todo(alice, f"d{i}", list_id=errands, due_on=UTC_DAY + timedelta(days=n)),
        )
        for i, n in enumerate(offsets)
    ]
    undated = [make_todo(alice, f"u{i}", list_id=errands) for i in range(4)]
    make_todo(alice, "elsewhere", due_on=UTC_DAY)  # another list's
    expected = [todo_id for _, todo_id in sorted(dated)] + sorted(undated, reverse=True)
    with app.app_context():
        found = lists.get_list(errands, owner_id=alice)
        for per_page in (1, 2, 3, len(expected)):
            down, up = walk(lambda n, **c: todos.list_in_list_by_due(found, n, **c), per_page)
            assert down == expected
            assert up == expected


def test_overdue_pages_the_same_both_ways(app, alice, make_todo):
    made = [
        (UTC_DAY - timedelta(days=n), make_todo(alice, f"o{i}", due_on=UTC_DAY - timedelta(days=n)))
        for i, n in enumerate([3, 1, 7, 3, 2, 1])
    ]
    expected = [todo_id for _, todo_id in sorted(made)]
    with app.app_context():
        down, up = walk(lambda n, **c: todos.list_overdue(alice, UTC_DAY, n, **c), 2)
    assert down == up == expected


@pytest.fixture
def alice_in(client, auth, alice):
    auth.login("alice")
    return alice


def due_of(app, title):
    with app.app_context():
        return db.session.scalar(select(Todo.due_on).where(Todo.title == title))


def test_adding_and_editing_a_due_date(app, client, alice_in, clock):
    response = client.submit("/todos", {"title": "pay rent", "due_on": UTC_DAY.isoformat()})
    assert response.status_code == 302
    assert due_of(app, "pay rent") == UTC_DAY
    page = text(client.get("/todos"))
    assert f'<time datetime="{UTC_DAY.isoformat()}">Due today</time>' in page
    assert 'type="date"' in page  # the add form's date picker

    with app.app_context():
        todo_id = db.session.scalar(select(Todo.id).where(Todo.title == "pay rent"))
    edit = f"/todos/{todo_id}/edit"
    assert f'value="{UTC_DAY.isoformat()}"' in text(client.get(edit))
    earlier = UTC_DAY - timedelta(days=3)
    with app.app_context():
        inbox = lists.inbox_of(alice_in)
    assert (
        client.submit(
            edit, {"title": "pay rent", "due_on": earlier.isoformat(), "list_id": inbox}
        ).status_code
        == 302
    )
    assert due_of(app, "pay rent") == earlier
    assert f"Overdue &middot; {earlier.day} {earlier:%b}" in text(client.get("/todos"))
    # Emptied: no due date.
    assert (
        client.submit(edit, {"title": "pay rent", "due_on": "", "list_id": inbox}).status_code
        == 302
    )
    assert due_of(app, "pay rent") is None
    # A form without the field (a page from before due dates) keeps the date.
    client.submit(edit, {"title": "pay rent", "due_on": earlier.isoformat(), "list_id": inbox})
    assert client.submit(edit, {"title": "renamed"}).status_code == 302
    assert due_of(app, "renamed") == earlier


def test_a_bad_date_is_a_clear_error_and_nothing_is_lost(app, client, alice_in):
    response = client.submit("/todos", {"title": "pay rent", "due_on": "31/12/2030"})
    assert response.status_code == 422
    page = text(response)
    assert "Enter the date as YYYY-MM-DD, or leave it empty." in page
    assert 'value="pay rent"' in page and 'value="31/12/2030"' in page
    assert due_of(app, "pay rent") is None
    with app.app_context():
        assert db.session.scalar(select(Todo.id).where(Todo.title == "pay rent")) is None


def test_today_follows_the_browsers_time_zone(app, client, alice_in, make_todo, clock):
    tomorrow = UTC_DAY + timedelta(days=1)
    make_todo(alice_in, "call the bank", due_on=tomorrow)
    make_todo(alice_in, "water the plants", due_on=UTC_DAY)
    # No zone (no JavaScript): the date in UTC.
    page = text(client.get("/todos/today"))
    assert "water the plants" in page and "call the bank" not in page
    assert "Nothing is overdue." in text(client.get("/todos/overdue"))
    # In Tokyo it is already tomorrow.
    client.set_cookie("tz", TOKYO)
    page = text(client.get("/todos/today"))
    assert "call the bank" in page and "water the plants" not in page
    overdue = text(client.get("/todos/overdue"))
    assert "water the plants" in overdue and "Overdue &middot;" in overdue
    # A zone the server does not know counts as UTC.
    client.set_cookie("tz", "Nowhere/Special")
    assert "water the plants" in text(client.get("/todos/today"))


def test_a_list_page_orders_by_due_date_on_request(app, client, alice_in, make_list, make_todo):
    app.config["TODOS_PER_PAGE"] = 2
    errands = make_list(alice_in, "Errands")
    make_todo(alice_in, "later", list_id=errands, due_on=UTC_DAY + timedelta(days=9))
    make_todo(alice_in, "sooner", list_id=errands, due_on=UTC_DAY + timedelta(days=2))
    make_todo(alice_in, "no date", list_id=errands)
    newest = text(client.get(f"/lists/{errands}"))
    assert newest.index("no date") < newest.index("sooner") and "later" not in newest
    page = text(client.get(f"/lists/{errands}?order=due"))
    assert page.index("sooner") < page.index("later") and "no date" not in page
    later_link = re.search(r'<a rel="next" href="([^"]+)">Later', page).group(1)
    assert "order=due" in later_link
    assert "no date" in text(client.get(later_link.replace("&amp;", "&")))
    assert client.get(f"/lists/{errands}?order=whatever").status_code == 404
    # A cursor of one ordering is not one of the other.
    assert client.get(f"/lists/{errands}?order=due&before=5").status_code == 404
    assert client.get(f"/lists/{errands}?before=0-739000-5").status_code == 404
    for cursor in ("0-5", "1-739000-5", "2-5", "0-0-5", "0-99999999-5", "-5", "٠-5"):
        assert client.get(f"/lists/{errands}?order=due&before={cursor}").status_code == 404
    for cursor in ("5", "0-5", "99999999-5", "1-2-3", "739000-99999999999", "739000-x"):
        assert client.get(f"/todos/overdue?before={cursor}").status_code == 404


def test_the_kept_zones_are_bounded_and_only_the_servers_own(clock):
    """A client invents the cookie: thousands of made-up zones keep nothing,
    and every real zone at once keeps no more than the bound."""
    import zoneinfo

    due._zone.cache_clear()
    for n in range(5000):
        assert due.today_in(f"Nowhere/Place_{n}") == UTC_DAY
    assert due._zone.cache_info().currsize == 0
    for name in sorted(zoneinfo.available_timezones()):
        due.today_in(name)
    assert due._zone.cache_info().currsize == due.ZONES_KEPT
