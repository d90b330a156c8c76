"""What a SQLite table rebuild must keep that Alembic's batch mode loses.

A batch rebuild creates ``_alembic_tmp_<table>``, copies the rows into it,
drops the table and renames the copy. Three things go missing:

- ``AUTOINCREMENT``: reflection cannot see it, so the copy is made without
  it unless the block passes ``table_kwargs={"sqlite_autoincrement": True}``.
  ``faithful_rebuilds`` gives the copy what the table had, unless the block
  says otherwise.
- The table's row in ``sqlite_sequence``: dropping the table deletes it, and
  the copy's row counts from the rows copied, so the ids of rows deleted at
  the top (purged todos) would be handed out again. ``IdSequences`` puts
  every sequence back to at least where it stood before the revision.
- The order the table's indexes were made in: the copy makes them in an
  order that changes from run to run, and with no statistics SQLite breaks a
  tie between two usable indexes by taking the one made last, so a list
  query could move to an index that also reads trashed rows.
  ``faithful_rebuilds`` makes them again in their order after the block.

``flask db upgrade`` uses both for every revision it runs on SQLite, so
committed revisions, generated ones and hand-written ones all keep their ids.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import alembic.op
import sqlalchemy as sa
from alembic.util import CommandError

logger = logging.getLogger("alembic.env")

AUTOINCREMENT = re.compile(r"\bAUTOINCREMENT\b", re.IGNORECASE)
# Alembic's name for a batch block's copy of ``table`` (alembic/operations/batch.py).
BATCH_COPY = re.compile(r"^_alembic_tmp_(?P<table>.+)$")
AUTOINCREMENT_OPTION = "sqlite_autoincrement"


def table_sql(raw, table: str) -> str | None:
    """The CREATE TABLE statement SQLite keeps for ``table``, or None."""
    row = raw.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return row[0] if row else None


def has_autoincrement(sql: str | None) -> bool:
    return bool(sql and AUTOINCREMENT.search(sql))


def autoincrement_tables(raw) -> set[str]:
    """The tables declared with AUTOINCREMENT."""
    rows = raw.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
    return {name for name, sql in rows.fetchall() if has_autoincrement(sql)}


def sequences(raw) -> dict[str, int]:
    """Each AUTOINCREMENT table's highest id handed out so far."""
    if table_sql(raw, "sqlite_sequence") is None:  # made with the first AUTOINCREMENT table
        return {}
    return dict(raw.execute("SELECT name, seq FROM sqlite_sequence").fetchall())


@contextmanager
def faithful_rebuilds(raw, *, copy_from: Callable[[str], sa.Table] | None = None) -> Iterator[None]:
    """While the block runs (inside ``Operations.context``, whose ``op`` it
    wraps), each ``op.batch_alter_table`` block that rebuilds its table:

    - makes the copy with AUTOINCREMENT if the table has it now and the
      block does not say ``sqlite_autoincrement`` itself;
    - makes the table's indexes again, once the block is done, in the order
      they were made before it (what the revision does after the block, it
      does as it means to), and its triggers, which the drop of the old
      table took with it (the search index's keep it in step: 0016);
    - with ``copy_from`` (offline, where nothing can be reflected), takes the
      table's definition from it.

    ``raw`` is the SQLite connection the revisions run on (offline: the
    shadow's), read for the table's definition and its indexes."""
    given = alembic.op.batch_alter_table
    rebuilt: set[str] = set()

    def before_create(table: sa.Table, _connection, **_kw) -> None:
        match = BATCH_COPY.match(table.name)
        if match is None:
            return
        rebuilt.add(match["table"])
        # Iterating the view gives the options given; "in" would see defaults too.
        if AUTOINCREMENT_OPTION not in set(table.dialect_kwargs) and has_autoincrement(
            table_sql(raw, match["table"])
        ):
            table.dialect_kwargs[AUTOINCREMENT_OPTION] = True

    @contextmanager
    def batch_alter_table(table_name: str, *args, **kw):
        # copy_from is the fifth parameter: args hold schema, recreate, partial_reordering first.
        if copy_from is not None and len(args) < 4 and kw.get("copy_from") is None:
            kw["copy_from"] = copy_from(table_name)
        made = indexes(raw)
        triggers_before = triggers(raw, table_name)
        rebuilt.discard(table_name)
        with given(table_name, *args, **kw) as batch:
            yield batch
        if table_name in rebuilt:
            for statement in index_order(made, indexes(raw), table_name):
                alembic.op.execute(statement)
            now = triggers(raw, table_name)
            for name, sql in triggers_before.items():
                if name not in now:
                    alembic.op.execute(sql)

    alembic.op.batch_alter_table = batch_alter_table
    sa.event.listen(sa.Table, "before_create", before_create)
    try:
        yield
    finally:
        sa.event.remove(sa.Table, "before_create", before_create)
        alembic.op.batch_alter_table = given


