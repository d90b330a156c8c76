"""Reading one revision file with :mod:`ast`: the operations its
``upgrade()`` and ``downgrade()`` run, through helpers, loops and batch blocks."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from .rules import (
    ALEMBIC_FUNCTIONS,
    EXPRESSION_WIDTH,
    HELPERS,
    LOST_AUTOINCREMENT,
    MARKER,
    MAX_UNROLL,
    ONLINE_SIGNATURES,
    SIGNATURES,
    TABLE_PARAMETERS,
    Finding,
    References,
    _call_name,
    _is_literal,
    _keyword,
    _rebuilds_on_sqlite,
    _shorten,
    describe,
    describe_lost_autoincrement,
    describe_online,
    describe_rebuild,
    probable_renames,
)

# --- reading one revision file ------------------------------------------------


@dataclass(frozen=True)
class RevisionModule:
    """What a revision file defines at its top level, as its operations need it."""

    op_names: frozenset[str]
    online_names: frozenset[str]
    constants: dict[str, ast.expr]
    functions: dict[str, ast.FunctionDef]
    references: References
    autoincrement: frozenset[str] = frozenset()  # tables whose models keep AUTOINCREMENT


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
    keeps_autoincrement: bool = False
    rebuilt_by: list[bool] = field(default_factory=list)


def analyse_source(
    source: str, references: References | None = None, autoincrement: Iterable[str] = ()
) -> list[Finding]:
    """The operations that the ``upgrade()`` and ``downgrade()`` of a revision run.

    ``references`` maps a table to the columns that reference it, so that a
    table rebuild can say what it puts at risk (see :func:`referencing_columns`);
    ``autoincrement`` names the tables whose models keep AUTOINCREMENT, which
    a rebuild must say it keeps.
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
        frozenset(autoincrement),
    )
    findings = []
    for name in ALEMBIC_FUNCTIONS:
        if name in functions:
            found = FunctionVisitor(revision, name).read(functions[name])
            findings += found + probable_renames(found)
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


def autoincrement_tables(metadata: sa.MetaData) -> set[str]:
    """The tables whose models keep AUTOINCREMENT on SQLite."""
    return {
        table.name
        for table in metadata.tables.values()
        if table.dialect_options["sqlite"]["autoincrement"]
    }


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
            self.findings[position:position] = self._rebuild(batch)
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
        column = self._text(args.get("column") or args.get("column_name"))
        self.findings.append(
            Finding(
                level,
                description,
                call.lineno,
                self.path,
                self.conditions > 0,
                subject=(name, table, column),
            )
        )

    def _online(self, name: str, call: ast.Call) -> None:
        """A call to one of ``online``'s helpers, named by its expand/contract step."""
        params = ONLINE_SIGNATURES.get(name, ())
        args = {key: self._resolve(value) for key, value in _arguments(call, params).items()}
        table = self._text(args.get("table", args.get("source")))
        level, description = describe_online(
            name, args, self._text, table, table in self.new_tables
        )
        column = self._text(args.get("column"))
        self.findings.append(
            Finding(
                level,
                description,
                call.lineno,
                self.path,
                self.conditions > 0,
                subject=(name, table, column),
            )
        )
        if name == "set_not_null" and not self._keeps_autoincrement(call, "sqlite_table_kwargs"):
            self.findings += self._lost_autoincrement(
                table, "on SQLite", call.lineno, self.conditions > 0
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
            keeps_autoincrement=self._keeps_autoincrement(expr, "table_kwargs"),
        )

    def _keeps_autoincrement(self, call: ast.Call, keyword: str) -> bool:
        """Whether ``keyword=`` of the call is a dict (or a constant holding
        one) with ``"sqlite_autoincrement": True``."""
        given = self._resolve(_keyword(call, keyword)) if _keyword(call, keyword) else None
        if not isinstance(given, ast.Dict):
            return False
        return any(
            isinstance(key, ast.Constant)
            and key.value == "sqlite_autoincrement"
            and _is_literal(self._resolve(value), True)
            for key, value in zip(given.keys, given.values, strict=True)
        )

    def _lost_autoincrement(
        self, table: str, how: str, line: int, conditional: bool
    ) -> list[Finding]:
        if table not in self.revision.autoincrement or table in self.new_tables:
            return []
        level, description, note = describe_lost_autoincrement(table, how)
        subject = (LOST_AUTOINCREMENT, table, "")
        return [Finding(level, description, line, self.path, conditional, note, subject=subject)]

    def _rebuild(self, batch: Batch) -> list[Finding]:
        """The copy of the block's table, if the block makes one (and what it
        loses, if it does not keep the AUTOINCREMENT the model has)."""
        if batch.recreate == "always":
            how, conditional = '(recreate="always")', batch.conditions > 0
        elif batch.recreate == "auto" and batch.rebuilt_by:
            how, conditional = "on SQLite", batch.conditions > 0 or all(batch.rebuilt_by)
        else:
            return []
        referenced_by = self.revision.references.get(batch.table, ())
        level, description, note = describe_rebuild(batch.table, how, referenced_by)
        found = [Finding(level, description, batch.line, self.path, conditional, note)]
        if not batch.keeps_autoincrement:
            found += self._lost_autoincrement(batch.table, how, batch.line, conditional)
        return found

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


