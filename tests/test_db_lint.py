"""``flask db lint``: the risk table of the migration guide, run on revision files.

Scratch revisions go on top of a copy of migrations/, after whatever its head
is today, so these tests hold however many revisions exist.
"""

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask_migrate.cli import db as db_group

from todoapp.extensions import db
from todoapp.migration_tools.lint import (
    analyse_source,
    lint_command,
    referencing_columns,
    reviewed_marker,
)

from .conftest import next_file_date

REVISION = '''\
"""{message}

Revision ID: {revision}
Revises: {down_revision}
"""

import sqlalchemy as sa
from alembic import op
{top}

revision = {revision!r}
down_revision = {down_revision!r}
branch_labels = None
depends_on = None


def upgrade():
{upgrade}


def downgrade():
{downgrade}
'''
KEEP = '{"sqlite_autoincrement": True}'
DROP_DONE = f"""\
with op.batch_alter_table("todos", table_kwargs={KEEP}) as batch_op:
    batch_op.drop_column("done")
op.alter_column("todos", "title", type_=sa.String(300))
op.alter_column("users", "username", new_column_name="login")
op.create_foreign_key("fk_todos_owner", "todos", "users", ["user_id"], ["id"])
"""
REVIEWED = 'RISKS_REVIEWED = "dana, 2026-11-25, done is unused"'


@pytest.fixture
def lint(runner):
    """Run ``flask db lint ARGS...`` through the app's CLI."""
    if "lint" not in db_group.commands:
        db_group.add_command(lint_command)

    def run(*args):
        return runner.invoke(args=["db", "lint", *args])

    return run


def script_directory(app):
    """The revisions the app's ``flask db`` sees."""
    config = app.extensions["migrate"]
    with app.app_context():
        return ScriptDirectory.from_config(config.migrate.get_config(config.directory))


def revision_ids(app):
    """Every revision id, oldest first."""
    return [script.revision for script in script_directory(app).walk_revisions()][::-1]


@dataclass
class ScratchRevision:
    id: str
    path: Path

    def line(self, text):
        """The number of the first line of the file that holds ``text``."""
        lines = self.path.read_text().splitlines()
        return next(number for number, line in enumerate(lines, 1) if text in line)


@pytest.fixture
def scratch(app, scratch_migrations):
    """Writes revisions into a copy of migrations/, which the app then uses.

    ``scratch(upgrade, downgrade, top=..., down_revision=...)`` writes one on
    top of the copy's head (or of ``down_revision``) and returns it; ``top``
    is module-level source.
    """
    app.extensions["migrate"].directory = str(scratch_migrations)

    def write(upgrade="pass", downgrade="pass", *, top="", down_revision=None, slug="scratch"):
        if down_revision is None:
            down_revision = script_directory(app).get_current_head()
        parents = down_revision if isinstance(down_revision, tuple) else (down_revision,)
        revision = f"{1 + max(int(parent[:4]) for parent in parents):04d}_{slug}"
        path = (
            scratch_migrations / "versions" / f"{next_file_date(scratch_migrations)}_{revision}.py"
        )
        source = REVISION.format(
            message=slug.replace("_", " "),
            revision=revision,
            down_revision=down_revision,
            top=textwrap.dedent(top),
            upgrade=textwrap.indent(textwrap.dedent(upgrade), "    "),
            downgrade=textwrap.indent(textwrap.dedent(downgrade), "    "),
        )
        path.write_text(source)
        return ScratchRevision(revision, path)

    return write


def revision_blocks(output):
    """Output lines grouped under the revision header they follow."""
    blocks, current = {}, None
    for line in output.splitlines():
        if line[:4].isdigit():
            current = line.split()[0]
            blocks[current] = [line]
        elif current and line.startswith("  "):
            blocks[current].append(line)
    return blocks


def group(lines, function):
    """The finding lines of a revision block's ``upgrade`` or ``downgrade`` group."""
    start = next(i for i, line in enumerate(lines) if line.startswith(f"  {function}"))
    found = []
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        found.append(line)
    return found


def has_line(lines, level, description, where=None):
    """A finding of ``level`` whose text holds ``description`` (and ends ``(where)``)."""
    return any(
        line.split()[:1] == [level]
        and description in line
        and (where is None or line.endswith(f"({where})"))
        for line in lines
    )


