"""database.Query: the pages' reads, run on the driver's cursor instead of
through ``Connection.execute``, give what SQLAlchemy would have given, on
both databases, and fail the way it would."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy import bindparam, column, event, select, table, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError

from todoapp.database import (
    Query,
    close_read_connection,
    observing_reads,
    read_connection,
)
from todoapp.extensions import db
from todoapp.models import Todo, UTCDateTime, visible
from todoapp.services import todos

from .conftest import BACKEND, dispose, make_app

_todos = Todo.__table__


def test_every_page_query_gives_what_sqlalchemy_gives(app, list_pages):
    """Every read the list pages make, first pages and older ones (cursors with
    a moment in them, so bound datetimes too): the same rows, with the same
    column names, values and types (aware UTC datetimes, booleans)."""
    ran = []
    with observing_reads(lambda query, params, _sql, _values: ran.append((query, params))):
        list_pages()
    assert {id(query) for query, _ in ran} and any(params.get("key_0") for _, params in ran)
    with app.app_context():
        compared = 0
        for query, params in ran:
            ours = query.all(params)
            close_read_connection()
            with db.engine.connect() as connection:
                result = connection.execute(query.stmt, params)
                theirs = result.all()
                names = tuple(result.keys())
            assert [tuple(row) for row in ours] == [tuple(row) for row in theirs]
            assert [[type(v) for v in row] for row in ours] == [
                [type(v) for v in row] for row in theirs
            ]
            assert all(row._fields == names for row in ours)
            compared += len(ours)
        assert compared  # rows were there to compare
        moments = [v for query, params in ran for row in query.all(params) for v in row]
        close_read_connection()
        assert any(getattr(v, "tzinfo", None) is not None for v in moments)


def test_rows_come_as_named_tuples_with_processed_values(app, alice, make_todo):
    make_todo(alice, "first")
    with app.app_context():
        (row,) = todos.list_todos(alice, 10).items
        assert row.title == "first" and row.done is False
        assert row.created_at.utcoffset().total_seconds() == 0


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
            close_read_connection()
        assert row.created_at.tzinfo is UTC
        assert row.created_at == datetime.fromisoformat(stored)
    finally:
        dispose(elsewhere)


def test_a_connections_reads_share_one_cursor_and_go_on_after_an_error(
    app, alice, make_todo, monkeypatch
):
    make_todo(alice, "first")
    refused = Query(select(column("id")).select_from(table("no_such_table")))
    with app.app_context():
        connection = read_connection()
        made = []
        new_cursor = type(connection).cursor

        def counting(self, *args, **kwargs):
            made.append(self)
            return new_cursor(self, *args, **kwargs)

        monkeypatch.setattr(type(connection), "cursor", counting)
        for _ in range(3):
            todos.list_todos(alice, 10)
        assert len(made) <= 1  # none if the connection's cursor was made before
        with pytest.raises(DBAPIError, match="no_such_table"):
            refused.all({})
        assert [row.title for row in todos.list_todos(alice, 10).items] == ["first"]
        assert read_connection() is connection  # the same connection, a new cursor
        close_read_connection()


def test_a_driver_error_comes_out_as_sqlalchemys(app, alice):
    refused = Query(select(column("id")).select_from(table("no_such_table")))
    with app.app_context():
        with pytest.raises(DBAPIError, match="no_such_table"):
            refused.all({})
        # The request's connection still serves the next read.
        assert todos.list_todos(alice, 10).items == []
        close_read_connection()


def test_a_lost_connection_is_dropped_and_the_next_read_gets_another(app, alice, make_todo):
    make_todo(alice, "still there")
    with app.app_context():
        todos.list_todos(alice, 10)  # the request's connection has served a read
        lost = read_connection()
        lost.driver_connection.close()  # as a restarted server would leave it
        with pytest.raises(DBAPIError) as raised:
            todos.list_todos(alice, 10)
        assert raised.value.connection_invalidated
        assert read_connection() is not lost
        assert [row.title for row in todos.list_todos(alice, 10).items] == ["still there"]
        close_read_connection()


def test_a_connection_lost_before_its_first_read_is_replaced_and_the_read_runs(
    app, alice, make_todo
):
    """A connection the server dropped while it sat in the pool: the read
    connection is not pinged when the pool hands it out, so its first
    statement finds the loss, and runs again on a connection the pool checked."""
    make_todo(alice, "still there")
    with app.app_context():
        lost = read_connection()
        lost.driver_connection.close()
        ran = []
        with observing_reads(lambda query, params, _sql, _values: ran.append(query)):
            assert [row.title for row in todos.list_todos(alice, 10).items] == ["still there"]
        assert len(ran) == 1  # one read, which ran twice
        assert read_connection() is not lost
        # Now checked: losing it is an error, as in the test above.
        read_connection().driver_connection.close()
        with pytest.raises(DBAPIError):
            todos.list_todos(alice, 10)
        close_read_connection()


def _pool_checkouts(engine) -> list:
    """Every connection the engine's pool hands out from now on."""
    taken: list = []
    event.listen(engine, "checkout", lambda *_: taken.append(1))
    return taken


