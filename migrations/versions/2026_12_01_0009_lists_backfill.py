"""lists backfill

The second of the three lists revisions: every user gets an Inbox, and every
todo without a list is put in its owner's Inbox.

- The Inboxes: one INSERT ... SELECT of the users that have none, committed
  on its own (online.execute_checked). A user has at most one Inbox
  (ux_lists_inbox), so a rerun, or a new-version server that made one
  meanwhile, adds nothing twice.
- The todos: online.backfill, 1,000 rows per committed UPDATE, found through
  ix_todos_list_id (list_id IS NULL, in id order), with a progress bar. On
  SQLite it pauses 25 ms between batches so writers get the lock, and
  foreign keys are on for both steps, so SQLite checks each row as it is
  written and the whole-database check is not needed at the end. Killed
  halfway, it is run again with `flask db upgrade` and carries on: only rows
  still NULL are left to do.

Run it once every server runs the version with lists: until then an old
server writes todos with no list (which the app reads as the Inbox, and
0010 picks up too). Written by hand: there is no schema change to generate.

The downgrade leaves the rows as they are: NULL and the Inbox mean the
same to the app, and 0008's downgrade drops both the column and the lists.

Revision ID: 0009_lists_backfill
Revises: 0008_lists_expand
Create Date: 2026-12-01 21:05:00.000000+00:00
"""

from alembic import op

from todoapp.migration_tools import online

# revision identifiers, used by Alembic.
revision = "0009_lists_backfill"
down_revision = "0008_lists_expand"
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


def upgrade():
    online.execute_checked(CREATE_INBOXES)
    online.backfill("todos", INTO_INBOX, "list_id IS NULL")


def downgrade():
    pass
