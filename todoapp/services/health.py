"""Is this app server fit to take traffic: database reachable, schema at head."""

import ast
from functools import cache

from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from .. import MIGRATIONS
from ..extensions import db


@cache
def head_revision() -> str:
    """The newest revision in migrations/versions/ (the one no other revision
    names as its parent), read once per process. Read from the files' own
    ``revision`` and ``down_revision`` lines, without importing Alembic, which
    a web worker would otherwise load for this alone."""
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
    return ",".join(sorted(revisions - parents))


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
    if report["revision"] != report["head"]:
        report["status"] = "behind" if report["revision"] else "not migrated"
        return False, report
    return True, report
