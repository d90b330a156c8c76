"""search index on todo titles

Revision ID: 0016_search_index_on_todo_titles
Revises: 0015_session_details
Create Date: 2026-12-07 16:05:00.000000+00:00

Issue 35, item 5: one search box over a user's live todos, lists and trash.
A title matches when it holds the query anywhere, in any case, so the index
is of trigrams: on PostgreSQL a GIN index of pg_trgm's trigrams on
todos.title (the extension made if missing), built concurrently by one
process; on SQLite an FTS5 table with the trigram tokenizer over todos
(external content: it keeps no copy of the titles), kept in step by
triggers, the rows already there indexed in committed batches with a pause
between them. Neither is in the models: autogenerate and the migration tools
leave them alone (migration_tools.search_objects). The downgrade drops them
(the index concurrently); pg_trgm stays.
"""

import sqlalchemy as sa
from alembic import op

from todoapp.migration_tools import online

# revision identifiers, used by Alembic.
revision = "0016_search_index_on_todo_titles"
down_revision = "0015_session_details"
branch_labels = None
depends_on = None


def upgrade():
    online.create_trigram_index("ix_todos_title_trgm", "todos", "title")
    online.create_fts5_index("todos_search", "todos", "title")


def downgrade():
    online.drop_search_index("todos_search", "todos", "ix_todos_title_trgm")
