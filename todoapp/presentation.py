"""How values read on a page: relative dates, counts, days until purge."""

import math
from datetime import datetime, timedelta

from flask import Flask, current_app
from markupsafe import Markup, escape

from .models import utcnow
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


# One row of the todo list. The list writes fifty of them, so a row is built
# here, with each value escaped once, rather than by Jinja, which escapes every
# interpolation and looks every attribute up again (a third of the page's
# time). tests/test_rows.py checks it against the template markup it replaces.
_TODO_ROW = (
    '\n    \n    <li class="todo{done_class}">\n'
    '      <form class="inline" method="post" action="{url}/toggle">{hidden}'
    '<button type="submit" class="check" aria-label="Mark “{title}” {mark}" '
    'aria-pressed="{pressed}">{tick}</button></form>\n'
    '      <span class="title">{title}</span>\n'
    '      <span class="meta">added <time datetime="{iso}" title="{exact}">{ago}</time></span>\n'
    '      <div class="row-actions">\n'
    '      <a class="button-secondary" href="{url}/edit?next={next_q}">Edit'
    '<span class="visually-hidden"> “{title}”</span></a>\n'
    '      <form class="inline" method="post" action="{url}/delete">{hidden}'
    '<button type="submit" class="button-danger">Delete</button></form>\n'
    "      </div>\n"
    "    </li>\n  "
)


def todo_rows(items, *, base: str, hidden: str, next_q: str) -> Markup:
    """The rows of the todo list for ``items`` (rows of id, title, done,
    created_at). ``base``: the list's URL with a trailing slash; ``hidden``:
    the forms' hidden fields (markup); ``next_q``: this page, URL-encoded."""
    base, next_q = str(escape(base)), str(escape(next_q))
    now = utcnow()
    parts = []
    for todo in items:
        done = todo.done
        parts.append(
            _TODO_ROW.format(
                done_class=" is-done" if done else "",
                url=f"{base}{todo.id}",
                hidden=hidden,
                title=escape(todo.title),
                mark="not done" if done else "done",
                pressed="true" if done else "false",
                tick="✓" if done else "",
                iso=todo.created_at.isoformat(),
                exact=exact_time(todo.created_at),
                ago=time_ago(todo.created_at, now),
                next_q=next_q,
            )
        )
    return Markup("".join(parts))  # noqa: S704 (every value above is escaped)


def init_app(app: Flask) -> None:
    app.add_template_global(todo_rows, "todo_rows")
    app.add_template_filter(time_ago, "ago")
    app.add_template_filter(exact_time, "exact")
    app.add_template_filter(purge_in, "purge_in")
    app.add_template_filter(todos_count, "todos_count")
    app.add_template_filter(purge_date, "purge_date")
    app.add_template_global(here, "here")
