"""completed contract

Revision ID: 0021_completed_contract
Revises: 0020_completed_in_the_order_done
Create Date: 2026-12-08 01:20:00.000000+00:00

The contract step after 0020_completed_in_the_order_done. Run it once every
server runs 0020's code: from then on every tick stamps completed_at, so
nothing writes a done todo without one any more.

- The stamp: the done todos a server of the version before 0020 ticked
  during the deploy have no completed_at. Each gets its created_at, the
  same guess 0020's backfill made (nobody recorded when they were done).
  online.backfill, 1,000 rows per committed UPDATE, with a progress bar;
  killed halfway, it carries on when run again. The app then reads every
  Completed list from the stamped rows alone (services.todos).
- ix_todos_done (user_id, id) and ix_todos_list_done (list_id, id): the
  Completed pages and their counts read ix_todos_completed and
  ix_todos_list_completed (the same rows, the same condition), so these
  serve no statement. Dropped concurrently on PostgreSQL, as 0018 does.

The downgrade builds both indexes again, concurrently on PostgreSQL, with
their conditions written by hand for each database (autogenerate would lose
them). It leaves the stamps: a completed_at of created_at is as good a guess
as none, and 0020's code reads both, so there is nothing to undo.
"""

from alembic import op

from todoapp.migration_tools import online

# revision identifiers, used by Alembic.
revision = "0021_completed_contract"
down_revision = "0020_completed_in_the_order_done"
branch_labels = None
depends_on = None

# What the upgrade writes (the data stairway checks it): the completed_at of
# the done todos that had none. Declared as a rewrite, since the open ones
# keep their NULL (UPGRADE_FILLS would want none left); tests/test_completed.py
# checks that only those NULLs change.
UPGRADE_REWRITES = {"todos": ["completed_at"]}


def _where(sqlite: str, postgresql: str) -> str:
    """An index condition as each database's queries write it (SQLite
    uses a partial index only when the query says it the same way)."""
    return {"sqlite": sqlite, "postgresql": postgresql}[op.get_context().dialect.name]


def upgrade():
    online.backfill(
        "todos",
        "completed_at = created_at",
        _where("done = 1 AND completed_at IS NULL", "done AND completed_at IS NULL"),
    )
    online.drop_index("ix_todos_list_done", "todos")
    online.drop_index("ix_todos_done", "todos")


def downgrade():
    is_done = _where("deleted_at IS NULL AND done = 1", "deleted_at IS NULL AND done")
    online.create_index("ix_todos_done", "todos", ["user_id", "id"], where=is_done)
    online.create_index("ix_todos_list_done", "todos", ["list_id", "id"], where=is_done)
