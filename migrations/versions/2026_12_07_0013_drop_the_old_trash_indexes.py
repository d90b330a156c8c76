"""drop the old trash indexes

Revision ID: 0013_drop_the_old_trash_indexes
Revises: 0012_partial_indexes_for_pages
Create Date: 2026-12-07 14:28:47.441288+00:00

The contract step after 0012_partial_indexes_for_pages: every page and the
purge read the trash through ix_todos_own_trash and ix_todos_trash_entries,
so the two indexes over every trashed todo (those trashed with a list too)
serve nothing and only cost each write. Run once every server reads through
the new indexes (`flask db upgrade 0012_partial_indexes_for_pages` first if
old servers still run). The downgrade builds them again, concurrently.
"""

import sqlalchemy as sa
from alembic import op

from todoapp.migration_tools import online

# revision identifiers, used by Alembic.
revision = "0013_drop_the_old_trash_indexes"
down_revision = "0012_partial_indexes_for_pages"
branch_labels = None
depends_on = None


def upgrade():
    online.drop_index("ix_todos_trash", "todos")
    online.drop_index("ix_todos_trash_owner", "todos")


def downgrade():
    online.create_index(
        "ix_todos_trash_owner", "todos", ["user_id", "deleted_at"], where="deleted_at IS NOT NULL"
    )
    online.create_index("ix_todos_trash", "todos", ["deleted_at"], where="deleted_at IS NOT NULL")
