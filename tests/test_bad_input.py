"""Bad input never crashes anything, never stores junk, and a failed request
changes nothing. Hypothesis throws arbitrary text at every form field and URL
parameter."""

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from todoapp.extensions import db
from todoapp.models import Todo, User
from todoapp.services.titles import clean_title
from todoapp.services.users import clean_username

# Each example runs against the same app and database; every check compares
# the state just before and just after one request, so that is sound.
examples = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Only what a browser can send: UTF-8 has no lone surrogates.
long_text = st.builds(
    lambda ch, n: ch * n, st.characters(codec="utf-8"), st.integers(9_990, 10_010)
)
nasty_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=20),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\t", "\u202e", "\ufeff", "<script>", "'; --"]),
    long_text,
)
odd_ids = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=30),
    st.sampled_from(["0", "-1", "1e3", "0x10", "١", "99999999999999999999999", " 1", "1/"]),
)


def state(app):
    with app.app_context():
        users = db.session.execute(
            select(User.id, User.username, User.password_hash, User.is_admin).order_by(User.id)
        ).all()
        todos = db.session.execute(
            select(Todo.id, Todo.title, Todo.done, Todo.deleted_at, Todo.deleted_by)
            .execution_options(include_trashed=True)
            .order_by(Todo.id)
        ).all()
        db.session.remove()
    return users, todos


def assert_stored_values_follow_the_rules(app):
    users, todos = state(app)
    for _, username, *_ in users:
        assert clean_username(username) == username
    for _, title, *_ in todos:
        assert clean_title(title) == title


@pytest.fixture
def alice_in(client, auth, alice, make_todo):
    auth.login("alice")
    return {"live": make_todo(alice, "live"), "trashed": make_todo(alice, "trash", trashed=True)}


@examples
@given(title=nasty_text)
def test_add_form(app, client, alice_in, title):
    before = state(app)
    response = client.submit("/todos", {"title": title})
    assert response.status_code in (302, 413, 422)
    after = state(app)
    if response.status_code == 302:
        assert len(after[1]) == len(before[1]) + 1
        assert after[1][-1][1] == clean_title(title)
    else:
        assert after == before
    assert_stored_values_follow_the_rules(app)


@examples
@given(title=nasty_text, next_url=nasty_text)
def test_edit_form(app, client, alice_in, title, next_url):
    before = state(app)
    url = f"/todos/{alice_in['live']}/edit"
    response = client.submit(url, {"title": title, "next": next_url})
    assert response.status_code in (302, 413, 422)
    if response.status_code == 302:
        assert response.location.startswith("/")
        assert not response.location.startswith("//")
    else:
        assert state(app) == before
    assert_stored_values_follow_the_rules(app)


@examples
@given(username=nasty_text, password=nasty_text, confirm=nasty_text)
def test_register_form(app, client, username, password, confirm):
    before = state(app)
    response = client.submit(
        "/auth/register", {"username": username, "password": password, "confirm": confirm}
    )
    # 429: past the registrations allowed from one address (nothing stored either).
    assert response.status_code in (302, 413, 422, 429)
    if response.status_code != 302:
        assert state(app) == before
    else:
        client.submit("/auth/logout")
    assert_stored_values_follow_the_rules(app)


@examples
@given(username=nasty_text, password=nasty_text, next_url=nasty_text)
def test_login_form(app, client, alice, username, password, next_url):
    before = state(app)
    response = client.submit(
        f"/auth/login?next={quote(next_url)}", {"username": username, "password": password}
    )
    assert response.status_code in (413, 422, 429)
    assert state(app) == before


