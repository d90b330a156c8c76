"""Sessions the server can end.

Flask's session is a signed cookie: on its own, nothing on the server can
take it back, so a cookie saved before a logout would still work. Each login
therefore makes a random token, keeps it in the cookie and its SHA-256 in
``user_sessions``. A request is logged in only while that row exists, the
account is enabled, and the session is within its idle timeout and absolute
lifetime. Ending a session is deleting its row; ending all of a user's is
deleting theirs. The check rides on the user lookup every request makes
anyway: one query, as before.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_login import UserMixin
from sqlalchemy import bindparam, delete, select

from ..database import Query, write_transaction
from ..models import User, UserSession, inbox_id, utcnow
from . import activity


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user_id: int, *, lifetime: timedelta, address: str | None = None) -> str:
    """A new session for the user (a login, in the activity log); returns its
    token, for the cookie. The user's sessions past their lifetime are
    forgotten on the way."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with write_transaction() as session:
        session.execute(
            delete(UserSession).where(
                UserSession.user_id == user_id, UserSession.created_at < now - lifetime
            )
        )
        session.add(UserSession(id=_digest(token), user_id=user_id, created_at=now))
        session.get(User, user_id).last_login_at = now
        # An account from before the lists, until the backfill ran: its Inbox now.
        inbox_id(session, user_id)
        activity.record("login", actor_id=user_id, user_id=user_id, address=address)
    return token


@dataclass(frozen=True, eq=False)
class SessionUser(UserMixin):
    """The logged-in user as a request sees it (Flask-Login's ``current_user``):
    the columns pages use, read fresh from the database on every request, so
    disabling an account or revoking admin rights counts at once. A plain row,
    not an ORM object: the lookup runs on every request, and the ORM's
    identity map and change tracking would only cost time here."""

    id: int
    username: str
    is_admin: bool
    created_at: datetime
    disabled_at: datetime | None
    must_change_password: bool

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None


_users, _sessions = User.__table__, UserSession.__table__
_FIND = Query(
    select(
        _users.c.id,
        _users.c.username,
        _users.c.is_admin,
        _users.c.created_at,
        _users.c.disabled_at,
        _users.c.must_change_password,
        _sessions.c.created_at.label("started"),
    )
    .select_from(_users.join(_sessions, _sessions.c.user_id == _users.c.id))
    .where(_sessions.c.id == bindparam("digest"), _users.c.id == bindparam("user_id"))
)


def find(user_id: int, token: str) -> tuple[SessionUser, datetime] | None:
    """The user of a live session token, with when the session started; None
    when the session was ended (or never was). One Core statement, built
    once, on the request's read connection (no ORM step: it runs on every request)."""
    row = _FIND.first({"digest": _digest(token), "user_id": user_id})
    if row is None:
        return None
    *columns, started = row
    return SessionUser(*columns), started


def renew(user_id: int, token: str) -> str | None:
    """The session of ``token`` under a new token, which is returned; the old
    one ends. It keeps its start, so its lifetime does not grow. None: the
    session had ended."""
    with write_transaction() as session:
        started = session.scalar(
            delete(UserSession)
            .where(UserSession.id == _digest(token), UserSession.user_id == user_id)
            .returning(UserSession.created_at)
        )
        if started is None:
            return None
        renewed = secrets.token_urlsafe(32)
        session.add(UserSession(id=_digest(renewed), user_id=user_id, created_at=started))
    return renewed


def end(token: str, user_id: int) -> None:
    """Log out: the session of ``token`` ends."""
    with write_transaction() as session:
        session.execute(delete(UserSession).where(UserSession.id == _digest(token)))
        activity.record("logout", actor_id=user_id, user_id=user_id)


def end_all(user_id: int, *, keep: str | None = None) -> int:
    """End every session of the user, except the one with token ``keep``;
    returns how many were ended."""
    stmt = delete(UserSession).where(UserSession.user_id == user_id)
    if keep is not None:
        stmt = stmt.where(UserSession.id != _digest(keep))
    with write_transaction() as session:
        return session.execute(stmt).rowcount
