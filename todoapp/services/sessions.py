"""Sessions the server can end.

Flask's session is a signed cookie: on its own, nothing on the server can
take it back, so a cookie saved before a logout would still work. Each login
therefore makes a random token, keeps it in the cookie and its SHA-256 in
``user_sessions``. A request is logged in only while that row exists, the
account is enabled, and the session is within its idle timeout and absolute
lifetime. Ending a session is deleting its row; ending all of a user's is
deleting theirs. The check rides on the user lookup every request makes
anyway: one query, as before.

A session ended by anything but its own logout leaves a row in
``ended_sessions`` saying why (``ENDED_*``), so its browser can be told at
its next request. Each session keeps its browser's User-Agent, its address,
and when it was last used, stamped at most once per
``SESSION_ACTIVITY_MINUTES`` (``touch``): the account page lists them, and
each can be ended from there.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_login import UserMixin
from sqlalchemy import bindparam, delete, func, insert, or_, select, update

from ..database import Query, write_transaction
from ..models import ADDRESS_MAX, EndedSession, User, UserSession, inbox_id, utcnow
from . import activity
from .errors import NotFoundError

# Why a session ended, when it was not its own logout (ended_sessions.reason).
ENDED_ELSEWHERE = "ended_elsewhere"  # "End" on the account page of another session
ENDED_EVERYWHERE = "logged_out_everywhere"
ENDED_BY_CHANGE = "password_changed"  # by the user, on another device
ENDED_BY_RESET = "password_reset"  # an administrator's temporary password
ENDED_BY_DISABLE = "account_disabled"
# The most sessions the account page lists: the latest used.
LISTED_MAX = 100


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    user_id: int,
    *,
    lifetime: timedelta,
    address: str | None = None,
    user_agent: str | None = None,
) -> str:
    """A new session for the user (a login, in the activity log); returns its
    token, for the cookie. The user's sessions past their lifetime, and the
    reasons kept for ended ones that old, are forgotten on the way."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with write_transaction() as session:
        session.execute(
            delete(UserSession).where(
                UserSession.user_id == user_id, UserSession.created_at < now - lifetime
            )
        )
        session.execute(
            delete(EndedSession).where(
                EndedSession.user_id == user_id, EndedSession.ended_at < now - lifetime
            )
        )
        session.add(
            UserSession(
                id=_digest(token),
                user_id=user_id,
                created_at=now,
                user_agent=user_agent,
                address=address[:ADDRESS_MAX] if address else None,
                last_active_at=now,
            )
        )
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
    hide_completed: bool

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
        _users.c.hide_completed,
        _sessions.c.created_at.label("started"),
        _sessions.c.last_active_at,
    )
    .select_from(_users.join(_sessions, _sessions.c.user_id == _users.c.id))
    .where(_sessions.c.id == bindparam("digest"), _users.c.id == bindparam("user_id"))
)


@dataclass(frozen=True)
class Found:
    """A live session: its user, when it started, when it was last stamped active."""

    user: SessionUser
    started: datetime
    last_active: datetime | None


def find(user_id: int, token: str) -> Found | None:
    """The user of a live session token, with when the session started and
    was last active; None when the session was ended (or never was). One
    Core statement, built once, on the request's read connection (no ORM
    step: it runs on every request)."""
    row = _FIND.first({"digest": _digest(token), "user_id": user_id})
    if row is None:
        return None
    *columns, started, last_active = row
    return Found(SessionUser(*columns), started, last_active)


_ended = EndedSession.__table__
_WHY = Query(select(_ended.c.reason).where(_ended.c.id == bindparam("digest")))


def why_ended(token: str) -> str | None:
    """Why the session of ``token`` ended (one of the ``ENDED_*``); None when
    nothing is known (its own logout, its lifetime long past, or no such
    session)."""
    row = _WHY.first({"digest": _digest(token)})
    return row.reason if row else None


def touch(token: str, *, every: timedelta) -> None:
    """Stamp the session of ``token`` as active now, unless it was stamped
    less than ``every`` ago (by a request running beside this one, say): a
    write at most once per ``every`` per session, never on every page."""
    now = utcnow()
    with write_transaction() as session:
        session.execute(
            update(UserSession)
            .where(
                UserSession.id == _digest(token),
                or_(
                    UserSession.last_active_at.is_(None),
                    UserSession.last_active_at <= now - every,
                ),
            )
            .values(last_active_at=now)
        )