# --- the real revisions ------------------------------------------------------


def test_all_lints_every_real_revision(app, lint):
    result = lint("all")
    assert result.exit_code == 0, result.output
    blocks = revision_blocks(result.output)
    ids = revision_ids(app)
    assert list(blocks) == ids
    assert result.output.splitlines()[-1].startswith(f"{len(ids)} revisions. upgrade: ")
    assert blocks["0001"][0].startswith("0001  create users and todos  (2026_11_24_0001_")
    assert has_line(group(blocks["0001"], "upgrade"), "Low", "create table users")
    assert has_line(group(blocks["0001"], "upgrade"), "Low", "create table todos")
    upgrade_0002 = group(blocks["0002"], "upgrade")
    assert has_line(upgrade_0002, "Low", "add column todos.deleted_at")
    # On PostgreSQL 0002 builds its indexes inside the transaction, blocking writes:
    # the project's rule and squawk's both say so; 0002 predates the lock rules.
    assert has_line(upgrade_0002, "High", "create index ix_todos_live on todos")
    assert "squawk require-concurrent-index-creation" in "\n".join(upgrade_0002)
    assert "squawk adding-foreign-key-constraint" in "\n".join(upgrade_0002)
    assert "High findings are reported, not failed" in "\n".join(blocks["0002"])
    assert has_line(upgrade_0002, "Review", "raw SQL: ALTER TABLE todos ADD COLUMN deleted_by")
    assert has_line(group(blocks["0003"], "upgrade"), "Low", "create table login_throttle")
    for revision in ("0001", "0002", "0003"):
        assert not has_line(group(blocks[revision], "upgrade"), "Critical", "")
    # A downgrade drops what its upgrade added: listed, and it does not fail the lint.
    assert has_line(group(blocks["0002"], "downgrade"), "Critical", "drop column todos.deleted_at")
    assert has_line(group(blocks["0003"], "downgrade"), "Critical", "drop table login_throttle")


def test_a_database_at_head_has_nothing_pending(lint):
    result = lint()
    assert result.exit_code == 0, result.output
    assert "Nothing pending" in result.output
    assert revision_blocks(result.output) == {}


def test_an_inclusive_range_lints_both_ends_only(app, lint):
    ids = revision_ids(app)
    result = lint("0001:0002")
    assert result.exit_code == 0, result.output
    assert list(revision_blocks(result.output)) == ["0001", "0002"]
    assert list(revision_blocks(lint("0002:head").output)) == ids[ids.index("0002") :]
    assert list(revision_blocks(lint("base:head").output)) == ids
    assert list(revision_blocks(lint("0003").output)) == ["0003"]


@pytest.mark.parametrize("spec", ["nonsense", "0003:0001", "base"])
def test_an_unknown_revision_is_a_usage_error(lint, spec):
    result = lint(spec)
    assert result.exit_code == 2
    assert "Invalid value for RANGE" in result.output
    assert "flask db history" in result.output or "not a revision" in result.output


# --- the Critical marker -------------------------------------------------------


def test_a_pending_unreviewed_drop_fails(app, lint, scratch):
    head = script_directory(app).get_current_head()
    revision = scratch(DROP_DONE, slug="drop_done")
    result = lint()
    assert result.exit_code == 1, result.output
    assert f"Pending (the database is at {head}): {revision.id}" in result.output
    lines = revision_blocks(result.output)[revision.id]
    assert lines[0] == f"{revision.id}  drop done  ({revision.path.name})"
    upgrade = group(lines, "upgrade")
    assert has_line(upgrade, "Critical", "drop column todos.done")
    assert has_line(upgrade, "High", "change type of todos.title")
    assert has_line(upgrade, "High", "rename column users.username to login")
    # PostgreSQL's view: the foreign key checks every row while writes wait.
    assert has_line(upgrade, "High", "add foreign key fk_todos_owner on todos -> users")
    assert "squawk adding-foreign-key-constraint" in "\n".join(upgrade)
    assert f"Fails the lint: {revision.id} (unreviewed Critical/High)." in result.output
    assert revision.path.name in result.stderr
    assert 'RISKS_REVIEWED = "who, when, why it is safe"' in result.stderr
    # CI lints every revision: the drop fails it the same way.
    assert lint("all").exit_code == 1


