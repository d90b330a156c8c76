"""``flask db lint [RANGE]``: which revisions to lint, and the command."""

from __future__ import annotations

import os
from collections.abc import Iterable

import click
from alembic.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from flask.cli import with_appcontext

from ...extensions import db
from .. import manifest, naming, pglocks
from .postgres import join_postgres
from .reader import analyse_source, autoincrement_tables, referencing_columns, reviewed_marker
from .report import LintReport, RevisionReport, format_failure, format_report
from .rules import AUTOINCREMENT_FROM, LOCK_RULES_FROM, References

# --- revisions and ranges -----------------------------------------------------


def lint(
    script_directory: ScriptDirectory,
    revisions: Iterable[str],
    references: References,
    *,
    postgres=None,
    autoincrement: Iterable[str] = (),
) -> LintReport:
    """Lint the given revision ids, in the order given (oldest first, please).

    ``references``: which columns reference each table (:func:`referencing_columns`);
    ``autoincrement``: the tables whose models keep AUTOINCREMENT.
    ``postgres(script)``, when given, returns PostgreSQL's findings for a
    revision (:func:`pglocks.findings`), each joined to the operation on its line.
    """
    reports = []
    for revision in revisions:
        script = script_directory.get_revision(revision)
        with open(script.path, encoding="utf-8") as file:
            source = file.read()
        number = naming.number(script.revision)
        kept = autoincrement if number >= AUTOINCREMENT_FROM else ()
        found = analyse_source(source, references, kept)
        if postgres is not None and not isinstance(script.down_revision, tuple | list):
            found = join_postgres(found, postgres(script))
        reports.append(
            RevisionReport(
                revision=script.revision,
                message=script.doc,
                path=script.path,
                findings=found,
                reviewed=reviewed_marker(source),
                enforced=number >= LOCK_RULES_FROM,
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
    problems = manifest.refusals(script_directory.dir)
    if problems:
        raise click.ClickException(
            "The migrations are not the ones committed, so they are not linted:\n"
            + "\n".join(f"  {problem}" for problem in problems)
        )
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
        autoincrement=autoincrement_tables(db.metadata),
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
