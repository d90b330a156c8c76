"""Online operations: schema changes a live PostgreSQL keeps serving through.

On PostgreSQL the plain operations lock too much for too long once a table
has rows: ``op.create_index`` blocks every write until the index is built,
``op.create_foreign_key`` scans the table while writes wait, and
``op.alter_column(nullable=False)`` scans it while reads wait too. The
functions here reach the same schema with short locks, and each commits its
own steps (Alembic's ``autocommit_block``), so a long build never holds the
revision's transaction open::

    import sqlalchemy as sa
    from alembic import op

    from todoapp.migration_tools import online

    def upgrade():
        online.add_column("todos", sa.Column("list_id", sa.Integer()))
        online.create_index("ix_todos_list_id", "todos", ["list_id"])
        online.add_foreign_key("fk_todos_list_id", "todos", "lists", ["list_id"], ["id"])

A run that stops halfway (a lock it gave up on, a cancelled build, a crash)
leaves the revision unrecorded, and some of these steps committed. Every
function therefore looks first and finishes what is there: a column or a
constraint that exists is kept, an index left INVALID by an interrupted
``CREATE INDEX CONCURRENTLY`` is dropped and built again. Running the
revision again completes it.

On SQLite there is one writer and nothing to keep serving: each function does
the plain operation inside the revision's transaction (a foreign key or
NOT NULL means a table rebuild, which ``flask db upgrade`` runs safely).
Offline (``--sql``), nothing can be looked up; the PostgreSQL script uses
``IF [NOT] EXISTS`` where PostgreSQL has it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

logger = logging.getLogger("alembic.runtime.migration")

BACKFILL_BATCH = 1_000
BACKFILL_REPORT_EVERY = 50  # batches between two progress lines
# SQLite has one write lock; a backfill that took it again at once would win
# nearly every time over a writer polling for it (see services.todos).
SQLITE_BACKFILL_PAUSE = 0.025  # seconds


# Rows written on SQLite with foreign keys on (see _checked): the runner
# leaves them out when it decides whether a revision needs its whole-database
# foreign-key check.
checked_changes = 0


def _postgres() -> bool:
    return op.get_context().dialect.name == "postgresql"


def _offline() -> bool:
    return op.get_context().as_sql


def _scalar(sql: str, **params):
    return op.get_bind().execute(sa.text(sql), params).scalar()


def add_column(table: str, column: sa.Column) -> None:
    """Add a nullable column (or one with a constant server default, which
    PostgreSQL 11+ stores without rewriting the table). The lock it takes is
    brief; the runner's lock_timeout bounds how long it may queue for it."""
    if _postgres():
        op.add_column(table, column, if_not_exists=True)
    elif _offline() or column.name not in _sqlite_columns(table):
        op.add_column(table, column)


def add_reference_column(
    table: str,
    column: str,
    referent: str,
    *,
    name: str,
    ondelete: str | None = None,
) -> None:
    """Add a nullable integer column ``column`` referencing ``referent.id``.

    PostgreSQL: the column, then the foreign key ``NOT VALID`` and validated
    (``add_foreign_key``). SQLite: one ``ALTER TABLE ... ADD COLUMN`` with the
    reference written inline, which SQLite allows for a column whose default
    is NULL, so the table is not rebuilt."""
    if _postgres():
        add_column(table, sa.Column(column, sa.Integer()))
        add_foreign_key(name, table, referent, [column], ["id"], ondelete=ondelete)
        return
    if not _offline() and column in _sqlite_columns(table):
        return
    action = f" ON DELETE {ondelete}" if ondelete else ""
    op.execute(
        f"ALTER TABLE {table} ADD COLUMN {column} INTEGER "
        f"CONSTRAINT {name} REFERENCES {referent} (id){action}"
    )


