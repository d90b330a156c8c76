"""What autogenerate compares beyond Alembic's own checks.

Alembic does not compare ``sqlite_autoincrement``: a model that asks for
``AUTOINCREMENT`` would never get a revision, and ``flask db check`` would
call the database up to date. On SQLite the keyword can only be added by
rebuilding the table, so the revision this writes is a batch rebuild that
runs on SQLite alone (the migration runner keeps every row through it). It
is written in plain Alembic, so the revision file needs nothing from here.
"""

from __future__ import annotations

import re

from alembic.autogenerate import comparators, renderers
from alembic.operations import ops

AUTOINCREMENT = re.compile(r"\bAUTOINCREMENT\b", re.IGNORECASE)


class SetSQLiteAutoincrement(ops.MigrateOperation):
    """Rebuild ``table_name`` on SQLite with or without AUTOINCREMENT."""

    def __init__(self, table_name: str, autoincrement: bool):
        self.table_name = table_name
        self.autoincrement = autoincrement

    def reverse(self) -> SetSQLiteAutoincrement:
        return SetSQLiteAutoincrement(self.table_name, not self.autoincrement)

    def to_diff_tuple(self) -> tuple:
        return ("sqlite_autoincrement", self.table_name, self.autoincrement)


@comparators.dispatch_for("schema", qualifier="sqlite")
def compare_sqlite_autoincrement(autogen_context, upgrade_ops, schemas) -> None:
    connection = autogen_context.connection
    for table in autogen_context.sorted_tables:
        wanted = bool(table.dialect_options["sqlite"]["autoincrement"])
        sql = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table.name,)
        ).scalar()
        if sql is not None and wanted != bool(AUTOINCREMENT.search(sql)):
            upgrade_ops.ops.append(SetSQLiteAutoincrement(table.name, wanted))


@renderers.dispatch_for(SetSQLiteAutoincrement)
def render_sqlite_autoincrement(autogen_context, op: SetSQLiteAutoincrement) -> str:
    what = "with" if op.autoincrement else "without"
    return (
        'if op.get_context().dialect.name == "sqlite":\n'
        f"    # Rebuild {op.table_name} {what} AUTOINCREMENT: SQLite cannot ALTER it in place.\n"
        f"    with op.batch_alter_table(\n"
        f'        "{op.table_name}",\n'
        f'        recreate="always",\n'
        f'        table_kwargs={{"sqlite_autoincrement": {op.autoincrement}}},\n'
        f"    ):\n"
        f"        pass"
    )
