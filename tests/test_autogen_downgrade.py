"""`make db-migrate` after an index is removed from the models: the
downgrade makes it again as the revision that created it did.

Autogenerate reflects a partial index's condition for the one database it
runs on. Written from that alone, the downgrade built a full index on the
other database, with writes waiting (revision 0018 was corrected by hand).
Each test removes an index from the models, with todos in place, and
generates the next revision the way a developer would."""

import ast
import re
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from todoapp.extensions import db
from todoapp.models import Todo

from .conftest import BACKEND, write_revision

DIALECTS = ("sqlite", "postgresql")


@pytest.fixture
def scratch(app, scratch_migrations, make_user, make_todo):
    """A scratch copy of migrations/, on a database with live, done and trashed todos."""
    owner = make_user("alice")
    for number in range(4):
        make_todo(owner, f"todo {number}", done=number % 2 == 0, trashed=number == 3)
    with app.app_context():
        yield scratch_migrations


@contextmanager
def without_index(name: str):
    """The models without their index ``name`` (given to the block), for a while."""
    index = next(i for i in Todo.__table__.indexes if i.name == name)
    Todo.__table__.indexes.discard(index)
    try:
        yield index
    finally:
        Todo.__table__.indexes.add(index)


def generate(scratch, message: str) -> tuple[str, str]:
    """`flask db migrate -m message`: the new revision's id and source."""
    flask_migrate.migrate(directory=str(scratch), message=message)
    script = ScriptDirectory(str(scratch))
    new = script.get_revision(script.get_current_head())
    return new.revision, Path(new.path).read_text(encoding="utf-8")


def downgrade_creates(source: str, name: str) -> ast.Call:
    """The call in the revision's downgrade() that creates index ``name``."""
    downgrade = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef) and node.name == "downgrade"
    )
    return next(
        node
        for node in ast.walk(downgrade)
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", "") == "create_index"
        and node.args
        and repr(name) in ast.unparse(node.args[0])  # op.f(name) too
    )


def where_on(call: ast.Call, dialect: str) -> str | None:
    """What the call's ``where=`` comes to when the revision runs on ``dialect``."""
    where = next(k.value for k in call.keywords if k.arg == "where")
    context = SimpleNamespace(dialect=SimpleNamespace(name=dialect))
    op = SimpleNamespace(get_context=lambda: context)
    return eval(compile(ast.Expression(where), "<where>", "eval"), {"op": op})  # noqa: S307


def loose(sql: str | None) -> str:
    """A condition as both databases may write it back (PostgreSQL adds parentheses)."""
    return " ".join(re.sub(r"[()]", " ", sql or "").lower().split())


def condition_in_database(name: str) -> str | None:
    """The WHERE of index ``name`` as the database stores it; None if it is not there."""
    if BACKEND == "sqlite":
        sql = db.session.scalar(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :n"), {"n": name}
        )
    else:
        sql = db.session.scalar(
            sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": name}
        )
    db.session.commit()
    if sql is None:
        return None
    return sql.split(" WHERE ", 1)[1] if " WHERE " in sql else ""


def todos():
    rows = db.session.execute(sa.text("SELECT * FROM todos ORDER BY id")).all()
    db.session.commit()
    return rows


def test_a_dropped_partial_index_comes_back_as_its_revision_made_it(scratch, caplog):
    name = "ix_todos_list_completed"
    with without_index(name) as index:
        _, source = generate(scratch, "drop ix_todos_list_completed")

    flask_migrate.upgrade(directory=str(scratch))  # to the new head
    assert "CHECK" not in source and "CHECK" not in caplog.text
    call = downgrade_creates(source, name)
    assert ast.unparse(call.func) == "online.create_index"
    # The condition of each database, as the models (and the revision that
    # created the index, which `flask db check` holds them to) give it.
    for dialect in DIALECTS:
        assert where_on(call, dialect) == str(index.dialect_options[dialect]["where"])

    rows = todos()
    assert condition_in_database(name) is None
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        flask_migrate.downgrade(directory=str(scratch), revision="-1")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert loose(condition_in_database(name)) == loose(str(index.dialect_options[BACKEND]["where"]))
    assert todos() == rows
    if BACKEND == "postgresql":
        assert any(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name}" in s for s in statements)


