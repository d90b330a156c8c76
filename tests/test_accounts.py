"""Sessions that end, the account page, the admin's users page, and the
activity log. Sessions are tested the way they are stolen: a copy of the
session cookie, saved at one moment and sent again later."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from todoapp.extensions import db
from todoapp.models import Activity, User, UserSession, utcnow
from todoapp.services import activity, lists, todos, users

from .conftest import PASSWORD, Auth, Client

NEW_PASSWORD = "a brand new gloomy walrus"


def saved_cookie(client) -> str:
    return client.get_cookie("session").value


def with_cookie(app, cookie: str) -> Client:
    """Another browser, holding a copy of a saved session cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def is_logged_in(client) -> bool:
    return client.get("/todos").status_code == 200


def actions(app, username=None) -> list[str]:
    with app.app_context():
        stmt = select(Activity.action).order_by(Activity.id)
        if username:
            stmt = stmt.join(User, User.id == Activity.user_id).where(User.username == username)
        return db.session.scalars(stmt).all()


# --- sessions ---------------------------------------------------------------


def test_a_cookie_saved_before_logout_opens_nothing_after_it(app, client, auth, alice):
    auth.login("alice")
    cookie = saved_cookie(client)
    assert is_logged_in(with_cookie(app, cookie))
    auth.logout()
    stolen = with_cookie(app, cookie)
    response = stolen.get("/todos")
    assert response.status_code == 302 and "/auth/login" in response.location
    # Nor can a POST keep it alive by re-signing it.
    assert stolen.post("/todos", data={"title": "x"}).status_code in (302, 400)
    assert not is_logged_in(stolen)


def test_logout_ends_only_that_session(app, auth, alice):
    laptop, phone = app.test_client(), app.test_client()
    for browser in (laptop, phone):
        browser.submit("/auth/login", {"username": "alice", "password": PASSWORD})
    laptop.submit("/auth/logout")
    assert not is_logged_in(laptop) and is_logged_in(phone)


def test_log_out_everywhere_ends_every_session_of_the_user(app, alice, bob):
    laptop, phone, bobs = app.test_client(), app.test_client(), app.test_client()
    for browser, name in ((laptop, "alice"), (phone, "alice"), (bobs, "bob")):
        browser.submit("/auth/login", {"username": name, "password": PASSWORD})
    saved = saved_cookie(phone)
    response = laptop.submit("/account/logout-everywhere", follow_redirects=True)
    assert "You are logged out everywhere" in response.get_data(as_text=True)
    assert not is_logged_in(laptop) and not is_logged_in(phone)
    assert not is_logged_in(with_cookie(app, saved))
    assert is_logged_in(bobs)  # someone else's sessions are not touched
    assert "logout_everywhere" in actions(app, "alice")


