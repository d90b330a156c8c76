"""Todos and their trash: the soft-delete life cycle.

live --trash_todo--> trashed --restore_todo--> live
                     trashed --purge_todo / empty_trash / purge_expired--> gone

A trash holds todos and lists (services.lists): a list's entry stands for it
and the todos trashed with it, and the purges here take both.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import (
    Date,
    Integer,
    cast,
    delete,
    false,
    func,
    literal_column,
    null,
    select,
    true,
    tuple_,
    update,
)

from ..database import Purge, Query, delete_in_batches, write_transaction
from ..extensions import db
from ..models import INBOX, List, Todo, User, utcnow
from ..soft_delete import TRASH_ROWS, visible, visible_count, visible_union
from ..soft_delete import in_trashed_list as todo_in_trashed_list
from . import activity, lists
from .errors import InTrash, NotFoundError
from .pages import (  # noqa: F401 (for callers)
    ChainedKeyset,
    Keyset,
    MergedKeyset,
    Page,
    cursor_of,
    planned_once,
)
from .titles import clean_title

PURGE_BATCH_SIZE = 1000
# SQLite lets one writer in at a time, and a writer that finds the database
# locked polls for it, sleeping 1 ms, then 2, 5, 10, 25 ms and longer. A purge
# that started its next batch at once would win nearly every time and keep the
# writer waiting for the whole purge; this pause after each batch lets it in.
SQLITE_PURGE_PAUSE = 0.025  # seconds


# The keys lists are ordered by, newest first. A cursor is a row's key written
# as digits joined by "-": "4711" in the list; "<deleted_at in µs>-<id>" in a trash.
LIST_KEY = (Todo.__table__.c.id,)
# By due date: "<due_on as a day number>-<id>".
DUE_KEY = (Todo.__table__.c.due_on, Todo.__table__.c.id)
# The Completed rows, latest done first: "<completed_at in µs>-<id>".
COMPLETED_KEY = (Todo.__table__.c.completed_at, Todo.__table__.c.id)
TRASH_KEY = (Todo.__table__.c.deleted_at, Todo.__table__.c.id)
LISTS_TRASH_KEY = (List.__table__.c.deleted_at, List.__table__.c.id)
# The kinds of a trash entry, in the order they sort at the same moment.
TODO_ENTRY, LIST_ENTRY = 0, 1
# Lists purged per batch: each takes its todos with it.
LIST_PURGE_BATCH_SIZE = 50


class ListInTrash(Exception):
    """The todo to restore is in a list that is in the trash: restore the
    list too, or put the todo in the Inbox (``restore_todo(into=...)``)."""

    def __init__(self, todo: Todo, trashed_list: List):
        super().__init__(
            f"“{todo.title}” is in the list “{trashed_list.name}”, which is in the trash."
        )
        self.todo = todo
        self.list = trashed_list


def get_todo(
    todo_id: int, *, owner_id: int | None = None, trashed: bool = False, for_update: bool = False
) -> Todo:
    """A live todo (or a trashed one, with ``trashed=True``), owned by
    ``owner_id`` unless that is None (admins). ``for_update`` locks the row
    until the transaction ends (PostgreSQL; SQLite's write transaction already
    holds the database's write lock), so read-then-write changes never race.

    :raise InTrash: a live todo was asked for, and the owner's is in the trash
        (on its own, or with its list). Only with ``owner_id``.
    :raise NotFoundError: there is no such todo for this owner, so another user's todo
        looks exactly like one that does not exist.
    """
    stmt = select(Todo).where(Todo.id == todo_id)
    if owner_id is not None:
        stmt = stmt.where(Todo.user_id == owner_id)
    if trashed:
        stmt = stmt.execution_options(trashed_only=True)
    if for_update:
        stmt = stmt.with_for_update()
    todo = db.session.scalar(stmt)
    if todo is None:
        if owner_id is not None and not trashed:
            _raise_if_in_trash(todo_id, owner_id)
        raise NotFoundError("There is no such todo.")
    return todo


def _raise_if_in_trash(todo_id: int, owner_id: int) -> None:
    """:raise InTrash: the owner's todo ``todo_id`` is in the trash, or in a
    list that is (then the list's entry brings it back)."""
    todo = db.session.scalar(
        select(Todo)
        .where(Todo.id == todo_id, Todo.user_id == owner_id)
        .execution_options(include_trashed=True)
    )
    if todo is None:
        return
    home = trashed_list_of(todo)
    if home is not None and (todo.trashed_with_list or not todo.is_trashed):
        raise InTrash("todo", todo.title, ("list", home.id), list_name=home.name)
    if todo.is_trashed:
        raise InTrash("todo", todo.title, ("todo", todo.id))


# The list pages' statements: Core, through the soft-delete mechanism's Core
# form (soft_delete.visible), built once with bind parameters for what each
# request fills in. The rows need no ORM objects.
_todos, _lists, _users = Todo.__table__, List.__table__, User.__table__
# Whose rows: unseen by the planner, so one plan serves every owner (pages.planned_once).
_OWNER = planned_once("owner_id", Integer)

# One owner's live todos, with the name of each one's list and whether it is
# the Inbox. A todo with no list yet (before the backfill) is in the Inbox.
_WITH_LIST_NAMES = select(
    _todos.c.id,
    _todos.c.title,
    _todos.c.done,
    _todos.c.created_at,
    _todos.c.due_on,
    _todos.c.list_id,
    func.coalesce(_lists.c.name, INBOX).label("list_name"),
    func.coalesce(_lists.c.is_inbox, true()).label("in_inbox"),
).select_from(_todos.outerjoin(_lists, _lists.c.id == _todos.c.list_id))
# Open and done apart: a list's page shows its open todos, and its
# Completed section the done ones, each through an index of its own rows
# only (ix_todos_open, ix_todos_completed), however many of the other kind there are.
_OPEN = _todos.c.done == false()
_DONE = _todos.c.done == true()
_OPEN_TODOS = Keyset(visible(_WITH_LIST_NAMES.where(_todos.c.user_id == _OWNER, _OPEN)), LIST_KEY)
# The done ones, latest done first (ix_todos_completed). Every done todo has
# its completed_at: the tick stamps it, and revisions 0020 and 0021 stamped
# those done before.
_DONE_WITH_LIST_NAMES = _WITH_LIST_NAMES.add_columns(_todos.c.completed_at).where(
    _todos.c.user_id == _OWNER, _DONE
)
_DONE_TODOS = Keyset(visible(_DONE_WITH_LIST_NAMES), COMPLETED_KEY)
# A chain of one part: its cursors keep the "0-" that 0020's code writes
# (a chain of the stamped and the unstamped todos then), so a page from a
# server of either version pages on through the other during the deploy.
_COMPLETED_TODOS = ChainedKeyset([_DONE_TODOS])

# One owner's open todos with a due date, across lists, through ix_todos_due
# (its condition written out, so that SQLite uses it). The user's date, like
# the owner, is unseen by the planner: one plan for every day.
_TODAY = planned_once("today", Date)
_OPEN_AND_DATED = _WITH_LIST_NAMES.where(
    _todos.c.user_id == _OWNER, _todos.c.due_on.is_not(None), _todos.c.done == false()
)
# Due on the user's date, newest first. The day is written as a range,
# "on or before it" and "(due_on, id) from (it, 0) on", rather than as
# due_on = it: both bound the walk of ix_todos_due alike, but PostgreSQL
# counts an equality with a date it cannot see as one day among all the
# table's dates, for one owner among all, so few rows that it read the whole
# day and sorted it (a user with many todos due today waited for all of
# them). Counted as a range, like Overdue's, the day looks big enough that
# walking the index newest first and stopping after a page is the cheaper
# plan. Its pages are in due-date order, which within one day is id order.
_DUE_TODAY = Keyset(
    visible(
        _OPEN_AND_DATED.where(
            _todos.c.due_on <= _TODAY,
            tuple_(_todos.c.due_on, _todos.c.id) >= tuple_(_TODAY, literal_column("0")),
        )
    ),
    DUE_KEY,
)
# due before it, the longest overdue first.
_OVERDUE = Keyset(visible(_OPEN_AND_DATED.where(_todos.c.due_on < _TODAY)), DUE_KEY, ascending=True)

_IN_LIST_COLUMNS = (
    _todos.c.id,
    _todos.c.title,
    _todos.c.done,
    _todos.c.created_at,
    _todos.c.due_on,
)
# IS NOT NULL adds nothing but lets SQLite use 0008's partial index, until
# 0010 replaces it with a full one. The list is unseen by the planner, like
# the owner: seen, a list whose newest todos had just been trashed, before
# autovacuum analysed the table, was read past every one of them through
# the primary key.
_LIST = planned_once("list_id", Integer)


_DONE_COLUMNS = (*_IN_LIST_COLUMNS, _todos.c.completed_at)


def _in_list(*where, columns=_IN_LIST_COLUMNS):
    return visible(
        select(*columns).where(_todos.c.list_id == _LIST, _todos.c.list_id.is_not(None), *where)
    )


def _with_no_list(*where, columns=_IN_LIST_COLUMNS):
    """The owner's todos with no list yet, which the Inbox also holds."""
    return visible(
        select(*columns).where(_todos.c.list_id.is_(None), _todos.c.user_id == _OWNER, *where)
    )


# One list's open todos (ix_todos_list_open), and its done ones, latest done
# first (ix_todos_list_completed; chains of one part, as _COMPLETED_TODOS).
_OPEN_IN_A_LIST = Keyset(_in_list(_OPEN), LIST_KEY)
_OPEN_IN_INBOX = Keyset([_in_list(_OPEN), _with_no_list(_OPEN)], LIST_KEY)
_DONE_IN_A_LIST = Keyset(_in_list(_DONE, columns=_DONE_COLUMNS), COMPLETED_KEY)
_DONE_IN_INBOX = Keyset(
    [_in_list(_DONE, columns=_DONE_COLUMNS), _with_no_list(_DONE, columns=_DONE_COLUMNS)],
    COMPLETED_KEY,
)
_COMPLETED_IN_A_LIST = ChainedKeyset([_DONE_IN_A_LIST])
_COMPLETED_IN_INBOX = ChainedKeyset([_DONE_IN_INBOX])


# One list's open todos by due date: the dated ones, soonest first
# (ix_todos_list_due_open), then the undated ones, newest first
# (ix_todos_list_open, past the dated ones). Due dates came after 0010, so
# every todo has its list: the Inbox needs no second statement here. Its
# done todos are in its Completed section, latest done first, whatever the order.
_IN_LIST_DATED = Keyset(
    visible(
        select(*_IN_LIST_COLUMNS).where(
            _todos.c.list_id == _LIST, _todos.c.due_on.is_not(None), _OPEN
        )
    ),
    DUE_KEY,
    ascending=True,
)
_IN_LIST_UNDATED = Keyset(
    visible(
        select(*_IN_LIST_COLUMNS).where(_todos.c.list_id == _LIST, _todos.c.due_on.is_(None), _OPEN)
    ),
    LIST_KEY,
)
_IN_LIST_BY_DUE = ChainedKeyset([_IN_LIST_DATED, _IN_LIST_UNDATED])


def _absent(name: str):
    """A column a trash entry of the other kind has (a UNION ALL needs both)."""
    return cast(null(), Integer).label(name)


def _trash_branches(*, admin: bool, one_owner: bool) -> list:
    """A trash's two kinds of entry: todos trashed on their own, and lists,
    with the same columns. ``admin``: with owner and deleter names;
    ``one_owner``: of ``owner_id`` only."""
    branches = []
    for kind, table, key, extra in (
        (TODO_ENTRY, _todos, TRASH_KEY, (_todos.c.title, _todos.c.list_id, _absent("todos"))),
        (
            LIST_ENTRY,
            _lists,
            LISTS_TRASH_KEY,
            (
                _lists.c.name.label("title"),
                _absent("list_id"),
                _lists.c.trashed_todos.label("todos"),
            ),
        ),
    ):
        kind_column = literal_column(str(kind), Integer).label("kind")
        columns = [kind_column, table.c.id, *extra, table.c.deleted_at]
        from_ = table
        if admin:
            owner, deleter = _users.alias("owner"), _users.alias("deleter")
            columns += [owner.c.username.label("owner"), deleter.c.username.label("deleter")]
            from_ = table.join(owner, table.c.user_id == owner.c.id).outerjoin(
                deleter, table.c.deleted_by == deleter.c.id
            )
        stmt = select(*columns).select_from(from_)
        if one_owner:
            stmt = stmt.where(table.c.user_id == _OWNER)
        branches.append((kind, visible(stmt, TRASH_ROWS), key))
    return branches


_OWN_TRASH = MergedKeyset(_trash_branches(admin=False, one_owner=True))
_ALL_TRASH = MergedKeyset(_trash_branches(admin=True, one_owner=False))
_ONE_OWNERS_TRASH = MergedKeyset(_trash_branches(admin=True, one_owner=True))


def list_todos(
    owner_id: int, per_page: int, *, before: str | None = None, after: str | None = None
) -> Page:
    """A page of one owner's open todos, newest first: rows of id, title,
    done, created_at, list_id, list_name and in_inbox. A todo with no list yet (before
    the backfill) is in the Inbox."""
    return _OPEN_TODOS.page({"owner_id": owner_id}, per_page, before, after)


def list_completed(
    owner_id: int, per_page: int, *, before: str | None = None, after: str | None = None
) -> Page:
    """A page of the owner's done todos across lists, latest done first: rows
    as ``list_todos``, with completed_at."""
    return _COMPLETED_TODOS.page({"owner_id": owner_id}, per_page, before, after)


def list_in_list(
    found: List,
    per_page: int,
    *,
    before: str | None = None,
    after: str | None = None,
    done: bool = False,
) -> Page:
    """A page of one live list's open todos, newest first, or with ``done``
    its done ones, latest done first (as ``list_completed``): rows of id,
    title, done, created_at, due_on (and completed_at). The Inbox also holds
    its owner's todos with no list yet (written before the backfill, or by a
    server without lists)."""
    if found.is_inbox:
        listing = _COMPLETED_IN_INBOX if done else _OPEN_IN_INBOX
    else:
        listing = _COMPLETED_IN_A_LIST if done else _OPEN_IN_A_LIST
    return listing.page({"list_id": found.id, "owner_id": found.user_id}, per_page, before, after)


# How far a Completed section counts: past it, the page says "1,000+". A
# count reads one index entry per todo, so it stops well before a skewed
# list's hundred thousand.
COMPLETED_COUNT_LIMIT = 1000


@dataclass(frozen=True)
class Count:
    """How many rows there are, up to ``limit``; ``more``: there are more
    than that."""

    n: int
    more: bool = False

    def __str__(self) -> str:
        return f"{self.n:,}+" if self.more else f"{self.n:,}"


def _capped_count(statements: list) -> Query:
    """How many rows the ``statements`` (over disjoint rows) select, counting
    at most COMPLETED_COUNT_LIMIT and one: each reads that many entries of
    its index at most, however many it holds."""
    limit = literal_column(str(COMPLETED_COUNT_LIMIT + 1))
    # In key order, as the pages read: so the index of these rows alone
    # (ix_todos_completed, ix_todos_list_completed) is the one that gives
    # them without a sort, on a table of any size.
    order = [column.desc() for column in COMPLETED_KEY]
    members = [
        stmt.with_only_columns(_todos.c.id).order_by(*order).limit(limit) for stmt in statements
    ]
    rows = members[0] if len(members) == 1 else visible_union(members)
    return Query(visible_count(rows))


# The owner's done todos, counted without the names of their lists.
_COUNT_DONE_TODOS = _capped_count(
    [visible(select(_todos.c.id).where(_todos.c.user_id == _OWNER, _DONE))]
)
_COUNT_DONE_IN_A_LIST = _capped_count([_in_list(_DONE)])
_COUNT_DONE_IN_INBOX = _capped_count([_in_list(_DONE), _with_no_list(_DONE)])


def _count(query: Query, params: dict) -> Count:
    n = query.all(params)[0][0]
    if n > COMPLETED_COUNT_LIMIT:
        return Count(COMPLETED_COUNT_LIMIT, more=True)
    return Count(n)


def count_completed(owner_id: int) -> Count:
    """How many done todos the owner has across lists, up to COMPLETED_COUNT_LIMIT."""
    return _count(_COUNT_DONE_TODOS, {"owner_id": owner_id})


def count_completed_in_list(found: List) -> Count:
    """How many done todos a live list holds, up to COMPLETED_COUNT_LIMIT."""
    query = _COUNT_DONE_IN_INBOX if found.is_inbox else _COUNT_DONE_IN_A_LIST
    return _count(query, {"list_id": found.id, "owner_id": found.user_id})


def list_in_list_by_due(
    found: List, per_page: int, *, before: str | None = None, after: str | None = None
) -> Page:
    """A page of one live list's todos by due date: the dated ones, soonest
    first, then those without a date, newest first. Rows as ``list_in_list``."""
    return _IN_LIST_BY_DUE.page({"list_id": found.id}, per_page, before, after)


def list_due_today(
    owner_id: int,
    today: date,
    per_page: int,
    *,
    before: str | None = None,
    after: str | None = None,
) -> Page:
    """A page of the owner's open todos due on ``today`` (the user's own
    date, services.due.today_in), across lists, newest first: rows as
    ``list_todos``."""
    return _DUE_TODAY.page({"owner_id": owner_id, "today": today}, per_page, before, after)


def list_overdue(
    owner_id: int,
    today: date,
    per_page: int,
    *,
    before: str | None = None,
    after: str | None = None,
) -> Page:
    """A page of the owner's open todos due before ``today``, across lists,
    the longest overdue first: rows as ``list_todos``."""
    return _OVERDUE.page({"owner_id": owner_id, "today": today}, per_page, before, after)


def list_trash(
    owner_id: int, per_page: int, *, before: str | None = None, after: str | None = None
) -> Page:
    """A page of one owner's trash, latest deletion first: rows of kind, id,
    title, list_id, todos and deleted_at. A todo's row has kind TODO_ENTRY
    and todos None; a list's has kind LIST_ENTRY, its name as title, list_id
    None, and todos: how many went with it."""
    return _OWN_TRASH.page({"owner_id": owner_id}, per_page, before, after)


def list_all_trash(
    per_page: int,
    *,
    owner_id: int | None = None,
    before: str | None = None,
    after: str | None = None,
) -> Page:
    """A page of everyone's trash for admins, latest deletion first: rows as
    in ``list_trash``, with owner and deleter (usernames; deleter may be None)."""
    if owner_id is None:
        return _ALL_TRASH.page({}, per_page, before, after)
    return _ONE_OWNERS_TRASH.page({"owner_id": owner_id}, per_page, before, after)


def create_todo(
    owner_id: int, title: str, *, list_id: int | None = None, due_on: date | None = None
) -> Todo:
    """Add a todo to a live list of the owner's, or to the Inbox, due on
    ``due_on`` if given.
    :raise ValueError: the title breaks a rule. :raise NotFoundError: no such live list."""
    title = clean_title(title)
    with write_transaction() as session:
        if list_id is None:
            list_id = lists.inbox(owner_id)
        else:
            # Shared lock: the list cannot go to the trash while this goes in.
            lists.get_list(list_id, owner_id=owner_id, lock="share")
        todo = Todo(user_id=owner_id, title=title, list_id=list_id, due_on=due_on)
        session.add(todo)
    return todo


# ``edit_todo``'s due date when the form had none (a page from a server
# that predates due dates, during a deploy): the todo keeps its own.
UNCHANGED = object()


def edit_todo(
    todo_id: int, owner_id: int, title: str, *, list_id: int | None = None, due_on=UNCHANGED
) -> Todo:
    """Change the title, move the todo to list ``list_id`` if given, and set
    its due date to ``due_on`` (None: no due date) unless UNCHANGED.
    :raise ValueError: the title breaks a rule. :raise NotFoundError: no such
    todo, or no such live list."""
    title = clean_title(title)
    with write_transaction():
        todo = get_todo(todo_id, owner_id=owner_id, for_update=True)
        todo.title = title
        if due_on is not UNCHANGED:
            todo.due_on = due_on
        if list_id is not None and list_id != todo.list_id:
            _move(todo, list_id)
    return todo


def move_todo(todo_id: int, owner_id: int, list_id: int) -> tuple[Todo, List]:
    """Move a live todo to the owner's live list ``list_id``; returns the
    todo and the list.
    :raise NotFoundError: no such todo, or no such live list (InTrash: it is
    in the trash)."""
    with write_transaction():
        todo = get_todo(todo_id, owner_id=owner_id, for_update=True)
        return todo, _move(todo, list_id)


def _move(todo: Todo, list_id: int) -> List:
    """Put ``todo`` in its owner's live list ``list_id``, which is share-locked
    so that it cannot go to the trash meanwhile."""
    found = lists.get_list(list_id, owner_id=todo.user_id, lock="share")
    todo.list_id = found.id
    return found


def toggle_todo(todo_id: int, owner_id: int) -> Todo:
    """Mark a live todo done, stamping when (its place in the Completed
    section), or not done again."""
    with write_transaction():
        todo = get_todo(todo_id, owner_id=owner_id, for_update=True)
        todo.done = not todo.done
        todo.completed_at = utcnow() if todo.done else None
    return todo


def _ref(todo: Todo) -> str:
    """How the activity log names a todo: by its id and its list ("#25 in
    list #3", "#26 in the Inbox"), never by a title or a name, so a todo
    deleted forever leaves no trace of what it said."""
    if todo.list_id is None:  # before the lists backfill
        return f"#{todo.id}"
    inbox = todo.list_id == lists.inbox_of(todo.user_id)
    return f"#{todo.id} in {'the Inbox' if inbox else f'list #{todo.list_id}'}"


def trash_todo(todo_id: int, owner_id: int, *, actor_id: int) -> Todo:
    """Move a live todo to the trash, recording when and by whom."""
    with write_transaction():
        todo = get_todo(todo_id, owner_id=owner_id, for_update=True)
        todo.deleted_at = utcnow()
        todo.deleted_by = actor_id
        activity.record("trash", actor_id=actor_id, user_id=todo.user_id, detail=_ref(todo))
    return todo


def restore_todo(
    todo_id: int,
    *,
    owner_id: int | None = None,
    actor_id: int | None = None,
    into: str | None = None,
) -> Todo:
    """Bring a trashed todo back. ``actor_id``: who did it, for the activity
    log (None: the command line). If its list is in the trash, ``into`` says
    where it goes: "list" restores the list too (with the todos trashed with
    it), "inbox" moves the todo to the Inbox.

    :raise ListInTrash: its list is in the trash and ``into`` is None.
    :raise lists.NameTaken: ``into="list"``, and the list's name is taken.
    """
    with write_transaction():
        todo = get_todo(todo_id, owner_id=owner_id, trashed=True, for_update=True)
        home = trashed_list_of(todo, lock=True)
        if home is not None:
            if into == "list":
                lists.restore_list(home.id, actor_id=actor_id)
            elif into == "inbox":
                todo.list_id = lists.inbox(todo.user_id)
            else:
                raise ListInTrash(todo, home)
        todo.deleted_at = None
        todo.deleted_by = None
        activity.record("restore", actor_id=actor_id, user_id=todo.user_id, detail=_ref(todo))
    return todo


def trashed_list_of(todo: Todo, *, lock: bool = False) -> List | None:
    """The trashed list that ``todo`` is in, or None. ``lock``: for a write
    that restores from it (PostgreSQL row lock)."""
    if todo.list_id is None:
        return None
    stmt = select(List).where(List.id == todo.list_id).execution_options(trashed_only=True)
    return db.session.scalar(stmt.with_for_update() if lock else stmt)


def purge_todo(todo_id: int, *, owner_id: int | None = None, actor_id: int | None = None) -> str:
    """Delete a trashed todo for good; returns its title."""
    with write_transaction() as session:
        todo = get_todo(todo_id, owner_id=owner_id, trashed=True, for_update=True)
        title = todo.title
        activity.record("purge", actor_id=actor_id, user_id=todo.user_id, detail=_ref(todo))
        session.delete(todo)
    return title


BULK_LIMIT = 500


@dataclass(frozen=True)
class BulkResult:
    """What a bulk action did: ``done`` entries; ``held_back`` ticked ones it
    left for the user to do one by one (a todo whose list is in the trash, a
    list whose name is taken); the rest were no longer in the trash."""

    done: int
    held_back: int = 0


def bulk_restore(
    todo_ids: list[int],
    list_ids: list[int] = (),
    *,
    owner_id: int | None = None,
    actor_id: int | None = None,
) -> BulkResult:
    """Restore the listed todos and lists that are in the trash (of
    ``owner_id``, or of anyone for admins). Ids not there are skipped. A todo
    whose list is in the trash, and a list whose name is taken now, are held
    back: each needs a choice made on its own page."""
    _bounded(todo_ids, list_ids)
    in_trashed_list = todo_in_trashed_list(Todo)
    held = 0
    with write_transaction() as session:
        done = 0
        for list_id in list_ids:
            try:
                lists.restore_list(list_id, owner_id=owner_id, actor_id=actor_id)
            except NotFoundError:
                continue  # no longer in the trash
            except lists.NameTaken:
                held += 1
                continue
            done += 1
        if todo_ids:
            base = [Todo.id.in_(todo_ids)] + ([Todo.user_id == owner_id] if owner_id else [])
            held += session.scalar(
                select(func.count())
                .select_from(Todo)
                .where(*base, in_trashed_list)
                .execution_options(trashed_only=True)
            )
            restored = session.execute(
                update(Todo)
                .where(*base, ~in_trashed_list)
                .values(deleted_at=None, deleted_by=None)
                .execution_options(trashed_only=True, synchronize_session=False)
            ).rowcount
            if restored:
                activity.record("restore", actor_id=actor_id, user_id=owner_id, count=restored)
            done += restored
    return BulkResult(done, held)


def bulk_purge(
    todo_ids: list[int],
    list_ids: list[int] = (),
    *,
    owner_id: int | None = None,
    actor_id: int | None = None,
) -> BulkResult:
    """Delete for good the listed todos and lists (with their todos) that are
    in the trash (of ``owner_id``, or of anyone for admins). Ids that are not
    there are skipped."""
    _bounded(todo_ids, list_ids)
    with write_transaction() as session:
        done = 0
        if list_ids:
            stmt = select(List.id).where(List.id.in_(list_ids))
            if owner_id is not None:
                stmt = stmt.where(List.user_id == owner_id)
            found = session.scalars(
                stmt.with_for_update().execution_options(trashed_only=True)
            ).all()
            if found:
                gone = lists.delete_lists_with_todos(list(found))
                activity.record(
                    "purge_list",
                    actor_id=actor_id,
                    user_id=owner_id,
                    count=gone,
                    detail=f"{len(found)} lists",
                )
                done += len(found)
        if todo_ids:
            stmt = delete(Todo).where(Todo.id.in_(todo_ids))
            if owner_id is not None:
                stmt = stmt.where(Todo.user_id == owner_id)
            purged = session.execute(
                stmt.execution_options(trashed_only=True, synchronize_session=False)
            ).rowcount
            if purged:
                activity.record("purge", actor_id=actor_id, user_id=owner_id, count=purged)
            done += purged
    return BulkResult(done)


def _bounded(todo_ids: list[int], list_ids=()) -> None:
    if len(todo_ids) + len(list_ids) > BULK_LIMIT:
        raise ValueError(f"Select at most {BULK_LIMIT} entries at a time.")


def empty_trash(
    owner_id: int, *, max_batches: int | None = None, actor_id: int | None = None
) -> Purge:
    """Delete every trashed todo and list of one owner for good (at most
    ``max_batches`` batches of them). ``deleted`` counts todos."""
    log = {"action": "empty_trash", "actor_id": actor_id, "user_id": owner_id}
    return _purge_trashed(
        [Todo.user_id == owner_id], [List.user_id == owner_id], max_batches=max_batches, log=log
    )


def expiry_cutoff(older_than_days: int) -> datetime:
    return utcnow() - timedelta(days=older_than_days)


def count_expired(older_than_days: int) -> int:
    """Todos due for the purge: trashed on their own, or in an expired list."""
    cutoff = expiry_cutoff(older_than_days)
    todos = select(func.count()).select_from(Todo).where(Todo.deleted_at < cutoff)
    listed = select(func.coalesce(func.sum(List.trashed_todos), 0)).where(List.deleted_at < cutoff)
    return db.session.scalar(todos.execution_options(trashed_only=True)) + db.session.scalar(
        listed.execution_options(trashed_only=True)
    )


def purge_expired(
    older_than_days: int,
    *,
    progress: Callable[[int], None] | None = None,
    max_batches: int | None = None,
    actor_id: int | None = None,
) -> Purge:
    """Delete for good every todo and list trashed more than
    ``older_than_days`` ago (at most ``max_batches`` batches of them)."""
    cutoff = expiry_cutoff(older_than_days)
    log = {"action": "purge_expired", "actor_id": actor_id, "user_id": None}
    return _purge_trashed(
        [Todo.deleted_at < cutoff],
        [List.deleted_at < cutoff],
        progress=progress,
        max_batches=max_batches,
        log=log,
    )


def _purge_trashed(
    todo_where: list,
    list_where: list,
    *,
    progress: Callable[[int], None] | None = None,
    max_batches: int | None = None,
    log: dict,
) -> Purge:
    """Delete matching trash entries in batches: todos trashed on their own,
    ``PURGE_BATCH_SIZE`` at a time, then lists with their todos,
    ``LIST_PURGE_BATCH_SIZE`` lists at a time; each batch is logged in its
    own transaction. A web request passes ``max_batches`` (for both) so it
    ends well inside the worker's timeout, however large the backlog."""
    pause = SQLITE_PURGE_PAUSE if db.session.get_bind().dialect.name == "sqlite" else 0
    todos = delete_in_batches(
        Todo,
        todo_where,
        order_by=Todo.deleted_at,
        batch_size=PURGE_BATCH_SIZE,
        options={"trashed_only": True},
        on_batch=lambda deleted: activity.record(count=deleted, **log),
        progress=progress,
        max_batches=max_batches,
        pause=pause,
    )
    if not todos.finished:
        return todos
    with_lists = []

    def take_their_todos(list_ids: list) -> None:
        with_lists.append(lists.delete_todos_of(list_ids))

    def record(deleted_lists: int) -> None:
        activity.record(count=with_lists[-1], detail=f"{deleted_lists} lists", **log)
        if progress is not None:
            progress(with_lists[-1])

    listed = delete_in_batches(
        List,
        list_where,
        order_by=List.deleted_at,
        batch_size=LIST_PURGE_BATCH_SIZE,
        options={"trashed_only": True},
        before_delete=take_their_todos,
        on_batch=record,
        max_batches=max_batches,
        pause=pause,
    )
    return Purge(todos.deleted + sum(with_lists), finished=listed.finished)
