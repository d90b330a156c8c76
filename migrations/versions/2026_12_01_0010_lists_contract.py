"""lists contract

The last of the three lists revisions: todos.list_id becomes NOT NULL.

First it does again what 0009 did, for the rows that servers without lists
wrote after it ran (usually none, found through ix_todos_list_id at once).
Then online.set_not_null, and ix_todos_list (list_id, id) over every row
(concurrently on PostgreSQL) in place of 0008's partial ix_todos_list_id:
SQLite checks a foreign key (deleting a list) only through a full index.
online.set_not_null:
- PostgreSQL: a CHECK (list_id IS NOT NULL) added NOT VALID, validated while
  the table serves, so that SET NOT NULL can skip its own scan under an
  exclusive lock; then the CHECK is dropped.
- SQLite: a rebuild of todos (batch mode; `flask db upgrade` runs it with
  foreign keys off and checks them before it commits). It holds the write
  lock while it copies the table: a few seconds at a million rows, so run
  it at a quiet moment. Batch mode makes the indexes again in an order of
  its own, and drops AUTOINCREMENT unless told: AUTOINCREMENT is passed, and
  ix_todos_live is made last again, as in 0004, so that SQLite still
  prefers it for the todo list.
Run it only once every server runs the version with lists. Written by hand.

Revision ID: 0010_lists_contract
Revises: 0009_lists_backfill
Create Date: 2026-12-01 21:10:00.000000+00:00
"""

import sqlalchemy as sa
from alembic import op

from todoapp.migration_tools import online

# revision identifiers, used by Alembic.
revision = "0010_lists_contract"
down_revision = "0009_lists_backfill"
branch_labels = None
depends_on = None

# What the upgrade writes (the data stairway checks it): every todo's list,
# and an Inbox for every user who had none.
UPGRADE_FILLS = {"todos": ["list_id"]}
UPGRADE_ADDS = {"lists": "is_inbox"}

CREATE_INBOXES = """
INSERT INTO lists (user_id, name, name_key, is_inbox, created_at)
SELECT users.id, 'Inbox', 'inbox', true, CURRENT_TIMESTAMP
FROM users
WHERE NOT EXISTS (SELECT 1 FROM lists WHERE lists.user_id = users.id AND lists.is_inbox)
"""
INTO_INBOX = (
    "list_id = (SELECT lists.id FROM lists WHERE lists.user_id = todos.user_id AND lists.is_inbox)"
)

# Reflection cannot see AUTOINCREMENT (0004): a rebuild must be told again.
AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade():
    online.execute_checked(CREATE_INBOXES)
    online.backfill("todos", INTO_INBOX, "list_id IS NULL")
    online.set_not_null("todos", "list_id", sqlite_table_kwargs=AUTOINCREMENT)
    # The index of every row's list, now that every row has one; it replaces
    # 0008's partial one, which SQLite cannot use for foreign-key checks.
    online.create_index("ix_todos_list", "todos", ["list_id", "id"])
    online.drop_index("ix_todos_list_id", "todos")
    if op.get_context().dialect.name == "sqlite":
        _make_live_index_last()


def downgrade():
    online.create_index("ix_todos_list_id", "todos", ["list_id", "id"], where="list_id IS NOT NULL")
    online.drop_index("ix_todos_list", "todos")
    if op.get_context().dialect.name == "sqlite":
        with op.batch_alter_table("todos", table_kwargs=AUTOINCREMENT) as batch:
            batch.alter_column("list_id", existing_type=sa.Integer(), nullable=True)
        _make_live_index_last()
    else:
        op.alter_column("todos", "list_id", existing_type=sa.Integer(), nullable=True)


def _make_live_index_last():
    op.drop_index("ix_todos_live", table_name="todos")
    op.create_index(
        "ix_todos_live", "todos", ["user_id", "id"], sqlite_where=sa.text("deleted_at IS NULL")
    )
