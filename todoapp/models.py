"""Typed models, the rules their values follow, and the soft-delete mechanism.

Soft delete in one place: every ORM SELECT, UPDATE and DELETE that touches a
model with ``SoftDeleteMixin`` hides trashed rows, unless the statement asks
for them by name::

    select(Todo)                                           # live rows only
    select(Todo).execution_options(include_trashed=True)   # live and trashed
    select(Todo).execution_options(trashed_only=True)      # the trash

It covers lists and todos. For todos, "live" also means "not in a trashed
list", and "the trash" means the todos trashed on their own: those trashed
with their list belong to the list's entry (``trashed_with_list``).
"""

import re
import threading
import unicodedata
from datetime import UTC, datetime
from functools import cache

from flask_login import UserMixin
from sqlalchemy import (
    Alias,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Join,
    Select,
    String,
    Table,
    and_,
    event,
    false,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    relationship,
    with_loader_criteria,
)
from sqlalchemy.sql.util import find_tables
from sqlalchemy.sql.visitors import replacement_traverse
from sqlalchemy.types import TypeDecorator

from .extensions import db

USERNAME_MIN, USERNAME_MAX = 3, 32
USERNAME_PATTERN = re.compile(r"[a-z0-9_.-]+")
PASSWORD_MIN, PASSWORD_MAX = 8, 1024
# zxcvbn slows down sharply on long inputs, and what a long password's first
# 100 characters do not already make strong, the rest will not either.
PASSWORD_SCORED_CHARS = 100
# zxcvbn's 0-4 scale: below 2 a password falls within a million guesses.
PASSWORD_MIN_SCORE = 2
# check_password_rules in one sentence, for the hint beside a new-password field.
PASSWORD_RULES = (
    f"At least {PASSWORD_MIN} characters, not a common password, and not containing your username."
)
TITLE_MAX = 200
LIST_NAME_MAX = 60
# A list name's key can be longer than the name: casefold() writes "ß" as "ss".
LIST_KEY_MAX = 3 * LIST_NAME_MAX
INBOX = "Inbox"
# Ids are INTEGER columns: 32-bit signed on PostgreSQL. A number past this
# would overflow the driver's parameter, so it is refused before any query.
ID_MAX = 2**31 - 1
ID_DIGITS = len(str(ID_MAX))


def parse_id(raw: str) -> int | None:
    """``raw`` as an id if it is one (ASCII digits, 1 to ID_MAX), else None.
    The one check every URL, cursor and form field with an id goes through."""
    if not (raw and len(raw) <= ID_DIGITS and raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if 1 <= value <= ID_MAX else None


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


def clean_username(raw: str) -> str:
    """Normalise a username and check it; raise ``ValueError`` with the reason."""
    username = (raw or "").strip().lower()
    if not USERNAME_MIN <= len(username) <= USERNAME_MAX:
        raise ValueError(f"Username must be {USERNAME_MIN} to {USERNAME_MAX} characters long.")
    if not USERNAME_PATTERN.fullmatch(username):
        raise ValueError("Username may only contain letters a-z, digits, '_', '.' and '-'.")
    return username


def check_password_rules(password: str, username: str | None = None) -> None:
    """Check a new password; raise ``ValueError`` with the reason, in words
    for the person choosing it. The rules (ASVS 6.2.4, 6.2.11): a length
    range; not on zxcvbn's list of common passwords, whatever the case; not
    containing the account's ``username``; and a zxcvbn score of at least
    PASSWORD_MIN_SCORE. Every place a password is set passes the username."""
    if len(password or "") < PASSWORD_MIN:
        raise ValueError(f"Password must be at least {PASSWORD_MIN} characters long.")
    if len(password) > PASSWORD_MAX:
        raise ValueError(f"Password must be at most {PASSWORD_MAX} characters long.")
    folded = password.lower()
    if folded in _common_passwords():
        raise ValueError("That password is one of the most common ones: choose another.")
    if username and username.lower() in folded:
        raise ValueError("Your password can't contain your username.")
    score, warning = _password_strength(password, username)
    if score < PASSWORD_MIN_SCORE:
        reason = warning or "That password would be easy to guess."
        raise ValueError(f"{reason} Add a few uncommon words to make it stronger.")


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn is imported when a password is first checked, not by every web
    # worker: its word lists take some 15 MB.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


# zxcvbn keeps the user inputs of the call in progress in a module global, so
# two threads scoring at once could see each other's usernames.
_zxcvbn_lock = threading.Lock()


def _password_strength(password: str, username: str | None) -> tuple[int, str]:
    """zxcvbn's score (0-4) for the password's first PASSWORD_SCORED_CHARS
    characters, and its warning ("" when it has none)."""
    from zxcvbn import zxcvbn

    inputs = [username] if username else []
    with _zxcvbn_lock:
        result = zxcvbn(
            password[:PASSWORD_SCORED_CHARS], user_inputs=inputs, max_length=PASSWORD_SCORED_CHARS
        )
    return result["score"], result["feedback"]["warning"]


def clean_title(raw: str) -> str:
    """Trim a todo title and check it; raise ``ValueError`` with the reason."""
    title = (raw or "").strip()
    if not title:
        raise ValueError("Title can't be empty.")
    if len(title) > TITLE_MAX:
        raise ValueError(f"Title must be at most {TITLE_MAX} characters long.")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in title):
        raise ValueError("Title can't contain control characters.")
    if any(ch in BIDI_CONTROLS for ch in title):
        raise ValueError(
            "Title can't contain right-to-left or left-to-right override characters: "
            "they make text read differently from how it is stored."
        )
    if any(_is_noncharacter(ch) for ch in title):
        raise ValueError("Title can't contain characters that Unicode reserves as non-characters.")
    if all(ch.isspace() or ch in INVISIBLE or unicodedata.category(ch) == "Cf" for ch in title):
        raise ValueError("Title needs at least one visible character.")
    return title


