"""Lists, and soft delete across two tables.

live --trash_list--> trashed, with its live todos --restore_list--> live, with exactly those
                     trashed --purge_list / empty_trash / purge_expired--> gone, with its todos

Trashing a list marks its live todos ``trashed_with_list``: with the list
they make one entry of the trash, and restoring the list restores exactly
them. A todo trashed on its own before stays an entry of its own. Names are
unique among a user's live lists, whatever their case (``ux_lists_live_name``):
restoring a list whose name was taken since asks for another name.
"""

import re
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, false, func, literal_column, select, update
from sqlalchemy.exc import IntegrityError

from ..database import Query, write_transaction
from ..extensions import db
from ..models import (
    LIST_NAME_MAX,
    List,
    Todo,
    inbox_id,
    list_name_key,
    utcnow,
)
from ..soft_delete import visible
from . import activity
from .errors import InTrash, NotFoundError
from .titles import clean_list_name

# Lists per user: enough for any way of working, and few enough that the
# lists page and the list picker show them all, in name order.
LISTS_MAX = 200


class NameTaken(ValueError):
    """Another live list of the user has this name (whatever its case):
    ``name`` is that list's, as it is written ("Groceries" when "groceries"
    was asked for). ``suggestion``: a free name to offer instead, "Groceries (2)"."""

    def __init__(self, name: str, suggestion: str):
        super().__init__(f"You already have a list named “{name}”.")
        self.name = name
        self.suggestion = suggestion


class InboxIsFixed(ValueError):
    def __init__(self, what: str):
        super().__init__(f"The Inbox can't be {what}: it is where todos without a list go.")


@dataclass(frozen=True)
class Trashed:
    """A list just moved to the trash, and how many live todos went with it."""

    list: List
    todos: int


def inbox(owner_id: int) -> int:
    """The id of the owner's Inbox (made if it is missing)."""
    return inbox_id(db.session, owner_id)


def inbox_of(owner_id: int) -> int | None:
    """The id of the owner's Inbox, without making one (for a read-only page)."""
    return db.session.scalar(select(List.id).where(List.user_id == owner_id, List.is_inbox))


def get_list(
    list_id: int,
    *,
    owner_id: int | None = None,
    trashed: bool = False,
    lock: str | None = None,
) -> List:
    """A live list (or a trashed one), owned by ``owner_id`` unless None
    (admins). ``lock``: "update" or "share" (PostgreSQL row locks, until the
    transaction ends; SQLite's write transaction already serialises writers).

    :raise InTrash: a live list was asked for, and the owner's is in the trash
        (only with ``owner_id``).
    :raise NotFoundError: no such list for this owner.
    """
    stmt = select(List).where(List.id == list_id)
    if owner_id is not None:
        stmt = stmt.where(List.user_id == owner_id)
    if trashed:
        stmt = stmt.execution_options(trashed_only=True)
    if lock is not None:
        stmt = stmt.with_for_update(read=lock == "share")
    found = db.session.scalar(stmt)
    if found is None:
        if owner_id is not None and not trashed:
            trashed_one = db.session.scalar(
                select(List)
                .where(List.id == list_id, List.user_id == owner_id)
                .execution_options(trashed_only=True)
            )
            if trashed_one is not None:
                raise InTrash("list", trashed_one.name, ("list", trashed_one.id))
        raise NotFoundError("There is no such list.")
    return found


_lists = List.__table__
_LIVE_LISTS = Query(
    visible(
        select(_lists.c.id, _lists.c.name, _lists.c.is_inbox)
        .where(_lists.c.user_id == bindparam("owner_id"))
        .order_by(_lists.c.is_inbox.desc(), _lists.c.name_key, _lists.c.id)
        .limit(LISTS_MAX + 1)
    )
)


def list_lists(owner_id: int):
    """The owner's live lists in name order, the Inbox first: rows of id,
    name, is_inbox."""
    return _LIVE_LISTS.all({"owner_id": owner_id})


# The side panel of the todo pages: the first lists, and each one's open
# todos counted up to a bound, so a list of any size costs the same.
PANEL_LISTS = 15
OPEN_COUNTED = 100  # a list with this many or more reads "99+"
_todos = Todo.__table__
# A list's open todos, at most OPEN_COUNTED of them, through an index on a
# list's live todos: the condition is written as the index's.
_OPEN_IN_LIST = (
    visible(
        select(literal_column("1"))
        .where(_todos.c.list_id == _lists.c.id, _todos.c.done == false())
        .correlate(_lists)
    )
    .limit(OPEN_COUNTED)
    .subquery()
)
_PANEL = Query(
    visible(
        select(
            _lists.c.id,
            _lists.c.name,
            _lists.c.is_inbox,
            select(func.count()).select_from(_OPEN_IN_LIST).scalar_subquery().label("open"),
        )
        .where(_lists.c.user_id == bindparam("owner_id"))
        .order_by(_lists.c.is_inbox.desc(), _lists.c.name_key, _lists.c.id)
        .limit(PANEL_LISTS + 1)
    )
)


