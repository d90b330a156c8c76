"""The activity log: who did what, and when.

``record`` is called by the services inside the write transaction of the
change it describes, so an entry exists exactly when its change does. It is
read three ways: the admin's log (filtered, a page at a time), a user's own
recent entries on the account page, and the trash figures per day.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Date, bindparam, cast, func, select

from ..database import delete_in_batches, write_transaction
from ..extensions import db
from ..models import Activity, User, utcnow
from .pages import Keyset, Page

# What each action is called on the pages, in the order the filter lists them.
ACTIONS = {
    "register": "registered",
    "account_created": "created an account on the command line",
    "login": "logged in",
    "login_failed": "failed to log in",
    "logout": "logged out",
    "logout_everywhere": "logged out everywhere",
    "session_ended": "ended a session on another device",
    "password_changed": "changed the password",
    "trash": "moved a todo to the trash",
    "restore": "restored todos",
    "purge": "deleted todos forever",
    "empty_trash": "emptied the trash",
    "purge_expired": "purged expired todos",
    "create_list": "created a list",
    "rename_list": "renamed a list",
    "trash_list": "moved a list to the trash",
    "restore_list": "restored a list",
    "purge_list": "deleted lists forever",
    "user_disabled": "disabled an account",
    "user_enabled": "enabled an account",
    "temporary_password": "set a temporary password",
    "admin_granted": "made an administrator",
    "admin_revoked": "took administrator rights away",
}
# The trash figures: todos moved to the trash, brought back, deleted for good.
TRASH_FIGURES = {
    "deleted": ("trash", "trash_list"),
    "restored": ("restore", "restore_list"),
    "purged": ("purge", "empty_trash", "purge_expired", "purge_list"),
}
PURGE_BATCH_SIZE = 1000


def record(
    action: str,
    *,
    actor_id: int | None,
    user_id: int | None,
    count: int = 1,
    detail: str = "",
    address: str | None = None,
) -> None:
    """Add an entry, in the caller's write transaction (or a new one).
    ``user_id``: whose account or todos (None: several users' at once)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown activity {action!r}")
    with write_transaction() as session:
        session.add(
            Activity(
                action=action,
                actor_id=actor_id,
                user_id=user_id,
                count=count,
                detail=detail[:200],
                address=address[:90] if address else None,
            )
        )


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    action: str
    actor: str | None
    user: str | None
    count: int
    detail: str
    address: str | None

    @property
    def who(self) -> str:
        """Who did it: a username; "someone" for a failed login; else the
        command line (the only other way to act without an account)."""
        if self.actor:
            return self.actor
        return "someone" if self.action == "login_failed" else "the command line"

    @property
    def says(self) -> str:
        """What was done, as a phrase that follows who did it."""
        return describe(self.action, self.detail, self.count)


def _todos(n: int) -> str:
    return "no todos" if n == 0 else f"{n} todo" if n == 1 else f"{n} todos"


def describe(action: str, detail: str, count: int) -> str:
    """One entry in words: "moved todo #25 in list #3 to the trash",
    "restored list #2, with 6 todos", "logged out everywhere, ending 2
    sessions". ``detail`` names what it was done to (a todo "#25 in list #3",
    a list "list #2", or "3 lists"); ``count`` is how many todos (sessions,
    for a log-out everywhere) it touched."""
    todos = _todos(count)
    match action:
        case "trash" | "restore" | "purge" if detail:
            return {
                "trash": f"moved todo {detail} to the trash",
                "restore": f"restored todo {detail}",
                "purge": f"deleted todo {detail} forever",
            }[action]
        case "restore":
            return f"restored {todos}"
        case "purge":
            return f"deleted {todos} forever"
        case "empty_trash":
            gone = f"{detail}, with {todos}" if detail else todos
            return f"emptied the trash: {gone} deleted forever"
        case "purge_expired":
            gone = f"{detail}, with {todos}" if detail else todos
            return f"purged expired trash: {gone} deleted forever"
        case "create_list":
            return f"created {detail or 'a list'}"
        case "rename_list":
            return f"renamed {detail or 'a list'}"
        case "trash_list":
            return f"moved {detail or 'a list'} to the trash, with {todos}"
        case "restore_list":
            return f"restored {detail or 'a list'}, with {todos}"
        case "purge_list":
            return f"deleted {detail or 'a list'} forever, with {todos}"
        case "account_created":
            return "created the account"
        case "logout_everywhere":
            sessions = f"{count} session" if count == 1 else f"{count} sessions"
            return f"logged out everywhere, ending {sessions}"
    says = ACTIONS.get(action, action)
    return f"{says} {detail}" if detail else says


_activity, _users = Activity.__table__, User.__table__
ACTIVITY_KEY = (_activity.c.id,)


def _entries():
    actor, user = _users.alias("actor"), _users.alias("subject")
    return select(
        _activity.c.id,
        _activity.c.at,
        _activity.c.action,
        actor.c.username.label("actor"),
        user.c.username.label("user"),
        _activity.c.count,
        _activity.c.detail,
        _activity.c.address,
    ).select_from(
        _activity.outerjoin(actor, _activity.c.actor_id == actor.c.id).outerjoin(
            user, _activity.c.user_id == user.c.id
        )
    )


# The log's page statements, built once for each pair of filters (a user, an action).
_LOG = {
    (by_user, by_action): Keyset(
        _entries()
        .where(*([_activity.c.user_id == bindparam("user_id")] if by_user else []))
        .where(*([_activity.c.action == bindparam("action")] if by_action else [])),
        ACTIVITY_KEY,
    )
    for by_user in (False, True)
    for by_action in (False, True)
}


def list_activity(
    per_page: int,
    *,
    user_id: int | None = None,
    action: str | None = None,
    before: str | None = None,
    after: str | None = None,
) -> Page:
    """A page of the log, newest first, of one user's account and of one
    action when those are given."""
    log = _LOG[(user_id is not None, action is not None)]
    page = log.page({"user_id": user_id, "action": action}, per_page, before, after)
    return Page(
        [Entry(**row) for row in page.items], older=page.older, newer=page.newer, first=page.first
    )


def recent(user_id: int, limit: int = 10) -> list[Entry]:
    stmt = (
        _entries()
        .where(_activity.c.user_id == user_id)
        .order_by(_activity.c.id.desc())
        .limit(limit)
    )
    return [Entry(*row) for row in db.session.execute(stmt)]


def previous_login(user_id: int) -> datetime | None:
    """When the user logged in before the latest time: what the account page
    shows as "last login", since the latest is this very session."""
    stmt = (
        select(Activity.at)
        .where(Activity.user_id == user_id, Activity.action == "login")
        .order_by(Activity.id.desc())
        .offset(1)
        .limit(1)
    )
    return db.session.scalar(stmt)


def trash_per_day(days: int = 30, *, today: date | None = None) -> list[dict]:
    """For each of the last ``days`` days, newest first: how many todos were
    deleted (moved to the trash), restored and purged. Days are UTC."""
    today = today or utcnow().date()
    since = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), utcnow().tzinfo)
    dialect = db.session.get_bind().dialect.name
    day = func.date(Activity.at) if dialect == "sqlite" else cast(Activity.at, Date)
    actions = [a for group in TRASH_FIGURES.values() for a in group]
    rows = db.session.execute(
        select(day.label("day"), Activity.action, func.sum(Activity.count))
        .where(Activity.at >= since, Activity.action.in_(actions))
        .group_by(day, Activity.action)
    ).all()
    totals: dict[tuple[str, str], int] = {}
    for found_day, action, total in rows:
        key = str(found_day)[:10]
        figure = next(name for name, group in TRASH_FIGURES.items() if action in group)
        totals[key, figure] = totals.get((key, figure), 0) + int(total)
    result = []
    for back in range(days):
        current = today - timedelta(days=back)
        key = current.isoformat()
        result.append({"day": current} | {f: totals.get((key, f), 0) for f in TRASH_FIGURES})
    return result


def purge_older_than(days: int, *, progress: Callable[[int], None] | None = None) -> int:
    """Delete entries older than ``days`` days, in batches of PURGE_BATCH_SIZE
    (each its own transaction, as the trash purge does); returns how many."""
    cutoff = utcnow() - timedelta(days=days)
    return delete_in_batches(
        Activity,
        [Activity.at < cutoff],
        order_by=Activity.id,
        batch_size=PURGE_BATCH_SIZE,
        progress=progress,
    ).deleted


def count_older_than(days: int) -> int:
    cutoff = utcnow() - timedelta(days=days)
    return db.session.scalar(select(func.count()).select_from(Activity).where(Activity.at < cutoff))
