"""Every table's rows, to prove that a migration kept them.

Two ways to look at the same data, both over every table except Alembic's
``alembic_version``, and both reading values as the database driver returns
them (no column types applied), so a change in how a value is stored shows up:

- ``snapshot``: all rows of every table, held in memory, for tests that
  compare row by row and want to say which rows went missing;
- ``summarize``: per table, the row count and a SHA-256 of the rows over
  chosen columns, streamed, for a database of any size (the round trip).

Rows are read ordered by all their columns, so two reads of the same data
give the same rows in the same order, whatever order the database keeps them in.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from uuid import UUID

import sqlalchemy as sa

VERSION_TABLE = "alembic_version"
# Rows fetched at a time when streaming: memory stays flat on a large table.
STREAM_BATCH = 5000


@dataclass(frozen=True)
class TableRows:
    """One table's columns, and all its rows as tuples in that column order."""

    columns: tuple[str, ...]
    rows: tuple[tuple, ...]

    def project(self, columns: Iterable[str]) -> Counter:
        """The rows cut down to ``columns`` (in the order given), as a multiset."""
        positions = [self.columns.index(name) for name in columns]
        return Counter(tuple(row[i] for i in positions) for row in self.rows)


@dataclass(frozen=True)
class TableSummary:
    """A table's row count and the SHA-256 of its rows over ``columns``."""

    table: str
    columns: tuple[str, ...]
    rows: int
    sha256: str


def table_names(conn: sa.Connection) -> list[str]:
    """The tables that hold data, sorted by name."""
    return sorted(name for name in sa.inspect(conn).get_table_names() if name != VERSION_TABLE)


def table_columns(conn: sa.Connection) -> dict[str, tuple[str, ...]]:
    """Table name -> its column names, in the table's own order."""
    inspector = sa.inspect(conn)
    return {
        name: tuple(column["name"] for column in inspector.get_columns(name))
        for name in table_names(conn)
    }


def select_rows(table: str, columns: Sequence[str], where: str | None = None) -> sa.Select:
    """``SELECT columns FROM table [WHERE where] ORDER BY columns``, values untyped."""
    target = sa.table(table, *(sa.column(name) for name in columns))
    query = sa.select(*target.c).order_by(*target.c)
    return query if where is None else query.where(sa.text(where))


def snapshot(conn: sa.Connection, where: Mapping[str, str] | None = None) -> dict[str, TableRows]:
    """Every row of every table. With ``where`` (table -> SQL condition), only
    those tables, and in each only the rows that match its condition."""
    columns = table_columns(conn)
    tables = sorted(where) if where is not None else list(columns)
    found = {}
    for name in tables:
        if name not in columns:
            raise LookupError(f"table {name!r} does not exist here")
        condition = where[name] if where is not None else None
        rows = conn.execute(select_rows(name, columns[name], condition)).all()
        found[name] = TableRows(columns[name], tuple(tuple(row) for row in rows))
    return found


def summarize(conn: sa.Connection, table: str, columns: Iterable[str]) -> TableSummary:
    """Count ``table``'s rows and hash them over ``columns``, streaming.

    The columns are taken in name order, so a rebuild that moves a column
    changes nothing; each row is hashed as one line of JSON."""
    columns = tuple(sorted(columns))
    digest = hashlib.sha256(json.dumps(columns).encode())
    count = 0
    streamed = conn.execution_options(yield_per=STREAM_BATCH)
    for row in streamed.execute(select_rows(table, columns)):
        digest.update(json.dumps(tuple(row), default=_plain, ensure_ascii=False).encode())
        digest.update(b"\n")
        count += 1
    return TableSummary(table, columns, count, digest.hexdigest())


def summaries(
    conn: sa.Connection, columns: Mapping[str, Iterable[str]] | None = None
) -> Iterator[TableSummary]:
    """``summarize`` each table in turn, over all its columns or, for a table
    named in ``columns``, over those; each is yielded as soon as it is done."""
    present = table_columns(conn)
    columns = columns or {}
    for name in present:
        yield summarize(conn, name, columns.get(name, present[name]))


def _plain(value):
    """A JSON-able stand-in for a value JSON has no type for, tagged with
    its kind, so that a datetime and a string of the same text differ."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return {"datetime": value.isoformat()}
    if isinstance(value, date | time):
        return {type(value).__name__: value.isoformat()}
    if isinstance(value, Decimal | UUID):
        return {type(value).__name__: str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytes": bytes(value).hex()}
    return {"repr": repr(value)}


def differences(
    before: Mapping[str, TableRows],
    after: Mapping[str, TableRows],
    removed: Mapping[str, TableRows] | None = None,
    *,
    added: Mapping[str, TableRows] | None = None,
    ignored: Mapping[str, Iterable[str]] | None = None,
    shown: int = 3,
) -> dict[str, str]:
    """Table -> what changed between two snapshots, for every table that is
    in both and whose rows differ over the columns both have. Rows in
    ``removed`` (a snapshot of some of ``before``'s rows) are expected gone;
    rows in ``added`` (a snapshot of some of ``after``'s) may be new; columns
    in ``ignored`` (per table) are not compared."""
    found = {}
    for name in sorted(before.keys() & after.keys()):
        skip = set((ignored or {}).get(name, ()))
        common = [
            column
            for column in after[name].columns
            if column in before[name].columns and column not in skip
        ]
        expected = before[name].project(common)
        if removed and name in removed:
            expected -= removed[name].project(common)
        actual = after[name].project(common)
        gone, new = expected - actual, actual - expected
        if added and name in added:
            new -= added[name].project(common)
        if not gone and not new:
            continue
        parts = [f"over columns ({', '.join(common)}):"]
        for label, rows in (
            ("missing or changed", gone),
            ("not expected (changed, added, or declared deleted but kept)", new),
        ):
            if rows:
                examples = "; ".join(_clip(repr(row)) for row in list(rows.elements())[:shown])
                parts.append(f"{rows.total()} row(s) {label}, e.g. {examples}")
        found[name] = " ".join(parts)
    return found


def _clip(text: str, width: int = 160) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
