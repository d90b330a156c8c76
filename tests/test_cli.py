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
