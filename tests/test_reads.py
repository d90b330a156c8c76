"""The pages' reads (database.Query) go through SQLAlchemy's Connection on a
connection from the pool: what SQLAlchemy's events, echo and the pool's
settings promise holds for them as for any other statement."""

import logging
import time
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import event, literal_column, select, text
from sqlalchemy.dialects import postgresql

from todoapp.database import Query, write_transaction
from todoapp.extensions import db
from todoapp.models import Todo, UTCDateTime
from todoapp.services import todos

from .conftest import BACKEND, PASSWORD, dispose, make_app

PAGES = {"alice": ["/todos", "/trash"], "root": ["/admin/trash"]}
# What SQLAlchemy's pool sends to check a connection (pool_pre_ping): no page's statement.
PINGS = {"SELECT 1", ";"}


class RecordingCursor(psycopg.Cursor):
    """psycopg's cursor, noting every statement it is given."""

    seen: list[str] = []

    def execute(self, query, params=None, **kwargs):
        self.seen.append(query)
        return super().execute(query, params, **kwargs)


def app_seeing_the_driver(database_url, **config):
    """An app whose database driver notes each statement it runs, below
    SQLAlchemy: (the app, that list)."""
    if BACKEND == "postgresql":
        RecordingCursor.seen = seen = []
        options = {"connect_args": {"cursor_factory": RecordingCursor}}
        app = make_app(database_url, SQLALCHEMY_ENGINE_OPTIONS=options, **config)
    else:
        seen = []
        app = make_app(database_url, **config)
        with app.app_context():
            event.listen(db.engine, "connect", lambda raw, _: raw.set_trace_callback(seen.append))
    return app, seen


def visit(app, username: str, paths: list[str]) -> None:
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    form = {"username": username, "password": PASSWORD, "csrf_token": token}
    assert client.post("/auth/login", data=form).status_code == 302
    for path in paths:
        assert client.get(path).status_code == 200, path
    return client


@pytest.fixture
def seeded(database_url, alice, admin, make_todo, make_list):
    for n in range(3):
        make_todo(alice, f"todo {n}")
        make_todo(alice, f"trashed {n}", trashed=True)
    make_list(alice, "Old", todos=1, trashed=True)
    return database_url


def test_the_events_see_every_statement_of_the_list_pages(seeded):
    """A ``before_cursor_execute`` listener sees every statement the
    database driver runs for /todos, /trash and /admin/trash: the user
    lookup and the page, and nothing passes beside it."""
    app, driver = app_seeing_the_driver(seeded)
    heard: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: heard.append(a[2]))
    try:
        for username, paths in PAGES.items():
            client = visit(app, username, paths)  # logged in, connections made
            for path in paths:
                driver.clear()
                heard.clear()
                assert client.get(path).status_code == 200
                ran = [sql for sql in driver if sql.strip() not in PINGS]
                assert len(ran) == len(heard) >= 2, (path, ran, heard)
                assert any("LIMIT" in sql and "deleted_at" in sql for sql in heard), path
                if BACKEND == "postgresql":
                    assert ran == heard, path
    finally:
        dispose(app)


def test_echo_logs_the_page_statements(seeded, caplog):
    app = make_app(seeded, SQLALCHEMY_ECHO=True)
    try:
        with caplog.at_level(logging.INFO, logger="sqlalchemy.engine.Engine"):
            visit(app, "alice", ["/todos"])
        logged = [r.getMessage() for r in caplog.records if r.name == "sqlalchemy.engine.Engine"]
        assert any("FROM todos" in m and "LIMIT" in m for m in logged), logged
    finally:
        dispose(app)


def test_a_failing_page_read_reaches_handle_error(app, client, auth, alice):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the error page, as in production
    failed = []
    with app.app_context():
        event.listen(db.engine, "handle_error", lambda ctx: failed.append(ctx.statement))
        with db.engine.begin() as connection:
            connection.execute(text("ALTER TABLE todos RENAME TO todos_elsewhere"))
    auth.login("alice")
    assert client.get("/todos").status_code == 500
    assert any("FROM todos" in statement for statement in failed), failed


def test_a_column_may_be_labelled_with_a_keyword(app, alice, make_todo):
    make_todo(alice, "first")
    listed = Query(select(Todo.title.label("from"), literal_column("1").label("order")))
    with app.app_context():
        (row,) = listed.mappings({})
        assert row["from"] == "first" and row["order"] == 1
        assert listed.first({})._mapping["from"] == "first"


def test_rows_come_with_processed_values(app, alice, make_todo):
    make_todo(alice, "first")
    with app.app_context():
        (row,) = todos.list_todos(alice, 10).items
        assert row["title"] == "first" and row["done"] is False
        assert row["created_at"].utcoffset().total_seconds() == 0


def test_a_write_transaction_reads_what_it_wrote(app, alice):
    with app.app_context(), write_transaction() as session:
        todos.create_todo(alice, "not committed yet")
        session.flush()
        assert [row["title"] for row in todos.list_todos(alice, 10).items] == ["not committed yet"]