def test_a_reviewed_drop_passes(lint, scratch):
    revision = scratch(DROP_DONE, top=REVIEWED, slug="drop_done")
    result = lint()
    assert result.exit_code == 0, result.output
    assert "reviewed: dana, 2026-11-25, done is unused" in result.output
    upgrade = group(revision_blocks(result.output)[revision.id], "upgrade")
    assert has_line(upgrade, "Critical", "drop column todos.done")


# --- what Alembic runs: helpers, other names for op, downgrade() ------------------


def test_operations_in_helpers_are_found_at_their_own_line(lint, scratch):
    helpers = """
    def _drop_old(table):
        op.drop_table(table)


    def _clean_up(again=True):
        _drop_old("legacy_notes")
        if again:
            _clean_up(again=False)  # recursion: read once
    """
    revision = scratch("_clean_up()", '_drop_old("notes")', top=helpers)
    result = lint(revision.id)
    assert result.exit_code == 1, result.output
    line = revision.line("op.drop_table(table)")
    lines = revision_blocks(result.output)[revision.id]
    where = f"line {line}, in _drop_old via _clean_up via upgrade"
    assert group(lines, "upgrade")[0] == f"    Critical  drop table legacy_notes  ({where})"
    assert f"drop table legacy_notes  ({where})" in result.stderr
    downgrade = group(lines, "downgrade")
    assert has_line(
        downgrade, "Critical", "drop table notes", f"line {line}, in _drop_old via downgrade"
    )


@pytest.mark.parametrize(
    ("imports", "call"),
    [
        ("import alembic", "alembic.op.drop_table('legacy_notes')"),
        ("import alembic.op", "alembic.op.drop_table('legacy_notes')"),
        ("from alembic import op as migration", "migration.drop_table('legacy_notes')"),
    ],
    ids=["import alembic", "import alembic.op", "op as migration"],
)
def test_op_is_found_under_any_name(lint, scratch, imports, call):
    revision = scratch(call, top=imports)
    result = lint(revision.id)
    assert result.exit_code == 1, result.output
    upgrade = group(revision_blocks(result.output)[revision.id], "upgrade")
    assert has_line(upgrade, "Critical", "drop table legacy_notes", f"line {revision.line(call)}")


def test_downgrade_is_listed_on_its_own_and_never_fails(lint, scratch):
    create = 'op.create_table("notes", sa.Column("id", sa.Integer(), primary_key=True))'
    revision = scratch(create, 'op.drop_table("notes")')
    result = lint(revision.id)
    assert result.exit_code == 0, result.output
    lines = revision_blocks(result.output)[revision.id]
    assert group(lines, "upgrade") == [
        f"    Low       create table notes  (line {revision.line('op.create_table')})"
    ]
    assert "  downgrade (never fails the lint):" in lines
    assert has_line(group(lines, "downgrade"), "Critical", "drop table notes")
    assert "Fails the lint" not in result.output
    assert result.stderr == ""


# --- Fails: a NOT NULL column that existing rows cannot fill ---------------------


@pytest.mark.parametrize(
    ("upgrade", "description"),
    [
        (
            'op.add_column("todos", sa.Column("priority", sa.Integer(), nullable=False))',
            "add column todos.priority NOT NULL with no server_default: fails if todos has rows",
        ),
        (
            """\
            with op.batch_alter_table("users") as batch_op:
                batch_op.add_column(sa.Column("code", sa.Integer(), primary_key=True))
            """,
            "add column users.code NOT NULL with no server_default: fails if users has rows",
        ),
    ],
    ids=["op", "batch primary key"],
)
def test_a_not_null_column_without_default_fails_even_reviewed(lint, scratch, upgrade, description):
    revision = scratch(upgrade, top=REVIEWED)
    result = lint(revision.id)
    assert result.exit_code == 1, result.output
    line = revision.line("add_column")
    upgrade_lines = group(revision_blocks(result.output)[revision.id], "upgrade")
    assert has_line(upgrade_lines, "Fails", description, f"line {line}")
    assert f"Fails the lint: {revision.id} (Fails)." in result.output
    assert "adds a NOT NULL column with no server_default" in result.stderr
    assert f"{description}  (line {line})" in result.stderr
    assert "server_default=" in result.stderr and "nullable=True" in result.stderr
    assert "RISKS_REVIEWED does not excuse it" in result.stderr


