from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from ..services import lists
from ..services import search as searching
from ..web import cursor, per_page

bp = Blueprint("search", __name__)
bp.before_request(login_required(lambda: None))


@bp.get("/search")
def index():
    results = searching.search(current_user.id, request.args.get("q"), per_page(), **cursor())
    return render_template(
        "search/index.html", results=results, page=results.todos, panel=lists.panel(current_user.id)
    )