def handle(digest: str) -> str:
    """How the account page names a session: not the row's key itself, but
    a short hash of it, which opens nothing and names nothing elsewhere."""
    return hashlib.sha256(f"session:{digest}".encode()).hexdigest()[:20]


_last_used = func.coalesce(_sessions.c.last_active_at, _sessions.c.created_at)
_LISTED = Query(
    select(
        _sessions.c.id,
        _sessions.c.user_agent,
        _sessions.c.address,
        _sessions.c.created_at,
        _last_used.label("last_active"),
    )
    .where(
        _sessions.c.user_id == bindparam("user_id"),
        _sessions.c.created_at > bindparam("born_after"),
        _last_used > bindparam("used_after"),
    )
    .order_by(_last_used.desc(), _sessions.c.id)
    .limit(LISTED_MAX)
)


@dataclass(frozen=True)
class Listed:
    """A row of the account page's sessions."""

    handle: str
    user_agent: str | None
    address: str | None
    started: datetime
    last_active: datetime
    current: bool


def list_sessions(
    user_id: int, *, current_token: str | None, lifetime: timedelta, idle: timedelta
) -> list[Listed]:
    """The user's sessions that may still be in use, the latest used first:
    inside their lifetime, and used within ``idle`` (the idle timeout plus
    the stamp's interval, so none still alive is left out)."""
    now = utcnow()
    rows = _LISTED.all({"user_id": user_id, "born_after": now - lifetime, "used_after": now - idle})
    current = _digest(current_token) if current_token else None
    return [
        Listed(
            handle(row.id),
            row.user_agent,
            row.address,
            row.created_at,
            row.last_active,
            row.id == current,
        )
        for row in rows
    ]


def end_listed(user_id: int, listed_handle: str, *, current_token: str | None) -> bool:
    """End the user's session named ``listed_handle`` on the account page
    (its browser is told it was ended from another device). Returns whether
    it was the one of ``current_token`` (this request's), which the caller
    then logs out.
    :raise NotFoundError: the user has no such session."""
    with write_transaction() as session:
        digests = session.scalars(
            select(UserSession.id).where(UserSession.user_id == user_id)
        ).all()
        digest = next((d for d in digests if handle(d) == listed_handle), None)
        if digest is None:
            raise NotFoundError("There is no such session.")
        _end(session, user_id, [digest], ENDED_ELSEWHERE)
        activity.record("session_ended", actor_id=user_id, user_id=user_id)
    return current_token is not None and digest == _digest(current_token)


def _end(session, user_id: int, digests: list[str], reason: str) -> None:
    """Delete these sessions of the user, and keep why they ended."""
    if not digests:
        return
    session.execute(delete(UserSession).where(UserSession.id.in_(digests)))
    session.execute(delete(EndedSession).where(EndedSession.id.in_(digests)))
    now = utcnow()
    session.execute(
        insert(EndedSession),
        [{"id": d, "user_id": user_id, "ended_at": now, "reason": reason} for d in digests],
    )


def renew(user_id: int, token: str) -> str | None:
    """The session of ``token`` under a new token, which is returned; the old
    one ends. It keeps its start, so its lifetime does not grow. None: the
    session had ended."""
    with write_transaction() as session:
        old = session.execute(
            delete(UserSession)
            .where(UserSession.id == _digest(token), UserSession.user_id == user_id)
            .returning(
                UserSession.created_at,
                UserSession.user_agent,
                UserSession.address,
                UserSession.last_active_at,
            )
        ).first()
        if old is None:
            return None
        renewed = secrets.token_urlsafe(32)
        session.add(
            UserSession(
                id=_digest(renewed),
                user_id=user_id,
                created_at=old.created_at,
                user_agent=old.user_agent,
                address=old.address,
                last_active_at=old.last_active_at,
            )
        )
    return renewed


def end(token: str, user_id: int) -> None:
    """Log out: the session of ``token`` ends."""
    with write_transaction() as session:
        session.execute(delete(UserSession).where(UserSession.id == _digest(token)))
        activity.record("logout", actor_id=user_id, user_id=user_id)


def end_all(user_id: int, *, reason: str, keep: str | None = None) -> int:
    """End every session of the user, except the one with token ``keep``,
    keeping ``reason`` for their browsers; returns how many were ended."""
    stmt = select(UserSession.id).where(UserSession.user_id == user_id)
    if keep is not None:
        stmt = stmt.where(UserSession.id != _digest(keep))
    with write_transaction() as session:
        digests = list(session.scalars(stmt.with_for_update()))
        _end(session, user_id, digests, reason)
        return len(digests)
