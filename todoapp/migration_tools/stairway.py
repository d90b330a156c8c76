"""The data stairway's machinery: the revisions in order, what each
downgrade declares it may refuse or delete, and rows for every table.

``tests/test_migration_stairway.py`` climbs every revision with data in
place: from an empty database it upgrades one revision at a time, with
``Seeder`` filling every table before each step, then steps down once and
up again, and compares every row. A downgrade may lose rows only if its
revision says so, with two module-level constants::

    # The -x arguments that let the downgrade go on. Without them it must
    # stop with a CommandError that says "Refusing to downgrade" and shows
    # the command to run, e.g. "flask db downgrade -x purge_trash=yes".
    DOWNGRADE_REFUSES_UNLESS = ["purge_trash=yes"]
    # The rows the downgrade deletes (once given those arguments), per
    # table, as an SQL condition on the table as it is at this revision.
    DOWNGRADE_DELETES = {"todos": "deleted_at IS NOT NULL"}

Dropping a table or a column is not a loss to declare: the schema below no
longer holds it.

An upgrade must keep every row and value too. What it changes in the data
on purpose, it declares the same way::

    # Tables and columns it renames, old name to new ("table.column" for a column).
    UPGRADE_RENAMES = {"todos.title": "todos.text"}
    # Tables and columns it drops, data and all.
    UPGRADE_DROPS = ["todos.legacy_flag"]
    # Columns whose NULLs the upgrade fills in: a NULL may get a value, any
    # other value must stay, and none of them may be NULL afterwards.
    UPGRADE_FILLS = {"todos": ["list_id"]}
    # Columns whose values the upgrade rewrites (by their names after it).
    UPGRADE_REWRITES = {"lists": ["name_key"]}
    # Rows the upgrade may add, per table, as an SQL condition on them.
    UPGRADE_ADDS = {"lists": "is_inbox"}

``make db-test-migrations`` and the stairway test both compare the data
after the upgrade with the data before it, through these declarations
(``compare.fates``): anything else that is gone or changed is a loss.
Revisions committed before these constants existed cannot be edited
(``manifest.sha256``), so theirs live in ``COMMITTED_DECLARATIONS`` below,
the one place for them; a new revision declares its own.
"""

from __future__ import annotations

import string
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa
from alembic.script import Script, ScriptDirectory

from .. import models  # noqa: F401 - registers the models in db.metadata
from ..extensions import db
from .naming import revision_parents
from .search_objects import is_search_table
from .snapshot import VERSION_TABLE

REFUSES_UNLESS = "DOWNGRADE_REFUSES_UNLESS"
DELETES = "DOWNGRADE_DELETES"
FILLS = "UPGRADE_FILLS"
ADDS = "UPGRADE_ADDS"
RENAMES = "UPGRADE_RENAMES"
DROPS = "UPGRADE_DROPS"
REWRITES = "UPGRADE_REWRITES"
# What a refusal says first; the command that gets past it follows.
REFUSAL = "Refusing to downgrade"


# --- The revisions, in order ---------------------------------------------------


def revisions_oldest_first(script: ScriptDirectory) -> list[Script]:
    """Every revision, each after all of its parents: after a branch point
    both branches come, one after the other, and then their merge."""
    return list(script.walk_revisions("base", "heads"))[::-1]


def path_to(script: ScriptDirectory, revision: str) -> list[Script]:
    """``revision`` and its ancestors, oldest first: the upgrades, one at a
    time, that take an empty database to it."""
    return list(script.iterate_revisions(revision, "base"))[::-1]


def revisions_between(script: ScriptDirectory, lower: str | None, upper: str) -> list[Script]:
    """The revisions an upgrade from ``lower`` (None: an empty database) to
    ``upper`` runs, oldest first."""
    return list(script.iterate_revisions(upper, lower or "base"))[::-1]


def one_step_down(revision: Script) -> str:
    """The target that undoes ``revision`` alone: its parent, or "base".

    For a merge revision, its first parent: Alembic then undoes just the
    merge and keeps the other parent as a second head. (The relative "-1" is
    no use there: Alembic calls it an ambiguous walk.)"""
    return next(iter(revision_parents(revision)), "base")


# --- What a downgrade declares -------------------------------------------------


class DeclarationError(ValueError):
    """A revision's declaration is malformed or given twice."""


@dataclass(frozen=True)
class DowngradeDeclaration:
    refuses_unless: tuple[str, ...] = ()
    deletes: Mapping[str, str] = field(default_factory=dict)

    @property
    def way_on(self) -> str:
        """The command a refusal must show the operator."""
        return " ".join(["flask db downgrade", *(f"-x {arg}" for arg in self.refuses_unless)])


