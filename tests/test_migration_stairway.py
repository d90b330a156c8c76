"""Every revision up, down and up again, with representative rows present.

pytest-alembic's built-in checks run first; then a data stairway of our own:
for each revision, with live and trashed todos of several users (and, from
0003, throttle rows) in place, upgrade to it, downgrade one step, upgrade
again, and check that every row and value that the schema can still hold
survived. Where a downgrade must refuse, the refusal and its message are
checked, and then the documented way on.
"""

from datetime import UTC, datetime

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.util import CommandError
from pytest_alembic.config import Config
from pytest_alembic.tests import (  # noqa: F401 - collected as tests here
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)

from todoapp import ROOT
from todoapp.extensions import db
from todoapp.models import UTCDateTime

from .conftest import dispose, make_app, migrate_config

REVISIONS = ["0001", "0002", "0003"]
WHEN = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)


@pytest.fixture
def alembic_config():
    return Config(config_options={"script_location": str(ROOT / "migrations")})


@pytest.fixture
def alembic_engine(empty_database_url):
    app = make_app(empty_database_url)
    with app.app_context():  # env.py runs inside the app, as under `flask db`
        yield db.engine
    dispose(app)


def execute(sql, **params):
    stmt = sa.text(sql)
    if "when" in params:
        stmt = stmt.bindparams(sa.bindparam("when", type_=UTCDateTime()))
    db.session.execute(stmt, params)
    db.session.commit()


def seed(revision):
    """Rows that only a database at ``revision`` can hold."""
    if revision == "0001":
        for uid, name, admin in [(1, "alice", False), (2, "bob", True), (3, "carol", False)]:
            execute(
                "INSERT INTO users (id, username, password_hash, is_admin, created_at) "
                "VALUES (:id, :name, 'hash', :admin, :when)",
                id=uid,
                name=name,
                admin=admin,
                when=WHEN,
            )
        for tid, owner, title, done in [
            (1, 1, "alice live", False),
            (2, 1, "alice trashed", True),
            (3, 2, "bob live", True),
            (4, 2, "bob trashed", False),
            (5, 3, "carol ünïcødé ✓", False),
        ]:
            execute(
                "INSERT INTO todos (id, user_id, title, done, created_at, updated_at) "
                "VALUES (:id, :owner, :title, :done, :when, :when)",
                id=tid,
                owner=owner,
                title=title,
                done=done,
                when=WHEN,
            )
    elif revision == "0002":
        execute(
            "UPDATE todos SET deleted_at = :when, deleted_by = user_id WHERE id IN (2, 4)",
            when=WHEN,
        )
    elif revision == "0003":
        execute(
            "INSERT INTO login_throttle (key, failures, window_start) "
            "VALUES ('user:alice', 2, :when)",
            when=WHEN,
        )


def snapshot():
    """Every row of every table, as plain values."""
    db.session.commit()
    inspector = sa.inspect(db.engine)
    tables = {}
    for name in sorted(inspector.get_table_names()):
        if name == "alembic_version":
            continue
        columns = [c["name"] for c in inspector.get_columns(name)]
        table = sa.table(name, *(sa.column(c) for c in columns))
        rows = db.session.execute(sa.select(table).order_by(*table.c)).all()
        tables[name] = {"columns": columns, "rows": [dict(r._mapping) for r in rows]}
    db.session.commit()
    return tables


def project(before, after):
    """``before``, cut down to the tables and columns that ``after`` has."""
    cut = {}
    for name, table in after.items():
        kept = table["columns"]
        rows = before.get(name, {"rows": []})["rows"]
        cut[name] = {"columns": kept, "rows": [{c: r[c] for c in kept if c in r} for r in rows]}
    return cut


def version():
    return db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))


@pytest.mark.parametrize("revision", REVISIONS)
def test_data_stairway(empty_app, revision):
    for step in REVISIONS[: REVISIONS.index(revision) + 1]:
        flask_migrate.upgrade(revision=step)
        seed(step)
    at_revision = snapshot()
    previous = REVISIONS[REVISIONS.index(revision) - 1] if revision != "0001" else "base"

    if revision == "0002":
        # Two todos are in the trash: dropping deleted_at would bring them back.
        with pytest.raises(CommandError) as refused:
            command.downgrade(migrate_config(empty_app), previous)
        assert "Refusing to downgrade: 2 trashed todo(s)" in str(refused.value)
        assert "flask db downgrade -x purge_trash=yes" in str(refused.value)
        db.session.rollback()
        assert version() == "0002" and snapshot() == at_revision
        command.downgrade(migrate_config(empty_app, "purge_trash=yes"), previous)
        at_revision["todos"]["rows"] = [
            r for r in at_revision["todos"]["rows"] if r["deleted_at"] is None
        ]
    else:
        command.downgrade(migrate_config(empty_app), previous)

    stepped_down = snapshot()
    assert stepped_down == project(at_revision, stepped_down)
    if revision == "0001":
        assert stepped_down == {}  # base: no tables, and none half-dropped

    flask_migrate.upgrade(revision=revision)
    back_up = snapshot()
    assert version() == revision
    assert project(back_up, stepped_down) == stepped_down  # nothing lost on the way up
    assert set(back_up) == set(at_revision)
