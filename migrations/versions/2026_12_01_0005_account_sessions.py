"""account sessions

Sessions that the server can end, and accounts an administrator can manage:

- user_sessions: one row per logged-in browser (the SHA-256 of the token in
  its cookie). Logging out deletes the row; "log out everywhere", a password
  change and disabling the account delete the user's rows.
- users.disabled_at, users.last_login_at: nullable, so adding them touches no
  row (on SQLite a native ADD COLUMN, on PostgreSQL a catalog change).
- users.must_change_password: NOT NULL with a constant server default, which
  both databases fill in without rewriting the table (PostgreSQL 11 and
  later keep the default in the catalog).

Generated with `make db-migrate`; reviewed: the boolean default is written as
sa.false() (autogenerate read SQLite's "0", which PostgreSQL refuses for a
boolean), and the downgrade drops the columns natively instead of rebuilding
users, which todos references.

Revision ID: 0005_account_sessions
Revises: 0004_todo_ids_never_reused
Create Date: 2026-12-01 18:35:02.436362+00:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005_account_sessions"
down_revision = "0004_todo_ids_never_reused"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"], unique=False)

    op.add_column("users", sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "users",
        sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade():
    # Native DROP COLUMN (SQLite 3.35 and later, PostgreSQL): no rebuild of users.
    op.drop_column("users", "must_change_password")
    op.drop_column("users", "last_login_at")
    op.drop_column("users", "disabled_at")
    op.drop_index(op.f("ix_user_sessions_user_id"), table_name="user_sessions")
    op.drop_table("user_sessions")
