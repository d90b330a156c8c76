"""The service layer's contract with its callers: errors in the app's own
terms, and what write_transaction() does when it is not the first thing a
request does."""

import pytest
from flask import request
from sqlalchemy import Connection, func, select
from werkzeug.exceptions import HTTPException

from todoapp.database import TransactionMisuse, read_connection, write_transaction
from todoapp.extensions import db
from todoapp.models import Todo
from todoapp.services import todos
from todoapp.services.errors import NotFoundError


def count_todos():
    return db.session.scalar(select(func.count()).select_from(Todo))


def test_a_missing_todo_is_a_domain_error_not_an_http_one(app, alice, bob, make_todo):
    bobs = make_todo(bob, "bob's")
    with app.app_context():
        for call in (
            lambda: todos.get_todo(bobs, owner_id=alice),  # another user's looks missing
            lambda: todos.get_todo(2**31 - 1),
            lambda: todos.list_todos(alice, 10, before="not-a-cursor"),
        ):
            with pytest.raises(NotFoundError) as raised:
                call()
            assert not isinstance(raised.value, HTTPException)


def test_the_web_maps_the_domain_error_to_a_404_page(client, auth, alice, bob, make_todo):
    bobs = make_todo(bob, "bob's")
    auth.login("alice")
    response = client.get(f"/todos/{bobs}/edit")
    assert response.status_code == 404
    assert "There is no such todo." in response.get_data(as_text=True)


def test_a_nested_write_transaction_joins_the_outer_one(app, alice):
    with app.app_context():
        before = count_todos()
        with pytest.raises(RuntimeError, match="after the inner service"):
            with write_transaction():
                todos.create_todo(alice, "made by an inner service")  # its own write_transaction
                raise RuntimeError("the outer unit fails after the inner service")
        db.session.remove()
        assert count_todos() == before  # the inner service's row went with the outer rollback

        with write_transaction():
            todos.create_todo(alice, "one")
            todos.create_todo(alice, "two")
        db.session.remove()
        assert count_todos() == before + 2


def test_changes_made_outside_any_write_transaction_are_refused(app, alice):
    with app.app_context():
        before = count_todos()
        db.session.add(Todo(user_id=alice, title="slipped in outside"))
        with pytest.raises(TransactionMisuse):
            todos.create_todo(alice, "the service call")
        db.session.rollback()
        db.session.remove()
        assert count_todos() == before


def test_a_read_before_the_write_is_fine(app, alice):
    with app.app_context():
        before = count_todos()  # opens a read transaction
        todos.create_todo(alice, "after a read")
        db.session.remove()
        assert count_todos() == before + 1


def in_transaction(connection) -> bool:
    """Whether the driver's connection (under a SQLAlchemy Connection, or a
    pooled one) has a transaction open right now."""
    pooled = connection.connection if isinstance(connection, Connection) else connection
    raw = pooled.driver_connection
    if hasattr(raw, "in_transaction"):  # sqlite3
        return raw.in_transaction
    from psycopg.pq import TransactionStatus

    return raw.info.transaction_status != TransactionStatus.IDLE


def test_a_request_that_only_reads_opens_no_transaction(app, client, auth, alice, make_todo):
    """A page that only reads sends no BEGIN: its statements run in
    autocommit, so no transaction is open at the end of it (nothing holds a
    snapshot, nor waits for a ROLLBACK). A write still gets one of its own."""
    make_todo(alice, "to read")
    seen = {}

    @app.after_request
    def look(response):
        # The connection the page read on (database.read_connection), and
        # the ORM session's, had the page used one.
        seen[request.path] = in_transaction(read_connection()) or in_transaction(
            db.session.connection()
        )
        return response

    auth.login("alice")
    paths = ("/todos", "/trash", "/lists")
    for path in paths:
        assert client.get(path).status_code == 200
    assert [seen[path] for path in paths] == [False, False, False]
    with app.app_context():
        with write_transaction() as session:
            session.execute(select(func.count()).select_from(Todo))  # psycopg begins here
            assert in_transaction(session.connection())


def test_a_core_read_inside_a_write_transaction_sees_its_writes(app, alice):
    """The list pages' Core reads take a connection of their own when no
    transaction is open; inside one they use its connection, so a service
    reads what it has just written before the commit."""
    from todoapp.services import lists

    with app.app_context():
        with write_transaction():
            lists.create_list(alice, "Not committed yet", actor_id=alice)
            assert "Not committed yet" in [row.name for row in lists.list_lists(alice)]
        assert "Not committed yet" in [row.name for row in lists.list_lists(alice)]
