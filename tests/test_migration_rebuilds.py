"""Table rebuilds keep every row.

On SQLite, changing a column's type or a table's options copies the table,
drops the old one and renames the copy. With foreign keys on, that drop used
to fire ON DELETE CASCADE: widening users.password_hash emptied todos. Each
test here makes the next revision a user would write, on a database with
rows in it, and checks what is left afterwards."""

import os
import subprocess
import sys
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from todoapp import ROOT
from todoapp.extensions import db
from todoapp.migration_tools import naming
from todoapp.migration_tools import sqlite as sqlite_tools
from todoapp.models import LIST_NAME_MAX, Todo, User

from .conftest import BACKEND, write_revision

sqlite_only = pytest.mark.skipif(
    BACKEND != "sqlite", reason="foreign keys off and PRAGMA foreign_key_check are SQLite's"
)


def every_row():
    """Each table's rows, in id order (every table has an id here but the throttle)."""
    db.session.commit()
    found = {}
    for table in ("users", "todos"):
        query = sa.text(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608 - fixed names
        found[table] = db.session.execute(query).all()
    db.session.commit()
    return found


def version():
    return db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))


@pytest.fixture
def people(make_user, make_todo):
    """Three users, each with live and trashed todos."""
    for name in ("alice", "bob", "carol"):
        owner = make_user(name)
        for number in range(3):
            make_todo(owner, f"{name} {number} ✓", trashed=number == 2)


@pytest.fixture
def scratch(app, scratch_migrations, people):
    with app.app_context():
        yield scratch_migrations


def test_rebuilding_users_and_todos_keeps_every_row(scratch):
    before = every_row()
    assert len(before["todos"]) == 9
    write_revision(
        scratch,
        "widen password hash and title",
        """
        with op.batch_alter_table("users") as batch_op:
            batch_op.alter_column(
                "password_hash", existing_type=sa.String(255), type_=sa.String(300)
            )
        with op.batch_alter_table("todos") as batch_op:
            batch_op.alter_column("title", existing_type=sa.String(200), type_=sa.String(250))
        """,
    )
    flask_migrate.upgrade(directory=str(scratch))
    assert every_row() == before


def test_the_guides_workflow_widen_a_column_then_migrate_keeps_every_todo(scratch, monkeypatch):
    """The reproduction from the issue: change the model, `flask db migrate`,
    `flask db upgrade`."""
    before = every_row()
    monkeypatch.setattr(User.__table__.c.password_hash, "type", sa.String(300))
    flask_migrate.migrate(directory=str(scratch), message="widen password hash")
    script = ScriptDirectory(str(scratch))
    new = script.get_revision(script.get_current_head())
    assert new.revision.endswith("_widen_password_hash")
    assert "type_=sa.String(length=300)" in Path(new.path).read_text(encoding="utf-8")
    assert naming.problems(script) == []

    flask_migrate.upgrade(directory=str(scratch))
    assert version() == new.revision
    assert every_row() == before
    columns = {c["name"]: c for c in sa.inspect(db.engine).get_columns("users")}
    assert columns["password_hash"]["type"].length == 300


def test_a_new_index_on_a_live_table_is_generated_online_and_passes_the_lint(scratch):
    """`make db-migrate` after adding an index to a model writes
    online.create_index (CONCURRENTLY on PostgreSQL), so the revision passes
    `make db-lint` as generated, and applies with every row kept."""
    from todoapp.migration_tools import lint

    before = every_row()
    index = sa.Index("ix_todos_scratch_title", Todo.__table__.c.title)
    try:
        flask_migrate.migrate(directory=str(scratch), message="index todo titles")
    finally:
        Todo.__table__.indexes.discard(index)
    script = ScriptDirectory(str(scratch))
    new = script.get_revision(script.get_current_head())
    source = Path(new.path).read_text(encoding="utf-8")
    assert "from todoapp.migration_tools import online" in source
    assert "online.create_index('ix_todos_scratch_title', 'todos', ['title'])" in source.replace(
        '"', "'"
    )
    assert "online.drop_index('ix_todos_scratch_title', 'todos')" in source.replace('"', "'")
    report = lint.lint(script, [new.revision], {})
    assert report.blocking == [], [f.description for f in report.revisions[0].findings]

    flask_migrate.upgrade(directory=str(scratch))
    assert version() == new.revision
    assert every_row() == before
    assert "ix_todos_scratch_title" in {
        i["name"] for i in sa.inspect(db.engine).get_indexes("todos")
    }


