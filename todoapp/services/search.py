"""Search: one query over a user's own live todos, live lists and trash.

A title or a list name matches when it holds the query anywhere, whatever
its case. Todos are found through the title search index (revision 0016):
on SQLite an FTS5 table of trigrams, asked for the query as one quoted phrase
(so nothing the user types is read as FTS5 syntax); on PostgreSQL pg_trgm's
GIN index, which ``ILIKE '%query%'`` reads (``%``, ``_`` and ``\\`` escaped).
A trigram index needs three characters to look anything up, so a query needs
three letters or digits in a row. Lists are few per owner and are matched by
their folded name (``models.list_name_key``).

The live todos are paged by keyset like ``/todos`` (``services.pages``); the
lists and trash sections show the first ``BESIDE_SHOWN`` matches.
"""

import re
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import (
    Boolean,
    Integer,
    String,
    bindparam,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..database import Query
from ..models import INBOX, SEARCH_TABLE, TITLE_MAX, List, Todo, list_name_key
from ..soft_delete import TRASH_ROWS, visible
from .pages import Keyset, Page, planned_once
from .todos import LIST_ENTRY, LIST_KEY, TODO_ENTRY

# The query's bounds: a trigram index looks up three characters at least,
# and no title is longer than TITLE_MAX, so a longer query matches nothing.
QUERY_MIN = 3
QUERY_MAX = TITLE_MAX
# The lists and the trash entries shown beside the todos found: a glance, the
# latest first; "type more" narrows them, the trash page has the rest.
BESIDE_SHOWN = 10
_WORD = re.compile(rf"\w{{{QUERY_MIN}}}")

_todos, _lists = Todo.__table__, List.__table__
_OWNER = planned_once("owner_id", Integer)
# SQLite's FTS5 table: not in the metadata (see models.SEARCH_TABLE).
_fts = table(SEARCH_TABLE, column("rowid", Integer), column(SEARCH_TABLE))
# Its owner column holds each todo's owner as three characters of the
# supplementary private use area B, one trigram per owner
# (migration_tools.online.owner_token, which the triggers use).
_TOKEN_BASE = 0x100000


def _owner_token(owner):
    return func.char(
        _TOKEN_BASE,
        literal(_TOKEN_BASE) + owner.op(">>")(16),
        literal(_TOKEN_BASE) + owner.op("&")(65535),
    )


class title_holds(FunctionElement):
    """``title_holds(todos.c.id, todos.c.title, owner, query)``: the todo's
    title holds the query, whatever its case, read through the title search
    index (``owner``: whose todos are searched, for SQLite's index).
    Each database has its own SQL (below); the query is bound as it is and
    made safe by the SQL itself, so one statement serves both."""

    type = Boolean()
    inherit_cache = True  # its state is its arguments


@compiles(title_holds, "sqlite")
def _title_holds_sqlite(element, compiler, **kw):
    """The FTS5 table's rows of the owner whose title holds the query as one
    phrase: a string in double quotes, a double quote inside doubled, so
    nothing the user types is read as FTS5 syntax (AND, NEAR, *, ^, column:).
    The index intersects the owner's rows with the title's: the work grows
    with the owner's todos that match, not with the table."""
    todo_id, _title, owner, query = element.clauses
    phrase = (
        literal('user_id : "')
        + _owner_token(owner)
        + literal('" AND title : "')
        + func.replace(query, '"', '""')
        + literal('"')
    )
    found = select(_fts.c.rowid).where(_fts.c[SEARCH_TABLE].match(phrase))
    return compiler.process(todo_id.in_(found), **kw)


@compiles(title_holds)
def _title_holds_ilike(element, compiler, **kw):
    """``ILIKE '%query%'`` with the query's ``\\``, ``%`` and ``_``
    escaped (PostgreSQL). The GIN index of the owner and the title's
    trigrams (revision 0019) reads it together with the statement's
    ``user_id =``: only the owner's entries, whoever else's titles match."""
    _todo_id, title, _owner, query = element.clauses
    escaped = query
    for special in ("\\", "%", "_"):
        escaped = func.replace(escaped, _inline(special), _inline("\\" + special))
    pattern = _inline("%") + escaped + _inline("%")
    return compiler.process(title.ilike(pattern, escape="\\"), **kw)


def _inline(text: str):
    """A constant of the pattern, written into the SQL like the query
    (``_QUERY``), so that the whole pattern is a constant to the planner."""
    return bindparam(None, text, type_=String(), literal_execute=True)


# The query is written into the SQL as a quoted literal when the statement
# runs (literal_execute), not sent as a parameter: PostgreSQL then plans each
# query knowing its pattern. A common word is found by walking the owner's
# live todos newest first and stopping after a page; a rare one through the
# trigram index. With the pattern a parameter, the prepared statement's
# generic plan guessed every pattern rare, and a common word read all its
# matches through the index and sorted them. The owner stays unseen.
_QUERY = bindparam("query", type_=String(), literal_execute=True)
_TITLE_HOLDS = title_holds(_todos.c.id, _todos.c.title, _OWNER, _QUERY)

# One owner's live todos whose title holds the query, newest first, with the
# name of each one's list and whether it is the Inbox (as services.todos'
# list of todos).
_FOUND_TODOS = Keyset(
    visible(
        select(
            _todos.c.id,
            _todos.c.title,
            _todos.c.done,
            _todos.c.created_at,
            _todos.c.list_id,
            func.coalesce(_lists.c.name, INBOX).label("list_name"),
            func.coalesce(_lists.c.is_inbox, true()).label("in_inbox"),
        )
        .select_from(_todos.outerjoin(_lists, _lists.c.id == _todos.c.list_id))
        .where(_todos.c.user_id == _OWNER, _TITLE_HOLDS)
    ),
    LIST_KEY,
)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_NAME_MATCHES = _lists.c.name_key.like(bindparam("name_pattern"), escape="\\")


@lru_cache(maxsize=8)  # a page size: the app's own setting
def _queries(per_page: int) -> tuple[Query, Query, Query]:
    """The live lists and the two kinds of trash entry that match, each a
    page and one at most (the one says there are more)."""
    limit = literal_column(str(int(per_page) + 1))
    live_lists = visible(
        select(_lists.c.id, _lists.c.name)
        .where(_lists.c.user_id == _OWNER, _NAME_MATCHES)
        .order_by(_lists.c.name_key, _lists.c.id)
        .limit(limit)
    )
    trashed_todos = visible(
        select(
            literal_column(str(TODO_ENTRY), Integer).label("kind"),
            _todos.c.id,
            _todos.c.title,
            _todos.c.deleted_at,
        )
        .where(_todos.c.user_id == _OWNER, _TITLE_HOLDS)
        .order_by(_todos.c.deleted_at.desc(), _todos.c.id.desc())
        .limit(limit),
        TRASH_ROWS,
    )
    trashed_lists = visible(
        select(
            literal_column(str(LIST_ENTRY), Integer).label("kind"),
            _lists.c.id,
            _lists.c.name.label("title"),
            _lists.c.deleted_at,
            _lists.c.trashed_todos.label("todos"),
        )
        .where(_lists.c.user_id == _OWNER, _NAME_MATCHES)
        .order_by(_lists.c.deleted_at.desc(), _lists.c.id.desc())
        .limit(limit),
        TRASH_ROWS,
    )
    return Query(live_lists), Query(trashed_todos), Query(trashed_lists)


@dataclass(frozen=True)
class Results:
    """What a search found. ``problem``: why the query was not run (too
    short, too long), None when it was. ``todos``: a page of live todos (rows
    as services.todos.list_todos'); ``lists``: live lists (id, name);
    ``trash``: trash entries, latest deletion first (kind, id, title,
    deleted_at, and todos for a list); ``more_lists`` and ``more_trash``:
    there are more than shown."""

    query: str
    problem: str | None = None
    todos: Page = field(default_factory=lambda: Page([]))
    lists: list = field(default_factory=list)
    trash: list = field(default_factory=list)
    more_lists: bool = False
    more_trash: bool = False


def clean_query(raw: str | None) -> str:
    """The query as searched for: trimmed, inner runs of white space as one
    space. Raise ``ValueError`` with the reason it cannot be searched for."""
    query = " ".join((raw or "").split())
    if len(query) > QUERY_MAX:
        raise ValueError(f"Search for at most {QUERY_MAX} characters: no title is longer.")
    if not query.isprintable():
        raise ValueError("A search can't contain control characters.")
    if not _WORD.search(query):
        raise ValueError(f"Type at least {QUERY_MIN} letters or digits in a row to search.")
    return query


def search(
    owner_id: int,
    raw: str | None,
    per_page: int,
    *,
    before: str | None = None,
    after: str | None = None,
) -> Results:
    """Search ``owner_id``'s own todos and lists for ``raw``. ``before``/``after``: a
    cursor of the live todos' pages; the lists and the trash show on the
    first page only.

    :raise NotFoundError: a cursor is malformed.
    """
    try:
        query = clean_query(raw)
    except ValueError as exc:
        return Results(query=" ".join((raw or "").split())[:QUERY_MAX], problem=str(exc))
    params = {
        "owner_id": owner_id,
        "query": query,
        "name_pattern": f"%{_escape_like(list_name_key(query))}%",
    }
    found = _FOUND_TODOS.page(params, per_page, before, after)
    if not found.first:
        return Results(query=query, todos=found)
    shown = min(per_page, BESIDE_SHOWN)
    live_lists, trashed_todos, trashed_lists = _queries(shown)
    lists = live_lists.mappings(params)
    trash = trashed_todos.mappings(params) + trashed_lists.mappings(params)
    trash.sort(key=lambda row: (row["deleted_at"], row["kind"], row["id"]), reverse=True)
    return Results(
        query=query,
        todos=found,
        lists=lists[:shown],
        more_lists=len(lists) > shown,
        trash=trash[:shown],
        more_trash=len(trash) > shown,
    )
