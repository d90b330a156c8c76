"""login throttle delays

login_throttle.last_at: when a key last tried. Failed logins now count per
(username, address) pair and per address, and past a few free tries each
attempt waits a delay that doubles from the last one, instead of a hard
lock of the username that anyone could trigger.

Nullable, so adding it touches no row. Rows keyed "user:NAME" by the older
code are simply never read again and age out with their window. Generated
with `make db-migrate`; reviewed: the downgrade drops the column natively
rather than through a batch copy.

Revision ID: 0006_login_throttle_delays
Revises: 0005_account_sessions
Create Date: 2026-12-01 18:35:37.600620+00:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006_login_throttle_delays"
down_revision = "0005_account_sessions"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("login_throttle", sa.Column("last_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column("login_throttle", "last_at")