def create_index(
    name: str,
    table: str,
    columns: Sequence[str],
    *,
    unique: bool = False,
    where: str | None = None,
) -> None:
    """Build an index without blocking writes (``CREATE INDEX CONCURRENTLY``)."""
    if not _postgres():
        op.create_index(
            name,
            table,
            list(columns),
            unique=unique,
            sqlite_where=sa.text(where) if where else None,
            if_not_exists=True,
        )
        return
    with op.get_context().autocommit_block():
        if _offline():
            # An interrupted run may have left an INVALID index of this name.
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        else:
            valid = _scalar(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)", name=name
            )
            if valid:
                logger.info("Index %s is already built: nothing to do.", name)
                return
            if valid is not None:
                logger.info("Dropping index %s, left INVALID by an interrupted build.", name)
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        # One process builds it. PostgreSQL would otherwise add parallel
        # workers (max_parallel_maintenance_workers, 2 by default), and a
        # build on every core leaves none for the queries it is meant not to
        # disturb: a slower build, in exchange for a server that keeps serving.
        op.execute("SET max_parallel_maintenance_workers = 0")
        op.create_index(
            name,
            table,
            list(columns),
            unique=unique,
            postgresql_where=sa.text(where) if where else None,
            postgresql_concurrently=True,
            if_not_exists=True,
        )
        op.execute("RESET max_parallel_maintenance_workers")


def drop_index(name: str, table: str) -> None:
    """Drop an index without blocking reads and writes (``DROP INDEX CONCURRENTLY``)."""
    if not _postgres():
        op.drop_index(name, table_name=table, if_exists=True)
        return
    with op.get_context().autocommit_block():
        op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)


def add_foreign_key(
    name: str,
    source: str,
    referent: str,
    local_columns: Sequence[str],
    remote_columns: Sequence[str],
    *,
    ondelete: str | None = None,
) -> None:
    """Add a foreign key in two steps on PostgreSQL: ``NOT VALID`` (a brief
    lock, checks new rows only), then ``VALIDATE CONSTRAINT``, which scans the
    existing rows while reads and writes go on."""
    if not _postgres():
        with op.batch_alter_table(source) as batch:
            batch.create_foreign_key(
                name, referent, list(local_columns), list(remote_columns), ondelete=ondelete
            )
        return
    with op.get_context().autocommit_block():
        if _offline() or not _constraint_exists(source, name):
            op.create_foreign_key(
                name,
                source,
                referent,
                list(local_columns),
                list(remote_columns),
                ondelete=ondelete,
                postgresql_not_valid=True,
            )
        op.execute(f"ALTER TABLE {source} VALIDATE CONSTRAINT {name}")


def set_not_null(table: str, column: str, *, sqlite_table_kwargs: dict | None = None) -> None:
    """Make a column NOT NULL once every row has a value (see ``backfill``).

    On PostgreSQL a plain ``SET NOT NULL`` scans the table while reads and
    writes wait. Instead: a CHECK constraint ``NOT VALID``, validated while
    the table serves, lets ``SET NOT NULL`` (PostgreSQL 12+) skip the scan;
    the CHECK is then dropped. On SQLite the table is rebuilt; pass
    ``sqlite_table_kwargs`` it was made with that reflection cannot see
    (``{"sqlite_autoincrement": True}``)."""
    if not _postgres():
        with op.batch_alter_table(table, table_kwargs=sqlite_table_kwargs or {}) as batch:
            batch.alter_column(column, nullable=False)
        return
    check = f"ck_{table}_{column}_not_null"[:63]
    with op.get_context().autocommit_block():
        if _offline() or not _constraint_exists(table, check):
            op.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ({column} IS NOT NULL) NOT VALID"
            )
        op.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {check}")
        op.alter_column(table, column, nullable=False)
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {check}")