@pytest.mark.parametrize(
    "upgrade",
    [
        'op.add_column("todos", sa.Column("priority", sa.Integer(), nullable=False, '
        'server_default="0"))',
        'op.add_column("todos", sa.Column("priority", sa.Integer(), nullable=True))',
        """\
        op.create_table("notes", sa.Column("id", sa.Integer(), primary_key=True))
        op.add_column("notes", sa.Column("priority", sa.Integer(), nullable=False))
        """,
    ],
    ids=["server default", "nullable", "new table"],
)
def test_a_column_rows_can_hold_is_low(lint, scratch, upgrade):
    revision = scratch(upgrade)
    result = lint(revision.id)
    assert result.exit_code == 0, result.output
    upgrade_lines = group(revision_blocks(result.output)[revision.id], "upgrade")
    assert has_line(upgrade_lines, "Low", "add column")
    assert not has_line(upgrade_lines, "Fails", "")


# --- table rebuilds ---------------------------------------------------------------


def test_rebuilding_a_referenced_table_is_high_and_names_its_references(lint, scratch):
    upgrade = """\
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column("username", nullable=True)
    """
    revision = scratch(upgrade)
    result = lint(revision.id)
    assert result.exit_code == 1, result.output  # High, and no one marked it reviewed
    rebuild, note, alter, postgres = group(revision_blocks(result.output)[revision.id], "upgrade")
    # Every foreign key on users, as the models declare them (the head's schema).
    references = sorted(
        f"{fk.parent.table.name}.{fk.parent.name}"
        + (f" (ON DELETE {fk.ondelete})" if fk.ondelete else "")
        for table in db.metadata.tables.values()
        for fk in table.foreign_keys
        if fk.column.table.name == "users"
    )
    assert "todos.user_id (ON DELETE CASCADE)" in references
    assert rebuild == (
        "    High      rebuild table users on SQLite: copies every row; referenced by "
        f"{', '.join(references)}  (line {revision.line('batch_alter_table')})"
    )
    assert "safe only under 'flask db upgrade' (foreign keys off" in note
    assert "run any other way" in note
    assert has_line([alter], "Medium", "alter column users.username (nullable)")
    assert "squawk ban-drop-not-null" in postgres  # joined to the operation it is about


def test_a_forced_rebuild_of_an_unreferenced_table_is_still_reported(lint, scratch):
    upgrade = """\
    if op.get_context().dialect.name == "sqlite":
        with op.batch_alter_table(
            "login_throttle", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
    """
    revision = scratch(upgrade)
    result = lint(revision.id)
    assert result.exit_code == 0, result.output
    upgrade_lines = group(revision_blocks(result.output)[revision.id], "upgrade")
    assert has_line(
        upgrade_lines,
        "Medium",
        'rebuild table login_throttle (recreate="always"): copies every row; '
        "no table references it",
        f"line {revision.line('batch_alter_table')}, under an if",
    )


def rebuilds(body, references=None):
    source = "def upgrade():\n" + textwrap.indent(textwrap.dedent(body), "    ")
    return [
        (f.level, f.description)
        for f in analyse_source(source, references)
        if "rebuild" in f.description
    ]


@pytest.mark.parametrize(
    ("operation", "rebuilt"),
    [
        ('b.create_index("ix_t_c", ["c"])', False),
        ('b.drop_index("ix_t_c")', False),
        ('b.add_column(sa.Column("c", sa.Integer()))', False),
        ('b.add_column(sa.Column("c", sa.Integer(), server_default="0"))', False),
        ('b.add_column(sa.Column("c", sa.Boolean(), server_default=sa.false()))', True),
        ('b.drop_column("c")', True),
        ('b.alter_column("c", type_=sa.Text())', True),
        ('b.create_unique_constraint("uq_t_c", ["c"])', True),
        ('b.drop_constraint("fk_t_c", type_="foreignkey")', True),
    ],
)
def test_which_batch_operations_rebuild_on_sqlite(operation, rebuilt):
    body = f'with op.batch_alter_table("t") as b:\n    {operation}\n'
    expected = [("Medium", "rebuild table t on SQLite: copies every row; no table references it")]
    assert rebuilds(body) == (expected if rebuilt else [])
    assert rebuilds(body.replace('("t")', '("t", recreate="never")')) == []


