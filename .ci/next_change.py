"""The data side of .ci/next-change, run in its scratch clone.

    python .ci/next_change.py seed DIR      rows in every table; the newest todo
                                            and list purged; a copy of the
                                            database kept in DIR
    python .ci/next_change.py check DIR     every row and value of the copy is
                                            still there, and ids stay retired

The database is the one DATABASE_URL names, as for `make db-upgrade`.
"""

import json
import shutil
import sys
from pathlib import Path

import sqlalchemy as sa

from todoapp import create_app
from todoapp.extensions import db
from todoapp.migration_tools import compare, snapshot, stairway
from todoapp.services import lists, todos

RETIRED = "retired.json"


def seed(directory: Path) -> None:
    with db.engine.begin() as conn:
        seeder = stairway.Seeder()
        for _ in range(3):
            seeder.seed(conn)
        retired = {}
        for table in ("todos", "lists"):
            newest = conn.scalar(sa.text(f"SELECT max(id) FROM {table}"))  # noqa: S608
            if table == "lists":
                conn.execute(sa.text("DELETE FROM todos WHERE list_id = :id"), {"id": newest})
            conn.execute(sa.text(f"DELETE FROM {table} WHERE id = :id"), {"id": newest})  # noqa: S608
            retired[table] = newest
        counts = {t: conn.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in retired}  # noqa: S608
    (directory / RETIRED).write_text(json.dumps(retired), encoding="utf-8")
    print(f"Seeded every table; rows in todos and lists: {counts}; purged ids: {retired}")
    keep_a_copy(directory)


def keep_a_copy(directory: Path) -> None:
    url = db.engine.url
    db.engine.dispose()
    if url.get_backend_name() == "sqlite":
        shutil.copy(url.database, directory / "before.sqlite")
        return
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{url.database}_before" TEMPLATE "{url.database}"')
    admin.dispose()


def the_copy(directory: Path) -> sa.URL:
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        return url.set(database=str(directory / "before.sqlite"))
    return url.set(database=f"{url.database}_before")


def check(directory: Path) -> int:
    before_engine = sa.create_engine(the_copy(directory), poolclass=sa.pool.NullPool)
    with before_engine.connect() as old, db.engine.connect() as new:
        before, after = snapshot.Database(old), snapshot.Database(new)
        problems = []
        for diff in compare.compare(before, after, compare.fates(before.columns())):
            print(f"  {diff.table}: {diff.describe()}")
            problems += [f"{diff.table}: {problem}" for problem in diff.problems()]
    before_engine.dispose()
    retired = json.loads((directory / RETIRED).read_text(encoding="utf-8"))
    owner = db.session.scalar(sa.text("SELECT min(id) FROM users"))
    todo = todos.create_todo(owner, "after the next change")
    made = lists.create_list(owner, "After the next change", actor_id=owner)
    if todo.id <= retired["todos"] or made.id <= retired["lists"]:
        problems.append(f"a purged id came back: todo {todo.id}, list {made.id}, purged {retired}")
    if problems:
        print("The next change LOST data or ids: " + "; ".join(problems))
        return 1
    print(f"Every row kept through the upgrade; new ids {todo.id} and {made.id} are new.")
    return 0


def main(argv: list[str]) -> int:
    step, directory = argv[0], Path(argv[1])
    app = create_app()
    with app.app_context():
        if step == "seed":
            seed(directory)
            return 0
        return check(directory)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
