"""Migrations you can trust: concurrent upgrades, all-or-nothing revisions,
and a lock that gives up clearly. Each test runs on the suite's database,
SQLite or PostgreSQL. Offline SQL is tests/test_offline_sql.py's."""

import os
import re
import subprocess
import sys

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from todoapp import ROOT
from todoapp.extensions import db

from .conftest import BACKEND, dispose, make_app, migrate_config, write_revision
from .test_migrations import schema

# A deliberately slow revision that counts its runs.
SLOW_UPGRADE = """
import time

op.create_table("scratch_revision_runs", sa.Column("id", sa.Integer(), primary_key=True))
op.execute("INSERT INTO scratch_revision_runs (id) VALUES (1)")
time.sleep(1.5)  # long enough for the other upgrades to arrive and wait
"""
# The same, committing halfway as an online revision does (CREATE INDEX
# CONCURRENTLY needs that): the run's lock must outlast the commit.
SLOW_UPGRADE_WITH_AUTOCOMMIT = """
import time

op.create_table("scratch_revision_runs", sa.Column("id", sa.Integer(), primary_key=True))
with op.get_context().autocommit_block():
    op.execute("INSERT INTO scratch_revision_runs (id) VALUES (1)")
    time.sleep(1.5)
op.add_column("todos", sa.Column("scratch_after", sa.Integer()))
"""
FAILING_UPGRADE = """
op.add_column("todos", sa.Column("scratch_priority", sa.Integer(), nullable=True))
op.create_table("scratch_tags", sa.Column("id", sa.Integer(), primary_key=True))
op.execute("UPDATE todos SET title = 'overwritten'")
raise RuntimeError("deliberate failure halfway through the revision")
"""


@pytest.mark.parametrize(
    "body", [SLOW_UPGRADE, SLOW_UPGRADE_WITH_AUTOCOMMIT], ids=["one-transaction", "autocommit"]
)
def test_four_concurrent_upgrades_each_revision_runs_once(
    empty_database_url, scratch_migrations, tmp_path, body
):
    slow = write_revision(scratch_migrations, "count runs", body)
    every_revision = [r.revision for r in ScriptDirectory(str(scratch_migrations)).walk_revisions()]
    env = os.environ | {
        "DATABASE_URL": empty_database_url,
        "SECRET_KEY": "test",
        "FLASK_DEBUG": "0",
        "HTTPS": "0",
    }
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"]
    processes = [
        subprocess.Popen(
            [*flask, "--directory", str(scratch_migrations)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], "\n".join(outputs)
    runs = re.findall(r"Running upgrade (.*?) -> (\w+)", "".join(outputs))
    assert sorted(target for _, target in runs) == sorted(every_revision)

    engine = sa.create_engine(empty_database_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").all() == [(slow,)]
        assert conn.exec_driver_sql("SELECT count(*) FROM scratch_revision_runs").scalar() == 1
    engine.dispose()


def test_a_revision_that_fails_halfway_leaves_everything_as_it_was(
    app, alice, make_todo, scratch_migrations
):
    make_todo(alice, "keep me")
    with app.app_context():
        head = version()
        write_revision(scratch_migrations, "fails halfway", FAILING_UPGRADE)
        before_schema = schema()
        before_rows = db.session.execute(sa.text("SELECT id, title FROM todos")).all()
        db.session.commit()
        with pytest.raises(SystemExit):  # Flask-Migrate reports the error and exits 1
            flask_migrate.upgrade(directory=str(scratch_migrations))
        db.session.rollback()
        assert schema() == before_schema
        assert db.session.execute(sa.text("SELECT id, title FROM todos")).all() == before_rows
        assert version() == head


def version():
    return db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))


def test_a_migration_that_cannot_get_the_lock_gives_up_clearly(empty_database_url):
    """Someone else holds the migration lock (PostgreSQL: the advisory lock;
    SQLite: the write lock): after MIGRATION_LOCK_TIMEOUT the upgrade stops,
    changes nothing, and says why."""
    holder = sa.create_engine(empty_database_url, poolclass=sa.pool.NullPool)
    app = make_app(empty_database_url, MIGRATION_LOCK_TIMEOUT=1)
    with app.app_context():
        db.engine.connect().close()  # the app's first connection makes a SQLite file WAL
    with holder.connect() as conn:
        if BACKEND == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": 0x746F646F})
            conn.commit()
        else:
            raw = conn.connection.driver_connection
            raw.isolation_level = None
            raw.execute("BEGIN IMMEDIATE")
        with app.app_context(), pytest.raises(CommandError) as gave_up:
            command.upgrade(migrate_config(app), "head")
        if BACKEND == "sqlite":
            raw.execute("ROLLBACK")
    assert "gave up without changing anything" in str(gave_up.value)
    assert "MIGRATION_LOCK_TIMEOUT" in str(gave_up.value)
    with app.app_context():
        assert not sa.inspect(db.engine).has_table("todos")
    dispose(app)
    holder.dispose()


def test_a_downgrade_that_fails_halfway_says_where_it_stands_and_finishes_when_run_again(
    app, scratch_migrations
):
    """An online step (DROP INDEX CONCURRENTLY on PostgreSQL) commits on its
    own before the statement that fails: the revision stays recorded, the
    error says so in words, and the same command finishes it once fixed."""
    head = ScriptDirectory(str(scratch_migrations)).get_current_head()
    failing = 'op.execute("UPDATE no_such_table SET x = 1")'
    scratch = write_revision(
        scratch_migrations,
        "scratch index",
        'online.create_index("ix_todos_scratch_title", "todos", ["title"])',
        f'online.drop_index("ix_todos_scratch_title", "todos")\n{failing}',
        header="from todoapp.migration_tools import online\n",
    )
    with app.app_context():
        flask_migrate.upgrade(directory=str(scratch_migrations))
        with pytest.raises(CommandError) as stopped:
            command.downgrade(migrate_config_for(app, scratch_migrations), head)
        message = str(stopped.value)
        assert "A revision did not complete" in message and "no_such_table" in message
        assert f"the database is at {scratch}" in message
        assert "the same command finishes the revision" in message
        db.session.rollback()
        assert version() == scratch
        path = next((scratch_migrations / "versions").glob(f"*_{scratch}.py"))
        path.write_text(path.read_text().replace(failing, ""), encoding="utf-8")
        command.downgrade(migrate_config_for(app, scratch_migrations), head)
        assert version() == head
        indexes = {i["name"] for i in sa.inspect(db.engine).get_indexes("todos")}
        assert "ix_todos_scratch_title" not in indexes


def migrate_config_for(app, directory):
    return app.extensions["migrate"].migrate.get_config(directory=str(directory))
