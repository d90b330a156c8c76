"""Sessions like GitHub's: the account page lists where you are logged in
(browser and system, address, started, last active, this one marked), each
with an End button; the login page says why a session ended."""

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from todoapp.extensions import db
from todoapp.models import USER_AGENT_MAX, UserSession, utcnow
from todoapp.services import sessions, users
from todoapp.user_agent import clean, describe

from .conftest import PASSWORD

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
END_FORM = re.compile(r'action="(/account/sessions/[^"/]+/end)"')


def log_in(app, username="alice", user_agent=FIREFOX, address="127.0.0.1"):
    """A browser of its own, logged in."""
    browser = app.test_client()
    browser.environ_base.update({"HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": address})
    response = browser.submit("/auth/login", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return browser


def account_page(browser) -> str:
    response = browser.get("/account")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def login_page_after(browser) -> str:
    """What the browser sees next: sent to the login page, with why."""
    response = browser.get("/todos", follow_redirects=True)
    assert response.request.path == "/auth/login"
    return html.unescape(response.get_data(as_text=True))


def test_the_account_page_lists_your_sessions(app, alice, bob):
    phone = log_in(app, user_agent=IPHONE, address="203.0.113.7")
    desktop = log_in(app, user_agent=FIREFOX, address="198.51.100.2")
    log_in(app, "bob", user_agent="curl/8.5.0")
    page = account_page(desktop)
    assert "Firefox 133 on Windows" in page and "Safari 18 on iOS" in page
    assert "203.0.113.7" in page and "198.51.100.2" in page
    assert "curl" not in page  # bob's
    assert page.count("This session") == 1
    # This one is marked and has no End button; the phone's has one.
    this = page[page.index("Firefox 133 on Windows") :].split("</li>")[0]
    assert "This session" in this and "End" not in this
    assert len(END_FORM.findall(page)) == 1
    assert "Safari 18 on iOS" in account_page(phone)


def test_end_logs_that_browser_out_and_it_is_told_why(app, alice):
    phone = log_in(app, user_agent=IPHONE)
    desktop = log_in(app)
    (end,) = END_FORM.findall(account_page(desktop))
    response = desktop.submit(end)
    assert response.status_code == 302 and response.location.endswith("/account")
    assert "Safari 18 on iOS" not in account_page(desktop)  # the desktop goes on
    assert "ended from another device" in login_page_after(phone)
    # Said once: the next visit is a plain login page.
    assert "ended from another device" not in login_page_after(phone)


def test_you_cannot_end_someone_elses_session(app, alice, bob):
    bobs = log_in(app, "bob")
    alices = log_in(app)
    with app.app_context():
        (digest,) = db.session.scalars(
            select(UserSession.id).where(UserSession.user_id == bob)
        ).all()
    response = alices.submit(f"/account/sessions/{sessions.handle(digest)}/end")
    assert response.status_code == 404
    assert bobs.get("/todos").status_code == 200


@pytest.mark.parametrize(
    ("end", "says"),
    [
        (
            lambda app, other: other.submit(
                "/account/password",
                {
                    "current": PASSWORD,
                    "new": "a quite new pass 42",
                    "confirm": "a quite new pass 42",
                },
            ),
            "Your password was changed",
        ),
        (lambda app, other: other.submit("/account/logout-everywhere"), "logged out everywhere"),
        (
            lambda app, other: users.set_disabled("alice", True),
            "Your account was disabled by an administrator",
        ),
        (
            lambda app, other: users.set_temporary_password("alice"),
            "temporary password",
        ),
    ],
    ids=["password_changed", "logged_out_everywhere", "disabled", "temporary_password"],
)
def test_the_login_page_says_why_you_were_logged_out(app, alice, end, says):
    stale = log_in(app)
    other = log_in(app, user_agent=IPHONE)
    with app.app_context():
        end(app, other)
    assert says in login_page_after(stale)


def test_an_expired_session_says_so(app, alice, monkeypatch):
    import todoapp.auth.routes as routes

    browser = log_in(app)
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    now = routes.time.time()
    monkeypatch.setattr(routes.time, "time", lambda: now + idle + 5)
    assert "Your session expired" in login_page_after(browser)


def test_your_own_logout_says_nothing_more(app, alice):
    browser = log_in(app)
    browser.submit("/auth/logout")
    page = login_page_after(browser)
    assert "expired" not in page and "ended" not in page and "everywhere" not in page


def last_active(app):
    with app.app_context():
        return db.session.scalar(select(UserSession.last_active_at))


def set_last_active(app, when):
    with app.app_context():
        db.session.execute(update(UserSession).values(last_active_at=when))
        db.session.commit()


def test_last_active_is_written_at_most_once_per_interval(app, alice):
    """Page views inside the interval write nothing at all; the first one
    after it stamps the session once."""
    browser = log_in(app)
    every = timedelta(minutes=app.config["SESSION_ACTIVITY_MINUTES"])
    writes = []

    def count_writes(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE", "BEGIN")):
            writes.append(statement)

    recent = utcnow() - every + timedelta(seconds=30)
    set_last_active(app, recent)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count_writes)
    try:
        for _ in range(5):
            assert browser.get("/todos").status_code == 200
        assert writes == [] and last_active(app) == recent

        stale = utcnow() - every - timedelta(seconds=1)
        set_last_active(app, stale)
        writes.clear()
        for _ in range(5):
            assert browser.get("/todos").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count_writes)
    assert last_active(app) > stale + every
    assert len([w for w in writes if w.lstrip().upper().startswith("UPDATE")]) == 1


def test_a_renewed_session_keeps_its_browser_and_address(app, alice):
    browser = log_in(app, user_agent=IPHONE, address="203.0.113.7")
    new = "a quite new pass 42"
    browser.submit("/account/password", {"current": PASSWORD, "new": new, "confirm": new})
    page = account_page(browser)
    assert "Safari 18 on iOS" in page and "203.0.113.7" in page and "This session" in page


@pytest.mark.parametrize(
    ("header", "says"),
    [
        (FIREFOX, "Firefox 133 on Windows"),
        (IPHONE, "Safari 18 on iOS"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Edge 131 on Windows",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36",
            "Chrome 131 on Android",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/18.1 Safari/605.1.15",
            "Safari 18 on macOS",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
            "Opera 115 on Linux",
        ),
        ("Werkzeug/3.1", "An unknown browser"),
        (None, "An unknown browser"),
    ],
)
def test_browsers_in_words(header, says):
    assert describe(header) == says


def test_a_hostile_user_agent_is_kept_short_and_printable(app, alice):
    header = "Firefox/1\x00\x1b[31m" + "A" * 100_000
    kept = clean(header)
    assert len(kept) == USER_AGENT_MAX and kept.isprintable()
    browser = log_in(app, user_agent=header[:8000])
    assert "Firefox 1" in account_page(browser)
