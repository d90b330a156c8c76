"""What autogenerate compares and writes beyond Alembic's own.

Online operations: an index or a foreign key that autogenerate adds to (or,
in a downgrade, drops from) a table that already exists is written as a call
to ``todoapp.migration_tools.online`` (``prefer_online``), which builds it
without stalling a live PostgreSQL. On a table the same revision creates,
the plain operation stays: the table is empty and nothing uses it yet.

A downgrade that makes a dropped index again makes it as the revision that
created it did (``CreatedIndexes``): autogenerate reflects a partial
index's condition for the one database it ran on, and a re-create written
from that alone would build a full index on the other. Where no revision
says how, or the revision disagrees with the database, the plain operation
stays, under a ``# CHECK:`` comment and with a warning.

SQLite's AUTOINCREMENT:

Alembic does not compare ``sqlite_autoincrement``: a model that asks for
``AUTOINCREMENT`` would never get a revision, and ``flask db check`` would
call the database up to date. On SQLite the keyword can only be added by
rebuilding the table, so the revision this writes is a batch rebuild that
runs on SQLite alone (the migration runner keeps every row through it). It
is written in plain Alembic, so the revision file needs nothing from here.
"""

from __future__ import annotations

import logging
import os
import re
import textwrap

from alembic.autogenerate import comparators, renderers
from alembic.operations import ops
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, Column

from .lint.reader import DIALECTS, IndexCreation, autoincrement_tables, index_creations

logger = logging.getLogger(__name__)

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


class Check(ops.MigrateOperation):
    """A ``# CHECK:`` comment above an operation a person has to read."""

    def __init__(self, text: str):
        self.text = text


@renderers.dispatch_for(Check)
def render_check(autogen_context, op: Check) -> str:
    lines = textwrap.wrap(
        f"CHECK: {op.text}", width=88, break_long_words=False, break_on_hyphens=False
    )
    return "\n".join(f"# {line}" if n == 0 else f"#   {line}" for n, line in enumerate(lines))


class CreatedIndexes:
    """How each index was created: the call in the latest revision whose
    ``upgrade()`` creates it unconditionally (read with the lint's reader),
    and any later one under an ``if``, which must agree with it.

    ``dialect`` is the database autogenerate compared against: what it
    reflected is checked against the call's condition for that database.
    """

    def __init__(self, script: ScriptDirectory, dialect: str):
        self.script = script
        self.dialect = dialect
        self.checks: list[str] = []
        self._read: list[tuple[str, list[IndexCreation]]] | None = None

    def _revisions(self) -> list[tuple[str, list[IndexCreation]]]:
        """Each revision file's index creations, newest revision first."""
        if self._read is None:
            self._read = []
            for revision in self.script.walk_revisions():
                with open(revision.path, encoding="utf-8") as file:
                    self._read.append((revision.path, index_creations(file.read())))
        return self._read

    def _relative(self, path: str) -> str:
        """``migrations/versions/<file>``, as a person finds it from the project."""
        return os.path.relpath(path, os.path.dirname(os.path.abspath(self.script.dir)))

    def calls(self, name: str) -> list[tuple[str, IndexCreation]]:
        """The calls that create ``name``, newest first, down to the latest
        unconditional one (the last in the list, if there is one)."""
        found = []
        for path, creations in self._revisions():
            for creation in reversed(creations):
                if creation.name == name:
                    found.append((f"{self._relative(path)}:{creation.line}", creation))
                    if not creation.conditional:
                        return found
        return found

    def where(self, operation: ops.CreateIndexOp, columns: list[str]) -> dict | None:
        """The ``*_where`` options of the call that created the index, when it
        agrees with what was reflected; else None, with a warning and a
        ``# CHECK:`` comment for the operation kept as reflected."""
        name = str(operation.index_name)
        calls = self.calls(name)
        problem = _disagreement(calls, operation, columns, self.dialect)
        if problem is None:
            return {f"{d}_where": calls[-1][1].where[d] for d in DIALECTS}
        where = f"; created at {calls[-1][0]}" if calls else ""
        logger.warning(
            "Index %s: the downgrade re-creates it as %s reflected it, not as it was created "
            "(%s%s). Check the line marked CHECK in the new revision's downgrade(): on the "
            "other database it may build a full index, with writes waiting.",
            name,
            self.dialect,
            problem,
            where,
        )
        self.checks.append(
            f"{name} is re-created as {self.dialect} reflected it ({problem}{where}). "
            "Make it online.create_index with the where= of both databases."
        )
        return None

    def take(self) -> list[Check]:
        """The comments for the operations read since the last call."""
        taken, self.checks = [Check(text) for text in self.checks], []
        return taken


