"""partial indexes for pages

Revision ID: 0012_partial_indexes_for_pages
Revises: 0011_restore_id_sequences
Create Date: 2026-12-07 14:13:32.042762+00:00

The expand step of issue 36: each page gets an index whose condition is the
page's own, so it reads only the rows it shows however skewed the table is.
A list's page used ix_todos_list (every todo of the list, trashed ones
too), and the trash pages ix_todos_trash_owner and ix_todos_trash (every
trashed todo, those trashed with a list too): a trashed list of 100,000
todos was stepped over, row by row, on every visit. Built concurrently on
PostgreSQL; the old trash indexes go in the contract revision after it.
"""

import sqlalchemy as sa
from alembic import op

from todoapp.migration_tools import online

# revision identifiers, used by Alembic.
revision = "0012_partial_indexes_for_pages"
down_revision = "0011_restore_id_sequences"
branch_labels = None
depends_on = None


def upgrade():
    online.create_index(
        "ix_todos_list_live", "todos", ["list_id", "id"], where="deleted_at IS NULL"
    )
    online.create_index(
        "ix_todos_own_trash",
        "todos",
        ["user_id", "deleted_at", "id"],
        where={
            "sqlite": "deleted_at IS NOT NULL AND trashed_with_list = 0",
            "postgresql": "deleted_at IS NOT NULL AND NOT trashed_with_list",
        }[op.get_context().dialect.name],
    )
    online.create_index(
        "ix_todos_trash_entries",
        "todos",
        ["deleted_at", "id"],
        where={
            "sqlite": "deleted_at IS NOT NULL AND trashed_with_list = 0",
            "postgresql": "deleted_at IS NOT NULL AND NOT trashed_with_list",
        }[op.get_context().dialect.name],
    )


def downgrade():
    online.drop_index("ix_todos_trash_entries", "todos")
    online.drop_index("ix_todos_own_trash", "todos")
    online.drop_index("ix_todos_list_live", "todos")