# Embeddings, overrides and isolates: they reorder the text around them, so a
# title could show one thing and hold another (a file name "txt.exe" shown as
# "exe.txt"). The marks U+200E/U+200F stay: they reorder nothing on their own.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Letters and symbols that draw nothing (fillers, a blank braille cell).
INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def clean_list_name(raw: str) -> str:
    """Trim a list name and check it, by the rules of a todo title but
    shorter; raise ``ValueError`` with the reason."""
    try:
        name = clean_title(raw)
    except ValueError as exc:
        raise ValueError(str(exc).replace("Title", "Name")) from None
    if len(name) > LIST_NAME_MAX:
        raise ValueError(f"Name must be at most {LIST_NAME_MAX} characters long.")
    return name


def list_name_key(name: str) -> str:
    """What two list names must not share to be told apart: the name with
    compatible forms unified and case folded ("Groceries", "GROCERIES" and
    "ｇroceries" have one key). Computed here, not by the database, so that
    SQLite and PostgreSQL agree on every script, not only ASCII."""
    return unicodedata.normalize("NFKC", name).casefold()


def _is_noncharacter(ch: str) -> bool:
    code = ord(ch)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


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

    owner: Mapped[User] = relationship(foreign_keys=[user_id])
    deleter: Mapped[User | None] = relationship(foreign_keys="Todo.deleted_by")
    list: Mapped[List] = relationship(back_populates="todos")

    def __repr__(self) -> str:
        return f"<Todo {self.id} {self.title!r}{' trashed' if self.is_trashed else ''}>"


# Which rows a statement sees, by what it asks for (execution options):
# LIVE (the default), TRASH (``trashed_only``) or EVERY (``include_trashed``).
LIVE_ROWS, TRASH_ROWS, EVERY_ROW = "live", "trash", "every"
# The execution option that says which of them a statement was given (both
# forms of the mechanism set it); tests check every list query carries it.
SOFT_DELETE = "soft_delete"


def _live(cls):
    return cls.deleted_at.is_(None)


def _trashed(cls):
    return cls.deleted_at.is_not(None)


# The lists table, not the List model: a condition on the model inside a
# todo's criteria would get the lists' own criteria added to it.
_lists = List.__table__


def _soft_delete_tables() -> dict:
    """Each soft-delete model's table, with its model: every mapped subclass
    of SoftDeleteMixin, so a new one is filtered by the Core form as by the
    ORM hook. Statements are built once, so this runs at build time only."""
    return {
        mapper.local_table: mapper.class_
        for mapper in db.Model.registry.mappers
        if issubclass(mapper.class_, SoftDeleteMixin)
    }


def in_trashed_list(cls):
    """The todo's list is in the trash (``cls``: Todo, an alias of it, or the
    columns of the todos table or of an alias of it)."""
    return (
        select(_lists.c.id)
        .where(_lists.c.id == cls.list_id, _lists.c.deleted_at.is_not(None))
        .correlate_except(_lists)
        .exists()
    )


def _in_live_list(cls):
    """A live todo is hidden while its list is in the trash, even one that
    was somehow not trashed with it: every live view agrees with the trash."""
    return ~in_trashed_list(cls)


