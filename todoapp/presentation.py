"""How values read on a page: relative dates, counts, days until purge."""

import math
from collections import ChainMap
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from flask import Flask, current_app, has_request_context, request
from flask import url_for as flask_url_for
from jinja2 import Template
from jinja2.runtime import new_context
from markupsafe import Markup, escape

from .models import USERNAME_PATTERN, utcnow
from .services.todos import LIST_ENTRY
from .web import Bounded, here


def todos_count(n: int) -> str:
    return f"{n} todo" if n == 1 else f"{n} todos"


def exact_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def time_ago(moment: datetime, now: datetime | None = None) -> str:
    """How long before ``now``, in whole days, hours or minutes; "just now"
    under a minute (and for a moment in the future). Each row of a list says
    it, so it is a chain of comparisons, not a loop over units."""
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


# The rows of the three list pages. A page writes fifty of them, so each row
# is a Python function, one f-string with each value escaped once, rather
# than a Jinja loop, which escapes every interpolation and looks every
# attribute up again (a third of the page's time). tests/test_rows.py holds
# each to the Jinja loop it replaced (tests/rows/), byte for byte.
#
# Each takes a row and what is the same for the whole page (``_Page``): its
# URLs escaped once, the forms' hidden fields, and the time, so that "3 hours
# ago" and "purged in 2 days" are counted from one moment on a page.
#
# Each value is escaped once, into a plain ``str`` (``_escaped``): an
# f-string copies a ``Markup`` through its ``__format__`` each time it writes
# it (a title is written three times), a plain string it takes as it is.
#
# The quotes, the dot and the tick are written as character references
# (&ldquo; &middot; &check;), as in the layout and the pager: the browser shows
# the same characters, and a page of plain-ASCII todos stays ASCII. One
# character past ASCII makes Python encode the whole page to UTF-8 one
# character at a time rather than copy it, and one past Latin-1 holds it at two
# bytes a character, copied at every join: an eighth of a list page's
# instructions in all (tests/test_pages.py holds the list pages to ASCII).


def _escaped(value) -> str:
    """``markupsafe.escape(value)`` as a plain ``str``. Most titles and names
    hold none of the five characters it replaces, and are then the result as
    they are. markupsafe's wrapper (a ``Markup`` made in Python) costs about
    ten times the search: 1 µs a value, two or three values a row."""
    if type(value) is str and not (
        "&" in value or "<" in value or ">" in value or "'" in value or '"' in value
    ):
        return value
    return str(escape(value))


def _time_tag(moment: datetime) -> str:
    """A ``<time>`` opening tag: the ISO value, and the exact time as a
    tooltip. The tooltip is exact_time's, cut from the ISO text (UTC, so it
    needs no strftime)."""
    iso = moment.isoformat()
    return f'<time datetime="{iso}" title="{iso[:10]} {iso[11:16]} UTC">'


# A UTC moment's ``<time>`` tag, by its Unix time: the rows of a page write 50
# to 100 of them, and a page seen again writes the same ones. ``isoformat`` of
# an aware datetime costs about 2 µs (it formats the zone through a
# Python-level call); the timestamp and a dict lookup, a fifth of that. The
# tag is a pure function of the moment, so a kept one is never stale. Up to
# 2**32 s (2106) a float timestamp is exact to better than a microsecond, so
# two moments never share one; later ones are formatted each time.
_time_tags = Bounded(8192)


def _time(moment: datetime, text: str) -> str:
    """``text`` in a ``<time>`` of ``moment`` (``_time_tag``)."""
    if moment.tzinfo is not UTC:
        return f"{_time_tag(moment)}{text}</time>"
    key = moment.timestamp()
    tag = _time_tags.get(key)
    if tag is None:
        tag = _time_tag(moment)
        if 0 <= key < 2**32:
            _time_tags.put(key, tag)
    return f"{tag}{text}</time>"


def _when(moment: datetime, now: datetime) -> str:
    """A moment as the rows show it: how long ago, in a ``<time>``."""
    return _time(moment, time_ago(moment, now))


@dataclass(frozen=True)
class _Page:
    base: str  # the rows' URL, with a trailing slash
    hidden: str  # the hidden fields of every form of the page (markup)
    now: datetime
    lists_base: str | None = None  # the lists' URL, with a trailing slash
    next_q: str = ""  # this page, URL-encoded: where Edit comes back to
    retention: timedelta = timedelta(0)  # how long the trash keeps a row
    by_owner: str = ""  # the admin trash's URL up to "?user="


def _page(base: str, hidden, **values) -> _Page:
    """A page's constants, the URLs escaped once."""
    for name in ("lists_base", "next_q", "by_owner"):
        if values.get(name) is not None:
            values[name] = str(escape(values[name]))
    return _Page(str(escape(base)), str(hidden), utcnow(), **values)


