"""Todos and their trash: the soft-delete life cycle.

live --trash_todo--> trashed --restore_todo--> live
                     trashed --purge_todo / empty_trash / purge_expired--> gone
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import NotFound

from ..database import write_transaction
from ..extensions import db
from ..models import Todo, clean_title, utcnow

PURGE_BATCH_SIZE = 1000


@dataclass(frozen=True)
class Page:
    """One page of a list, without counting the whole list."""

    items: list[Any]
    number: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.number > 1


def _paginate(stmt: Select, page: int, per_page: int) -> Page:
    rows = db.session.scalars(stmt.limit(per_page + 1).offset((page - 1) * per_page)).all()
    return Page(items=list(rows[:per_page]), number=page, has_next=len(rows) > per_page)


def get_todo(
    todo_id: int, *, owner_id: int | None = None, trashed: bool = False, for_update: bool = False
) -> Todo:
    """A live todo (or a trashed one, with ``trashed=True``), owned by
    ``owner_id`` unless that is None (admins). ``for_update`` locks the row
    until the transaction ends (PostgreSQL; SQLite's write transaction already
    holds the database's write lock), so read-then-write changes never race.

    :raise 404: there is no such todo for this owner, so another user's todo
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
        raise NotFound("There is no such todo.")
    return todo


def list_todos(owner_id: int, page: int, per_page: int) -> Page:
    stmt = select(Todo).where(Todo.user_id == owner_id).order_by(Todo.id.desc())
    return _paginate(stmt, page, per_page)


def list_trash(owner_id: int, page: int, per_page: int) -> Page:
    stmt = (
        select(Todo)
        .where(Todo.user_id == owner_id)
        .order_by(Todo.deleted_at.desc(), Todo.id.desc())
        .execution_options(trashed_only=True)
    )
    return _paginate(stmt, page, per_page)


def list_all_trash(page: int, per_page: int, *, owner_id: int | None = None) -> Page:
    """Everyone's trash for admins, newest deletion first, with owner and deleter loaded."""
    stmt = (
        select(Todo)
        .options(joinedload(Todo.owner), joinedload(Todo.deleter))
        .order_by(Todo.deleted_at.desc(), Todo.id.desc())
        .execution_options(trashed_only=True)
    )
    if owner_id is not None:
        stmt = stmt.where(Todo.user_id == owner_id)
    return _paginate(stmt, page, per_page)


def create_todo(owner_id: int, title: str) -> Todo:
    """:raise ValueError: the title breaks a rule."""
    title = clean_title(title)
    with write_transaction() as session:
        todo = Todo(user_id=owner_id, title=title)
        session.add(todo)
    return todo


def edit_todo(todo_id: int, owner_id: int, title: str) -> Todo:
    """:raise ValueError: the title breaks a rule. :raise 404: see ``get_todo``."""
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


def trash_todo(todo_id: int, owner_id: int, *, actor_id: int) -> Todo:
    """Move a live todo to the trash, recording when and by whom."""
    with write_transaction():
        todo = get_todo(todo_id, owner_id=owner_id, for_update=True)
        todo.deleted_at = utcnow()
        todo.deleted_by = actor_id
    return todo


def restore_todo(todo_id: int, *, owner_id: int | None = None) -> Todo:
    """Bring a trashed todo back to the list."""
    with write_transaction():
        todo = get_todo(todo_id, owner_id=owner_id, trashed=True, for_update=True)
        todo.deleted_at = None
        todo.deleted_by = None
    return todo


def purge_todo(todo_id: int, *, owner_id: int | None = None) -> str:
    """Delete a trashed todo for good; returns its title."""
    with write_transaction() as session:
        todo = get_todo(todo_id, owner_id=owner_id, trashed=True, for_update=True)
        title = todo.title
        session.delete(todo)
    return title


BULK_LIMIT = 500


def bulk_restore(todo_ids: list[int], *, owner_id: int | None = None) -> int:
    """Restore the listed todos that are in the trash (of ``owner_id``, or of
    anyone for admins). Ids that are not there are skipped. Returns how many."""
    stmt = (
        update(Todo)
        .where(Todo.id.in_(_bounded(todo_ids)))
        .values(deleted_at=None, deleted_by=None)
        .execution_options(trashed_only=True, synchronize_session=False)
    )
    return _bulk(stmt, owner_id)


def bulk_purge(todo_ids: list[int], *, owner_id: int | None = None) -> int:
    """Delete for good the listed todos that are in the trash (of ``owner_id``,
    or of anyone for admins). Ids that are not there are skipped. Returns how many."""
    stmt = (
        delete(Todo)
        .where(Todo.id.in_(_bounded(todo_ids)))
        .execution_options(trashed_only=True, synchronize_session=False)
    )
    return _bulk(stmt, owner_id)


def _bounded(todo_ids: list[int]) -> list[int]:
    if len(todo_ids) > BULK_LIMIT:
        raise ValueError(f"Select at most {BULK_LIMIT} todos at a time.")
    return todo_ids


def _bulk(stmt, owner_id: int | None) -> int:
    if owner_id is not None:
        stmt = stmt.where(Todo.user_id == owner_id)
    with write_transaction() as session:
        return session.execute(stmt).rowcount


def empty_trash(owner_id: int, *, progress: Callable[[int], None] | None = None) -> int:
    """Delete every trashed todo of one owner for good; returns how many."""
    return _purge_trashed([Todo.user_id == owner_id], progress=progress)


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


def purge_expired(older_than_days: int, *, progress: Callable[[int], None] | None = None) -> int:
    """Delete for good every todo trashed more than ``older_than_days`` ago;
    returns how many."""
    cutoff = expiry_cutoff(older_than_days)
    return _purge_trashed([Todo.deleted_at < cutoff], progress=progress)


def _purge_trashed(where: list, *, progress: Callable[[int], None] | None) -> int:
    """Delete matching trashed rows in transactions of ``PURGE_BATCH_SIZE``
    rows, so other writers wait for one short batch at most, never the whole purge."""
    purged = 0
    while True:
        with write_transaction() as session:
            ids = session.scalars(
                select(Todo.id)
                .where(*where)
                .order_by(Todo.deleted_at)
                .limit(PURGE_BATCH_SIZE)
                .execution_options(trashed_only=True)
            ).all()
            if ids:
                session.execute(
                    delete(Todo)
                    .where(Todo.id.in_(ids))
                    .execution_options(trashed_only=True, synchronize_session=False)
                )
        if not ids:
            return purged
        purged += len(ids)
        if progress is not None:
            progress(len(ids))
