"""The central soft-delete mechanism and the service layer around it."""

from datetime import UTC, timedelta

import pytest
from sqlalchemy import Select, event, func, select, update
from sqlalchemy.sql.util import find_tables

from todoapp.extensions import db
from todoapp.models import List, Todo, User
from todoapp.services import lists, todos
from todoapp.services.errors import NotFoundError
from todoapp.soft_delete import (
    EVERY_ROW,
    SOFT_DELETE,
    TRASH_ROWS,
    visible,
    visible_count,
    visible_union,
)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def titles(stmt):
    return sorted(t.title for t in db.session.scalars(stmt))


@pytest.fixture
def mixed(ctx, alice, make_todo):
    make_todo(alice, "live one")
    make_todo(alice, "live two")
    make_todo(alice, "in the trash", trashed=True)
    return alice


def test_plain_select_hides_trashed_rows(mixed):
    assert titles(select(Todo)) == ["live one", "live two"]


def test_trashed_rows_are_asked_for_by_name(mixed):
    assert titles(select(Todo).execution_options(trashed_only=True)) == ["in the trash"]
    assert len(titles(select(Todo).execution_options(include_trashed=True))) == 3


def test_counts_and_relationships_hide_trashed_rows(mixed):
    assert db.session.scalar(select(func.count(Todo.id))) == 2
    user = db.session.get(User, mixed)
    # a relationship loaded from a User query goes through the same filter
    stmt = select(Todo).join(Todo.owner).where(User.id == user.id)
    assert titles(stmt) == ["live one", "live two"]


def test_bulk_update_does_not_touch_trashed_rows(mixed):
    db.session.execute(update(Todo).values(done=True))
    db.session.commit()
    trashed = db.session.scalars(select(Todo).execution_options(trashed_only=True)).one()
    assert trashed.done is False
    assert all(t.done for t in db.session.scalars(select(Todo)))


def test_trash_sets_when_and_who_and_restore_clears_both(ctx, alice, make_todo):
    todo_id = make_todo(alice, "x")
    todo = todos.trash_todo(todo_id, alice, actor_id=alice)
    assert todo.deleted_by == alice
    assert todo.deleted_at.tzinfo is UTC
    db.session.expire_all()
    reread = db.session.scalars(
        select(Todo).where(Todo.id == todo_id).execution_options(trashed_only=True)
    ).one()
    # SQLite keeps no zone: the type gives it back aware, in UTC.
    assert reread.deleted_at.tzinfo is UTC
    restored = todos.restore_todo(todo_id, owner_id=alice)
    assert restored.deleted_at is None and restored.deleted_by is None
    assert titles(select(Todo)) == ["x"]


def test_get_todo_is_404_for_another_owner_and_for_the_wrong_state(ctx, alice, bob, make_todo):
    live = make_todo(alice, "live")
    trashed = make_todo(alice, "trashed", trashed=True)
    assert todos.get_todo(live, owner_id=alice).title == "live"
    for todo_id, owner, in_trash in [
        (live, bob, False),
        (trashed, alice, False),
        (live, alice, True),
        (trashed, bob, True),
    ]:
        with pytest.raises(NotFoundError):
            todos.get_todo(todo_id, owner_id=owner, trashed=in_trash)


def test_purge_deletes_the_row_for_real(ctx, alice, make_todo):
    todo_id = make_todo(alice, "gone", trashed=True)
    assert todos.purge_todo(todo_id, owner_id=alice) == "gone"
    all_rows = select(Todo).execution_options(include_trashed=True)
    assert db.session.scalars(all_rows).all() == []


def test_purge_refuses_a_live_todo(ctx, alice, make_todo):
    todo_id = make_todo(alice, "still needed")
    with pytest.raises(NotFoundError):
        todos.purge_todo(todo_id, owner_id=alice)
    assert titles(select(Todo)) == ["still needed"]


def test_empty_trash_only_touches_own_trashed_rows(ctx, alice, bob, make_todo, monkeypatch):
    monkeypatch.setattr(todos, "PURGE_BATCH_SIZE", 2)  # several batches
    for n in range(5):
        make_todo(alice, f"trash {n}", trashed=True)
    make_todo(alice, "alice live")
    make_todo(bob, "bob trash", trashed=True)
    assert todos.empty_trash(alice) == todos.Purge(5, finished=True)
    everything = select(Todo).execution_options(include_trashed=True)
    assert titles(everything) == ["alice live", "bob trash"]


