"""The guide's migration check, run on temporary copies of the configured
database, so real data is never at risk::

    python -m todoapp.migration_tools.roundtrip      (what `make db-test-migrations` runs)

1. The copy is taken where the database stands. If nothing is pending, it
   first steps down one revision (a merge: to its first parent), so the head
   revision's upgrade is the one tried on the data.
2. A second copy keeps the data as it was before the upgrade.
3. Upgrade to head, then compare every table with the data before it: a
   table, a column, a row or a value that is gone or changed is a loss,
   unless a revision run declares it (renames, drops, fills, rewrites, added
   rows: ``stairway``). A rename written as "add a column, drop a column"
   fails here, naming the column and how many values it held.
4. Downgrade to where the copy started, and compare with the data before
   the upgrade: it must be the same.
5. Upgrade again, and compare with the data after the first upgrade.

Tables are read in primary-key order from both sides and merged
(``compare``), so memory stays flat at any size; each table's line is
printed as it is done.
"""

import sqlite3
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app

from .. import create_app
from ..extensions import db
from . import compare, snapshot, stairway


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
        name = f"{url.database.split('_migration_test_')[0]}_migration_test_{uuid.uuid4().hex[:8]}"
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


class Failed(Exception):
    """The round trip found a problem; its message says what."""


def round_trip(app, out=sys.stdout, directory: str | Path | None = None) -> int:
    """Run the check on copies of ``app``'s database, with the revisions in
    ``directory`` (default: the app's migrations). 0 if it passed, else 1."""
    source = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    print(
        f"Testing migrations on a temporary copy of {source.render_as_string()}: "
        "the database itself is not touched.",
        file=out,
        flush=True,
    )
    with app.app_context():
        db.engine.dispose()  # our own pooled connections would block a PostgreSQL copy
    trip = RoundTrip(app.config, out, None if directory is None else str(directory))
    try:
        with temporary_copy(source) as work:
            trip.run(work)
    except Failed as failure:
        print(
            f"Migration round trip FAILED on the copy: {failure} "
            "The database itself was not touched.",
            file=out,
        )
        return 1
    print(
        "Migration round trip passed: upgrade, downgrade and upgrade again, and every "
        "table kept its rows and values against the data before each step.",
        file=out,
    )
    return 0


class RoundTrip:
    def __init__(self, config, out, directory: str | None):
        self.config, self.out, self.directory = config, out, directory

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    @contextmanager
    def app_on(self, url: sa.URL):
        """An app context on the database at ``url``; its connections closed after."""
        rendered = url.render_as_string(hide_password=False)
        app = create_app({**self.config, "SQLALCHEMY_DATABASE_URI": rendered}, migrations=True)
        try:
            with app.app_context():
                yield app
        finally:
            with app.app_context():
                db.engine.dispose()

    def run(self, work: sa.URL) -> None:
        with self.app_on(work):
            script = ScriptDirectory.from_config(
                current_app.extensions["migrate"].migrate.get_config(self.directory)
            )
            start = self.starting_point(script)
            pending = [
                stairway.upgrade_declaration(revision)
                for revision in stairway.revisions_between(script, start, "heads")
            ]
        with temporary_copy(work) as before_url:
            self.migrate(work, "upgrade", "heads")
            with self.connected(before_url) as before, self.connected(work) as after:
                upgraded = compare.fates(before.columns(), pending)
                self.check("Compared with the data before the upgrade:", before, after, upgraded)
            with temporary_copy(work) as first_url:
                self.migrate(work, "downgrade", start or "base")
                with self.connected(before_url) as before, self.connected(work) as after:
                    # Rows an upgrade adds (an Inbox per user) may stay after the step down.
                    same = compare.fates(before.columns())
                    for fate in same.values():
                        fate.adds = upgraded[fate.table].adds
                    self.check("Compared with the data before the upgrade:", before, after, same)
                self.migrate(work, "upgrade", "heads")
                with self.connected(first_url) as first, self.connected(work) as after:
                    again = compare.fates(first.columns())
                    left_out = self.leave_out_what_is_new(again, upgraded)
                    self.check(
                        "Compared with the data after the first upgrade:",
                        first,
                        after,
                        again,
                        notes=left_out,
                    )

    def leave_out_what_is_new(self, fates, upgraded) -> list[str]:
        """Columns and tables the upgrade made, with no data carried into
        them, hold what their defaults gave (a time, say): not compared.
        Returns a line for each."""
        carried = {
            (fate.after, column)
            for fate in upgraded.values()
            for column in (*fate.columns.values(), *fate.filled, *fate.rewritten)
            if column is not None
        }
        notes = []
        for fate in fates.values():
            new = [c for c in fate.columns if (fate.table, c) not in carried]
            if len(new) == len(fate.columns):
                notes.append(f"    {fate.table}: new at head, not compared")
                fate.after = None
                continue
            if new:
                notes.append(f"    {fate.table}: new at head, not compared: {', '.join(new)}")
            for column in new:
                fate.columns[column] = None
        return notes

    def starting_point(self, script: ScriptDirectory) -> str | None:
        """Where the upgrade starts: the copy's revision, or one step below
        the head if nothing is pending (the copy is stepped down there)."""
        with db.engine.connect() as conn:
            heads = set(MigrationContext.configure(conn).get_current_heads())
        at = ", ".join(sorted(heads)) or "no revision (empty)"
        if heads and heads == set(script.get_heads()):
            [head] = script.get_heads() if len(script.get_heads()) == 1 else [None]
            if head is None:
                raise Failed("the migrations have several heads: merge them first (make db-merge).")
            start = stairway.one_step_down(script.get_revision(head))
            self.say(
                f"  The copy is at the head, {at}: first down to {start}, so that the "
                "head's upgrade meets the data."
            )
            self.migrate(None, "downgrade", start)
            return None if start == "base" else start
        if len(heads) > 1:
            raise Failed(f"the database has several heads ({at}): upgrade it first.")
        self.say(f"  The copy is at {at}.")
        return next(iter(heads), None)

    def migrate(self, url: sa.URL | None, step: str, target: str) -> None:
        """``flask db upgrade|downgrade target`` on the database at ``url``
        (None: the current app's)."""
        if url is not None:
            with self.app_on(url):
                self.migrate(None, step, target)
            return
        self.say(f"  {step} {target}")
        config = current_app.extensions["migrate"].migrate.get_config(self.directory)
        try:
            getattr(command, step)(config, target)
        except (sa.exc.DBAPIError, CommandError) as exc:
            raise Failed(f"`{step} {target}` stopped: {_one_line(exc)}") from None

    @contextmanager
    def connected(self, url: sa.URL):
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                yield snapshot.Database(conn)
        finally:
            engine.dispose()

    def check(self, title: str, before, after, fates, notes=()) -> None:
        self.say(f"  {title}")
        for note in notes:
            self.say(note)
        problems = []
        total = len(fates)
        started = time.monotonic()
        for number, diff in enumerate(compare.compare(before, after, fates), 1):
            seconds = time.monotonic() - started
            self.say(f"    [{number}/{total}, {seconds:.1f} s] {diff.table}: {diff.describe()}")
            problems += [f"{diff.table}: {problem}" for problem in diff.problems()]
            started = time.monotonic()
        known = {f.after for f in fates.values()} | set(fates)
        for name in sorted(set(after.columns()) - known):
            self.say(f"    {name}: a table new here, not compared")
        if problems:
            raise Failed("; ".join(problems) + ".")


def _one_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return " ".join(text.split())


def main() -> int:
    return round_trip(create_app(migrations=True))


if __name__ == "__main__":
    sys.exit(main())
