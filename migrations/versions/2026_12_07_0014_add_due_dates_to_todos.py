"""add due dates to todos

Revision ID: 0014_add_due_dates_to_todos
Revises: 0013_drop_the_old_trash_indexes
Create Date: 2026-12-07 15:44:31.180177+00:00

A due date on each todo (nullable: no todo has one yet), and two partial
indexes, built concurrently: ix_todos_due for an owner's "Today" and
"Overdue" (open, dated, live todos across lists), ix_todos_list_due for a
list ordered by due date. Reviewed after autogenerate: the column is added
with online.add_column rather than in a batch block, so that a run stopped
after an index build (which commits) finishes when run again; the downgrade
drops the indexes before the column (SQLite cannot drop a column an index
names) and drops it natively rather than rebuilding todos.
"""

import sqlalchemy as sa
from alembic import op

from todoapp.migration_tools import online

# revision identifiers, used by Alembic.
revision = "0014_add_due_dates_to_todos"
down_revision = "0013_drop_the_old_trash_indexes"
branch_labels = None
depends_on = None


def upgrade():
    online.add_column("todos", sa.Column("due_on", sa.Date(), nullable=True))
    online.create_index(
        "ix_todos_due",
        "todos",
        ["user_id", "due_on", "id"],
        where={
            "sqlite": "deleted_at IS NULL AND due_on IS NOT NULL AND done = 0",
            "postgresql": "deleted_at IS NULL AND due_on IS NOT NULL AND NOT done",
        }[op.get_context().dialect.name],
    )
    online.create_index(
        "ix_todos_list_due",
        "todos",
        ["list_id", "due_on", "id"],
        where="deleted_at IS NULL AND due_on IS NOT NULL",
    )


def downgrade():
    online.drop_index("ix_todos_list_due", "todos")
    online.drop_index("ix_todos_due", "todos")
    # Native ALTER TABLE DROP COLUMN (SQLite 3.35+): no copy of todos.
    op.drop_column("todos", "due_on")
