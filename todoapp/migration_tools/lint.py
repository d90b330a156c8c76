"""``flask db lint [RANGE]``: the migration guide's risk table, checked by a program.

Each revision file is read with :mod:`ast`, never imported by this module, and
every Alembic operation its ``upgrade()`` and ``downgrade()`` run is put at a
level:

========  ===============================================================
Low       add a column, create a table or an index, drop an index; the
          ``online`` helpers, named by their expand/contract step
Medium    add or drop a constraint, change a column's nullability or
          default; rebuild a table on SQLite that no other table references
High      change a column's type; rename a column or a table (servers still
          on the old release break); rebuild a table on SQLite that other
          tables reference with foreign keys; anything PostgreSQL would run
          with a lock that stalls the app (``pglocks``: the project's rules
          and squawk's, on the revision's PostgreSQL SQL)
Critical  drop a column or a table: the data goes, and no downgrade
          brings it back
Fails     add a NOT NULL column with no server_default to a table that
          already existed: the database refuses it once the table has rows
Review    raw SQL (``op.execute``), direct use of the connection, and any
          operation the table does not know: a person has to read it
========  ===============================================================

What counts is what Alembic runs: ``op.<name>(...)`` whatever ``alembic.op``
is imported as (``from alembic import op as o``, ``import alembic``), the
operations in a ``batch_alter_table`` block, and the bodies of the
module-level functions that ``upgrade()`` or ``downgrade()`` call by name,
however deep (reported at their own line, "in helper via upgrade"). Calls
under an ``if`` count as well, since either branch may run somewhere; a
``for`` loop over a literal sequence (or a module-level constant holding one)
is unrolled, so each index it creates is named.

Table rebuilds: a ``batch_alter_table`` block copies its table into a new one,
drops the old one and renames the copy when told to (``recreate="always"``)
or, on SQLite, when it holds anything but ``create_index``, ``drop_index``
and ``add_column`` with at most a literal server_default (Alembic's own
rule, so ``drop_column`` in a batch rebuilds too). That takes time and disk
in proportion to the rows; and with foreign keys on, dropping the old table
would apply the ON DELETE of every foreign key that references it. ``flask db
upgrade`` runs SQLite revisions with foreign keys off and checks them before
it commits, so the rebuild is safe there and nowhere else. Which tables
reference which comes from the app's models (``db.metadata``).

A revision whose High and Critical operations a person has checked says so
with a module-level string, which the linter reads without running the file::

    RISKS_REVIEWED = "dana, 2026-11-25: todos.done unused since 0004"

The command fails (exit code 1) when an ``upgrade()`` it lints holds a High
or Critical operation and no such marker (revisions before LOCK_RULES_FROM:
Critical only), or an operation that Fails, which no marker excuses.
``downgrade()`` findings are listed in their own group and never fail it:
a downgrade normally drops what its upgrade added. Without RANGE the
command lints the revisions still pending on the app's database; with one,
every revision in the range.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import click
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from . import naming, pglocks

LOW, MEDIUM, HIGH = "Low", "Medium", "High"
CRITICAL, FAILS, REVIEW = "Critical", "Fails", "Review"
LEVELS = (LOW, MEDIUM, HIGH, CRITICAL, FAILS, REVIEW)
ALEMBIC_FUNCTIONS = ("upgrade", "downgrade")
MARKER = "RISKS_REVIEWED"
# Revisions numbered below this were written before the lint knew PostgreSQL's
# locks: their High findings are reported, and fail nothing.
LOCK_RULES_FROM = 4
# How levels combine when PostgreSQL's view of an operation adds one.
RANK = {LOW: 0, MEDIUM: 1, REVIEW: 1, HIGH: 2, CRITICAL: 3, FAILS: 4}
MARKER_EXAMPLE = f'{MARKER} = "who, when, why it is safe"'
SQL_WIDTH = 60
EXPRESSION_WIDTH = 30
DESCRIPTION_WIDTH = 60
MAX_UNROLL = 50
REBUILD_NOTE = (
    "safe only under 'flask db upgrade' (foreign keys off, checked before commit); run any "
    "other way with foreign keys on, dropping the old table would apply those ON DELETEs"
)

# Positional parameters of each operation, as ``op.<name>(...)`` takes them.
# On a batch object the table parameter is left out: the ``with`` names it.
SIGNATURES = {
    "add_column": ("table_name", "column"),
    "alter_column": ("table_name", "column_name"),
    "create_check_constraint": ("constraint_name", "table_name", "condition"),
    "create_exclude_constraint": ("constraint_name", "table_name"),
    "create_foreign_key": ("constraint_name", "source_table", "referent_table"),
    "create_index": ("index_name", "table_name", "columns"),
    "create_primary_key": ("constraint_name", "table_name", "columns"),
    "create_table": ("table_name",),
    "create_unique_constraint": ("constraint_name", "table_name", "columns"),
    "drop_column": ("table_name", "column_name"),
    "drop_constraint": ("constraint_name", "table_name", "type_"),
    "drop_index": ("index_name", "table_name"),
    "drop_table": ("table_name",),
    "execute": ("sqltext",),
    "rename_table": ("old_table_name", "new_table_name"),
}
TABLE_PARAMETERS = ("table_name", "source_table")
# The helpers of ``todoapp.migration_tools.online``, as they take their arguments.
ONLINE_SIGNATURES = {
    "add_column": ("table", "column"),
    "create_index": ("name", "table", "columns"),
    "drop_index": ("name", "table"),
    "add_foreign_key": ("name", "source", "referent"),
    "add_reference_column": ("table", "column", "referent"),
    "set_not_null": ("table", "column"),
    "backfill": ("table", "assignments", "where"),
    "execute_checked": ("sql",),
}
CONSTRAINT_KINDS = {
    "create_check_constraint": "check constraint",
    "create_exclude_constraint": "exclude constraint",
    "create_foreign_key": "foreign key",
    "create_primary_key": "primary key",
    "create_unique_constraint": "unique constraint",
}
# Helpers on ``op`` that change nothing in the schema by themselves.
HELPERS = {"f", "get_context", "inline_literal", "batch_alter_table", "implementation_for"}
# Column arguments whose values the database makes up for existing rows.
GENERATED = {"Identity", "Computed"}

# For each table, the columns whose foreign keys reference it, with their ON DELETE.
References = Mapping[str, Sequence[tuple[str, str | None]]]


@dataclass(frozen=True)
class Finding:
    """One operation that an ``upgrade()`` or ``downgrade()`` runs, at its level.

    ``path`` is the Alembic function, then the helpers it called to get here.
    """

    level: str
    description: str
    line: int
    path: tuple[str, ...] = ("upgrade",)
    conditional: bool = False
    note: str = ""
    postgres: tuple[str, ...] = ()  # what PostgreSQL's SQL for it does: rule: message

    @property
    def function(self) -> str:
        return self.path[0]

    @property
    def where(self) -> str:
        """Where a person finds it: "line 40, in _drop_old via upgrade, under an if"."""
        parts = [f"line {self.line}"]
        if len(self.path) > 1:
            parts.append("in " + " via ".join(reversed(self.path)))
        if self.conditional:
            parts.append("under an if")
        return ", ".join(parts)


@dataclass
class RevisionReport:
    """What the linter found in one revision file."""

    revision: str
    message: str
    path: str
    findings: list[Finding] = field(default_factory=list)
    reviewed: str | None = None
    enforced: bool = True  # False: reported only (see LOCK_RULES_FROM)

    @property
    def filename(self) -> str:
        return os.path.basename(self.path)

    def findings_of(self, function: str) -> list[Finding]:
        return [f for f in self.findings if f.function == function]

    @property
    def critical(self) -> list[Finding]:
        """The upgrade's findings that need a person's review: Critical, and
        High too for revisions under the lock rules."""
        levels = {CRITICAL, HIGH} if self.enforced else {CRITICAL}
        return [f for f in self.findings_of("upgrade") if f.level in levels]

    @property
    def fails(self) -> list[Finding]:
        return [f for f in self.findings_of("upgrade") if f.level == FAILS]

    @property
    def problems(self) -> list[str]:
        """Why the revision fails the lint; empty when it passes."""
        problems = []
        if self.critical and not self.reviewed:
            problems.append("unreviewed " + "/".join(sorted({f.level for f in self.critical})))
        if self.fails:
            problems.append(FAILS)
        return problems


@dataclass
class LintReport:
    """The revisions linted, oldest first."""

    revisions: list[RevisionReport]

    @property
    def blocking(self) -> list[RevisionReport]:
        return [r for r in self.revisions if r.problems]

    def counts(self, function: str) -> Counter:
        return Counter(f.level for r in self.revisions for f in r.findings_of(function))


# --- reading one revision file ------------------------------------------------


@dataclass(frozen=True)
class RevisionModule:
    """What a revision file defines at its top level, as its operations need it."""

    op_names: frozenset[str]
    online_names: frozenset[str]
    constants: dict[str, ast.expr]
    functions: dict[str, ast.FunctionDef]
    references: References


@dataclass
class Batch:
    """A ``with op.batch_alter_table(...)`` block, while its body is read.

    ``rebuilt_by`` holds, for each operation in it that makes SQLite rebuild
    the table, whether that operation sits under an ``if`` of its own.
    """

    table: str
    recreate: str
    line: int
    conditions: int
    rebuilt_by: list[bool] = field(default_factory=list)


def analyse_source(source: str, references: References | None = None) -> list[Finding]:
    """The operations that the ``upgrade()`` and ``downgrade()`` of a revision run.

    ``references`` maps a table to the columns that reference it, so that a
    table rebuild can say what it puts at risk (see :func:`referencing_columns`).
    """
    module = ast.parse(source)
    functions = {
        node.name: node
        for node in module.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    revision = RevisionModule(
        _op_names(module),
        _online_names(module),
        _module_constants(module),
        functions,
        references or {},
    )
    findings = []
    for name in ALEMBIC_FUNCTIONS:
        if name in functions:
            findings += FunctionVisitor(revision, name).read(functions[name])
    return findings


def reviewed_marker(source: str) -> str | None:
    """The text of ``RISKS_REVIEWED``, if it is a non-empty string."""
    value = _module_constants(ast.parse(source)).get(MARKER)
    if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value.strip():
        return value.value.strip()
    return None


def referencing_columns(metadata: sa.MetaData) -> dict[str, list[tuple[str, str | None]]]:
    """For each table, the ``table.column`` of every foreign key that references
    it and that key's ON DELETE (None: the database's default, NO ACTION)."""
    references = defaultdict(list)
    for table in metadata.tables.values():
        for key in table.foreign_keys:
            references[key.column.table.name].append(
                (f"{table.name}.{key.parent.name}", key.ondelete)
            )
    return {table: sorted(columns) for table, columns in references.items()}


def _module_constants(module: ast.Module) -> dict[str, ast.expr]:
    """Module-level ``NAME = value`` assignments, as expressions."""
    constants = {}
    for node in module.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name):
            constants[target.id] = value
    return constants


def _op_names(module: ast.Module) -> frozenset[str]:
    """The dotted names ``alembic.op`` goes by in this module: ``op``, and
    whatever ``from alembic import op as o``, ``import alembic`` or ``import
    alembic.op`` make of it."""
    names = {"op"}
    for node in ast.walk(module):
        if isinstance(node, ast.ImportFrom) and node.module == "alembic":
            names.update(a.asname or a.name for a in node.names if a.name == "op")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "alembic.op":
                    names.add(alias.asname or "alembic.op")
                elif alias.name == "alembic":
                    names.add(f"{alias.asname or 'alembic'}.op")
    return frozenset(names)


def _online_names(module: ast.Module) -> frozenset[str]:
    """The names ``todoapp.migration_tools.online`` goes by in this module."""
    names = set()
    for node in ast.walk(module):
        if isinstance(node, ast.ImportFrom) and node.module == "todoapp.migration_tools":
            names.update(a.asname or a.name for a in node.names if a.name == "online")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "todoapp.migration_tools.online":
                    names.add(alias.asname or alias.name)
    return frozenset(names)


def _dotted(expr: ast.expr) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else None."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        owner = _dotted(expr.value)
        return f"{owner}.{expr.attr}" if owner else None
    return None


class FunctionVisitor(ast.NodeVisitor):
    """Collects the findings of one Alembic function and the helpers it calls.

    ``names`` maps a variable to the expression it stands for where that is
    known (module constants, loop variables of an unrolled loop, a helper's
    parameters), so that ``op.create_index(name, TABLE, ...)`` can still be
    described by name. ``batches`` maps the variable of each open
    ``batch_alter_table`` block to that block.
    """

    def __init__(self, revision: RevisionModule, function: str):
        self.revision = revision
        self.path = (function,)
        self.names = dict(revision.constants)
        self.batches: dict[str, Batch] = {}
        self.conditions = 0
        self.new_tables: set[str] = set()
        self.findings: list[Finding] = []

    def read(self, function: ast.FunctionDef) -> list[Finding]:
        for statement in function.body:
            self.visit(statement)
        return self.findings

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        self.conditions += 1
        for statement in node.body + node.orelse:
            self.visit(statement)
        self.conditions -= 1

    def visit_With(self, node: ast.With) -> None:
        outer = dict(self.batches)
        opened = []
        for item in node.items:
            self.visit(item.context_expr)
            batch = self._batch(item.context_expr)
            if batch is None:
                continue
            opened.append((batch, len(self.findings)))
            if isinstance(item.optional_vars, ast.Name):
                self.batches[item.optional_vars.id] = batch
        for statement in node.body:
            self.visit(statement)
        # The rebuild goes before the operations of its block; later blocks first,
        # so that the earlier positions still hold.
        for batch, position in reversed(opened):
            rebuild = self._rebuild(batch)
            if rebuild is not None:
                self.findings.insert(position, rebuild)
        self.batches = outer

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        items = self._literal_items(node.iter)
        if items is None or len(items) > MAX_UNROLL:
            items = [None]
        outer = dict(self.names)
        for item in items:
            self._bind(node.target, item)
            for statement in node.body:
                self.visit(statement)
        self.names = outer
        for statement in node.orelse:
            self.visit(statement)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self._bind(target, node.value)

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Name) and func.id in self.revision.functions:
            self._follow(self.revision.functions[func.id], node)
        elif isinstance(func, ast.Attribute):
            owner = _dotted(func.value)
            if owner in self.revision.op_names:
                self._operation(func.attr, node, batch=None)
            elif owner in self.revision.online_names:
                self._online(func.attr, node)
            elif owner in self.batches:
                self._operation(func.attr, node, batch=self.batches[owner])

    def _follow(self, helper: ast.FunctionDef, call: ast.Call) -> None:
        """Read a helper's body as if it ran here, its parameters bound to the
        call's arguments. A helper already being read (recursion) is not re-read."""
        if helper.name in self.path:
            return
        given = {name: self._resolve(value) for name, value in _parameters(helper, call).items()}
        outer = (self.names, self.batches, self.path)
        self.batches = {
            name: self.batches[value.id]
            for name, value in given.items()
            if isinstance(value, ast.Name) and value.id in self.batches
        }
        self.names = {**self.revision.constants, **given}
        self.path = (*self.path, helper.name)
        for statement in helper.body:
            self.visit(statement)
        self.names, self.batches, self.path = outer

    def _operation(self, name: str, call: ast.Call, batch: Batch | None) -> None:
        if name in HELPERS:
            return
        params = SIGNATURES.get(name, ())
        if batch is not None:
            params = tuple(p for p in params if p not in TABLE_PARAMETERS)
        args = {key: self._resolve(value) for key, value in _arguments(call, params).items()}
        if batch is not None:
            table = batch.table
            if _rebuilds_on_sqlite(name, args):
                batch.rebuilt_by.append(self.conditions > batch.conditions)
        else:
            table = self._text(args.get("table_name", args.get("source_table")))
        level, description = describe(name, args, self._text, table, table in self.new_tables)
        if name == "create_table":
            self.new_tables.add(table)
        self.findings.append(
            Finding(level, description, call.lineno, self.path, self.conditions > 0)
        )

    def _online(self, name: str, call: ast.Call) -> None:
        """A call to one of ``online``'s helpers, named by its expand/contract step."""
        params = ONLINE_SIGNATURES.get(name, ())
        args = {key: self._resolve(value) for key, value in _arguments(call, params).items()}
        table = self._text(args.get("table", args.get("source")))
        level, description = describe_online(
            name, args, self._text, table, table in self.new_tables
        )
        self.findings.append(
            Finding(level, description, call.lineno, self.path, self.conditions > 0)
        )

    def _batch(self, expr: ast.expr) -> Batch | None:
        """The block an ``op.batch_alter_table(...)`` call opens, else None."""
        if not (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Attribute)
            and expr.func.attr == "batch_alter_table"
            and _dotted(expr.func.value) in self.revision.op_names
        ):
            return None
        args = _arguments(expr, ("table_name", "schema", "recreate"))
        recreate = self._resolve(args.get("recreate", ast.Constant("auto")))
        return Batch(
            table=self._text(args.get("table_name")),
            recreate=recreate.value if isinstance(recreate, ast.Constant) else "auto",
            line=expr.lineno,
            conditions=self.conditions,
        )

    def _rebuild(self, batch: Batch) -> Finding | None:
        """The copy of the block's table, if the block makes one."""
        if batch.recreate == "always":
            how, conditional = '(recreate="always")', batch.conditions > 0
        elif batch.recreate == "auto" and batch.rebuilt_by:
            how, conditional = "on SQLite", batch.conditions > 0 or all(batch.rebuilt_by)
        else:
            return None
        referenced_by = self.revision.references.get(batch.table, ())
        level, description, note = describe_rebuild(batch.table, how, referenced_by)
        return Finding(level, description, batch.line, self.path, conditional, note)

    def _literal_items(self, expr: ast.expr) -> list[ast.expr] | None:
        expr = self._resolve(expr)
        if isinstance(expr, ast.Tuple | ast.List | ast.Set):
            return list(expr.elts)
        return None

    def _bind(self, target: ast.expr, value: ast.expr | None) -> None:
        """Remember what the names in ``target`` stand for (None: unknown)."""
        if isinstance(target, ast.Name):
            if value is None:
                self.names.pop(target.id, None)
            else:
                self.names[target.id] = value
        elif isinstance(target, ast.Tuple | ast.List):
            value = self._resolve(value) if value is not None else None
            parts = value.elts if isinstance(value, ast.Tuple | ast.List) else []
            if len(parts) != len(target.elts):
                parts = [None] * len(target.elts)
            for sub_target, part in zip(target.elts, parts, strict=True):
                self._bind(sub_target, part)

    def _resolve(self, expr: ast.expr) -> ast.expr:
        """Follow variables to the expression they stand for, where known."""
        for _ in range(10):  # a bound on ``a = b; b = a``
            if not (isinstance(expr, ast.Name) and expr.id in self.names):
                break
            expr = self.names[expr.id]
        return expr

    def _text(self, expr: ast.expr | None) -> str:
        """A name for a table, column, index or constraint, as it reads in a message."""
        if expr is None:
            return "?"
        expr = self._resolve(expr)
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return expr.value
        if isinstance(expr, ast.Call) and expr.args and _call_name(expr) in {"f", "Column", "text"}:
            return self._text(expr.args[0])
        return f"<{_shorten(ast.unparse(expr), EXPRESSION_WIDTH)}>"