def test_a_page_reads_on_the_connection_the_last_request_kept(app, client, auth, alice):
    """A request that only reads takes no connection from the pool: it reads
    on the one the process kept from its last request (in autocommit still)."""
    auth.login("alice")
    assert client.get("/todos").status_code == 200
    with app.app_context():
        taken = _pool_checkouts(db.engine)
    ran = []
    with observing_reads(lambda query, params, _sql, _values: ran.append(query)):
        assert client.get("/todos").status_code == 200
        assert client.get("/trash").status_code == 200
    assert len(ran) >= 4 and taken == []  # the user lookup and a page each time


def test_the_pool_gets_the_kept_connection_back_as_it_gave_it(app, alice):
    """A kept connection goes back to its pool when another app's request in
    the same process needs the slot (tests, a CLI command), and the pool's
    next user finds it as the pool made it: a write transaction on
    PostgreSQL must not run in autocommit."""

    def state(raw):
        return getattr(raw, "autocommit", None), getattr(raw, "isolation_level", None)

    with app.app_context():
        pooled = db.engine.raw_connection()
        raw, before = pooled.driver_connection, state(pooled.driver_connection)
        pooled.close()
        assert read_connection().driver_connection is raw  # the pool gives it back out
        todos.list_todos(alice, 10)
        close_read_connection()
        assert db.engine.pool.checkedout() == 1  # kept, not back in the pool
    another = make_app(app.config["SQLALCHEMY_DATABASE_URI"])
    with another.app_context():
        read_connection()  # this app's: the kept one goes back to its own pool
        close_read_connection()
    with app.app_context():
        assert db.engine.pool.checkedout() == 0
        assert state(raw) == before
    dispose(another)


def test_disposing_the_engine_closes_the_kept_connection(app, alice):
    """After ``engine.dispose()`` nothing of the engine's holds the database:
    PostgreSQL cannot copy or drop a database a session is on (the migration
    round trip copies one)."""
    with app.app_context():
        todos.list_todos(alice, 10)
        kept = read_connection().driver_connection
        close_read_connection()
        db.engine.dispose()
        with pytest.raises(db.engine.dialect.loaded_dbapi.Error, match="closed"):
            kept.execute("SELECT 1")
        # The next request reads on a new connection.
        assert todos.list_todos(alice, 10).items == []
        assert read_connection().driver_connection is not kept
        close_read_connection()


def test_disposing_another_engine_leaves_the_kept_connection(app, alice):
    another = make_app(app.config["SQLALCHEMY_DATABASE_URI"])
    with app.app_context():
        todos.list_todos(alice, 10)
        kept = read_connection()
        close_read_connection()
    dispose(another)
    with app.app_context():
        assert read_connection() is kept  # still kept, and open
        assert todos.list_todos(alice, 10).items == []
        close_read_connection()


def test_a_connection_in_a_transaction_is_not_kept(app, alice):
    with app.app_context():
        todos.list_todos(alice, 10)
        connection = read_connection()
        connection.driver_connection.execute("BEGIN")
        close_read_connection()
        assert read_connection() is not connection
        close_read_connection()


def test_a_statement_rendered_per_call_is_refused(app):
    listed = Query(visible(select(_todos.c.id).where(_todos.c.id.in_(bindparam("ids")))))
    with app.app_context(), pytest.raises(ValueError, match="IN lists"):
        listed.all({"ids": [1, 2]})


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
