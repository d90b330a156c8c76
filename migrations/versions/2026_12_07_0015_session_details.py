"""session details

What the account page shows of each session, and why a session ended:

- user_sessions.user_agent, .address, .last_active_at: nullable, so adding
  them touches no row (a native ADD COLUMN on SQLite, a catalog change on
  PostgreSQL). A session from before them shows no browser or address.
- ended_sessions: a new, empty table. A session ended by anything but its
  own logout is deleted from user_sessions as before (so a server of the
  previous release ends it too) and gets a row here saying why, for the
  login page.

Generated with `make db-migrate`; reviewed: columns added and dropped with
plain (native) operations rather than batch ones, as 0005 does, so the
downgrade rebuilds no table. The downgrade loses only what it removes: the
new columns and the reasons; no ended session comes back.

Revision ID: 0015_session_details
Revises: 0014_add_due_dates_to_todos
Create Date: 2026-12-07 15:53:07.000000+00:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015_session_details"
down_revision = "0014_add_due_dates_to_todos"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ended_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_ended_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ended_sessions")),
    )
    op.create_index(op.f("ix_ended_sessions_user_id"), "ended_sessions", ["user_id"], unique=False)
    op.add_column("user_sessions", sa.Column("user_agent", sa.String(length=255), nullable=True))
    op.add_column("user_sessions", sa.Column("address", sa.String(length=90), nullable=True))
    op.add_column(
        "user_sessions", sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade():
    # Native DROP COLUMN (SQLite 3.35 and later, PostgreSQL): no rebuild of user_sessions.
    op.drop_column("user_sessions", "last_active_at")
    op.drop_column("user_sessions", "address")
    op.drop_column("user_sessions", "user_agent")
    op.drop_index(op.f("ix_ended_sessions_user_id"), table_name="ended_sessions")
    op.drop_table("ended_sessions")