def _arguments(call: ast.Call, params: tuple[str, ...]) -> dict[str, ast.expr]:
    """The call's arguments by parameter name: positional first, then keywords."""
    args = {name: value for name, value in zip(params, call.args, strict=False)}
    args.update({k.arg: k.value for k in call.keywords if k.arg is not None})
    return args


def _parameters(function: ast.FunctionDef, call: ast.Call) -> dict[str, ast.expr]:
    """What each parameter of ``function`` stands for in ``call``, defaults included."""
    spec = function.args
    positional = [a.arg for a in spec.posonlyargs + spec.args]
    bound = dict(
        zip(positional[len(positional) - len(spec.defaults) :], spec.defaults, strict=True)
    )
    bound.update(
        (a.arg, default)
        for a, default in zip(spec.kwonlyargs, spec.kw_defaults, strict=True)
        if default is not None
    )
    bound.update(_arguments(call, tuple(positional)))
    return bound


def _call_name(call: ast.Call) -> str:
    """``Column`` for ``sa.Column(...)`` and for ``Column(...)``."""
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _keyword(call: ast.expr | None, name: str) -> ast.expr | None:
    """A keyword argument of a call such as ``sa.Column(...)``, if given."""
    if isinstance(call, ast.Call):
        return next((k.value for k in call.keywords if k.arg == name), None)
    return None