class IdSequences:
    """Before a revision commits, every id sequence is put back to at least
    where it stood when the revision began: a rebuild resets it to the
    highest id still in the table. An upgrade that left a table without the
    AUTOINCREMENT it had, and that the app's model asks for, is refused."""

    def __init__(self, raw, wanted: Callable[[str], bool]):
        self.raw = raw
        self.wanted = wanted
        self.before = sequences(raw)
        self.autoincrement = autoincrement_tables(raw)

    def __call__(self, revision: str, is_upgrade: bool) -> None:
        now = autoincrement_tables(self.raw)
        lost = sorted(
            name for name in self.autoincrement - now if self._exists(name) and self.wanted(name)
        )
        if lost and is_upgrade:
            raise CommandError(
                f"Revision {revision} rebuilt {', '.join(lost)} without AUTOINCREMENT, so ids "
                "of deleted rows could be handed out again; it was rolled back. Rebuild with "
                'op.batch_alter_table(..., table_kwargs={"sqlite_autoincrement": True}).'
            )
        current = sequences(self.raw)
        for name, seq in sorted(self.before.items()):
            if name not in now or current.get(name, 0) >= seq:
                continue
            if name in current:
                sql = "UPDATE sqlite_sequence SET seq = :seq WHERE name = :name"
            else:
                sql = "INSERT INTO sqlite_sequence (name, seq) VALUES (:name, :seq)"
            self.raw.execute(sql, {"name": name, "seq": seq})
            logger.info(
                "Kept %s's id sequence at %d: the rebuild had set it to %s.",
                name,
                seq,
                current.get(name, "nothing"),
            )
        # The next revision starts from here.
        self.before, self.autoincrement = sequences(self.raw), now

    def _exists(self, name: str) -> bool:
        return table_sql(self.raw, name) is not None


def indexes(raw) -> list[tuple[str, str, str]]:
    """Every index made by a CREATE INDEX, as (table, name, sql), oldest first."""
    return raw.execute(
        "SELECT tbl_name, name, sql FROM sqlite_master "
        "WHERE type = 'index' AND sql IS NOT NULL ORDER BY rowid"
    ).fetchall()


def triggers(raw, table: str) -> dict[str, str]:
    """``table``'s triggers, name to the CREATE TRIGGER that made them, oldest first."""
    return dict(
        raw.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? "
            "ORDER BY rowid",
            (table,),
        ).fetchall()
    )


def index_order(before: list[tuple], after: list[tuple], table: str) -> list[str]:
    """Statements that put ``table``'s indexes back in the order they were
    made in ``before``, where a rebuild changed it (those the block made
    come after them, in their own order)."""
    old = [name for t, name, _ in before if t == table]
    now = {name: sql for t, name, sql in after if t == table}
    kept = [name for name in now if name in old]
    wanted = [name for name in old if name in now]
    if kept == wanted:
        return []
    first = next(i for i, (a, b) in enumerate(zip(kept, wanted, strict=True)) if a != b)
    again = wanted[first:] + [name for name in now if name not in old]
    return [f'DROP INDEX "{name}"' for name in again] + [now[name] for name in again]
