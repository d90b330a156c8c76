"""search index by owner

Revision ID: 0019_search_index_by_owner
Revises: 0018_drop_ix_todos_list_due
Create Date: 2026-12-07 22:30:00.000000+00:00

Issue 35, item 5, on PostgreSQL: a search is always one owner's, but 0016's
GIN index holds the trigrams of the title alone, so a rare query read every
owner's rows that hold its trigrams and intersected them with the owner's
rows from ix_todos_user_id: work that grew with the whole table. The index
made here holds the owner too (btree_gin, made if missing, like pg_trgm), so
the owner and the pattern are one index condition and a search reads its
owner's entries only. It covers live and trashed todos alike, as the search's
two statements on todos need. Built concurrently by one process; then 0016's
index, which no statement needs any more, is dropped concurrently. The
downgrade builds that one again first, then drops this one; the extensions
stay. Nothing on SQLite, whose FTS5 table already holds the owner.
"""

from todoapp.migration_tools import online

# revision identifiers, used by Alembic.
revision = "0019_search_index_by_owner"
down_revision = "0018_drop_ix_todos_list_due"
branch_labels = None
depends_on = None


def upgrade():
    online.create_owner_trigram_index("ix_todos_owner_title_trgm", "todos", "title")
    online.drop_trigram_index("ix_todos_title_trgm", "todos")


def downgrade():
    online.create_trigram_index("ix_todos_title_trgm", "todos", "title")
    online.drop_trigram_index("ix_todos_owner_title_trgm", "todos")
