"""A user's lists: the lists page, one list's page, create, rename, delete."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..services import lists, todos
from ..services.errors import NotFoundError
from ..todos.completed import completed_section
from ..todos.forms import TodoForm
from ..web import cursor, fill_from_draft, per_page, safe_next, take_draft, user_today
from .forms import ListForm

bp = Blueprint("lists", __name__, url_prefix="/lists")
bp.before_request(login_required(lambda: None))


def _index(form: ListForm | type[ListForm], status: int = 200):
    """The lists page; ``form`` as in todos.routes._render_list."""
    return render_template(
        "lists/index.html", form=form, lists=lists.list_lists(current_user.id)
    ), status


@bp.get("")
def index():
    return _index(ListForm)


@bp.post("")
def create():
    form = ListForm()
    if form.validate_on_submit():
        try:
            created = lists.create_list(current_user.id, form.name.data, actor_id=current_user.id)
        except ValueError as exc:
            form.name.errors.append(str(exc))
        else:
            flash(f"Created the list “{created.name}”.", "success")
            return redirect(url_for("lists.show", list_id=created.id))
    return _index(form, status=422)


# How a list's page may be ordered (``?order=``): newest first, or by due date.
ORDERS = {None: todos.list_in_list, "due": todos.list_in_list_by_due}


def _show(found, form: TodoForm | type[TodoForm], status: int = 200):
    order = request.args.get("order")
    listing = ORDERS.get(order)
    if listing is None:
        raise NotFoundError("There is no such ordering.")
    if "show" in request.args:
        return _completed_page(found)
    page = listing(found, per_page(), **cursor())
    completed = completed_section(
        page,
        lambda: todos.count_completed_in_list(found),
        lambda n: todos.list_in_list(found, n, done=True),
        lambda: url_for("lists.show", list_id=found.id, show="completed"),
    )
    return render_template(
        "lists/show.html",
        list=found,
        form=form,
        page=page,
        order=order,
        today=user_today(),
        panel=lists.panel(current_user.id),
        completed=completed,
    ), status


def _completed_page(found):
    """A list's done todos, newest first, a page at a time."""
    if request.args["show"] != "completed":
        raise NotFoundError("There is no such page.")
    page = todos.list_in_list(found, per_page(), done=True, **cursor())
    return render_template(
        "todos/completed.html",
        page=page,
        today=user_today(),
        heading=f"Completed in {found.name}",
        back=(url_for("lists.show", list_id=found.id), found.name),
        endpoint=("lists.show", {"list_id": found.id, "show": "completed"}),
        names_lists=False,
    )


@bp.get("/<id:list_id>")
def show(list_id: int):
    found = lists.get_list(list_id, owner_id=current_user.id)
    # What was typed while the list was in the trash, if anything.
    draft = take_draft()
    return _show(found, TodoForm(formdata=None, data=draft) if draft else TodoForm)


@bp.post("/<id:list_id>")
def add_todo(list_id: int):
    """Add a todo to this list."""
    found = lists.get_list(list_id, owner_id=current_user.id)
    form = TodoForm()
    if form.validate_on_submit():
        todo = todos.create_todo(
            current_user.id, form.title.data, list_id=found.id, due_on=form.due_on.data
        )
        flash(f"Added “{todo.title}” to {found.name}.", "success")
        return redirect(url_for("lists.show", list_id=found.id))
    return _show(found, form, status=422)


@bp.route("/<id:list_id>/edit", methods=["GET", "POST"])
def edit(list_id: int):
    found = lists.get_list(list_id, owner_id=current_user.id)
    if found.is_inbox:
        raise NotFoundError("The Inbox can't be renamed.")
    form = ListForm(obj=None if request.method == "POST" else found)
    if request.method == "GET":
        fill_from_draft(form)
    if form.validate_on_submit():
        try:
            lists.rename_list(found.id, current_user.id, form.name.data, actor_id=current_user.id)
        except ValueError as exc:
            form.name.errors.append(str(exc))
        else:
            flash("Renamed.", "success")
            return redirect(url_for("lists.show", list_id=found.id))
    status = 422 if form.is_submitted() else 200
    return render_template("lists/edit.html", form=form, list=found), status


@bp.post("/<id:list_id>/delete")
def delete(list_id: int):
    try:
        trashed = lists.trash_list(list_id, current_user.id, actor_id=current_user.id)
    except lists.InboxIsFixed as exc:
        flash(str(exc), "error")
        return redirect(safe_next(request.form.get("next"), "lists.index"))
    # Undo goes back to the page Delete was pressed on; until then, a page
    # of the list itself is gone, and the lists page stands in for it.
    back = safe_next(request.form.get("next"), "lists.index")
    flash(
        {
            "text": f"Moved the list “{trashed.list.name}”, with "
            f"{trashed.todos} todo{'' if trashed.todos == 1 else 's'}, to the trash.",
            "undo_list": trashed.list.id,
            "back": back,
        },
        "undo",
    )
    own_pages = url_for("lists.show", list_id=list_id)
    gone = urlsplit(back).path in (own_pages, url_for("lists.edit", list_id=list_id))
    return redirect(url_for("lists.index") if gone else back)