def _rebuilds_on_sqlite(name: str, args: dict[str, ast.expr]) -> bool:
    """Whether this operation makes a batch block rebuild its table on SQLite.

    Alembic alters in place only for create_index, drop_index and an
    add_column whose server_default is not an SQL expression; anything else,
    drop_column included, copies the table.
    """
    if name in {"create_index", "drop_index"}:
        return False
    if name == "add_column":
        return isinstance(_keyword(args.get("column"), "server_default"), ast.Call)
    return True


def _fails_on_existing_rows(column: ast.expr | None) -> bool:
    """A ``Column(...)`` that is NOT NULL (``nullable=False`` or
    ``primary_key=True``) with no server_default and no value the database
    generates: existing rows would have nothing to hold."""
    if not (isinstance(column, ast.Call) and _call_name(column) == "Column"):
        return False
    nullable, primary_key = _keyword(column, "nullable"), _keyword(column, "primary_key")
    not_null = _is_literal(nullable, False) or _is_literal(primary_key, True)
    default = _keyword(column, "server_default")
    generated = any(isinstance(a, ast.Call) and _call_name(a) in GENERATED for a in column.args)
    return not_null and not generated and (default is None or _is_literal(default, None))


def describe(
    name: str, args: dict[str, ast.expr], text, table: str, table_is_new: bool
) -> tuple[str, str]:
    """The risk level and a description of the operation ``name`` on ``table``.

    ``text`` turns an argument's expression into the name it stands for;
    ``table_is_new`` says the same function created the table, so it is empty.
    """
    column = text(args.get("column_name"))
    if name == "add_column":
        added = f"{table}.{text(args.get('column'))}"
        if not table_is_new and _fails_on_existing_rows(args.get("column")):
            return (
                FAILS,
                f"add column {added} NOT NULL with no server_default: fails if {table} has rows",
            )
        return LOW, f"add column {added}"
    if name == "create_table":
        return LOW, f"create table {table}"
    if name == "create_index":
        kind = "unique index" if _is_literal(args.get("unique"), True) else "index"
        return LOW, f"create {kind} {text(args.get('index_name'))} on {table}"
    if name == "drop_index":
        return LOW, f"drop index {text(args.get('index_name'))} on {table}"
    if name == "alter_column":
        return _describe_alter(args, text, f"{table}.{column}")
    if name == "rename_table":
        old, new = text(args.get("old_table_name")), text(args.get("new_table_name"))
        return HIGH, f"rename table {old} to {new}: breaks servers still on the old release"
    if name in CONSTRAINT_KINDS:
        constraint = text(args.get("constraint_name"))
        target = f" -> {text(args['referent_table'])}" if "referent_table" in args else ""
        return MEDIUM, f"add {CONSTRAINT_KINDS[name]} {constraint} on {table}{target}"
    if name == "drop_constraint":
        return MEDIUM, f"drop constraint {text(args.get('constraint_name'))} on {table}"
    if name == "drop_column":
        return CRITICAL, f"drop column {table}.{column}"
    if name == "drop_table":
        return CRITICAL, f"drop table {table}"
    if name == "execute":
        return REVIEW, f"raw SQL: {_sql_text(args.get('sqltext'))}"
    if name == "get_bind":
        return REVIEW, "uses the database connection directly (get_bind): read what it runs"
    return REVIEW, f"{name}(): not in the risk table, read it"