def _own_trash_entry(cls):
    """A todo trashed with its list is part of the list's entry, not one of
    its own: it is restored, purged and expires with the list."""
    return cls.trashed_with_list == false()


# The rules, once for both forms: (the models they apply to, the condition).
# A condition takes the model (or an alias) in ORM statements, and a table's
# columns (``table.c``) in Core ones.
_RULES = {
    LIVE_ROWS: ((SoftDeleteMixin, _live), (Todo, _in_live_list)),
    TRASH_ROWS: ((SoftDeleteMixin, _trashed), (Todo, _own_trash_entry)),
    EVERY_ROW: (),
}
# The ORM form's options, built once: they are the same for every statement.
_ORM_CRITERIA = {
    rows: tuple(with_loader_criteria(cls, rule, include_aliases=True) for cls, rule in rules)
    for rows, rules in _RULES.items()
}


@event.listens_for(Session, "do_orm_execute")
def _hide_trashed_rows(state: ORMExecuteState) -> None:
    """The ORM form: trashed rows are filtered out of every ORM statement."""
    if not (state.is_select or state.is_update or state.is_delete):
        return
    # Refreshing an object that is already loaded, or loading a relationship of
    # one, must not make it vanish: those loads follow the original statement.
    if state.is_column_load or state.is_relationship_load:
        return
    options = state.execution_options
    if options.get("include_trashed"):
        rows = EVERY_ROW
    elif options.get("trashed_only"):
        rows = TRASH_ROWS
    else:
        rows = LIVE_ROWS
    state.statement = state.statement.options(*_ORM_CRITERIA[rows]).execution_options(
        **{SOFT_DELETE: rows}
    )


def _core_conditions(table, rows: str) -> list:
    """The conditions ``rows`` puts on ``table`` (a table or an alias of one)
    in a Core statement: none for a table without soft delete."""
    mapped = _soft_delete_tables().get(getattr(table, "element", table))
    if mapped is None:
        return []
    return [rule(table.c) for cls, rule in _RULES[rows] if issubclass(mapped, cls)]


def _filtered_from(from_, rows: str, where: list):
    """``from_`` with the soft-delete conditions of its tables: in ``where``
    for the tables of an inner join, in the ON clause for the one an outer
    join adds (an outer join keeps its left rows; it only shows fewer on the right)."""
    if isinstance(from_, Join):
        left = _filtered_from(from_.left, rows, where)
        on = []
        right = _filtered_from(from_.right, rows, on if from_.isouter else where)
        if left is from_.left and right is from_.right and not on:
            return from_
        return left.join(right, and_(from_.onclause, *on), isouter=from_.isouter, full=from_.full)
    if not isinstance(from_, (Table, Alias)) and any(
        table in _soft_delete_tables() for table in find_tables(from_, include_aliases=False)
    ):
        raise TypeError(f"soft delete: apply visible() inside {from_!r}, not around it")
    where.extend(_core_conditions(from_, rows))
    return from_


def visible(stmt: Select, rows: str = LIVE_ROWS) -> Select:
    """The Core form of the mechanism: ``stmt`` with the conditions the ORM
    form adds, for every soft-delete table in its FROM clause (tables,
    aliases of them, and joins of those). For list pages, whose rows need no
    ORM objects: a Core statement built once runs in a fraction of the time.

        visible(select(todos.c.id).where(todos.c.user_id == 1))         # live
        visible(select(todos.c.id), TRASH_ROWS)                          # the trash
    """
    where: list = []
    replaced = {}
    for from_ in stmt.get_final_froms():
        filtered = _filtered_from(from_, rows, where)
        if filtered is not from_:
            replaced[from_] = filtered
    if replaced:
        stmt = replacement_traverse(stmt, {}, lambda element: replaced.get(element))
    return stmt.where(*where).execution_options(**{SOFT_DELETE: rows})


def visible_union(members: list[Select]):
    """The UNION ALL of statements that each went through ``visible`` with
    the same rows, marked as they are. Each goes in as a subquery, so it keeps
    its own ORDER BY and LIMIT. A member built without the mechanism is
    refused: from outside, the union cannot tell what its members filter."""
    rows = {member.get_execution_options().get(SOFT_DELETE) for member in members}
    if len(rows) != 1 or None in rows:
        raise TypeError("soft delete: every member of a union goes through visible(), alike")
    union = union_all(*(select(member.subquery()) for member in members))
    return union.execution_options(**{SOFT_DELETE: rows.pop()})


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