# Declarations of revisions committed before revision files could make them.
# Only for those: a new revision declares its own, in its own file.
COMMITTED_DECLARATIONS = {
    # Dropping todos.deleted_at would bring every trashed todo back to life.
    "0002": DowngradeDeclaration(
        refuses_unless=("purge_trash=yes",),
        deletes={"todos": "deleted_at IS NOT NULL"},
    ),
}


def declaration(revision: Script) -> DowngradeDeclaration:
    """What ``revision``'s downgrade declares: from its module's constants,
    or for a committed revision from ``COMMITTED_DECLARATIONS``."""
    module = revision.module
    own = [name for name in (REFUSES_UNLESS, DELETES) if hasattr(module, name)]
    if revision.revision in COMMITTED_DECLARATIONS:
        if own:
            raise DeclarationError(
                f"Revision {revision.revision} declares {', '.join(own)} itself and also "
                "has an entry in COMMITTED_DECLARATIONS: keep one of them."
            )
        return COMMITTED_DECLARATIONS[revision.revision]
    refuses = getattr(module, REFUSES_UNLESS, [])
    deletes = getattr(module, DELETES, {})
    if isinstance(refuses, str) or not all(isinstance(arg, str) and "=" in arg for arg in refuses):
        raise DeclarationError(
            f"Revision {revision.revision}: {REFUSES_UNLESS} must be a list of -x "
            f'arguments such as ["purge_trash=yes"], not {refuses!r}.'
        )
    if not isinstance(deletes, Mapping) or not all(
        isinstance(table, str) and isinstance(where, str) for table, where in deletes.items()
    ):
        raise DeclarationError(
            f"Revision {revision.revision}: {DELETES} must map table names to SQL "
            f'conditions, such as {{"todos": "deleted_at IS NOT NULL"}}, not {deletes!r}.'
        )
    return DowngradeDeclaration(tuple(refuses), dict(deletes))


@dataclass(frozen=True)
class UpgradeDeclaration:
    fills: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    adds: Mapping[str, str] = field(default_factory=dict)
    renames: Mapping[str, str] = field(default_factory=dict)
    drops: frozenset[str] = frozenset()
    rewrites: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def upgrade_declaration(revision: Script) -> UpgradeDeclaration:
    """What ``revision``'s upgrade declares it does to the data (see the module's doc)."""
    module, name = revision.module, revision.revision
    fills = _columns_per_table(name, FILLS, getattr(module, FILLS, {}))
    rewrites = _columns_per_table(name, REWRITES, getattr(module, REWRITES, {}))
    adds = getattr(module, ADDS, {})
    if not isinstance(adds, Mapping) or not all(
        isinstance(table, str) and isinstance(where, str) for table, where in adds.items()
    ):
        raise DeclarationError(
            f"Revision {name}: {ADDS} must map table names to SQL "
            f'conditions, such as {{"lists": "is_inbox"}}, not {adds!r}.'
        )
    renames = getattr(module, RENAMES, {})
    if not isinstance(renames, Mapping) or not all(
        isinstance(old, str) and isinstance(new, str) and old.count(".") == new.count(".") <= 1
        for old, new in renames.items()
    ):
        raise DeclarationError(
            f"Revision {name}: {RENAMES} must map old names to new ones, tables as "
            f'"table" and columns as "table.column", such as {{"todos.title": '
            f'"todos.text"}}, not {renames!r}.'
        )
    drops = getattr(module, DROPS, [])
    if isinstance(drops, str) or not all(isinstance(d, str) and d.count(".") <= 1 for d in drops):
        raise DeclarationError(
            f"Revision {name}: {DROPS} must list tables and columns, such as "
            f'["todos.legacy_flag"], not {drops!r}.'
        )
    return UpgradeDeclaration(fills, dict(adds), dict(renames), frozenset(drops), rewrites)


def _columns_per_table(revision: str, constant: str, value) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping) or not all(
        isinstance(table, str)
        and not isinstance(cols, str)
        and all(isinstance(c, str) for c in cols)
        for table, cols in value.items()
    ):
        raise DeclarationError(
            f"Revision {revision}: {constant} must map table names to lists of "
            f'columns, such as {{"todos": ["list_id"]}}, not {value!r}.'
        )
    return {table: tuple(cols) for table, cols in value.items()}


# --- Rows for every table ------------------------------------------------------


class SeedingError(AssertionError):
    """A table could not be given the rows the stairway wants in it."""


