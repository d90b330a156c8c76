"""The guide's migration check, upgrade -> downgrade one step -> upgrade, run
on a temporary copy of the configured database, so real data is never at risk.
The step down undoes the head revision alone (for a merge revision: the
merge, back to its first parent, where Alembic's "-1" would be ambiguous).

    python -m todoapp.migration_tools.roundtrip      (what `make db-test-migrations` runs)

After the first upgrade and after the last, every table is counted and its
rows hashed (``snapshot.summarize``, streamed, so any size of database will
do), and the two are compared table by table: the check fails, naming the
table, if a row was lost or a value changed on the way down and up again.

What is compared is what exists throughout: the tables and columns the
schema has one step down too (read off an empty scratch database migrated
there). A table or column the head revision creates is dropped by the step
down, so its rows cannot survive it; it is named, counted, and left out.
"""

import sqlite3
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import flask_migrate
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app

from .. import create_app
from ..extensions import db
from . import snapshot, stairway


@contextmanager
def temporary_copy(url: sa.URL, *, empty: bool = False):
    """Yield the URL of a throwaway copy of the database at ``url`` (with
    ``empty``: a throwaway empty database beside it)."""
    if url.get_backend_name() == "sqlite" and empty:
        with tempfile.TemporaryDirectory(prefix="todoapp-migrations-") as directory:
            yield url.set(database=str(Path(directory) / "empty.sqlite"))
        return
    if url.get_backend_name() == "sqlite":
        source = Path(url.database or "")
        if not url.database or not source.is_file():
            raise SystemExit(
                f"There is no database at {url.database or '(in memory)'}, so there is nothing "
                "to test: check DATABASE_URL, or create it with `make db-upgrade`."
            )
        with tempfile.TemporaryDirectory(prefix="todoapp-migrations-") as directory:
            copy = Path(directory) / "copy.sqlite"
            # The backup API copies a consistent snapshot, WAL included.
            with sqlite3.connect(source) as src, sqlite3.connect(copy) as dst:
                src.backup(dst)
            yield url.set(database=str(copy))
        return
    if url.get_backend_name() == "postgresql":
        name = f"{url.database}_migration_test_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            try:
                template = "template0" if empty else url.database
                conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            except sa.exc.DBAPIError as exc:
                raise SystemExit(
                    f"Could not copy database {url.database!r}: PostgreSQL copies a database "
                    f"only while nobody else is connected to it. Stop the app, or run the "
                    f"check against a restored backup.\n({exc.orig})"
                ) from None
        try:
            yield url.set(database=name)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
        return
    raise SystemExit(f"Don't know how to copy a {url.get_backend_name()} database.")


def round_trip(app, out=sys.stdout, directory: str | Path | None = None) -> int:
    """Run the check on a copy of ``app``'s database, with the revisions in
    ``directory`` (default: the app's migrations). 0 if it passed, else 1."""
    source = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    print(
        f"Testing migrations on a temporary copy of {source.render_as_string()}: "
        "the database itself is not touched.",
        file=out,
    )
    with app.app_context():
        db.engine.dispose()  # our own pooled connections would block a PostgreSQL copy
    with temporary_copy(source) as copy_url:
        copy_url = copy_url.render_as_string(hide_password=False)
        copy_app = create_app({**app.config, "SQLALCHEMY_DATABASE_URI": copy_url}, migrations=True)
        try:
            with copy_app.app_context():
                return _check_the_copy(out, None if directory is None else str(directory))
        finally:
            with copy_app.app_context():
                db.engine.dispose()


def _check_the_copy(out, directory: str | None) -> int:
    if not _migrate(out, directory, ("upgrade", "head")):
        return 1
    script = ScriptDirectory.from_config(
        current_app.extensions["migrate"].migrate.get_config(directory)
    )
    down = stairway.one_step_down(script.get_revision(script.get_current_head()))
    below = _columns_at(down, directory)
    print(
        f"  Counting and hashing every table at head, over what {down} has too:",
        file=out,
        flush=True,
    )
    with db.engine.connect() as conn:
        before = _hash_every_table(conn, out, below)
    if not _migrate(out, directory, ("downgrade", down), ("upgrade", "head")):
        return 1
    print("  The same again, after the round trip:", file=out, flush=True)
    with db.engine.connect() as conn:
        problems = _compare_every_table(conn, out, before)
    if problems:
        print(
            "Migration round trip FAILED on the copy, rows were lost or changed: "
            + "; ".join(problems)
            + ". The database itself was not touched.",
            file=out,
        )
        return 1
    print(
        "Migration round trip passed: upgrade -> downgrade one step -> upgrade, and every "
        "table has the same rows as before.",
        file=out,
    )
    return 0


