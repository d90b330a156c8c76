"""Keyset pagination, for every list of the app: the todo list, the trash
pages, the activity log. A page is found from a cursor (the key of the row
it starts after) rather than an offset, so the page a thousand pages down
costs what the first one does, and nothing counts the whole list.

A key is the tuple of columns a list is ordered by, newest first, ending with
the id: ``(todos.c.id,)``, or ``(todos.c.deleted_at, todos.c.id)`` for a
trash; a list may also go oldest first (``Keyset(..., ascending=True)``: by
due date). A cursor writes a row's key as digits joined by "-" (a moment in
µs, a date as its day number). A list read from several keysets one after
the other (dated todos, then undated ones) is a ``ChainedKeyset``.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, literal_column, or_, select

from ..database import Query
from ..soft_delete import visible_union
from .errors import NotFoundError

# Ids are INTEGER columns: 32-bit signed on PostgreSQL. A number past this
# would overflow the driver's parameter, so it is refused before any query.
ID_MAX = 2**31 - 1
ID_DIGITS = len(str(ID_MAX))


def parse_id(raw: str) -> int | None:
    """``raw`` as an id if it is one (ASCII digits, 1 to ID_MAX), else None.
    The one check every URL, cursor and form field with an id goes through."""
    if not (raw and len(raw) <= ID_DIGITS and raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if 1 <= value <= ID_MAX else None


@dataclass(frozen=True)
class Page:
    """One page of a list, newest first, found from a cursor rather than an
    offset: the page a thousand pages down costs what the first one does, and
    nothing counts the whole list. ``older`` and ``newer`` are the cursors of
    the neighbouring pages, None when there is none; ``first`` is the newest page.
    Each item is a mapping of column name to value (``Query.mappings``)."""

    items: list[Any]
    older: str | None = None
    newer: str | None = None
    first: bool = True


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR_PART = re.compile(r"[0-9]{1,17}")


def _written(value) -> str:
    """A key's value in a cursor: a moment in µs since 1970, a date as its
    day number (``date.toordinal``), an id as it is."""
    if isinstance(value, datetime):
        return str((value - _EPOCH) // timedelta(microseconds=1))
    if isinstance(value, date):
        return str(value.toordinal())
    return str(value)


def cursor_of(row, key) -> str:
    return "-".join(_written(row[column.key]) for column in key)


_LAST_DAY = date.max.toordinal()


def _decode(raw: str, key) -> list:
    """:raise NotFoundError: not a cursor of this list (hand-edited, or of another list)."""
    parts = raw.split("-")
    if len(parts) != len(key) or not all(_CURSOR_PART.fullmatch(part) for part in parts):
        raise NotFoundError("There is no such page.")
    values = [int(part) for part in parts]
    if values[-1] > ID_MAX:  # every key ends with the id
        raise NotFoundError("There is no such page.")
    for i, column in enumerate(key[:-1]):  # read back as ``_written`` wrote them
        kind = column.type.python_type
        if kind is datetime:
            values[i] = _EPOCH + timedelta(microseconds=values[i])
        elif kind is date:
            if not 1 <= values[i] <= _LAST_DAY:
                raise NotFoundError("There is no such page.")
            values[i] = date.fromordinal(values[i])
    return values


def planned_once(name: str, type_):
    """The bind parameter ``name`` read through a one-row subquery,
    ``(SELECT :name)``, for the values that say whose rows a page shows and
    where it starts (the owner, a cursor). PostgreSQL computes it once,
    before the scan (an InitPlan), and the index still seeks to it; but the
    planner does not see the value, so a statement gets the same plan for
    every owner and cursor, and the prepared statement keeps that one
    generic plan instead of being planned anew on each request. Seen by the
    planner, a cursor near the end of a long list, or an owner with most of
    the trashed rows, had a plan of its own that looked cheaper than the
    shared one: at a million todos, those pages took about 0.3 ms to plan
    for 0.2 ms to run, and at a thousand they did not. SQLite seeks the
    index the same way (tests/test_query_plans.py)."""
    return select(bindparam(name, type_=type_)).scalar_subquery()


def _cursor_value(i: int, column):
    """Value ``i`` of a cursor, bound as ``key_<i>`` (``planned_once``)."""
    return planned_once(f"key_{i}", column.type)


def _bound(key) -> list:
    """A cursor's values as the statement reads them, one per key column."""
    return [_cursor_value(i, column) for i, column in enumerate(key)]


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
    request (its generic plan, for an unknown limit, costs more). A page size
    is a constant of the app's settings, so each gets its statement."""
    order = [column.desc() if older else column.asc() for column in key]
    return stmt.order_by(*order).limit(literal_column(str(int(per_page) + 1)))


