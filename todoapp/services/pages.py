"""Keyset pagination, for every list of the app: the todo list, the trash
pages, the activity log. A page is found from a cursor (the key of the row
it starts after) rather than an offset, so the page a thousand pages down
costs what the first one does, and nothing counts the whole list.

A key is the tuple of columns a list is ordered by, newest first, ending with
the id: ``(Todo.id,)``, or ``(Todo.deleted_at, Todo.id)`` for a trash. A
cursor writes a row's key as digits joined by "-" (a moment in µs).
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_

from ..extensions import db
from ..models import ID_MAX
from .errors import NotFoundError


@dataclass(frozen=True)
class Page:
    """One page of a list, newest first, found from a cursor rather than an
    offset: the page a thousand pages down costs what the first one does, and
    nothing counts the whole list. ``older`` and ``newer`` are the cursors of
    the neighbouring pages, None when there is none; ``first`` is the newest page."""

    items: list[Any]
    older: str | None = None
    newer: str | None = None
    first: bool = True


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR_PART = re.compile(r"[0-9]{1,17}")


def cursor_of(row, key) -> str:
    values = (getattr(row, column.key) for column in key)
    return "-".join(
        str((v - _EPOCH) // timedelta(microseconds=1)) if isinstance(v, datetime) else str(v)
        for v in values
    )


def _decode(raw: str, key) -> list:
    """:raise NotFoundError: not a cursor of this list (hand-edited, or of another list)."""
    parts = raw.split("-")
    if len(parts) != len(key) or not all(_CURSOR_PART.fullmatch(part) for part in parts):
        raise NotFoundError("There is no such page.")
    values = [int(part) for part in parts]
    if values[-1] > ID_MAX:  # every key ends with the id
        raise NotFoundError("There is no such page.")
    if len(key) == 2:  # (a moment, the id): the moment is written in µs
        values[0] = _EPOCH + timedelta(microseconds=values[0])
    return values


def _beyond(key, values, *, older: bool):
    """Rows strictly older (or newer) than ``values`` in ``key`` order, written
    so that the database can seek the index on the key's first column."""
    head, *rest = zip(key, values, strict=True)
    column, value = head
    if not rest:
        return column < value if older else column > value
    ((tie_column, tie_value),) = rest
    if older:
        return and_(column <= value, or_(column < value, tie_column < tie_value))
    return and_(column >= value, or_(column > value, tie_column > tie_value))


def keyset_page(stmt: Select, key, per_page: int, before: str | None, after: str | None) -> Page:
    """The page of ``stmt`` (newest first by ``key``) after the cursor
    ``before`` (older rows) or ``after`` (newer rows); the first page without either.

    :raise NotFoundError: a cursor is malformed, or both were given.
    """
    newest_first = [column.desc() for column in key]
    if before is not None and after is not None:
        raise NotFoundError("There is no such page.")
    if after is not None:
        values = _decode(after, key)
        oldest_first = [column.asc() for column in key]
        rows = db.session.execute(
            stmt.where(_beyond(key, values, older=False))
            .order_by(*oldest_first)
            .limit(per_page + 1)
        ).all()
        if len(rows) > per_page:
            items = rows[:per_page][::-1]
            return Page(
                items, older=cursor_of(items[-1], key), newer=cursor_of(items[0], key), first=False
            )
        # Fewer than a page of newer rows: the newest page is the one to show.
        before = None
    elif before is not None:
        stmt = stmt.where(_beyond(key, _decode(before, key), older=True))
    rows = db.session.execute(stmt.order_by(*newest_first).limit(per_page + 1)).all()
    items = rows[:per_page]
    older = cursor_of(items[-1], key) if len(rows) > per_page else None
    if before is None:
        return Page(items, older=older)
    return Page(items, older=older, newer=cursor_of(items[0], key) if items else None, first=False)
