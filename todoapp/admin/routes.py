from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

from ..bulk import apply as apply_bulk
from ..presentation import todos_count
from ..services import activity, lists, todos, users
from ..services.errors import NotFoundError
from ..trash.routes import restore_list_from_form, restore_list_page
from ..web import EmptyForm, cursor, per_page, safe_next, to_row

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
    into = request.form.get("into")
    try:
        todo = todos.restore_todo(
            todo_id, actor_id=current_user.id, into=into if into in ("list", "inbox") else None
        )
    except todos.ListInTrash as asked:
        # Its list is in the trash: ask where it goes, as the owner is asked.
        return render_template(
            "trash/restore.html",
            todo=asked.todo,
            home=asked.list,
            admin=True,
            restore_url=url_for("admin.restore", todo_id=todo_id),
            purge_url=url_for("admin.purge", todo_id=todo_id),
            back_url=url_for("admin.trash"),
        )
    except lists.NameTaken:
        flash("Its list's name is taken now: restore the list first, under another name.", "info")
        return redirect(url_for("admin.trash"))
    flash(f"Restored “{todo.title}” for {todo.owner.username}.", "success")
    return redirect(to_row(safe_next(request.form.get("next"), "admin.trash")))


@bp.get("/trash/lists/<id:list_id>/restore")
def confirm_restore_list(list_id: int):
    return _list_page(list_id)


def _list_page(list_id: int, form=None, status: int = 200):
    found = lists.get_list(list_id, trashed=True)
    return restore_list_page(
        found,
        form,
        status,
        action=url_for("admin.restore_list", list_id=list_id),
        back_url=url_for("admin.trash"),
    )


@bp.post("/trash/lists/<id:list_id>/restore")
def restore_list(list_id: int):
    back = restore_list_from_form(
        list_id,
        owner_id=None,
        page=_list_page,
        ask_again=url_for("admin.confirm_restore_list", list_id=list_id),
    )
    if not isinstance(back, lists.Trashed):
        return back
    flash(
        f"Restored the list “{back.list.name}” for {back.list.owner.username}, "
        f"with {todos_count(back.todos)}.",
        "success",
    )
    return redirect(to_row(safe_next(request.form.get("next"), "admin.trash")))


@bp.post("/trash/lists/<id:list_id>/purge")
def purge_list(list_id: int):
    gone = lists.purge_list(list_id, actor_id=current_user.id)
    flash(f"Deleted the list “{gone.name}” and {todos_count(gone.todos)} forever.", "success")
    return redirect(to_row(safe_next(request.form.get("next"), "admin.trash")))


@bp.post("/trash/<id:todo_id>/purge")
def purge(todo_id: int):
    title = todos.purge_todo(todo_id, actor_id=current_user.id)
    flash(f"Deleted “{title}” forever.", "success")
    return redirect(to_row(safe_next(request.form.get("next"), "admin.trash")))


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
    purge = todos.purge_expired(
        days, max_batches=current_app.config["WEB_PURGE_BATCHES"], actor_id=current_user.id
    )
    message = f"Purged {todos_count(purge.deleted)} trashed more than {days} days ago."
    if not purge.finished and (left := todos.count_expired(days)):
        message += (
            f" Still due: {todos_count(left)}. Press “Purge expired” again, "
            "or run “flask trash purge” on the server for the whole backlog."
        )
    flash(message, "success" if purge.deleted else "info")
    return redirect(url_for("admin.trash"))


@bp.get("/users")
def users_page():
    """Every account, a page at a time in username order, with its todo counts."""
    after = request.args.get("after")
    if after is not None and users.get_user_by_username(after) is None:
        raise NotFoundError("There is no such page.")
    accounts = users.list_accounts(per_page(), after_name=after)
    more = len(accounts) > per_page()
    accounts = accounts[: per_page()]
    return render_template(
        "admin/users.html",
        accounts=accounts,
        older=accounts[-1].username if more else None,
        first=after is None,
        button=EmptyForm(),
    )


# What each account action does: the service call, and what the flash says.
ACCOUNT_ACTIONS = {
    "disable": (lambda name, me: users.set_disabled(name, True, actor_id=me), "disabled"),
    "enable": (lambda name, me: users.set_disabled(name, False, actor_id=me), "enabled"),
    "grant-admin": (
        lambda name, me: users.set_admin(name, True, actor_id=me),
        "is now an administrator",
    ),
    "revoke-admin": (
        lambda name, me: users.set_admin(name, False, actor_id=me),
        "is no longer an administrator",
    ),
}


@bp.post("/users/<username>/<any(disable, enable, 'grant-admin', 'revoke-admin'):action>")
def account_action(username: str, action: str):
    """Disable or enable an account, grant or revoke admin rights."""
    run, done = ACCOUNT_ACTIONS[action]
    try:
        user = run(username, current_user.id)
    except (users.OwnAccountError, users.LastAdminError) as exc:
        flash(str(exc), "error")
    else:
        flash(f"{user.username} {done}.", "success")
    return redirect(safe_next(request.form.get("next"), "admin.users_page"))


# The session key of a temporary password just given, until its page shows it.
GIVEN_KEY = "temporary_password"


@bp.post("/users/<username>/temporary-password")
def temporary_password(username: str):
    """A new random password for the account, to hand over: kept in the
    session until the page it redirects to shows it, once."""
    try:
        password = users.set_temporary_password(username, actor_id=current_user.id)
    except users.OwnAccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.users_page"))
    session[GIVEN_KEY] = {"username": username, "password": password}
    return redirect(url_for("admin.show_temporary_password", username=username))


@bp.get("/users/<username>/temporary-password")
def show_temporary_password(username: str):
    """The password just given, once: a reload, or a visit later, finds it
    gone rather than giving another one."""
    given = session.pop(GIVEN_KEY, None)
    if not given or given.get("username") != username:
        flash(
            f"A temporary password is shown only once. If {username} did not get it, "
            "give a new one from here.",
            "info",
        )
        return redirect(url_for("admin.users_page"))
    return render_template(
        "admin/temporary_password.html", username=username, password=given["password"]
    )


@bp.get("/activity")
def activity_page():
    """The activity log, newest first, filterable by user and action, and
    the trash figures per day."""
    user_name = request.args.get("user", "").strip()
    action = request.args.get("action", "") or None
    if action is not None and action not in activity.ACTIONS:
        raise NotFoundError("There is no such action.")
    user = users.get_user_by_username(user_name) if user_name else None
    if user_name and user is None:
        listing = todos.Page(items=[])
    else:
        listing = activity.list_activity(
            per_page(), user_id=user.id if user else None, action=action, **cursor()
        )
    return render_template(
        "admin/activity.html",
        page=listing,
        user_name=user_name,
        user=user,
        action=action,
        actions=activity.ACTIONS,
        figures=activity.trash_per_day(),
    )
