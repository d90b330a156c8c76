"""``make db-test-migrations``: upgrade, downgrade and upgrade again on copies
of the database, every table compared with the data before each step.

Each test puts a scratch revision of the kind a user writes next on top of
today's head, with todos in the database, and runs the check the way the
Makefile does. The database itself must come out untouched every time."""

import io

import pytest
import sqlalchemy as sa

from todoapp.extensions import db
from todoapp.migration_tools import snapshot
from todoapp.migration_tools.roundtrip import round_trip

from .conftest import BACKEND, dispose, make_app, write_revision
from .test_migrations import schema


@pytest.fixture
def todos_in_place(app, alice, make_todo):
    """Three of alice's todos, one done and one in the trash; returns how the
    database stands (schema, rows and version), to check it is never touched."""
    from todoapp.services import todos

    with app.app_context():
        todos.toggle_todo(make_todo(alice, "precious"), alice)
    make_todo(alice, "in the bin", trashed=True)
    make_todo(alice, "another")
    return lambda: state(app)


def state(app):
    with app.app_context(), db.engine.connect() as conn:
        rows = {table: snapshot.Database(conn).count(table) for table in snapshot.table_names(conn)}
        todos = conn.execute(sa.text("SELECT * FROM todos ORDER BY id")).all()
        version = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    with app.app_context():
        return schema(), rows, todos, version


def run(app, directory=None):
    out = io.StringIO()
    code = round_trip(app, out=out, directory=directory)
    return code, out.getvalue()


def test_it_runs_on_copies_and_names_every_table(app, todos_in_place):
    before = todos_in_place()
    code, report = run(app)
    assert code == 0, report
    assert "the database itself is not touched" in report and "round trip passed" in report
    _, rows, _, _ = before
    for table, count in rows.items():  # each table, with its rows, at each comparison
        # A table the head revision makes has no data before it to compare
        # with: it is named as such, at both upgrades.
        if f"{table}: a table new here, not compared" in report:
            assert f"{table}: new at head, not compared" in report, table
            continue
        assert report.count(f"] {table}: {count:,} row") == 3, table
    assert todos_in_place() == before


def test_a_head_that_makes_a_table_and_a_column_passes_naming_them(
    app, todos_in_place, scratch_migrations
):
    write_revision(
        scratch_migrations,
        "scratch table and column",
        """
        op.create_table("scratch_notes", sa.Column("id", sa.Integer(), primary_key=True))
        op.add_column("todos", sa.Column("scratch_flag", sa.Integer()))
        op.execute("INSERT INTO scratch_notes (id) VALUES (1), (2)")
        op.execute("UPDATE todos SET scratch_flag = 7")
        """,
        """
        op.drop_column("todos", "scratch_flag")
        op.drop_table("scratch_notes")
        """,
    )
    code, report = run(app, scratch_migrations)
    assert code == 0, report
    assert "scratch_notes: a table new here, not compared" in report
    assert "todos: new at head, not compared: scratch_flag" in report


# Indexes name done in their conditions (Today's, the open and done todos'),
# and SQLite makes a table's indexes again after a batch rebuild: a revision
# that drops or renames done drops those first and makes them again after, as
# a user's must. Which they are comes from the models, so the next revision's
# index on done is taken along too.
ON_DONE = (
    '[i for i in Todo.__table__.indexes if "done" in str(i.dialect_options["sqlite"]["where"])]'
)
DONE_INDEXES_OFF = f"""from todoapp.models import Todo
for index in {ON_DONE}:
    op.drop_index(index.name, table_name="todos")"""
DONE_INDEXES_ON = f"""from todoapp.models import Todo
for index in {ON_DONE}:
    index.create(op.get_bind())"""
ADDED_AND_DROPPED = f"""
{DONE_INDEXES_OFF}
with op.batch_alter_table("todos") as batch_op:
    batch_op.add_column(
        sa.Column("completed", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    batch_op.drop_column("done")
"""
ADDED_AND_DROPPED_BACK = f"""
with op.batch_alter_table("todos") as batch_op:
    batch_op.add_column(sa.Column("done", sa.Boolean(), server_default=sa.false(), nullable=False))
    batch_op.drop_column("completed")
{DONE_INDEXES_ON}
"""
BLANKS_EVERY_TITLE = "op.execute(\"UPDATE todos SET title = ' '\")"


