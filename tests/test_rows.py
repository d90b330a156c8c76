"""The list pages' rows are built in Python (todoapp.rows), one escape per
value, for speed. This holds them to the same markup written as Jinja loops
(tests/rows/), byte for byte, over titles that need escaping, done and not
done."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from flask import render_template_string
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup, escape

from todoapp.rows import _time, escaped, row_form, time_ago, todo_rows
from todoapp.services.todos import LIST_ENTRY

# The todo list's rows as a Jinja loop.
JINJA_ROWS = (Path(__file__).parent / "rows" / "todos.html").read_text()

TITLES = ["milk", "<b>\"bold\" & 'quoted'</b>", "é" * 200, "a{b}c", "{title}", "✓ done?"]


@pytest.mark.parametrize("lists_base", [None, "/lists/"], ids=["one list", "with list names"])
@pytest.mark.parametrize("done", [False, True])
@pytest.mark.parametrize("count", [1, len(TITLES)], ids=["the only row", "rows"])
@pytest.mark.parametrize("ticked_away", [False, True], ids=["both states", "one state"])
def test_todo_rows_match_the_template_byte_for_byte(app, done, lists_base, count, ticked_away):
    now = datetime.now(UTC)
    items = [
        dict(
            id=n + 1,
            title=t,
            done=done,
            created_at=now - timedelta(hours=n * 7),
            # A todo not backfilled yet has no list id, and is in the Inbox.
            list_id=None if n == 2 else 40 + n,
            list_name=TITLES[-1 - n],
            in_inbox=n in (2, 4),
        )
        for n, t in enumerate(TITLES[:count])
    ]
    args = {
        "base": "/todos/",
        "next_q": "%2Ftodos%3Fbefore%3D5",
        "lists_base": lists_base,
        "ticked_away": ticked_away,
    }
    with app.test_request_context():
        expected = render_template_string(JINJA_ROWS, items=items, **args)
        assert str(todo_rows(items, **args)) == expected


def reference(name: str) -> str:
    return (Path(__file__).parent / "rows" / f"{name}.html").read_text()


@pytest.mark.parametrize("retention", [30, 1])
def test_trash_rows_match_the_template_byte_for_byte(app, retention):
    from todoapp.rows import admin_trash_rows, trash_rows

    app.config["TRASH_RETENTION_DAYS"] = retention
    now = datetime.now(UTC)
    items = [
        dict(
            kind=0,  # todos: a list's entry has no Jinja loop to match
            id=n + 1,
            title=t,
            deleted_at=now - timedelta(hours=n * 9),
            # The last owner could not register today; its name still needs quoting.
            owner=["alice", "b.o-b_2", "carol", "Old Name & <co>/é"][n % 4],
            deleter=[None, "b.o-b_2", "root"][n % 3],
        )
        for n, t in enumerate(TITLES)
    ]
    with app.test_request_context():
        expected = render_template_string(reference("trash"), items=items, base="/trash/")
        built = trash_rows(items, base="/trash/", lists_base="/trash/lists/")
        assert str(built) == expected
        expected = render_template_string(
            reference("admin_trash"),
            items=items,
            base="/admin/trash/",
            by_owner="/admin/trash?user=",
        )
        built = admin_trash_rows(
            items,
            base="/admin/trash/",
            by_owner="/admin/trash?user=",
            lists_base="/admin/trash/lists/",
        )
        assert str(built) == expected


def test_a_trashed_lists_name_keeps_its_own_direction(app):
    """A trashed list's row starts with the word "List": its name is isolated
    (bdi), so an Arabic name still reads right to left, in both trashes."""
    from todoapp.rows import admin_trash_rows, trash_rows

    entry = dict(
        kind=LIST_ENTRY,
        id=7,
        title="البقالة <b>",
        todos=2,
        deleted_at=datetime.now(UTC),
        owner="alice",
        deleter=None,
    )
    with app.test_request_context():
        for built in (
            trash_rows([entry], base="/trash/", lists_base="/trash/lists/"),
            admin_trash_rows(
                [entry], base="/admin/trash/", by_owner="/admin/trash?user=", lists_base="/l/"
            ),
        ):
            assert (
                '<span class="kind">List</span> <bdi>البقالة &lt;b&gt;</bdi>, with 2 todos' in built
            )


def test_the_row_form_escapes_what_is_not_markup():
    """The page's one form for the rows' buttons writes its fields as given
    only when they are markup; a plain string is escaped."""
    fields = '<input type="hidden" name="csrf_token" value="a&amp;b">'
    assert row_form(Markup(fields)) == f'<form id="rows" method="post" hidden>{fields}</form>'  # noqa: S704
    assert "<input" not in row_form(fields) and "&lt;input" in row_form(fields)


@given(st.text() | st.sampled_from(TITLES) | st.text(alphabet="&<>'\"ab é"))
def test_a_rows_value_is_escaped_as_markupsafe_escapes_it(value):
    """The rows skip markupsafe's wrapper when a value has nothing to escape;
    what they write is still markupsafe's escape, as a plain str."""
    written = escaped(value)
    assert written == str(escape(value)) and type(written) is str
    assert escaped(None) == "None"  # as escape writes a missing value


@pytest.mark.parametrize(
    ("before", "says"),
    [
        (timedelta(seconds=-30), "just now"),  # a clock a little ahead
        (timedelta(0), "just now"),
        (timedelta(seconds=59, microseconds=999_999), "just now"),
        (timedelta(minutes=1), "1 minute ago"),
        (timedelta(minutes=2) - timedelta(microseconds=1), "1 minute ago"),
        (timedelta(minutes=2), "2 minutes ago"),
        (timedelta(hours=1) - timedelta(microseconds=1), "59 minutes ago"),
        (timedelta(hours=1), "1 hour ago"),
        (timedelta(hours=23, minutes=59), "23 hours ago"),
        (timedelta(days=1), "1 day ago"),
        (timedelta(days=2, hours=23), "2 days ago"),
        (timedelta(days=400), "400 days ago"),
    ],
)
def test_a_row_says_how_long_ago_in_whole_units(before, says):
    now = datetime(2026, 12, 3, 8, 0, 0, 123_456, tzinfo=UTC)
    assert time_ago(now - before, now) == says


def test_a_rows_time_is_the_when_macros_seen_once_or_again(app):
    """rows._time keeps a UTC moment's tag by its timestamp: the
    same tag as the ``when`` macro writes (``isoformat``, ``exact``), the
    first time and the next, for any moment, in any zone, with or without
    microseconds, and for the moment a microsecond later."""

    zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))])

    # Mostly the years whose tags are kept (1970 to 2106), and from the year
    # 1000 on (strftime writes earlier years without a leading zero).
    kept = st.datetimes(datetime(1970, 1, 1), datetime(2106, 1, 1), timezones=zones)
    moments = kept | kept | st.datetimes(min_value=datetime(1000, 1, 1), timezones=zones)

    @given(moments, st.booleans())
    def check(moment, whole_second):
        if whole_second:
            moment = moment.replace(microsecond=0)
        later = moment + timedelta(microseconds=1) if moment.year < 9999 else moment
        for shown in (moment, moment, later):
            macro = render_template_string(
                '{% from "macros.html" import when %}{{ when(moment) }}', moment=shown
            )
            tag = macro[: macro.index(">") + 1]
            assert tag.startswith("<time datetime=")
            assert _time(shown, "some words") == f"{tag}some words</time>"

    with app.test_request_context():
        check()