ROWS_PER_STEP = 4
# Each row is first tried in one shape and, when the database refuses it
# (a CHECK constraint the seeder cannot read, a value too long), in the next.
AT_THE_LIMITS, SHORT, PLAIN = "at the limits", "short", "plain"
# Lower case, or no case at all, so that a "x = lower(x)" check lets it in.
NON_ASCII = "ünïcødé ✓ 漢字 ß "
LONG_TEXT = 1000  # the length of a "longest" string in a column without a limit
LATEST = datetime(2038, 1, 19, 3, 14, 7, 999999, tzinfo=UTC)
EARLIEST = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
ORDINARY = datetime(2026, 11, 1, 12, 30, 0, 123456, tzinfo=UTC)
ELSEWHERE = timezone(timedelta(hours=5, minutes=30))


class Seeder:
    """Adds rows to every table there is, reading the schema as it is now.

    Keep one per database: it numbers each table's rows, so values stay
    distinct from one step to the next. Row number ``n`` of a table:

    - leaves an autoincrementing integer primary key to the database;
    - takes a foreign key from an existing parent row, a different parent
      for each row in turn (parents are filled first);
    - is NULL in every nullable column when ``n % 4`` is 2 or 3, so todos
      are both live and trashed once they have ``deleted_at``;
    - is True in boolean columns when ``n % 4`` is 1 or 2 (False, plainly);
    - is tried first in one shape and, if the database refuses it, in the
      other, then plainly. Even rows start "at the limits": strings of the
      column's full length with non-ASCII characters, integers at the
      column's bounds (rows 0 and 1 at the top, 2 and 3 at the bottom, then
      one nearer each time), datetimes at the 32-bit Unix time limits, with
      microseconds. Odd rows start "short": short strings, small integers,
      datetimes in another time zone. Strings and integers differ from row
      to row, so unique columns hold distinct values.

    Values are bound with the app's own column type where the model has the
    column (``UTCDateTime`` stores datetimes its own way on SQLite), else
    with the type the database reports.
    """

    def __init__(self, rows_per_step: int = ROWS_PER_STEP):
        self.rows_per_step = rows_per_step
        self.made = Counter()  # table -> rows numbered so far

    def seed(self, conn: sa.Connection) -> dict[str, int]:
        """Add ``rows_per_step`` rows to every table; return how many each got.
        Raises ``SeedingError`` naming the table that could not take them."""
        schema = sa.MetaData()
        schema.reflect(
            conn, only=lambda name, _: name != VERSION_TABLE and not is_search_table(name)
        )
        return {table.name: self._fill(conn, table) for table in schema.sorted_tables}

    def _fill(self, conn: sa.Connection, table: sa.Table) -> int:
        columns = [
            column
            for column in table.columns
            if column is not table.autoincrement_column and column.computed is None
        ]
        binds = {column.name: _bind_type(table.name, column) for column in columns}
        insert = sa.insert(sa.table(table.name, *(sa.column(n, t) for n, t in binds.items())))
        parent_rows = {fk: _parent_rows(conn, fk) for fk in table.foreign_key_constraints}
        added, refusals = 0, []
        for _ in range(self.rows_per_step):
            n = self.made[table.name]
            self.made[table.name] += 1
            for shape in _shapes(n):
                row = {
                    column.name: _value(table, column, binds[column.name], n, shape)
                    for column in columns
                }
                for fk, rows in parent_rows.items():
                    row.update(_foreign_key(fk, rows, n, shape))
                try:
                    with conn.begin_nested():
                        conn.execute(insert, row)
                except (sa.exc.IntegrityError, sa.exc.DataError) as refused:
                    refusals.append(refused.orig)
                    continue
                added += 1
                break
        if added < self.rows_per_step:
            empty = [fk.referred_table.name for fk, rows in parent_rows.items() if not rows]
            why = (
                f" It needs parent rows in {', '.join(sorted(set(empty)))}, and there are none."
                if empty
                else ""
            )
            raise SeedingError(
                f"Table {table.name}: only {added} of the {self.rows_per_step} rows wanted "
                f"went in; the database refused every candidate value for the rest.{why} "
                f"Last refusal: {refusals[-1] if refusals else 'none'}. If a CHECK constraint "
                "refuses all of them, teach todoapp/migration_tools/stairway.py a value it takes."
            )
        return added


def _shapes(n: int) -> tuple[str, ...]:
    """The shapes row ``n`` is tried in, in order."""
    return (AT_THE_LIMITS, SHORT, PLAIN) if n % 2 == 0 else (SHORT, AT_THE_LIMITS, PLAIN)


def _bind_type(table: str, column: sa.Column) -> sa.types.TypeEngine:
    """The model's type for the column, if the model has the column and it
    holds the same kind of value as the database's column; else the database's."""
    model_table = db.metadata.tables.get(table)
    model_column = model_table.c.get(column.name) if model_table is not None else None
    if model_column is not None and _python_type(model_column.type) is _python_type(column.type):
        return model_column.type
    return column.type


