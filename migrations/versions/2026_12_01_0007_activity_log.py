"""activity log

A table of who did what and when (logins, trash actions, admin actions),
written in the same transaction as each change. A new table, so its indexes
are built while nobody uses it: the plain operations are right here.
Generated with `make db-migrate`; reviewed as generated.

Revision ID: 0007_activity_log
Revises: 0006_login_throttle_delays
Create Date: 2026-12-01 18:35:53.770485+00:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007_activity_log"
down_revision = "0006_login_throttle_delays"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("detail", sa.String(length=200), server_default="", nullable=False),
        sa.Column("address", sa.String(length=90), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_activity_actor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_activity_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity")),
    )
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.create_index("ix_activity_action", ["action", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_activity_at"), ["at"], unique=False)
        batch_op.create_index("ix_activity_user_id", ["user_id", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_user_id")
        batch_op.drop_index(batch_op.f("ix_activity_at"))
        batch_op.drop_index("ix_activity_action")

    op.drop_table("activity")
