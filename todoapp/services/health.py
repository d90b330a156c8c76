"""Is this app server fit to take traffic: database reachable, schema at head."""

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db, migrate


def head_revision() -> str:
    """The newest revision in migrations/, read once per process."""
    cache = current_app.extensions.setdefault("todoapp_head_revision", {})
    if "head" not in cache:
        script = ScriptDirectory.from_config(migrate.get_config())
        cache["head"] = ",".join(sorted(script.get_heads()))
    return cache["head"]


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
