"""lists expand

The first of three revisions that put every todo in a list (expand,
backfill, contract). This one only adds: the lists table, and on todos a
nullable list_id with its index and foreign key, and trashed_with_list. The
app reads a NULL list_id as the user's Inbox, so servers with and without
lists can run side by side while it is deployed.

On a live table each step is the online one (todoapp.migration_tools.online):
- list_id: on PostgreSQL a nullable column, a brief lock; on SQLite an
  inline REFERENCES, which ADD COLUMN allows, so todos is not rebuilt.
- trashed_with_list: NOT NULL with a constant default, which PostgreSQL 11+
  stores without rewriting the table.
- ix_todos_list_id: partial, WHERE list_id IS NOT NULL. Every row is NULL
  now, so it is built empty at once, on SQLite too, where a full build holds
  the write lock for the whole table (0.6 s at a million rows); the backfill
  fills it a batch at a time. CREATE INDEX CONCURRENTLY on PostgreSQL.
- fk_todos_list_id_lists: NOT VALID, then VALIDATE CONSTRAINT, which scans
  todos while reads and writes go on.
lists itself is new and empty, so its table and indexes are made plainly:
ux_lists_live_name (a name once per user among live lists, by name_key, the
case-folded name) and ux_lists_inbox (one Inbox per user) are partial unique
indexes; lists.trashed_todos counts the todos a trashed list took with it.
Generated with `make db-migrate`, then the todos part written out with those
helpers, and the Boolean defaults written as sa.false() for PostgreSQL.

Revision ID: 0008_lists_expand
Revises: 0007_activity_log
Create Date: 2026-12-01 20:44:26.534760+00:00
"""

import sqlalchemy as sa
from alembic import op

from todoapp.migration_tools import online

# revision identifiers, used by Alembic.
revision = "0008_lists_expand"
down_revision = "0007_activity_log"
branch_labels = None
depends_on = None

LIVE = "deleted_at IS NULL"
TRASHED = "deleted_at IS NOT NULL"


def upgrade():
    op.create_table(
        "lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("name_key", sa.String(length=180), nullable=False),
        sa.Column("is_inbox", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trashed_todos", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 60", name=op.f("ck_lists_list_name_length")),
        sa.ForeignKeyConstraint(
            ["deleted_by"], ["users.id"], name=op.f("fk_lists_deleted_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_lists_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lists")),
        sqlite_autoincrement=True,
    )
    partial = {"sqlite_where": sa.text(TRASHED), "postgresql_where": sa.text(TRASHED)}
    op.create_index("ix_lists_trash", "lists", ["deleted_at"], **partial)
    op.create_index("ix_lists_trash_owner", "lists", ["user_id", "deleted_at"], **partial)
    op.create_index(
        "ux_lists_inbox",
        "lists",
        ["user_id"],
        unique=True,
        sqlite_where=sa.text("is_inbox"),
        postgresql_where=sa.text("is_inbox"),
    )
    op.create_index(
        "ux_lists_live_name",
        "lists",
        ["user_id", "name_key"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )

    online.add_column(
        "todos",
        sa.Column("trashed_with_list", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    online.add_reference_column("todos", "list_id", "lists", name="fk_todos_list_id_lists")
    online.create_index("ix_todos_list_id", "todos", ["list_id", "id"], where="list_id IS NOT NULL")


def downgrade():
    online.drop_index("ix_todos_list_id", "todos")
    if op.get_context().dialect.name == "sqlite":
        # A native DROP COLUMN works while the reference is inline; once a
        # rebuild (0010's NOT NULL) has written it as a table constraint,
        # SQLite refuses, so batch mode rebuilds todos without the columns.
        with op.batch_alter_table("todos", recreate="always") as batch:
            batch.drop_column("list_id")
            batch.drop_column("trashed_with_list")
    else:
        op.drop_constraint("fk_todos_list_id_lists", "todos", type_="foreignkey")
        op.drop_column("todos", "list_id")
        op.drop_column("todos", "trashed_with_list")
    op.drop_table("lists")