RAW_INDEX = 'op.execute("CREATE INDEX ix_todos_scratch ON todos (title) WHERE {where}")'
FOUND_NOWHERE = [RAW_INDEX.format(where="deleted_at IS NULL")]
DISAGREES = [
    "from todoapp.migration_tools import online\n"
    'online.create_index("ix_todos_scratch", "todos", ["title"], where="deleted_at IS NULL")',
    'op.execute("DROP INDEX ix_todos_scratch")\n'
    + RAW_INDEX.format(where="deleted_at IS NOT NULL"),
]


@pytest.mark.parametrize(
    "revisions", [FOUND_NOWHERE, DISAGREES], ids=["no-creating-revision", "revision-disagrees"]
)
def test_an_index_made_some_other_way_is_re_created_as_reflected_and_flagged(
    scratch, caplog, revisions
):
    """An index no revision's call explains (raw SQL, or a later change by
    hand) keeps the re-create autogenerate reflected, and says so loudly."""
    for number, upgrade in enumerate(revisions):
        write_revision(scratch, f"scratch index {number}", upgrade)
    flask_migrate.upgrade(directory=str(scratch))
    made = condition_in_database("ix_todos_scratch")

    _, source = generate(scratch, "drop the scratch index")
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("ix_todos_scratch" in w and "CHECK" in w for w in warnings), warnings
    downgrade = source[source.index("def downgrade") :]
    check = re.search(r"^\s*# CHECK: (.*)$", downgrade, re.MULTILINE)
    assert check and "ix_todos_scratch" in check.group(1), downgrade
    assert "online.create_index(" not in downgrade  # what was reflected, as before

    flask_migrate.upgrade(directory=str(scratch))
    assert condition_in_database("ix_todos_scratch") is None
    flask_migrate.downgrade(directory=str(scratch), revision="-1")
    assert loose(condition_in_database("ix_todos_scratch")) == loose(made)


MODEL_INDEXES = sorted(
    (index for table in db.metadata.tables.values() for index in table.indexes),
    key=lambda index: str(index.name),
)


@pytest.mark.parametrize("index", MODEL_INDEXES, ids=lambda index: str(index.name))
@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_index_of_the_models_would_come_back_as_the_models_say(index, dialect, caplog):
    """Whichever index a developer drops next, and whichever database
    autogenerate runs on, the downgrade's re-create is found and matches
    the models on both databases (ix_todos_live, re-made under an ``if``
    for SQLite by a later revision, included)."""
    from alembic.operations import ops

    from todoapp import ROOT
    from todoapp.migration_tools.autogen import CreatedIndexes, OnlineCall, prefer_online

    # What autogenerate reflects on ``dialect``: that database's condition only.
    reflected = ops.CreateIndexOp.from_index(index)
    reflected.kw.pop("postgresql_where" if dialect == "sqlite" else "sqlite_where", None)
    script = ops.MigrationScript(
        "x",
        ops.UpgradeOps([ops.DropIndexOp.from_index(index)]),
        ops.DowngradeOps([reflected]),
    )
    created = CreatedIndexes(ScriptDirectory(str(ROOT / "migrations")), dialect)
    prefer_online(script, db.metadata, created)
    [call] = script.downgrade_ops.ops
    assert isinstance(call, OnlineCall), caplog.text
    assert call.source.startswith(f"online.create_index({index.name!r}, {index.table.name!r}")
    tree = ast.parse(call.source, mode="eval").body
    for each in DIALECTS:
        wanted = index.dialect_options[each]["where"]
        if any(k.arg == "where" for k in tree.keywords):
            assert where_on(tree, each) == (None if wanted is None else str(wanted))
        else:
            assert wanted is None
