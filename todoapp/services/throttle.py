"""Login and registration throttling, shared by every worker and app server
through the database (table login_throttle).

Each key counts attempts in a fixed window that starts with its first one:

- A login from a browser that holds no device cookie for the account (an
  unknown device, auth/devices.py) counts per (username, address) pair,
  "pair:NAME@ADDRESS", with LOGIN_FAILURES_PER_USER free attempts; per
  address, "ip:ADDRESS", with LOGIN_FAILURES_PER_IP; and per account,
  "account:NAME", with LOGIN_FAILURES_PER_ACCOUNT, whatever the address.
- A login from a browser with a valid device cookie for the account counts
  per device, "device:ID", with LOGIN_FAILURES_PER_DEVICE, and nothing else:
  what attackers do elsewhere, on the account or from the same address,
  never makes it wait (OWASP's device cookies).

Past its free attempts a key's next attempt must wait LOGIN_DELAY_SECONDS
after its last one, and the wait doubles with every attempt after that, up
to the window; an attempt waits for the longest of its keys. So guesses
spread over any number of addresses get a few password checks per window on
one account, while its owner logs in from a browser they have used before.
A right password forgets the pair and the device, and gives the address and
the account back the attempt it took. Keys are by cleaned name, whether an
account of that name exists or not, so the throttle tells nothing about
which do.

Registrations count per address, "register:ADDRESS": REGISTRATIONS_PER_IP
per REGISTRATION_WINDOW_SECONDS, a hard limit until the window ends. Every
attempt that passes the form's checks counts, a taken name too: it is
counted before the page says the name is taken.

An attempt is counted before the work it guards (the password check, the new
account) in one write transaction that holds the keys' rows, so requests in
parallel cannot all get in under the limit.
"""

import math
from datetime import datetime, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..database import write_transaction
from ..extensions import db
from ..models import LoginThrottle, utcnow
from .users import clean_username

# The key column holds 100 characters; a pair key is "pair:", a username of
# at most 32 characters, "@" and the address.
ADDRESS_MAX = 60
PAIR, IP, ACCOUNT, DEVICE, REGISTER = "pair:", "ip:", "account:", "device:", "register:"


class Limit(NamedTuple):
    """How one key is throttled."""

    free: int  # attempts per window that need no wait
    window: float  # seconds from a key's first attempt until its count is forgotten
    # Past the free attempts: the first wait in seconds, doubling each time.
    # None: a hard limit, the next attempt waits for the window to end.
    delay: float | None = None
    # A right password forgets the key; otherwise it gives back one attempt.
    forget_on_success: bool = False


def keys_for(username: str, address: str | None, *, device: str | None = None) -> dict[str, Limit]:
    """The throttle keys of one login attempt, with their limits. ``device``:
    the id of the browser's valid device cookie for this username, if any."""
    config = current_app.config
    window, delay = config["LOGIN_FAILURE_WINDOW_SECONDS"], config["LOGIN_DELAY_SECONDS"]
    address = (address or "")[:ADDRESS_MAX]
    try:
        name = clean_username(username)
    except ValueError:
        name = None  # no account can have this name; the address still counts
    if name is not None and device is not None:
        free = config["LOGIN_FAILURES_PER_DEVICE"]
        return {f"{DEVICE}{device}": Limit(free, window, delay, forget_on_success=True)}
    keys = {}
    if name is not None:
        free = config["LOGIN_FAILURES_PER_USER"]
        keys[f"{PAIR}{name}@{address}"] = Limit(free, window, delay, forget_on_success=True)
        keys[f"{ACCOUNT}{name}"] = Limit(config["LOGIN_FAILURES_PER_ACCOUNT"], window, delay)
    if address:
        keys[f"{IP}{address}"] = Limit(config["LOGIN_FAILURES_PER_IP"], window, delay)
    return keys