def _python_type(type_: sa.types.TypeEngine) -> type | None:
    """The kind of value a column holds: ``datetime`` for ``UTCDateTime``, too."""
    if isinstance(type_, sa.types.TypeDecorator):
        type_ = type_.impl_instance
    if isinstance(type_, sa.JSON):
        return dict
    try:
        return type_.python_type
    except NotImplementedError:
        return None


def _parent_rows(conn: sa.Connection, fk: sa.ForeignKeyConstraint) -> list[tuple]:
    referred = [element.column for element in fk.elements]
    return list(conn.execute(sa.select(*referred).distinct().order_by(*referred)))


def _foreign_key(fk: sa.ForeignKeyConstraint, rows: list[tuple], n: int, shape: str) -> dict:
    """A different parent row for each row in turn (or NULL, where allowed)."""
    names = [column.name for column in fk.columns]
    nullable = all(column.nullable for column in fk.columns)
    if not rows or (nullable and _is_null(n, shape)):
        return dict.fromkeys(names)
    return dict(zip(names, rows[n % len(rows)], strict=True))


def _is_null(n: int, shape: str) -> bool:
    return shape != PLAIN and n % 4 in (2, 3)


def _value(table: sa.Table, column: sa.Column, bind: sa.types.TypeEngine, n: int, shape: str):
    if column.foreign_keys or (column.nullable and _is_null(n, shape)):
        return None  # a foreign key is filled in by _foreign_key
    if isinstance(bind, sa.Enum):
        return bind.enums[n % len(bind.enums)]
    kind = _python_type(bind)
    if kind is bool:
        # Plainly, False: a partial unique index on a flag (one Inbox per
        # user) refuses a second True for a parent that already has one.
        return shape != PLAIN and n % 4 in (1, 2)
    if kind is int:
        return _integer(_integer_bits(bind), n, shape)
    if kind is str:
        return _string(column.type.length, n, shape)  # the database's limit, not the model's
    if kind is bytes:
        return _bytes(getattr(column.type, "length", None), n, shape)
    if kind is datetime:
        aware = getattr(getattr(bind, "impl_instance", bind), "timezone", False)
        return _datetime(aware, n, shape)
    if kind in OTHER_VALUES:
        return OTHER_VALUES[kind](n, shape)
    raise SeedingError(
        f"Table {table.name}, column {column.name}: the seeder has no values for "
        f"{bind!r}. Teach todoapp/migration_tools/stairway.py to make some."
    )


def _integer_bits(type_: sa.types.TypeEngine) -> int:
    if isinstance(type_, sa.SmallInteger):
        return 16
    return 64 if isinstance(type_, sa.BigInteger) else 32


def _integer(bits: int, n: int, shape: str) -> int:
    if shape != AT_THE_LIMITS:
        return n
    top, bottom = 2 ** (bits - 1) - 1, -(2 ** (bits - 1))
    return top - n // 4 if n % 4 < 2 else bottom + n // 4


def _string(length: int | None, n: int, shape: str) -> str:
    if shape == AT_THE_LIMITS:
        size = length or LONG_TEXT
        return (f"{n}-" + NON_ASCII * (size // len(NON_ASCII) + 1))[:size]
    if shape == SHORT:
        return _base36(n)
    return f"row {n}"


def _base36(n: int) -> str:
    digits = string.digits + string.ascii_lowercase
    text = ""
    while True:
        n, digit = divmod(n, 36)
        text = digits[digit] + text
        if not n:
            return text


def _bytes(length: int | None, n: int, shape: str) -> bytes:
    if shape != AT_THE_LIMITS:
        return f"row {n}".encode()
    size = length or LONG_TEXT
    return (f"{n}-".encode() + bytes(range(256)) * (size // 256 + 1))[:size]


def _datetime(aware: bool, n: int, shape: str) -> datetime:
    if shape == AT_THE_LIMITS:
        when = LATEST - timedelta(seconds=n) if n % 4 < 2 else EARLIEST + timedelta(seconds=n)
    elif shape == SHORT:
        when = (ORDINARY + timedelta(minutes=n)).astimezone(ELSEWHERE)
    else:
        when = ORDINARY + timedelta(minutes=n)
    return when if aware else when.astimezone(UTC).replace(tzinfo=None)


# Kinds of column the app does not use yet: a plain value each, distinct per row.
OTHER_VALUES = {
    date: lambda n, shape: (ORDINARY + timedelta(days=n)).date(),
    time: lambda n, shape: time(12, 30, n % 60, 999999),
    Decimal: lambda n, shape: Decimal(n) + Decimal("0.25"),
    float: lambda n, shape: n + 0.25,
    timedelta: lambda n, shape: timedelta(days=n, microseconds=1),
    uuid.UUID: lambda n, shape: uuid.UUID(int=n + 1),
    dict: lambda n, shape: {"row": n, "text": NON_ASCII},
}