def test_a_request_gives_its_connection_back_to_the_pool(app, client, auth, alice):
    auth.login("alice")
    with app.app_context():
        taken = []
        event.listen(db.engine, "checkout", lambda *_: taken.append(1))
    assert client.get("/todos").status_code == 200
    with app.app_context():
        assert taken and db.engine.pool.checkedout() == 0


def test_pool_recycle_reaches_the_pages_reads(database_url, alice):
    """A connection older than ``pool_recycle`` is replaced at its next
    checkout, the pages' included."""
    app = make_app(database_url, SQLALCHEMY_ENGINE_OPTIONS={"pool_recycle": 1})
    try:
        client = visit(app, "alice", ["/todos"])
        with app.app_context():
            made = []
            event.listen(db.engine, "connect", lambda raw, _: made.append(raw))
        assert client.get("/todos").status_code == 200
        assert made == []  # the pooled connection, well under a second old
        time.sleep(1.2)
        assert client.get("/todos").status_code == 200
        assert made  # recycled
    finally:
        dispose(app)


@pytest.mark.skipif(BACKEND != "postgresql", reason="DROP DATABASE is PostgreSQL's")
def test_a_database_can_be_dropped_after_a_dispose_during_a_request(
    app, databases, database_url, alice, make_todo
):
    """``engine.dispose()`` during a request: the connections the request
    holds are closed as they go back, so nothing of the app is left on the
    database, and PostgreSQL drops it without being forced."""
    make_todo(alice, "one")
    dispose(app)  # the fixtures' app: only the one under test is left
    app = make_app(database_url)

    @app.get("/dispose-midway")
    def dispose_midway():
        listed = todos.list_todos(alice, 10).items  # the request's read connection
        db.session.execute(text("SELECT 1"))  # and the session's
        db.engine.dispose()
        return str(len(listed))

    try:
        assert app.test_client().get("/dispose-midway").get_data(as_text=True) == "1"
        name = sa.make_url(database_url).database
        with databases.admin.connect() as admin:
            admin.exec_driver_sql(f'DROP DATABASE "{name}"')
            gone = admin.execute(
                text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar_one()
        assert gone == 0
    finally:
        dispose(app)


def test_postgresqls_reader_gives_utc_whatever_zone_a_value_comes_in():
    """UTCDateTime on psycopg: a value already in UTC is kept as it is (the
    sessions are in UTC); one in another zone, or without one, still comes
    out as the same instant in UTC."""
    dialect = postgresql.psycopg.dialect()
    read = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    moment = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert read(moment) is moment
    elsewhere = moment.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert read(elsewhere) == moment and read(elsewhere).tzinfo is UTC
    assert read(moment.replace(tzinfo=None)) == moment
    assert read(None) is None


@pytest.mark.skipif(BACKEND != "postgresql", reason="a server's TimeZone setting is PostgreSQL's")
def test_a_server_in_another_zone_still_shows_times_in_utc(app, database_url, alice, make_todo):
    """A server (or role, or URL) whose TimeZone is not UTC: the app's
    sessions are put in UTC, so each timestamp is read in UTC, and the page
    says the moment that was written."""
    make_todo(alice, "first")
    url = sa.make_url(str(database_url)).update_query_dict({"options": "-c TimeZone=Asia/Kolkata"})
    elsewhere = make_app(url)
    try:
        with elsewhere.app_context():
            with db.engine.connect() as connection:
                assert connection.execute(text("SHOW TimeZone")).scalar() == "UTC"
                stored = connection.execute(text("SELECT created_at::text FROM todos")).scalar()
            (row,) = todos.list_todos(alice, 10).items
        assert row["created_at"].tzinfo is UTC
        assert row["created_at"] == datetime.fromisoformat(stored)
    finally:
        dispose(elsewhere)


def _end_every_session_but_this_one(app):
    """What a restarted PostgreSQL server leaves the app's pool with: every
    pooled connection's server process gone (pg_terminate_backend ends it as
    a fast shutdown does)."""
    with app.app_context(), db.engine.connect() as connection:
        ended = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
        connection.invalidate()  # its own server process stays; the pool opens new ones
    return ended


@pytest.mark.skipif(BACKEND != "postgresql", reason="a database server restart is PostgreSQL's")
def test_a_restarted_server_costs_a_reconnect_not_an_error_page(app, client, auth, alice):
    """README: pooled connections are checked before use, so a database
    restart costs a reconnect, not an error page. For a page that only
    reads, a form that writes, and a login (no user to look up first)."""
    auth.login("alice")
    client.submit("/todos", {"title": "before the restart"})
    assert "before the restart" in client.get("/todos").get_data(as_text=True)
    with app.app_context():  # the pool holds several, as after a busy time
        held = [db.engine.raw_connection() for _ in range(3)]
        for connection in held:
            connection.close()

    assert _end_every_session_but_this_one(app) >= 2
    page = client.get("/todos")
    assert page.status_code == 200 and "before the restart" in page.get_data(as_text=True)

    _end_every_session_but_this_one(app)
    assert client.submit("/todos", {"title": "after the restart"}).status_code == 302
    assert "after the restart" in client.get("/todos").get_data(as_text=True)

    auth.logout()
    _end_every_session_but_this_one(app)
    assert auth.login("alice").status_code == 302
    assert "after the restart" in client.get("/todos").get_data(as_text=True)
