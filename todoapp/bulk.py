"""The bulk form of the trash pages: tick todos and lists, then restore them
or delete them forever. Shared by the user's trash and the admin trash."""

from flask import abort, flash, request
from flask_login import current_user

from .presentation import todos_count
from .services import todos
from .services.pages import parse_id

ACTIONS = ("restore", "purge")


def _ids(field: str) -> list[int]:
    ids = [parse_id(raw) for raw in request.form.getlist(field)]
    if None in ids:
        abort(400)
    return sorted(set(ids))


def selection() -> tuple[str, list[int], list[int]]:
    """The action, the ticked todo ids and the ticked list ids. :raise 400:
    an unknown action or an id that is not a number (no browser sends either)."""
    action = request.form.get("action", "")
    if action not in ACTIONS:
        abort(400)
    return action, _ids("ids"), _ids("list_ids")


def apply(*, owner_id: int | None) -> None:
    """Run the submitted bulk action on ``owner_id``'s trash (None: anyone's)
    and say what happened."""
    action, ids, list_ids = selection()
    ticked = len(ids) + len(list_ids)
    if not ticked:
        flash(
            "Nothing was ticked. Tick the todos and lists to restore or delete, "
            "then press the button again.",
            "info",
        )
        return
    run = todos.bulk_restore if action == "restore" else todos.bulk_purge
    try:
        result = run(ids, list_ids, owner_id=owner_id, actor_id=current_user.id)
    except ValueError as exc:
        flash(str(exc), "error")
        return
    verb = "Restored" if action == "restore" else "Deleted forever"
    what = _entries(result.done) if list_ids else todos_count(result.done)
    message = f"{verb}: {what}."
    if result.held_back:
        message += (
            f" {result.held_back} of those ticked need a choice first (a todo whose list is in"
            " the trash, or a list whose name is taken now): restore them one by one."
        )
    gone = ticked - result.done - result.held_back
    if gone:
        message += f" {gone} of those ticked were no longer in the trash."
    flash(message, "success" if result.done else "info")


def _entries(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"