def test_only_tables_that_exist_get_online_operations():
    """A table the same revision creates keeps the plain operations; a
    foreign key on an existing one becomes online.add_foreign_key."""
    from alembic.operations import ops

    from todoapp.migration_tools.autogen import OnlineCall, prefer_online

    script = ops.MigrationScript(
        "x",
        ops.UpgradeOps(
            [
                ops.CreateTableOp("tags", [sa.Column("id", sa.Integer(), primary_key=True)]),
                ops.CreateIndexOp("ix_tags_id", "tags", ["id"]),
                ops.ModifyTableOps(
                    "todos",
                    [
                        ops.AddColumnOp("todos", sa.Column("tag_id", sa.Integer())),
                        ops.CreateForeignKeyOp(
                            "fk_todos_tag_id_tags",
                            "todos",
                            "tags",
                            ["tag_id"],
                            ["id"],
                            ondelete="SET NULL",
                        ),
                    ],
                ),
            ]
        ),
        ops.DowngradeOps([]),
    )
    prefer_online(script, db.metadata)
    upgrade = script.upgrade_ops.ops
    assert isinstance(upgrade[1], ops.CreateIndexOp)  # tags is new: plain
    assert [type(o) for o in upgrade[2].ops] == [ops.AddColumnOp]
    assert isinstance(upgrade[3], OnlineCall)
    assert upgrade[3].source == (
        "online.add_foreign_key('fk_todos_tag_id_tags', 'todos', 'tags', ['tag_id'], ['id'], "
        "ondelete='SET NULL')"
    )


@sqlite_only
def test_dangling_rows_roll_their_revision_back_and_say_where(scratch):
    before = every_row()
    # Foreign keys are off while revisions run, so nothing stops this delete;
    # the check before the revision commits does.
    good = write_revision(
        scratch, "add a column", 'op.add_column("todos", sa.Column("scratch_n", sa.Integer()))'
    )
    write_revision(scratch, "lose bob", "op.execute(\"DELETE FROM users WHERE username = 'bob'\")")
    with pytest.raises(SystemExit):  # Flask-Migrate prints the error and exits 1
        flask_migrate.upgrade(directory=str(scratch))
    db.session.rollback()
    assert version() == good  # the revision before the bad one went through whole
    after = every_row()
    assert after["users"] == before["users"]
    assert [row[:-1] for row in after["todos"]] == before["todos"]  # plus scratch_n, empty
    assert {row[-1] for row in after["todos"]} == {None}


@sqlite_only
def test_dropping_a_referenced_table_is_caught_without_a_row_written(scratch, caplog):
    write_revision(scratch, "drop lists", 'op.execute("DROP TABLE lists")')
    with pytest.raises(SystemExit):
        flask_migrate.upgrade(directory=str(scratch))
    assert "todos: 9 row(s) point at missing lists rows" in caplog.text


@sqlite_only
def test_a_revision_that_only_adds_skips_the_whole_database_check(scratch, monkeypatch):
    from todoapp.migration_tools import runner

    checked = []
    real = runner.check_sqlite_foreign_keys
    monkeypatch.setattr(
        runner, "check_sqlite_foreign_keys", lambda conn: checked.append(1) or real(conn)
    )
    write_revision(
        scratch,
        "only adds",
        'op.add_column("todos", sa.Column("scratch_n", sa.Integer()))\n'
        'op.create_index("ix_scratch_n", "todos", ["scratch_n"])\n'
        'op.create_table("scratch_t", sa.Column("id", sa.Integer(), primary_key=True))',
    )
    write_revision(scratch, "writes a row", 'op.execute("UPDATE todos SET done = NOT done")')
    flask_migrate.upgrade(directory=str(scratch))
    assert checked == [1]  # the second revision only


@sqlite_only
def test_a_backfill_that_points_nowhere_stops_at_its_first_batch(scratch, caplog):
    # Foreign keys are on for online's backfills: SQLite refuses the batch
    # itself, as the whole-database check no longer runs after them.
    write_revision(
        scratch,
        "point nowhere",
        "from todoapp.migration_tools import online\n"
        'online.backfill("todos", "deleted_by = 999", "deleted_by IS NULL")',
    )
    before = every_row()
    with pytest.raises(SystemExit):  # Flask-Migrate prints the error and exits 1
        flask_migrate.upgrade(directory=str(scratch))
    assert "A revision did not complete: FOREIGN KEY constraint failed" in caplog.text
    db.session.rollback()
    assert every_row() == before


@sqlite_only
def test_the_refusal_names_the_table_and_rows(scratch, caplog):
    write_revision(scratch, "lose bob", "op.execute(\"DELETE FROM users WHERE username = 'bob'\")")
    with pytest.raises(SystemExit):
        flask_migrate.upgrade(directory=str(scratch))
    message = caplog.text
    assert "foreign keys point nowhere" in message
    assert "rolled back whole" in message
    assert "todos: 3 row(s) point at missing users rows" in message


