"""Every route, for each kind of visitor: anonymous, the owner, another user,
an admin. The table is checked against the app's url_map so that a new route
cannot go untested."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from todoapp.extensions import db
from todoapp.models import Todo

# (method, url, expected status for: anonymous, owner, other user, admin)
# {live} is the owner's live todo, {trashed} the owner's trashed todo;
# {list} the owner's live list, {tlist} the owner's trashed list.
# Owner/other/admin POSTs send a valid CSRF token.
MATRIX = [
    ("GET", "/", 302, 302, 302, 302),
    ("GET", "/healthz", 200, 200, 200, 200),
    ("GET", "/auth/login", 200, 302, 302, 302),
    ("POST", "/auth/login", 422, 302, 302, 302),
    ("GET", "/auth/register", 200, 302, 302, 302),
    ("POST", "/auth/register", 422, 302, 302, 302),
    ("POST", "/auth/logout", 302, 302, 302, 302),
    ("GET", "/todos", 302, 200, 200, 200),
    ("POST", "/todos", 302, 422, 422, 422),
    ("GET", "/todos/today", 302, 200, 200, 200),
    ("GET", "/todos/overdue", 302, 200, 200, 200),
    ("GET", "/todos/{live}/edit", 302, 200, 404, 404),
    ("POST", "/todos/{live}/edit", 302, 422, 404, 404),
    ("GET", "/todos/{live}/move", 302, 200, 404, 404),
    ("POST", "/todos/{live}/move", 302, 422, 404, 404),
    ("POST", "/todos/{live}/toggle", 302, 302, 404, 404),
    ("POST", "/todos/{live}/delete", 302, 302, 404, 404),
    ("GET", "/lists", 302, 200, 200, 200),
    ("POST", "/lists", 302, 422, 422, 422),
    ("GET", "/lists/{list}", 302, 200, 404, 404),
    ("POST", "/lists/{list}", 302, 422, 404, 404),
    ("GET", "/lists/{list}/edit", 302, 200, 404, 404),
    ("POST", "/lists/{list}/edit", 302, 422, 404, 404),
    ("POST", "/lists/{list}/delete", 302, 302, 404, 404),
    ("GET", "/trash", 302, 200, 200, 200),
    ("GET", "/search", 302, 200, 200, 200),
    ("GET", "/trash/lists/{tlist}/restore", 302, 200, 404, 404),
    ("POST", "/trash/lists/{tlist}/restore", 302, 302, 404, 404),
    ("POST", "/trash/lists/{tlist}/purge", 302, 302, 404, 404),
    ("GET", "/admin/trash/lists/{tlist}/restore", 302, 403, 403, 200),
    ("POST", "/admin/trash/lists/{tlist}/restore", 302, 403, 403, 302),
    ("POST", "/admin/trash/lists/{tlist}/purge", 302, 403, 403, 302),
    ("GET", "/trash/{trashed}/restore", 302, 200, 404, 404),
    ("POST", "/trash/{trashed}/restore", 302, 302, 404, 404),
    ("POST", "/trash/{trashed}/purge", 302, 302, 404, 404),
    ("POST", "/trash/empty", 302, 302, 302, 302),
    ("POST", "/trash/bulk", 302, 400, 400, 400),
    ("GET", "/admin/trash", 302, 403, 403, 200),
    ("POST", "/admin/trash/{trashed}/restore", 302, 403, 403, 302),
    ("POST", "/admin/trash/{trashed}/purge", 302, 403, 403, 302),
    ("POST", "/admin/trash/purge-expired", 302, 403, 403, 302),
    ("POST", "/admin/trash/bulk", 302, 403, 403, 400),
    ("GET", "/admin/users", 302, 403, 403, 200),
    ("POST", "/admin/users/other/disable", 302, 403, 403, 302),
    ("POST", "/admin/users/other/enable", 302, 403, 403, 302),
    ("POST", "/admin/users/other/grant-admin", 302, 403, 403, 302),
    ("POST", "/admin/users/admin/revoke-admin", 302, 403, 403, 302),
    ("POST", "/admin/users/other/temporary-password", 302, 403, 403, 302),
    ("GET", "/admin/users/other/temporary-password", 302, 403, 403, 302),
    ("POST", "/admin/users/nobody/disable", 302, 403, 403, 404),
    ("GET", "/admin/activity", 302, 403, 403, 200),
    ("GET", "/account", 302, 200, 200, 200),
    ("GET", "/account/password", 302, 200, 200, 200),
    ("POST", "/account/password", 302, 422, 422, 422),
    ("POST", "/account/completed/hide", 302, 302, 302, 302),
    ("POST", "/account/completed/show", 302, 302, 302, 302),
    ("POST", "/account/logout-everywhere", 302, 302, 302, 302),
    # A session handle the visitor does not have (test_sessions ends real ones).
    ("POST", "/account/sessions/{session}/end", 302, 404, 404, 404),
]
VISITORS = ["anonymous", "owner", "other", "admin"]


ACCOUNT_ACTION = re.compile(r"^/admin/users/[a-z]+/(disable|enable|grant-admin|revoke-admin)$")


def _rule_key(method, url):
    url = url.replace("{live}", "<todo_id>").replace("{trashed}", "<todo_id>")
    url = url.replace("{list}", "<list_id>").replace("{tlist}", "<list_id>")
    url = url.replace("{session}", "<handle>")
    url = ACCOUNT_ACTION.sub("/admin/users/<username>/<action>", url)
    return method, re.sub(r"^/admin/users/[a-z]+/", "/admin/users/<username>/", url)


def test_matrix_covers_every_route(app):
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:>]+:)?(\w+)>", r"<\1>", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method, path))
    covered = {_rule_key(method, url) for method, url, *_ in MATRIX}
    assert routes == covered, f"untested: {routes - covered}; stale: {covered - routes}"


@pytest.fixture
def world(make_user, make_todo, make_list):
    owner = make_user("owner")
    make_user("other")
    make_user("admin", admin=True)
    return {
        "live": make_todo(owner, "owner's live"),
        "trashed": make_todo(owner, "owner's trash", trashed=True),
        "list": make_list(owner, "Errands"),
        "tlist": make_list(owner, "Old plans", trashed=True),
        "session": "0" * 20,
    }


@pytest.mark.parametrize(
    ("method", "url", *VISITORS), MATRIX, ids=[f"{m} {u}" for m, u, *_ in MATRIX]
)
@pytest.mark.parametrize("visitor", VISITORS)
def test_status(client, auth, world, visitor, method, url, anonymous, owner, other, admin):
    expected = {"anonymous": anonymous, "owner": owner, "other": other, "admin": admin}[visitor]
    if visitor != "anonymous":
        auth.login(visitor)
    url = url.format(**world)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.submit(url)
    assert response.status_code == expected
    if visitor == "anonymous" and expected == 302 and not url.startswith("/auth") and url != "/":
        assert response.location.startswith("/auth/login")


@pytest.mark.parametrize(
    "url", ["/todos", "/trash", "/admin/trash", "/todos/{live}/edit", "/trash/{trashed}/restore"]
)
def test_anonymous_is_sent_to_login_with_next(client, world, url):
    url = url.format(**world)
    response = client.get(url)
    assert response.status_code == 302
    location = urlsplit(response.location)
    assert location.path == "/auth/login"
    assert parse_qs(location.query) == {"next": [url]}


def test_another_users_todo_is_untouched(app, client, auth, world):
    auth.login("other")
    for url in ["/todos/{live}/toggle", "/todos/{live}/delete", "/todos/{live}/edit"]:
        assert client.submit(url.format(**world), {"title": "hijacked"}).status_code == 404
    for url in ["/trash/{trashed}/restore", "/trash/{trashed}/purge"]:
        assert client.submit(url.format(**world)).status_code == 404
    with app.app_context():
        rows = db.session.scalars(
            db.select(Todo).execution_options(include_trashed=True).order_by(Todo.id)
        ).all()
        assert [(t.title, t.done, t.is_trashed) for t in rows] == [
            ("owner's live", False, False),
            ("owner's trash", False, True),
        ]


@pytest.mark.parametrize(
    "url",
    [
        "/todos/1/toggle",
        "/todos/1/delete",
        "/trash/1/purge",
        "/trash/empty",
        "/auth/logout",
        "/admin/trash/purge-expired",
    ],
)
def test_get_on_a_post_only_url_is_405(client, auth, world, url):
    auth.login("admin")
    response = client.get(url)
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert "<!doctype html>" in response.get_data(as_text=True)
