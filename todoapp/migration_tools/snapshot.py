"""Every table's rows, read the same way from a live database or from a copy
of them kept in memory, so that ``compare`` can set one against the other.

Values are read as the database driver returns them (no column types
applied), so a change in how a value is stored shows up. Rows come in
primary-key order: on PostgreSQL a text key is ordered ``COLLATE "C"``, by
code point as Python orders strings and as SQLite does by default, so two
sides can be merged in Python whatever the database's collation.

- ``Database(conn)``: a live database, streamed (any size will do);
- ``snapshot(conn)``: all rows of every table, held in memory, for the test
  that climbs every revision with a few rows in every table.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from .search_objects import is_search_table

VERSION_TABLE = "alembic_version"
# Rows fetched at a time when streaming: memory stays flat on a large table.
STREAM_BATCH = 5000


def table_names(conn: sa.Connection) -> list[str]:
    """The tables that hold data, sorted by name (not the search index's,
    which is derived from the titles: search_objects)."""
    return sorted(
        name
        for name in sa.inspect(conn).get_table_names()
        if name != VERSION_TABLE and not is_search_table(name)
    )


def table_columns(conn: sa.Connection) -> dict[str, tuple[str, ...]]:
    """Table name -> its column names, in the table's own order."""
    inspector = sa.inspect(conn)
    return {
        name: tuple(column["name"] for column in inspector.get_columns(name))
        for name in table_names(conn)
    }


def primary_key(conn: sa.Connection, table: str) -> tuple[str, ...]:
    return tuple(sa.inspect(conn).get_pk_constraint(table)["constrained_columns"] or ())


class Database:
    """A live database, read a table at a time, streaming."""

    def __init__(self, conn: sa.Connection):
        self.conn = conn
        self._columns = table_columns(conn)

    def columns(self) -> dict[str, tuple[str, ...]]:
        return self._columns

    def primary_key(self, table: str) -> tuple[str, ...]:
        return primary_key(self.conn, table)

    def rows(self, table: str, key: Sequence[str], values: Sequence[str]) -> Iterator[tuple]:
        """(key..., values...) for every row, in key order."""
        ordered = _ordered_by_code_point(self.conn, table, key)
        target = sa.table(table, *(sa.column(name) for name in (*key, *values)))
        query = sa.select(*target.c).order_by(*ordered)
        streamed = self.conn.execution_options(yield_per=STREAM_BATCH)
        for row in streamed.execute(query):
            yield tuple(row)

    def count(self, table: str, column: str | None = None) -> int:
        """The table's rows, or the values (not NULL) of one column."""
        target = sa.table(table, *([sa.column(column)] if column else []))
        what = sa.func.count(target.c[column]) if column else sa.func.count()
        return self.conn.scalar(sa.select(what).select_from(target))

    def keys_where(self, table: str, key: Sequence[str], conditions: Sequence[str]) -> set:
        """The keys of the rows that match any of ``conditions`` (SQL)."""
        if not conditions:
            return set()
        target = sa.table(table, *(sa.column(name) for name in key))
        where = sa.or_(*(sa.text(f"({condition})") for condition in conditions))
        return {tuple(row) for row in self.conn.execute(sa.select(*target.c).where(where))}


def _ordered_by_code_point(conn: sa.Connection, table: str, key: Sequence[str]) -> list:
    """ORDER BY terms for ``key``: text columns ``COLLATE "C"`` on PostgreSQL."""
    if conn.dialect.name != "postgresql":
        return [sa.column(name) for name in key]
    kinds = {c["name"]: c["type"] for c in sa.inspect(conn).get_columns(table)}
    return [
        sa.column(name).collate("C")
        if isinstance(kinds.get(name), sa.String | sa.Text)
        else sa.column(name)
        for name in key
    ]


@dataclass(frozen=True)
class TableRows:
    """One table's columns, primary key, and all its rows as tuples in column order."""

    columns: tuple[str, ...]
    key: tuple[str, ...]
    rows: tuple[tuple, ...]

    def project(self, columns: Sequence[str]) -> list[tuple]:
        positions = [self.columns.index(name) for name in columns]
        return [tuple(row[i] for i in positions) for row in self.rows]


class Snapshot(dict):
    """Table name -> ``TableRows``: a copy of some tables' rows, in memory,
    readable as ``Database`` reads a live one."""

    def columns(self) -> dict[str, tuple[str, ...]]:
        return {name: table.columns for name, table in self.items()}

    def primary_key(self, table: str) -> tuple[str, ...]:
        return self[table].key

    def rows(self, table: str, key: Sequence[str], values: Sequence[str]) -> Iterator[tuple]:
        return iter(sorted(self[table].project([*key, *values]), key=lambda r: r[: len(key)]))

    def count(self, table: str, column: str | None = None) -> int:
        if column is None:
            return len(self[table].rows)
        return sum(value is not None for (value,) in self[table].project([column]))


def snapshot(conn: sa.Connection, where: Mapping[str, str] | None = None) -> Snapshot:
    """Every row of every table. With ``where`` (table -> SQL condition), only
    those tables, and in each only the rows that match its condition."""
    columns = table_columns(conn)
    tables = sorted(where) if where is not None else list(columns)
    found = Snapshot()
    for name in tables:
        if name not in columns:
            raise LookupError(f"table {name!r} does not exist here")
        target = sa.table(name, *(sa.column(column) for column in columns[name]))
        query = sa.select(*target.c).order_by(*target.c)
        if where is not None:
            query = query.where(sa.text(where[name]))
        rows = tuple(tuple(row) for row in conn.execute(query))
        found[name] = TableRows(columns[name], primary_key(conn, name), rows)
    return found