def test_changing_the_password_ends_every_other_session(app, alice):
    here, elsewhere = app.test_client(), app.test_client()
    for browser in (here, elsewhere):
        browser.submit("/auth/login", {"username": "alice", "password": PASSWORD})
    response = here.submit(
        "/account/password",
        {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        follow_redirects=True,
    )
    assert "Your password is changed" in response.get_data(as_text=True)
    assert is_logged_in(here) and not is_logged_in(elsewhere)
    fresh = app.test_client()
    assert (
        fresh.submit("/auth/login", {"username": "alice", "password": PASSWORD}).status_code == 422
    )
    assert (
        fresh.submit("/auth/login", {"username": "alice", "password": NEW_PASSWORD}).status_code
        == 302
    )
    assert "password_changed" in actions(app, "alice")


def test_changing_the_password_gives_this_session_a_new_token(app, client, auth, alice):
    """A copy of this browser's cookie taken before the change (a stolen one)
    opens nothing after it; the browser itself stays logged in."""
    auth.login("alice")
    copied = with_cookie(app, saved_cookie(client))
    assert is_logged_in(copied)
    logged_in_at = utcnow() - timedelta(hours=1)
    with app.app_context():
        db.session.execute(update(UserSession).values(created_at=logged_in_at))
        db.session.commit()
    client.submit(
        "/account/password", {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert is_logged_in(client)
    response = copied.get("/todos")
    assert response.status_code == 302 and "/auth/login" in response.location
    with app.app_context():  # one session left, the renewed one, as old as the login
        assert db.session.scalars(select(UserSession.created_at)).all() == [logged_in_at]


@pytest.mark.parametrize(
    ("current", "new", "error"),
    [
        ("wrong password", NEW_PASSWORD, "Your current password is not that."),
        (PASSWORD, PASSWORD, "must differ from the current one"),
        (PASSWORD, "password", "most common"),
        (PASSWORD, "alice-alice-alice", "username"),
    ],
)
def test_a_password_change_that_breaks_a_rule_changes_nothing(
    app, client, auth, alice, current, new, error
):
    auth.login("alice")
    response = client.submit("/account/password", {"current": current, "new": new, "confirm": new})
    assert response.status_code == 422
    assert error in response.get_data(as_text=True)
    with app.app_context():
        assert users.authenticate("alice", PASSWORD) is not None


def test_a_disabled_account_is_logged_out_at_its_next_request_and_cannot_log_in(
    app, client, auth, alice, admin
):
    auth.login("alice")
    cookie = saved_cookie(client)
    with app.app_context():
        users.set_disabled("alice", True, actor_id=admin)
    assert not is_logged_in(client)
    assert not is_logged_in(with_cookie(app, cookie))
    response = auth.login("alice")
    assert response.status_code == 422
    assert "This account is disabled" in response.get_data(as_text=True)
    with app.app_context():
        users.set_disabled("alice", False, actor_id=admin)
    assert auth.login("alice").status_code == 302


def test_a_session_idle_too_long_ends(app, client, auth, alice, monkeypatch):
    import todoapp.auth.routes as routes

    auth.login("alice")
    assert is_logged_in(client)
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    now = routes.time.time()
    monkeypatch.setattr(routes.time, "time", lambda: now + idle - 5)
    assert is_logged_in(client)  # used just before the timeout: it goes on
    monkeypatch.setattr(routes.time, "time", lambda: now + 2 * idle - 10)
    assert is_logged_in(client)  # the use above counted as activity
    monkeypatch.setattr(routes.time, "time", lambda: now + 4 * idle)
    assert not is_logged_in(client)


def test_a_session_ends_at_its_lifetime_however_busy(app, client, auth, alice):
    auth.login("alice")
    assert is_logged_in(client)
    lifetime = timedelta(hours=app.config["SESSION_LIFETIME_HOURS"])
    with app.app_context():
        db.session.execute(update(UserSession).values(created_at=utcnow() - lifetime))
        db.session.commit()
    assert not is_logged_in(client)


def test_the_database_holds_only_a_hash_of_the_session_token(app, client, auth, alice):
    auth.login("alice")
    with app.app_context():
        stored = db.session.scalars(select(UserSession.id)).all()
    assert len(stored) == 1 and re.fullmatch(r"[0-9a-f]{64}", stored[0])
    with client.session_transaction() as session:
        assert session["sid"] != stored[0]


# --- a temporary password ------------------------------------------------------


def test_a_temporary_password_must_be_changed_before_anything_else(app, client, auth, alice, admin):
    auth.login("alice")
    with app.app_context():
        temporary = users.set_temporary_password("alice", actor_id=admin)
    assert not is_logged_in(client)  # the old sessions ended
    assert auth.login("alice").status_code == 422  # the old password is gone
    response = auth.login("alice", temporary)
    assert response.status_code == 302 and "/account/password" in response.location
    for path in ("/todos", "/trash", "/account"):
        assert client.get(path).location == f"/account/password?next={path}"
    # A form sent meanwhile is not replayed later as a GET: no way back to it.
    assert client.submit("/todos", {"title": "x"}).location == "/account/password"
    client.submit(
        "/account/password", {"current": temporary, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert is_logged_in(client)


# --- the account page ------------------------------------------------------------


def test_the_account_page_shows_the_last_login_and_recent_activity(app, client, auth, alice):
    auth.login("alice")
    page = client.get("/account").get_data(as_text=True)
    assert "this is your first session" in page
    auth.logout()
    auth.login("alice")
    with app.app_context():
        todo = todos.create_todo(alice, "milk").id
        todos.trash_todo(todo, alice, actor_id=alice)
        todos.purge_todo(todo, actor_id=alice)
    page = client.get("/account").get_data(as_text=True)
    assert "before this session" in page
    assert f"you moved todo #{todo} in the Inbox to the trash" in page
    assert f"you deleted todo #{todo} in the Inbox forever" in page
    # The log names todos by id: one deleted forever leaves no trace of its title.
    assert "milk" not in page
    assert "you logged in" in page and "you logged out" in page


# --- the admin's users page --------------------------------------------------------


def test_the_users_page_lists_counts_and_last_logins(app, client, auth, alice, bob, admin):
    with app.app_context():
        for title in ("a", "b", "c"):
            todo = todos.create_todo(alice, title)
        todos.trash_todo(todo.id, alice, actor_id=alice)
    auth.login("root")
    page = client.get("/admin/users").get_data(as_text=True)
    row = re.search(r"<tr>\s*<td>alice.*?</tr>", page, re.S).group(0)
    assert '<td data-label="Todos">2</td>' in row
    assert ">1</a></td>" in row  # one in the trash, linked to the admin trash
    assert "never" in row  # alice has not logged in yet
    assert re.search(r"<td>root <span class=\"badge\">admin</span>", page)


def test_admin_actions_on_accounts(app, client, auth, alice, admin):
    auth.login("root")
    client.submit("/admin/users/alice/disable")
    with app.app_context():
        assert users.get_user_by_username("alice").disabled_at is not None
    client.submit("/admin/users/alice/enable")
    client.submit("/admin/users/alice/grant-admin")
    with app.app_context():
        alice_now = users.get_user_by_username("alice")
        assert alice_now.disabled_at is None and alice_now.is_admin
    page = client.submit("/admin/users/alice/temporary-password", follow_redirects=True)
    page = page.get_data(as_text=True)
    temporary = re.search(r"<code>([^<]+)</code>", page).group(1)
    assert "shown only this once" in page
    with app.app_context():
        assert users.authenticate("alice", temporary).must_change_password
    assert actions(app, "alice")[-4:] == [
        "user_disabled",
        "user_enabled",
        "admin_granted",
        "temporary_password",
    ]


def test_a_temporary_password_is_shown_once_and_a_reload_gives_no_other(
    app, client, auth, alice, admin
):
    auth.login("root")
    given = client.submit("/admin/users/alice/temporary-password")
    assert given.status_code == 302  # POST, then redirect: a reload sends no POST again
    page = client.get(given.location).get_data(as_text=True)
    temporary = re.search(r"<code>([^<]+)</code>", page).group(1)
    reloaded = client.get(given.location, follow_redirects=True).get_data(as_text=True)
    assert temporary not in reloaded and "<code>" not in reloaded
    assert "shown only once" in reloaded
    with app.app_context():
        assert users.authenticate("alice", temporary) is not None  # still the one handed over
    assert actions(app, "alice").count("temporary_password") == 1


def test_an_admin_cannot_give_himself_a_temporary_password(app, client, auth, alice, admin):
    auth.login("root")
    page = client.get("/admin/users").get_data(as_text=True)
    assert 'aria-label="Temporary password for alice"' in page
    assert 'aria-label="Temporary password for root"' not in page
    page = client.submit("/admin/users/root/temporary-password", follow_redirects=True)
    assert "You cannot do that to your own account" in page.get_data(as_text=True)
    with app.app_context():
        root = users.authenticate("root", PASSWORD)
        assert root is not None and not root.must_change_password
    assert is_logged_in(client)


def test_the_last_admin_can_be_neither_revoked_nor_disabled(app, client, auth, admin, alice):
    with app.app_context():
        for change in (
            lambda: users.set_admin("root", False),
            lambda: users.set_disabled("root", True),
        ):
            with pytest.raises(users.LastAdminError):
                change()
        users.set_admin("alice", True)
        users.set_disabled("root", True)  # alice is left
        with pytest.raises(users.LastAdminError):
            users.set_admin("alice", False)  # the only enabled one


def test_an_admin_cannot_disable_their_own_account_from_the_page(app, client, auth, admin, alice):
    with app.app_context():
        users.set_admin("alice", True)
    auth.login("root")
    page = client.submit("/admin/users/root/disable", follow_redirects=True)
    assert "You cannot do that to your own account" in page.get_data(as_text=True)
    with app.app_context():
        assert users.get_user_by_username("root").disabled_at is None


@pytest.mark.parametrize("action", ["disable", "revoke-admin"])
@pytest.mark.parametrize("written", ["root", "ROOT", "Root", "root%20", "%20root"])
def test_an_admin_cannot_act_on_their_own_account_however_the_name_is_written(
    app, client, auth, admin, alice, action, written
):
    with app.app_context():
        users.set_admin("alice", True)  # another admin: the last-admin rule does not apply
    auth.login("root")
    page = client.submit(f"/admin/users/{written}/{action}", follow_redirects=True)
    assert "You cannot do that to your own account" in page.get_data(as_text=True)
    with app.app_context():
        root = users.get_user_by_username("root")
        assert root.is_admin and root.disabled_at is None
    assert actions(app, "root") == ["register", "login"]


# --- the activity log ----------------------------------------------------------------


def test_every_action_is_logged_in_its_own_transaction(app, client, auth, alice, admin):
    """A change that fails writes no entry: they share the transaction."""
    auth.login("alice")
    with app.app_context():
        todo = todos.create_todo(alice, "t")
        before = len(actions(app))
        with pytest.raises(RuntimeError):
            from todoapp.database import write_transaction

            with write_transaction():
                todos.trash_todo(todo.id, alice, actor_id=alice)
                raise RuntimeError("the request failed after the trash")
        db.session.remove()
    assert len(actions(app)) == before


def test_the_trash_actions_are_logged_with_their_counts(app, client, auth, alice, make_todo):
    auth.login("alice")
    ids = [make_todo(alice, f"t{n}", trashed=True) for n in range(3)]
    client.submit("/trash/bulk", [("action", "restore"), ("ids", ids[0]), ("ids", ids[1])])
    client.submit(f"/trash/{ids[2]}/purge")
    client.submit("/trash/empty")  # nothing left in it: no entry
    with app.app_context():
        rows = db.session.execute(
            select(Activity.action, Activity.count)
            .where(Activity.action.in_(["trash", "restore", "purge", "empty_trash"]))
            .order_by(Activity.id)
        ).all()
    assert rows == [("trash", 1)] * 3 + [("restore", 2), ("purge", 1)]


def test_failed_logins_are_logged_for_the_account_with_the_address(app, client, auth, alice):
    auth.login("alice", "not the password")
    auth.login("nobody-at-all", "whatever it is")
    with app.app_context():
        rows = db.session.execute(
            select(Activity.user_id, Activity.address).where(Activity.action == "login_failed")
        ).all()
    assert rows == [(alice, "127.0.0.1"), (None, "127.0.0.1")]


def test_the_admin_activity_page_filters_and_pages(app, client, auth, alice, bob, admin):
    app.config["TODOS_PER_PAGE"] = 2
    with app.app_context():
        alices = [todos.create_todo(alice, f"alice {n}").id for n in range(3)]
        for todo in alices:
            todos.trash_todo(todo, alice, actor_id=alice)
        bobs = todos.create_todo(bob, "bob's").id
        todos.trash_todo(bobs, bob, actor_id=bob)
    auth.login("root")
    page = client.get("/admin/activity?user=alice&action=trash").get_data(as_text=True)
    assert page.count("moved a todo to the trash") == 1  # the filter's option
    assert page.count("to the trash</td>") == 2
    assert f"#{bobs} " not in page and f"#{alices[2]} " in page
    older = re.search(r'rel="next" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    page = client.get(older).get_data(as_text=True)
    assert f"#{alices[0]} " in page and f"#{alices[2]} " not in page
    assert client.get("/admin/activity?action=no-such-thing").status_code == 404
    assert client.get("/admin/activity?before=99999999999").status_code == 404


def test_the_trash_figures_per_day_come_from_the_log(app, alice, make_todo):
    with app.app_context():
        ids = [make_todo(alice, f"t{n}", trashed=True) for n in range(4)]
        todos.restore_todo(ids[0], actor_id=alice)
        todos.bulk_purge(ids[1:3], actor_id=alice)
        yesterday = utcnow() - timedelta(days=1)
        moved_yesterday = Activity.detail.startswith(f"#{ids[3]} ")
        db.session.execute(update(Activity).where(moved_yesterday).values(at=yesterday))
        db.session.commit()
        days = activity.trash_per_day(7)
    assert len(days) == 7 and days[0]["day"] == utcnow().date()
    assert {k: days[0][k] for k in ("deleted", "restored", "purged")} == {
        "deleted": 3,
        "restored": 1,
        "purged": 2,
    }
    assert days[1]["deleted"] == 1 and days[1]["purged"] == 0


def test_the_activity_log_says_what_was_done_to_what_and_how_many(
    app, client, auth, runner, alice, admin
):
    with app.app_context():
        groceries = lists.create_list(alice, "Groceries", actor_id=alice).id
        for title in ("milk", "eggs"):
            todos.create_todo(alice, title, list_id=groceries)
        alone = todos.create_todo(alice, "bread", list_id=groceries).id
        todos.trash_todo(alone, alice, actor_id=alice)
        lists.trash_list(groceries, alice, actor_id=alice)
        lists.restore_list(groceries, owner_id=alice, actor_id=alice)
        inboxed = [todos.create_todo(alice, f"old {n}").id for n in range(3)]
        for todo in inboxed:
            todos.trash_todo(todo, alice, actor_id=alice)
        todos.bulk_purge(inboxed, owner_id=alice, actor_id=alice)
    laptop = app.test_client()
    Auth(laptop).login("alice")
    auth.login("alice")
    client.submit("/account/logout-everywhere")
    created = runner.invoke(
        args=["users", "create", "carol", "--password-stdin"], input=f"{PASSWORD}\n"
    )
    assert created.exit_code == 0, created.output
    auth.login("root")
    page = client.get("/admin/activity").get_data(as_text=True)
    assert "list list" not in page
    assert f"created list #{groceries}</td>" in page
    assert f"moved todo #{alone} in list #{groceries} to the trash</td>" in page
    assert f"moved todo #{inboxed[0]} in the Inbox to the trash</td>" in page
    assert f"moved list #{groceries} to the trash, with 2 todos</td>" in page
    assert f"restored list #{groceries}, with 2 todos</td>" in page
    assert "deleted 3 todos forever</td>" in page
    assert "logged out everywhere, ending 2 sessions</td>" in page
    carol = re.search(r"<tr>(?:(?!</tr>).)*>carol</a>.*?</tr>", page, re.S).group(0)
    assert "the command line" in carol and "created the account" in carol
    assert "registered" not in carol
    # Alice reads the same on her own page, with herself as "you".
    auth.logout()
    auth.login("alice")
    page = client.get("/account").get_data(as_text=True)
    assert "you logged out everywhere, ending 2 sessions" in page
    assert f"you moved todo #{inboxed[2]} in the Inbox to the trash" in page


def test_the_activity_purge_deletes_old_entries_in_batches(app, runner, alice, monkeypatch):
    monkeypatch.setattr(activity, "PURGE_BATCH_SIZE", 2)
    with app.app_context():
        for _ in range(5):
            activity.record("login", actor_id=alice, user_id=alice)
        db.session.execute(
            update(Activity).where(Activity.id <= 4).values(at=utcnow() - timedelta(days=400))
        )
        db.session.commit()
    before = len(actions(app))
    result = runner.invoke(args=["activity", "purge"])
    assert result.exit_code == 0, result.output
    assert "Deleted 4 activity entries older than 365 days." in result.output
    assert len(actions(app)) == before - 4
    result = runner.invoke(args=["activity", "purge", "--older-than", "99999999"])
    assert result.exit_code == 2 and "Traceback" not in result.output


# --- the command line ------------------------------------------------------------------


def test_the_users_commands(app, runner, alice, admin):
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0
    assert re.search(r"^alice\s+0 todos\s+0 trashed\s+last login never$", result.output, re.M)
    assert re.search(r"^root .*\(admin\)$", result.output, re.M)
    assert "is disabled" in runner.invoke(args=["users", "disable", "alice"]).output
    result = runner.invoke(args=["users", "set-password", "alice"])
    temporary = re.search(r"Temporary password for 'alice': (\S+)", result.output).group(1)
    assert "is enabled" in runner.invoke(args=["users", "enable", "alice"]).output
    with app.app_context():
        assert users.authenticate("alice", temporary).must_change_password
    result = runner.invoke(args=["users", "disable", "nobody"])
    assert result.exit_code == 1 and "There is no user named 'nobody'." in result.output
    result = runner.invoke(args=["users", "disable", "root"])
    assert result.exit_code == 1 and "last administrator" in result.output


def test_revoking_admin_rights_counts_at_the_next_request(app, client, auth, admin, alice):
    with app.app_context():
        users.set_admin("alice", True)
    auth.login("alice")
    assert client.get("/admin/trash").status_code == 200
    with app.app_context():
        users.set_admin("alice", False, actor_id=admin)
    assert client.get("/admin/trash").status_code == 403  # the user row is read on every request
