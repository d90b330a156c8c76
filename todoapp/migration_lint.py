"""``flask db lint [RANGE]``: the migration guide's risk table, checked by a program.

Each revision's ``upgrade()`` is read with :mod:`ast`, never imported by this
module, and every Alembic operation in it is put at a risk level:

========  ===============================================================
Low       add a column, create a table or an index, drop an index
Medium    rename a column or a table, add or drop a constraint, change a
          column's nullability or default
High      change a column's type
Critical  drop a column or a table: the data goes, and no downgrade
          brings it back
Review    raw SQL (``op.execute``), direct use of the connection, and any
          operation the table does not know: a person has to read it
========  ===============================================================

Calls under an ``if`` count as well, since either branch may run somewhere;
a ``for`` loop over a literal sequence (or a module-level constant holding
one) is unrolled, so each index it creates is named.

A revision whose Critical operations a person has checked says so with a
module-level string, which the linter reads without running the file::

    CRITICAL_OPERATIONS_REVIEWED = "dana, 2026-11-25: todos.done unused since 0004"

The command fails (exit code 1) when a revision it lints holds a Critical
operation and no such marker. Without RANGE it lints the revisions still
pending on the app's database; with one, every revision in the range.
"""

from __future__ import annotations

import ast
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import click
from alembic.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from flask.cli import with_appcontext

LOW, MEDIUM, HIGH, CRITICAL, REVIEW = "Low", "Medium", "High", "Critical", "Review"
LEVELS = (LOW, MEDIUM, HIGH, CRITICAL, REVIEW)
MARKER = "CRITICAL_OPERATIONS_REVIEWED"
MARKER_EXAMPLE = f'{MARKER} = "who, when, why it is safe"'
SQL_WIDTH = 60
EXPRESSION_WIDTH = 30
MAX_UNROLL = 50

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
CONSTRAINT_KINDS = {
    "create_check_constraint": "check constraint",
    "create_exclude_constraint": "exclude constraint",
    "create_foreign_key": "foreign key",
    "create_primary_key": "primary key",
    "create_unique_constraint": "unique constraint",
}
# Helpers on ``op`` that change nothing in the schema by themselves.
HELPERS = {"f", "get_context", "inline_literal", "batch_alter_table", "implementation_for"}


@dataclass(frozen=True)
class Finding:
    """One operation of an ``upgrade()``, at its risk level."""

    level: str
    description: str
    line: int
    conditional: bool = False


@dataclass
class RevisionReport:
    """What the linter found in one revision file."""

    revision: str
    message: str
    path: str
    findings: list[Finding] = field(default_factory=list)
    reviewed: str | None = None

    @property
    def filename(self) -> str:
        return os.path.basename(self.path)

    @property
    def critical(self) -> list[Finding]:
        return [f for f in self.findings if f.level == CRITICAL]

    @property
    def blocking(self) -> bool:
        """Critical operations that no person has marked reviewed."""
        return bool(self.critical) and not self.reviewed


@dataclass
class LintReport:
    """The revisions linted, oldest first."""

    revisions: list[RevisionReport]

    @property
    def blocking(self) -> list[RevisionReport]:
        return [r for r in self.revisions if r.blocking]

    def counts(self) -> Counter:
        return Counter(f.level for r in self.revisions for f in r.findings)


# --- reading one revision file ------------------------------------------------


def analyse_source(source: str) -> list[Finding]:
    """The operations of the ``upgrade()`` function in a revision's source."""
    module = ast.parse(source)
    upgrade = next(
        (
            node
            for node in module.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "upgrade"
        ),
        None,
    )
    if upgrade is None:
        return []
    visitor = UpgradeVisitor(_op_names(module), _module_constants(module))
    for statement in upgrade.body:
        visitor.visit(statement)
    return sorted(visitor.findings, key=lambda f: f.line)


def reviewed_marker(source: str) -> str | None:
    """The text of ``CRITICAL_OPERATIONS_REVIEWED``, if it is a non-empty string."""
    value = _module_constants(ast.parse(source)).get(MARKER)
    if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value.strip():
        return value.value.strip()
    return None


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


def _op_names(module: ast.Module) -> set[str]:
    """The names ``alembic.op`` goes by in this module (``op`` unless renamed)."""
    names = {"op"}
    for node in module.body:
        if isinstance(node, ast.ImportFrom) and node.module == "alembic":
            names.update(a.asname for a in node.names if a.name == "op" and a.asname)
    return names


