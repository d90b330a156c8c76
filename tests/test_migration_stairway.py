"""Every revision up, down and up again, with rows in every table.

pytest-alembic's built-in checks run first. Then a data stairway of our own,
over every revision the script directory holds, oldest first: from an empty
database, upgrade one revision at a time to it, filling every table before
each step and at the top (``stairway.Seeder``); step down once; check that
every row and value the schema still holds is there; upgrade again; check
that nothing was lost on the way up. A downgrade may refuse, or delete rows,
only as its revision declares (see ``todoapp/migration_tools/stairway.py``).

The machinery is proved on scratch revisions as well: two branches and their
merge, a downgrade that loses rows it does not declare, one that refuses
without declaring it, one that declares its own refusal and purge, and a
table that refuses every row the seeder offers.
"""

import textwrap

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from pytest_alembic.config import Config
from pytest_alembic.tests import (  # noqa: F401 - collected as tests here
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)

from todoapp import ROOT
from todoapp.extensions import db
from todoapp.migration_tools import compare, snapshot, stairway
from todoapp.migration_tools.naming import revision_parents
from todoapp.models import Todo, User

from .conftest import dispose, make_app, next_file_date

MIGRATIONS = ROOT / "migrations"
REVISIONS = [
    rev.revision for rev in stairway.revisions_oldest_first(ScriptDirectory(str(MIGRATIONS)))
]


@pytest.fixture
def alembic_config():
    return Config(config_options={"script_location": str(MIGRATIONS)})


@pytest.fixture
def alembic_engine(empty_database_url):
    app = make_app(empty_database_url)
    with app.app_context():  # env.py runs inside the app, as under `flask db`
        yield db.engine
    dispose(app)


# --- Talking to the database of the current app ----------------------------------


def alembic(directory, *x_args):
    """The Alembic config `flask db --directory DIRECTORY ... -x ARG` would use."""
    migrate = current_app.extensions["migrate"].migrate
    return migrate.get_config(directory=str(directory), x_arg=list(x_args))


def downgrade(directory, target, *x_args):
    """Run a downgrade; return its refusal (a ``CommandError``), or None."""
    try:
        command.downgrade(alembic(directory, *x_args), target)
    except CommandError as refusal:
        return refusal
    return None


def take_snapshot(where=None):
    with db.engine.connect() as conn:
        return snapshot.snapshot(conn, where)


def versions():
    with db.engine.connect() as conn:
        return set(conn.scalars(sa.text("SELECT version_num FROM alembic_version")))


def seed(seeder):
    with db.engine.begin() as conn:
        seeder.seed(conn)


def columns(tables):
    return {name: set(table.columns) for name, table in tables.items()}


def listed(found):
    return "".join(f"\n  {table}: {what}" for table, what in found.items())


# --- The stairway --------------------------------------------------------------


def differences(before, fates, may_lose=None):
    """Table -> what the database now lost or changed against ``before`` (a
    snapshot), as ``fates`` carry it."""
    with db.engine.connect() as conn:
        found = compare.compare(before, snapshot.Database(conn), fates, may_lose=may_lose)
        return {diff.table: diff.describe() for diff in found if diff.problems()}


def climb(directory, revision):
    """Up to ``revision`` with data, one step down, and up again, checking
    every row against the rows before each step, in the current app's
    database (which starts empty)."""
    script = ScriptDirectory(str(directory))
    top = script.get_revision(revision)
    writes = stairway.upgrade_declaration(top)
    seeder = stairway.Seeder()
    *below, _ = stairway.path_to(script, revision)
    for step in below:
        seed(seeder)  # before the first step there are no tables, so no rows
        command.upgrade(alembic(directory), step.revision)
    seed(seeder)
    check_upgrade(directory, revision, writes)
    seed(seeder)
    at_top = take_snapshot()

    target, doomed = step_down(directory, top, at_top)
    stepped_down = take_snapshot()
    assert versions() == set(revision_parents(top))
    if target == "base":
        assert stepped_down == {}, "back at base, no table may be left behind"
    fates = compare.downgrade_fates(at_top.columns(), stepped_down.columns(), [writes])
    lost = differences(at_top, fates, may_lose=doomed)
    assert not lost, (
        f"The downgrade of {revision} to {target} lost or changed rows it does not "
        f"declare:{listed(lost)}\nIf it deletes rows on purpose, declare them in the "
        'revision file: DOWNGRADE_DELETES = {"<table>": "<SQL condition matching them>"}, '
        'and DOWNGRADE_REFUSES_UNLESS = ["<name>=yes"] if it should refuse unless told. '
        "Values of the rows it keeps must never change."
    )
    back_up = check_upgrade(directory, revision, writes, before=stepped_down)
    assert columns(back_up) == columns(at_top), (
        f"upgrading to {revision} again built another schema"
    )