def _disagreement(
    calls: list[tuple[str, IndexCreation]],
    operation: ops.CreateIndexOp,
    columns: list[str],
    dialect: str,
) -> str | None:
    """Why the creating call cannot be trusted for this index; None if it can."""
    if not calls:
        return "no revision's upgrade creates it"
    if calls[-1][1].conditional:
        return "revisions create it only under an if"
    creation = calls[-1][1]
    if not creation.readable:
        return "the creating call is not one autogenerate can read"
    if tuple(columns) != creation.columns or bool(operation.unique) != creation.unique:
        return "its columns or uniqueness differ from the creating call's"
    reflected = operation.kw.get(f"{dialect}_where")
    if _loose(reflected) != _loose(creation.where[dialect]):
        return f"{dialect}'s condition differs from the creating call's"
    for later, other in calls[:-1]:
        if other.columns != creation.columns or any(
            other.where[d] is not None and _loose(other.where[d]) != _loose(creation.where[d])
            for d in DIALECTS
        ):
            return f"the call under an if at {later} makes it another way"
    return None


def _loose(condition) -> str | None:
    """A condition compared as the databases may write it back: case,
    whitespace and parentheses aside (PostgreSQL adds the last)."""
    if condition is None:
        return None
    return " ".join(str(condition).replace("(", " ").replace(")", " ").lower().split())


def prefer_online(
    script: ops.MigrationScript, metadata, created: CreatedIndexes | None = None
) -> None:
    """Rewrite the generated operations in place (see the module docstring).
    ``metadata``: the app's models, which say which tables keep AUTOINCREMENT;
    ``created``: how the existing indexes were created, for the downgrade's
    re-creates (without it, they are written from what was reflected)."""
    autoincrement = autoincrement_tables(metadata)
    for upgrade_ops in script.upgrade_ops_list:
        new = {o.table_name for o in upgrade_ops.ops if isinstance(o, ops.CreateTableOp)}
        upgrade_ops.ops = _keep_autoincrement(_rewrite(upgrade_ops.ops, new), autoincrement)
    for downgrade_ops in script.downgrade_ops_list:
        going = {o.table_name for o in downgrade_ops.ops if isinstance(o, ops.DropTableOp)}
        downgrade_ops.ops = _keep_autoincrement(
            _rewrite(downgrade_ops.ops, going, created), autoincrement
        )


def _keep_autoincrement(operations: list, tables: set[str]) -> list:
    return [
        AutoincrementBatch(o.table_name, o.ops, schema=o.schema)
        if type(o) is ops.ModifyTableOps and o.table_name in tables
        else o
        for o in operations
    ]


def _rewrite(
    operations: list, plain_tables: set[str], created: CreatedIndexes | None = None
) -> list:
    result = []
    for operation in operations:
        if isinstance(operation, ops.ModifyTableOps):  # a batch block, as SQLite needs
            if operation.table_name in plain_tables:
                result.append(operation)
                continue
            rewritten = [(o, _online_call(o, created)) for o in operation.ops]
            operation.ops = [o for o, call in rewritten if call is None]
            result += created.take() if created else []
            if operation.ops:
                result.append(operation)
            result += [call for _, call in rewritten if call is not None]
        elif getattr(operation, "table_name", None) not in plain_tables and (
            call := _online_call(operation, created)
        ):
            result.append(call)
        else:
            result += created.take() if created else []
            result.append(operation)
    return result


DROP_IGNORES = {"unique", "sqlite_where", "postgresql_where"}


def _partial(kw: dict, every_database: bool = False) -> str | None | bool:
    """The ``where=`` of a partial index, as source: one condition when the
    models give the same to both databases, else the one for the database
    the revision runs on (SQLite's planner uses a partial index only when
    the query holds its condition as written, and the two databases write a
    boolean test differently); None for a plain index; False for options
    the helper does not take (or a condition for one database only, unless
    ``every_database`` says the options name all there are, as the call that
    created an index does: a database without one gets a full index)."""
    given = {k: v for k, v in kw.items() if v is not None}
    wheres = {d: str(given.pop(f"{d}_where")) for d in DIALECTS if f"{d}_where" in given}
    if given or (len(wheres) == 1 and not every_database):
        return False
    if not wheres:
        return None
    wheres = {d: wheres.get(d) for d in DIALECTS}
    if len(set(wheres.values())) == 1:
        return repr(wheres["sqlite"])
    return f"{wheres!r}[op.get_context().dialect.name]"


def _online_call(operation, created: CreatedIndexes | None = None) -> OnlineCall | None:
    """The online form of an operation, or None when it has none (or has
    options the helper does not take, such as an expression index).
    ``created``: a re-created index is written as the revision that made it
    wrote it (see ``CreatedIndexes``)."""
    if isinstance(operation, ops.CreateIndexOp):
        columns = [
            c if isinstance(c, str) else c.name
            for c in operation.columns
            if isinstance(c, str | Column)
        ]
        if len(columns) != len(operation.columns):
            return None
        where = _partial(operation.kw)
        if created is not None:
            as_created = created.where(operation, columns)
            if as_created is None:
                return None
            where = _partial({**operation.kw, **as_created}, every_database=True)
        if where is False:
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