def _todo_row(todo, page: _Page) -> str:
    """One todo of a list: tick, title, list name (on the todo list), edit, delete."""
    done = todo.done
    title, url, hidden = _escaped(todo.title), f"{page.base}{todo.id}", page.hidden
    if page.lists_base is None:
        in_list = ""
    elif todo.list_id is None:  # not backfilled yet: the Inbox
        in_list = f"in {_escaped(todo.list_name)} &middot; "
    else:
        in_list = (
            f'in <a href="{page.lists_base}{todo.list_id}">{_escaped(todo.list_name)}</a> &middot; '
        )
    return (
        f'\n    \n    <li class="todo{" is-done" if done else ""}">\n'
        f'      <form class="inline" method="post" action="{url}/toggle">{hidden}'
        f'<button type="submit" class="check" aria-label="Mark &ldquo;{title}&rdquo; '
        f'{"not done" if done else "done"}" aria-pressed="{"true" if done else "false"}">'
        f"{'&check;' if done else ''}</button></form>\n"
        f'      <span class="title">{title}</span>\n'
        f'      <span class="meta">{in_list}added {_when(todo.created_at, page.now)}</span>\n'
        '      <div class="row-actions">\n'
        f'      <a class="button-secondary" href="{url}/edit?next={page.next_q}">Edit'
        f'<span class="visually-hidden"> &ldquo;{title}&rdquo;</span></a>\n'
        f'      <form class="inline" method="post" action="{url}/delete">{hidden}'
        '<button type="submit" class="button-danger">Delete</button></form>\n'
        "      </div>\n"
        "    </li>\n  "
    )


def _purge_in(purge: datetime, now: datetime) -> str:
    """``purge_in``, from the moment the purge may take the row (its
    ``deleted_at`` plus the retention, looked up once per page)."""
    days = max(0, math.ceil((purge - now).total_seconds() / 86400))
    if days == 0:
        return "purged at the next clean-up"
    return f"purged in {days} day{'' if days == 1 else 's'}"


def _entry(item, page: _Page) -> tuple:
    """What a trash row says of its entry, a todo's or a list's: the name
    and URL of its checkbox, its label's words, its link, its description."""
    title = _escaped(item.title)
    if item.kind == LIST_ENTRY:
        count = todos_count(item.todos)
        return (
            "list_ids",
            f"select-list-{item.id}",
            f"the list &ldquo;{title}&rdquo;",
            f"{page.lists_base}{item.id}",
            f'<span class="kind">List</span> {title}, with {count}',
            f"the list &ldquo;{title}&rdquo; and its {count}",
        )
    quoted = f"&ldquo;{title}&rdquo;"
    return ("ids", f"select-{item.id}", quoted, f"{page.base}{item.id}", title, quoted)


def _restore_and_purge(url: str, label: str, gone: str, hidden: str, indent: str) -> str:
    """A trash entry's two buttons, each a form of its own, on two lines."""
    return (
        f'{indent}<form class="inline" method="post" action="{url}/restore">{hidden}'
        f'<button type="submit" aria-label="Restore {label}">Restore</button></form>\n'
        f'{indent}<form class="inline" method="post" action="{url}/purge" '
        f'data-confirm="Delete {gone} forever? This cannot be undone.">{hidden}'
        f'<button type="submit" class="button-danger" aria-label="Delete forever: {label}">'
        "Delete forever</button></form>\n"
    )


def _trash_row(item, page: _Page) -> str:
    """One entry of a user's trash: checkbox, what it is, when it goes, details, restore, purge."""
    name, box, label, url, what, gone = _entry(item, page)
    is_list, hidden = item.kind == LIST_ENTRY, page.hidden
    purge = item.deleted_at + page.retention
    return (
        ("" if is_list else "\n    \n    ")
        + f'\n    <li class="todo is-trashed{" is-list" if is_list else ""}">\n'
        f'      <input type="checkbox" class="select" name="{name}" value="{item.id}" '
        f'form="bulk" id="{box}">\n'
        f'      <label for="{box}" class="visually-hidden">Select {label}</label>\n'
        f'      <span class="title">{what}</span>\n'
        f'      <span class="meta">deleted {_when(item.deleted_at, page.now)} &middot;\n'
        f"        {_time(purge, _purge_in(purge, page.now))}</span>\n"
        '      <div class="row-actions">\n'
        f'      <a class="button-secondary" href="{url}/restore">Details'
        f'<span class="visually-hidden"> of {label}</span></a>\n'
        f"{_restore_and_purge(url, label, gone, hidden, '      ')}"
        "      </div>\n"
        "    </li>\n  "
    )