def _union(statements: list, names: tuple[str, ...], *, older: bool, per_page: int):
    """Statements over disjoint rows of one list, each in key order and
    limited to a page and one (``_ordered``), as one statement: their UNION
    ALL, in the order of the columns ``names`` and with the same limit. Each
    member still reads no more than a page through its own index (an OR
    would lose the order); the database merges them, so a page of rows comes
    back in one round trip, not a page for each member to be merged here.
    The members come from the soft-delete mechanism, and so does the union
    (``soft_delete.visible_union``)."""
    if len(statements) == 1:
        return statements[0]
    union = visible_union(statements)
    columns = union.selected_columns
    order = [columns[name].desc() if older else columns[name].asc() for name in names]
    return union.order_by(*order).limit(literal_column(str(int(per_page) + 1)))


class Keyset:
    """A list, newest first by ``key``, read a page at a time; with
    ``ascending``, oldest first (the "older" pages then hold larger keys).

    ``stmt``: a Core SELECT with bind parameters for what the caller fills
    in (``bindparam("list_id")``, or ``planned_once("owner_id", Integer)``
    for the owner), or a list of such statements over
    disjoint rows of one table, each read through its own index and merged
    by the database (``_union``). The page statements (the first page, older
    and newer than a cursor) are built once, on first use, and kept: made at
    import time, a Keyset costs nothing per request but the query.
    """

    def __init__(self, stmt, key, *, ascending: bool = False):
        self.statements = stmt if isinstance(stmt, list) else [stmt]
        self.key = key
        self.ascending = ascending
        self._built: dict[tuple[str, int], Query] = {}

    def _query(self, shape: str, per_page: int) -> Query:
        """The statement of one ``shape``: "first" (the first page), "older"
        or "newer" than a cursor, or "last" (the last page, read backwards,
        for a ChainedKeyset stepping back into this list)."""
        built = self._built.get((shape, per_page))
        if built is None:
            # "older" reads on down the list: descending keys, unless ascending.
            older = (shape not in ("newer", "last")) != self.ascending
            where = (
                None
                if shape in ("first", "last")
                else _beyond(self.key, _bound(self.key), older=older)
            )
            members = [
                _ordered(
                    stmt if where is None else stmt.where(where),
                    self.key,
                    older=older,
                    per_page=per_page,
                )
                for stmt in self.statements
            ]
            names = tuple(column.key for column in self.key)
            built = self._built[(shape, per_page)] = Query(
                _union(members, names, older=older, per_page=per_page)
            )
        return built

    def _fetch(self, shape: str, params: dict, values, per_page: int) -> list:
        if values is not None:
            params = {**params, **{f"key_{i}": v for i, v in enumerate(values)}}
        return self._query(shape, per_page).mappings(params)

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