@examples
@given(todo_id=odd_ids)
def test_odd_ids_in_every_url(app, client, alice_in, todo_id):
    assume(todo_id not in {str(v) for v in alice_in.values()})
    before = state(app)
    segment = quote(todo_id, safe="")
    for path in ("/todos/{}/edit", "/trash/{}/restore"):
        assert client.get(path.format(segment)).status_code in (404, 405, 308)
    for path in (
        "/todos/{}/edit",
        "/todos/{}/toggle",
        "/todos/{}/delete",
        "/trash/{}/restore",
        "/trash/{}/purge",
    ):
        response = client.submit(path.format(segment), {"title": "x"})
        assert response.status_code in (404, 405, 308)
    assert state(app) == before


@examples
@given(cursor=nasty_text, user=nasty_text, way=st.sampled_from(["before", "after"]))
def test_query_parameters(app, client, auth, admin, cursor, user, way):
    auth.login("root")
    for path in ("/todos", "/trash", "/admin/trash"):
        response = client.get(f"{path}?{way}={quote(cursor)}&user={quote(user)}")
        assert response.status_code in (200, 404)


def test_duplicated_fields_take_the_first_value(app, client, alice_in):
    data = MultiDict([("title", "first"), ("title", "second"), ("csrf_token", client.csrf_token())])
    assert client.post("/todos", data=data).status_code == 302
    assert state(app)[1][-1][1] == "first"


@pytest.mark.parametrize("path", ["/todos", "/todos/{live}/edit"])
def test_missing_fields_are_422_and_change_nothing(app, client, alice_in, path):
    before = state(app)
    assert client.submit(path.format(**alice_in), {}).status_code == 422
    assert state(app) == before


@pytest.mark.parametrize("path", ["/auth/register", "/auth/login"])
def test_missing_auth_fields_are_422(app, client, alice, path):
    before = state(app)
    assert client.submit(path, {}).status_code == 422
    assert state(app) == before


def test_wrong_methods_are_405_everywhere(app, client, alice_in):
    allowed: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<id:todo_id>", str(alice_in["live"]))
        if "<" not in path:
            allowed.setdefault(path, set()).update(rule.methods)
    checked = 0
    for path, methods in allowed.items():
        for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - methods:
            response = client.open(path, method=method)
            assert response.status_code == 405, (method, path)
            response.close()
            checked += 1
    assert checked > 20


# Numbers around the INTEGER bound of id columns (2**31 - 1), as digits:
# SQLite takes any of them, PostgreSQL's driver overflows past the bound.
big_numbers = st.one_of(
    st.integers(min_value=2**31 - 3, max_value=2**31 + 3),
    st.integers(min_value=0, max_value=10**17 - 1),
    st.integers(min_value=10**9, max_value=10**10 - 1),
).map(str)


@examples
@given(first=big_numbers, second=big_numbers, way=st.sampled_from(["before", "after"]))
def test_cursors_past_the_id_bound_are_404_not_500(app, client, auth, admin, first, second, way):
    auth.login("root")
    for path, cursor in (
        ("/todos", first),
        ("/trash", f"{first}-{second}"),
        ("/admin/trash", f"{first}-{second}"),
    ):
        response = client.get(f"{path}?{way}={cursor}")
        assert response.status_code in (200, 404), (path, cursor)


@examples
@given(ids=st.lists(big_numbers, min_size=1, max_size=3))
def test_bulk_ids_past_the_id_bound_are_400_and_change_nothing(app, client, auth, admin, ids):
    auth.login("root")
    before = state(app)
    for path in ("/trash/bulk", "/admin/trash/bulk"):
        response = client.submit(path, MultiDict([("action", "purge"), *(("ids", i) for i in ids)]))
        in_range = all(1 <= int(i) <= 2**31 - 1 for i in ids)
        assert response.status_code == (302 if in_range else 400), (path, ids)
    assert state(app) == before


@pytest.mark.parametrize(
    "url",
    [
        "/todos?before=99999999999999999",
        "/todos?after=2147483648",
        "/trash?before=1-2147483648",
        "/admin/trash?before=1-2147483648",
    ],
)
def test_the_reported_cursors_are_404(client, auth, admin, url):
    auth.login("root")
    assert client.get(url).status_code == 404