def test_purge_expired_respects_the_age(ctx, alice, make_todo):
    old = make_todo(alice, "old", trashed=True)
    make_todo(alice, "recent", trashed=True)
    make_todo(alice, "live")
    db.session.execute(
        update(Todo)
        .where(Todo.id == old)
        .values(deleted_at=todos.utcnow() - timedelta(days=31))
        .execution_options(trashed_only=True)
    )
    db.session.commit()
    assert todos.count_expired(30) == 1
    assert todos.purge_expired(30).deleted == 1
    assert titles(select(Todo).execution_options(include_trashed=True)) == ["live", "recent"]
    assert todos.purge_expired(0).deleted == 1  # everything in the trash
    assert titles(select(Todo).execution_options(include_trashed=True)) == ["live"]


@pytest.mark.parametrize("purge", ["empty_trash", "purge_expired"])
def test_a_purge_with_a_batch_limit_stops_there_and_says_so(
    ctx, alice, make_todo, monkeypatch, purge
):
    monkeypatch.setattr(todos, "PURGE_BATCH_SIZE", 2)
    for n in range(5):
        make_todo(alice, f"trash {n}", trashed=True)
    run = (
        (lambda **kw: todos.empty_trash(alice, **kw))
        if purge == "empty_trash"
        else (lambda **kw: todos.purge_expired(0, **kw))
    )
    assert run(max_batches=2) == todos.Purge(4, finished=False)
    assert run(max_batches=2) == todos.Purge(1, finished=True)
    assert run(max_batches=2) == todos.Purge(0, finished=True)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("  buy milk  ", "buy milk"),
        ("x", "x"),
        ("é" * 200, "é" * 200),
        ("<b>&", "<b>&"),
        # Joiners and marks that real text needs stay: an emoji sequence,
        # a Hebrew title with a right-to-left mark, Persian with a ZWNJ.
        ("👩\u200d💻 review", "👩\u200d💻 review"),
        ("שלום\u200f 2", "שלום\u200f 2"),
        ("می\u200cخواهم", "می\u200cخواهم"),
    ],
)
def test_titles_are_trimmed_and_kept(ctx, alice, raw, stored):
    assert todos.create_todo(alice, raw).title == stored


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 201, "at most 200"),
        ("a\x00b", "control"),
        ("tab\there", "control"),
        ("line\nbreak", "control"),
        # Shown reversed: "invoice \u202eexe.pdf" reads "invoice fdp.exe".
        ("invoice \u202efdp.exe", "override"),
        ("\u2067isolated\u2069", "override"),
        ("\u200b", "visible"),  # a lone zero-width space: a blank row
        ("\u200b\u2060\ufeff", "visible"),
        ("\u3164", "visible"),  # Hangul filler, a "letter" that draws nothing
        ("bad\uffff", "non-characters"),
        ("bad\ufdd0", "non-characters"),
    ],
)
def test_titles_outside_the_rules_are_refused(ctx, alice, raw, reason):
    with pytest.raises(ValueError, match=reason):
        todos.create_todo(alice, raw)
    assert db.session.scalar(select(func.count()).select_from(Todo)) == 0


def test_edit_and_toggle(ctx, alice, make_todo):
    todo_id = make_todo(alice, "draft")
    assert todos.edit_todo(todo_id, alice, " final ").title == "final"
    assert todos.toggle_todo(todo_id, alice).done is True
    assert todos.toggle_todo(todo_id, alice).done is False


def test_lists_are_newest_first_and_paginated(ctx, alice, make_todo):
    for n in range(5):
        make_todo(alice, f"t{n}")
    first = todos.list_todos(alice, 2)
    assert [t["title"] for t in first.items] == ["t4", "t3"]
    assert first.first and first.older and first.newer is None
    second = todos.list_todos(alice, 2, before=first.older)
    last = todos.list_todos(alice, 2, before=second.older)
    assert [t["title"] for t in last.items] == ["t0"]
    assert last.older is None and last.newer and not last.first


# --- The Core form: soft_delete.visible ---------------------------------------------

_todos, _lists, _users = Todo.__table__, List.__table__, User.__table__


def core_titles(stmt):
    return sorted(db.session.connection().execute(stmt).scalars())


def test_the_core_form_shows_what_the_orm_form_shows(ctx, alice, make_todo, make_list):
    make_todo(alice, "live")
    make_todo(alice, "trashed alone", trashed=True)
    groceries = make_list(alice, "Groceries", todos=1)
    lists.trash_list(groceries, alice, actor_id=alice)  # its todo goes with it
    stmt = select(_todos.c.title)
    assert core_titles(visible(stmt)) == titles(select(Todo)) == ["live"]
    assert (
        core_titles(visible(stmt, TRASH_ROWS))
        == titles(select(Todo).execution_options(trashed_only=True))
        == ["trashed alone"]
    )
    assert core_titles(visible(stmt, EVERY_ROW)) == ["Groceries 0", "live", "trashed alone"]
    assert core_titles(visible(select(_lists.c.name), TRASH_ROWS)) == ["Groceries"]
    alias = _todos.alias("other")
    assert core_titles(visible(select(alias.c.title))) == ["live"]


def test_an_outer_join_keeps_its_left_rows_and_filters_the_right(ctx, alice, bob, make_todo):
    make_todo(alice, "live")
    make_todo(bob, "trashed", trashed=True)
    stmt = visible(
        select(_users.c.username, func.count(_todos.c.id))
        .select_from(_users.outerjoin(_todos, _todos.c.user_id == _users.c.id))
        .group_by(_users.c.username)
        .order_by(_users.c.username)
    )
    # bob's trashed todo is not counted, and bob is still listed
    assert db.session.connection().execute(stmt).all() == [("alice", 1), ("bob", 0)]


def test_the_core_form_refuses_a_subquery_it_cannot_see_into(ctx):
    inner = select(_todos.c.id).subquery()
    with pytest.raises(TypeError, match="inside"):
        visible(select(inner.c.id))


def test_a_union_of_filtered_statements_keeps_their_filter_and_refuses_others(
    ctx, alice, make_todo
):
    """pages._union merges a list's statements in the database: the union reads
    what its members read, carries their option, and takes no member built by hand."""
    make_todo(alice, "kept")
    make_todo(alice, "trashed", trashed=True)
    live = visible(select(_todos.c.title).where(_todos.c.user_id == alice))
    union = visible_union([live.where(_todos.c.id > 0), live.where(_todos.c.id <= 0)])
    assert db.session.connection().execute(union).scalars().all() == ["kept"]
    assert union.get_execution_options()[SOFT_DELETE] == "live"
    by_hand = select(_todos.c.title)
    for members in ([live, by_hand], [live, visible(by_hand, TRASH_ROWS)]):
        with pytest.raises(TypeError, match="union"):
            visible_union(members)


def test_a_count_of_filtered_rows_keeps_their_filter_and_refuses_others(ctx, alice, make_todo):
    """The Completed section's count counts what its statement reads, with
    its option, and takes no statement built by hand."""
    make_todo(alice, "kept")
    make_todo(alice, "trashed", trashed=True)
    live = visible(select(_todos.c.id).where(_todos.c.user_id == alice))
    count = visible_count(live)
    assert db.session.connection().execute(count).scalar() == 1
    assert count.get_execution_options()[SOFT_DELETE] == "live"
    with pytest.raises(TypeError, match="visible"):
        visible_count(select(_todos.c.id))


def test_every_list_query_goes_through_the_mechanism(app, list_pages):
    """Each page that lists todos or lists, its first page and the one after:
    every statement they run that reads todos or lists carries the soft-delete
    option, which only the two forms of the mechanism set. A query written by
    hand, without it, fails here."""
    seen = []

    def record(_conn, clause, _multiparams, _params, options):
        if isinstance(clause, Select):
            seen.append((clause, {**clause.get_execution_options(), **options}))

    with app.app_context():
        event.listen(db.engine, "before_execute", record)
    try:
        pages = list_pages()
    finally:
        with app.app_context():
            event.remove(db.engine, "before_execute", record)
    reading_them = [
        (clause, options)
        for clause, options in seen
        if {_todos, _lists} & set(find_tables(clause, include_aliases=True, include_joins=True))
    ]
    assert len(reading_them) >= len(pages)
    unfiltered = [str(clause) for clause, options in reading_them if SOFT_DELETE not in options]
    assert unfiltered == []