@dataclass(frozen=True)
class Panel:
    """What the side panel shows: ``lists`` (rows of id, name, is_inbox and
    open, the open todos counted up to OPEN_COUNTED), the Inbox first, then
    by name; ``more``: the owner has more lists than it shows."""

    lists: list
    more: bool


def panel(owner_id: int) -> Panel:
    """The side panel's lists with their open todos, in one statement."""
    rows = _PANEL.all({"owner_id": owner_id})
    return Panel(rows[:PANEL_LISTS], len(rows) > PANEL_LISTS)


def suggest_name(owner_id: int, name: str) -> str:
    """A name like ``name`` that no live list of the owner has: "Groceries (2)"."""
    stem = re.sub(r" \(\d+\)$", "", name)
    taken = set(
        db.session.scalars(
            select(List.name_key).where(
                List.user_id == owner_id, List.name_key.startswith(list_name_key(stem))
            )
        )
    )
    for n in range(2, LISTS_MAX + 3):
        suffix = f" ({n})"
        candidate = stem[: LIST_NAME_MAX - len(suffix)] + suffix
        if list_name_key(candidate) not in taken:
            return candidate
    raise AssertionError("unreachable: a user has at most LISTS_MAX live lists")


def _holder(owner_id: int, name: str, *, except_id: int | None = None) -> str | None:
    """The name, as written, of the owner's live list that has ``name``
    whatever its case, or None."""
    stmt = select(List.name).where(List.user_id == owner_id, List.name_key == list_name_key(name))
    if except_id is not None:
        stmt = stmt.where(List.id != except_id)
    return db.session.scalar(stmt)


def _taken(owner_id: int, name: str) -> NameTaken:
    """NameTaken for ``name``, after the unique index refused it: named as
    the list that has it is (as asked, should that list have gone since)."""
    return NameTaken(_holder(owner_id, name) or name, suggest_name(owner_id, name))


def _name_free(owner_id: int, name: str, *, except_id: int | None = None) -> None:
    """:raise NameTaken: a live list of the owner has this name."""
    if (existing := _holder(owner_id, name, except_id=except_id)) is not None:
        raise NameTaken(existing, suggest_name(owner_id, name))


def check_name_free(found: List) -> None:
    """:raise NameTaken: another live list of the owner has ``found``'s name."""
    _name_free(found.user_id, found.name, except_id=found.id)


def _unique_name(owner_id: int, name: str, change):
    """Run ``change`` (a write) and turn the unique index's refusal, when a
    concurrent request took the name first, into NameTaken."""
    try:
        return change()
    except IntegrityError as refused:
        if not _name_taken(refused):
            raise
        raise _taken(owner_id, name) from None


# The unique index that keeps a user's live list names apart.
LIVE_NAME_INDEX = "ux_lists_live_name"


def _name_taken(refused: IntegrityError) -> bool:
    """Whether the database refused a write because the live-name index
    already holds the name, and not for any other rule (a CHECK, a key)."""
    diag = getattr(refused.orig, "diag", None)
    if diag is not None:  # PostgreSQL names the constraint
        return diag.constraint_name == LIVE_NAME_INDEX
    message = str(refused.orig)
    return message.startswith("UNIQUE constraint failed") and "lists.name_key" in message


def create_list(owner_id: int, name: str, *, actor_id: int) -> List:
    """:raise ValueError: the name breaks a rule, is taken (NameTaken), or
    the owner has LISTS_MAX lists."""
    name = clean_list_name(name)

    def change() -> List:
        with write_transaction() as session:
            inbox(owner_id)  # the Inbox comes first, and keeps its name
            _name_free(owner_id, name)
            count = session.scalar(select(func.count()).where(List.user_id == owner_id))
            if count >= LISTS_MAX:
                raise ValueError(f"You can have at most {LISTS_MAX} lists.")
            created = List(user_id=owner_id, name=name, name_key=list_name_key(name))
            session.add(created)
            session.flush()
            activity.record(
                "create_list", actor_id=actor_id, user_id=owner_id, detail=_ref(created)
            )
        return created

    return _unique_name(owner_id, name, change)


