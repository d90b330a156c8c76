"""Login throttling, shared by every worker and app server through the database.

Each key ("user:NAME", "ip:ADDRESS") counts failed logins in a fixed window.
Once a key reaches its limit, logins for it are refused with 429 until the
window ends, even with the right password.
"""

import math
from datetime import timedelta

from flask import current_app
from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from ..database import write_transaction
from ..extensions import db
from ..models import LoginThrottle, clean_username, utcnow


def keys_for(username: str, address: str | None) -> dict[str, int]:
    """The throttle keys of one login attempt, with their limits."""
    config = current_app.config
    keys = {}
    try:
        keys[f"user:{clean_username(username)}"] = config["LOGIN_FAILURES_PER_USER"]
    except ValueError:
        pass  # no account can have this name; the address still counts
    if address:
        keys[f"ip:{address[:90]}"] = config["LOGIN_FAILURES_PER_IP"]
    return keys


def _window() -> timedelta:
    return timedelta(seconds=current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"])


def retry_after(keys: dict[str, int]) -> int | None:
    """Seconds until these keys may try again, or None when they may now."""
    now = utcnow()
    rows = db.session.execute(
        select(LoginThrottle.key, LoginThrottle.failures, LoginThrottle.window_start).where(
            LoginThrottle.key.in_(keys), LoginThrottle.window_start > now - _window()
        )
    ).all()
    waits = [
        (start + _window() - now).total_seconds()
        for key, failures, start in rows
        if failures >= keys[key]
    ]
    return max(1, math.ceil(max(waits))) if waits else None


def record_failure(keys: dict[str, int]) -> None:
    """Count one failed login against every key, atomically on any database."""
    now = utcnow()
    window_open = LoginThrottle.window_start > now - _window()
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    with write_transaction() as session:
        for key in keys:
            stmt = insert(LoginThrottle).values(key=key, failures=1, window_start=now)
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=[LoginThrottle.key],
                    set_={
                        "failures": case((window_open, LoginThrottle.failures + 1), else_=1),
                        "window_start": case((window_open, LoginThrottle.window_start), else_=now),
                    },
                )
            )
        # Forget windows that have ended, so the table stays small.
        session.execute(delete(LoginThrottle).where(LoginThrottle.window_start <= now - _window()))


def clear(key: str) -> None:
    with write_transaction() as session:
        session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
