"""``flask db lint``: the risk table of the migration guide, run on revision files."""

import textwrap
from pathlib import Path

import pytest
from flask_migrate.cli import db as db_group

from todoapp.migration_lint import analyse_source, lint_command, reviewed_marker

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
DROP_DONE = '''\
"""drop done

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
{marker}

def upgrade():
    with op.batch_alter_table("todos") as batch_op:
        batch_op.drop_column("done")
    op.alter_column("todos", "title", type_=sa.String(300))
    op.alter_column("users", "username", new_column_name="login")
    op.create_foreign_key("fk_todos_owner", "todos", "users", ["user_id"], ["id"])


def downgrade():
    pass
'''


@pytest.fixture
def lint(runner):
    """Run ``flask db lint ARGS...`` through the app's CLI."""
    if "lint" not in db_group.commands:
        db_group.add_command(lint_command)

    def run(*args):
        return runner.invoke(args=["db", "lint", *args])

    return run


@pytest.fixture
def scratch(app, scratch_migrations):
    """A copy of migrations/ the app uses, with 0004 dropping todos.done on top."""
    directory = scratch_migrations
    app.extensions["migrate"].directory = str(directory)
    revision = directory / "versions" / "2026_11_25_0004_drop_done.py"

    def write(marker=""):
        revision.write_text(DROP_DONE.format(marker=marker))
        return revision

    write()
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


def has_line(lines, level, description):
    return any(line.split()[:1] == [level] and description in line for line in lines)


def test_all_lints_every_real_revision(lint):
    result = lint("all")
    assert result.exit_code == 0, result.output
    blocks = revision_blocks(result.output)
    assert list(blocks) == ["0001", "0002", "0003"]
    assert blocks["0001"][0].startswith("0001  create users and todos  (2026_11_24_0001_")
    assert has_line(blocks["0001"], "Low", "create table users")
    assert has_line(blocks["0001"], "Low", "create table todos")
    assert has_line(blocks["0002"], "Low", "add column todos.deleted_at")
    assert has_line(blocks["0002"], "Low", "create index ix_todos_live on todos")
    assert has_line(blocks["0002"], "Review", "raw SQL: ALTER TABLE todos ADD COLUMN deleted_by")
    assert has_line(blocks["0003"], "Low", "create table login_throttle")
    assert not any(has_line(lines, "Critical", "") for lines in blocks.values())
    assert "3 revisions," in result.output


def test_a_database_at_head_has_nothing_pending(lint):
    result = lint()
    assert result.exit_code == 0, result.output
    assert "Nothing pending" in result.output
    assert revision_blocks(result.output) == {}


def test_an_inclusive_range_lints_both_ends_only(lint):
    result = lint("0001:0002")
    assert result.exit_code == 0, result.output
    assert list(revision_blocks(result.output)) == ["0001", "0002"]
    assert list(revision_blocks(lint("0002:head").output)) == ["0002", "0003"]
    assert list(revision_blocks(lint("base:head").output)) == ["0001", "0002", "0003"]
    assert list(revision_blocks(lint("0003").output)) == ["0003"]


@pytest.mark.parametrize("spec", ["nonsense", "0003:0001", "base"])
def test_an_unknown_revision_is_a_usage_error(lint, spec):
    result = lint(spec)
    assert result.exit_code == 2
    assert "Invalid value for RANGE" in result.output
    assert "flask db history" in result.output or "not a revision" in result.output


def test_a_pending_unreviewed_drop_fails(lint, scratch):
    result = lint()
    assert result.exit_code == 1, result.output
    assert "Pending (the database is at 0003): 0004" in result.output
    lines = revision_blocks(result.output)["0004"]
    assert lines[0] == "0004  drop done  (2026_11_25_0004_drop_done.py)"
    assert has_line(lines, "Critical", "drop column todos.done")
    assert has_line(lines, "High", "change type of todos.title")
    assert has_line(lines, "Medium", "rename column users.username to login")
    assert has_line(lines, "Medium", "add foreign key fk_todos_owner on todos -> users")
    assert "2026_11_25_0004_drop_done.py" in result.output
    assert 'CRITICAL_OPERATIONS_REVIEWED = "who, when, why it is safe"' in result.output
    # CI lints every revision: the drop fails it the same way.
    assert lint("all").exit_code == 1


def test_a_reviewed_drop_passes(lint, scratch):
    scratch('CRITICAL_OPERATIONS_REVIEWED = "dana, 2026-11-25, done is unused since 0003"\n')
    result = lint()
    assert result.exit_code == 0, result.output
    assert "reviewed: dana, 2026-11-25, done is unused since 0003" in result.output
    assert has_line(revision_blocks(result.output)["0004"], "Critical", "drop column todos.done")


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
        ('op.rename_table("a", "b")', ("Medium", "rename table a to b")),
        (
            'op.alter_column("t", "c", new_column_name="d")',
            ("Medium", "rename column t.c to d"),
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


def test_only_upgrade_counts_and_long_sql_is_shortened():
    source = textwrap.dedent(
        """\
        def upgrade():
            op.execute("UPDATE todos SET title = LONG")

        def downgrade():
            op.drop_table("todos")
        """
    ).replace("LONG", "x" * 100)
    [finding] = analyse_source(source)
    assert finding.level == "Review"
    assert finding.description.endswith("...")
    assert len(finding.description) <= len("raw SQL: ") + 60
    assert finding.line == 2


@pytest.mark.parametrize(
    ("line", "marker"),
    [
        (
            'CRITICAL_OPERATIONS_REVIEWED = "dana, today, column unused"',
            "dana, today, column unused",
        ),
        ('CRITICAL_OPERATIONS_REVIEWED: str = " dana "', "dana"),
        ('CRITICAL_OPERATIONS_REVIEWED = ""', None),
        ("CRITICAL_OPERATIONS_REVIEWED = True", None),
        ("", None),
    ],
)
def test_the_reviewed_marker(line, marker):
    assert reviewed_marker(f"{line}\n\ndef upgrade():\n    pass\n") == marker