def check_upgrade(directory, revision, writes, before=None):
    """Upgrade to ``revision`` and check that every row and value of the
    tables before it is still there, as its declarations carry them."""
    before = take_snapshot() if before is None else before
    command.upgrade(alembic(directory), revision)
    assert versions() == {revision}
    lost = differences(before, compare.fates(before.columns(), [writes]))
    assert not lost, (
        f"Upgrading to {revision} lost or changed rows:{listed(lost)}\n"
        "An upgrade must keep every row and value, except what it declares: "
        'UPGRADE_RENAMES = {"<table>.<old>": "<table>.<new>"}, '
        'UPGRADE_DROPS = ["<table>.<column>"], '
        'UPGRADE_FILLS = {"<table>": ["<column whose NULLs it fills>"]}, '
        'UPGRADE_REWRITES = {"<table>": ["<column whose values it rewrites>"]}, '
        'UPGRADE_ADDS = {"<table>": "<SQL condition matching the rows it adds>"}.'
    )
    after = take_snapshot()
    for table, filled in writes.fills.items():
        for column in filled:
            unfilled = after[table].project([column]).count((None,))
            assert not unfilled, (
                f"{revision} declares that it fills {table}.{column}, but {unfilled} "
                "row(s) are still NULL there"
            )
    return after


def step_down(directory, top, at_top):
    """Undo revision ``top`` alone, as its declaration says: if it declares a
    refusal, see it refuse, say why and change nothing, then go on as the
    refusal says. Return the target and, per table, the primary keys of the
    rows it declares it deletes (read before they go)."""
    revision, declared = top.revision, stairway.declaration(top)
    doomed = {
        table: set(rows.project(rows.key))
        for table, rows in (take_snapshot(declared.deletes) if declared.deletes else {}).items()
    }
    target = stairway.one_step_down(top)
    refusal = downgrade(directory, target)
    if declared.refuses_unless:
        assert refusal is not None, (
            f"{revision} declares that its downgrade refuses unless run as "
            f"`{declared.way_on}`, but with rows in every table it went ahead."
        )
        assert stairway.REFUSAL in str(refusal) and declared.way_on in str(refusal), (
            f"The refusal of {revision}'s downgrade must say {stairway.REFUSAL!r} and show "
            f"the way on, `{declared.way_on}`. It said: {refusal}"
        )
        assert versions() == {revision}, "the refused downgrade moved the version"
        assert take_snapshot() == at_top, "the refused downgrade changed rows"
        refusal = downgrade(directory, target, *declared.refuses_unless)
        assert refusal is None, f"Even as `{declared.way_on}`, the downgrade refused: {refusal}"
    assert refusal is None, (
        f"The downgrade of {revision} to {target} refused: {refusal}\n"
        "If it is meant to, declare in the revision file the -x arguments that let it go "
        'on, e.g. DOWNGRADE_REFUSES_UNLESS = ["purge_trash=yes"], and the rows it then '
        'deletes, e.g. DOWNGRADE_DELETES = {"todos": "deleted_at IS NOT NULL"}.'
    )
    return target, doomed


@pytest.mark.parametrize("revision", REVISIONS)
def test_data_stairway(empty_app, revision):
    climb(MIGRATIONS, revision)


# --- The machinery, on scratch revisions ------------------------------------------


