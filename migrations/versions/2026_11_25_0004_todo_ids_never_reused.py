"""todo ids never reused

SQLite hands out the highest id again once the row that had it is deleted,
so a stale "Delete forever", Undo or Restore button, or a ticked checkbox,
could act on somebody else's newer todo. With AUTOINCREMENT, SQLite never
reuses an id; ids start after the highest one present when this runs.

On SQLite the keyword can only be added by rebuilding the table: batch mode
copies every row into a new todos table, drops the old one and renames the
copy. `flask db upgrade` runs it with foreign keys off and checks them before
it commits, so nothing cascades. It needs the live table's definition, so it
cannot be written as offline SQL (--sql) on SQLite. PostgreSQL's sequences
never go back, so there it does nothing.

The downgrade is not the generated one: it rebuilds todos as 0001-0003 left
it, so that 0002's downgrade can still drop deleted_by (see TODOS_AT_0003).

Revision ID: 0004_todo_ids_never_reused
Revises: 0003
Create Date: 2026-11-25 10:48:20.428842+00:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004_todo_ids_never_reused"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_context().dialect.name == "sqlite":
        # Rebuild todos with AUTOINCREMENT: SQLite cannot ALTER it in place.
        with op.batch_alter_table(
            "todos",
            recreate="always",
            table_kwargs={"sqlite_autoincrement": True},
        ):
            pass
        # Batch mode recreates the indexes in an order of its own, and with no
        # statistics SQLite breaks a tie between two usable indexes by taking
        # the newer. ix_todos_user_id also gives a user's todos in id order but
        # reads the trashed ones too, so ix_todos_live is made after it again.
        op.drop_index("ix_todos_live", table_name="todos")
        op.create_index(
            "ix_todos_live",
            "todos",
            ["user_id", "id"],
            sqlite_where=sa.text("deleted_at IS NULL"),
        )


# The todos table exactly as 0001-0003 left it. 0002 added deleted_by with an
# inline REFERENCES, and its downgrade drops the column with a native DROP
# COLUMN. A batch rebuild would write that foreign key at the table level,
# where SQLite refuses to drop the column, so the downgrade writes it out.
TODOS_AT_0003 = """
CREATE TABLE _todos_at_0003 (
    id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    title VARCHAR(200) NOT NULL,
    done BOOLEAN DEFAULT 0 NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL, deleted_at DATETIME, deleted_by INTEGER REFERENCES users (id),
    CONSTRAINT pk_todos PRIMARY KEY (id),
    CONSTRAINT ck_todos_title_length CHECK (length(title) BETWEEN 1 AND 200),
    CONSTRAINT fk_todos_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
)
"""
COLUMNS = "id, user_id, title, done, created_at, updated_at, deleted_at, deleted_by"
INDEXES_AT_0003 = (
    "CREATE INDEX ix_todos_user_id ON todos (user_id)",
    "CREATE INDEX ix_todos_live ON todos (user_id, id) WHERE deleted_at IS NULL",
    "CREATE INDEX ix_todos_trash_owner ON todos (user_id, deleted_at) WHERE deleted_at IS NOT NULL",
    "CREATE INDEX ix_todos_trash ON todos (deleted_at) WHERE deleted_at IS NOT NULL",
)


def downgrade():
    if op.get_context().dialect.name == "sqlite":
        # SQLite's procedure for changing a table: new table, copy, drop, rename.
        op.execute(TODOS_AT_0003)
        op.execute(f"INSERT INTO _todos_at_0003 ({COLUMNS}) SELECT {COLUMNS} FROM todos")
        op.execute("DROP TABLE todos")
        op.execute("ALTER TABLE _todos_at_0003 RENAME TO todos")
        for statement in INDEXES_AT_0003:
            op.execute(statement)
