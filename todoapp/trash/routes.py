from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..bulk import apply as apply_bulk
from ..presentation import todos_count
from ..services import todos
from ..web import EmptyForm, cursor, per_page, safe_next

bp = Blueprint("trash", __name__, url_prefix="/trash")
bp.before_request(login_required(lambda: None))


@bp.get("")
def index():
    listing = todos.list_trash(current_user.id, per_page(), **cursor())
    return render_template("trash/index.html", page=listing)


@bp.get("/<id:todo_id>/restore")
def confirm_restore(todo_id: int):
    todo = todos.get_todo(todo_id, owner_id=current_user.id, trashed=True)
    return render_template("trash/restore.html", todo=todo, button=EmptyForm())


@bp.post("/<id:todo_id>/restore")
def restore(todo_id: int):
    todo = todos.restore_todo(todo_id, owner_id=current_user.id, actor_id=current_user.id)
    flash(f"Restored “{todo.title}”.", "success")
    return redirect(safe_next(request.form.get("next"), "trash.index"))


@bp.post("/<id:todo_id>/purge")
def purge(todo_id: int):
    title = todos.purge_todo(todo_id, owner_id=current_user.id, actor_id=current_user.id)
    flash(f"Deleted “{title}” forever.", "success")
    return redirect(safe_next(request.form.get("next"), "trash.index"))


@bp.post("/bulk")
def bulk():
    """Restore, or delete forever, the ticked todos of one's own trash."""
    apply_bulk(owner_id=current_user.id)
    return redirect(safe_next(request.form.get("next"), "trash.index"))


@bp.post("/empty")
def empty():
    purge = todos.empty_trash(
        current_user.id,
        max_batches=current_app.config["WEB_PURGE_BATCHES"],
        actor_id=current_user.id,
    )
    if not purge.finished:
        flash(
            f"Deleted {todos_count(purge.deleted)} forever. There are more in the trash: "
            "press “Empty trash” again to go on."
        )
    elif purge.deleted:
        flash(f"Emptied the trash: {todos_count(purge.deleted)} deleted forever.")
    else:
        flash("The trash was already empty.", "info")
    return redirect(url_for("trash.index"))
