"""What the lint found, revision by revision, and how it reads as text."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from .rules import (
    ALEMBIC_FUNCTIONS,
    CRITICAL,
    DESCRIPTION_WIDTH,
    FAILS,
    HIGH,
    LEVELS,
    LOCK_RULES_FROM,
    LOST_AUTOINCREMENT,
    MARKER,
    MARKER_EXAMPLE,
    PROBABLE_RENAME,
    Finding,
)


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
    not_null = [f for f in revision.fails if f.subject[0] != LOST_AUTOINCREMENT]
    if not_null:
        yield f"Error: {where} adds a NOT NULL column with no server_default to an existing table:"
        for finding in not_null:
            yield f"  {finding.description}  ({finding.where})"
        yield "  The database refuses it as soon as the table has rows: they would have no value."
        upgrade = revision.findings_of("upgrade")
        renamed = {f.subject[1] for f in upgrade if f.subject[0] == PROBABLE_RENAME}
        if renamed & {f.subject[1] for f in not_null}:
            # A default would give every row the default, and the dropped column's values go.
            yield "  The same revision drops a column of that table: if this is a rename, do not"
            yield "  give it a server_default (every row would get it and the old values would be"
            yield "  lost). Rename in place instead: alter_column(old, new_column_name=new), and"
            yield "  declare UPGRADE_RENAMES = {'table.old': 'table.new'} (docs/migrations.md)."
        else:
            yield "  Give the Column a server_default=..., or add it nullable=True, fill it with an"
            yield "  UPDATE, then alter_column(..., nullable=False)."
        yield f"  This is a bug, not a risk: {MARKER} does not excuse it."
    for finding in (f for f in revision.fails if f.subject[0] == LOST_AUTOINCREMENT):
        yield f"Error: {where}: {finding.description}  ({finding.where})"
        yield f"  {finding.note}. {MARKER} does not excuse it."
    if revision.critical and not revision.reviewed:
        yield f"Error: {where} has High or Critical operations no one has marked reviewed:"
        for finding in revision.critical:
            yield f"  {finding.level:<9} {finding.description}  ({finding.where})"
            if finding.subject[0] == PROBABLE_RENAME:
                yield f"            {finding.note}"
        yield "  Critical drops data that no downgrade brings back. High blocks the app's reads"
        yield "  or writes on a live PostgreSQL, or breaks the servers still on the old release:"
        yield "  prefer todoapp.migration_tools.online (see docs/migrations.md, Migrations on a"
        yield "  live PostgreSQL). Once a person has checked it is safe here, add at the top"
        yield f"  level of {revision.filename}:"
        yield f"      {MARKER_EXAMPLE}"


def _display_path(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative
