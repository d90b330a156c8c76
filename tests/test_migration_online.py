"""Migrations on a live database: bounded lock waits with retries on
PostgreSQL, a revision per transaction, and the online helpers of
``todoapp/migration_tools/online.py`` with their reruns. Each scratch
revision runs on a database with rows in it, the way an operator meets it."""

import logging
import re
import threading
import time

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from todoapp.extensions import db
from todoapp.migration_tools import runner
from todoapp.services import todos, users

from .conftest import BACKEND, PASSWORD, dispose, make_app, write_revision

postgres_only = pytest.mark.skipif(
    BACKEND != "postgresql", reason="lock_timeout and table locks are PostgreSQL's"
)
LOCK_TIMEOUT_MS = 200
ONLINE_IMPORT = "from todoapp.migration_tools import online\n"


@pytest.fixture
def live(database_url, scratch_migrations, monkeypatch):
    """An app at head with two users and three todos each, a scratch copy of
    migrations/ to add revisions to, and quick retries."""
    monkeypatch.setattr(runner, "FIRST_PAUSE", 0.1)
    monkeypatch.setattr(runner, "LONGEST_PAUSE", 0.2)
    app = make_app(
        database_url, MIGRATION_TABLE_LOCK_TIMEOUT_MS=LOCK_TIMEOUT_MS, MIGRATION_TABLE_LOCK_TRIES=40
    )
    with app.app_context():
        for name in ("alice", "bob"):
            owner = users.create_user(name, PASSWORD).id
            for n in (1, 2, 3):
                todos.create_todo(owner, f"{name} {n}")
    yield Live(app, scratch_migrations)
    dispose(app)


class Live:
    def __init__(self, app, directory):
        self.app, self.directory = app, directory

    def config(self):
        return self.app.extensions["migrate"].migrate.get_config(str(self.directory))

    def upgrade(self, target="heads"):
        with self.app.app_context():
            command.upgrade(self.config(), target)

    def downgrade(self, target):
        with self.app.app_context():
            command.downgrade(self.config(), target)

    def revise(self, message, upgrade, downgrade="pass"):
        rev = write_revision(self.directory, message, upgrade, downgrade)
        path = next((self.directory / "versions").glob(f"*_{rev}.py"))
        source = path.read_text(encoding="utf-8")
        path.write_text(
            source.replace("from alembic import op\n", "from alembic import op\n" + ONLINE_IMPORT)
        )
        return rev

    def scalar(self, sql, **params):
        with self.app.app_context(), db.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def version(self):
        return self.scalar("SELECT version_num FROM alembic_version")

    def columns(self, table="todos"):
        with self.app.app_context():
            return {c["name"]: c for c in sa.inspect(db.engine).get_columns(table)}

    def todos(self):
        with self.app.app_context(), db.engine.connect() as conn:
            return conn.execute(sa.text("SELECT id, user_id, title FROM todos ORDER BY id")).all()


class HeldTransaction:
    """Someone's report query: a transaction that has read ``todos`` and
    stays open, holding its lock, for ``seconds``."""

    def __init__(self, app, seconds):
        with app.app_context():
            self.engine = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
        self.conn = self.engine.connect()
        self.pid = self.conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        self.conn.execute(sa.text("SELECT count(*) FROM todos")).scalar()
        self.opened = time.monotonic()
        self.timer = threading.Timer(seconds, self.end)
        self.timer.start()

    def end(self):
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()
            self.held_for = time.monotonic() - self.opened

    def close(self):
        self.timer.cancel()
        self.end()
        self.engine.dispose()


class Writer(threading.Thread):
    """A user of the app: a write and a read on todos every 20 ms, timed."""

    def __init__(self, app):
        super().__init__(daemon=True)
        with app.app_context():
            self.engine = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
        self.waits, self.errors = [], []
        self.stopping = threading.Event()

    def run(self):
        with self.engine.connect() as conn:
            first = conn.execute(sa.text("SELECT min(id) FROM todos")).scalar()
            conn.commit()
            while not self.stopping.wait(0.02):
                started = time.monotonic()
                try:
                    conn.execute(
                        sa.text("UPDATE todos SET title = title WHERE id = :id"), {"id": first}
                    )
                    conn.execute(sa.text("SELECT count(*) FROM todos")).scalar()
                    conn.commit()
                except sa.exc.DBAPIError as exc:
                    self.errors.append(exc)
                    conn.rollback()
                self.waits.append(time.monotonic() - started)

    def stop(self):
        self.stopping.set()
        self.join(10)
        self.engine.dispose()


@postgres_only
def test_a_held_transaction_never_queues_readers_and_writers_behind_the_migration(live, caplog):
    """The Done-when of the live-PostgreSQL issue: a report query holds a
    transaction open on todos for 3 s; the migration's ALTER TABLE may queue
    for its lock only LOCK_TIMEOUT_MS at a time, so the app's reads and writes
    never wait much longer than that, and the revision goes in after the
    report ends."""
    caplog.set_level(logging.INFO, logger="alembic.env")
    rev = live.revise(
        "add a column", 'op.add_column("todos", sa.Column("scratch_flag", sa.Integer()))'
    )
    writer = Writer(live.app)
    writer.start()
    time.sleep(0.3)
    held = HeldTransaction(live.app, seconds=3)
    try:
        live.upgrade()
    finally:
        held.close()
        writer.stop()
    assert live.version() == rev and "scratch_flag" in live.columns()
    assert held.held_for >= 3
    # Without the lock_timeout the writer waited the whole 3 s.
    assert max(writer.waits) < LOCK_TIMEOUT_MS / 1000 + 0.5, sorted(writer.waits)[-5:]
    assert writer.errors == []
    assert len(writer.waits) > 50
    waiting = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Waiting for")]
    assert waiting, caplog.text
    assert f"a lock on todos held by pid {held.pid}" in waiting[0]
    assert "SELECT count(*) FROM todos" in waiting[0]
    assert "try 1 of 40 failed" in waiting[0]


@postgres_only
def test_when_the_tries_run_out_nothing_is_half_applied_and_the_blocker_is_named(live, monkeypatch):
    at = live.version()
    live.revise(
        "add two columns",
        """
        op.add_column("users", sa.Column("scratch_note", sa.Text()))
        op.add_column("todos", sa.Column("scratch_flag", sa.Integer()))
        """,
    )
    live.app.config["MIGRATION_TABLE_LOCK_TRIES"] = 3
    held = HeldTransaction(live.app, seconds=30)
    try:
        with pytest.raises(CommandError) as gave_up:
            live.upgrade()
    finally:
        held.close()
    message = str(gave_up.value)
    assert "Gave up after 3 tries" in message
    assert f"a lock on todos held by pid {held.pid}" in message
    assert f"pg_terminate_backend(pid) for pid {held.pid}" in message
    assert f"the database is at {at}" in message
    assert live.version() == at
    assert "scratch_note" not in live.columns("users")  # its revision rolled back whole


@postgres_only
def test_a_relative_downgrade_that_waited_goes_no_further_than_asked(live):
    """A retry carries on with the steps planned at the start: "-2" stays
    two revisions, even though one of them was done before the wait."""
    start = live.version()
    live.revise(
        "users column",
        'op.add_column("users", sa.Column("scratch_a", sa.Text()))',
        'op.drop_column("users", "scratch_a")',
    )
    live.revise(
        "todos column",
        'op.add_column("todos", sa.Column("scratch_b", sa.Text()))',
        'op.drop_column("todos", "scratch_b")',
    )
    live.upgrade()
    # The top revision's downgrade (todos) waits; the one below it (users) does not.
    held = HeldTransaction(live.app, seconds=1.5)
    try:
        live.downgrade("-2")
    finally:
        held.close()
    assert live.version() == start
    assert "scratch_b" not in live.columns() and "scratch_a" not in live.columns("users")


def test_a_run_stops_at_the_last_revision_that_went_through(live):
    good = live.revise("good", 'op.add_column("todos", sa.Column("scratch_good", sa.Integer()))')
    live.revise(
        "bad",
        """
        op.add_column("todos", sa.Column("scratch_bad", sa.Integer()))
        op.execute("SELECT no_such_function()")
        """,
    )
    with pytest.raises(CommandError, match="A revision did not complete.*no_such_function"):
        live.upgrade()
    assert live.version() == good
    assert "scratch_good" in live.columns() and "scratch_bad" not in live.columns()


EXPAND = """
online.add_column("todos", sa.Column("scratch_owner", sa.Integer()))
online.backfill("todos", "scratch_owner = user_id", "scratch_owner IS NULL", batch_size=4)
online.create_index("ix_todos_scratch_owner", "todos", ["scratch_owner"])
online.add_foreign_key(
    "fk_todos_scratch_owner", "todos", "users", ["scratch_owner"], ["id"], ondelete="CASCADE"
)
online.set_not_null("todos", "scratch_owner")
"""
CONTRACT = """
online.drop_index("ix_todos_scratch_owner", "todos")
with op.batch_alter_table("todos") as batch:
    batch.drop_constraint("fk_todos_scratch_owner", type_="foreignkey")
    batch.drop_column("scratch_owner")
"""