@sqlite_only
def test_the_apps_connections_enforce_foreign_keys_again_after_a_migration(scratch):
    write_revision(scratch, "add a column", 'op.add_column("todos", sa.Column("n", sa.Integer()))')
    flask_migrate.upgrade(directory=str(scratch))
    assert db.session.scalar(sa.text("PRAGMA foreign_keys")) == 1
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(
            sa.text(
                "INSERT INTO todos (user_id, title, done, created_at, updated_at) "
                "VALUES (999, 'orphan', 0, '2026-01-01', '2026-01-01')"
            )
        )
    db.session.rollback()


@sqlite_only
def test_todos_are_created_with_autoincrement(app):
    with app.app_context():
        sql = db.session.scalar(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'todos'")
        )
    assert "AUTOINCREMENT" in sql


def todos_ddl():
    """The CREATE statements of todos and its indexes, white space folded."""
    rows = db.session.execute(
        sa.text("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'todos' ORDER BY name")
    ).all()
    db.session.commit()  # no read snapshot left open across the next migration
    return [(name, " ".join(sql.split()).replace('"todos"', "todos")) for name, sql in rows]


@sqlite_only
def test_downgrading_0004_gives_back_the_table_0003_made(empty_app):
    """0002's downgrade drops deleted_by natively, which SQLite allows only
    while its foreign key is written inline, as 0002 wrote it."""
    flask_migrate.upgrade(revision="0003")
    at_0003 = todos_ddl()
    flask_migrate.upgrade(revision="0004_todo_ids_never_reused")
    assert "AUTOINCREMENT" in dict(todos_ddl())["todos"]
    flask_migrate.downgrade(revision="0003")
    assert todos_ddl() == at_0003
    flask_migrate.downgrade(revision="0001")  # through 0002's native DROP COLUMN


def test_a_database_from_another_branch_gets_a_hint(app, scratch_migrations, caplog):
    """A revision applied on another branch is unknown here: say what happened."""
    other_branch = write_revision(scratch_migrations, "on another branch", "pass")
    with app.app_context():
        flask_migrate.upgrade(directory=str(scratch_migrations))
        with pytest.raises(SystemExit):
            flask_migrate.upgrade()
    assert f"Can't locate revision identified by '{other_branch}'" in caplog.text
    assert "most often one applied on another git branch" in caplog.text


def generated(scratch):
    script = ScriptDirectory(str(scratch))
    return Path(script.get_revision(script.get_current_head()).path).read_text(encoding="utf-8")


def test_a_changed_check_constraint_gets_a_revision(scratch, monkeypatch):
    """Widen a list name's limit in the model: `make db-migrate` writes the
    CHECK again (Alembic alone would not see it), and after the upgrade the
    database takes a name the old limit refused."""
    from todoapp.models import List

    [check] = [c for c in List.__table__.constraints if str(c.name) == "ck_lists_list_name_length"]
    wider = str(check.sqltext).replace(str(LIST_NAME_MAX), str(LIST_NAME_MAX + 20))
    monkeypatch.setattr(check, "sqltext", sa.text(wider))
    # The column too, as the model's String(LIST_NAME_MAX) follows the limit.
    monkeypatch.setattr(List.__table__.c.name, "type", sa.String(LIST_NAME_MAX + 20))
    flask_migrate.migrate(directory=str(scratch), message="longer list names")
    source = "".join(generated(scratch).replace('"', "'").split())  # whitespace aside
    # f(): the name is final, the naming convention is not applied to it again.
    name = "batch_op.f('ck_lists_list_name_length')"
    assert f".drop_constraint({name},type_='check')" in source
    assert f".create_check_constraint({name},'{''.join(wider.split())}')" in source
    flask_migrate.upgrade(directory=str(scratch))
    owner = db.session.scalar(sa.text("SELECT min(id) FROM users"))
    db.session.execute(
        sa.text(
            "INSERT INTO lists (user_id, name, name_key, is_inbox, created_at, trashed_todos) "
            "VALUES (:u, :n, :n, false, '2026-01-01 00:00:00', 0)"
        ),
        {"u": owner, "n": "x" * (LIST_NAME_MAX + 10)},
    )
    db.session.commit()
    # Now the models and the database agree: nothing more to generate.
    before = set(Path(scratch, "versions").iterdir())
    flask_migrate.migrate(directory=str(scratch), message="nothing")
    assert set(Path(scratch, "versions").iterdir()) == before


