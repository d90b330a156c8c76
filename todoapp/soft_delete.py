"""Soft delete in one place: which rows of lists and todos a statement sees.

Every ORM SELECT, UPDATE and DELETE that touches a model with
``SoftDeleteMixin`` hides trashed rows, unless the statement asks for them by
name::

    select(Todo)                                           # live rows only
    select(Todo).execution_options(include_trashed=True)   # live and trashed
    select(Todo).execution_options(trashed_only=True)      # the trash

Core statements built once for the list pages get the same conditions from
``visible()``. For todos, "live" also means "not in a trashed list", and "the
trash" means the todos trashed on their own: those trashed with their list
belong to the list's entry (``trashed_with_list``). Importing this module
installs the ORM hook; ``create_app`` does, so every app has it.
"""

from sqlalchemy import Alias, Join, Select, Table, and_, event, false, func, select, union_all
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.util import find_tables
from sqlalchemy.sql.visitors import replacement_traverse

from .extensions import db
from .models import List, SoftDeleteMixin, Todo

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


def visible_count(rows):
    """``SELECT count(*)`` of ``rows``: a statement that went through
    ``visible`` (or a ``visible_union`` of them), marked as it is. Rows
    built without the mechanism are refused, as by ``visible_union``."""
    marked = rows.get_execution_options().get(SOFT_DELETE)
    if marked is None:
        raise TypeError("soft delete: count rows that went through visible()")
    count = select(func.count()).select_from(rows.subquery())
    return count.execution_options(**{SOFT_DELETE: marked})