def backfill(
    table: str,
    assignments: str,
    where: str,
    *,
    batch_size: int = BACKFILL_BATCH,
    pause: float | None = None,
) -> int:
    """``UPDATE table SET assignments WHERE where``, a batch of rows per
    commit, so no transaction holds many row locks (or SQLite's write lock)
    for long. ``where`` must select the rows still to do (``"list_id IS
    NULL"``), so a rerun after a kill carries on where the last one stopped.
    It walks the primary key from one batch to the next (no index on the
    column needed), and takes the rows present when it starts, up to their
    highest id.
    Progress is logged as a bar with a count. On SQLite foreign keys are on
    for it, so each row it writes is checked as it goes. ``pause``: seconds between two
    batches, so that writers polling for SQLite's lock get in (default
    SQLITE_BACKFILL_PAUSE on SQLite, none on PostgreSQL). Returns how many
    rows it updated (offline: one UPDATE for all, 0)."""
    if _offline():
        op.execute(f"UPDATE {table} SET {assignments} WHERE {where}")  # noqa: S608
        return 0
    if pause is None:
        pause = 0.0 if _postgres() else SQLITE_BACKFILL_PAUSE
    # Through the primary key, from where the last batch ended: no index on
    # the column is needed, and each batch reads only rows after the last.
    chosen = sa.text(
        f"SELECT id FROM {table} WHERE id > :after AND id <= :last AND ({where}) "  # noqa: S608
        "ORDER BY id LIMIT :n"
    )
    # The condition again: a row may have changed since it was chosen.
    statement = sa.text(
        f"UPDATE {table} SET {assignments} WHERE id IN :ids AND ({where})"  # noqa: S608
    ).bindparams(sa.bindparam("ids", expanding=True))
    done = batches = 0
    with op.get_context().autocommit_block(), _checked():
        # Only the rows there when it starts: a server of the version before
        # keeps writing rows that need it, and a backfill chasing them would
        # never end. Those are for the revision that contracts, run once
        # every server writes the new column itself.
        last = _scalar(f"SELECT max(id) FROM {table}") or 0  # noqa: S608
        total = _scalar(f"SELECT count(*) FROM {table} WHERE ({where}) AND id <= {last}")  # noqa: S608
        logger.info("Backfill of %s: %s rows to update.", table, f"{total:,}")
        after = 0
        bind = op.get_bind()
        while True:
            ids = bind.execute(chosen, {"after": after, "last": last, "n": batch_size}).scalars()
            ids = list(ids)
            if not ids:
                break
            done += _counted(bind.execute(statement, {"ids": ids}).rowcount)
            after = ids[-1]
            batches += 1
            if batches % BACKFILL_REPORT_EVERY == 0:
                logger.info("Backfill of %s: %s", table, progress_bar(done, total))
            time.sleep(pause)
    logger.info("Backfill of %s: %s rows updated.", table, f"{done:,}")
    return done


def progress_bar(done: int, total: int, width: int = 20) -> str:
    """``[#######.............]  35%  350,000 of 1,000,000 rows``. Rows
    written by others meanwhile can take ``done`` past ``total``."""
    share = min(done / total, 1.0) if total else 1.0
    filled = round(share * width)
    bar = "#" * filled + "." * (width - filled)
    return f"[{bar}] {share:4.0%}  {done:,} of {max(total, done):,} rows"


def execute_checked(sql: str) -> int:
    """Run one data statement (an INSERT ... SELECT, say) committed on its own,
    outside the revision's transaction, like a backfill batch. On SQLite
    foreign keys are on for it, so SQLite checks each row it writes. Returns
    how many rows it wrote (offline: 0)."""
    if _offline():
        op.execute(sql)
        return 0
    with op.get_context().autocommit_block(), _checked():
        return _counted(op.get_bind().execute(sa.text(sql)).rowcount)


class _checked:
    """On SQLite, foreign keys on while the block runs (the runner turns them
    off for revisions, for table rebuilds; outside a transaction they can be
    turned on again). On PostgreSQL they are always on."""

    def __enter__(self):
        if not _postgres():
            op.get_bind().exec_driver_sql("PRAGMA foreign_keys = ON")

    def __exit__(self, *exc):
        if not _postgres():
            op.get_bind().exec_driver_sql("PRAGMA foreign_keys = OFF")