def add_revision(directory, name, upgrade="pass", downgrade="pass", *, parents=None, header=""):
    """Write revision ``name`` into the scratch ``directory``, on top of its
    head (or of ``parents``). ``upgrade``/``downgrade`` are function bodies,
    ``header`` goes after the revision identifiers (declarations)."""
    parents = tuple(parents or ScriptDirectory(str(directory)).get_heads())
    down = parents[0] if len(parents) == 1 else parents
    body = textwrap.dedent(
        f'''\
        """{name.replace("_", " ")} (a scratch revision)"""

        import sqlalchemy as sa
        from alembic import context, op
        from alembic.util import CommandError

        revision = {name!r}
        down_revision = {down!r}
        branch_labels = None
        depends_on = None
        '''
    )
    body += textwrap.dedent(header)
    for function, code in (("upgrade", upgrade), ("downgrade", downgrade)):
        body += f"\n\ndef {function}():\n" + textwrap.indent(textwrap.dedent(code).strip(), "    ")
    path = directory / "versions" / f"{next_file_date(directory)}_{name}.py"
    path.write_text(body + "\n", encoding="utf-8")
    return name


TAGS_TABLE = """
op.create_table(
    "scratch_tags",
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("todo_id", sa.Integer(), sa.ForeignKey("todos.id", ondelete="CASCADE")),
    sa.Column("name", sa.String(40), nullable=False, unique=True),
    sa.Column("weight", sa.BigInteger(), nullable=False),
    sa.Column("pinned", sa.Boolean(), nullable=False),
    sa.Column("seen_at", sa.DateTime(timezone=True)),
    # Unknown to the seeder: its longest names are refused, shorter ones are not.
    sa.CheckConstraint("length(name) <= 12", name="ck_scratch_tags_name_short"),
)
"""
PRIORITY_COLUMN = """
with op.batch_alter_table("todos") as batch_op:
    batch_op.add_column(sa.Column("scratch_priority", sa.SmallInteger(), nullable=True))
"""
NO_PRIORITY = """
with op.batch_alter_table("todos", recreate="always") as batch_op:
    batch_op.drop_column("scratch_priority")
"""


def add_two_branches_and_their_merge(directory):
    tags = add_revision(directory, "0097_scratch_tags", TAGS_TABLE, 'op.drop_table("scratch_tags")')
    head = ScriptDirectory(str(directory)).get_revision(tags).down_revision
    priority = add_revision(
        directory, "0097_scratch_priority", PRIORITY_COLUMN, NO_PRIORITY, parents=[head]
    )
    merge = add_revision(directory, "0098_scratch_merge", parents=[tags, priority])
    return tags, priority, merge


def test_revisions_come_oldest_first_even_through_a_merge(scratch_migrations):
    *_, merge = add_two_branches_and_their_merge(scratch_migrations)
    script = ScriptDirectory(str(scratch_migrations))
    order = [rev.revision for rev in stairway.revisions_oldest_first(script)]
    assert sorted(order) == sorted(rev.revision for rev in script.walk_revisions())
    for rev in script.walk_revisions():
        for parent in revision_parents(rev):
            assert order.index(parent) < order.index(rev.revision)
    assert order[-1] == merge
    assert stairway.one_step_down(script.get_revision(merge)) in revision_parents(
        script.get_revision(merge)
    )


@pytest.mark.parametrize("climbed", ["tags", "priority", "merge"])
def test_the_stairway_climbs_two_branches_and_their_merge(empty_app, scratch_migrations, climbed):
    tags, priority, merge = add_two_branches_and_their_merge(scratch_migrations)
    climb(scratch_migrations, {"tags": tags, "priority": priority, "merge": merge}[climbed])


def test_a_downgrade_that_loses_rows_it_does_not_declare_fails(empty_app, scratch_migrations):
    revision = add_revision(
        scratch_migrations,
        "0099_scratch_loses_rows",
        downgrade='op.execute("DELETE FROM todos WHERE done")',
    )
    with pytest.raises(AssertionError) as failed:
        climb(scratch_migrations, revision)
    message = str(failed.value)
    assert f"The downgrade of {revision}" in message and "rows LOST" in message
    assert "todos:" in message
    assert "DOWNGRADE_DELETES" in message


