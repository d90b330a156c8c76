from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from ..bulk import apply as apply_bulk
from ..presentation import todos_count
from ..services import todos, users
from ..web import cursor, per_page, safe_next

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_admin():
    """:raise 403: the user is not an administrator."""
    if not current_user.is_admin:
        abort(403)


@bp.get("/trash")
def trash():
    owner_name = request.args.get("user", "").strip()
    owner = users.get_user_by_username(owner_name) if owner_name else None
    if owner_name and owner is None:
        listing = todos.Page(items=[])
    else:
        listing = todos.list_all_trash(per_page(), owner_id=owner.id if owner else None, **cursor())
    return render_template(
        "admin/trash.html",
        page=listing,
        owner_name=owner_name,
        owner=owner,
        retention_days=current_app.config["TRASH_RETENTION_DAYS"],
    )


@bp.post("/trash/<id:todo_id>/restore")
def restore(todo_id: int):
    todo = todos.restore_todo(todo_id)
    flash(f"Restored “{todo.title}” for {todo.owner.username}.", "success")
    return redirect(safe_next(request.form.get("next"), "admin.trash"))


@bp.post("/trash/<id:todo_id>/purge")
def purge(todo_id: int):
    title = todos.purge_todo(todo_id)
    flash(f"Deleted “{title}” forever.", "success")
    return redirect(safe_next(request.form.get("next"), "admin.trash"))


@bp.post("/trash/bulk")
def bulk():
    """Restore, or delete forever, the ticked todos of anyone's trash."""
    apply_bulk(owner_id=None)
    return redirect(safe_next(request.form.get("next"), "admin.trash"))


@bp.post("/trash/purge-expired")
def purge_expired():
    """Purge what has expired, as much as one request may: a large backlog
    is left for the next press, or for ``flask trash purge``, and said so."""
    days = current_app.config["TRASH_RETENTION_DAYS"]
    purge = todos.purge_expired(days, max_batches=current_app.config["WEB_PURGE_BATCHES"])
    message = f"Purged {todos_count(purge.deleted)} trashed more than {days} days ago."
    if not purge.finished and (left := todos.count_expired(days)):
        message += (
            f" Still due: {todos_count(left)}. Press “Purge expired” again, "
            "or run “flask trash purge” on the server for the whole backlog."
        )
    flash(message, "success" if purge.deleted else "info")
    return redirect(url_for("admin.trash"))