def describe_online(
    name: str, args: dict[str, ast.expr], text, table: str, table_is_new: bool
) -> tuple[str, str]:
    """The level and description of a call to an ``online`` helper, with the
    expand/contract step it belongs to."""
    if name == "add_column":
        level, description = describe("add_column", args, text, table, table_is_new)
        return level, f"expand: {description}, online"
    if name == "create_index":
        kind = "unique index" if _is_literal(args.get("unique"), True) else "index"
        return LOW, f"expand: create {kind} {text(args.get('name'))} on {table} concurrently"
    if name == "drop_index":
        return LOW, f"contract: drop index {text(args.get('name'))} on {table} concurrently"
    if name == "add_foreign_key":
        return (
            LOW,
            f"expand: add foreign key {text(args.get('name'))} on {table} -> "
            f"{text(args.get('referent'))}, NOT VALID then validated",
        )
    if name == "add_reference_column":
        return (
            LOW,
            f"expand: add column {table}.{text(args.get('column'))} -> "
            f"{text(args.get('referent'))}, nullable, its foreign key NOT VALID then validated",
        )
    if name == "execute_checked":
        return REVIEW, f"raw SQL, committed on its own: {_sql_text(args.get('sql'))}"
    if name == "backfill":
        return LOW, f"backfill {table} in batches: {_sql_text(args.get('assignments'))}"
    if name == "set_not_null":
        return (
            MEDIUM,
            f"contract: {table}.{text(args.get('column'))} NOT NULL through a validated CHECK; "
            "every server running must already write it",
        )
    return REVIEW, f"online.{name}(): not in the risk table, read it"


def describe_rebuild(
    table: str, how: str, referenced_by: Sequence[tuple[str, str | None]]
) -> tuple[str, str, str]:
    """The level, description and note of a rebuild of ``table``."""
    description = f"rebuild table {table} {how}: copies every row; "
    if not referenced_by:
        return MEDIUM, description + "no table references it", ""
    columns = ", ".join(
        column + (f" (ON DELETE {ondelete.upper()})" if ondelete else "")
        for column, ondelete in referenced_by
    )
    return HIGH, description + f"referenced by {columns}", REBUILD_NOTE


def _describe_alter(args: dict[str, ast.expr], text, column: str) -> tuple[str, str]:
    changes = []
    if "type_" in args:
        changes.append(f"change type of {column} to {ast.unparse(args['type_'])}")
    if "new_column_name" in args:
        rename = f"to {text(args['new_column_name'])}"
        changes.append(f"rename {rename}" if changes else f"rename column {column} {rename}")
    if changes:
        if "new_column_name" in args:
            changes.append("breaks servers still on the old release")
        return HIGH, ", ".join(changes)
    altered = [
        key
        for key in args
        if key not in {"table_name", "column_name", "schema"} and not key.startswith("existing_")
    ]
    return MEDIUM, f"alter column {column} ({', '.join(altered) or 'no change given'})"