# --- the indexes an upgrade creates -------------------------------------------

DIALECTS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class IndexCreation:
    """One index that a revision's ``upgrade()`` creates, as the call says it.

    ``where`` maps each database to its condition (None: a full index there);
    ``readable`` is False when the columns or a condition are not literals
    this reader can follow, so that no one renders a guess of them;
    ``conditional``: the call sits under an ``if`` (one database's, often).
    """

    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool
    where: dict[str, str | None]
    line: int
    readable: bool = True
    conditional: bool = False


def index_creations(source: str) -> list[IndexCreation]:
    """The indexes the ``upgrade()`` of a revision creates, in the order it
    does: ``online.create_index``, ``op.create_index`` (and a batch block's),
    with ``sqlite_where``/``postgresql_where`` or ``**`` a dict of them."""
    module = ast.parse(source)
    functions = {
        node.name: node
        for node in module.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    if "upgrade" not in functions:
        return []
    revision = RevisionModule(
        _op_names(module), _online_names(module), _module_constants(module), functions, {}
    )
    reader = IndexReader(revision, "upgrade")
    reader.read(functions["upgrade"])
    return reader.indexes


class IndexReader(FunctionVisitor):
    """The lint's reader, keeping each index creation it walks through."""

    def __init__(self, revision: RevisionModule, function: str):
        super().__init__(revision, function)
        self.indexes: list[IndexCreation] = []

    def _operation(self, name: str, call: ast.Call, batch: Batch | None) -> None:
        super()._operation(name, call, batch)
        if name != "create_index":
            return
        params = SIGNATURES[name]
        if batch is not None:
            params = tuple(p for p in params if p not in TABLE_PARAMETERS)
        args = _arguments(call, params)
        for spread in (k.value for k in call.keywords if k.arg is None):
            given = self._resolve(spread)
            if not isinstance(given, ast.Dict) or None in given.keys:
                args["**"] = spread  # a dict it cannot read: the call is unreadable
                continue
            args.update(
                (self._literal(key), value)
                for key, value in zip(given.keys, given.values, strict=True)
            )
        where = {d: args.pop(f"{d}_where", None) for d in DIALECTS}
        table = batch.table if batch is not None else self._text(args.get("table_name"))
        self._keep(call, args.get("index_name"), table, args, where)

    def _online(self, name: str, call: ast.Call) -> None:
        super()._online(name, call)
        if name != "create_index":
            return
        args = _arguments(call, ONLINE_SIGNATURES[name])
        where = args.pop("where", None)
        self._keep(
            call,
            args.get("name"),
            self._text(args.get("table")),
            args,
            dict.fromkeys(DIALECTS, where),
        )

    def _keep(self, call, name, table, args, where) -> None:
        columns = self._resolve(args.get("columns", ast.List([])))
        unique = self._resolve(args.get("unique", ast.Constant(False)))
        where = {d: None if _is_literal(self._resolve(e), None) else e for d, e in where.items()}
        conditions = {d: self._condition(e, d) if e is not None else None for d, e in where.items()}
        names = (
            [self._literal(c) for c in columns.elts]
            if isinstance(columns, ast.List | ast.Tuple)
            else [None]
        )
        readable = (
            None not in names
            and isinstance(unique, ast.Constant)
            and "**" not in args
            and all(where[d] is None or conditions[d] is not None for d in DIALECTS)
        )
        self.indexes.append(
            IndexCreation(
                name=self._text(name),
                table=table,
                columns=tuple(n for n in names if n is not None),
                unique=bool(getattr(unique, "value", False)),
                where=conditions,
                line=call.lineno,
                readable=readable,
                conditional=self.conditions > 0,
            )
        )

    def _literal(self, expr: ast.expr | None) -> str | None:
        """A string the source spells out (through constants, ``sa.text`` and ``op.f``)."""
        expr = self._resolve(expr) if expr is not None else None
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return expr.value
        if isinstance(expr, ast.Call) and len(expr.args) == 1 and _call_name(expr) in {"text", "f"}:
            return self._literal(expr.args[0])
        return None

    def _condition(self, expr: ast.expr, dialect: str) -> str | None:
        """The condition an index gets on ``dialect``: a string, ``sa.text``, a
        dict subscripted by the dialect's name, or a module-level helper
        that returns one of those; None when it is none of them."""
        expr = self._resolve(expr)
        if isinstance(expr, ast.Subscript) and isinstance(self._resolve(expr.value), ast.Dict):
            if not ast.unparse(expr.slice).endswith("dialect.name"):
                return None
            given = self._resolve(expr.value)
            for key, value in zip(given.keys, given.values, strict=True):
                if key is not None and self._literal(key) == dialect:
                    return self._condition(value, dialect)
            return None
        if (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Name)
            and expr.func.id in self.revision.functions
        ):
            helper = self.revision.functions[expr.func.id]
            body = [s for s in helper.body if not isinstance(s, ast.Expr)]  # its docstring
            if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
                return None
            given = {n: self._resolve(v) for n, v in _parameters(helper, expr).items()}
            outer = self.names
            self.names = {**self.revision.constants, **given}
            try:
                return self._condition(body[0].value, dialect)
            finally:
                self.names = outer
        return self._literal(expr)