def _migrate(out, directory: str | None, *steps) -> bool:
    for step, target in steps:
        print(f"  {step} {target}", file=out, flush=True)
        try:
            getattr(flask_migrate, step)(directory=directory, revision=target)
        except SystemExit:  # Flask-Migrate has already said what went wrong
            print("Migration round trip FAILED on the copy; nothing else changed.", file=out)
            return False
    return True


def _columns_at(revision: str, directory: str | None) -> dict[str, tuple[str, ...]]:
    """The tables and their columns at ``revision``, read off an empty scratch
    database migrated there: the schema does not depend on the data."""
    source = sa.make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    with temporary_copy(source, empty=True) as url:
        url = url.render_as_string(hide_password=False)
        scratch = create_app(
            {**current_app.config, "SQLALCHEMY_DATABASE_URI": url}, migrations=True
        )
        try:
            with scratch.app_context():
                flask_migrate.upgrade(directory=directory, revision=revision)
                with db.engine.connect() as conn:
                    return snapshot.table_columns(conn)
        finally:
            with scratch.app_context():
                db.engine.dispose()


def _hash_every_table(
    conn: sa.Connection, out, below: dict[str, tuple[str, ...]]
) -> dict[str, snapshot.TableSummary]:
    """Count and hash every table over the columns it has ``below`` too, a
    line as each is done; the tables and columns new at head are named."""
    present = snapshot.table_columns(conn)
    columns = {
        name: [column for column in present[name] if column in below[name]]
        for name in present.keys() & below.keys()
    }
    found = {}
    for progress, summary in _with_progress(conn, columns):
        if summary.table not in below:
            print(
                f"{progress} {_rows(summary.rows)}, a table new at head: the step down drops "
                "it, so its rows are not compared",
                file=out,
                flush=True,
            )
            continue
        new = [column for column in present[summary.table] if column not in below[summary.table]]
        also = f" (new at head, not compared: {', '.join(new)})" if new else ""
        print(
            f"{progress} {_rows(summary.rows)}, sha256 {summary.sha256[:12]}{also}",
            file=out,
            flush=True,
        )
        found[summary.table] = summary
    return found


def _compare_every_table(conn: sa.Connection, out, before) -> list[str]:
    """Count and hash every table again, over the columns it had ``before``,
    a line as each is done; return what is wrong, a sentence per table."""
    problems = []
    present = snapshot.table_columns(conn)
    for name in sorted(before.keys() - present.keys()):
        problems.append(f"{name}: {_rows(before[name].rows)} before, the table is GONE")
        print(f"  {problems[-1]}", file=out, flush=True)
    columns = {
        name: [column for column in before[name].columns if column in present[name]]
        for name in before.keys() & present.keys()
    }
    for progress, summary in _with_progress(conn, columns):
        if summary.table not in before:
            print(f"{progress} {_rows(summary.rows)}, new at head: not compared", file=out)
            continue
        problem = _compare(before[summary.table], summary)
        print(f"{progress} {problem or _rows(summary.rows) + ', the same'}", file=out, flush=True)
        if problem:
            problems.append(f"{summary.table}: {problem}")
    return problems


def _with_progress(conn: sa.Connection, columns):
    """``snapshot.summaries``, each with a "[n/tables, seconds] table:" prefix."""
    total = len(snapshot.table_names(conn))
    started = time.monotonic()
    for number, summary in enumerate(snapshot.summaries(conn, columns), 1):
        yield f"  [{number}/{total}, {time.monotonic() - started:.1f} s] {summary.table}:", summary
        started = time.monotonic()


def _compare(before: snapshot.TableSummary, after: snapshot.TableSummary) -> str | None:
    """What is wrong with a table after the round trip, or None."""
    counts = f"{_rows(before.rows)} before, {after.rows:,} after"
    gone = sorted(set(before.columns) - set(after.columns))
    if gone:
        return f"{counts}, column(s) {', '.join(gone)} GONE"
    if after.rows < before.rows:
        return f"{counts}, rows LOST"
    if after.rows != before.rows or after.sha256 != before.sha256:
        return f"{counts}, values CHANGED"
    return None


def _rows(count: int) -> str:
    return f"{count:,} row{'' if count == 1 else 's'}"


def main() -> int:
    return round_trip(create_app(migrations=True))


if __name__ == "__main__":
    sys.exit(main())
