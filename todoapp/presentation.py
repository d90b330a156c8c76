"""What the templates get besides the page's own values: filters for dates
and counts, the macros as one global, the list rows (``rows``), and a few
pieces of markup that are the same on every request and so made once."""

import math
from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import quote

from flask import Flask, current_app, has_request_context, request, url_for
from flask.templating import Environment
from markupsafe import Markup

from . import rows
from .models import utcnow
from .rows import time_ago, todos_count
from .services.lists import OPEN_COUNTED
from .web import here

__all__ = ["init_app", "time_ago", "todos_count"]

# Each is keyed by the app's own forms, endpoints and files, so the bounds are never reached.
EMPTY_FIELDS_KEPT = 32
NAV_LINKS_KEPT = 64
URLS_KEPT = 128


def exact_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


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


class TemplateEnvironment(Environment):
    """Flask's Jinja environment, giving each template its globals as one
    dict rather than a ``ChainMap`` over the environment's: rendering a page
    copies its globals into the page's context, and a ``ChainMap`` is read
    key by key in Python. The app sets every global before its first
    template loads, as Jinja asks; a template reloaded in debug mode takes
    them again."""

    def make_globals(self, d):
        return {**self.globals, **(d or {})}


class Macros:
    """templates/macros.html as one global, ``macros``: a page calls
    ``{{ macros.pager(...) }}``. The template's module is made once (again
    when the file changes, when templates reload), where an import in each
    page would have Jinja compare the page's globals with the macros' on
    every render."""

    def __init__(self, environment: Environment):
        self._environment = environment

    def __getattr__(self, name: str):
        macro = getattr(self._environment.get_template("macros.html").module, name)
        if not self._environment.auto_reload:
            setattr(self, name, macro)  # the file is read once: kept until a restart
        return macro


def open_count(n: int) -> str:
    """A list's open todos as the side panel shows them: counted up to
    services.lists.OPEN_COUNTED, "99+" from there."""
    return f"{OPEN_COUNTED - 1}+" if n >= OPEN_COUNTED else str(n)


def page_url(endpoint: str, cursor: tuple[str, str] | None, **values) -> str:
    """A list page's URL, as ``url_for(endpoint, before=cursor, **values)``
    writes it (the cursor's parameter first, then the others; None values
    left out), from the list's URL without the cursor, which for a list that
    takes no values is a kept one (``_kept_url_for``)."""
    values = {name: value for name, value in values.items() if value is not None}
    base = current_app.jinja_env.globals["url_for"](endpoint, **values)
    if cursor is None:
        return base
    name, value = cursor
    path, _, query = base.partition("?")
    parameter = f"{name}={quote(value, safe='')}"
    return f"{path}?{parameter}&{query}" if query else f"{path}?{parameter}"


def _is_form_class(value) -> bool:
    """Jinja's ``form_class`` test: a form's class, not a form."""
    return isinstance(value, type)


def _kept_url_for(app: Flask):
    """Flask's ``url_for`` for the templates, keeping the URLs that are the
    same on every request: an endpoint without values (the nav, the forms'
    actions) or a static file (with its fingerprint), by the endpoint and
    file name the templates give. What is kept is the URL below the app's
    path prefix (SCRIPT_NAME), which each request puts back in front. The
    rest, and everything in debug mode (files change), are built by Flask."""

    def below_root(endpoint: str, filename: str | None) -> str:
        values = {} if filename is None else {"filename": filename}
        return url_for(endpoint, **values)[len(request.script_root) :]

    kept = lru_cache(maxsize=URLS_KEPT)(below_root)

    def template_url_for(endpoint: str, **values) -> str:
        fixed = not values or (endpoint == "static" and values.keys() == {"filename"})
        if not fixed or endpoint.startswith(".") or app.debug or not has_request_context():
            return url_for(endpoint, **values)
        return request.script_root + kept(endpoint, values.get("filename"))

    return template_url_for


def init_app(app: Flask) -> None:
    macros = Macros(app.jinja_env)

    def render_empty_field(form_class: type, name: str, attributes: tuple) -> Markup:
        form = form_class(formdata=None, meta={"csrf": False})
        return macros.field(form[name], **dict(attributes))

    kept_empty_field = lru_cache(maxsize=EMPTY_FIELDS_KEPT)(render_empty_field)

    def empty_field(form_class: type, name: str, **attributes) -> Markup:
        """The markup of field ``name`` of an empty, unsubmitted ``form_class``,
        as the ``field`` macro writes it with ``attributes``. A plain GET of
        a list page shows the same empty add form every time, so it is kept
        (in debug mode, made each time: templates may change)."""
        key = (form_class, name, tuple(sorted(attributes.items())))
        return render_empty_field(*key) if app.debug else kept_empty_field(*key)

    def render_nav_links(*key) -> Markup:
        return macros.nav_links(*key)

    kept_nav_links = lru_cache(maxsize=NAV_LINKS_KEPT)(render_nav_links)

    def nav_links(blueprint: str | None, endpoint: str | None, is_admin: bool) -> Markup:
        """The main nav's links as the ``nav_links`` macro writes them: the
        same for every request to one endpoint by an admin or not, so kept,
        by the endpoint, its blueprint and whether the user is an admin.
        Its URLs carry the path prefix (SCRIPT_NAME), so an app mounted
        below the root makes them each time, as debug mode does."""
        key = (blueprint, endpoint, bool(is_admin))
        if app.debug or request.script_root:
            return render_nav_links(*key)
        return kept_nav_links(*key)

    app.jinja_env.globals["macros"] = macros
    app.jinja_env.globals["url_for"] = _kept_url_for(app)
    app.add_template_global(page_url, "page_url")
    app.add_template_global(empty_field, "empty_field")
    app.add_template_global(nav_links, "nav_links")
    app.add_template_global(here, "here")
    app.add_template_global(rows.row_form, "row_form")
    app.add_template_global(rows.todo_rows, "todo_rows")
    app.add_template_global(rows.trash_rows, "trash_rows")
    app.add_template_global(rows.admin_trash_rows, "admin_trash_rows")
    app.add_template_filter(open_count, "open_count")
    app.add_template_test(_is_form_class, "form_class")
    app.add_template_filter(time_ago, "ago")
    app.add_template_filter(exact_time, "exact")
    app.add_template_filter(purge_in, "purge_in")
    app.add_template_filter(todos_count, "todos_count")
    app.add_template_filter(purge_date, "purge_date")
