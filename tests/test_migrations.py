"""The revisions themselves: naming, numbering, drift, and the soft-delete
revision 0002 going up and down with data in the tables."""

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import flask_migrate
import pytest
from alembic import command
from alembic.util import CommandError
from sqlalchemy import bindparam, event, inspect, text

from todoapp import ROOT
from todoapp.extensions import db
from todoapp.models import UTCDateTime

from .conftest import BACKEND, migrate_config

VERSIONS = ROOT / "migrations" / "versions"
FILE_NAME = re.compile(r"^\d{4}_\d{2}_\d{2}_(\d{4})_[a-z0-9_]+\.py$")
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def version(app):
    return db.session.scalar(text("SELECT version_num FROM alembic_version"))


def rows(sql):
    result = db.session.execute(text(sql)).all()
    db.session.commit()
    return [tuple(row) for row in result]


def schema():
    """Tables, columns, indexes and constraints as the database reports them."""
    db.session.commit()
    inspector = inspect(db.engine)
    found = {}
    for table in sorted(inspector.get_table_names()):
        if table == "alembic_version":
            continue
        found[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
            ],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
            ),
            "foreign_keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"])
                for f in inspector.get_foreign_keys(table)
            ),
            "checks": sorted(c["sqltext"] for c in inspector.get_check_constraints(table)),
            "unique": sorted(
                tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)
            ),
        }
    return found


def seed_0001():
    """Rows as they would exist before soft delete: two users, three todos."""
    params = {"now": NOW, "no": False, "yes": True}
    db.session.execute(
        text(
            "INSERT INTO users (id, username, password_hash, is_admin, created_at) VALUES "
            "(1, 'alice', 'h1', :no, :now), (2, 'bob', 'h2', :yes, :now)"
        ).bindparams(bindparam("now", type_=UTCDateTime())),
        params,
    )
    db.session.execute(
        text(
            "INSERT INTO todos (id, user_id, title, done, created_at, updated_at) VALUES "
            "(1, 1, 'first', :no, :now, :now), (2, 1, 'second', :yes, :now, :now), "
            "(3, 2, 'third', :no, :now, :now)"
        ).bindparams(bindparam("now", type_=UTCDateTime())),
        params,
    )
    db.session.commit()


def trash(*ids):
    stmt = text(
        "UPDATE todos SET deleted_at = :now, deleted_by = user_id WHERE id IN :ids"
    ).bindparams(bindparam("ids", expanding=True), bindparam("now", type_=UTCDateTime()))
    db.session.execute(stmt, {"now": NOW, "ids": list(ids)})
    db.session.commit()


def test_revision_files_are_dated_numbered_and_chained():
    files = sorted(p.name for p in VERSIONS.glob("*.py"))
    assert files, "no revisions"
    previous = None
    for position, name in enumerate(files, start=1):
        match = FILE_NAME.match(name)
        assert match, f"{name} is not named date_number_slug.py"
        assert match.group(1) == f"{position:04d}", f"{name} is out of sequence"
        source = (VERSIONS / name).read_text()
        assert f'revision = "{position:04d}"' in source
        assert f"down_revision = {previous!r}".replace("'", '"') in source
        previous = f"{position:04d}"


def test_models_and_migrations_do_not_drift(runner):
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_upgrade_0002_keeps_every_row(empty_app):
    flask_migrate.upgrade(revision="0001")
    seed_0001()
    before = rows("SELECT id, user_id, title, done, created_at, updated_at FROM todos ORDER BY id")
    flask_migrate.upgrade(revision="0002")
    after = rows("SELECT id, user_id, title, done, created_at, updated_at FROM todos ORDER BY id")
    assert after == before
    assert rows("SELECT deleted_at, deleted_by FROM todos") == [(None, None)] * 3
    indexes = {ix["name"] for ix in inspect(db.engine).get_indexes("todos")}
    assert {"ix_todos_live", "ix_todos_trash_owner", "ix_todos_trash"} <= indexes


