"""The rows of the three list pages (the todo list, a trash, everyone's trash),
built in Python rather than by a Jinja loop.

A page writes fifty rows. A Python function per row, one f-string with each
value escaped once, does what a Jinja loop does with far fewer lookups.
tests/test_rows.py holds each to the Jinja loop it replaced (tests/rows/),
byte for byte.

Safe by construction: every value a row writes goes through ``escaped``,
which only ``markupsafe.Markup`` passes as it is, the page's constants too
(its URLs and the forms' hidden fields). What is not escaped is written by
this module from numbers and moments: ids, counts, ``<time>`` tags.

A row is a mapping of column name to value (``Query.mappings``), so reading
a column is a dict lookup and any label works. The quotes, the dot and the
tick are written as character references (&ldquo; &middot; &check;), so a
page of plain-ASCII todos stays ASCII, which Python encodes with a copy
(tests/test_pages.py holds the list pages to ASCII).
"""

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from urllib.parse import quote

from flask import current_app
from markupsafe import Markup, escape

from .models import utcnow
from .services.due import due_label
from .services.todos import LIST_ENTRY
from .web import CONTENT

# Enough for a few pages seen by many users at once.
TIME_TAGS_KEPT = 4096
# What ``quote`` leaves as it is: a value of only these is its own quoted form.
_UNQUOTED = re.compile(r"[A-Za-z0-9_.~/-]*")


def escaped(value) -> str:
    """``value`` as HTML text, a plain ``str``: ``Markup`` as it is,
    anything else through ``markupsafe.escape``. Most titles and names hold
    none of the five characters it replaces, and are then written as they
    are: markupsafe's wrapper costs about ten times that search."""
    kind = type(value)
    if kind is str:
        if not ("&" in value or "<" in value or ">" in value or "'" in value or '"' in value):
            return value
    elif kind is int:
        return str(value)
    elif isinstance(value, Markup):
        return str(value)
    return str(escape(str(value)))