def registration_keys(address: str | None) -> dict[str, Limit]:
    """The throttle key of one registration, with its limit."""
    if not address:
        return {}
    config = current_app.config
    limit = Limit(config["REGISTRATIONS_PER_IP"], config["REGISTRATION_WINDOW_SECONDS"])
    return {f"{REGISTER}{address[:ADDRESS_MAX]}": limit}


class Wait(NamedTuple):
    """A refused attempt: how long until the next may go ahead, and the keys
    that made it wait."""

    seconds: int
    keys: frozenset[str]

    @property
    def on_account(self) -> bool:
        """The account's limit for unknown devices is among the reasons."""
        return any(key.startswith(ACCOUNT) for key in self.keys)


def attempt(keys: dict[str, Limit]) -> Wait | None:
    """Count one attempt against every key, or refuse it.

    Returns None when the attempt may go ahead, and it has been counted;
    otherwise how long to wait, and nothing has been counted. Call it
    before the work it guards: the rows stay locked until the count is saved.
    """
    if not keys:
        return None
    now = utcnow()
    names = sorted(keys)  # every transaction takes the rows in the same order
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    with write_transaction() as session:
        _forget_ended_windows(session, now)
        session.execute(
            insert(LoginThrottle)
            .values([{"key": k, "failures": 0, "window_start": now} for k in names])
            .on_conflict_do_nothing(index_elements=[LoginThrottle.key])
        )
        rows = session.execute(
            select(
                LoginThrottle.key,
                LoginThrottle.failures,
                LoginThrottle.window_start,
                LoginThrottle.last_at,
            )
            .where(LoginThrottle.key.in_(names))
            .order_by(LoginThrottle.key)
            .with_for_update()
        ).all()
        waits = {row.key: _wait(keys[row.key], row, now) for row in rows}
        if (longest := max(waits.values(), default=0)) > 0:
            waiting = frozenset(key for key, wait in waits.items() if wait > 0)
            return Wait(max(1, math.ceil(longest)), waiting)
        session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key.in_(names))
            .values(failures=LoginThrottle.failures + 1, last_at=now)
        )
    return None


def succeeded(keys: dict[str, Limit]) -> None:
    """The attempt counted by attempt() was a right password: forget the keys
    that say so (the pair, the device) and give the others (the address, the
    account) their attempt back."""
    with write_transaction() as session:
        for key in sorted(keys):
            row = LoginThrottle.key == key
            if keys[key].forget_on_success:
                session.execute(delete(LoginThrottle).where(row))
            else:
                session.execute(
                    update(LoginThrottle)
                    .where(row, LoginThrottle.failures > 0)
                    .values(failures=LoginThrottle.failures - 1)
                )


def _wait(limit: Limit, row, now: datetime) -> float:
    """Seconds this key must still wait before its next attempt (0 or less: none)."""
    if row.failures < limit.free:
        return 0
    window_ends = row.window_start + timedelta(seconds=limit.window)
    if limit.delay is None:
        return (window_ends - now).total_seconds()
    past = row.failures - limit.free  # attempts already made past the free ones
    delay = min(limit.delay * 2 ** min(past, 40), limit.window)
    # Rows counted before last_at existed start their delay at the window's start.
    ready = (row.last_at or row.window_start) + timedelta(seconds=delay)
    return (min(ready, window_ends) - now).total_seconds()


def _forget_ended_windows(session: Session, now: datetime) -> None:
    """Delete the rows whose window has ended, so the table stays small."""
    config = current_app.config
    register = LoginThrottle.key.startswith(REGISTER, autoescape=True)
    for kind, seconds in (
        (register, config["REGISTRATION_WINDOW_SECONDS"]),
        (~register, config["LOGIN_FAILURE_WINDOW_SECONDS"]),  # and rows of older key kinds
    ):
        cutoff = now - timedelta(seconds=seconds)
        session.execute(delete(LoginThrottle).where(kind, LoginThrottle.window_start <= cutoff))