def test_a_rebuild_names_the_references_it_is_given():
    body = """\
    with op.batch_alter_table("a") as b:
        b.alter_column("x", nullable=False)
    """
    references = {"a": [("b.a_id", "SET NULL"), ("c.a_id", None)]}
    assert rebuilds(body, references) == [
        (
            "High",
            "rebuild table a on SQLite: copies every row; "
            "referenced by b.a_id (ON DELETE SET NULL), c.a_id",
        )
    ]


def test_references_come_from_foreign_keys_in_the_metadata():
    metadata = sa.MetaData()
    sa.Table("parents", metadata, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "children",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("parent_id", sa.ForeignKey("parents.id", ondelete="CASCADE")),
        sa.Column("adopted_by", sa.ForeignKey("parents.id")),
    )
    assert referencing_columns(metadata) == {
        "parents": [("children.adopted_by", None), ("children.parent_id", "CASCADE")]
    }


# --- new revision ids, branches and merges --------------------------------------


def test_branches_and_their_merge_lint_with_house_ids(app, lint, scratch):
    head = script_directory(app).get_current_head()
    left = scratch('op.add_column("todos", sa.Column("colour", sa.String(20)))', slug="left")
    right = scratch('op.create_table("notes")', down_revision=head, slug="right")
    merge = scratch(down_revision=(left.id, right.id), slug="merge")
    result = lint()
    assert result.exit_code == 0, result.output
    pending = f"Pending (the database is at {head}): "
    [line] = [line for line in result.output.splitlines() if line.startswith(pending)]
    assert sorted(line.removeprefix(pending).split(", ")) == sorted([left.id, right.id, merge.id])
    assert revision_blocks(result.output)[merge.id] == [
        f"{merge.id}  merge  ({merge.path.name})",
        "  upgrade: (no operations)",
        "  downgrade (never fails the lint): (no operations)",
    ]
    assert list(revision_blocks(lint(f"{left.id}:{merge.id}").output)) == [left.id, merge.id]
    assert list(revision_blocks(lint(merge.id).output)) == [merge.id]


# --- reading the source -----------------------------------------------------------


def findings(body, prelude=""):
    source = textwrap.dedent(prelude) + "\ndef upgrade():\n" + textwrap.indent(body, "    ")
    return [(f.level, f.description) for f in analyse_source(source)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('op.add_column("t", sa.Column("c", sa.Integer()))', ("Low", "add column t.c")),
        ('op.add_column(table_name="t", column=sa.Column("c"))', ("Low", "add column t.c")),
        ('op.create_table("t", sa.Column("id"))', ("Low", "create table t")),
        ('op.create_index(op.f("ix_t_c"), "t", ["c"])', ("Low", "create index ix_t_c on t")),
        ('op.create_index("ix", "t", ["c"], unique=True)', ("Low", "create unique index ix on t")),
        ('op.drop_index("ix", table_name="t")', ("Low", "drop index ix on t")),
        (
            'op.rename_table("a", "b")',
            ("High", "rename table a to b: breaks servers still on the old release"),
        ),
        (
            'op.alter_column("t", "c", new_column_name="d")',
            ("High", "rename column t.c to d, breaks servers still on the old release"),
        ),
        (
            'op.alter_column("t", "c", nullable=False, existing_type=sa.Integer())',
            ("Medium", "alter column t.c (nullable)"),
        ),
        (
            'op.alter_column("t", "c", server_default="0")',
            ("Medium", "alter column t.c (server_default)"),
        ),
        (
            'op.create_unique_constraint("uq", "t", ["c"])',
            ("Medium", "add unique constraint uq on t"),
        ),
        (
            'op.create_check_constraint("ck", "t", "c > 0")',
            ("Medium", "add check constraint ck on t"),
        ),
        ('op.create_primary_key("pk", "t", ["id"])', ("Medium", "add primary key pk on t")),
        (
            'op.drop_constraint("fk", "t", type_="foreignkey")',
            ("Medium", "drop constraint fk on t"),
        ),
        (
            'op.alter_column("t", "c", type_=sa.Text())',
            ("High", "change type of t.c to sa.Text()"),
        ),
        ('op.drop_column("t", column_name="c")', ("Critical", "drop column t.c")),
        ('op.drop_table("t")', ("Critical", "drop table t")),
        ('op.execute(sa.text("UPDATE t SET c = 1"))', ("Review", "raw SQL: UPDATE t SET c = 1")),
        (
            "op.bulk_insert(table, rows)",
            ("Review", "bulk_insert(): not in the risk table, read it"),
        ),
    ],
)
def test_each_operation_gets_its_level(body, expected):
    assert findings(body) == [expected]


