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
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from ..database import write_transaction
from ..extensions import db
from ..models import User, UserSession, utcnow
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
        activity.record("login", actor_id=user_id, user_id=user_id, address=address)
    return token


def find(user_id: int, token: str) -> tuple[User, datetime] | None:
    """The user of a live session token, with when it started; None when the
    session was ended (or never was)."""
    row = db.session.execute(
        select(User, UserSession.created_at)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.id == _digest(token), User.id == user_id)
    ).first()
    return (row[0], row[1]) if row else None


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


def count(user_id: int) -> int:
    stmt = select(func.count()).select_from(UserSession).where(UserSession.user_id == user_id)
    return db.session.scalar(stmt)
