"""Is this app server fit to take traffic: database reachable, and its
schema at this code's head or newer (a later release has migrated it)."""

import ast
from functools import cache

from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from .. import MIGRATIONS
from ..extensions import db


@cache
def known_revisions() -> tuple[frozenset[str], str]:
    """Every revision in migrations/versions/ and the head (the ones no other
    revision names as its parent, comma-joined), read once per process from
    the files' own ``revision`` and ``down_revision`` lines, without importing
    Alembic, which a web worker would otherwise load for this alone."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                if not names & {"revision", "down_revision"} or node.value is None:
                    continue
                value = ast.literal_eval(node.value)
                if "revision" in names:
                    revisions.add(value)
                elif "down_revision" in names and value is not None:
                    parents.update(value if isinstance(value, tuple | list) else [value])
    return frozenset(revisions), ",".join(sorted(revisions - parents))


def head_revision() -> str:
    return known_revisions()[1]


def check() -> tuple[bool, dict[str, str | None]]:
    report: dict[str, str | None] = {"status": "ok", "database": "ok", "revision": None}
    report["head"] = head_revision()
    try:
        connection = db.session.connection()
        if inspect(connection).has_table("alembic_version"):
            versions = db.session.scalars(text("SELECT version_num FROM alembic_version")).all()
            report["revision"] = ",".join(sorted(versions)) or None
    except SQLAlchemyError:
        report.update(status="unavailable", database="unreachable")
        return False, report
    finally:
        db.session.rollback()  # read-only: end the transaction, release the connection
    if report["revision"] is None:
        report["status"] = "not migrated"
        return False, report
    if report["revision"] != report["head"]:
        known, _ = known_revisions()
        if set(report["revision"].split(",")) <= known:
            report["status"] = "behind"
            return False, report
        # A revision this code has never seen is a newer release's: during a
        # rolling deploy the new release migrates first, and the servers still
        # on this one keep serving (its schema changes are additive by rule).
        report["status"] = "ahead"
    return True, report
