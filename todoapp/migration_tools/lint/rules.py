"""The risk table: the level and description of each Alembic operation,
and of each call to an ``online`` helper, as the lint reads them."""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
    "create_trigram_index": ("name", "table", "column"),
    "create_fts5_index": ("name", "table", "column"),
    "create_owner_trigram_index": ("name", "table", "column"),
    "drop_trigram_index": ("name", "table"),
    "drop_search_index": ("name", "table", "index"),
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
    # What it acts on, where the rules across operations need it: the
    # operation's name, its table and its column.
    subject: tuple[str, str, str] = ("", "", "")

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
    if name == "create_trigram_index":
        return (
            LOW,
            f"expand: create GIN trigram index {text(args.get('name'))} on {table} "
            "concurrently (PostgreSQL; pg_trgm made if missing)",
        )
    if name == "create_owner_trigram_index":
        return (
            LOW,
            f"expand: create GIN index {text(args.get('name'))} (owner, title trigrams) on "
            f"{table} concurrently (PostgreSQL; btree_gin and pg_trgm made if missing)",
        )
    if name == "drop_trigram_index":
        return (
            LOW,
            f"contract: drop GIN trigram index {text(args.get('name'))} on {table} "
            "concurrently (PostgreSQL)",
        )
    if name == "create_fts5_index":
        return (
            LOW,
            f"expand: create FTS5 table {text(args.get('name'))} over {table} with its "
            "triggers, filled in committed batches (SQLite)",
        )
    if name == "drop_search_index":
        return LOW, f"contract: drop the search index {text(args.get('name'))} on {table}"
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


PROBABLE_RENAME = "probable_rename"
LOST_AUTOINCREMENT = "lost_autoincrement"
# Revision 0004 gave todos AUTOINCREMENT: before it, no table had any to keep.
AUTOINCREMENT_FROM = 4
RENAME_RECIPE = (
    "to rename, keep the values: alter_column(old, new_column_name=new) and "
    "UPGRADE_RENAMES = {'table.old': 'table.new'}; with old servers still running, "
    "expand/contract: add the new column, online.backfill it from the old one, deploy "
    "code that writes both, and drop the old one in a later revision"
)


def probable_renames(findings: list[Finding]) -> list[Finding]:
    """A column added and a column dropped on one table by the same function:
    autogenerate writes a renamed model attribute this way, and run as it is
    it loses every value of the old column. High, with the recipe."""
    added: dict[str, list[Finding]] = {}
    for finding in findings:
        operation, table, _column = finding.subject
        if operation == "add_column":
            added.setdefault(table, []).append(finding)
    found = []
    for finding in findings:
        operation, table, old = finding.subject
        if operation != "drop_column":
            continue
        for new in added.get(table, ()):
            found.append(
                Finding(
                    HIGH,
                    f"probable rename of {table}.{old} to {table}.{new.subject[2]}: "
                    f"added and dropped, every value of {old} is lost, not moved",
                    finding.line,
                    finding.path,
                    finding.conditional or new.conditional,
                    RENAME_RECIPE,
                    subject=(PROBABLE_RENAME, table, old),
                )
            )
    return found


def describe_lost_autoincrement(table: str, how: str) -> tuple[str, str, str]:
    """A rebuild of a table whose model keeps AUTOINCREMENT, that does not say so."""
    return (
        FAILS,
        f"rebuild table {table} {how} without sqlite_autoincrement: purged ids could be "
        "handed out again",
        'pass table_kwargs={"sqlite_autoincrement": True} to the batch block '
        "(online.set_not_null: sqlite_table_kwargs=...), as make db-migrate writes it",
    )