def _counted(rows: int) -> int:
    global checked_changes
    if not _postgres():
        checked_changes += max(rows, 0)
    return rows


def _constraint_exists(table: str, name: str) -> bool:
    return bool(
        _scalar(
            "SELECT 1 FROM pg_constraint WHERE conname = :name AND conrelid = to_regclass(:table)",
            name=name,
            table=table,
        )
    )


def _sqlite_columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def create_trigram_index(name: str, table: str, column: str) -> None:
    """PostgreSQL: a GIN index of ``column``'s trigrams (``pg_trgm``, made if
    missing), which ``ILIKE '%…%'`` reads; built ``CONCURRENTLY`` by one
    process, as ``create_index`` builds, an INVALID one left by an
    interrupted build dropped and built again. Nothing on SQLite (see
    ``create_fts5_index``)."""
    if not _postgres():
        return
    # A trusted extension from PostgreSQL 13 on: a database owner may make it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with op.get_context().autocommit_block():
        if _offline():
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        else:
            valid = _scalar(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)", name=name
            )
            if valid:
                logger.info("Index %s is already built: nothing to do.", name)
                return
            if valid is not None:
                logger.info("Dropping index %s, left INVALID by an interrupted build.", name)
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        op.execute("SET max_parallel_maintenance_workers = 0")
        op.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} "
            f"ON {table} USING gin ({column} gin_trgm_ops)"
        )
        op.execute("RESET max_parallel_maintenance_workers")


def create_owner_trigram_index(
    name: str, table: str, column: str, *, by: Sequence[str] = ("user_id",)
) -> None:
    """PostgreSQL: a GIN index of the columns ``by``, compared with ``=``
    (``btree_gin``), and of ``column``'s trigrams (``pg_trgm``), the
    extensions made if missing, so that a query for one owner's rows whose
    ``column`` is ``ILIKE '%…%'`` reads that owner's entries only. Built as
    ``create_trigram_index`` builds. Nothing on SQLite."""
    if not _postgres():
        return
    # Trusted extensions from PostgreSQL 13 on: a database owner may make them.
    # Where one cannot be made, the revision stops here, before any index.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    columns = ", ".join([*by, f"{column} gin_trgm_ops"])
    with op.get_context().autocommit_block():
        if _already_built(name):
            return
        op.execute("SET max_parallel_maintenance_workers = 0")
        op.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} USING gin ({columns})"
        )
        op.execute("RESET max_parallel_maintenance_workers")


def _already_built(name: str) -> bool:
    """PostgreSQL, in an autocommit block: whether index ``name`` is there
    and valid. One left INVALID by an interrupted ``CREATE INDEX
    CONCURRENTLY`` is dropped, to be built again (offline: dropped if there)."""
    if _offline():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        return False
    valid = _scalar(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)", name=name
    )
    if valid:
        logger.info("Index %s is already built: nothing to do.", name)
        return True
    if valid is not None:
        logger.info("Dropping index %s, left INVALID by an interrupted build.", name)
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    return False


def drop_trigram_index(name: str, table: str) -> None:
    """Undo ``create_trigram_index`` or ``create_owner_trigram_index``:
    PostgreSQL drops the index concurrently; the extensions stay, as other
    objects may use them. Nothing on SQLite, which has no such index."""
    if _postgres():
        drop_index(name, table)