def test_batch_operations_take_the_table_of_their_with():
    body = """\
    with op.batch_alter_table("todos", schema=None) as b:
        b.drop_column("done")
        b.create_index(b.f("ix_todos_title"), ["title"])
        b.create_foreign_key("fk", "users", ["user_id"], ["id"])
    """
    assert findings(textwrap.dedent(body)) == [
        ("Medium", "rebuild table todos on SQLite: copies every row; no table references it"),
        ("Critical", "drop column todos.done"),
        ("Low", "create index ix_todos_title on todos"),
        ("Medium", "add foreign key fk on todos -> users"),
    ]


def test_branches_loops_and_constants_are_followed():
    prelude = """\
    TABLE = "todos"
    SQL = "UPDATE todos SET x = NULL"
    INDEXES = (("ix_a", ["a"]), ("ix_b", ["b"]))
    """
    body = """\
    op.execute(SQL)
    if dialect == "sqlite":
        op.execute("ALTER TABLE todos " + "DROP COLUMN x")
    else:
        op.drop_column(TABLE, "x")
    for name, columns in INDEXES:
        op.create_index(name, TABLE, columns)
    """
    assert findings(textwrap.dedent(body), prelude) == [
        ("Review", "raw SQL: UPDATE todos SET x = NULL"),
        ("Review", "raw SQL: 'ALTER TABLE todos ' + 'DROP COLUMN x'"),
        ("Critical", "drop column todos.x"),
        ("Low", "create index ix_a on todos"),
        ("Low", "create index ix_b on todos"),
    ]


def test_downgrade_findings_are_their_own_and_long_sql_is_shortened():
    source = textwrap.dedent(
        """\
        def upgrade():
            op.execute("UPDATE todos SET title = LONG")

        def downgrade():
            op.drop_table("todos")
        """
    ).replace("LONG", "x" * 100)
    upgrade, downgrade = analyse_source(source)
    assert (upgrade.function, upgrade.level, upgrade.line) == ("upgrade", "Review", 2)
    assert upgrade.description.endswith("...")
    assert len(upgrade.description) <= len("raw SQL: ") + 60
    assert (downgrade.function, downgrade.description, downgrade.line) == (
        "downgrade",
        "drop table todos",
        5,
    )


@pytest.mark.parametrize(
    ("line", "marker"),
    [
        (
            'RISKS_REVIEWED = "dana, today, column unused"',
            "dana, today, column unused",
        ),
        ('RISKS_REVIEWED: str = " dana "', "dana"),
        ('RISKS_REVIEWED = ""', None),
        ("RISKS_REVIEWED = True", None),
        ("", None),
    ],
)
def test_the_reviewed_marker(line, marker):
    assert reviewed_marker(f"{line}\n\ndef upgrade():\n    pass\n") == marker


# --- PostgreSQL's view: the SQL a revision runs there, by the project's rules and squawk's ---

ONLINE = "from todoapp.migration_tools import online\n"


