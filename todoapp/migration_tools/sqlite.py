"""What a SQLite table rebuild must keep that Alembic's batch mode loses.

A batch rebuild creates ``_alembic_tmp_<table>``, copies the rows into it,
drops the table and renames the copy. Two things about ids go missing:

- ``AUTOINCREMENT``: reflection cannot see it, so the copy is made without
  it unless the block passes ``table_kwargs={"sqlite_autoincrement": True}``.
  ``keep_autoincrement`` gives the copy what the table had, unless the block
  says otherwise.
- The table's row in ``sqlite_sequence``: dropping the table deletes it, and
  the copy's row counts from the rows copied, so the ids of rows deleted at
  the top (purged todos) would be handed out again. ``IdSequences`` puts
  every sequence back to at least where it stood before the revision.

``flask db upgrade`` uses both for every revision it runs on SQLite, so
committed revisions, generated ones and hand-written ones all keep their ids.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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
def keep_autoincrement(current_sql: Callable[[str], str | None]) -> Iterator[None]:
    """While the block runs, a batch block's copy of a table is created with
    AUTOINCREMENT if the table has it now (``current_sql(name)`` gives the
    table's CREATE statement) and the block does not say
    ``sqlite_autoincrement`` itself."""

    def before_create(table: sa.Table, _connection, **_kw) -> None:
        match = BATCH_COPY.match(table.name)
        # Iterating the view gives the options given; "in" would see defaults too.
        if match is None or AUTOINCREMENT_OPTION in set(table.dialect_kwargs):
            return
        if has_autoincrement(current_sql(match["table"])):
            table.dialect_kwargs[AUTOINCREMENT_OPTION] = True

    sa.event.listen(sa.Table, "before_create", before_create)
    try:
        yield
    finally:
        sa.event.remove(sa.Table, "before_create", before_create)


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
