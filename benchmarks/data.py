"""Benchmark databases, built from the real migrations and filled by bulk insert.

The shape, at every size: 100 users, half of all todos in the trash, every
trashed todo deleted more than 30 days ago (so all of it is due for purging).
User 1, "bench", is an administrator and owns ``max(200, size // 100)`` todos:
enough for two full pages of 50 in the list and in the trash at 1,000 todos,
and its fair share, one todo in a hundred, at 1,000,000.
"""

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from werkzeug.security import generate_password_hash

from todoapp import ROOT
from todoapp.config import PASSWORD_HASH_METHOD

USERS = 100
BENCH_USER = "bench"
PASSWORD = "benchmark-password"
FLASK = [str(Path(sys.executable).with_name("flask")), "--app", "wsgi"]
TODO_COLUMNS = ("id", "user_id", "title", "done", "created_at", "updated_at")
TRASH_COLUMNS = ("deleted_at", "deleted_by")
LIST_COLUMNS = ("list_id",)  # from revision 0008: every todo is in its owner's Inbox
# From the revision that adds it: when a done todo was done, not in the order
# the todos were created (done up to DONE_SPREAD after it), so the Completed
# pages read the index of completed_at as a real account's would.
COMPLETED_COLUMNS = ("completed_at",)
DONE_SPREAD = timedelta(days=30)


@dataclass(frozen=True)
class Dataset:
    url: str  # SQLAlchemy URL, as DATABASE_URL
    size: int
    bench_live: int  # the bench user's live todos
    bench_trashed: int
    trashed: int  # everyone's


def flask_env(url: str) -> dict:
    return os.environ | {"DATABASE_URL": url, "FLASK_DEBUG": "0", "SECRET_KEY": "bench"}


def flask(*args: str, url: str) -> subprocess.CompletedProcess:
    """Run ``flask --app wsgi ARGS`` against the database at ``url``."""
    done = subprocess.run(
        FLASK + list(args), cwd=ROOT, env=flask_env(url), capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stderr}")
    return done


def users() -> list[tuple]:
    # One hash for all, made as the app makes them.
    password_hash = generate_password_hash(PASSWORD, method=PASSWORD_HASH_METHOD)
    created = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [(1, BENCH_USER, password_hash, True, created)]
    rows += [(n, f"user{n:03d}", password_hash, False, created) for n in range(2, USERS + 1)]
    return rows


def inboxes(size: int) -> list[tuple]:
    """Each user's Inbox, with the user's id as its own; and, so that the
    trash pages merge lists with todos, one trashed (empty) list of the bench
    user's for every 20 of its trashed todos, deleted among them in time.
    Rows of INBOX_COLUMNS."""
    created = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [(n, n, "Inbox", "inbox", True, created, None, None) for n in range(1, USERS + 1)]
    bench_trashed = min(size, max(200, size // 100)) // 2
    expired = datetime.now(UTC).replace(microsecond=0) - timedelta(days=31)
    for k in range(bench_trashed // 20):
        deleted = expired - timedelta(seconds=k * 20 * (size // max(bench_trashed, 1)) * 2)
        rows.append(
            (USERS + 1 + k, 1, f"Old list {k}", f"old list {k}", False, created, deleted, 1)
        )
    return rows


INBOX_COLUMNS = "id, user_id, name, name_key, is_inbox, created_at, deleted_at, deleted_by"


def todos(
    size: int, *, soft_delete: bool = True, with_lists: bool = False, with_completed: bool = False
) -> tuple[Iterator[tuple], Dataset]:
    """Rows for ``todos`` (without the soft-delete columns when ``soft_delete``
    is false: the schema before revision 0002; with list_id, each in its
    owner's Inbox, when ``with_lists``; with completed_at for the done ones
    when ``with_completed``), and the dataset's shape."""
    bench_share = min(size, max(200, size // 100))
    step = size / bench_share
    now = datetime.now(UTC).replace(microsecond=0)
    expired = now - timedelta(days=31)
    counts = {"bench_live": 0, "bench_trashed": 0, "trashed": 0}
    # Which rows are the bench user's: evenly spread through the id range.
    bench_ids = {int(k * step) + 1 for k in range(bench_share)}
    bench_seen = 0
    other = 0

    def rows():
        nonlocal bench_seen, other
        for todo_id in range(1, size + 1):
            if todo_id in bench_ids:
                owner = 1
                trashed = bench_seen % 2 == 1
                bench_seen += 1
                counts["bench_trashed" if trashed else "bench_live"] += 1
            else:
                owner = 2 + other % (USERS - 1)
                trashed = other % 2 == 1
                other += 1
            created = now - timedelta(days=400, seconds=-todo_id * 20)
            done = todo_id % 3 == 0
            row = (todo_id, owner, f"Todo number {todo_id}", done, created, created)
            if soft_delete:
                if trashed:
                    counts["trashed"] += 1
                    row += (expired - timedelta(seconds=size - todo_id), owner)
                else:
                    row += (None, None)
            if with_lists:
                row += (owner,)
            if with_completed:
                # Spread over DONE_SPREAD by a step prime to it: no longer id order.
                later = timedelta(seconds=todo_id * 7919 % DONE_SPREAD.total_seconds())
                row += (created + later if done else None,)
            yield row

    bench_live = (bench_share + 1) // 2
    shape = Dataset(
        url="",
        size=size,
        bench_live=bench_live,
        bench_trashed=bench_share - bench_live,
        trashed=(bench_share // 2 + (size - bench_share) // 2) if soft_delete else 0,
    )
    return rows(), shape


def _sqlite_value(value):
    if isinstance(value, datetime):  # as SQLAlchemy stores a UTCDateTime on SQLite
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return value


def build_sqlite(path: Path, size: int, *, revision: str = "head") -> Dataset:
    """A SQLite database at ``revision`` with ``size`` todos."""
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    url = f"sqlite:///{path}"
    flask("db", "upgrade", revision, url=url)
    soft_delete = revision != "0001"
    con = sqlite3.connect(path, isolation_level=None)
    with_lists = bool(
        con.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'lists'"
        ).fetchone()
    )
    with_completed = any(
        row[1] == "completed_at" for row in con.execute("PRAGMA table_info(todos)")
    )
    rows, shape = todos(
        size, soft_delete=soft_delete, with_lists=with_lists, with_completed=with_completed
    )
    columns = _columns(soft_delete, with_lists, with_completed)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO users (id, username, password_hash, is_admin, created_at) VALUES (?,?,?,?,?)",
        ([_sqlite_value(v) for v in row] for row in users()),
    )
    if with_lists:
        con.executemany(
            f"INSERT INTO lists ({INBOX_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
            ([_sqlite_value(v) for v in row] for row in inboxes(size)),
        )
    con.executemany(
        f"INSERT INTO todos ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        ([_sqlite_value(v) for v in row] for row in rows),
    )
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return Dataset(url, shape.size, shape.bench_live, shape.bench_trashed, shape.trashed)


def _columns(soft_delete: bool, with_lists: bool, with_completed: bool) -> tuple[str, ...]:
    return (
        TODO_COLUMNS
        + (TRASH_COLUMNS if soft_delete else ())
        + (LIST_COLUMNS if with_lists else ())
        + (COMPLETED_COLUMNS if with_completed else ())
    )


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def postgres_url(server_url: str, name: str) -> str:
    """The URL of database ``name`` on the server of ``server_url``."""
    return server_url.rsplit("/", 1)[0] + "/" + name


def build_postgres(server_url: str, name: str, size: int, *, revision: str = "head") -> Dataset:
    """A fresh PostgreSQL database ``name`` at ``revision`` with ``size`` todos, analysed."""
    import psycopg

    with psycopg.connect(_libpq(server_url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = postgres_url(server_url, name)
    flask("db", "upgrade", revision, url=url)
    soft_delete = revision != "0001"
    with psycopg.connect(_libpq(url)) as con:
        with_lists = con.execute("SELECT to_regclass('lists') IS NOT NULL").fetchone()[0]
        with_completed = con.execute(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns "
            "WHERE table_name = 'todos' AND column_name = 'completed_at')"
        ).fetchone()[0]
        rows, shape = todos(
            size, soft_delete=soft_delete, with_lists=with_lists, with_completed=with_completed
        )
        columns = _columns(soft_delete, with_lists, with_completed)
        with con.cursor().copy(
            "COPY users (id, username, password_hash, is_admin, created_at) FROM STDIN"
        ) as copy:
            for row in users():
                copy.write_row(row)
        if with_lists:
            with con.cursor().copy(f"COPY lists ({INBOX_COLUMNS}) FROM STDIN") as copy:
                for row in inboxes(size):
                    copy.write_row(row)
        with con.cursor().copy(f"COPY todos ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        # The ids were given explicitly: move the sequences past them.
        con.execute("SELECT setval('users_id_seq', (SELECT max(id) FROM users))")
        con.execute("SELECT setval('todos_id_seq', (SELECT max(id) FROM todos))")
        if with_lists:
            con.execute("SELECT setval('lists_id_seq', (SELECT max(id) FROM lists))")
    with psycopg.connect(_libpq(url), autocommit=True) as con:
        con.execute("VACUUM ANALYZE")  # what autovacuum does after a bulk load
    return Dataset(url, shape.size, shape.bench_live, shape.bench_trashed, shape.trashed)


def timed(label: str, build, *args, **kwargs):
    started = time.perf_counter()
    result = build(*args, **kwargs)
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)
    return result
