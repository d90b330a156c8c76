"""How values read on a page: relative dates, counts, days until purge."""

import math
from datetime import datetime, timedelta
from urllib.parse import quote

from flask import Flask, current_app
from markupsafe import Markup, escape

from .models import utcnow
from .services.todos import LIST_ENTRY
from .web import here


def todos_count(n: int) -> str:
    return f"{n} todo" if n == 1 else f"{n} todos"


def exact_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def time_ago(moment: datetime, now: datetime | None = None) -> str:
    seconds = max(0, int(((now or utcnow()) - moment).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'} ago"
    return "just now"


def purge_date(deleted_at: datetime) -> datetime:
    return deleted_at + timedelta(days=current_app.config["TRASH_RETENTION_DAYS"])


def days_until_purge(deleted_at: datetime, now: datetime | None = None) -> int:
    """Whole days, rounded up, before the automatic purge may remove the todo."""
    left = (purge_date(deleted_at) - (now or utcnow())).total_seconds()
    return max(0, math.ceil(left / 86400))


def purge_in(deleted_at: datetime) -> str:
    days = days_until_purge(deleted_at)
    if days == 0:
        return "purged at the next clean-up"
    return f"purged in {days} day{'' if days == 1 else 's'}"


# The rows of the three list pages. A list writes fifty of them, so a row is
# built here, each value escaped once, rather than by Jinja, which escapes
# every interpolation and looks every attribute up again (a third of the
# page's time). tests/test_rows.py holds each to the Jinja loop it replaced
# (tests/rows/), byte for byte.
_TODO_ROW = (
    '\n    \n    <li class="todo{done_class}">\n'
    '      <form class="inline" method="post" action="{url}/toggle">{hidden}'
    '<button type="submit" class="check" aria-label="Mark “{title}” {mark}" '
    'aria-pressed="{pressed}">{tick}</button></form>\n'
    '      <span class="title">{title}</span>\n'
    '      <span class="meta">{in_list}added <time datetime="{iso}" title="{exact}">{ago}</time>'
    "</span>\n"
    '      <div class="row-actions">\n'
    '      <a class="button-secondary" href="{url}/edit?next={next_q}">Edit'
    '<span class="visually-hidden"> “{title}”</span></a>\n'
    '      <form class="inline" method="post" action="{url}/delete">{hidden}'
    '<button type="submit" class="button-danger">Delete</button></form>\n'
    "      </div>\n"
    "    </li>\n  "
)
_TRASH_ROW = (
    '\n    \n    \n    <li class="todo is-trashed">\n'
    '      <input type="checkbox" class="select" name="ids" value="{id}" form="bulk" '
    'id="select-{id}">\n'
    '      <label for="select-{id}" class="visually-hidden">Select “{title}”</label>\n'
    '      <span class="title">{title}</span>\n'
    '      <span class="meta">deleted <time datetime="{iso}" title="{exact}">{ago}</time> ·\n'
    '        <time datetime="{purge_iso}" title="{purge_exact}">{purge_in}</time></span>\n'
    '      <div class="row-actions">\n'
    '      <a class="button-secondary" href="{url}/restore">Details'
    '<span class="visually-hidden"> of “{title}”</span></a>\n'
    '      <form class="inline" method="post" action="{url}/restore">{hidden}'
    '<button type="submit" aria-label="Restore “{title}”">Restore</button></form>\n'
    '      <form class="inline" method="post" action="{url}/purge" '
    'data-confirm="Delete “{title}” forever? This cannot be undone.">{hidden}'
    '<button type="submit" class="button-danger" aria-label="Delete forever: “{title}”">'
    "Delete forever</button></form>\n"
    "      </div>\n"
    "    </li>\n  "
)
# A list's entry in a user's trash: it stands for the todos trashed with it.
_TRASH_LIST_ROW = (
    '\n    <li class="todo is-trashed is-list">\n'
    '      <input type="checkbox" class="select" name="list_ids" value="{id}" form="bulk" '
    'id="select-list-{id}">\n'
    '      <label for="select-list-{id}" class="visually-hidden">'
    "Select the list “{title}”</label>\n"
    '      <span class="title"><span class="kind">List</span> {title}, with {count}</span>\n'
    '      <span class="meta">deleted <time datetime="{iso}" title="{exact}">{ago}</time> ·\n'
    '        <time datetime="{purge_iso}" title="{purge_exact}">{purge_in}</time></span>\n'
    '      <div class="row-actions">\n'
    '      <a class="button-secondary" href="{url}/restore">Details'
    '<span class="visually-hidden"> of the list “{title}”</span></a>\n'
    '      <form class="inline" method="post" action="{url}/restore">{hidden}'
    '<button type="submit" aria-label="Restore the list “{title}”">Restore</button></form>\n'
    '      <form class="inline" method="post" action="{url}/purge" '
    'data-confirm="Delete the list “{title}” and its {count} forever? This cannot be undone.">'
    '{hidden}<button type="submit" class="button-danger" '
    'aria-label="Delete forever: the list “{title}”">Delete forever</button></form>\n'
    "      </div>\n"
    "    </li>\n  "
)
_ADMIN_TRASH_LIST_ROW = (
    '\n      <tr class="is-list">\n'
    '        <td><input type="checkbox" class="select" name="list_ids" value="{id}" form="bulk" '
    'id="select-list-{id}">\n'
    '          <label for="select-list-{id}" class="visually-hidden">Select the list “{title}”'
    "</label></td>\n"
    '        <td><span class="kind">List</span> {title}, with {count}</td>\n'
    '        <td data-label="Owner"><a href="{by_owner}{owner_q}">{owner}</a></td>\n'
    '        <td data-label="Deleted"><time datetime="{iso}" title="{exact}">{ago}</time>'
    "{by}</td>\n"
    '        <td data-label="Purge">{purge_in}</td>\n'
    '        <td class="row-actions">\n'
    '          <form class="inline" method="post" action="{url}/restore">{hidden}'
    '<button type="submit" aria-label="Restore the list “{title}”">Restore</button></form>\n'
    '          <form class="inline" method="post" action="{url}/purge" '
    'data-confirm="Delete the list “{title}” and its {count} forever? This cannot be undone.">'
    '{hidden}<button type="submit" class="button-danger" '
    'aria-label="Delete forever: the list “{title}”">Delete forever</button></form>\n'
    "        </td>\n"
    "      </tr>\n    "
)
_ADMIN_TRASH_ROW = (
    "\n      \n      <tr>\n"
    '        <td><input type="checkbox" class="select" name="ids" value="{id}" form="bulk" '
    'id="select-{id}">\n'
    '          <label for="select-{id}" class="visually-hidden">Select “{title}”</label></td>\n'
    "        <td>{title}</td>\n"
    '        <td data-label="Owner"><a href="{by_owner}{owner_q}">{owner}</a></td>\n'
    '        <td data-label="Deleted"><time datetime="{iso}" title="{exact}">{ago}</time>'
    "{by}</td>\n"
    '        <td data-label="Purge">{purge_in}</td>\n'
    '        <td class="row-actions">\n'
    '          <form class="inline" method="post" action="{url}/restore">{hidden}'
    '<button type="submit" aria-label="Restore “{title}”">Restore</button></form>\n'
    '          <form class="inline" method="post" action="{url}/purge" '
    'data-confirm="Delete “{title}” forever? This cannot be undone.">{hidden}'
    '<button type="submit" class="button-danger" aria-label="Delete forever: “{title}”">'
    "Delete forever</button></form>\n"
    "        </td>\n"
    "      </tr>\n    "
)


def _rows(row: str, items, values, list_row: str | None = None) -> Markup:
    """``row`` filled in with ``values(item)`` for each item (``list_row`` for
    the items that are lists: kind LIST_ENTRY). Every value that ``values``
    gives must already be safe: escaped, or made by the app."""
    return Markup(  # noqa: S704
        "".join(
            (list_row if list_row and item.kind == LIST_ENTRY else row).format_map(values(item))
            for item in items
        )
    )


def _entry(item, base: str, lists_base: str) -> dict:
    """What a trash row's link and count are, for a todo or a list entry."""
    is_list = item.kind == LIST_ENTRY
    return {
        "id": item.id,
        "url": f"{lists_base if is_list else base}{item.id}",
        "count": todos_count(item.todos) if is_list else "",
    }


def _purge_in(deleted_at: datetime, retention: timedelta, now: datetime) -> str:
    """``purge_in``, with the retention and the time looked up once per page."""
    days = max(0, math.ceil((deleted_at + retention - now).total_seconds() / 86400))
    if days == 0:
        return "purged at the next clean-up"
    return f"purged in {days} day{'' if days == 1 else 's'}"


def todo_rows(
    items, *, base: str, hidden: str, next_q: str, lists_base: str | None = None
) -> Markup:
    """The rows of the todo list for ``items`` (rows of id, title, done,
    created_at; and list_id, list_name with ``lists_base``). ``base``: the
    todos' URL with a trailing slash; ``hidden``: the forms' hidden fields
    (markup); ``next_q``: this page, URL-encoded; ``lists_base``: the lists'
    URL with a trailing slash, to name each todo's list (None: one list's page)."""
    base, next_q, now = str(escape(base)), str(escape(next_q)), utcnow()
    lists_base = str(escape(lists_base)) if lists_base is not None else None

    def in_list(todo) -> str:
        if lists_base is None:
            return ""
        if todo.list_id is None:  # not backfilled yet: the Inbox
            return f"in {escape(todo.list_name)} · "
        return f'in <a href="{lists_base}{todo.list_id}">{escape(todo.list_name)}</a> · '

    def values(todo) -> dict:
        done = todo.done
        return {
            "in_list": in_list(todo),
            "done_class": " is-done" if done else "",
            "url": f"{base}{todo.id}",
            "hidden": hidden,
            "title": escape(todo.title),
            "mark": "not done" if done else "done",
            "pressed": "true" if done else "false",
            "tick": "✓" if done else "",
            "iso": todo.created_at.isoformat(),
            "exact": exact_time(todo.created_at),
            "ago": time_ago(todo.created_at, now),
            "next_q": next_q,
        }

    return _rows(_TODO_ROW, items, values)


def trash_rows(items, *, base: str, hidden: str, lists_base: str) -> Markup:
    """The rows of a user's trash for ``items`` (rows of kind, id, title,
    deleted_at; and todos, for lists). ``lists_base``: the lists' trash URL."""
    base, lists_base, now = str(escape(base)), str(escape(lists_base)), utcnow()
    retention = timedelta(days=current_app.config["TRASH_RETENTION_DAYS"])

    def values(todo) -> dict:
        purge = todo.deleted_at + retention
        return {
            **_entry(todo, base, lists_base),
            "hidden": hidden,
            "title": escape(todo.title),
            "iso": todo.deleted_at.isoformat(),
            "exact": exact_time(todo.deleted_at),
            "ago": time_ago(todo.deleted_at, now),
            "purge_iso": purge.isoformat(),
            "purge_exact": exact_time(purge),
            "purge_in": _purge_in(todo.deleted_at, retention, now),
        }

    return _rows(_TRASH_ROW, items, values, _TRASH_LIST_ROW)


def admin_trash_rows(items, *, base: str, by_owner: str, hidden: str, lists_base: str) -> Markup:
    """The rows of everyone's trash for ``items`` (rows of kind, id, title,
    deleted_at, owner, deleter; and todos, for lists). ``by_owner``: the
    page's URL up to ``?user=``; ``lists_base``: the lists' trash URL."""
    base, by_owner, now = str(escape(base)), str(escape(by_owner)), utcnow()
    lists_base = str(escape(lists_base))
    retention = timedelta(days=current_app.config["TRASH_RETENTION_DAYS"])

    def values(todo) -> dict:
        by = todo.deleter and todo.deleter != todo.owner
        return {
            **_entry(todo, base, lists_base),
            "hidden": hidden,
            "title": escape(todo.title),
            "owner": escape(todo.owner),
            "owner_q": escape(quote(todo.owner, safe="/")),
            "by_owner": by_owner,
            "iso": todo.deleted_at.isoformat(),
            "exact": exact_time(todo.deleted_at),
            "ago": time_ago(todo.deleted_at, now),
            "by": f" by {escape(todo.deleter)}" if by else "",
            "purge_in": _purge_in(todo.deleted_at, retention, now),
        }

    return _rows(_ADMIN_TRASH_ROW, items, values, _ADMIN_TRASH_LIST_ROW)


def init_app(app: Flask) -> None:
    app.add_template_global(todo_rows, "todo_rows")
    app.add_template_global(trash_rows, "trash_rows")
    app.add_template_global(admin_trash_rows, "admin_trash_rows")
    app.add_template_filter(time_ago, "ago")
    app.add_template_filter(exact_time, "exact")
    app.add_template_filter(purge_in, "purge_in")
    app.add_template_filter(todos_count, "todos_count")
    app.add_template_filter(purge_date, "purge_date")
    app.add_template_global(here, "here")