@pytest.mark.parametrize(
    "upgrade, downgrade, header, verdict",
    [
        (BLANKS_EVERY_TITLE, "pass", "", "3 values of title CHANGED"),
        (
            # A rename as autogenerate writes it, with the lint's old advice
            # for the new NOT NULL column followed: a default.
            ADDED_AND_DROPPED,
            ADDED_AND_DROPPED_BACK,
            "",
            "column done GONE (3 values lost)",
        ),
        (
            ADDED_AND_DROPPED,
            ADDED_AND_DROPPED_BACK,
            'UPGRADE_RENAMES = {"todos.done": "todos.completed"}',
            "1 value of done -> completed CHANGED",
        ),
    ],
    ids=["blanks every title", "adds and drops", "adds and drops, declared a rename"],
)
def test_an_upgrade_that_loses_values_fails_before_anything_else(
    app, todos_in_place, scratch_migrations, upgrade, downgrade, header, verdict
):
    before = todos_in_place()
    write_revision(scratch_migrations, "scratch loses values", upgrade, downgrade, header=header)
    code, report = run(app, scratch_migrations)
    assert code == 1, report
    comparison = report.split("Compared with the data before the upgrade:")[1]
    assert f"] todos: 3 rows: {verdict}" in comparison
    assert "] users: 1 row, the same" in comparison
    assert f"FAILED on the copy: todos: {verdict}." in report
    assert "downgrade" not in comparison  # it stops at the first loss
    assert todos_in_place() == before


def test_a_declared_rename_done_in_place_passes(app, todos_in_place, scratch_migrations):
    write_revision(
        scratch_migrations,
        "scratch rename done",
        f"""
{DONE_INDEXES_OFF}
with op.batch_alter_table("todos") as batch_op:
    batch_op.alter_column("done", new_column_name="completed")
""",
        f"""
with op.batch_alter_table("todos") as batch_op:
    batch_op.alter_column("completed", new_column_name="done")
{DONE_INDEXES_ON}
""",
        header='UPGRADE_RENAMES = {"todos.done": "todos.completed"}',
    )
    code, report = run(app, scratch_migrations)
    assert code == 0, report


@pytest.mark.parametrize(
    "downgrade_sql, verdict",
    [
        ("DELETE FROM todos WHERE id = (SELECT max(id) FROM todos)", "1 of 3 rows LOST"),
        (
            "UPDATE todos SET done = NOT done WHERE id = (SELECT max(id) FROM todos)",
            "1 value of done CHANGED",
        ),
    ],
    ids=["deletes", "changes"],
)
def test_a_downgrade_that_loses_rows_fails_naming_the_table(
    app, todos_in_place, scratch_migrations, downgrade_sql, verdict
):
    before = todos_in_place()
    write_revision(scratch_migrations, "loses rows", "pass", f"op.execute({downgrade_sql!r})")
    code, report = run(app, scratch_migrations)
    assert code == 1, report
    assert f"FAILED on the copy: todos: {verdict}." in report
    assert todos_in_place() == before


def test_a_step_that_raises_a_database_error_fails_with_one_line(
    app, todos_in_place, scratch_migrations
):
    before = todos_in_place()
    write_revision(
        scratch_migrations, "scratch broken", 'op.execute("UPDATE no_such_table SET x = 1")'
    )
    code, report = run(app, scratch_migrations)
    assert code == 1
    assert "Traceback" not in report
    assert "no_such_table" in report and "The database itself was not touched." in report
    assert todos_in_place() == before


@pytest.mark.skipif(
    BACKEND != "sqlite", reason="a PostgreSQL database that is not there fails to copy"
)
def test_it_refuses_a_database_that_is_not_there(tmp_path):
    missing = tmp_path / "typo.sqlite"
    app = make_app(f"sqlite:///{missing}")
    with pytest.raises(SystemExit, match="There is no database at .*typo.sqlite"):
        round_trip(app, out=io.StringIO())
    assert not missing.exists()
    dispose(app)
