"""Typed models: the tables, their limits, and the Inbox rule.

Lists and todos have ``SoftDeleteMixin``'s columns; which of their rows a
statement sees is ``todoapp.soft_delete``'s business.
"""

import unicodedata
from datetime import UTC, date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    event,
    false,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import (
    Mapped,
    Session,
    mapped_column,
    relationship,
)
from sqlalchemy.types import TypeDecorator

from .extensions import db

USERNAME_MIN, USERNAME_MAX = 3, 32
TITLE_MAX = 200
LIST_NAME_MAX = 60
# A list name's key can be longer than the name: casefold() writes "ß" as "ss".
LIST_KEY_MAX = 3 * LIST_NAME_MAX
INBOX = "Inbox"
# A session's User-Agent as kept, and an address (IPv6 with a zone fits).
USER_AGENT_MAX = 255
ADDRESS_MAX = 90


def utcnow() -> datetime:
    return datetime.now(UTC)


# The length of the text SQLAlchemy's SQLite DateTime writes, always with
# microseconds: "2026-01-02 03:04:05.000006" (UTCDateTime.result_processor).
_SQLITE_DATETIME_LENGTH = 26


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database.

    SQLite keeps no zone, so values are stored as UTC and come back with
    ``tzinfo=UTC`` attached; PostgreSQL uses ``timestamp with time zone``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self):
        """What its values are: a cursor of a key with a moment in it reads
        its digits back as one (services.pages)."""
        return datetime

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        return self._aware_result(value)

    @staticmethod
    def _aware_result(value):
        """PostgreSQL's reader: psycopg gives each value in the session's time
        zone, which is UTC (database.configure_engine sets it), so most
        values are kept as they come; one in another zone is converted."""
        if value is None or value.tzinfo is UTC:
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(self, dialect, coltype):
        """On SQLite, one C call per value instead of two Python ones: the
        text DateTime wrote (``2026-01-02 03:04:05.000006``, UTC) parsed with
        its zone. A list page reads 50 to 100 of them. Any other text (a date
        alone, no microseconds, a zone already written) takes the generic
        path, which gives the same datetime (tests/test_sqlite.py holds the
        two equal)."""
        generic = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite":
            if self.impl_instance.result_processor(dialect, coltype) is not None:
                return generic
            return self._aware_result

        parse = datetime.fromisoformat

        def process(value):
            if value is None:
                return None
            if len(value) == _SQLITE_DATETIME_LENGTH:
                try:
                    return parse(value + "+00:00")
                except ValueError:
                    pass
            return generic(value)

        return process


