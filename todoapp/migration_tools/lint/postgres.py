"""PostgreSQL's view joined to the operations: each finding of ``pglocks``
(the project's lock rules and squawk's, on the revision's PostgreSQL SQL)
goes with the operation that wrote its statement."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from .rules import ALEMBIC_FUNCTIONS, RANK, SQL_WIDTH, Finding, _shorten


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

    verb = _verb(hit.sql)

    candidates = [
        (named(f), f.line == hit.line, _verb(f.description) == verb, -i, i)
        for i, f in enumerate(findings)
        if f.function == hit.function
    ]
    candidates = [c for c in candidates if c[0] or c[1]]
    return max(candidates)[-1] if candidates else None


# What a statement does, as the operations' descriptions say it: an ADD or a
# DROP of the same constraint in one batch block is told apart by this.
VERBS = {"add": "add", "create": "add", "drop": "drop", "alter": "alter", "rename": "rename"}


def _verb(text: str) -> str:
    """``add`` for "ALTER TABLE t ADD CONSTRAINT ..." and for "add unique
    constraint ..."; ``drop`` for DROP; else the first such word."""
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", text)]
    if words[:1] == ["alter"] and len(words) > 3 and words[1] == "table":
        words = words[3:]  # ALTER TABLE name <verb> ...
    return next((VERBS[w] for w in words if w in VERBS), "")


def _with_note(finding: Finding, level: str, note: str) -> Finding:
    if note in finding.postgres:
        return finding
    higher = level if RANK[level] > RANK[finding.level] else finding.level
    return dataclasses.replace(finding, level=higher, postgres=(*finding.postgres, note))
