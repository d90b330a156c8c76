"""The guide's migration check, upgrade -> downgrade -1 -> upgrade, run on a
temporary copy of the configured database, so real data is never at risk.

    python -m todoapp.migration_tools.roundtrip      (what `make db-test-migrations` runs)
"""

import sqlite3
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import flask_migrate
import sqlalchemy as sa

from .. import create_app
from ..extensions import db


@contextmanager
def temporary_copy(url: sa.URL):
    """Yield the URL of a throwaway copy of the database at ``url``."""
    if url.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix="todoapp-migrations-") as directory:
            copy = Path(directory) / "copy.sqlite"
            source = Path(url.database or "")
            if url.database and source.exists():
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
                conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"')
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


def round_trip(app, out=sys.stdout) -> int:
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
        steps = [("upgrade", "head"), ("downgrade", "-1"), ("upgrade", "head")]
        try:
            with copy_app.app_context():
                for step, target in steps:
                    print(f"  {step} {target}", file=out, flush=True)
                    getattr(flask_migrate, step)(revision=target)
        except SystemExit:  # Flask-Migrate has already said what went wrong
            print("Migration round trip FAILED on the copy; nothing else changed.", file=out)
            return 1
        finally:
            with copy_app.app_context():
                db.engine.dispose()
    print("Migration round trip passed: upgrade -> downgrade -1 -> upgrade.", file=out)
    return 0


def main() -> int:
    return round_trip(create_app(migrations=True))


if __name__ == "__main__":
    sys.exit(main())