def _is_literal(expr: ast.expr | None, value: bool | None) -> bool:
    """Whether ``expr`` is the literal ``True``, ``False`` or ``None``."""
    return isinstance(expr, ast.Constant) and expr.value is value


def _sql_text(expr: ast.expr | None) -> str:
    """Raw SQL as one short line: the literal, or the expression that makes it."""
    if isinstance(expr, ast.Call) and expr.args:
        expr = expr.args[0]  # sa.text("...")
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        sql = expr.value
    else:
        sql = ast.unparse(expr) if expr is not None else "?"
    return _shorten(" ".join(sql.split()), SQL_WIDTH)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


# --- revisions and ranges -----------------------------------------------------


def lint(
    script_directory: ScriptDirectory,
    revisions: Iterable[str],
    references: References,
    *,
    postgres=None,
) -> LintReport:
    """Lint the given revision ids, in the order given (oldest first, please).

    ``references``: which columns reference each table (:func:`referencing_columns`).
    ``postgres(script)``, when given, returns PostgreSQL's findings for a
    revision (:func:`pglocks.findings`), each joined to the operation on its line.
    """
    reports = []
    for revision in revisions:
        script = script_directory.get_revision(revision)
        with open(script.path, encoding="utf-8") as file:
            source = file.read()
        found = analyse_source(source, references)
        if postgres is not None and not isinstance(script.down_revision, tuple | list):
            found = join_postgres(found, postgres(script))
        reports.append(
            RevisionReport(
                revision=script.revision,
                message=script.doc,
                path=script.path,
                findings=found,
                reviewed=reviewed_marker(source),
                enforced=naming.number(script.revision) >= LOCK_RULES_FROM,
            )
        )
    return LintReport(reports)