def test_a_downgrade_that_refuses_without_declaring_it_fails(empty_app, scratch_migrations):
    revision = add_revision(
        scratch_migrations,
        "0099_scratch_refuses",
        downgrade='raise CommandError("Refusing to downgrade: run flask db downgrade -x sure=yes")',
    )
    with pytest.raises(AssertionError, match="DOWNGRADE_REFUSES_UNLESS"):
        climb(scratch_migrations, revision)


DECLARES_A_PURGE = """
DOWNGRADE_REFUSES_UNLESS = ["drop_done=yes"]
DOWNGRADE_DELETES = {"todos": "done"}
"""
PURGES = """
if context.get_x_argument(as_dictionary=True).get("drop_done") != "yes":
    raise CommandError(
        "Refusing to downgrade: done todos cannot be kept. Run: flask db downgrade -x drop_done=yes"
    )
op.execute("DELETE FROM todos WHERE {purged}")
"""


@pytest.mark.parametrize(
    "purged, passes",
    [("done", True), ("done OR deleted_at IS NOT NULL", False)],
    ids=["deletes what it declares", "deletes more"],
)
def test_a_revision_declares_its_own_refusal_and_purge(
    empty_app, scratch_migrations, purged, passes
):
    revision = add_revision(
        scratch_migrations,
        "0099_scratch_purges_done",
        downgrade=PURGES.format(purged=purged),
        header=DECLARES_A_PURGE,
    )
    declared = stairway.declaration(ScriptDirectory(str(scratch_migrations)).get_revision(revision))
    assert declared.way_on == "flask db downgrade -x drop_done=yes"
    if passes:
        climb(scratch_migrations, revision)
    else:
        with pytest.raises(AssertionError, match="todos:.*rows LOST"):
            climb(scratch_migrations, revision)


DECLARES_A_BACKFILL = """
UPGRADE_FILLS = {"todos": ["scratch_rank"]}
"""


NULLS = "WHERE scratch_rank IS NULL"


@pytest.mark.parametrize(
    "filled, header, failure",
    [
        (f"scratch_rank = id {NULLS}", DECLARES_A_BACKFILL, None),
        (f"scratch_rank = id {NULLS}", "", "UPGRADE_FILLS"),
        (f"scratch_rank = id, done = NOT done {NULLS}", DECLARES_A_BACKFILL, "of done CHANGED"),
        ("scratch_rank = -id", DECLARES_A_BACKFILL, "of scratch_rank CHANGED"),
        (f"scratch_rank = id {NULLS} AND done", DECLARES_A_BACKFILL, "are still NULL"),
    ],
    ids=["fills what it declares", "undeclared", "changes more", "overwrites", "leaves NULLs"],
)
def test_a_backfill_writes_only_what_it_declares(
    empty_app, scratch_migrations, filled, header, failure
):
    # The upgrade fills a new column's NULLs: a value the seeder put there
    # is kept, as a backfill that is run again must keep what it wrote.
    base = add_revision(
        scratch_migrations,
        "0098_scratch_rank",
        'op.add_column("todos", sa.Column("scratch_rank", sa.Integer()))',
        'op.drop_column("todos", "scratch_rank")',
    )
    revision = add_revision(
        scratch_migrations,
        "0099_scratch_rank_backfill",
        f'op.execute("UPDATE todos SET {filled}")',  # noqa: S608 - the test's own SQL
        parents=[base],
        header=header,
    )
    if failure is None:
        climb(scratch_migrations, revision)
    else:
        with pytest.raises(AssertionError, match=failure):
            climb(scratch_migrations, revision)


