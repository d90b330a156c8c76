"""restore id sequences

Revision ID: 0011_restore_id_sequences
Revises: 0010_lists_contract
Create Date: 2026-12-07 12:18:02.349271+00:00

Revision 0004 promised that an id is never handed out twice, so a stale
button for a purged todo is a 404 rather than someone's newer todo. On
SQLite, 0010's rebuild of ``todos`` (and any rebuild before the runner kept
``sqlite_sequence``) set each id sequence back to the highest id still in the
table: the ids of todos and lists purged from the top came back.

This puts each sequence back to the highest id the database can still prove
it handed out: the sequence itself, the table's rows, and the ids the
activity log recorded ("#25" for a todo, "list #5" for a list). Ids purged
without an entry of their own (a bulk purge logs a count) cannot be told.
PostgreSQL's sequences never went back: nothing to do there.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0011_restore_id_sequences"
down_revision = "0010_lists_contract"
branch_labels = None
depends_on = None

# Each table, and how the activity log writes one of its ids: the number
# follows this prefix (CAST keeps the leading digits of "list #2 (6)").
RECORDED_AS = {"todos": "#", "lists": "list #"}


def upgrade():
    if op.get_context().dialect.name != "sqlite":
        return
    for table, prefix in RECORDED_AS.items():
        start = len(prefix) + 1
        op.execute(
            f"INSERT INTO sqlite_sequence (name, seq) SELECT '{table}', 0 "
            f"WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = '{table}')"
        )
        op.execute(
            f"UPDATE sqlite_sequence SET seq = max(seq, "
            f"coalesce((SELECT max(id) FROM {table}), 0), "
            f"coalesce((SELECT max(CAST(substr(detail, {start}) AS INTEGER)) FROM activity "
            f"WHERE detail LIKE '{prefix}%'), 0)) "
            f"WHERE name = '{table}'"
        )


def downgrade():
    # A sequence that stays higher hands out no id twice: nothing to undo.
    pass