def join_postgres(findings: list[Finding], postgres: Iterable) -> list[Finding]:
    """Each PostgreSQL finding goes with the operation that wrote its
    statement: the one on its line that names the same index, constraint or
    column, else one elsewhere in the function that does (a batch block's
    statements come from its ``with`` line, a loop's from the loop's), else
    the first on its line. The operation's level rises to the finding's. A
    statement no operation matches is listed as a finding of its own."""
    findings = list(findings)
    extra: dict[tuple[str, int], Finding] = {}
    for hit in postgres:
        note = f"PostgreSQL, {hit.source}: {hit.message}"
        index = _operation_of(findings, hit)
        if index is None:
            key = (hit.function, hit.line)
            base = extra.get(key) or Finding(
                hit.level,
                f"on PostgreSQL: {_shorten(' '.join(hit.sql.split()), SQL_WIDTH)}",
                hit.line,
                (hit.function,),
            )
            extra[key] = _with_note(base, hit.level, note)
        else:
            findings[index] = _with_note(findings[index], hit.level, note)
    joined = findings + list(extra.values())
    return sorted(joined, key=lambda f: (ALEMBIC_FUNCTIONS.index(f.function), f.line))


def _operation_of(findings: list[Finding], hit) -> int | None:
    words = set(re.findall(r"\w+", hit.sql))

    def named(finding: Finding) -> int:
        # The longest name both mention: one with an underscore (so no plain
        # word), or the column of a "table.column".
        names = [w for w in re.findall(r"\w+", finding.description) if "_" in w]
        names += re.findall(r"\w+\.(\w+)", finding.description)
        return max((len(w) for w in names if w in words), default=0)

    candidates = [
        (named(f), f.line == hit.line, -i, i)
        for i, f in enumerate(findings)
        if f.function == hit.function
    ]
    candidates = [c for c in candidates if c[0] or c[1]]
    return max(candidates)[3] if candidates else None


def _with_note(finding: Finding, level: str, note: str) -> Finding:
    if note in finding.postgres:
        return finding
    higher = level if RANK[level] > RANK[finding.level] else finding.level
    return dataclasses.replace(finding, level=higher, postgres=(*finding.postgres, note))


def resolve_range(script_directory: ScriptDirectory, spec: str) -> list[str]:
    """The revision ids a RANGE names, oldest first.

    ``all`` is every revision; ``LOWER:UPPER`` runs from LOWER to UPPER, both
    included (unlike Alembic's ranges, which leave LOWER out), where LOWER may
    be ``base`` or empty and UPPER ``head``, ``heads`` or empty; a single id
    is that revision alone. Raises :class:`click.BadParameter` for anything
    Alembic cannot find.
    """
    try:
        if spec == "all":
            return _ids(script_directory.walk_revisions())
        if ":" in spec:
            lower, upper = (part.strip() for part in spec.split(":", 1))
            return _ids(script_directory.walk_revisions(lower or "base", upper or "heads"))
        script = script_directory.get_revision(spec)
    except CommandError as exc:
        raise click.BadParameter(
            f"{exc}. Give 'all', a range such as 'base:head', '0002:head' or '0001:0003' "
            "(both ends included), or one revision such as '0002'; "
            "'flask db history' lists them.",
            param_hint="RANGE",
        ) from None
    if script is None:
        raise click.BadParameter("'base' is not a revision; try 'all'.", param_hint="RANGE")
    return [script.revision]


def pending_revisions(script_directory: ScriptDirectory, current_heads: Iterable[str]) -> list[str]:
    """The revisions not yet applied to a database at ``current_heads``, oldest first."""
    current_heads = tuple(current_heads)
    applied = set()
    if current_heads:
        applied = set(_ids(script_directory.iterate_revisions(current_heads, "base")))
    return [rev for rev in _ids(script_directory.walk_revisions()) if rev not in applied]


def _ids(scripts: Iterable[Script]) -> list[str]:
    """Revision ids, oldest first, from Alembic's newest-first walk."""
    return [script.revision for script in scripts][::-1]


# --- output ---------------------------------------------------------------------


def format_report(report: LintReport) -> Iterator[str]:
    """The report as lines of text, revision by revision, then a summary."""
    for revision in report.revisions:
        yield f"{revision.revision}  {revision.message}  ({revision.filename})"
        for function in ALEMBIC_FUNCTIONS:
            yield from _format_group(function, revision.findings_of(function))
        if revision.critical and revision.reviewed:
            yield f"  Risks reviewed: {revision.reviewed}"
        elif not revision.enforced and any(
            f.level == HIGH for f in revision.findings_of("upgrade")
        ):
            yield f"  (before {LOCK_RULES_FROM:04d}: High findings are reported, not failed)"
    yield summary(report)


def _format_group(function: str, findings: list[Finding]) -> Iterator[str]:
    title = "upgrade:" if function == "upgrade" else f"{function} (never fails the lint):"
    if not findings:
        yield f"  {title} (no operations)"
        return
    yield f"  {title}"
    width = min(max(len(f.description) for f in findings), DESCRIPTION_WIDTH)
    for finding in findings:
        yield f"    {finding.level:<9} {finding.description:<{width}}  ({finding.where})"
        for note in (finding.note, *finding.postgres):
            if note:
                yield f"    {'':<9} {note}"


