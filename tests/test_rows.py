"""The list pages' rows are built in Python (todoapp.rows), one escape per
value, for speed. This holds them to the Jinja markup they replaced, byte
for byte, over titles that need escaping, done and not done."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from flask import render_template_string
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from todoapp.rows import _time, escaped, time_ago, todo_rows

# The loop todos/index.html had before the rows moved to todo_rows.
JINJA_ROWS = (Path(__file__).parent / "rows" / "todos.html").read_text()

TITLES = ["milk", "<b>\"bold\" & 'quoted'</b>", "é" * 200, "a{b}c", "{title}", "✓ done?"]


@pytest.mark.parametrize("lists_base", [None, "/lists/"], ids=["one list", "with list names"])
@pytest.mark.parametrize("done", [False, True])
def test_todo_rows_match_the_template_byte_for_byte(app, done, lists_base):
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
        )
        for n, t in enumerate(TITLES)
    ]
    args = {
        "base": "/todos/",
        "hidden": '<input type="hidden" name="csrf_token" value="a&b">',
        "next_q": "%2Ftodos%3Fbefore%3D5",
        "lists_base": lists_base,
    }
    with app.test_request_context():
        from markupsafe import Markup

        hidden = Markup(args["hidden"])  # noqa: S704 (the test's own markup)
        expected = render_template_string(JINJA_ROWS, items=items, **(args | {"hidden": hidden}))
        assert (
            str(
                todo_rows(
                    items,
                    base=args["base"],
                    hidden=hidden,
                    next_q=args["next_q"],
                    lists_base=lists_base,
                )
            )
            == expected
        )


def reference(name: str) -> str:
    return (Path(__file__).parent / "rows" / f"{name}.html").read_text()


@pytest.mark.parametrize("retention", [30, 1])
def test_trash_rows_match_the_template_byte_for_byte(app, retention):
    from markupsafe import Markup

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
    hidden = Markup('<input type="hidden" name="csrf_token" value="a&b">')  # noqa: S704
    with app.test_request_context():
        expected = render_template_string(
            reference("trash"), items=items, base="/trash/", hidden=hidden
        )
        built = trash_rows(items, base="/trash/", hidden=hidden, lists_base="/trash/lists/")
        assert str(built) == expected
        expected = render_template_string(
            reference("admin_trash"),
            items=items,
            base="/admin/trash/",
            by_owner="/admin/trash?user=",
            hidden=hidden,
        )
        built = admin_trash_rows(
            items,
            base="/admin/trash/",
            by_owner="/admin/trash?user=",
            hidden=hidden,
            lists_base="/admin/trash/lists/",
        )
        assert str(built) == expected


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
