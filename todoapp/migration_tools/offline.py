"""Offline SQL (``flask db upgrade --sql``) that a shell runs as
``flask db upgrade`` would, for every revision, on both databases.

PostgreSQL: the script starts with ``\\set ON_ERROR_STOP on``, so psql stops
at the first error instead of going on to stamp the revision that failed
(the online helpers commit some steps on their own, so the script is
several transactions, and without it a failed index build was followed by
the version row moving to head). Each revision is a transaction of its own.

SQLite: a batch block that rebuilds a table copies it from its definition,
which Alembic reads from the live database, so offline it used to refuse
(its ``copy_from``), and nothing from the first rebuild on could be written.
Here a shadow, an in-memory SQLite database, runs every statement the
script prints as it prints it (after being brought to the revision the
script starts from), so it always holds the schema the script has built so
far; each batch block is given its table from there. The script also keeps
every id sequence through a rebuild, as the runner does online: the
sequences are saved at the start and put back, never lower, after each
revision (``sqlite.IdSequences`` online).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from . import sqlite

POSTGRES_STOP = "\\set ON_ERROR_STOP on"
SQLITE_BAIL = ".bail on"
# Statements the shadow leaves out: it needs no transactions of its own.
TRANSACTION = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK)\b", re.IGNORECASE)
# The sequences as they stood before the revision, in a table of the
# script's own session (TEMP: gone when the shell exits). The first two
# statements make sqlite_sequence, which SQLite makes with the first
# AUTOINCREMENT table, so that it can be read from the start.
SAVE_SEQUENCES = """\
-- Id sequences, kept through table rebuilds: saved here, put back after each revision.
CREATE TABLE IF NOT EXISTS todoapp_sequence_maker (id INTEGER PRIMARY KEY AUTOINCREMENT);
DROP TABLE todoapp_sequence_maker;
CREATE TEMP TABLE todoapp_kept_sequences (name TEXT, seq INTEGER);
INSERT INTO temp.todoapp_kept_sequences SELECT name, seq FROM sqlite_sequence;
"""
RESTORE_SEQUENCES = """\
UPDATE sqlite_sequence
SET seq = (SELECT k.seq FROM temp.todoapp_kept_sequences k WHERE k.name = sqlite_sequence.name)
WHERE seq < (SELECT k.seq FROM temp.todoapp_kept_sequences k WHERE k.name = sqlite_sequence.name);

INSERT INTO sqlite_sequence (name, seq) SELECT k.name, k.seq FROM temp.todoapp_kept_sequences k
WHERE k.name NOT IN (SELECT name FROM sqlite_sequence)
AND k.name IN (SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%');

DELETE FROM temp.todoapp_kept_sequences;

INSERT INTO temp.todoapp_kept_sequences SELECT name, seq FROM sqlite_sequence;
"""


class Shadow:
    """An in-memory SQLite database that runs what the script prints."""

    def __init__(self):
        self.raw = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self.engine = sa.create_engine(
            "sqlite://", creator=lambda: self.raw, poolclass=sa.pool.StaticPool
        )
        self.pending = ""

    def feed(self, text: str) -> None:
        """Run each complete statement of ``text`` (dot commands, comments and
        transaction control left out)."""
        lines = [line for line in text.splitlines(keepends=True) if not line.startswith(".")]
        self.pending += "".join(lines)
        if not sqlite3.complete_statement(self.pending):
            return
        statements, self.pending = self.pending, ""
        for statement in _split(statements):
            if TRANSACTION.match(statement):
                continue
            try:
                self.raw.execute(statement)
            except sqlite3.Error as exc:
                raise CommandError(
                    f"The offline script fails on a database with no rows, at: "
                    f"{' '.join(statement.split())[:200]} ({exc})"
                ) from None

    def table(self, name: str) -> sa.Table:
        """``name`` as the script has built it so far."""
        with self.engine.connect() as connection:
            return sa.Table(name, sa.MetaData(), autoload_with=connection)

    def table_sql(self, name: str) -> str | None:
        return sqlite.table_sql(self.raw, name)

    def close(self) -> None:
        self.engine.dispose()
        self.raw.close()


def _split(script: str) -> list[str]:
    """The statements of ``script``, each whole (sqlite3 tells where one ends)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip() and not _only_comments(current):
                statements.append(current)
            current = ""
    return statements


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("--") for line in text.splitlines())


class Tee:
    """The output buffer of an offline run: what is written goes to ``out``
    and to the shadow."""

    def __init__(self, out, shadow: Shadow):
        self.out, self.shadow = out, shadow

    def write(self, text: str) -> int:
        self.shadow.feed(text)
        return self.out.write(text)

    def flush(self) -> None:
        flush = getattr(self.out, "flush", None)
        if flush is not None:
            flush()


def rebuilds(shadow: Shadow):
    """``sqlite.faithful_rebuilds`` for an offline run: tables and indexes
    read off the shadow, each batch block given its table from there."""
    return sqlite.faithful_rebuilds(shadow.raw, copy_from=shadow.table)


def shadow_at(script: ScriptDirectory, heads: Sequence[str]) -> Shadow:
    """A shadow holding the schema at ``heads`` (none: empty), built by the
    revisions' own upgrades, printed to the shadow alone."""
    shadow = Shadow()
    context = MigrationContext.configure(
        dialect_name="sqlite",
        opts={"as_sql": True, "literal_binds": True, "output_buffer": Tee(_Nowhere(), shadow)},
    )
    revisions = list(script.iterate_revisions(tuple(heads), "base"))[::-1] if heads else []
    with Operations.context(context), rebuilds(shadow):
        for revision in revisions:
            revision.module.upgrade()
    if heads:  # from nothing, the script makes the version table itself
        shadow.raw.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        shadow.raw.executemany("INSERT INTO alembic_version VALUES (?)", [(h,) for h in heads])
    return shadow


class _Nowhere:
    def write(self, text: str) -> int:
        return len(text)


def starting_heads(script: ScriptDirectory, argument: str | None) -> list[str]:
    """The revisions an offline script starts from: ``A`` of ``upgrade A:B``
    or of ``downgrade A:B``; an upgrade with no range starts from nothing."""
    if argument in (None, "base"):
        return []
    found = script.get_revisions(argument)
    return [revision.revision for revision in found if revision is not None]


def restore_sequences(output: Callable[[str], None]) -> Callable:
    """An ``on_version_apply`` callback that prints the SQL putting every
    sequence back after the revision just printed."""

    def after_revision(ctx, step, heads, run_args) -> None:
        output(RESTORE_SEQUENCES)

    return after_revision