class UpgradeVisitor(ast.NodeVisitor):
    """Collects findings from the statements of an ``upgrade()``.

    ``names`` maps a variable to the expression it stands for where that is
    known (module constants, loop variables of an unrolled loop), so that
    ``op.create_index(name, TABLE, ...)`` can still be described by name.
    """

    def __init__(self, op_names: set[str], names: dict[str, ast.expr]):
        self.op_names = op_names
        self.names = dict(names)
        self.batches: dict[str, ast.expr | None] = {}
        self.conditions = 0
        self.findings: list[Finding] = []

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        self.conditions += 1
        for statement in node.body + node.orelse:
            self.visit(statement)
        self.conditions -= 1

    def visit_With(self, node: ast.With) -> None:
        outer = dict(self.batches)
        for item in node.items:
            self.visit(item.context_expr)
            table = self._batch_table(item.context_expr)
            if table is not None and isinstance(item.optional_vars, ast.Name):
                self.batches[item.optional_vars.id] = table
        for statement in node.body:
            self.visit(statement)
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
        if not isinstance(func, ast.Attribute) or not isinstance(func.value, ast.Name):
            return
        owner = func.value.id
        if owner in self.op_names:
            finding = self._classify(func.attr, node, batch=False, table=None)
        elif owner in self.batches:
            finding = self._classify(func.attr, node, batch=True, table=self.batches[owner])
        else:
            return
        if finding is not None:
            self.findings.append(finding)

    def _batch_table(self, expr: ast.expr) -> ast.expr | None:
        """The table of an ``op.batch_alter_table(...)`` call, else None."""
        if not (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Attribute)
            and expr.func.attr == "batch_alter_table"
            and isinstance(expr.func.value, ast.Name)
            and expr.func.value.id in self.op_names
        ):
            return None
        return _arguments(expr, ("table_name",)).get("table_name", ast.Constant("?"))

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
        if isinstance(expr, ast.Call) and expr.args:
            func = expr.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in {"f", "Column", "text"}:
                return self._text(expr.args[0])
        return f"<{_shorten(ast.unparse(expr), EXPRESSION_WIDTH)}>"

    def _classify(
        self, name: str, call: ast.Call, *, batch: bool, table: ast.expr | None
    ) -> Finding | None:
        if name in HELPERS:
            return None
        params = SIGNATURES.get(name, ())
        if batch:
            params = tuple(p for p in params if p not in TABLE_PARAMETERS)
        args = {key: self._resolve(value) for key, value in _arguments(call, params).items()}
        if table is None:
            table = args.get("table_name", args.get("source_table"))
        level, description = describe(name, args, self._text, self._text(table))
        return Finding(level, description, call.lineno, self.conditions > 0)


def _arguments(call: ast.Call, params: tuple[str, ...]) -> dict[str, ast.expr]:
    """The call's arguments by parameter name: positional first, then keywords."""
    args = {name: value for name, value in zip(params, call.args, strict=False)}
    args.update({k.arg: k.value for k in call.keywords if k.arg is not None})
    return args


def describe(name: str, args: dict[str, ast.expr], text, table: str) -> tuple[str, str]:
    """The risk level and a description of the operation ``name`` on ``table``.

    ``text`` turns an argument's expression into the name it stands for.
    """
    column = text(args.get("column_name"))
    if name == "add_column":
        return LOW, f"add column {table}.{text(args.get('column'))}"
    if name == "create_table":
        return LOW, f"create table {table}"
    if name == "create_index":
        kind = "unique index" if _is_true(args.get("unique")) else "index"
        return LOW, f"create {kind} {text(args.get('index_name'))} on {table}"
    if name == "drop_index":
        return LOW, f"drop index {text(args.get('index_name'))} on {table}"
    if name == "alter_column":
        return _describe_alter(args, text, f"{table}.{column}")
    if name == "rename_table":
        old, new = text(args.get("old_table_name")), text(args.get("new_table_name"))
        return MEDIUM, f"rename table {old} to {new}"
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


