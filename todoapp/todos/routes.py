from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..services import lists, todos
from ..services.errors import NotFoundError
from ..web import cursor, fill_from_draft, per_page, safe_next, to_row, user_today
from .completed import completed_section
from .forms import EditTodoForm, MoveTodoForm, TodoForm

bp = Blueprint("todos", __name__)
bp.before_request(login_required(lambda: None))


def _render_list(form: TodoForm | type[TodoForm], status: int = 200, **where):
    """The todo list; ``form`` is the add form submitted, or its class on a
    plain GET (the empty form is rendered once, see macros.add_form)."""
    listing = todos.list_todos(current_user.id, per_page(), **where)
    completed = completed_section(
        listing,
        lambda: todos.count_completed(current_user.id),
        lambda n: todos.list_completed(current_user.id, n),
        lambda: url_for("todos.index", show="completed"),
    )
    return render_template(
        "todos/index.html",
        form=form,
        page=listing,
        today=user_today(),
        panel=lists.panel(current_user.id),
        completed=completed,
    ), status


@bp.get("/todos")
def index():
    if "show" in request.args:
        return _completed_page()
    return _render_list(TodoForm, **cursor())


def _completed_page():
    """Every done todo, across lists, newest first, a page at a time."""
    if request.args["show"] != "completed":
        raise NotFoundError("There is no such page.")
    page = todos.list_completed(current_user.id, per_page(), **cursor())
    return render_template(
        "todos/completed.html",
        page=page,
        today=user_today(),
        heading="Completed",
        back=(url_for("todos.index"), "Todos"),
        endpoint=("todos.index", {"show": "completed"}),
        names_lists=True,
    )


@bp.post("/todos")
def create():
    form = TodoForm()
    if form.validate_on_submit():
        todo = todos.create_todo(current_user.id, form.title.data, due_on=form.due_on.data)
        flash(f"Added “{todo.title}”.", "success")
        return redirect(url_for("todos.index"))
    return _render_list(form, status=422)


# The views of due dates across lists: (service, heading, what an empty page says).
_DUE_VIEWS = {
    "today": (todos.list_due_today, "Today", "Nothing is due today."),
    "overdue": (todos.list_overdue, "Overdue", "Nothing is overdue."),
}


def _due_view(name: str):
    listing, heading, empty = _DUE_VIEWS[name]
    today = user_today()
    page = listing(current_user.id, today, per_page(), **cursor())
    return render_template(
        "todos/due.html",
        page=page,
        today=today,
        heading=heading,
        empty=empty,
        endpoint=f"todos.{name}",
        panel=lists.panel(current_user.id),
    )


@bp.get("/todos/today")
def today():
    """The open todos due on the user's date, across lists."""
    return _due_view("today")


@bp.get("/todos/overdue")
def overdue():
    """The open todos due before the user's date, across lists, the longest overdue first."""
    return _due_view("overdue")


@bp.route("/todos/<id:todo_id>/edit", methods=["GET", "POST"])
def edit(todo_id: int):
    todo = todos.get_todo(todo_id, owner_id=current_user.id)
    # On POST only the submitted values count: a missing title is an error.
    form = EditTodoForm(obj=None if request.method == "POST" else todo)
    if request.method == "POST" and "due_on" not in request.form:
        # A form without the due date (from a server that predates it): kept.
        del form.due_on
    if request.method == "POST" and "list_id" not in request.form:
        # A form without the list (from a server that predates lists): the
        # todo stays in its list.
        del form.list_id
    else:
        form.list_id.choices = [(row.id, row.name) for row in lists.list_lists(current_user.id)]
        if request.method == "GET" and todo.list_id is None:  # before the backfill
            form.list_id.data = lists.inbox_of(current_user.id)
    if request.method == "GET":
        fill_from_draft(form)  # what was typed while the todo was in the trash
    next_url = safe_next(request.values.get("next"))
    if form.validate_on_submit():
        list_id = form.list_id.data if "list_id" in form else None
        due_on = form.due_on.data if "due_on" in form else todos.UNCHANGED
        todos.edit_todo(todo_id, current_user.id, form.title.data, list_id=list_id, due_on=due_on)
        flash("Saved.", "success")
        return redirect(to_row(next_url, f"todo-{todo_id}"))
    status = 422 if form.is_submitted() else 200
    return render_template("todos/edit.html", form=form, todo=todo, next_url=next_url), status


@bp.route("/todos/<id:todo_id>/move", methods=["GET", "POST"])
def move(todo_id: int):
    """Move a todo to another list: one press per list."""
    todo = todos.get_todo(todo_id, owner_id=current_user.id)
    form = MoveTodoForm()
    form.list_id.choices = [(row.id, row.name) for row in lists.list_lists(current_user.id)]
    next_url = safe_next(request.values.get("next"))
    if form.validate_on_submit():
        came_from = todo.list_id
        moved, found = todos.move_todo(todo_id, current_user.id, form.list_id.data)
        text = f"Moved “{moved.title}” to {found.name}."
        if came_from is None or came_from == found.id:  # no list yet, or no move
            flash(text, "success")
        else:
            flash({"text": text, "undo_move": todo_id, "to": came_from, "back": next_url}, "undo")
        return redirect(next_url)
    if form.list_id.errors:
        form.list_id.errors = ["That list is not one of your lists any more: pick another."]
    status = 422 if form.is_submitted() else 200
    return render_template("todos/move.html", form=form, todo=todo, next_url=next_url), status


@bp.post("/todos/<id:todo_id>/toggle")
def toggle(todo_id: int):
    todos.toggle_todo(todo_id, current_user.id)
    return redirect(to_row(safe_next(request.form.get("next")), f"todo-{todo_id}"))


@bp.post("/todos/<id:todo_id>/delete")
def delete(todo_id: int):
    todo = todos.trash_todo(todo_id, current_user.id, actor_id=current_user.id)
    back = safe_next(request.form.get("next"))
    flash({"text": f"Moved “{todo.title}” to the trash.", "undo": todo.id, "back": back}, "undo")
    return redirect(to_row(back))
