"""The three lists revisions with rows in place, the way a deploy meets them:
the app between expand and backfill (todos with no list), and a backfill
killed halfway, then run again."""

import flask_migrate
import pytest
import sqlalchemy as sa
from sqlalchemy import bindparam, func, select, text

from todoapp.extensions import db
from todoapp.models import List, Todo, UTCDateTime, utcnow
from todoapp.services import lists, todos

from .conftest import BACKEND

EXPAND, BACKFILL = "0008_lists_expand", "0009_lists_backfill"


def seed_without_lists(users=2, todos_each=3):
    """Users and todos as a server without lists writes them: no list_id."""
    now = bindparam("now", type_=UTCDateTime())
    for n in range(users):
        db.session.execute(
            text(
                "INSERT INTO users (username, password_hash, created_at) VALUES (:u, 'h', :now)"
            ).bindparams(now),
            {"u": f"user{n}", "now": utcnow()},
        )
    ids = db.session.scalars(text("SELECT id FROM users ORDER BY id")).all()
    rows = [
        {"user": user, "title": f"{user}-{k}", "now": utcnow()}
        for user in ids
        for k in range(todos_each)
    ]
    db.session.execute(
        text(
            "INSERT INTO todos (user_id, title, done, created_at, updated_at) "
            "VALUES (:user, :title, false, :now, :now)"
        ).bindparams(now),
        rows,
    )
    db.session.commit()
    return ids


def upgrade(revision):
    db.session.rollback()  # end this session's read, to see what the upgrade wrote
    flask_migrate.upgrade(revision=revision)
    db.session.rollback()


def unlisted():
    return db.session.scalar(text("SELECT count(*) FROM todos WHERE list_id IS NULL"))


def inboxes():
    return db.session.execute(
        text("SELECT user_id, count(*) FROM lists WHERE is_inbox GROUP BY user_id ORDER BY 1")
    ).all()


def what_the_models_need_that_the_database_lacks():
    """The model columns the database does not have, as "table.column"."""
    inspector = sa.inspect(db.engine)
    return sorted(
        f"{table.name}.{column.name}"
        for table in db.metadata.sorted_tables
        if inspector.has_table(table.name)
        for column in table.columns
        if column.name not in {c["name"] for c in inspector.get_columns(table.name)}
    )


def test_the_app_between_expand_and_backfill_reads_no_list_as_the_inbox(empty_app):
    """A deploy's window: servers of this version run on the schema of the
    expand before the backfill has run. The rule holds for as long as the
    app's models fit that schema; a later revision that the app needs
    (a column it maps) closes the window, and then there is nothing to run."""
    flask_migrate.upgrade(revision=EXPAND)
    needed = what_the_models_need_that_the_database_lacks()
    if needed:
        pytest.skip(
            f"The app maps {', '.join(needed)}, which {EXPAND} lacks: its servers no longer "
            "run between the lists expand and backfill (that deploy window is closed)."
        )
    alice, bob = seed_without_lists()

    page = todos.list_todos(alice, 50)
    assert [(row["title"], row["list_id"], row["list_name"]) for row in page.items] == [
        (f"{alice}-{k}", None, "Inbox") for k in (2, 1, 0)
    ]
    # A new-version server writing for alice makes her Inbox, and its page
    # shows the old rows too, newest first, through two index reads.
    made = todos.create_todo(alice, "written by the new server")
    inbox = lists.get_list(made.list_id, owner_id=alice)
    assert inbox.is_inbox
    shown = todos.list_in_list(inbox, 2)
    assert [row["title"] for row in shown.items] == ["written by the new server", f"{alice}-2"]
    rest = todos.list_in_list(inbox, 2, before=shown.older)
    assert [row["title"] for row in rest.items] == [f"{alice}-1", f"{alice}-0"]

    upgrade(BACKFILL)
    assert unlisted() == 0
    assert inboxes() == [(alice, 1), (bob, 1)]  # alice's Inbox was kept, not made twice
    assert (
        db.session.scalar(select(func.count()).select_from(Todo).where(Todo.list_id == inbox.id))
        == 4
    )

    upgrade("heads")
    assert [row["title"] for row in todos.list_in_list(inbox, 50).items][-1] == f"{alice}-0"