@pytest.mark.parametrize(
    ("plain", "plain_finding", "online_call", "online_finding"),
    [
        (
            'op.create_index("ix_todos_title", "todos", ["title"])',
            "blocks every write to todos until the index is built",
            'online.create_index("ix_todos_title", "todos", ["title"])',
            ("Low", "expand: create index ix_todos_title on todos concurrently"),
        ),
        (
            'op.create_foreign_key("fk_todos_owner", "todos", "users", ["user_id"], ["id"])',
            "checks every row of todos while writes to it and to the referenced table wait",
            'online.add_foreign_key("fk_todos_owner", "todos", "users", ["user_id"], ["id"])',
            ("Low", "add foreign key fk_todos_owner on todos -> users, NOT VALID then validated"),
        ),
        (
            'op.alter_column("todos", "updated_at", nullable=False, existing_type=sa.DateTime())',
            "scans todos while its reads and writes wait",
            f'online.set_not_null("todos", "updated_at", sqlite_table_kwargs={KEEP})',
            ("Medium", "contract: todos.updated_at NOT NULL through a validated CHECK"),
        ),
    ],
    ids=["index", "foreign key", "not null"],
)
def test_a_plain_operation_that_locks_a_live_table_is_high_and_its_online_form_is_not(
    lint, scratch, plain, plain_finding, online_call, online_finding
):
    revision = scratch(plain)
    result = lint(revision.id)
    assert result.exit_code == 1, result.output
    upgrade = "\n".join(group(revision_blocks(result.output)[revision.id], "upgrade"))
    assert upgrade.split()[0] == "High"
    assert f"PostgreSQL, todoapp: {plain_finding}" in upgrade
    assert "squawk" in upgrade  # squawk agrees
    assert "unreviewed High" in result.output

    online = scratch(online_call, top=ONLINE, down_revision=revision.id, slug="online")
    result = lint(online.id)
    assert result.exit_code == 0, result.output
    upgrade = group(revision_blocks(result.output)[online.id], "upgrade")
    assert has_line(upgrade, *online_finding)
    assert not any("PostgreSQL" in line for line in upgrade), upgrade


def test_expand_backfill_and_contract_are_named(lint, scratch):
    revision = scratch(
        """\
        online.add_column("todos", sa.Column("priority", sa.Integer()))
        online.backfill("todos", "priority = 0", "priority IS NULL")
        online.set_not_null("todos", "priority", sqlite_table_kwargs={"sqlite_autoincrement": True})
        """,
        top=ONLINE,
    )
    result = lint(revision.id)
    assert result.exit_code == 0, result.output
    upgrade = group(revision_blocks(result.output)[revision.id], "upgrade")
    assert has_line(upgrade, "Low", "expand: add column todos.priority, online")
    assert has_line(upgrade, "Low", "backfill todos in batches: priority = 0")
    assert has_line(upgrade, "Medium", "contract: todos.priority NOT NULL")


def test_a_new_table_and_its_index_lock_nobody(lint, scratch):
    revision = scratch(
        """\
        op.create_table(
            "tags",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("name", sa.String(40), nullable=False),
        )
        op.create_index("ix_tags_name", "tags", ["name"])
        op.add_column("tags", sa.Column("rank", sa.Integer(), nullable=False))
        """
    )
    result = lint(revision.id)
    assert result.exit_code == 0, result.output
    upgrade = group(revision_blocks(result.output)[revision.id], "upgrade")
    # Nor do the rules the project turns off (prefer-bigint-over-int, prefer-text-field).
    assert not any("PostgreSQL" in line for line in upgrade), upgrade


def test_a_reviewed_high_passes(lint, scratch):
    revision = scratch(
        'op.create_index("ix_todos_title", "todos", ["title"])',
        top='RISKS_REVIEWED = "dana, 2026-12-01: todos is tiny here, a plain build is fine"\n',
    )
    result = lint(revision.id)
    assert result.exit_code == 0, result.output
    assert "Risks reviewed: dana, 2026-12-01" in result.output


# --- renames and ids ---------------------------------------------------------------

# PostgreSQL's view cannot render a forced rebuild (it needs the live table).
SQLITE_ONLY = 'if op.get_context().dialect.name == "sqlite":\n'
# How autogenerate writes todos.title renamed to text in the model, with the
# old advice for the new NOT NULL column followed (a server_default) or not.
RENAMED_AS_GENERATED = f"""\
with op.batch_alter_table("todos", table_kwargs={KEEP}) as batch_op:
    batch_op.add_column(sa.Column("text", sa.String(200), nullable=False DEFAULT))
    batch_op.drop_column("title")
"""


