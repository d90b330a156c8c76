"""drop ix_todos_list_due

Revision ID: 0018_drop_ix_todos_list_due
Revises: 0017_completed_apart_from_open
Create Date: 2026-12-07 19:54:41.066468+00:00

The contract step after 0017_completed_apart_from_open: a list ordered by due
date reads its open, dated todos through ix_todos_list_due_open, so the index
of every live, dated todo (done ones too) serves no statement. Left in place,
PostgreSQL still chose it and filtered the done rows out. Run once every
server reads through 0017's indexes. The downgrade builds it again,
concurrently on PostgreSQL.
"""

from todoapp.migration_tools import online

# revision identifiers, used by Alembic.
revision = "0018_drop_ix_todos_list_due"
down_revision = "0017_completed_apart_from_open"
branch_labels = None
depends_on = None


def upgrade():
    online.drop_index("ix_todos_list_due", "todos")


def downgrade():
    online.create_index(
        "ix_todos_list_due",
        "todos",
        ["list_id", "due_on", "id"],
        where="deleted_at IS NULL AND due_on IS NOT NULL",
    )