def test_downgrade_refuses_while_todos_are_in_the_trash(empty_app):
    flask_migrate.upgrade(revision="0001")
    seed_0001()
    flask_migrate.upgrade(revision="0002")
    trash(1, 3)
    before = rows("SELECT * FROM todos ORDER BY id")
    with pytest.raises(CommandError) as refused:
        command.downgrade(migrate_config(empty_app), "0001")
    message = str(refused.value)
    assert "2 trashed todo(s)" in message
    assert "flask db downgrade -x purge_trash=yes" in message
    db.session.rollback()
    assert version(empty_app) == "0002"
    assert rows("SELECT * FROM todos ORDER BY id") == before


def test_downgrade_with_purge_trash_deletes_the_trash_then_the_columns(empty_app):
    flask_migrate.upgrade(revision="0001")
    seed_0001()
    fresh_0001 = schema()
    flask_migrate.upgrade(revision="0002")
    trash(2)
    command.downgrade(migrate_config(empty_app, "purge_trash=yes"), "0001")
    assert version(empty_app) == "0001"
    assert rows("SELECT id, title FROM todos ORDER BY id") == [(1, "first"), (3, "third")]
    # Exactly the 0001 schema again: no leftover column, index or constraint.
    assert schema() == fresh_0001


def test_downgrade_without_trash_needs_no_option_and_round_trips(empty_app):
    flask_migrate.upgrade(revision="0001")
    seed_0001()
    flask_migrate.upgrade()
    all_rows = rows(
        "SELECT id, user_id, title, done, created_at, updated_at FROM todos ORDER BY id"
    )
    flask_migrate.downgrade(revision="0001")
    flask_migrate.upgrade(revision="0002")
    assert version(empty_app) == "0002"
    again = rows("SELECT id, user_id, title, done, created_at, updated_at FROM todos ORDER BY id")
    assert again == all_rows


def test_downgrade_drops_columns_natively_without_copying_the_table(empty_app):
    flask_migrate.upgrade(revision="0002")
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        command.downgrade(migrate_config(empty_app), "0001")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    ddl = [" ".join(s.split()) for s in statements]
    ddl = [s for s in ddl if s.startswith(("ALTER", "CREATE", "DROP"))]
    drop_fk = {
        "sqlite": [],  # the foreign key goes with its column
        "postgresql": ["ALTER TABLE todos DROP CONSTRAINT fk_todos_deleted_by_users"],
    }[BACKEND]
    assert ddl == [
        "DROP INDEX ix_todos_live",
        "DROP INDEX ix_todos_trash_owner",
        "DROP INDEX ix_todos_trash",
        *drop_fk,
        "ALTER TABLE todos DROP COLUMN deleted_by",
        "ALTER TABLE todos DROP COLUMN deleted_at",
    ]


class TestNewRevisions:
    @pytest.fixture
    def scratch(self, app, scratch_migrations):
        with app.app_context():
            yield app, scratch_migrations

    def test_autogenerate_with_no_change_writes_no_file(self, scratch):
        _app, directory = scratch
        before = sorted(p.name for p in (directory / "versions").iterdir())
        flask_migrate.migrate(directory=str(directory), message="nothing changed")
        assert sorted(p.name for p in (directory / "versions").iterdir()) == before

    def test_a_new_revision_gets_the_next_number_and_a_dated_name(self, scratch):
        _app, directory = scratch
        flask_migrate.revision(directory=str(directory), message="Add priority to todos")
        new = [p for p in (directory / "versions").glob("*_0004_*.py")]
        assert len(new) == 1
        today = datetime.now(UTC).strftime("%Y_%m_%d")
        assert new[0].name == f"{today}_0004_add_priority_to_todos.py"
        source = new[0].read_text()
        # The post-write hooks ran ruff over it: already formatted, so double quotes.
        assert 'revision = "0004"' in source and 'down_revision = "0003"' in source
        ruff = Path(sys.executable).with_name("ruff")
        assert subprocess.run([ruff, "format", "--check", "--quiet", new[0]]).returncode == 0
