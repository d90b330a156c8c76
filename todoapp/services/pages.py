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

from sqlalchemy import and_, or_

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


def keyset_page(stmt, key, per_page: int, before: str | None, after: str | None) -> Page:
    """The page of ``stmt`` (newest first by ``key``) after the cursor
    ``before`` (older rows) or ``after`` (newer rows); the first page without either.
    ``stmt`` may be a list of statements over disjoint rows of one table,
    each read through its own index and merged (an OR would lose the order).

    :raise NotFoundError: a cursor is malformed, or both were given.
    """
    statements = stmt if isinstance(stmt, list) else [stmt]
    if before is not None and after is not None:
        raise NotFoundError("There is no such page.")

    def fetch(where, *, older: bool) -> list:
        order = [column.desc() if older else column.asc() for column in key]
        rows = []
        for each in statements:
            each = each if where is None else each.where(where)
            rows += db.session.execute(each.order_by(*order).limit(per_page + 1)).all()
        if len(statements) > 1:
            rows.sort(key=lambda row: tuple(getattr(row, c.key) for c in key), reverse=older)
        return rows[: per_page + 1]

    if after is not None:
        values = _decode(after, key)
        rows = fetch(_beyond(key, values, older=False), older=False)
        if len(rows) > per_page:
            items = rows[:per_page][::-1]
            return Page(
                items, older=cursor_of(items[-1], key), newer=cursor_of(items[0], key), first=False
            )
        # Fewer than a page of newer rows: the newest page is the one to show.
        before = None
    where = None if before is None else _beyond(key, _decode(before, key), older=True)
    rows = fetch(where, older=True)
    items = rows[:per_page]
    older = cursor_of(items[-1], key) if len(rows) > per_page else None
    if before is None:
        return Page(items, older=older)
    return Page(items, older=older, newer=cursor_of(items[0], key) if items else None, first=False)


# --- Two lists as one: the trash, with todos and lists -------------------------
#
# A trash shows todos and lists, latest deletion first. Each kind is read from
# its own table through its own index, a page (plus one) at most, and the two
# are merged here: the newest rows of the union are among the newest of each.
# A cursor is "<deleted_at in µs>-<kind>-<id>": ids of two tables can meet.


def _merged_cursor(row) -> str:
    return f"{(row.deleted_at - _EPOCH) // timedelta(microseconds=1)}-{row.kind}-{row.id}"


def _merged_sort_key(row):
    return (row.deleted_at, row.kind, row.id)


def _decode_merged(raw: str, kinds: set[int]) -> tuple:
    """:raise NotFoundError: not a cursor of this list."""
    parts = raw.split("-")
    if len(parts) != 3 or not all(_CURSOR_PART.fullmatch(part) for part in parts):
        raise NotFoundError("There is no such page.")
    moment, kind, row_id = (int(part) for part in parts)
    if kind not in kinds or row_id > ID_MAX:
        raise NotFoundError("There is no such page.")
    return _EPOCH + timedelta(microseconds=moment), kind, row_id


def _beyond_merged(key, kind: int, cursor: tuple, *, older: bool):
    """Rows of one kind beyond ``cursor`` in (deleted_at, kind, id) order:
    the kind is a constant of each table, so it decides the tie on the moment."""
    moment, cursor_kind, row_id = cursor
    column = key[0]
    if kind == cursor_kind:
        return _beyond(key, (moment, row_id), older=older)
    if (kind < cursor_kind) == older:
        return column <= moment if older else column >= moment
    return column < moment if older else column > moment


def merged_page(branches, per_page: int, before: str | None, after: str | None) -> Page:
    """A page of several lists shown as one, newest first by (deleted_at,
    kind, id). ``branches``: (kind, statement, key) for each; a statement
    selects ``kind`` (a constant), ``id`` and ``deleted_at``; its key is its
    (deleted_at, id) columns.

    :raise NotFoundError: a cursor is malformed, or both were given.
    """
    if before is not None and after is not None:
        raise NotFoundError("There is no such page.")
    kinds = {kind for kind, _, _ in branches}

    def fetch(cursor: tuple | None, older: bool) -> list:
        rows = []
        for kind, stmt, key in branches:
            if cursor is not None:
                stmt = stmt.where(_beyond_merged(key, kind, cursor, older=older))
            order = [column.desc() if older else column.asc() for column in key]
            rows += db.session.execute(stmt.order_by(*order).limit(per_page + 1)).all()
        rows.sort(key=_merged_sort_key, reverse=older)
        return rows[: per_page + 1]

    if after is not None:
        rows = fetch(_decode_merged(after, kinds), older=False)
        if len(rows) > per_page:
            items = rows[:per_page][::-1]
            return Page(
                items, older=_merged_cursor(items[-1]), newer=_merged_cursor(items[0]), first=False
            )
        before = None  # fewer than a page of newer rows: show the newest page
    rows = fetch(_decode_merged(before, kinds) if before is not None else None, older=True)
    items = rows[:per_page]
    older = _merged_cursor(items[-1]) if len(rows) > per_page else None
    if before is None:
        return Page(items, older=older)
    return Page(items, older=older, newer=_merged_cursor(items[0]) if items else None, first=False)