def test_a_partial_unique_index_is_generated_online_with_its_where(scratch):
    index = sa.Index(
        "ux_todos_scratch_live_title",
        Todo.__table__.c.user_id,
        Todo.__table__.c.title,
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    try:
        flask_migrate.migrate(directory=str(scratch), message="unique live titles")
    finally:
        Todo.__table__.indexes.discard(index)
    source = "".join(generated(scratch).replace('"', "'").split())
    assert (
        "online.create_index('ux_todos_scratch_live_title','todos',['user_id','title'],"
        "unique=True,where='deleted_atISNULL',)"
    ) in source
    assert "online.drop_index('ux_todos_scratch_live_title','todos')" in source


def test_generating_a_revision_prints_no_lint_warning(app, scratch_migrations, monkeypatch, capfd):
    """The post-write hooks lint and format the new file; the lint must not
    complain about a long line that the formatter is about to wrap."""
    monkeypatch.setattr(User.__table__.c.password_hash, "type", sa.String(300))
    with app.app_context():
        flask_migrate.migrate(directory=str(scratch_migrations), message="a long enough message")
    printed = capfd.readouterr()
    assert "E501" not in printed.out + printed.err
    assert "Running post write hook 'ruff_format'" in printed.out + printed.err


REBUILD_TODOS = """
with op.batch_alter_table("todos", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
    batch_op.add_column(
        sa.Column("scratch_rank", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
"""


def index_names(url):
    """Each table's indexes, in the order they were made. SQLite breaks a tie
    between two indexes of one table, so the order within a table is what
    counts; a rebuilt table's indexes come after those of tables made since."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        found = {}
        for table, name, _ in sqlite_tools.indexes(raw):
            found.setdefault(table, []).append(name)
    engine.dispose()
    return found


@sqlite_only
@pytest.mark.parametrize("seed", ["0", "1", "2", "3"])
def test_a_rebuild_makes_the_indexes_again_in_their_order(scratch, database_url, seed):
    """Alembic makes a rebuilt table's indexes in an order that changes with
    Python's hash seed; SQLite breaks a tie between two usable indexes by
    the one made last, so the order is what keeps the todo list on
    ix_todos_live. Upgrades in fresh processes, one seed each: the order stays."""
    before = index_names(database_url)
    write_revision(scratch, "rank todos", REBUILD_TODOS)
    db.session.commit()
    db.engine.dispose()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test",
        "FLASK_DEBUG": "0",
        "HTTPS": "0",
        "PYTHONHASHSEED": seed,
    }
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade", "-d", str(scratch)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert index_names(database_url) == before


@pytest.mark.skipif(
    BACKEND != "sqlite",
    reason="SQLite's search index is kept by triggers a rebuild drops; PostgreSQL's is an index",
)
def test_a_rebuild_of_todos_keeps_the_search_index_in_step(scratch, people):
    """SQLite drops a table's triggers with it, and the search index's keep
    it in step: a rebuild of todos makes them again, so the todos written,
    renamed and purged after it are found as they are (faithful_rebuilds)."""
    from todoapp.models import User
    from todoapp.services import search, todos

    write_revision(
        scratch,
        "widen title",
        """
        with op.batch_alter_table("todos", recreate="always") as batch_op:
            batch_op.alter_column("title", existing_type=sa.String(200), type_=sa.String(250))
        """,
    )
    flask_migrate.upgrade(directory=str(scratch))
    alice = db.session.scalar(sa.select(User.id).where(User.username == "alice"))
    made = todos.create_todo(alice, "written after the rebuild")
    todos.edit_todo(made.id, alice, "renamed after the rebuild")
    found = [row["title"] for row in search.search(alice, "after the rebuild", 50).todos.items]
    assert found == ["renamed after the rebuild"]
    assert [row["title"] for row in search.search(alice, "alice 1", 50).todos.items] == [
        "alice 1 ✓"
    ]


@sqlite_only
def test_the_search_index_fill_skips_the_whole_database_check(scratch, monkeypatch):
    """The search index's rows have no foreign keys: filling it at a million
    todos must not hold the write lock for a whole-database check after it."""
    from todoapp.migration_tools import runner

    checked = []
    real = runner.check_sqlite_foreign_keys
    monkeypatch.setattr(
        runner, "check_sqlite_foreign_keys", lambda conn: checked.append(1) or real(conn)
    )
    flask_migrate.downgrade(directory=str(scratch), revision="0015_session_details")
    checked.clear()
    flask_migrate.upgrade(directory=str(scratch), revision="0016_search_index_on_todo_titles")
    assert checked == []
    alice = db.session.scalar(sa.text("SELECT id FROM users WHERE username = 'alice'"))
    from todoapp.services import search

    assert len(search.search(alice, "alice", 50).todos.items) == 2
