"""Offline SQL (``flask db upgrade --sql``), run the way an operator runs
it: SQLite's through the sqlite3 shell, PostgreSQL's through psql. For every
revision the script builds the schema an online upgrade builds, it stops
at the first error without stamping what failed, and it keeps ids retired."""

import io
import subprocess
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from todoapp import ROOT
from todoapp.extensions import db
from todoapp.migration_tools import naming, sqlite, stairway

from .conftest import BACKEND, dispose, make_app, migrate_config, write_revision
from .test_migrations import schema, seed_0001, trash

MIGRATIONS = ROOT / "migrations"
REVISIONS = list(stairway.revisions_oldest_first(ScriptDirectory(str(MIGRATIONS))))


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


def plain_url(app_or_url):
    """The database's URL as psql takes it."""
    url = app_or_url
    if not isinstance(url, str):
        url = app_or_url.config["SQLALCHEMY_DATABASE_URI"]
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


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
        done = subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", plain_url(url)],
            input=script,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql exited {done.returncode}: {done.stderr}")


def built_online(databases, revision, down_to=None, x_args=()):
    """What online runs build: an upgrade to ``revision``, then a downgrade
    to ``down_to`` when given."""
    reference = make_app(databases.empty())
    with reference.app_context():
        flask_migrate.upgrade(revision=revision)
        if down_to is not None:
            command.downgrade(migrate_config(reference, *x_args), down_to)
        built = what_was_built()
    dispose(reference)
    return built


def what_was_built():
    """The schema; on SQLite also the tables with AUTOINCREMENT and the order
    the indexes were made in (which SQLite's planner breaks ties by)."""
    kept, order = set(), {}
    if BACKEND == "sqlite":
        raw = db.session.connection().connection.driver_connection
        kept = sqlite.autoincrement_tables(raw)
        for table, name, _ in sqlite.indexes(raw):
            order.setdefault(table, []).append(name)
    return schema(), kept, order, version()


@pytest.mark.parametrize("revision", [r.revision for r in REVISIONS])
def test_offline_sql_up_to_each_revision_builds_what_online_builds(
    empty_database_url, databases, revision
):
    app = make_app(empty_database_url)
    script = offline_sql(app, "upgrade", revision)
    steps = stairway.path_to(ScriptDirectory(str(MIGRATIONS)), revision)
    assert script.count("-- Running upgrade") == len(steps)
    run_script(empty_database_url, script)
    with app.app_context():
        assert what_was_built() == built_online(databases, revision)
    dispose(app)


@pytest.mark.parametrize("revision", [r for r in REVISIONS if naming.revision_parents(r)])
def test_offline_sql_down_from_each_revision_builds_what_online_builds(
    empty_database_url, databases, revision
):
    [parent] = naming.revision_parents(revision)  # a merge would step down to its first parent
    app = make_app(empty_database_url)
    with app.app_context():
        flask_migrate.upgrade(revision=revision.revision)
    script = offline_sql(app, "downgrade", f"{revision.revision}:{parent}")
    run_script(empty_database_url, script)
    with app.app_context():
        assert what_was_built() == built_online(databases, revision.revision, down_to=parent)
    dispose(app)


def test_the_whole_chain_goes_down_offline_to_the_first_revision(empty_database_url, databases):
    first = REVISIONS[0].revision
    app = make_app(empty_database_url)
    with app.app_context():
        flask_migrate.upgrade()
    script = offline_sql(app, "downgrade", f"head:{first}", x_args=["purge_trash=yes"])
    run_script(empty_database_url, script)
    with app.app_context():
        online = built_online(databases, "heads", down_to=first, x_args=["purge_trash=yes"])
        assert what_was_built() == online
    dispose(app)


@pytest.mark.skipif(BACKEND != "sqlite", reason="PostgreSQL's sequences never go back")
def test_offline_rebuilds_keep_purged_ids_retired(empty_database_url):
    """At each revision, a todo and a list handed out and purged: the
    script from there to head keeps their ids from coming back."""
    app = make_app(empty_database_url)
    with app.app_context():
        flask_migrate.upgrade(revision=REVISIONS[0].revision)
        seed_0001()
        for revision in REVISIONS[1:]:
            raw = db.session.connection().connection.driver_connection
            kept = sqlite.sequences(raw)
            db.session.commit()
            script = offline_sql(app, "upgrade", f"{version()}:{revision.revision}")
            run_script(empty_database_url, script)
            raw = db.session.connection().connection.driver_connection
            now = sqlite.sequences(raw)
            assert all(now.get(t, 0) >= seq for t, seq in kept.items()), revision.revision
            for table in now:  # hand out one more id and purge it, as the app would
                db.session.execute(
                    sa.text("UPDATE sqlite_sequence SET seq = seq + 5 WHERE name = :t"),
                    {"t": table},
                )
            db.session.commit()


@pytest.mark.skipif(BACKEND != "postgresql", reason="psql and PostgreSQL's index builds")
def test_a_failing_script_through_plain_psql_stops_and_stamps_nothing(
    app, alice, make_todo, scratch_migrations
):
    """A unique index over duplicate titles: CREATE UNIQUE INDEX
    CONCURRENTLY fails. Fed to psql as an operator might, with no -v option,
    the script stops there, exits non-zero, and the version stays put."""
    make_todo(alice, "the same")
    make_todo(alice, "the same")
    new = write_revision(
        scratch_migrations,
        "unique titles",
        'online.create_index("ux_scratch_titles", "todos", ["title"], unique=True)',
        'online.drop_index("ux_scratch_titles", "todos")',
        header="from todoapp.migration_tools import online\n",
    )
    app.extensions["migrate"].migrate.directory = str(scratch_migrations)
    with app.app_context():
        before = version()
        db.session.commit()
        script = offline_sql(app, "upgrade", f"{before}:{new}")
    assert script.startswith("\\set ON_ERROR_STOP on\n")
    path = Path(scratch_migrations) / "upgrade.sql"
    path.write_text(script, encoding="utf-8")
    done = subprocess.run(
        ["psql", "-X", "-q", "-f", str(path), plain_url(app)], capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "could not create unique index" in done.stderr
    with app.app_context():
        assert version() == before


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
