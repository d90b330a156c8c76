from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..bulk import apply as apply_bulk
from ..lists.forms import ListForm
from ..presentation import todos_count
from ..services import lists, todos
from ..web import EmptyForm, cursor, per_page, safe_next, to_row

bp = Blueprint("trash", __name__, url_prefix="/trash")
bp.before_request(login_required(lambda: None))


@bp.get("")
def index():
    listing = todos.list_trash(current_user.id, per_page(), **cursor())
    return render_template("trash/index.html", page=listing)


@bp.get("/<id:todo_id>/restore")
def confirm_restore(todo_id: int):
    todo = todos.get_todo(todo_id, owner_id=current_user.id, trashed=True)
    home = todos.trashed_list_of(todo)
    return render_template("trash/restore.html", todo=todo, home=home, button=EmptyForm())


@bp.post("/<id:todo_id>/restore")
def restore(todo_id: int):
    into = request.form.get("into")
    try:
        todo = todos.restore_todo(
            todo_id,
            owner_id=current_user.id,
            actor_id=current_user.id,
            into=into if into in ("list", "inbox") else None,
        )
    except todos.ListInTrash:
        # Its list is in the trash: the details page asks where it goes.
        return redirect(url_for("trash.confirm_restore", todo_id=todo_id))
    except lists.NameTaken:
        flash("Its list's name is taken now: restore the list first, under another name.", "info")
        return redirect(url_for("trash.confirm_restore", todo_id=todo_id))
    where = " to the Inbox" if into == "inbox" else ""
    flash(f"Restored “{todo.title}”{where}.", "success")
    # From a trash page, its next row; from Undo, the todo back in its list.
    return redirect(to_row(safe_next(request.form.get("next"), "trash.index")))


@bp.post("/<id:todo_id>/purge")
def purge(todo_id: int):
    title = todos.purge_todo(todo_id, owner_id=current_user.id, actor_id=current_user.id)
    flash(f"Deleted “{title}” forever.", "success")
    return redirect(to_row(safe_next(request.form.get("next"), "trash.index")))


def _list_page(list_id: int, form: ListForm | None = None, status: int = 200):
    found = lists.get_list(list_id, owner_id=current_user.id, trashed=True)
    return restore_list_page(
        found, form, status, action=url_for("trash.restore_list", list_id=list_id)
    )


def restore_list_page(
    found, form: ListForm | None, status: int, *, action: str, back_url: str | None = None
):
    """The details of a trashed list, with the restore form: a name field
    when its name is taken now, filled with a suggestion."""
    try:
        lists.check_name_free(found)
        taken = None
    except lists.NameTaken as exc:
        taken = exc
    if form is None:
        form = ListForm(formdata=None, name=taken.suggestion if taken else found.name)
    return render_template(
        "trash/restore_list.html",
        list=found,
        taken=taken,
        form=form,
        action=action,
        back_url=back_url,
    ), status


@bp.get("/lists/<id:list_id>/restore")
def confirm_restore_list(list_id: int):
    return _list_page(list_id)


def restore_list_from_form(list_id: int, *, owner_id: int | None, page, ask_again: str):
    """The restore form of a trashed list, posted (the owner's trash and the
    admin's): the list restored (``lists.Trashed``), or the response to send
    instead: ``page(list_id, form, status)`` again with the form's errors, or
    a redirect to ``ask_again`` when its name was taken since."""
    form = ListForm()
    renamed = "name" in request.form
    if renamed and not form.validate_on_submit():
        return page(list_id, form, status=422)
    try:
        return lists.restore_list(
            list_id,
            owner_id=owner_id,
            actor_id=current_user.id,
            new_name=form.name.data if renamed else None,
        )
    except lists.NameTaken as exc:
        if not renamed:  # the name was taken since: ask for another one
            return redirect(ask_again)
        form.name.errors.append(f"{exc} Try “{exc.suggestion}”.")
        return page(list_id, form, status=422)


@bp.post("/lists/<id:list_id>/restore")
def restore_list(list_id: int):
    back = restore_list_from_form(
        list_id,
        owner_id=current_user.id,
        page=_list_page,
        ask_again=url_for("trash.confirm_restore_list", list_id=list_id),
    )
    if not isinstance(back, lists.Trashed):
        return back
    flash(f"Restored the list “{back.list.name}”, with {todos_count(back.todos)}.", "success")
    return redirect(to_row(safe_next(request.form.get("next"), "trash.index")))


@bp.post("/lists/<id:list_id>/purge")
def purge_list(list_id: int):
    gone = lists.purge_list(list_id, owner_id=current_user.id, actor_id=current_user.id)
    flash(f"Deleted the list “{gone.name}” and {todos_count(gone.todos)} forever.", "success")
    return redirect(to_row(safe_next(request.form.get("next"), "trash.index")))


@bp.post("/bulk")
def bulk():
    """Restore, or delete forever, the ticked todos and lists of one's own trash."""
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
        flash("Emptied the trash.", "info")
    return redirect(url_for("trash.index"))