def _user_in_url(username: str) -> str:
    """A username as a query value, escaped: ``quote`` and ``escape``. A
    username as registration takes it (``models.USERNAME_PATTERN``) has no
    character either would change, and is written as it is (a regular
    expression costs a fifth of ``quote``)."""
    if USERNAME_PATTERN.fullmatch(username):
        return username
    return _escaped(quote(username, safe="/"))


def _admin_trash_row(item, page: _Page) -> str:
    """One entry of everyone's trash: as in a user's, with its owner and who deleted it."""
    name, box, label, url, what, gone = _entry(item, page)
    is_list, hidden = item.kind == LIST_ENTRY, page.hidden
    owner = _escaped(item.owner)
    by = f" by {_escaped(item.deleter)}" if item.deleter and item.deleter != item.owner else ""
    opening = '\n      <tr class="is-list">' if is_list else "\n      \n      <tr>"
    return (
        f"{opening}\n"
        f'        <td><input type="checkbox" class="select" name="{name}" value="{item.id}" '
        f'form="bulk" id="{box}">\n'
        f'          <label for="{box}" class="visually-hidden">Select {label}</label></td>\n'
        f"        <td>{what}</td>\n"
        f'        <td data-label="Owner"><a href="{page.by_owner}'
        f'{_user_in_url(item.owner)}">{owner}</a></td>\n'
        f'        <td data-label="Deleted">{_when(item.deleted_at, page.now)}{by}</td>\n'
        f'        <td data-label="Purge">{_purge_in(item.deleted_at + page.retention, page.now)}'
        "</td>\n"
        '        <td class="row-actions">\n'
        f"{_restore_and_purge(url, label, gone, hidden, '          ')}"
        "        </td>\n"
        "      </tr>\n    "
    )


def _rows(row, items, page: _Page) -> Markup:
    """``row`` for each item, as markup: each row escapes its own values."""
    return Markup("".join([row(item, page) for item in items]))  # noqa: S704


def todo_rows(
    items, *, base: str, hidden: str, next_q: str, lists_base: str | None = None
) -> Markup:
    """The rows of the todo list for ``items`` (rows of id, title, done,
    created_at; and list_id, list_name with ``lists_base``). ``base``: the
    todos' URL with a trailing slash; ``hidden``: the forms' hidden fields
    (markup); ``next_q``: this page, URL-encoded; ``lists_base``: the lists'
    URL with a trailing slash, to name each todo's list (None: one list's page)."""
    return _rows(_todo_row, items, _page(base, hidden, next_q=next_q, lists_base=lists_base))


def _retention() -> timedelta:
    return timedelta(days=current_app.config["TRASH_RETENTION_DAYS"])


def trash_rows(items, *, base: str, hidden: str, lists_base: str) -> Markup:
    """The rows of a user's trash for ``items`` (rows of kind, id, title,
    deleted_at; and todos, for lists). ``lists_base``: the lists' trash URL."""
    page = _page(base, hidden, lists_base=lists_base, retention=_retention())
    return _rows(_trash_row, items, page)


def admin_trash_rows(items, *, base: str, by_owner: str, hidden: str, lists_base: str) -> Markup:
    """The rows of everyone's trash for ``items`` (rows of kind, id, title,
    deleted_at, owner, deleter; and todos, for lists). ``by_owner``: the
    page's URL up to ``?user=``; ``lists_base``: the lists' trash URL."""
    page = _page(base, hidden, lists_base=lists_base, by_owner=by_owner, retention=_retention())
    return _rows(_admin_trash_row, items, page)


def _kept(kind: str, key: tuple, render) -> Markup:
    """Markup that is the same for every request with this ``key``: rendered
    by ``render()`` once per process and kept (in debug mode, every time:
    templates may change). The keys come from the app's own code and
    settings (forms, endpoints), so each cache stays small."""
    cache = current_app.extensions.setdefault(f"todoapp.{kind}", {})
    if key not in cache or current_app.debug:
        cache[key] = render()
    return cache[key]


def _macro(name: str):
    return getattr(current_app.jinja_env.get_template("macros.html").module, name)


def empty_field(form_class: type, name: str, **attributes) -> Markup:
    """The markup of field ``name`` of an empty, unsubmitted ``form_class``,
    as the ``field`` macro writes it with ``attributes``. A plain GET of a
    list page shows the same empty add form every time, so it is kept."""

    def render():
        form = form_class(formdata=None, meta={"csrf": False})
        return _macro("field")(form[name], **attributes)

    return _kept("empty_fields", (form_class, name, tuple(sorted(attributes.items()))), render)


def nav_links(blueprint: str | None, endpoint: str | None, is_admin: bool) -> Markup:
    """The main nav's links as the ``nav_links`` macro writes them: fixed
    URLs and the current section, so the same for every request to one
    endpoint, by an admin or not, under one path prefix; kept. Built on each
    request, its nine URLs and five comparisons were 2 % of a list page's
    instructions."""
    key = (request.script_root, blueprint, endpoint, bool(is_admin))
    return _kept("nav_links", key, lambda: _macro("nav_links")(*key[1:]))


