"""Migrations you can trust: concurrent upgrades, all-or-nothing revisions,
and offline SQL that builds the same schema as an online upgrade. Each test
runs on the suite's database, SQLite or PostgreSQL."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from todoapp import ROOT
from todoapp.extensions import db

from .conftest import BACKEND, dispose, make_app, migrate_config, write_revision
from .test_migrations import schema, seed_0001, trash

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


def offline_sql(app, *args, x_args=()):
    """What `flask db upgrade/downgrade --sql` prints, as a string."""
    buffer = io.StringIO()
    with app.app_context():
        config = migrate_config(app, *x_args)
        config.output_buffer = buffer
        getattr(command, args[0])(config, args[1], sql=True)
    return buffer.getvalue()


def run_script(url, script, *, feed="stdin"):
    """Run printed SQL the way an operator would: SQLite's through the sqlite3
    shell (fed on standard input, or with .read), PostgreSQL's through psycopg.
    Raises with the shell's error output if it failed."""
    if BACKEND == "sqlite":
        path = sa.make_url(url).database
        if feed == "read":
            script_file = Path(path).with_suffix(".sql")
            script_file.write_text(script, encoding="utf-8")
            done = subprocess.run(
                ["sqlite3", path, f".read {script_file}"], capture_output=True, text=True
            )
        else:
            done = subprocess.run(["sqlite3", path], input=script, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"sqlite3 exited {done.returncode}: {done.stderr}")
    else:
        # psql, as an operator would: it sends one statement at a time, so a
        # CREATE INDEX CONCURRENTLY between COMMIT and BEGIN runs outside any
        # transaction (one multi-statement query would run as one block).
        plain = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        done = subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", plain],
            input=script,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql exited {done.returncode}: {done.stderr}")


# On SQLite, 0004_todo_ids_never_reused rebuilds todos, which needs the live
# table: offline SQL can be written up to the revision before it.
OFFLINE_UNTIL = "0003" if BACKEND == "sqlite" else "head"


def test_offline_upgrade_sql_builds_the_same_schema(empty_database_url, databases):
    reference = make_app(databases.empty())
    with reference.app_context():
        flask_migrate.upgrade(revision=OFFLINE_UNTIL)
        online, target = schema(), version()
        script_directory = ScriptDirectory.from_config(migrate_config(reference))
        steps = list(script_directory.walk_revisions("base", target))
    script = offline_sql(reference, "upgrade", OFFLINE_UNTIL)
    dispose(reference)
    assert script.count("-- Running upgrade") == len(steps)
    run_script(empty_database_url, script)
    offline = make_app(empty_database_url)
    with offline.app_context():
        assert schema() == online
        assert version() == target
    dispose(offline)


@pytest.mark.skipif(BACKEND != "sqlite", reason="PostgreSQL alters tables in place: no rebuild")
def test_offline_sql_for_a_table_rebuild_is_refused_with_a_message(runner, caplog):
    result = runner.invoke(args=["db", "upgrade", "--sql"])
    assert result.exit_code == 1
    assert "requires a live database connection" in caplog.text
    assert 'table "todos"' in caplog.text
    assert "Offline SQL can be written up to the revision before" in caplog.text
    assert "Traceback" not in result.output + caplog.text
    # What was printed before the refusal never commits: no COMMIT at its end.
    assert "COMMIT" not in result.output


@pytest.fixture
def at_0002(empty_database_url):
    """A database at 0002 with todo 2 in the trash and 1 and 3 live. The rows
    are written in 0002's own columns: today's models may have more."""
    app = make_app(empty_database_url)
    with app.app_context():
        flask_migrate.upgrade(revision="0001")
        seed_0001()
        flask_migrate.upgrade(revision="0002")
        trash(2)
    yield app, empty_database_url
    dispose(app)


def trashed_count():
    count = db.session.scalar(sa.text("SELECT count(*) FROM todos WHERE deleted_at IS NOT NULL"))
    db.session.commit()
    return count


def test_offline_downgrade_sql_refuses_at_run_time_while_the_trash_is_full(at_0002):
    app, url = at_0002
    with app.app_context():
        before = schema()
    script = offline_sql(app, "downgrade", "0002:0001")
    with pytest.raises(Exception, match="trashed_todos_would_come_back"):
        run_script(url, script)
    with app.app_context():
        assert schema() == before  # the script stopped whole
        assert version() == "0002"


@pytest.mark.skipif(BACKEND != "sqlite", reason="the sqlite3 shell is SQLite's")
@pytest.mark.parametrize("feed", ["stdin", "read"])
def test_the_sqlite3_shell_stops_at_the_refusal_however_it_is_fed(at_0002, feed):
    """Left to itself, the shell prints an error and goes on to the next
    statement, so the guard alone would not stop it committing the rest."""
    app, url = at_0002
    with app.app_context():
        before = schema()
    script = offline_sql(app, "downgrade", "0002:0001")
    assert script.startswith(".bail on\n")
    with pytest.raises(RuntimeError, match="trashed_todos_would_come_back"):
        run_script(url, script, feed=feed)
    with app.app_context():
        assert schema() == before
        assert version() == "0002"
        assert trashed_count() == 1  # still in the trash, not back in the list


def test_offline_downgrade_sql_reaches_0001(at_0002, databases):
    app, url = at_0002
    script = offline_sql(app, "downgrade", "0002:0001", x_args=["purge_trash=yes"])
    assert "DELETE FROM todos WHERE deleted_at IS NOT NULL" in script
    run_script(url, script)
    reference = make_app(databases.empty())
    with reference.app_context():
        flask_migrate.upgrade(revision="0001")
        expected = schema()
    dispose(reference)
    with app.app_context():
        db.session.commit()
        assert schema() == expected
        titles = db.session.execute(sa.text("SELECT title FROM todos ORDER BY id")).scalars()
        assert titles.all() == ["first", "third"]


def test_the_cli_prints_offline_sql(runner):
    result = runner.invoke(args=["db", "upgrade", "0002", "--sql"])
    assert result.exit_code == 0
    assert "CREATE TABLE todos" in result.output and "COMMIT;" in result.output


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
