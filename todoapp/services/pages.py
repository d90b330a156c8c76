"""Keyset pagination, for every list of the app: the todo list, the trash
pages, the activity log. A page is found from a cursor (the key of the row
it starts after) rather than an offset, so the page a thousand pages down
costs what the first one does, and nothing counts the whole list.

A key is the tuple of columns a list is ordered by, newest first, ending with
the id: ``(todos.c.id,)``, or ``(todos.c.deleted_at, todos.c.id)`` for a
trash. A cursor writes a row's key as digits joined by "-" (a moment in µs).
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, literal_column, or_

from ..database import Query
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


def _bound(key) -> list:
    """A cursor's values as bind parameters, one per key column."""
    return [bindparam(f"key_{i}") for i in range(len(key))]


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


def _ordered(stmt, key, *, older: bool, per_page: int):
    """The statement in key order, a page and one row more (whether there is
    another page). The limit is written into the SQL, not bound: with it as
    a parameter, PostgreSQL planned the prepared statement anew on every
    request (its generic plan, for an unknown limit, costs more), which took
    about 0.4 ms a page. A page size is a constant of the app's settings, so
    each gets its statement."""
    order = [column.desc() if older else column.asc() for column in key]
    return stmt.order_by(*order).limit(literal_column(str(int(per_page) + 1)))


def _run(queries: list[Query], params: dict, per_page: int, sort_key, *, older: bool) -> list:
    """Up to ``per_page`` + 1 rows of the queries, merged newest (or oldest)
    first, as named tuples: list pages need rows, not ORM objects, and a
    page reads each of its fifty rows' columns several times."""
    rows = []
    for query in queries:
        rows += query.all(params)
    if len(queries) > 1:
        rows.sort(key=sort_key, reverse=older)
    return rows[: per_page + 1]


class Keyset:
    """A list, newest first by ``key``, read a page at a time.

    ``stmt``: a Core SELECT with bind parameters for what the caller fills
    in (``bindparam("owner_id")``), or a list of such statements over
    disjoint rows of one table, each read through its own index and merged
    (an OR would lose the order). The page statements (the first page, older
    and newer than a cursor) are built once, on first use, and kept: made at
    import time, a Keyset costs nothing per request but the query.
    """

    def __init__(self, stmt, key):
        self.statements = stmt if isinstance(stmt, list) else [stmt]
        self.key = key
        self._built: dict[tuple[str, int], list] = {}

    def _statements(self, shape: str, per_page: int) -> list:
        built = self._built.get((shape, per_page))
        if built is None:
            older = shape != "newer"
            where = None if shape == "first" else _beyond(self.key, _bound(self.key), older=older)
            built = self._built[(shape, per_page)] = [
                Query(
                    _ordered(
                        stmt if where is None else stmt.where(where),
                        self.key,
                        older=older,
                        per_page=per_page,
                    )
                )
                for stmt in self.statements
            ]
        return built

    def _sort_key(self, row):
        return tuple(getattr(row, column.key) for column in self.key)

    def _fetch(self, shape: str, params: dict, values, per_page: int) -> list:
        if values is not None:
            params = {**params, **{f"key_{i}": v for i, v in enumerate(values)}}
        return _run(
            self._statements(shape, per_page),
            params,
            per_page,
            self._sort_key,
            older=shape != "newer",
        )

    def page(
        self, params: dict, per_page: int, before: str | None = None, after: str | None = None
    ) -> Page:
        """The page after the cursor ``before`` (older rows) or ``after``
        (newer rows); the first page without either.

        :raise NotFoundError: a cursor is malformed, or both were given.
        """
        key = self.key
        if before is not None and after is not None:
            raise NotFoundError("There is no such page.")
        if after is not None:
            rows = self._fetch("newer", params, _decode(after, key), per_page)
            if len(rows) > per_page:
                items = rows[:per_page][::-1]
                return Page(
                    items,
                    older=cursor_of(items[-1], key),
                    newer=cursor_of(items[0], key),
                    first=False,
                )
            # Fewer than a page of newer rows: the newest page is the one to show.
            before = None
        if before is None:
            rows = self._fetch("first", params, None, per_page)
        else:
            rows = self._fetch("older", params, _decode(before, key), per_page)
        items = rows[:per_page]
        older = cursor_of(items[-1], key) if len(rows) > per_page else None
        if before is None:
            return Page(items, older=older)
        newer = cursor_of(items[0], key) if items else None
        return Page(items, older=older, newer=newer, first=False)


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


def _beyond_merged(key, how: str, *, older: bool):
    """Rows of one kind beyond a cursor in (deleted_at, kind, id) order. The
    kind is a constant of each table, so it decides the tie on the moment:
    ``how`` is "tie" for the cursor's own kind, "with" the cursor's moment
    for the kinds that sort past it at that moment, "past" it for the others."""
    column, moment = key[0], bindparam("key_0")
    if how == "tie":
        return _beyond(key, _bound(key), older=older)
    if how == "with":
        return column <= moment if older else column >= moment
    return column < moment if older else column > moment


class MergedKeyset:
    """Several lists shown as one, newest first by (deleted_at, kind, id).
    ``branches``: (kind, statement, key) for each; a statement selects
    ``kind`` (a constant), ``id`` and ``deleted_at``, and its key is its
    (deleted_at, id) columns. As with Keyset, the page statements are built
    once and kept."""

    def __init__(self, branches):
        self.branches = branches
        self.kinds = {kind for kind, _, _ in branches}
        self._built: dict[tuple, object] = {}

    def _statement(self, stmt, key, how: str | None, older: bool, per_page: int):
        built = self._built.get((id(stmt), how, older, per_page))
        if built is None:
            where = stmt if how is None else stmt.where(_beyond_merged(key, how, older=older))
            built = self._built[(id(stmt), how, older, per_page)] = Query(
                _ordered(where, key, older=older, per_page=per_page)
            )
        return built

    def _fetch(self, params: dict, cursor: tuple | None, per_page: int, *, older: bool) -> list:
        statements = []
        for kind, stmt, key in self.branches:
            if cursor is None:
                how = None
            elif kind == cursor[1]:
                how = "tie"
            else:
                how = "with" if (kind < cursor[1]) == older else "past"
            statements.append(self._statement(stmt, key, how, older, per_page))
        if cursor is not None:
            params = {**params, "key_0": cursor[0], "key_1": cursor[2]}
        return _run(statements, params, per_page, _merged_sort_key, older=older)

    def page(
        self, params: dict, per_page: int, before: str | None = None, after: str | None = None
    ) -> Page:
        """:raise NotFoundError: a cursor is malformed, or both were given."""
        if before is not None and after is not None:
            raise NotFoundError("There is no such page.")
        if after is not None:
            rows = self._fetch(params, _decode_merged(after, self.kinds), per_page, older=False)
            if len(rows) > per_page:
                items = rows[:per_page][::-1]
                return Page(
                    items,
                    older=_merged_cursor(items[-1]),
                    newer=_merged_cursor(items[0]),
                    first=False,
                )
            before = None  # fewer than a page of newer rows: show the newest page
        cursor = _decode_merged(before, self.kinds) if before is not None else None
        rows = self._fetch(params, cursor, per_page, older=True)
        items = rows[:per_page]
        older = _merged_cursor(items[-1]) if len(rows) > per_page else None
        if before is None:
            return Page(items, older=older)
        newer = _merged_cursor(items[0]) if items else None
        return Page(items, older=older, newer=newer, first=False)