def _is_form_class(value) -> bool:
    """Jinja's ``form_class`` test: a form's class, not a form."""
    return isinstance(value, type)


def _fixed_url_for(app: Flask):
    """Flask's ``url_for`` for the templates, keeping the URLs that are the
    same on every request: an endpoint with no values (the nav's links), or
    a static file (with its fingerprint). Each is built once per process and
    path prefix (SCRIPT_NAME); the rest, and everything in debug mode (files
    change), are built as Flask builds them. The cache holds one URL per
    endpoint and static file of the app's own code, so it cannot grow."""
    kept: dict[tuple, str] = {}

    def url_for(endpoint: str, **values) -> str:
        fixed = not values or (endpoint == "static" and values.keys() == {"filename"})
        if not fixed or endpoint.startswith(".") or app.debug or not has_request_context():
            return flask_url_for(endpoint, **values)
        key = (request.script_root, endpoint, values.get("filename"))
        url = kept.get(key)
        if url is None:
            url = kept[key] = flask_url_for(endpoint, **values)
        return url

    return url_for


def page_url(endpoint: str, cursor: tuple[str, str] | None, **values) -> str:
    """A list page's URL, as ``url_for(endpoint, before=cursor, **values)``
    writes it (the cursor's parameter first, then the others; None values
    left out), from the list's URL without the cursor: for a list that takes
    no values, that one is built once (``_fixed_url_for``), and the cursor
    (digits and dashes) is added to it rather than built by werkzeug again."""
    values = {name: value for name, value in values.items() if value is not None}
    base = current_app.jinja_env.globals["url_for"](endpoint, **values)
    if cursor is None:
        return base
    name, value = cursor
    path, _, query = base.partition("?")
    parameter = f"{name}={quote(value, safe='')}"
    return f"{path}?{parameter}&{query}" if query else f"{path}?{parameter}"


def _flat(chain):
    """A ChainMap as one dict, merged by ``dict.update`` (in C): the same
    keys and values as ``dict(chain)``, which asks each key of the chain in
    Python."""
    if not isinstance(chain, ChainMap):
        return chain
    flat = {}
    for mapping in reversed(chain.maps):
        flat.update(mapping)
    return flat


class _Template(Template):
    """Jinja's template, with its globals read in C: when a page is rendered,
    and on ``{% from "macros.html" import ... %}``.

    A template's globals are a ``ChainMap`` (its own over the environment's).
    Rendering makes a context of them: Jinja copies them into a dict and then
    into a set of their names, with a Python ``__iter__`` and a
    ``__getitem__`` a name (2.5 % of a list page). ``new_context`` hands
    Jinja the same globals merged into one dict first (``_flat``); the
    context has the same values and names.

    An import hands the importing page's context to the macros' template,
    which asks whether that context has globals the macros would not see
    (then it renders a module of its own for them) or not (then it gives
    its one module, rendered once). Jinja asks it as ``set - ChainMap.keys()``:
    one ``ChainMap.__contains__`` in Python for each of some twenty globals:
    about 120,000 instructions an import, and a list page makes two (3.5 %
    of its instructions). Here the same question is asked of the ChainMap's
    dicts, in C; the answer, and what Jinja does with it, are unchanged.
    ``_get_default_module`` is Jinja's own (3.1), not public: if an upgrade
    stops calling it, tests/test_pages.py sees the ``ChainMap`` lookups come
    back and fails."""

    def new_context(self, vars=None, shared=False, locals=None):
        return new_context(
            self.environment, self.name, self.blocks, vars, shared, _flat(self.globals), locals
        )

    def _get_default_module(self, ctx=None):
        if ctx is not None and isinstance(self.globals, ChainMap):
            if not ctx.globals_keys.difference(*self.globals.maps):
                ctx = None  # nothing new: the module rendered once
        return super()._get_default_module(ctx)


def init_app(app: Flask) -> None:
    app.jinja_env.template_class = _Template
    app.jinja_env.globals["url_for"] = _fixed_url_for(app)
    app.add_template_global(page_url, "page_url")
    app.add_template_global(empty_field, "empty_field")
    app.add_template_global(nav_links, "nav_links")
    app.add_template_test(_is_form_class, "form_class")
    app.add_template_global(todo_rows, "todo_rows")
    app.add_template_global(trash_rows, "trash_rows")
    app.add_template_global(admin_trash_rows, "admin_trash_rows")
    app.add_template_filter(time_ago, "ago")
    app.add_template_filter(exact_time, "exact")
    app.add_template_filter(purge_in, "purge_in")
    app.add_template_filter(todos_count, "todos_count")
    app.add_template_filter(purge_date, "purge_date")
    app.add_template_global(here, "here")
