"""The bulk form of the trash pages: tick todos, then restore them or delete
them forever. Shared by the user's trash and the admin trash."""

from flask import abort, flash, request
from flask_login import current_user

from .models import parse_id
from .presentation import todos_count
from .services import todos

ACTIONS = ("restore", "purge")


def selection() -> tuple[str, list[int]]:
    """The action and the ticked ids. :raise 400: an unknown action or an id
    that is not a number (no browser sends either)."""
    action = request.form.get("action", "")
    ids = [parse_id(raw) for raw in request.form.getlist("ids")]
    if action not in ACTIONS or None in ids:
        abort(400)
    return action, sorted(set(ids))


def apply(*, owner_id: int | None) -> None:
    """Run the submitted bulk action on ``owner_id``'s trash (None: anyone's)
    and say what happened."""
    action, ids = selection()
    if not ids:
        flash("Tick at least one todo first.", "info")
        return
    run = todos.bulk_restore if action == "restore" else todos.bulk_purge
    try:
        done = run(ids, owner_id=owner_id, actor_id=current_user.id)
    except ValueError as exc:
        flash(str(exc), "error")
        return
    verb = "Restored" if action == "restore" else "Deleted forever"
    message = f"{verb}: {todos_count(done)}."
    if done < len(ids):
        message += f" {len(ids) - done} of those ticked were no longer in the trash."
    flash(message, "success" if done else "info")