def _describe_alter(args: dict[str, ast.expr], text, column: str) -> tuple[str, str]:
    changes = []
    if "type_" in args:
        changes.append(f"change type of {column} to {ast.unparse(args['type_'])}")
    if "new_column_name" in args:
        rename = f"to {text(args['new_column_name'])}"
        changes.append(f"rename {rename}" if changes else f"rename column {column} {rename}")
    if changes:
        return (HIGH if "type_" in args else MEDIUM), ", ".join(changes)
    altered = [
        key
        for key in args
        if key not in {"table_name", "column_name", "schema"} and not key.startswith("existing_")
    ]
    return MEDIUM, f"alter column {column} ({', '.join(altered) or 'no change given'})"


def _is_true(expr: ast.expr | None) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is True


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


def lint(script_directory: ScriptDirectory, revisions: Iterable[str]) -> LintReport:
    """Lint the given revision ids, in the order given (oldest first, please)."""
    reports = []
    for revision in revisions:
        script = script_directory.get_revision(revision)
        with open(script.path, encoding="utf-8") as file:
            source = file.read()
        reports.append(
            RevisionReport(
                revision=script.revision,
                message=script.doc,
                path=script.path,
                findings=analyse_source(source),
                reviewed=reviewed_marker(source),
            )
        )
    return LintReport(reports)


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
        if not revision.findings:
            yield "  (no operations)"
        width = max((len(f.description) for f in revision.findings), default=0)
        for finding in revision.findings:
            where = f"line {finding.line}" + (", under an if" if finding.conditional else "")
            yield f"  {finding.level:<9} {finding.description:<{width}}  ({where})"
        if revision.critical and revision.reviewed:
            yield f"  Critical operations reviewed: {revision.reviewed}"
    yield summary(report)


def summary(report: LintReport) -> str:
    counts = report.counts()
    total = sum(counts.values())
    levels = ", ".join(f"{counts[level]} {level}" for level in LEVELS if counts[level])
    revisions = len(report.revisions)
    line = (
        f"{revisions} revision{'s' if revisions != 1 else ''}, "
        f"{total} operation{'s' if total != 1 else ''}"
    )
    line += f": {levels}." if levels else "."
    if report.blocking:
        names = ", ".join(r.revision for r in report.blocking)
        line += f" Unreviewed Critical operations in: {names}."
    return line


def format_failure(revision: RevisionReport) -> Iterator[str]:
    """Why a revision fails the lint, and how to mark it reviewed."""
    yield (
        f"Error: {revision.revision} ({_display_path(revision.path)}) drops data, "
        "and no one has marked it reviewed:"
    )
    for finding in revision.critical:
        yield f"  {finding.description}  (line {finding.line})"
    yield "  A downgrade cannot bring back a dropped column or table. Once a person has checked"
    yield "  that nothing needs the data any more and that a backup exists, add at the top level"
    yield f"  of {revision.filename}:"
    yield f"      {MARKER_EXAMPLE}"


def _display_path(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative


# --- the command ----------------------------------------------------------------


@click.command("lint")
@click.argument("revision_range", metavar="[RANGE]", required=False)
@with_appcontext
def lint_command(revision_range: str | None) -> None:
    """Rate each operation in the revisions' upgrade() by risk.

    Without RANGE: the revisions not yet applied to the database. RANGE is
    'all', LOWER:UPPER with both ends included ('base:head', '0002:head',
    '0001:0003') or one revision ('0002').

    Fails (exit code 1) when a revision holds a Critical operation (drop
    column, drop table) and no module-level CRITICAL_OPERATIONS_REVIEWED =
    "who, when, why it is safe" says a person checked it.
    """
    script_directory = _script_directory()
    if revision_range is None:
        revisions = _pending_on_database(script_directory)
        if not revisions:
            return
    else:
        revisions = resolve_range(script_directory, revision_range)
    report = lint(script_directory, revisions)
    for line in format_report(report):
        click.echo(line)
    for revision in report.blocking:
        for line in format_failure(revision):
            click.echo(line, err=True)
    if report.blocking:
        raise click.exceptions.Exit(1)


def _script_directory() -> ScriptDirectory:
    config = current_app.extensions["migrate"]
    return ScriptDirectory.from_config(config.migrate.get_config(config.directory))


def _pending_on_database(script_directory: ScriptDirectory) -> list[str]:
    """The pending revisions, after saying which ones they are (or that there are none)."""
    from .extensions import db

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