def list_name_key(name: str) -> str:
    """What two list names must not share to be told apart: the name with
    compatible forms unified and case folded ("Groceries", "GROCERIES" and
    "ｇroceries" have one key). Computed here, not by the database, so that
    SQLite and PostgreSQL agree on every script, not only ASCII."""
    return unicodedata.normalize("NFKC", name).casefold()


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        # Usernames are stored lower-case, so this unique constraint is a
        # case-insensitive one; the checks keep it that way at the database.
        CheckConstraint("username = lower(username)", name="username_lowercase"),
        CheckConstraint(
            f"length(username) BETWEEN {USERNAME_MIN} AND {USERNAME_MAX}", name="username_length"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when an administrator disables the account: it cannot log in, and
    # its sessions end at their next request.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A temporary password set by an administrator: it must be changed before
    # anything else is done.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The lists show no Completed section, only how many it holds: a choice
    # made once, on any device, kept for every session.
    hide_completed: Mapped[bool] = mapped_column(default=False, server_default=false())

    @property
    def is_active(self) -> bool:  # Flask-Login: a disabled account cannot log in
        return self.disabled_at is None

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class UserSession(db.Model):
    """One logged-in browser. The session cookie carries a random token; this
    row holds its SHA-256, so logging out, "log out everywhere", a password
    change or a disabled account end sessions on the server, and a cookie
    saved before then opens nothing."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the account page shows of it: the browser's User-Agent (cut to
    # USER_AGENT_MAX), the address it logged in from, and when it was last
    # used (stamped at most every SESSION_ACTIVITY_MINUTES). NULL for a
    # session from before they were kept.
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX))
    address: Mapped[str | None] = mapped_column(String(ADDRESS_MAX))
    last_active_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EndedSession(db.Model):
    """Why a session ended, when it was not its own logout (another device,
    a password change, "log out everywhere", a disabled account): its row in
    ``user_sessions`` is deleted as before, and this one says why, so its
    browser is told at its next request. Kept for a session's lifetime."""

    __tablename__ = "ended_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # as UserSession.id
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(String(32))


class LoginThrottle(db.Model):
    """Failed logins per key ("user:NAME" or "ip:ADDRESS") in a fixed window.
    In the database, so every worker and every app server sees the same counts."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int]
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The latest attempt: past the free ones, the next waits a growing delay from here.
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Activity(db.Model):
    """Who did what, and when: one row per action, written in the same
    transaction as the change it records. ``user_id`` is the account acted
    on (whose todos, whose password); ``actor_id`` who acted, None for the
    command line or an unknown user; ``count`` how many todos it touched."""

    __tablename__ = "activity"
    __table_args__ = (
        Index("ix_activity_user_id", "user_id", "id"),  # a user's own activity, newest first
        Index("ix_activity_action", "action", "id"),  # the admin's filter by action
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    detail: Mapped[str] = mapped_column(String(200), default="", server_default="")
    address: Mapped[str | None] = mapped_column(String(90))


class SoftDeleteMixin:
    """Rows that go to the trash before they are deleted for real."""

    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def is_trashed(self) -> bool:
        return self.deleted_at is not None


LIVE = text("deleted_at IS NULL")
TRASHED = text("deleted_at IS NOT NULL")
# A todo trashed on its own, an entry of the trash (not one trashed with its
# list), written as each database's queries write it: SQLite uses a partial
# index only when the query holds its condition in the same form.
OWN_TRASH_ENTRY = {
    "sqlite_where": text("deleted_at IS NOT NULL AND trashed_with_list = 0"),
    "postgresql_where": text("deleted_at IS NOT NULL AND NOT trashed_with_list"),
}
# A live todo with a due date, still to do: what "Today" and "Overdue" show.
DUE_AND_OPEN = {
    "sqlite_where": text("deleted_at IS NULL AND due_on IS NOT NULL AND done = 0"),
    "postgresql_where": text("deleted_at IS NULL AND due_on IS NOT NULL AND NOT done"),
}
# A live todo still to do, and one done: a list's main rows and its
# Completed section, each read without stepping over the other's rows.
LIVE_AND_OPEN = {
    "sqlite_where": text("deleted_at IS NULL AND done = 0"),
    "postgresql_where": text("deleted_at IS NULL AND NOT done"),
}
LIVE_AND_DONE = {
    "sqlite_where": text("deleted_at IS NULL AND done = 1"),
    "postgresql_where": text("deleted_at IS NULL AND done"),
}
# A live, dated todo still to do: a list "by due date", before its undated ones.
OPEN_AND_DATED = {
    "sqlite_where": text("deleted_at IS NULL AND due_on IS NOT NULL AND done = 0"),
    "postgresql_where": text("deleted_at IS NULL AND due_on IS NOT NULL AND NOT done"),
}


class List(SoftDeleteMixin, db.Model):
    """A user's named group of todos. Every user has one Inbox (``is_inbox``),
    which cannot be renamed or trashed. Trashing a list trashes its live
    todos with it (see ``Todo.trashed_with_list``)."""

    __tablename__ = "lists"
    __table_args__ = (
        CheckConstraint(f"length(name) BETWEEN 1 AND {LIST_NAME_MAX}", name="list_name_length"),
        # A name is unique among a user's live lists, whatever its case
        # (name_key, see list_name_key): a trashed "Groceries" leaves the
        # name free. The index also gives a user's lists in name order.
        Index(
            "ux_lists_live_name",
            "user_id",
            "name_key",
            unique=True,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
        # One Inbox per user, even when two servers create it at once.
        Index(
            "ux_lists_inbox",
            "user_id",
            unique=True,
            sqlite_where=text("is_inbox"),
            postgresql_where=text("is_inbox"),
        ),
        Index(
            "ix_lists_trash_owner",
            "user_id",
            "deleted_at",
            sqlite_where=TRASHED,
            postgresql_where=TRASHED,
        ),
        Index("ix_lists_trash", "deleted_at", sqlite_where=TRASHED, postgresql_where=TRASHED),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(LIST_NAME_MAX))
    name_key: Mapped[str] = mapped_column(String(LIST_KEY_MAX))
    is_inbox: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # While the list is in the trash: how many todos went with it (shown as
    # "Groceries, with 12 todos" without counting them on every page).
    trashed_todos: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    owner: Mapped[User] = relationship(foreign_keys=[user_id])
    todos: Mapped[list["Todo"]] = relationship(
        back_populates="list", order_by="Todo.id.desc()", viewonly=True
    )

    def __repr__(self) -> str:
        return f"<List {self.id} {self.name!r}{' trashed' if self.is_trashed else ''}>"


# The title search index (services/search.py), made by a revision and kept
# out of the metadata: SQLite's is an FTS5 table over todos (trigram
# tokenizer, external content) with the triggers that keep it in step, and its
# shadow tables; PostgreSQL's a GIN index of todos.user_id and the trigrams of
# todos.title (revision 0019; 0016's, of the title alone, is SEARCH_INDEXES'
# other name). Autogenerate and the migration tools leave these names alone
# (migration_tools.search_objects).
SEARCH_TABLE = "todos_search"
SEARCH_TRIGGERS = ("todos_search_insert", "todos_search_delete", "todos_search_update")
SEARCH_INDEX = "ix_todos_owner_title_trgm"
SEARCH_INDEXES = (SEARCH_INDEX, "ix_todos_title_trgm")


class Todo(SoftDeleteMixin, db.Model):
    __tablename__ = "todos"
    __table_args__ = (
        CheckConstraint(f"length(title) BETWEEN 1 AND {TITLE_MAX}", name="title_length"),
        # A user's list: live rows, newest first.
        Index("ix_todos_live", "user_id", "id", sqlite_where=LIVE, postgresql_where=LIVE),
        # The todos of a list being purged, trashed or restored, which
        # SQLite's foreign-key check needs too. (0008 made a partial one,
        # empty when built; 0010 replaced it with this.)
        Index("ix_todos_list", "list_id", "id"),
        # Each page reads only the rows it shows, whatever else the table
        # holds: one list's live todos, newest first, past its trashed ones;
        Index("ix_todos_list_live", "list_id", "id", sqlite_where=LIVE, postgresql_where=LIVE),
        # one owner's trash entries, past the todos of the lists they trashed;
        Index("ix_todos_own_trash", "user_id", "deleted_at", "id", **OWN_TRASH_ENTRY),
        # everyone's, by deletion time (the admin's trash, the purge).
        Index("ix_todos_trash_entries", "deleted_at", "id", **OWN_TRASH_ENTRY),
        # One owner's open todos by due date, across lists ("Today", "Overdue");
        Index("ix_todos_due", "user_id", "due_on", "id", **DUE_AND_OPEN),
        # (A list ordered "by due date" reads ix_todos_list_due_open, below.)
        # The open todos and the completed ones apart, so that neither reads
        # past the other: the open ones newest first, one list's and one
        # owner's across lists;
        Index("ix_todos_list_open", "list_id", "id", **LIVE_AND_OPEN),
        Index("ix_todos_open", "user_id", "id", **LIVE_AND_OPEN),
        # the done ones in the order they were done, latest first: one
        # owner's and one list's (their pages and their counts);
        Index("ix_todos_completed", "user_id", "completed_at", "id", **LIVE_AND_DONE),
        Index("ix_todos_list_completed", "list_id", "completed_at", "id", **LIVE_AND_DONE),
        # one list's open, dated todos by due date.
        Index("ix_todos_list_due_open", "list_id", "due_on", "id", **OPEN_AND_DATED),
        # Ids are never handed out twice, so a stale Undo, Restore or "Delete
        # forever" button for a purged todo is a 404, never someone else's
        # newer todo. PostgreSQL's sequences already never go back; SQLite
        # reuses the highest id after a delete unless the table says so.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # NULL only for rows written before the lists revisions (or by a server
    # that predates them, during a deploy): the app reads NULL as the Inbox.
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    done: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Trashed along with its list, as one entry of the trash: restoring the
    # list restores exactly these. A todo trashed on its own before keeps
    # False and stays an entry of its own.
    trashed_with_list: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The day it is due, a calendar date with no time or zone: "today" is
    # the user's own date (services.due.today_in), never the server's.
    due_on: Mapped[date | None]
    # When it was last marked done; None while it is open. (The todos done
    # before the column have their created_at: revisions 0020 and 0021.)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    owner: Mapped[User] = relationship(foreign_keys=[user_id])
    deleter: Mapped[User | None] = relationship(foreign_keys="Todo.deleted_by")
    list: Mapped[List] = relationship(back_populates="todos")

    def __repr__(self) -> str:
        return f"<Todo {self.id} {self.title!r}{' trashed' if self.is_trashed else ''}>"


# The lists table, for the Inbox's Core statements.
_lists = List.__table__


def inbox_id(session: Session, user_id: int) -> int:
    """The id of ``user_id``'s Inbox, made now if the user has none yet (an
    account from before the lists revisions, until 0009 ran). Two servers
    making it at once get the same one: the second INSERT does nothing."""
    found = select(_lists.c.id).where(_lists.c.user_id == user_id, _lists.c.is_inbox)
    list_id = session.scalar(found)
    if list_id is None:
        insert = (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(
            _lists
        )
        session.execute(
            insert.values(
                user_id=user_id,
                name=INBOX,
                name_key=list_name_key(INBOX),
                is_inbox=True,
                created_at=utcnow(),
            ).on_conflict_do_nothing()
        )
        list_id = session.scalar(found)
    return list_id


@event.listens_for(Session, "before_flush")
def _todos_without_a_list_go_to_the_inbox(session: Session, _context, _instances) -> None:
    """A new todo whose list is not given goes to its owner's Inbox."""
    for obj in session.new:
        if isinstance(obj, Todo) and obj.list_id is None and obj.list is None:
            with session.no_autoflush:
                obj.list_id = inbox_id(session, obj.user_id)
