"""completed apart from open todos

Revision ID: 0017_completed_apart_from_open
Revises: 0016_search_index_on_todo_titles
Create Date: 2026-12-07 18:46:25.548716+00:00

Issue 35's Completed section. A list's page shows its open todos, and
below them a Completed section with a bounded count; the Completed rows
have a page of their own too. Each is read through a partial index whose
condition is its own, so a list with a hundred thousand done todos reads
none of them for its open rows, and the reverse:

- ix_todos_list_open, ix_todos_list_done: one list's, newest first;
- ix_todos_open, ix_todos_done: one owner's across lists (the todo list);
- ix_todos_list_due_open: one list's open, dated todos by due date.

All built concurrently on PostgreSQL. Once the app reads through them,
ix_todos_live and ix_todos_list_due serve no page any more; a contract
revision after this one drops whichever stay unused.

users.hide_completed: NOT NULL with a constant server default (false),
which both databases fill in without rewriting users.

Generated with `make db-migrate`; reviewed: the column is added with
online.add_column rather than a batch block, so that a run stopped after an
index build (which commits) finishes when run again, and the downgrade
drops it natively rather than rebuilding users.
"""

import sqlalchemy as sa
from alembic import op

from todoapp.migration_tools import online

# revision identifiers, used by Alembic.
revision = "0017_completed_apart_from_open"
down_revision = "0016_search_index_on_todo_titles"
branch_labels = None
depends_on = None


def _where(sqlite: str, postgresql: str) -> str:
    """An index condition as each database's queries write it (SQLite
    uses a partial index only when the query says it the same way)."""
    return {"sqlite": sqlite, "postgresql": postgresql}[op.get_context().dialect.name]


def upgrade():
    online.add_column(
        "users",
        sa.Column("hide_completed", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    is_open = _where("deleted_at IS NULL AND done = 0", "deleted_at IS NULL AND NOT done")
    is_done = _where("deleted_at IS NULL AND done = 1", "deleted_at IS NULL AND done")
    online.create_index("ix_todos_list_open", "todos", ["list_id", "id"], where=is_open)
    online.create_index("ix_todos_list_done", "todos", ["list_id", "id"], where=is_done)
    online.create_index("ix_todos_open", "todos", ["user_id", "id"], where=is_open)
    online.create_index("ix_todos_done", "todos", ["user_id", "id"], where=is_done)
    online.create_index(
        "ix_todos_list_due_open",
        "todos",
        ["list_id", "due_on", "id"],
        where=_where(
            "deleted_at IS NULL AND due_on IS NOT NULL AND done = 0",
            "deleted_at IS NULL AND due_on IS NOT NULL AND NOT done",
        ),
    )


def downgrade():
    online.drop_index("ix_todos_list_due_open", "todos")
    online.drop_index("ix_todos_done", "todos")
    online.drop_index("ix_todos_open", "todos")
    online.drop_index("ix_todos_list_done", "todos")
    online.drop_index("ix_todos_list_open", "todos")
    # Native DROP COLUMN (SQLite 3.35 and later, PostgreSQL): no rebuild of users.
    op.drop_column("users", "hide_completed")
