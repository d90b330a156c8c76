"""The pages target 2 measures: each list's first page, and its last full
page, reached with the cursor the "Older" links would carry there."""

from sqlalchemy import create_engine, select

from todoapp.models import Todo
from todoapp.services.todos import LIST_KEY, TODO_ENTRY, TRASH_KEY, cursor_of

PER_PAGE = 50


def urls(dataset) -> dict[str, str]:
    engine = create_engine(dataset.url)
    try:
        with engine.connect() as con:

            def far_down(stmt, key, rows: int) -> str:
                """The cursor just before the last full page of ``rows`` rows."""
                skip = (rows // PER_PAGE - 1) * PER_PAGE - 1
                newest_first = [column.desc() for column in key]
                row = con.execute(stmt.order_by(*newest_first).offset(skip).limit(1)).one()
                return cursor_of(row._mapping, key)

            def trash_cursor(stmt, rows: int) -> str:
                """A trash cursor names the kind of entry: "<µs>-<kind>-<id>"."""
                moment, todo_id = far_down(stmt, TRASH_KEY, rows).split("-")
                return f"{moment}-{TODO_ENTRY}-{todo_id}"

            mine = Todo.user_id == 1
            # The bench user's Inbox has the user's id (benchmarks.data.inboxes).
            inbox = select(Todo.id).where(Todo.list_id == 1, Todo.deleted_at.is_(None))
            live = select(Todo.id).where(mine, Todo.deleted_at.is_(None))
            trashed = select(Todo.deleted_at, Todo.id).where(Todo.deleted_at.is_not(None))
            return {
                "/todos": "/todos",
                "/todos far down": "/todos?before=" + far_down(live, LIST_KEY, dataset.bench_live),
                "/lists/<inbox>": "/lists/1",
                "/lists/<inbox> far down": "/lists/1?before="
                + far_down(inbox, LIST_KEY, dataset.bench_live),
                "/trash": "/trash",
                "/trash far down": "/trash?before="
                + trash_cursor(trashed.where(mine), dataset.bench_trashed),
                "/admin/trash": "/admin/trash",
                "/admin/trash far down": "/admin/trash?before="
                + trash_cursor(trashed, dataset.trashed),
            }
    finally:
        engine.dispose()
