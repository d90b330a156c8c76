"""add soft delete to todos

Adds todos.deleted_at (when a todo went to the trash) and todos.deleted_by
(who put it there), and partial indexes: one over live rows for the lists,
two over trashed rows for the trash pages and the purge.

The downgrade drops both columns, which would silently bring every trashed
todo back to life. So it refuses while trashed todos exist, unless told to
purge them first:

    flask db downgrade -x purge_trash=yes

Offline (--sql), the script it prints stops itself at run time if trashed
todos exist, unless it was made with -x purge_trash=yes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:10:00.000000+00:00
"""

import sqlite3

import sqlalchemy as sa
from alembic import context, op
from alembic.util import CommandError

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")
TRASHED = sa.text("deleted_at IS NOT NULL")
INDEXES = (
    # name, columns, rows covered
    ("ix_todos_live", ["user_id", "id"], LIVE),
    ("ix_todos_trash_owner", ["user_id", "deleted_at"], TRASHED),
    ("ix_todos_trash", ["deleted_at"], TRASHED),
)


def _is_sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def upgrade():
    with op.batch_alter_table("todos") as batch_op:
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        if not _is_sqlite():
            batch_op.add_column(sa.Column("deleted_by", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                op.f("fk_todos_deleted_by_users"),
                "users",
                ["deleted_by"],
                ["id"],
            )
    if _is_sqlite():
        # SQLite adds a column with its foreign key in place; batch mode would
        # copy the whole table to add the constraint separately.
        op.execute("ALTER TABLE todos ADD COLUMN deleted_by INTEGER REFERENCES users (id)")
    for name, columns, where in INDEXES:
        op.create_index(name, "todos", columns, sqlite_where=where, postgresql_where=where)


def downgrade():
    purge = context.get_x_argument(as_dictionary=True).get("purge_trash") == "yes"
    if context.is_offline_mode():
        if not purge:
            # No database to ask: the script checks for itself when it runs. The
            # insert breaks the CHECK, and the script stops, if any todo is trashed.
            op.execute(
                "CREATE TEMPORARY TABLE downgrade_0002_guard (trashed_todos INTEGER "
                "CONSTRAINT trashed_todos_would_come_back_run_with_purge_trash_yes "
                "CHECK (trashed_todos = 0))"
            )
            op.execute(
                "INSERT INTO downgrade_0002_guard SELECT count(*) FROM todos WHERE " + str(TRASHED)
            )
            op.execute("DROP TABLE downgrade_0002_guard")
    else:
        trashed = op.get_bind().scalar(sa.text("SELECT count(*) FROM todos WHERE " + str(TRASHED)))
        if trashed and not purge:
            raise CommandError(
                f"Refusing to downgrade: {trashed} trashed todo(s) would come back to life "
                "when todos.deleted_at is dropped. To delete them for good first, run: "
                "flask db downgrade -x purge_trash=yes"
            )
    if purge:
        op.execute("DELETE FROM todos WHERE " + str(TRASHED))

    for name, _columns, _where in INDEXES:
        op.drop_index(name, table_name="todos")
    if _is_sqlite() and sqlite3.sqlite_version_info < (3, 35, 0):
        # No native DROP COLUMN before SQLite 3.35: copy the table instead.
        with op.batch_alter_table("todos") as batch_op:
            batch_op.drop_column("deleted_by")
            batch_op.drop_column("deleted_at")
    else:
        if not _is_sqlite():
            op.drop_constraint(op.f("fk_todos_deleted_by_users"), "todos", type_="foreignkey")
        op.drop_column("todos", "deleted_by")
        op.drop_column("todos", "deleted_at")
