"""An id, once handed out, is never handed out again, whatever migrations run.

Revision 0004 made the promise (a stale button for a purged todo must be a
404, never somebody's newer todo). On SQLite a table rebuild resets the id
sequence to the highest id left in the table, so each test here purges the
newest rows first, migrates, and then adds rows through the app."""

from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from todoapp import ROOT
from todoapp.extensions import db
from todoapp.migration_tools import sqlite, stairway
from todoapp.migration_tools.autogen import KEEP
from todoapp.models import List, Todo
from todoapp.services import lists, todos

from .conftest import BACKEND

MIGRATIONS = ROOT / "migrations"
SCRIPT = ScriptDirectory(str(MIGRATIONS))
# The revision that made the promise; before it, SQLite reused ids anyway.
PROMISE = "0004_todo_ids_never_reused"
REVISIONS = [rev.revision for rev in stairway.revisions_oldest_first(SCRIPT)]
KEPT_FROM = REVISIONS[REVISIONS.index(PROMISE) :]
REPAIR = "0011_restore_id_sequences"


def purge_the_newest(table):
    """Delete the newest row of ``table`` (and the todos in it, for a list);
    return its id, or 0 when the table has none."""
    newest = db.session.scalar(sa.text(f"SELECT max(id) FROM {table}"))  # noqa: S608
    if newest is None:
        return 0
    if table == "lists":
        db.session.execute(sa.text("DELETE FROM todos WHERE list_id = :id"), {"id": newest})
    db.session.execute(sa.text(f"DELETE FROM {table} WHERE id = :id"), {"id": newest})  # noqa: S608
    db.session.commit()
    return newest


def has_table(name):
    return sa.inspect(db.engine).has_table(name)


def add_through_the_app():
    """A new todo and a new list for the first user; their ids."""
    owner = db.session.scalar(sa.text("SELECT min(id) FROM users"))
    made_list = lists.create_list(owner, "Brand new", actor_id=owner)
    made_todo = todos.create_todo(owner, "brand new")
    return made_todo.id, made_list.id


@pytest.mark.parametrize("revision", KEPT_FROM)
def test_ids_purged_at_any_revision_never_come_back_after_upgrading(empty_app, revision):
    """Rows at ``revision``, the newest todo and list purged, then upgrade
    to head: the app's next todo and list get new ids."""
    flask_migrate.upgrade(revision=revision)
    seeder = stairway.Seeder()
    with db.engine.begin() as conn:
        seeder.seed(conn)
    purged = {table: purge_the_newest(table) for table in ("todos", "lists") if has_table(table)}
    flask_migrate.upgrade()
    todo_id, list_id = add_through_the_app()
    assert todo_id > purged["todos"]
    assert list_id > purged.get("lists", 0)


def test_a_generated_rebuild_keeps_autoincrement_and_purged_ids_retired(
    app, alice, make_todo, make_list, scratch_migrations, monkeypatch
):
    """`make db-migrate` after widening a todo's title and a list's name: on
    SQLite both tables are rebuilt. The revision keeps AUTOINCREMENT, and no
    purged id comes back."""
    make_list(alice, "Groceries", todos=2)
    make_todo(alice, "newest")
    with app.app_context():
        purged = {table: purge_the_newest(table) for table in ("todos", "lists")}
        monkeypatch.setattr(Todo.__table__.c.title, "type", sa.String(250))
        monkeypatch.setattr(List.__table__.c.name, "type", sa.String(70))
        flask_migrate.migrate(directory=str(scratch_migrations), message="widen title and name")
        script = ScriptDirectory(str(scratch_migrations))
        source = Path(script.get_revision(script.get_current_head()).path).read_text()
        flat = "".join(source.replace('"', "'").split())
        for table in ("todos", "lists"):
            kept = "".join(repr(KEEP).split())
            expected = f"batch_alter_table('{table}',schema=None,table_kwargs={kept})"
            assert expected in flat
        flask_migrate.upgrade(directory=str(scratch_migrations))
        todo_id, list_id = add_through_the_app()
        assert todo_id > purged["todos"] and list_id > purged["lists"]
        if BACKEND == "sqlite":
            assert {"todos", "lists"} <= sqlite.autoincrement_tables(
                db.session.connection().connection.driver_connection
            )


@pytest.mark.skipif(BACKEND != "sqlite", reason="PostgreSQL's sequences never went back")
def test_the_repair_revision_retires_every_id_the_activity_log_recorded(empty_app):
    """A database upgraded through 0010 before the runner kept sequences:
    its sequences stand at the highest id left. The repair takes them back
    up to the highest id the tables and the activity log show."""
    parent = SCRIPT.get_revision(REPAIR).down_revision
    flask_migrate.upgrade(revision=parent)
    seeder = stairway.Seeder()
    with db.engine.begin() as conn:
        seeder.seed(conn)
    query = "SELECT max(id) FROM {}"
    highest = {t: db.session.scalar(sa.text(query.format(t))) for t in ("todos", "lists")}
    # Purged after being logged, then a rebuild reset the sequences to the ids left.
    logged = {"todos": highest["todos"] + 7, "lists": highest["lists"] + 3}
    db.session.execute(
        sa.text(
            "INSERT INTO activity (at, action, count, detail) VALUES "
            "('2026-01-01 00:00:00.000000', 'purge', 1, :todo), "
            "('2026-01-01 00:00:00.000000', 'purge_list', 1, :list)"
        ),
        {"todo": f"#{logged['todos']}", "list": f"list #{logged['lists']} (6)"},
    )
    db.session.execute(sa.text("UPDATE sqlite_sequence SET seq = 1"))
    db.session.commit()
    flask_migrate.upgrade(revision=REPAIR)
    raw = db.session.connection().connection.driver_connection
    assert {t: sqlite.sequences(raw)[t] for t in logged} == logged
    db.session.commit()
    flask_migrate.upgrade()
    todo_id, list_id = add_through_the_app()
    assert todo_id > logged["todos"] and list_id > logged["lists"]
