"""Todos and their trash: the soft-delete life cycle.

live --trash_todo--> trashed --restore_todo--> live
                     trashed --purge_todo / empty_trash / purge_expired--> gone
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import aliased

from ..database import Purge, delete_in_batches, write_transaction
from ..extensions import db
from ..models import Todo, User, clean_title, utcnow
from . import activity
from .errors import NotFoundError
from .pages import Page, cursor_of, keyset_page  # noqa: F401 (Page, cursor_of: for callers)

PURGE_BATCH_SIZE = 1000
# SQLite lets one writer in at a time, and a writer that finds the database
# locked polls for it, sleeping 1 ms, then 2, 5, 10, 25 ms and longer. A purge
# that started its next batch at once would win nearly every time and keep the
# writer waiting for the whole purge; this pause after each batch lets it in.
SQLITE_PURGE_PAUSE = 0.025  # seconds


# The keys lists are ordered by, newest first. A cursor is a row's key written
# as digits joined by "-": "4711" in the list; "<deleted_at in µs>-<id>" in a trash.
LIST_KEY = (Todo.id,)
TRASH_KEY = (Todo.deleted_at, Todo.id)


def get_todo(
    todo_id: int, *, owner_id: int | None = None, trashed: bool = False, for_update: bool = False
) -> Todo:
    """A live todo (or a trashed one, with ``trashed=True``), owned by
    ``owner_id`` unless that is None (admins). ``for_update`` locks the row
    until the transaction ends (PostgreSQL; SQLite's write transaction already
    holds the database's write lock), so read-then-write changes never race.

    :raise NotFoundError: there is no such todo for this owner, so another user's todo
        looks exactly like one that does not exist.
    """
    stmt = select(Todo).where(Todo.id == todo_id)
    if owner_id is not None:
        stmt = stmt.where(Todo.user_id == owner_id)
    if trashed:
        stmt = stmt.execution_options(trashed_only=True)
    if for_update:
        stmt = stmt.with_for_update()
    todo = db.session.scalar(stmt)
    if todo is None:
        raise NotFoundError("There is no such todo.")
    return todo


def list_todos(
    owner_id: int, per_page: int, *, before: str | None = None, after: str | None = None
) -> Page:
    """A page of one owner's live todos, newest first: rows of id, title,
    done and created_at (plain rows: a list page needs no ORM objects)."""
    stmt = select(Todo.id, Todo.title, Todo.done, Todo.created_at).where(Todo.user_id == owner_id)
    return keyset_page(stmt, LIST_KEY, per_page, before, after)


def list_trash(
    owner_id: int, per_page: int, *, before: str | None = None, after: str | None = None
) -> Page:
    """A page of one owner's trash, latest deletion first: rows of id, title, deleted_at."""
    stmt = (
        select(Todo.id, Todo.title, Todo.deleted_at)
        .where(Todo.user_id == owner_id)
        .execution_options(trashed_only=True)
    )
    return keyset_page(stmt, TRASH_KEY, per_page, before, after)


def list_all_trash(
    per_page: int,
    *,
    owner_id: int | None = None,
    before: str | None = None,
    after: str | None = None,
) -> Page:
    """A page of everyone's trash for admins, latest deletion first: rows of
    id, title, deleted_at, owner and deleter (usernames; deleter may be None)."""
    owner, deleter = aliased(User), aliased(User)
    stmt = (
        select(
            Todo.id,
            Todo.title,
            Todo.deleted_at,
            owner.username.label("owner"),
            deleter.username.label("deleter"),
        )
        .join(owner, Todo.user_id == owner.id)
        .outerjoin(deleter, Todo.deleted_by == deleter.id)
        .execution_options(trashed_only=True)
    )
    if owner_id is not None:
        stmt = stmt.where(Todo.user_id == owner_id)
    return keyset_page(stmt, TRASH_KEY, per_page, before, after)


def create_todo(owner_id: int, title: str) -> Todo:
    """:raise ValueError: the title breaks a rule."""
    title = clean_title(title)
    with write_transaction() as session:
        todo = Todo(user_id=owner_id, title=title)
        session.add(todo)
    return todo


def edit_todo(todo_id: int, owner_id: int, title: str) -> Todo:
    """:raise ValueError: the title breaks a rule. :raise NotFoundError: see ``get_todo``."""
    title = clean_title(title)
    with write_transaction():
        todo = get_todo(todo_id, owner_id=owner_id, for_update=True)
        todo.title = title
    return todo


def toggle_todo(todo_id: int, owner_id: int) -> Todo:
    with write_transaction():
        todo = get_todo(todo_id, owner_id=owner_id, for_update=True)
        todo.done = not todo.done
    return todo


def _ref(todo_id: int) -> str:
    """How the activity log names a todo: by its id, never its title, so a
    todo deleted forever leaves no trace of what it said."""
    return f"#{todo_id}"


def trash_todo(todo_id: int, owner_id: int, *, actor_id: int) -> Todo:
    """Move a live todo to the trash, recording when and by whom."""
    with write_transaction():
        todo = get_todo(todo_id, owner_id=owner_id, for_update=True)
        todo.deleted_at = utcnow()
        todo.deleted_by = actor_id
        activity.record("trash", actor_id=actor_id, user_id=todo.user_id, detail=_ref(todo.id))
    return todo


def restore_todo(todo_id: int, *, owner_id: int | None = None, actor_id: int | None = None) -> Todo:
    """Bring a trashed todo back to the list. ``actor_id``: who did it, for
    the activity log (None: the command line)."""
    with write_transaction():
        todo = get_todo(todo_id, owner_id=owner_id, trashed=True, for_update=True)
        todo.deleted_at = None
        todo.deleted_by = None
        activity.record("restore", actor_id=actor_id, user_id=todo.user_id, detail=_ref(todo.id))
    return todo


def purge_todo(todo_id: int, *, owner_id: int | None = None, actor_id: int | None = None) -> str:
    """Delete a trashed todo for good; returns its title."""
    with write_transaction() as session:
        todo = get_todo(todo_id, owner_id=owner_id, trashed=True, for_update=True)
        title = todo.title
        activity.record("purge", actor_id=actor_id, user_id=todo.user_id, detail=_ref(todo.id))
        session.delete(todo)
    return title


BULK_LIMIT = 500


def bulk_restore(
    todo_ids: list[int], *, owner_id: int | None = None, actor_id: int | None = None
) -> int:
    """Restore the listed todos that are in the trash (of ``owner_id``, or of
    anyone for admins). Ids that are not there are skipped. Returns how many."""
    stmt = (
        update(Todo)
        .where(Todo.id.in_(_bounded(todo_ids)))
        .values(deleted_at=None, deleted_by=None)
        .execution_options(trashed_only=True, synchronize_session=False)
    )
    return _bulk(stmt, owner_id, "restore", actor_id)


def bulk_purge(
    todo_ids: list[int], *, owner_id: int | None = None, actor_id: int | None = None
) -> int:
    """Delete for good the listed todos that are in the trash (of ``owner_id``,
    or of anyone for admins). Ids that are not there are skipped. Returns how many."""
    stmt = (
        delete(Todo)
        .where(Todo.id.in_(_bounded(todo_ids)))
        .execution_options(trashed_only=True, synchronize_session=False)
    )
    return _bulk(stmt, owner_id, "purge", actor_id)


def _bounded(todo_ids: list[int]) -> list[int]:
    if len(todo_ids) > BULK_LIMIT:
        raise ValueError(f"Select at most {BULK_LIMIT} todos at a time.")
    return todo_ids


def _bulk(stmt, owner_id: int | None, action: str, actor_id: int | None) -> int:
    if owner_id is not None:
        stmt = stmt.where(Todo.user_id == owner_id)
    with write_transaction() as session:
        done = session.execute(stmt).rowcount
        if done:
            activity.record(action, actor_id=actor_id, user_id=owner_id, count=done)
    return done


def empty_trash(
    owner_id: int, *, max_batches: int | None = None, actor_id: int | None = None
) -> Purge:
    """Delete every trashed todo of one owner for good (at most
    ``max_batches`` batches of them)."""
    log = {"action": "empty_trash", "actor_id": actor_id, "user_id": owner_id}
    return _purge_trashed([Todo.user_id == owner_id], max_batches=max_batches, log=log)


def expiry_cutoff(older_than_days: int) -> datetime:
    return utcnow() - timedelta(days=older_than_days)


def count_expired(older_than_days: int) -> int:
    stmt = (
        select(func.count())
        .select_from(Todo)
        .where(Todo.deleted_at < expiry_cutoff(older_than_days))
        .execution_options(trashed_only=True)
    )
    return db.session.scalar(stmt)


def purge_expired(
    older_than_days: int,
    *,
    progress: Callable[[int], None] | None = None,
    max_batches: int | None = None,
    actor_id: int | None = None,
) -> Purge:
    """Delete for good every todo trashed more than ``older_than_days`` ago
    (at most ``max_batches`` batches of them)."""
    cutoff = expiry_cutoff(older_than_days)
    log = {"action": "purge_expired", "actor_id": actor_id, "user_id": None}
    return _purge_trashed(
        [Todo.deleted_at < cutoff], progress=progress, max_batches=max_batches, log=log
    )


def _purge_trashed(
    where: list,
    *,
    progress: Callable[[int], None] | None = None,
    max_batches: int | None = None,
    log: dict,
) -> Purge:
    """Delete matching trashed rows in batches of ``PURGE_BATCH_SIZE`` (each
    batch logged in its own transaction). A web request passes
    ``max_batches`` so it ends well inside the worker's timeout, however
    large the backlog."""
    return delete_in_batches(
        Todo,
        where,
        order_by=Todo.deleted_at,
        batch_size=PURGE_BATCH_SIZE,
        options={"trashed_only": True},
        on_batch=lambda deleted: activity.record(count=deleted, **log),
        progress=progress,
        max_batches=max_batches,
        pause=SQLITE_PURGE_PAUSE if db.session.get_bind().dialect.name == "sqlite" else 0,
    )
