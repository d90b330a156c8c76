from datetime import timedelta

import pytest
from sqlalchemy import select, update

from todoapp.extensions import db
from todoapp.models import Todo, User, utcnow


def user_named(app, name):
    with app.app_context():
        return db.session.scalar(select(User).where(User.username == name))


def test_create_user_asks_for_the_password_twice(app, runner):
    result = runner.invoke(args=["users", "create", "Dana"], input="long enough\nlong enough\n")
    assert result.exit_code == 0, result.output
    assert "Created user 'dana'." in result.output
    assert result.output.count("assword") >= 2
    assert user_named(app, "dana").is_admin is False


def test_create_admin_from_stdin(app, runner, client, auth):
    result = runner.invoke(
        args=["users", "create", "boss", "--admin", "--password-stdin"], input="long enough\n"
    )
    assert result.exit_code == 0, result.output
    assert "Created administrator 'boss'." in result.output
    assert user_named(app, "boss").is_admin is True
    auth.login("boss", "long enough")
    assert client.get("/admin/trash").status_code == 200


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["alice", "--password-stdin"], "long enough\n", "already taken"),
        (["x", "--password-stdin"], "long enough\n", "3 to 32 characters"),
        (["eve", "--password-stdin"], "short\n", "at least 8 characters"),
    ],
)
def test_create_user_refuses_bad_input(app, runner, alice, args, stdin, message):
    result = runner.invoke(args=["users", "create", *args], input=stdin)
    assert result.exit_code == 1
    assert message in result.output
    assert user_named(app, "eve") is None


def test_mismatched_passwords_create_nobody(app, runner):
    result = runner.invoke(args=["users", "create", "dana"], input="long enough\nother one\n")
    assert result.exit_code != 0
    assert user_named(app, "dana") is None


@pytest.fixture
def aged_trash(app, alice, make_todo):
    ages = {"fresh": 1, "month old": 31, "ancient": 400}
    for title, days in ages.items():
        todo_id = make_todo(alice, title, trashed=True)
        with app.app_context():
            db.session.execute(
                update(Todo)
                .where(Todo.id == todo_id)
                .values(deleted_at=utcnow() - timedelta(days=days))
                .execution_options(trashed_only=True)
            )
            db.session.commit()
    make_todo(alice, "live")


def remaining(app):
    with app.app_context():
        rows = db.session.scalars(select(Todo).execution_options(include_trashed=True))
        return sorted(t.title for t in rows)


def test_trash_purge_dry_run_changes_nothing(app, runner, aged_trash):
    result = runner.invoke(args=["trash", "purge", "--dry-run"])
    assert result.exit_code == 0
    assert "Would purge 2 todos trashed more than 30 days ago" in result.output
    assert remaining(app) == ["ancient", "fresh", "live", "month old"]


def test_trash_purge_uses_the_retention_by_default(app, runner, aged_trash):
    result = runner.invoke(args=["trash", "purge"])
    assert result.exit_code == 0, result.output
    assert "Purged 2 todos trashed more than 30 days ago." in result.output
    assert remaining(app) == ["fresh", "live"]


def test_trash_purge_older_than(app, runner, aged_trash):
    result = runner.invoke(args=["trash", "purge", "--older-than", "100"])
    assert "Purged 1 todo trashed more than 100 days ago." in result.output
    assert remaining(app) == ["fresh", "live", "month old"]
    result = runner.invoke(args=["trash", "purge", "--older-than", "-1"])
    assert result.exit_code == 2


@pytest.mark.parametrize("days", ["1000000000", "36501", "99999999999999999999"])
def test_trash_purge_refuses_an_older_than_past_a_century_cleanly(app, runner, aged_trash, days):
    result = runner.invoke(args=["trash", "purge", "--older-than", days])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
    assert "is not in the range 0<=x<=36500" in result.output
    assert remaining(app) == ["ancient", "fresh", "live", "month old"]


def test_a_todo_trashed_again_during_the_purge_is_kept_and_not_counted(app, alice, aged_trash):
    """On PostgreSQL the batch's SELECT takes no lock: between it and the
    DELETE, someone restores an expired todo and trashes it again. The DELETE
    checks the age again, keeps that todo, and counts only what it deleted."""
    from sqlalchemy import event

    from todoapp.services import todos as service

    with app.app_context():
        ancient = db.session.scalar(
            select(Todo.id).where(Todo.title == "ancient").execution_options(trashed_only=True)
        )
        session = db.session()

        @event.listens_for(session, "do_orm_execute")
        def trash_again_first(state):
            if state.is_delete:
                state.session.execute(
                    update(Todo)
                    .where(Todo.id == ancient)
                    .values(deleted_at=utcnow())
                    .execution_options(trashed_only=True)
                )

        try:
            purged = service.purge_expired(30).deleted
        finally:
            event.remove(session, "do_orm_execute", trash_again_first)
    assert purged == 1  # "month old"; "ancient" is freshly trashed now
    assert remaining(app) == ["ancient", "fresh", "live"]