def summary(report: LintReport) -> str:
    groups = "; ".join(
        f"{function}: {_counted(report.counts(function))}" for function in ALEMBIC_FUNCTIONS
    )
    line = f"{_plural(len(report.revisions), 'revision')}. {groups}."
    if report.blocking:
        failing = ", ".join(f"{r.revision} ({', '.join(r.problems)})" for r in report.blocking)
        line += f" Fails the lint: {failing}."
    return line


def _counted(counts: Counter) -> str:
    """``5 operations (3 Low, 2 Review)``."""
    levels = ", ".join(f"{counts[level]} {level}" for level in LEVELS if counts[level])
    total = _plural(sum(counts.values()), "operation")
    return f"{total} ({levels})" if levels else total


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def format_failure(revision: RevisionReport) -> Iterator[str]:
    """Why a revision fails the lint, and what to do about it."""
    where = f"{revision.revision} ({_display_path(revision.path)})"
    if revision.fails:
        yield f"Error: {where} adds a NOT NULL column with no server_default to an existing table:"
        for finding in revision.fails:
            yield f"  {finding.description}  ({finding.where})"
        yield "  The database refuses it as soon as the table has rows: they would have no value."
        yield "  Give the Column a server_default=..., or add it nullable=True, fill it with an"
        yield "  UPDATE, then alter_column(..., nullable=False). This is a bug, not a risk:"
        yield f"  {MARKER} does not excuse it."
    if revision.critical and not revision.reviewed:
        yield f"Error: {where} has High or Critical operations no one has marked reviewed:"
        for finding in revision.critical:
            yield f"  {finding.level:<9} {finding.description}  ({finding.where})"
        yield "  Critical drops data that no downgrade brings back. High blocks the app's reads"
        yield "  or writes on a live PostgreSQL, or breaks the servers still on the old release:"
        yield "  prefer todoapp.migration_tools.online (see the README's Migrations on a live"
        yield "  PostgreSQL). Once a person has checked it is safe here, add at the top level of"
        yield f"  {revision.filename}:"
        yield f"      {MARKER_EXAMPLE}"


def _display_path(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative


# --- the command ----------------------------------------------------------------


@click.command("lint")
@click.argument("revision_range", metavar="[RANGE]", required=False)
@with_appcontext
def lint_command(revision_range: str | None) -> None:
    """Rate each operation in the revisions' upgrade() and downgrade() by risk.

    Without RANGE: the revisions not yet applied to the database. RANGE is
    'all', LOWER:UPPER with both ends included ('base:head', '0002:head',
    '0001:0003') or one revision ('0002').

    Fails (exit code 1) when an upgrade() holds a High operation (one that
    stalls a live PostgreSQL or breaks old servers) or a Critical one (drop
    column, drop table) and no module-level RISKS_REVIEWED = "who, when, why
    it is safe" says a person checked it, or adds a NOT NULL
    column with no server_default to an existing table, which no marker
    excuses. What downgrade() does is listed, and never fails it.
    """
    script_directory = _script_directory()
    if revision_range is None:
        revisions = _pending_on_database(script_directory)
        if not revisions:
            return
    else:
        revisions = resolve_range(script_directory, revision_range)
    report = lint(
        script_directory,
        revisions,
        referencing_columns(db.metadata),
        postgres=_postgres_findings(),
    )
    for line in format_report(report):
        click.echo(line)
    for revision in report.blocking:
        for line in format_failure(revision):
            click.echo(line, err=True)
    if report.blocking:
        raise click.exceptions.Exit(1)


def _postgres_findings():
    """What reads each revision's PostgreSQL SQL: the project's rules, and
    squawk's when it is installed (a dev dependency: ``make install``)."""
    use_squawk = pglocks.squawk_binary() is not None
    if not use_squawk:
        click.echo(
            "squawk is not installed (a dev dependency: `make install`): PostgreSQL "
            "findings come from the project's own rules only.",
            err=True,
        )
    config = current_app.extensions["migrate"]

    def findings(script):
        return pglocks.findings(
            lambda: config.migrate.get_config(config.directory), script, squawk=use_squawk
        )

    return findings


def _script_directory() -> ScriptDirectory:
    config = current_app.extensions["migrate"]
    return ScriptDirectory.from_config(config.migrate.get_config(config.directory))


def _pending_on_database(script_directory: ScriptDirectory) -> list[str]:
    """The pending revisions, after saying which ones they are (or that there are none)."""
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    at = f"at {', '.join(current)}" if current else "empty (no revision applied)"
    try:
        revisions = pending_revisions(script_directory, current)
    except CommandError as exc:
        raise click.ClickException(
            f"The database is {at}, which {os.path.basename(script_directory.dir)}/ "
            f"does not know: {exc}"
        ) from None
    if not revisions:
        click.echo(
            f"Nothing pending: the database is {at}, the head. 'flask db lint all' lints all."
        )
    else:
        click.echo(f"Pending (the database is {at}): {', '.join(revisions)}")
    return revisions