def test_the_seeder_fills_every_table_at_its_limits(empty_app):
    command.upgrade(alembic(MIGRATIONS), "heads")
    seeder = stairway.Seeder()
    seed(seeder)
    seed(seeder)
    counts = {name: len(table.rows) for name, table in take_snapshot().items()}
    assert counts and set(counts.values()) == {2 * stairway.ROWS_PER_STEP}

    todos = db.session.execute(sa.select(Todo.__table__)).all()
    users = db.session.execute(sa.select(User.__table__)).all()
    assert {t.deleted_at is None for t in todos} == {True, False}  # live and trashed
    assert len({t.user_id for t in todos}) > 1 and len({u.username for u in users}) == len(users)
    assert {t.done for t in todos} == {True, False} and {u.is_admin for u in users} == {True, False}
    titles = [t.title for t in todos]
    assert any(len(title) == Todo.title.type.length and not title.isascii() for title in titles)
    assert any(len(title) <= 2 for title in titles)
    assert any(len(u.username) == User.username.type.length for u in users)
    assert all(t.created_at.tzinfo is not None and t.created_at.microsecond for t in todos)
    failures = db.session.scalars(sa.text("SELECT failures FROM login_throttle")).all()
    assert {2**31 - 1, -(2**31)} <= set(failures)
    db.session.commit()


def test_a_table_that_refuses_every_row_fails_naming_it(empty_app, scratch_migrations):
    revision = add_revision(
        scratch_migrations,
        "0099_scratch_picky",
        """
        op.create_table(
            "picky",
            sa.Column("word", sa.String(20), primary_key=True),
            sa.CheckConstraint("word = 'never'", name="ck_picky_never"),
        )
        """,
        'op.drop_table("picky")',
    )
    command.upgrade(alembic(scratch_migrations), revision)
    with pytest.raises(stairway.SeedingError, match="Table picky: only 0 of the 4 rows"):
        seed(stairway.Seeder())


NOTE_COLUMN = 'op.add_column("todos", sa.Column("scratch_note", sa.String(40)))'
# How autogenerate writes a renamed column: a new one, and the old one dropped.
ADDED_AND_DROPPED = """
with op.batch_alter_table("todos") as batch_op:
    batch_op.add_column(sa.Column("scratch_text", sa.String(40), server_default=""))
    batch_op.drop_column("scratch_note")
"""
ADDED_AND_DROPPED_BACK = """
with op.batch_alter_table("todos") as batch_op:
    batch_op.add_column(sa.Column("scratch_note", sa.String(40)))
    batch_op.drop_column("scratch_text")
"""
RENAMED = """
with op.batch_alter_table("todos") as batch_op:
    batch_op.alter_column("scratch_note", new_column_name="scratch_text")
"""
RENAMED_BACK = """
with op.batch_alter_table("todos") as batch_op:
    batch_op.alter_column("scratch_text", new_column_name="scratch_note")
"""
DECLARES_THE_RENAME = 'UPGRADE_RENAMES = {"todos.scratch_note": "todos.scratch_text"}\n'


@pytest.mark.parametrize(
    "upgrade, downgrade, header, failure",
    [
        (ADDED_AND_DROPPED, ADDED_AND_DROPPED_BACK, "", "column scratch_note GONE"),
        (
            ADDED_AND_DROPPED,
            ADDED_AND_DROPPED_BACK,
            DECLARES_THE_RENAME,
            "of scratch_note -> scratch_text CHANGED",
        ),
        (RENAMED, RENAMED_BACK, "", "column scratch_note GONE"),
        (RENAMED, RENAMED_BACK, DECLARES_THE_RENAME, None),
        (
            'op.drop_column("todos", "scratch_note")',
            NOTE_COLUMN,
            'UPGRADE_DROPS = ["todos.scratch_note"]\n',
            None,
        ),
    ],
    ids=[
        "added and dropped",
        "added and dropped, declared a rename",
        "renamed, undeclared",
        "renamed, declared",
        "dropped, declared",
    ],
)
def test_a_column_that_goes_is_a_loss_unless_declared(
    empty_app, scratch_migrations, upgrade, downgrade, header, failure
):
    base = add_revision(
        scratch_migrations,
        "0098_scratch_note",
        NOTE_COLUMN,
        'op.drop_column("todos", "scratch_note")',
    )
    revision = add_revision(
        scratch_migrations,
        "0099_scratch_rename",
        upgrade,
        downgrade,
        parents=[base],
        header=header,
    )
    if failure is None:
        climb(scratch_migrations, revision)
    else:
        with pytest.raises(AssertionError, match=f"(?s)Upgrading to {revision} lost.*{failure}"):
            climb(scratch_migrations, revision)