def test_the_online_helpers_expand_backfill_and_constrain_with_rows_in_place(live):
    before = live.todos()
    rev = live.revise("online expand", EXPAND, CONTRACT)
    live.upgrade()
    assert live.version() == rev
    assert live.todos() == before
    assert live.scalar("SELECT count(*) FROM todos WHERE scratch_owner = user_id") == len(before)
    assert live.columns()["scratch_owner"]["nullable"] is False
    with live.app.app_context():
        inspector = sa.inspect(db.engine)
        assert "ix_todos_scratch_owner" in {i["name"] for i in inspector.get_indexes("todos")}
        keys = {fk["name"]: fk for fk in inspector.get_foreign_keys("todos")}
        assert keys["fk_todos_scratch_owner"]["referred_table"] == "users"
    if BACKEND == "postgresql":
        assert live.scalar(
            "SELECT bool_and(convalidated) FROM pg_constraint WHERE conrelid = 'todos'::regclass"
        )
        assert live.scalar(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_todos_scratch_owner'::regclass"
        )
    live.downgrade("-1")
    assert live.todos() == before and "scratch_owner" not in live.columns()


def test_a_rerun_after_a_failed_online_revision_finishes_it(live):
    """The unique index cannot be built while two todos share a title. On
    PostgreSQL the column is already committed and the concurrent build leaves
    an INVALID index; on SQLite the revision rolled back whole. Either way,
    once the data is fixed, `flask db upgrade` again completes the revision."""
    at = live.version()
    rev = live.revise(
        "unique titles",
        """
        online.add_column("todos", sa.Column("scratch_flag", sa.Integer()))
        online.create_index("ux_todos_scratch_title", "todos", ["title"], unique=True)
        """,
    )
    with live.app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE todos SET title = 'same' WHERE title LIKE '% 1'"))
    with pytest.raises(CommandError, match="(?s)did not complete.*the database is at"):
        live.upgrade()
    assert live.version() == at
    if BACKEND == "postgresql":
        assert "scratch_flag" in live.columns()  # committed before the concurrent build
        assert (
            live.scalar(
                "SELECT indisvalid FROM pg_index "
                "WHERE indexrelid = to_regclass('ux_todos_scratch_title')"
            )
            is False
        )
    with live.app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE todos SET title = title || ' #' || id WHERE title = 'same'"))
    live.upgrade()  # no "column already exists", no "relation already exists"
    assert live.version() == rev
    with live.app.app_context():
        indexes = {i["name"]: i for i in sa.inspect(db.engine).get_indexes("todos")}
    assert indexes["ux_todos_scratch_title"]["unique"]
    if BACKEND == "postgresql":
        assert live.scalar(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ux_todos_scratch_title'::regclass"
        )


@postgres_only
def test_offline_sql_for_an_online_revision(live):
    """``flask db upgrade --sql`` writes the online steps: on PostgreSQL the
    concurrent build outside a transaction, NOT VALID then VALIDATE."""
    import io

    rev = live.revise("online expand", EXPAND, CONTRACT)
    head = ScriptDirectory(str(live.directory)).get_revision(rev).down_revision
    with live.app.app_context():
        config = live.config()
        config.output_buffer = buffer = io.StringIO()
        command.upgrade(config, f"{head}:{rev}", sql=True)
    sql = buffer.getvalue()
    assert "COMMIT;\n\nDROP INDEX CONCURRENTLY IF EXISTS ix_todos_scratch_owner" in sql
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_todos_scratch_owner" in sql
    # Built by one process, so the app's queries keep a core (benchmark target 6).
    assert re.search(
        r"SET max_parallel_maintenance_workers = 0;\s+CREATE INDEX CONCURRENTLY IF NOT EXISTS "
        r"ix_todos_scratch_owner[^;]*;\s+RESET max_parallel_maintenance_workers;",
        sql,
    ), sql
    assert "NOT VALID" in sql and "VALIDATE CONSTRAINT fk_todos_scratch_owner" in sql
    assert "ADD COLUMN IF NOT EXISTS scratch_owner" in sql


@pytest.mark.skipif(BACKEND != "sqlite", reason="the lock file is SQLite's run lock")
def test_a_second_run_waits_for_the_sqlite_lock_file_then_gives_up_clearly(live):
    """Another `flask db upgrade` holds the run lock (between two of its
    revisions' commits, say): this one waits MIGRATION_LOCK_TIMEOUT, then
    stops without changing anything."""
    import fcntl

    at = live.version()
    live.revise("add a column", 'op.add_column("todos", sa.Column("scratch_flag", sa.Integer()))')
    live.app.config["MIGRATION_LOCK_TIMEOUT"] = 1
    database = sa.make_url(live.app.config["SQLALCHEMY_DATABASE_URI"]).database
    with open(f"{database}-migrate-lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(CommandError, match="gave up without changing anything"):
            live.upgrade()
    assert live.version() == at
    live.upgrade()  # once the other run is over, this one goes through
    assert "scratch_flag" in live.columns()