def create_fts5_index(
    name: str, table: str, column: str, *, owner: str = "user_id", batch_size: int = BACKFILL_BATCH
) -> None:
    """SQLite: a contentless FTS5 table ``name`` (trigram tokenizer) of
    ``table.column`` and of each row's owner (``owner``, an integer id, as a
    token of three characters, one trigram of its own: ``owner_token``), so
    that a search asks for one owner's rows and the index intersects the two;
    triggers ``<name>_insert``, ``_delete`` and ``_update`` that keep it in
    step with every write; and the rows already there indexed in batches of
    ids, each committed, with a pause between them so that writers get
    SQLite's lock, and a progress bar. The triggers come first, so rows
    written meanwhile are indexed as they are written. A delete or an update
    touches the index only for a row it holds (its ``_docsize`` row, one per
    indexed row), and a batch skips rows already held: a row updated before
    its batch is indexed once, with its new text, and a rerun after a kill
    carries on. Nothing on PostgreSQL (see ``create_trigram_index``)."""
    if _postgres():
        return
    # What it writes goes to the index's own tables, which have no foreign
    # keys: counted as checked (below), so the runner skips its whole-database
    # check, which at a million todos held the write lock for seconds.
    raw = None if _offline() else op.get_bind().connection.driver_connection
    start = None if raw is None else raw.total_changes
    # The names come from the revision, never from input.
    held = f"EXISTS (SELECT 1 FROM {name}_docsize WHERE id = old.id)"  # noqa: S608
    columns = f"{column}, {owner}"
    remove = (
        f"INSERT INTO {name} ({name}, rowid, {columns}) "  # noqa: S608
        f"VALUES ('delete', old.id, old.{column}, {owner_token('old.' + owner)});"
    )
    add = (
        f"INSERT INTO {name} (rowid, {columns}) "  # noqa: S608
        f"VALUES (new.id, new.{column}, {owner_token('new.' + owner)});"
    )
    for statement in (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {name} USING fts5"
        f"({columns}, content='', tokenize='trigram')",
        f"CREATE TRIGGER IF NOT EXISTS {name}_insert AFTER INSERT ON {table} BEGIN {add} END",
        f"CREATE TRIGGER IF NOT EXISTS {name}_delete AFTER DELETE ON {table} "
        f"WHEN {held} BEGIN {remove} END",
        f"CREATE TRIGGER IF NOT EXISTS {name}_update AFTER UPDATE OF {columns} ON {table} "
        f"WHEN {held} BEGIN {remove} {add} END",
    ):
        op.execute(statement)
    fill = (
        f"INSERT INTO {name} (rowid, {columns}) "  # noqa: S608
        f"SELECT id, {column}, {owner_token(owner)} FROM {table} "
        "WHERE id > {after} AND id <= {upto} AND NOT EXISTS "
        f"(SELECT 1 FROM {name}_docsize WHERE {name}_docsize.id = {table}.id)"
    )
    if _offline():
        op.execute(fill.format(after=0, upto=2**63 - 1))
        return
    # The revision's transaction holds the table and triggers; commit them,
    # then fill in batches of their own (writers get in between).
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        last = _scalar(f"SELECT max(id) FROM {table}") or 0  # noqa: S608
        total = _scalar(f"SELECT count(*) FROM {table}") or 0  # noqa: S608
        logger.info("Search index %s: %s rows to index.", name, f"{total:,}")
        done = batches = 0
        for after in range(0, last, batch_size):
            done += bind.exec_driver_sql(fill.format(after=after, upto=after + batch_size)).rowcount
            batches += 1
            if batches % BACKFILL_REPORT_EVERY == 0:
                logger.info("Search index %s: %s", name, progress_bar(done, total))
            time.sleep(SQLITE_BACKFILL_PAUSE)
    logger.info("Search index %s: %s rows indexed.", name, f"{done:,}")
    global checked_changes
    checked_changes += raw.total_changes - start


def owner_token(owner: str) -> str:
    """SQLite: the owner id ``owner`` (an SQL expression, at most 2**32 - 1)
    as three characters of the supplementary private use area B, one trigram
    that no other owner has (services.search makes the same)."""
    base = 0x100000
    return f"char({base}, {base} + ({owner} >> 16), {base} + ({owner} & 65535))"


def drop_search_index(name: str, table: str, index: str) -> None:
    """Undo ``create_trigram_index`` (the index; the pg_trgm extension stays,
    as other objects may use it) and ``create_fts5_index`` (the triggers,
    then the FTS5 table and its shadow tables)."""
    if _postgres():
        drop_index(index, table)
        return
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}_{trigger}")
    op.execute(f"DROP TABLE IF EXISTS {name}")
