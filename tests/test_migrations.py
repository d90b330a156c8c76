"""The revisions themselves: naming, numbering, drift, and the soft-delete
revision 0002 going up and down with data in the tables."""

import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import flask_migrate
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import bindparam, event, inspect, text

from todoapp import ROOT
from todoapp.extensions import db
from todoapp.migration_tools import naming
from todoapp.migration_tools.manifest import MANIFEST_NAME, check, freeze
from todoapp.models import UTCDateTime

from .conftest import BACKEND, migrate_config, next_file_date, write_revision

MIGRATIONS = ROOT / "migrations"
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


def test_revisions_follow_the_naming_rules():
    """Dated file names in graph order, ids numbered by depth, at most 32 characters."""
    assert naming.problems(ScriptDirectory(str(MIGRATIONS))) == []


@pytest.mark.parametrize(
    ("file_name", "revision", "down", "problem"),
    [
        ("DATE_a1b2c3d4e5f6_x.py", "a1b2c3d4e5f6", "HEAD", "is not NNNN_slug"),
        ("DATE_SKIP_skips_ahead.py", "SKIP_skips_ahead", "HEAD", "should be"),
        ("DATE_0005_misnamed.py", "0005_something_else", "HEAD", "is not named"),
        ("2000_01_01_0005_dated_too_early.py", "0005_dated_too_early", "HEAD", "sorts before"),
    ],
)
def test_naming_problems_are_reported_by_file(
    scratch_migrations, file_name, revision, down, problem
):
    head = ScriptDirectory(str(scratch_migrations)).get_current_head()
    number = naming.number(head) + 1
    file_name, revision = (
        x.replace("0005", f"{number:04d}").replace("SKIP", f"{number + 1:04d}")
        for x in (file_name, revision)
    )
    file_name = file_name.replace("DATE", next_file_date(scratch_migrations))
    (scratch_migrations / "versions" / file_name).write_text(
        f'"""x"""\nrevision = {revision!r}\ndown_revision = {head!r}\n', encoding="utf-8"
    )
    [found] = naming.problems(ScriptDirectory(str(scratch_migrations)))
    assert found.startswith(file_name) and problem in found


def test_next_revision_ids_are_numbered_by_depth_and_fit_the_version_column():
    script = ScriptDirectory(str(MIGRATIONS))
    following = naming.number(script.get_current_head()) + 1
    long = naming.next_revision_id(script, "Add a priority, a due date and tags to every todo!")
    assert long.startswith(f"{following:04d}_add_a_priority_a_due")
    assert len(long) <= naming.MAX_ID_LENGTH and not long.endswith("_")
    assert naming.next_revision_id(script, "???") == f"{following:04d}_revision"


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
        head = ScriptDirectory(str(directory)).get_current_head()
        flask_migrate.revision(directory=str(directory), message="Add priority to todos")
        expected = f"{naming.number(head) + 1:04d}_add_priority_to_todos"
        today = datetime.now(UTC).strftime("%Y_%m_%d")
        new = directory / "versions" / f"{today}_{expected}.py"
        source = new.read_text()
        # The post-write hooks ran ruff over it: already formatted, so double quotes.
        assert f'revision = "{expected}"' in source and f'down_revision = "{head}"' in source
        ruff = Path(sys.executable).with_name("ruff")
        assert subprocess.run([ruff, "format", "--check", "--quiet", new]).returncode == 0
        assert naming.problems(ScriptDirectory(str(directory))) == []

    def test_the_skeleton_keeps_op_and_sa_so_the_first_operation_runs(self, scratch):
        app, directory = scratch
        flask_migrate.revision(directory=str(directory), message="add priority")
        new = ScriptDirectory(str(directory)).get_revision("heads")
        source = Path(new.path).read_text()
        assert "import sqlalchemy as sa\n" in source and "from alembic import op\n" in source
        upgrade, downgrade = source.split("def downgrade():")
        written = (
            upgrade.replace(
                "    pass\n",
                '    op.add_column("todos", sa.Column("scratch_priority", sa.Integer()))\n',
            )
            + "def downgrade():"
            + downgrade
        )
        assert written != source
        Path(new.path).write_text(written)
        flask_migrate.upgrade(directory=str(directory))
        assert "scratch_priority" in {c["name"] for c in inspect(db.engine).get_columns("todos")}


def git(repo, *args):
    return subprocess.run(
        ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.invalid", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )


def test_two_branches_each_add_a_revision_and_merge(app, alice, make_todo, tmp_path):
    """Two developers each add a revision on their own branch; after the git
    merge, `make db-merge` joins the heads and `flask db upgrade` applies both."""
    make_todo(alice, "kept through it all")
    repo = tmp_path / "repo"
    shutil.copytree(MIGRATIONS, repo / "migrations", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".gitattributes", repo)
    directory = repo / "migrations"
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "main")

    def branch(name, message, column):
        git(repo, "checkout", "--quiet", "-b", name, "main")
        write_revision(
            directory, message, f'op.add_column("todos", sa.Column("{column}", sa.Integer()))'
        )
        freeze(directory / "versions", directory / MANIFEST_NAME)
        git(repo, "add", ".")
        git(repo, "commit", "--quiet", "-m", message)

    branch("priority", "add priority", "scratch_priority")
    branch("estimate", "add estimate", "scratch_estimate")
    merged = subprocess.run(
        ["git", "-c", "user.name=Dev", "-c", "user.email=d@example.invalid", "merge", "priority"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert merged.returncode == 0, merged.stdout + merged.stderr  # no conflict, manifest included
    assert check(directory / "versions", directory / MANIFEST_NAME) == []

    runner = app.test_cli_runner()
    assert len(ScriptDirectory(str(directory)).get_heads()) == 2  # what `flask db heads` lists

    with app.app_context():
        result = runner.invoke(args=["db", "merge-heads", "-d", str(directory)])
        assert result.exit_code == 0, result.output
        script = ScriptDirectory(str(directory))
        [merge] = script.get_heads()
        assert merge.endswith("_merge_heads") and len(script.get_revision(merge).down_revision) == 2
        assert naming.problems(script) == []
        assert freeze(directory / "versions", directory / MANIFEST_NAME) == [
            Path(script.get_revision(merge).path).name
        ]
        assert check(directory / "versions", directory / MANIFEST_NAME) == []

        app.extensions["migrate"].directory = str(directory)
        linted = runner.invoke(args=["db", "lint", "all"])
        assert linted.exit_code == 0, linted.output

        flask_migrate.upgrade(directory=str(directory))
        assert version(app) == merge
        columns = {c["name"] for c in inspect(db.engine).get_columns("todos")}
        assert {"scratch_priority", "scratch_estimate"} <= columns
        assert rows("SELECT title FROM todos") == [("kept through it all",)]

        # `make db-downgrade` at the merge undoes the merge alone (-1 is an ambiguous walk).
        parents = set(script.get_revision(merge).down_revision)
        result = runner.invoke(args=["db", "step-down", "-d", str(directory)])
        assert result.exit_code == 0, result.output
        assert set(rows("SELECT version_num FROM alembic_version")) == {(p,) for p in parents}
        # Two heads now: it says which command undoes one of them, and that command works.
        result = runner.invoke(args=["db", "step-down", "-d", str(directory)])
        assert result.exit_code == 1
        suggested = re.search(r"flask db downgrade (\S+@-1)", result.output)
        assert suggested, result.output
        flask_migrate.downgrade(directory=str(directory), revision=suggested.group(1))
        [(left,)] = rows("SELECT version_num FROM alembic_version")
        assert left in parents