class ChainedKeyset:
    """Several Keysets shown one after the other as one list: every row of
    the first, then every row of the next (a list by due date: its dated
    todos, soonest first, then its undated ones). Each part reads through
    its own index; a page that crosses from one part to the next reads the
    rest from the next one's first page. The parts select the same columns.
    A cursor is "<part>-<the part's cursor>"."""

    def __init__(self, parts: list[Keyset]):
        self.parts = parts

    def _cursor(self, tagged) -> str:
        part, row = tagged
        return f"{part}-{cursor_of(row, self.parts[part].key)}"

    def _decode(self, raw: str) -> tuple[int, list]:
        """:raise NotFoundError: not a cursor of this list."""
        head, _, rest = raw.partition("-")
        if not (head.isascii() and head.isdigit() and int(head) < len(self.parts)):
            raise NotFoundError("There is no such page.")
        part = int(head)
        return part, _decode(rest, self.parts[part].key)

    def _collect(self, params: dict, per_page: int, part: int, values, *, older: bool) -> list:
        """Up to a page and one rows (part, row) on from a cursor in ``part``
        (or from the start of ``part`` when ``values`` is None), down the list
        (``older``) or back up it, into the next parts as far as needed."""
        rows: list = []
        step = 1 if older else -1
        while 0 <= part < len(self.parts) and len(rows) <= per_page:
            if values is None:
                shape = "first" if older else "last"
            else:
                shape = "older" if older else "newer"
            fetched = self.parts[part]._fetch(shape, params, values, per_page)
            rows += [(part, row) for row in fetched]
            part, values = part + step, None
        return rows[: per_page + 1]

    def page(
        self, params: dict, per_page: int, before: str | None = None, after: str | None = None
    ) -> Page:
        """As ``Keyset.page``. :raise NotFoundError: a cursor is malformed, or both were given."""
        if before is not None and after is not None:
            raise NotFoundError("There is no such page.")
        if after is not None:
            part, values = self._decode(after)
            rows = self._collect(params, per_page, part, values, older=False)
            if len(rows) > per_page:
                tagged = rows[:per_page][::-1]
                return Page(
                    [row for _, row in tagged],
                    older=self._cursor(tagged[-1]),
                    newer=self._cursor(tagged[0]),
                    first=False,
                )
            before = None  # fewer than a page of newer rows: the first page
        if before is None:
            rows = self._collect(params, per_page, 0, None, older=True)
        else:
            part, values = self._decode(before)
            rows = self._collect(params, per_page, part, values, older=True)
        tagged = rows[:per_page]
        items = [row for _, row in tagged]
        older = self._cursor(tagged[-1]) if len(rows) > per_page else None
        if before is None:
            return Page(items, older=older)
        newer = self._cursor(tagged[0]) if tagged else None
        return Page(items, older=older, newer=newer, first=False)


# --- Two lists as one: the trash, with todos and lists -------------------------
#
# A trash shows todos and lists, latest deletion first. Each kind is read from
# its own table through its own index, a page (plus one) at most, and the
# database merges the two (``_union``): the newest rows of the union are among
# the newest of each.
# A cursor is "<deleted_at in µs>-<kind>-<id>": ids of two tables can meet.


def _merged_cursor(row) -> str:
    return f"{(row['deleted_at'] - _EPOCH) // timedelta(microseconds=1)}-{row['kind']}-{row['id']}"


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
    column = key[0]
    moment = _cursor_value(0, column)
    if how == "tie":
        return _beyond(key, _bound(key), older=older)
    if how == "with":
        return column <= moment if older else column >= moment
    return column < moment if older else column > moment


class MergedKeyset:
    """Several lists shown as one, newest first by (deleted_at, kind, id).
    ``branches``: (kind, statement, key) for each; the statements select the
    same columns in the same order (their rows come as one UNION ALL), among
    them ``kind`` (a constant), ``id`` and ``deleted_at``, and a statement's
    key is its (deleted_at, id) columns. As with Keyset, the page statements
    are built once and kept."""

    def __init__(self, branches):
        self.branches = branches
        self.kinds = {kind for kind, _, _ in branches}
        self._built: dict[tuple, Query] = {}

    def _query(self, hows: tuple, older: bool, per_page: int) -> Query:
        built = self._built.get((hows, older, per_page))
        if built is None:
            members = [
                _ordered(
                    stmt if how is None else stmt.where(_beyond_merged(key, how, older=older)),
                    key,
                    older=older,
                    per_page=per_page,
                )
                for (_, stmt, key), how in zip(self.branches, hows, strict=True)
            ]
            built = self._built[(hows, older, per_page)] = Query(
                _union(members, ("deleted_at", "kind", "id"), older=older, per_page=per_page)
            )
        return built

    def _fetch(self, params: dict, cursor: tuple | None, per_page: int, *, older: bool) -> list:
        hows = []
        for kind, _, _ in self.branches:
            if cursor is None:
                hows.append(None)
            elif kind == cursor[1]:
                hows.append("tie")
            else:
                hows.append("with" if (kind < cursor[1]) == older else "past")
        if cursor is not None:
            params = {**params, "key_0": cursor[0], "key_1": cursor[2]}
        return self._query(tuple(hows), older, per_page).mappings(params)

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
