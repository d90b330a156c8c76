"""Revision ids that two branches cannot both take.

Revisions 0001-0003 were numbered in sequence, so two branches that each
added one both called it 0004, and Alembic cannot tell them apart. From 0004
on, an id is the revision's number followed by a slug of its message, the
way Django names its migrations::

    0004_todo_ids_never_reused

The number is the revision's depth: one more than the highest number among
the revisions it follows. Two branches may therefore each add a ``0005_...``;
the merge revision that joins them is ``0006_...``. File names keep the date
in front (``migrations/alembic.ini``), so ``ls`` lists revisions in the order
they were written and every revision after the ones it follows.

Ids are at most 32 characters: Alembic's ``alembic_version.version_num``
column is ``VARCHAR(32)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from alembic.script import Script, ScriptDirectory

MAX_ID_LENGTH = 32
NUMBER_WIDTH = 4
REVISION_ID = re.compile(r"^(?P<number>\d{4})(?:_(?P<slug>[a-z0-9]+(?:_[a-z0-9]+)*))?$")
# 2026_11_25_0004_todo_ids_never_reused.py; the first three revisions put
# their slug in the file name only: 2026_11_24_0001_create_users_and_todos.py
FILE_NAME = re.compile(r"^(?P<date>\d{4}_\d{2}_\d{2})_(?P<rest>\d{4}(?:_[a-z0-9_]+)?)\.py$")


def number(revision_id: str) -> int:
    """The number an id starts with: 4 for ``0004_todo_ids_never_reused``."""
    match = REVISION_ID.match(revision_id)
    if match is None:
        raise ValueError(f"{revision_id!r} is not a house revision id (0004_what_it_does)")
    return int(match["number"])


def slugify(message: str | None, width: int) -> str:
    """``"Add priority to todos!"`` -> ``add_priority_to_todos``, cut at a word
    boundary to at most ``width`` characters."""
    words = re.findall(r"[a-z0-9]+", (message or "").lower())
    slug = ""
    for word in words:
        longer = f"{slug}_{word}" if slug else word
        if len(longer) > width:
            break
        slug = longer
    return slug or (words[0][:width] if words else "revision")


def next_revision_id(
    script: ScriptDirectory, message: str | None, parents: Iterable[str] | None = None
) -> str:
    """The id for a new revision on top of ``parents`` (default: the heads)."""
    parents = tuple(script.get_heads() if parents is None else parents)
    taken = {rev.revision for rev in script.walk_revisions("base", "heads")}
    following = 1 + max((number(parent) for parent in parents), default=0)
    prefix = f"{following:0{NUMBER_WIDTH}d}_"
    slug = slugify(message, MAX_ID_LENGTH - len(prefix))
    candidate, extra = prefix + slug, 2
    while candidate in taken:  # the same message twice on two branches
        suffix = f"_{extra}"
        candidate = prefix + slug[: MAX_ID_LENGTH - len(prefix) - len(suffix)] + suffix
        extra += 1
    return candidate


def problems(script: ScriptDirectory) -> list[str]:
    """Every way the revisions in ``script`` break the naming rules, one
    sentence each. An empty list means they follow them."""
    found = []
    revisions: list[Script] = list(script.walk_revisions("base", "heads"))
    by_id = {rev.revision: rev for rev in revisions}
    for rev in sorted(revisions, key=lambda r: r.path):
        name = Path(rev.path).name
        match = FILE_NAME.match(name)
        if REVISION_ID.match(rev.revision) is None or len(rev.revision) > MAX_ID_LENGTH:
            found.append(
                f"{name}: revision id {rev.revision!r} is not NNNN_slug of at most "
                f"{MAX_ID_LENGTH} characters; make db-migrate and make db-merge name them"
            )
            continue
        if match is None or not match["rest"].startswith(rev.revision):
            found.append(f"{name}: the file is not named YYYY_MM_DD_{rev.revision}[...].py")
            continue
        parents = [by_id[p] for p in revision_parents(rev)]
        expected = 1 + max((number(p.revision) for p in parents), default=0)
        if number(rev.revision) != expected:
            found.append(
                f"{name}: numbered {number(rev.revision)}, but it follows "
                f"{', '.join(p.revision for p in parents) or 'nothing'}, so it should be "
                f"{expected:0{NUMBER_WIDTH}d}"
            )
        for parent in parents:
            if Path(parent.path).name > name:
                found.append(f"{name} sorts before {Path(parent.path).name}, which it follows")
    return found


def revision_parents(rev: Script) -> tuple[str, ...]:
    """The ids a revision follows: none for the first, two for a merge."""
    down = rev.down_revision
    if down is None:
        return ()
    return (down,) if isinstance(down, str) else tuple(down)