def time_ago(moment: datetime, now: datetime | None = None) -> str:
    """How long before ``now``, in whole days, hours or minutes; "just now"
    under a minute (and for a moment in the future). A chain of comparisons,
    not a loop over units: every row says it."""
    seconds = ((now or utcnow()) - moment).total_seconds()
    if seconds >= 86400:
        n, unit = int(seconds // 86400), "day"
    elif seconds >= 3600:
        n, unit = int(seconds // 3600), "hour"
    elif seconds >= 60:
        n, unit = int(seconds // 60), "minute"
    else:
        return "just now"
    return f"1 {unit} ago" if n == 1 else f"{n} {unit}s ago"


def _time_tag(moment: datetime) -> str:
    """A ``<time>`` opening tag: the ISO value, and the exact time as a
    tooltip, as the ``when`` macro writes them (the tooltip cut from the ISO
    text, which needs no strftime)."""
    iso = moment.isoformat()
    return f'<time datetime="{iso}" title="{iso[:10]} {iso[11:16]} UTC">'


# A UTC moment's tag, kept: a page seen again writes the same ones. Only UTC
# moments, since equal moments in two zones would share one key.
_utc_time_tag = lru_cache(maxsize=TIME_TAGS_KEPT)(_time_tag)


def _time(moment: datetime, text: str) -> str:
    """``text`` in a ``<time>`` of ``moment``."""
    tag = _utc_time_tag(moment) if moment.tzinfo is UTC else _time_tag(moment)
    return f"{tag}{text}</time>"


def _when(moment: datetime, now: datetime) -> str:
    """A moment as the rows show it: how long ago, in a ``<time>``."""
    return _time(moment, time_ago(moment, now))


def _in_url(value: str) -> str:
    """``value`` as a URL's query value, escaped for an attribute."""
    return escaped(value if _UNQUOTED.fullmatch(value) else quote(value, safe="/"))


def todos_count(n: int) -> str:
    return f"{n} todo" if n == 1 else f"{n} todos"


def _purge_in(purge: datetime, now: datetime) -> str:
    """What the trash says of a row the purge may take at ``purge``."""
    days = max(0, math.ceil((purge - now).total_seconds() / 86400))
    if days == 0:
        return "purged at the next clean-up"
    return f"purged in {days} day{'' if days == 1 else 's'}"


# The id of the one form a list page carries for its rows' buttons (see
# ``row_form``): a row has buttons, not forms.
ROW_FORM = "rows"


def row_form(hidden: Markup) -> Markup:
    """The page's one form for its rows' buttons: the CSRF token and where
    to come back (``hidden``). Each button names it (``form=``) and sends it
    to its own URL (``formaction=``), so a row writes no hidden field, and
    without JavaScript a button still posts and the server redirects."""
    return Markup(f'<form id="{ROW_FORM}" method="post" hidden>{escaped(hidden)}</form>')  # noqa: S704


# How a row's button opens: it posts the page's row form, to the URL that
# follows. Then its accessible name (aria-label) and what it shows: nothing,
# for an icon button (the delete buttons: app.css draws them), which has a
# tooltip. Written out in each row's f-string: a call per button costs more
# than the row's other work.
_BUTTON = f'<button form="{ROW_FORM}" formaction="'


@dataclass(frozen=True)
class _Page:
    """What is the same for every row of a page, escaped once; and the
    time, so that every row counts from one moment."""

    base: str  # the rows' URL, with a trailing slash
    now: datetime
    lists_base: str | None = None  # the lists' URL, with a trailing slash
    next_q: str = ""  # this page, URL-encoded: where Edit comes back to
    retention: timedelta = timedelta(0)  # how long the trash keeps a row
    by_owner: str = ""  # the admin trash's URL up to "?user="
    today: date | None = None  # the user's date, for due dates
    ticked_away: bool = False  # a tick takes a row off the page (Today: open todos only)


def _page(**values) -> _Page:
    for name, value in values.items():
        if isinstance(value, str):
            values[name] = escaped(value)
    return _Page(now=utcnow(), **values)


def _due(todo, page: _Page) -> str:
    """A todo's due date as its row says it ("Due today", "Overdue &middot;
    3 Dec"), in a ``<time>`` of the date, then a separator; "" without one."""
    due_on = todo.get("due_on")
    if due_on is None or page.today is None:
        return ""
    text, overdue = due_label(due_on, page.today, done=todo["done"])
    return (
        f'<span class="due{" is-overdue" if overdue else ""}">'
        f'<time datetime="{due_on.isoformat()}">{text.replace("·", "&middot;")}</time>'
        "</span> &middot; "
    )


# A row's anchor: its id, which a redirect names (``#todo-12``) to come back
# to it, and which app.js finds the row by after an update in place. A row
# takes the focus (tabindex -1) when the address names it.
def _todo_anchor(todo) -> str:
    return f"todo-{escaped(todo['id'])}"


def _entry_anchor(item) -> str:
    return f"trash-{'list' if item['kind'] == LIST_ENTRY else 'todo'}-{escaped(item['id'])}"


def _then(anchor: str | None) -> str:
    """A button's field for a row it takes away: the row to come back to
    (``web.THEN``), the next one, or the one before on the page's last; for
    the only row, the page's content (``web.CONTENT``)."""
    return "" if anchor is None else f' name="then" value="{anchor}"'


def _todo_row(todo, page: _Page, neighbour=None) -> str:
    """One todo of a list: tick, title, its list (on the todo list, unless
    it is the Inbox), when it was added, edit, move, delete."""
    done, todo_id = todo["done"], escaped(todo["id"])
    title, url = escaped(todo["title"]), f"{page.base}{todo_id}"
    # A tick takes the row to the other section (open or Completed), as
    # Delete takes it away: both come back to the row that takes its place.
    # The only row comes back to the page's content when it leaves the page
    # (deleted, or ticked where a tick takes it away), else to itself.
    if neighbour is not None:
        then = toggle_then = _then(_todo_anchor(neighbour))
    else:
        then = _then(CONTENT)
        toggle_then = then if page.ticked_away else ""
    if page.lists_base is None or todo["in_inbox"]:
        in_list = ""
    else:
        in_list = (
            f'in <a href="{page.lists_base}{escaped(todo["list_id"])}">'
            f"{escaped(todo['list_name'])}</a> &middot; "
        )
    return (
        f'<li class="todo{" is-done" if done else ""}" id="todo-{todo_id}" '
        f'tabindex="-1">{_BUTTON}{url}/toggle"{toggle_then} '
        f'aria-label="Mark &ldquo;{title}&rdquo; {"not done" if done else "done"}" class="check" '
        f'aria-pressed="{"true" if done else "false"}">{"&check;" if done else ""}</button>\n'
        f'<span class="title" dir="auto">{title}</span>\n'
        f'<span class="meta">{_due(todo, page)}{in_list}added '
        f"{_when(todo['created_at'], page.now)}</span>\n"
        '<span class="row-actions">'
        f'<a class="button-secondary" href="{url}/edit?next={page.next_q}">Edit'
        f'<span class="visually-hidden"> &ldquo;{title}&rdquo;</span></a>\n'
        f'<a class="button-secondary" href="{url}/move?next={page.next_q}">Move'
        f'<span class="visually-hidden"> &ldquo;{title}&rdquo;</span></a>\n'
        f'{_BUTTON}{url}/delete"{then} '
        f'aria-label="Delete &ldquo;{title}&rdquo;" '
        'class="icon-button delete" title="Delete"></button></span></li>\n'
    )


def _entry(item, page: _Page, neighbour=None) -> tuple[str, str, str, str]:
    """What both trash pages write of an entry, a todo's or a list's: its
    checkbox (in the page's bulk form) with its label; its Details link's
    URL and words; what it is; its two buttons, Restore and Delete forever
    (an icon, which asks first when the script runs)."""
    title, item_id = escaped(item["title"]), escaped(item["id"])
    if item["kind"] == LIST_ENTRY:
        count = todos_count(item["todos"])
        name, box, url = "list_ids", f"select-list-{item_id}", f"{page.lists_base}{item_id}"
        label = f"the list &ldquo;{title}&rdquo;"
        # The name isolated (bdi): "List" must not set the direction of an Arabic name.
        what = f'<span class="kind">List</span> <bdi>{title}</bdi>, with {count}'
        gone = f"the list &ldquo;{title}&rdquo; and its {count}"
    else:
        name, box, url = "ids", f"select-{item_id}", f"{page.base}{item_id}"
        label = gone = f"&ldquo;{title}&rdquo;"
        what = title
    then = _then(neighbour and _entry_anchor(neighbour))
    select = (
        f'<input type="checkbox" class="select" name="{name}" value="{item_id}" form="bulk" '
        f'id="{box}"><label for="{box}" class="visually-hidden">Select {label}</label>'
    )
    buttons = (
        f'{_BUTTON}{url}/restore"{then} aria-label="Restore {label}">Restore</button>\n'
        f'{_BUTTON}{url}/purge"{then} aria-label="Delete forever: {label}" '
        'class="icon-button delete" '
        f'title="Delete forever" data-confirm="Delete {gone} forever? This cannot be undone.">'
        "</button>"
    )
    return select, f'{url}/restore">Details<span class="visually-hidden"> of {label}', what, buttons


def _trash_row(item, page: _Page, neighbour=None) -> str:
    """One entry of a user's trash: checkbox, what it is, when it goes, details, restore, purge."""
    select, details, what, buttons = _entry(item, page, neighbour)
    deleted_at = item["deleted_at"]
    purge = deleted_at + page.retention
    return (
        f'<li class="todo is-trashed{" is-list" if item["kind"] == LIST_ENTRY else ""}" '
        f'id="{_entry_anchor(item)}" tabindex="-1">'
        f'{select}\n<span class="title" dir="auto">{what}</span>\n'
        f'<span class="meta">deleted {_when(deleted_at, page.now)} &middot; '
        f"{_time(purge, _purge_in(purge, page.now))}</span>\n"
        f'<span class="row-actions"><a class="button-secondary" href="{details}</span></a>\n'
        f"{buttons}</span></li>\n"
    )


_LIST_TR = ' class="is-list"'


def _admin_trash_row(item, page: _Page, neighbour=None) -> str:
    """One entry of everyone's trash: as in a user's, with its owner and who deleted it."""
    select, _, what, buttons = _entry(item, page, neighbour)
    owner, deleter = item["owner"], item["deleter"]
    by = f" by {escaped(deleter)}" if deleter and deleter != owner else ""
    return (
        f'<tr{_LIST_TR if item["kind"] == LIST_ENTRY else ""} id="{_entry_anchor(item)}" '
        f'tabindex="-1"><td>{select}</td>\n'
        f'<td dir="auto">{what}</td>\n'
        f'<td data-label="Owner"><a href="{page.by_owner}'
        f'{_in_url(owner)}">{escaped(owner)}</a></td>\n'
        f'<td data-label="Deleted">{_when(item["deleted_at"], page.now)}{by}</td>\n'
        f'<td data-label="Purge">'
        f"{_purge_in(item['deleted_at'] + page.retention, page.now)}</td>\n"
        f'<td class="row-actions">{buttons}</td></tr>\n'
    )


def _rows(row, items, page: _Page) -> Markup:
    """``row`` for each item, as markup: each row escapes its own values.
    Each row is told its neighbour, the row to come back to when it goes."""
    items = list(items)
    neighbours = items[1:] + [items[-2] if len(items) > 1 else None]
    written = [row(item, page, near) for item, near in zip(items, neighbours, strict=False)]
    return Markup("".join(written))  # noqa: S704


def todo_rows(
    items,
    *,
    base: str,
    next_q: str,
    lists_base: str | None = None,
    today: date | None = None,
    ticked_away: bool = False,
) -> Markup:
    """The rows of the todo list for ``items`` (id, title, done, created_at;
    and list_id, list_name, in_inbox with ``lists_base``). ``base``: the
    todos' URL with a trailing slash; ``next_q``: this page, URL-encoded;
    ``lists_base``: the lists' URL with a trailing slash, to name each
    todo's list but the Inbox (None: one list's page). The buttons post the
    page's ``row_form``. ``today``: the user's date, to say when a todo with
    a ``due_on`` is due. ``ticked_away``: the page shows todos of one state
    (Today and Overdue the open ones, Completed the done), so a tick takes
    a row off it."""
    page = _page(
        base=base, next_q=next_q, lists_base=lists_base, today=today, ticked_away=ticked_away
    )
    return _rows(_todo_row, items, page)


def _retention() -> timedelta:
    return timedelta(days=current_app.config["TRASH_RETENTION_DAYS"])


def trash_rows(items, *, base: str, lists_base: str) -> Markup:
    """The rows of a user's trash for ``items`` (kind, id, title,
    deleted_at; and todos, for lists). ``lists_base``: the lists' trash URL.
    The checkboxes join the form ``bulk``; the buttons post ``row_form``."""
    page = _page(base=base, lists_base=lists_base, retention=_retention())
    return _rows(_trash_row, items, page)


def admin_trash_rows(items, *, base: str, by_owner: str, lists_base: str) -> Markup:
    """The rows of everyone's trash for ``items`` (as ``trash_rows``, with
    owner and deleter). ``by_owner``: the page's URL up to ``?user=``."""
    page = _page(base=base, lists_base=lists_base, by_owner=by_owner, retention=_retention())
    return _rows(_admin_trash_row, items, page)
