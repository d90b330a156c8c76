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

from .command import lint, lint_command, pending_revisions, resolve_range
from .postgres import join_postgres
from .reader import analyse_source, referencing_columns, reviewed_marker
from .report import LintReport, RevisionReport, format_failure, format_report, summary
from .rules import CRITICAL, FAILS, HIGH, LEVELS, LOW, MARKER, MEDIUM, REVIEW, Finding

__all__ = [
    "CRITICAL",
    "FAILS",
    "HIGH",
    "LEVELS",
    "LOW",
    "MARKER",
    "MEDIUM",
    "REVIEW",
    "Finding",
    "LintReport",
    "RevisionReport",
    "analyse_source",
    "format_failure",
    "format_report",
    "join_postgres",
    "lint",
    "lint_command",
    "pending_revisions",
    "referencing_columns",
    "resolve_range",
    "reviewed_marker",
    "summary",
]