STOP_SQLITE = """
CREATE TRIGGER stop_backfill BEFORE UPDATE OF list_id ON todos WHEN NEW.id > :after
BEGIN SELECT RAISE(ABORT, 'killed'); END
"""
STOP_POSTGRES = [
    """
    CREATE FUNCTION stop_backfill() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.id > {after} THEN RAISE EXCEPTION 'killed'; END IF;
      RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER stop_backfill BEFORE UPDATE ON todos FOR EACH ROW "
    "EXECUTE FUNCTION stop_backfill()",
]


def kill_the_backfill_after(row_id):
    """The next UPDATE that touches a todo past ``row_id`` fails, as a
    backfill killed there would stop."""
    if BACKEND == "sqlite":
        db.session.execute(text(STOP_SQLITE.replace(":after", str(row_id))))
    else:
        for statement in STOP_POSTGRES:
            db.session.execute(text(statement.format(after=row_id)))
    db.session.commit()


def let_it_go():
    db.session.execute(
        text("DROP TRIGGER stop_backfill" + ("" if BACKEND == "sqlite" else " ON todos"))
    )
    db.session.commit()


def test_a_backfill_killed_halfway_carries_on_when_run_again(empty_app, caplog):
    flask_migrate.upgrade(revision=EXPAND)
    seed_without_lists(users=1, todos_each=2500)
    first_id = db.session.scalar(text("SELECT min(id) FROM todos"))
    kill_the_backfill_after(first_id + 1499)

    with pytest.raises(SystemExit):  # Flask-Migrate prints the error and exits 1
        flask_migrate.upgrade(revision=BACKFILL)
    assert "A revision did not complete: killed" in caplog.text
    assert f"the database is at {EXPAND}" in caplog.text
    db.session.rollback()
    version = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    assert version == EXPAND  # not recorded: it is run again
    assert unlisted() == 1500  # the first batch of 1,000 was committed and stays

    let_it_go()
    upgrade(BACKFILL)
    assert unlisted() == 0
    assert len(inboxes()) == 1 and inboxes()[0][1] == 1
    assert db.session.scalar(select(func.count()).select_from(List)) == 1


WRITES_MEANWHILE_SQLITE = """
CREATE TRIGGER old_server AFTER UPDATE OF list_id ON todos
BEGIN
  INSERT INTO todos (user_id, title, done, created_at, updated_at)
  VALUES (NEW.user_id, 'written meanwhile', NEW.done, NEW.created_at, NEW.updated_at);
END
"""
WRITES_MEANWHILE_POSTGRES = [
    """
    CREATE FUNCTION old_server() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO todos (user_id, title, done, created_at, updated_at)
      VALUES (NEW.user_id, 'written meanwhile', NEW.done, NEW.created_at, NEW.updated_at);
      RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER old_server AFTER UPDATE OF list_id ON todos FOR EACH ROW "
    "EXECUTE FUNCTION old_server()",
]


def test_a_backfill_ends_while_an_old_server_keeps_writing_rows_without_a_list(empty_app):
    """Each row it fills brings a new one without a list, as a server of the
    version before would write them during the deploy. The backfill takes
    the rows there when it began and ends; the contract takes the rest."""
    flask_migrate.upgrade(revision=EXPAND)
    seed_without_lists(users=2, todos_each=1500)
    for statement in (
        [WRITES_MEANWHILE_SQLITE] if BACKEND == "sqlite" else WRITES_MEANWHILE_POSTGRES
    ):
        db.session.execute(text(statement))
    db.session.commit()

    upgrade(BACKFILL)
    assert unlisted() == 3000  # one written meanwhile for each row it filled
    titles = db.session.scalars(text("SELECT DISTINCT title FROM todos WHERE list_id IS NULL"))
    assert set(titles) == {"written meanwhile"}

    db.session.execute(
        text("DROP TRIGGER old_server" + ("" if BACKEND == "sqlite" else " ON todos"))
    )
    db.session.commit()
    upgrade("heads")  # every server runs the new version now: the contract
    assert unlisted() == 0