def rename_list(list_id: int, owner_id: int, name: str, *, actor_id: int) -> List:
    """:raise ValueError: see create_list; InboxIsFixed. :raise NotFoundError."""
    name = clean_list_name(name)

    def change() -> List:
        with write_transaction() as session:
            found = get_list(list_id, owner_id=owner_id, lock="update")
            if found.is_inbox:
                raise InboxIsFixed("renamed")
            _name_free(owner_id, name, except_id=found.id)
            found.name, found.name_key = name, list_name_key(name)
            session.flush()
            activity.record("rename_list", actor_id=actor_id, user_id=owner_id, detail=_ref(found))
        return found

    return _unique_name(owner_id, name, change)


def _ref(found: List) -> str:
    """How the activity log names a list: by id, as it names todos."""
    return f"list #{found.id}"


def trash_list(list_id: int, owner_id: int, *, actor_id: int) -> Trashed:
    """Move a list to the trash with its live todos, as one entry.
    :raise InboxIsFixed: it is the Inbox. :raise NotFoundError."""
    with write_transaction() as session:
        found = get_list(list_id, owner_id=owner_id, lock="update")
        if found.is_inbox:
            raise InboxIsFixed("deleted")
        now = utcnow()
        moved = session.execute(
            update(Todo)
            .where(Todo.list_id == found.id)
            .values(deleted_at=now, deleted_by=actor_id, trashed_with_list=True)
            .execution_options(synchronize_session=False)
        ).rowcount
        found.deleted_at, found.deleted_by, found.trashed_todos = now, actor_id, moved
        activity.record(
            "trash_list", actor_id=actor_id, user_id=owner_id, count=moved, detail=_ref(found)
        )
    return Trashed(found, moved)


def restore_list(
    list_id: int,
    *,
    owner_id: int | None = None,
    actor_id: int | None = None,
    new_name: str | None = None,
) -> Trashed:
    """Bring a list back from the trash with exactly the todos trashed with
    it (not those trashed on their own before, nor any purged since).
    ``new_name``: the name to restore it under.

    :raise NameTaken: a live list has its name now (the error suggests
        another); it is never renamed without being asked.
    :raise ValueError: ``new_name`` breaks a rule. :raise NotFoundError.
    """
    if new_name is not None:
        new_name = clean_list_name(new_name)

    def change() -> Trashed:
        with write_transaction() as session:
            found = get_list(list_id, owner_id=owner_id, trashed=True, lock="update")
            if new_name is not None:
                found.name, found.name_key = new_name, list_name_key(new_name)
            _name_free(found.user_id, found.name)
            back = session.execute(
                update(Todo)
                .where(Todo.list_id == found.id, Todo.trashed_with_list.is_(True))
                .values(deleted_at=None, deleted_by=None, trashed_with_list=False)
                .execution_options(include_trashed=True, synchronize_session=False)
            ).rowcount
            found.deleted_at, found.deleted_by, found.trashed_todos = None, None, 0
            session.flush()
            activity.record(
                "restore_list",
                actor_id=actor_id,
                user_id=found.user_id,
                count=back,
                detail=_ref(found),
            )
        return Trashed(found, back)

    try:
        return change()
    except IntegrityError as refused:
        if not _name_taken(refused):
            raise
        found = get_list(list_id, owner_id=owner_id, trashed=True)
        name = new_name or found.name
        raise _taken(found.user_id, name) from None


@dataclass(frozen=True)
class Purged:
    """A list deleted for good: its name, and how many todos went with it."""

    name: str
    todos: int


def purge_list(list_id: int, *, owner_id: int | None = None, actor_id: int | None = None) -> Purged:
    """Delete a trashed list for good, with every todo in it (those trashed
    with it and those trashed on their own before). :raise NotFoundError."""
    with write_transaction():
        found = get_list(list_id, owner_id=owner_id, trashed=True, lock="update")
        name, owner, ref = found.name, found.user_id, _ref(found)
        gone = delete_lists_with_todos([found.id])
        activity.record("purge_list", actor_id=actor_id, user_id=owner, count=gone, detail=ref)
    return Purged(name, gone)


def delete_lists_with_todos(list_ids: list[int]) -> int:
    """Delete the todos of these lists, then the lists (which must be in the
    trash); returns how many todos went. Runs inside the caller's write
    transaction."""
    todos = delete_todos_of(list_ids)
    db.session.execute(
        delete(List)
        .where(List.id.in_(list_ids))
        .execution_options(trashed_only=True, synchronize_session=False)
    )
    return todos


def delete_todos_of(list_ids: list[int]) -> int:
    """Delete every todo of these lists, trashed or not (a trashed list's
    todos are all hidden as trashed); returns how many. For the caller's
    write transaction, just before the lists themselves go."""
    return db.session.execute(
        delete(Todo)
        .where(Todo.list_id.in_(list_ids))
        .execution_options(include_trashed=True, synchronize_session=False)
    ).rowcount
