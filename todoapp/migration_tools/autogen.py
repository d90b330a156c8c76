"""What autogenerate compares and writes beyond Alembic's own.

Online operations: an index or a foreign key that autogenerate adds to (or,
in a downgrade, drops from) a table that already exists is written as a call
to ``todoapp.migration_tools.online`` (``prefer_online``), which builds it
without stalling a live PostgreSQL. On a table the same revision creates,
the plain operation stays: the table is empty and nothing uses it yet.

SQLite's AUTOINCREMENT:

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
from sqlalchemy import CheckConstraint, Column

from .lint.reader import autoincrement_tables

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


KEEP = {"sqlite_autoincrement": True}


class AutoincrementBatch(ops.ModifyTableOps):
    """A batch block on a table the app's model declares with AUTOINCREMENT:
    written with ``table_kwargs={"sqlite_autoincrement": True}``, so that a
    rebuild on SQLite keeps it (and the runner keeps the id sequence)."""


@renderers.dispatch_for(AutoincrementBatch)
def render_autoincrement_batch(autogen_context, op: AutoincrementBatch) -> list[str]:
    plain = ops.ModifyTableOps(op.table_name, op.ops, schema=op.schema)
    lines = renderers.dispatch(plain)(autogen_context, plain)
    if lines and lines[0].endswith(") as batch_op:"):
        lines[0] = lines[0][: -len(") as batch_op:")] + f", table_kwargs={KEEP!r}) as batch_op:"
    return lines


# A CHECK constraint's literals: what a change of a limit in the model
# (LIST_NAME_MAX 60 -> 80) changes, however the database spells the rest
# (PostgreSQL writes BETWEEN as >= AND <=, with casts).
LITERAL = re.compile(r"'(?:[^']|'')*'|(?<![\w.])\d+(?:\.\d+)?(?![\w.])")


@comparators.dispatch_for("table")
def compare_check_constraints(
    autogen_context, modify_ops, schemaname, tablename, conn_table, metadata_table
) -> None:
    """Alembic does not compare CHECK constraints: a model whose limit changed
    would never get a revision. Each named CHECK of the model whose literals
    differ from the database's is dropped and made again."""
    if conn_table is None or metadata_table is None:
        return
    found = {
        str(c.name): c for c in conn_table.constraints if isinstance(c, CheckConstraint) and c.name
    }
    for constraint in sorted(metadata_table.constraints, key=lambda c: str(c.name)):
        if not isinstance(constraint, CheckConstraint) or not constraint.name:
            continue
        there = found.get(str(constraint.name))
        if there is not None and _literals(str(there.sqltext)) != _literals(
            str(constraint.sqltext)
        ):
            modify_ops.ops += [
                ops.DropConstraintOp.from_constraint(there),
                ops.CreateCheckConstraintOp.from_constraint(constraint),
            ]


def _literals(sql: str) -> list[str]:
    return sorted(LITERAL.findall(sql))


class OnlineCall(ops.MigrateOperation):
    """A call to one of ``online``'s helpers, in place of a plain operation."""

    def __init__(self, source: str):
        self.source = source


@renderers.dispatch_for(OnlineCall)
def render_online_call(autogen_context, op: OnlineCall) -> str:
    autogen_context.imports.add("from todoapp.migration_tools import online")
    return op.source


def prefer_online(script: ops.MigrationScript, metadata) -> None:
    """Rewrite the generated operations in place (see the module docstring).
    ``metadata``: the app's models, which say which tables keep AUTOINCREMENT."""
    autoincrement = autoincrement_tables(metadata)
    for upgrade_ops in script.upgrade_ops_list:
        new = {o.table_name for o in upgrade_ops.ops if isinstance(o, ops.CreateTableOp)}
        upgrade_ops.ops = _keep_autoincrement(_rewrite(upgrade_ops.ops, new), autoincrement)
    for downgrade_ops in script.downgrade_ops_list:
        going = {o.table_name for o in downgrade_ops.ops if isinstance(o, ops.DropTableOp)}
        downgrade_ops.ops = _keep_autoincrement(_rewrite(downgrade_ops.ops, going), autoincrement)


def _keep_autoincrement(operations: list, tables: set[str]) -> list:
    return [
        AutoincrementBatch(o.table_name, o.ops, schema=o.schema)
        if type(o) is ops.ModifyTableOps and o.table_name in tables
        else o
        for o in operations
    ]


def _rewrite(operations: list, plain_tables: set[str]) -> list:
    result = []
    for operation in operations:
        if isinstance(operation, ops.ModifyTableOps):  # a batch block, as SQLite needs
            if operation.table_name in plain_tables:
                result.append(operation)
                continue
            calls = [c for c in map(_online_call, operation.ops) if c is not None]
            operation.ops = [o for o in operation.ops if _online_call(o) is None]
            if operation.ops:
                result.append(operation)
            result += calls
        elif getattr(operation, "table_name", None) not in plain_tables and (
            call := _online_call(operation)
        ):
            result.append(call)
        else:
            result.append(operation)
    return result


DROP_IGNORES = {"unique", "sqlite_where", "postgresql_where"}


def _partial(kw: dict) -> str | None | bool:
    """The ``where=`` of a partial index, as source: one condition when the
    models give the same to both databases, else the one for the database
    the revision runs on (SQLite's planner uses a partial index only when
    the query holds its condition as written, and the two databases write a
    boolean test differently); None for a plain index; False for options
    the helper does not take (or a condition for one database only)."""
    given = {k: v for k, v in kw.items() if v is not None}
    wheres = {
        d: str(given.pop(f"{d}_where")) for d in ("sqlite", "postgresql") if f"{d}_where" in given
    }
    if given or len(wheres) == 1:
        return False
    if not wheres:
        return None
    if len(set(wheres.values())) == 1:
        return repr(wheres["sqlite"])
    return f"{wheres!r}[op.get_context().dialect.name]"


def _online_call(operation) -> OnlineCall | None:
    """The online form of an operation, or None when it has none (or has
    options the helper does not take, such as an expression index)."""
    if isinstance(operation, ops.CreateIndexOp):
        columns = [
            c if isinstance(c, str) else c.name
            for c in operation.columns
            if isinstance(c, str | Column)
        ]
        where = _partial(operation.kw)
        if len(columns) != len(operation.columns) or where is False:
            return None
        unique = ", unique=True" if operation.unique else ""
        partial = f", where={where}" if where else ""
        return OnlineCall(
            f"online.create_index({str(operation.index_name)!r}, {operation.table_name!r}, "
            f"{columns!r}{unique}{partial})"
        )
    if isinstance(operation, ops.DropIndexOp):
        # A partial index's WHERE plays no part in dropping it.
        if {k: v for k, v in operation.kw.items() if k not in DROP_IGNORES}:
            return None
        return OnlineCall(
            f"online.drop_index({str(operation.index_name)!r}, {operation.table_name!r})"
        )
    if isinstance(operation, ops.CreateForeignKeyOp):
        extra = {k: v for k, v in operation.kw.items() if v is not None}
        ondelete = extra.pop("ondelete", None)
        if extra or operation.constraint_name is None:
            return None
        on_delete = f", ondelete={ondelete!r}" if ondelete else ""
        return OnlineCall(
            f"online.add_foreign_key({str(operation.constraint_name)!r}, "
            f"{operation.source_table!r}, {operation.referent_table!r}, "
            f"{list(operation.local_cols)!r}, {list(operation.remote_cols)!r}{on_delete})"
        )
    return None
