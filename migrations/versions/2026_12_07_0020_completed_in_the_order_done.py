"""completed in the order done

Revision ID: 0020_completed_in_the_order_done
Revises: 0019_search_index_by_owner
Create Date: 2026-12-07 22:45:00.000000+00:00

Issue 35, item 2: the Completed section lists the todos most recently
done first, not the most recently created. todos.completed_at is when a
todo was marked done (NULL while it is open); the app sets it on the tick
and clears it on the untick.

- The column: nullable, added with online.add_column (no rewrite).
- The backfill: nobody recorded when the todos already done were done, so
  each gets its created_at, the best guess there is (their order in the
  section stays what it was). online.backfill, 1,000 rows per committed
  UPDATE, with a progress bar; killed halfway, it carries on when run again.
- ix_todos_completed (user_id, completed_at, id) and
  ix_todos_list_completed (list_id, completed_at, id): one owner's and one
  list's live, done todos, built concurrently on PostgreSQL, with the
  condition written as the queries write it.

A server of the version before keeps ticking todos without a completed_at
while the deploy rolls; the app lists those after the stamped ones
(services.todos), so none is lost from the pages. ix_todos_done and
ix_todos_list_done stay: the version before reads them. A contract revision
drops them once every server reads through these two.

The downgrade drops the two indexes concurrently and the column natively
(no rebuild of todos), as 0017 does.
"""

import sqlalchemy as sa
from alembic import op

from todoapp.migration_tools import online

# revision identifiers, used by Alembic.
revision = "0020_completed_in_the_order_done"
down_revision = "0019_search_index_by_owner"
branch_labels = None
depends_on = None


def _where(sqlite: str, postgresql: str) -> str:
    """An index condition as each database's queries write it (SQLite
    uses a partial index only when the query says it the same way)."""
    return {"sqlite": sqlite, "postgresql": postgresql}[op.get_context().dialect.name]


def upgrade():
    online.add_column("todos", sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))
    online.backfill(
        "todos",
        "completed_at = created_at",
        _where("done = 1 AND completed_at IS NULL", "done AND completed_at IS NULL"),
    )
    is_done = _where("deleted_at IS NULL AND done = 1", "deleted_at IS NULL AND done")
    online.create_index(
        "ix_todos_completed", "todos", ["user_id", "completed_at", "id"], where=is_done
    )
    online.create_index(
        "ix_todos_list_completed", "todos", ["list_id", "completed_at", "id"], where=is_done
    )


def downgrade():
    online.drop_index("ix_todos_list_completed", "todos")
    online.drop_index("ix_todos_completed", "todos")
    # Native DROP COLUMN (SQLite 3.35 and later, PostgreSQL): no rebuild of todos.
    op.drop_column("todos", "completed_at")