@pytest.mark.parametrize("default", ["", ', server_default=""'], ids=["as generated", "defaulted"])
def test_an_added_and_a_dropped_column_are_a_probable_rename(lint, scratch, default):
    revision = scratch(RENAMED_AS_GENERATED.replace(" DEFAULT", default), slug="rename_title")
    result = lint()
    assert result.exit_code == 1, result.output
    upgrade = group(revision_blocks(result.output)[revision.id], "upgrade")
    assert has_line(upgrade, "High", "probable rename of todos.title to todos.text")
    assert "new_column_name" in result.stderr and "UPGRADE_RENAMES" in result.stderr
    assert "expand/contract" in result.stderr
    # Its Fails advice never suggests the default that would blank every title.
    assert "Give the Column a server_default" not in result.stderr


def test_a_not_null_column_alone_is_told_to_take_a_default(lint, scratch):
    scratch(
        f"""\
        with op.batch_alter_table("todos", table_kwargs={KEEP}) as batch_op:
            batch_op.add_column(sa.Column("rank", sa.Integer(), nullable=False))
        """,
        slug="rank",
    )
    result = lint()
    assert result.exit_code == 1
    assert "Give the Column a server_default" in result.stderr
    assert "probable rename" not in result.output


@pytest.mark.parametrize(
    "body, fails",
    [
        (
            SQLITE_ONLY + 'with op.batch_alter_table("todos", recreate="always") as b:\n    pass',
            True,
        ),
        (
            'with op.batch_alter_table("lists") as batch_op:\n'
            '    batch_op.alter_column("name", type_=sa.String(70))',
            True,
        ),
        (
            SQLITE_ONLY
            + f'with op.batch_alter_table("todos", recreate="always", table_kwargs={KEEP}) as b:'
            + "\n    pass",
            False,
        ),
        ('online.set_not_null("todos", "title")', True),
        (f'online.set_not_null("todos", "title", sqlite_table_kwargs={KEEP})', False),
        # login_throttle has no AUTOINCREMENT to keep.
        (
            SQLITE_ONLY
            + 'with op.batch_alter_table("login_throttle", recreate="always") as b:\n    pass',
            False,
        ),
    ],
    ids=["todos", "lists", "todos kept", "set_not_null", "set_not_null kept", "login_throttle"],
)
def test_a_rebuild_that_would_drop_autoincrement_fails(lint, scratch, body, fails):
    revision = scratch(
        body.replace("\n", "\n    ") if body.startswith("if") else body, top=ONLINE, slug="rebuild"
    )
    result = lint()
    upgrade = group(revision_blocks(result.output)[revision.id], "upgrade")
    assert has_line(upgrade, "Fails", "without sqlite_autoincrement") is fails
    assert (result.exit_code == 1) is fails, result.output
    if fails:
        assert "purged ids could be handed out again" in result.stderr
        assert "RISKS_REVIEWED does not excuse it" in result.stderr


def test_postgresql_findings_in_a_batch_go_with_the_operation_that_wrote_them(lint, scratch):
    """Both operations name the same constraint and share the block's line:
    what PostgreSQL says of ADD CONSTRAINT goes with the add, not the drop."""
    revision = scratch(
        """\
        with op.batch_alter_table("users") as batch_op:
            batch_op.drop_constraint("uq_users_username", type_="unique")
            batch_op.create_unique_constraint("uq_users_username", ["username"])
        """,
        slug="unique_again",
    )
    result = lint()
    upgrade = group(revision_blocks(result.output)[revision.id], "upgrade")
    assert has_line(upgrade, "Medium", "drop constraint uq_users_username")
    assert has_line(upgrade, "High", "add unique constraint uq_users_username")
    add = next(i for i, line in enumerate(upgrade) if "add unique constraint" in line)
    drop = next(i for i, line in enumerate(upgrade) if "drop constraint" in line)
    assert "ban-drop-constraint" in "\n".join(upgrade[drop:add])
    assert "disallowed-unique-constraint" in "\n".join(upgrade[add:])
    assert "disallowed-unique-constraint" not in "\n".join(upgrade[drop:add])
