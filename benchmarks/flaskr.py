"""A reference side for target 1: what Flask's tutorial app (flaskr) does for
its logged-in index, written small. Plain sqlite3, no ORM, a signed-cookie
session holding the user id, the user read on every request, and one
template with a base layout; no CSRF, no login library, no security headers,
no soft delete. Served by gunicorn exactly like todoapp.

The database file comes from ``FLASKR_DATABASE``; ``seed(path, posts)``
makes it: one user (benchmarks.data's name and password) and that many posts.
"""

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, g, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

SCHEMA = """
CREATE TABLE user (id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT UNIQUE NOT NULL,
                   password TEXT NOT NULL);
CREATE TABLE post (id INTEGER PRIMARY KEY AUTOINCREMENT, author_id INTEGER NOT NULL,
                   created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, title TEXT NOT NULL,
                   body TEXT NOT NULL, FOREIGN KEY (author_id) REFERENCES user (id));
"""

app = Flask(__name__, template_folder=str(Path(__file__).with_name("flaskr_templates")))
app.config["SECRET_KEY"] = "flaskr reference side"


def get_db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = sqlite3.connect(os.environ["FLASKR_DATABASE"], detect_types=sqlite3.PARSE_DECLTYPES)
        g.db.row_factory = sqlite3.Row
    return g.db


@app.teardown_appcontext
def close_db(_error=None) -> None:
    if (db := g.pop("db", None)) is not None:
        db.close()


@app.before_request
def load_logged_in_user() -> None:
    user_id = session.get("user_id")
    g.user = (
        None
        if user_id is None
        else get_db().execute("SELECT * FROM user WHERE id = ?", (user_id,)).fetchone()
    )


@app.route("/auth/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        user = (
            get_db()
            .execute("SELECT * FROM user WHERE username = ?", (request.form["username"],))
            .fetchone()
        )
        if user is not None and check_password_hash(user["password"], request.form["password"]):
            session.clear()
            session["user_id"] = user["id"]
            return redirect(url_for("index"))
    return "<form method=post><input name=username><input name=password></form>"


@app.get("/auth/register", endpoint="register")
@app.get("/auth/logout", endpoint="logout")
@app.get("/create", endpoint="create")
@app.get("/<int:id>/update", endpoint="update")
def not_measured(**_kwargs):
    """The tutorial's other pages: only here so the index can link to them."""
    return "not part of the benchmark", 404


@app.get("/")
def index():
    posts = (
        get_db()
        .execute(
            "SELECT p.id, title, body, created, author_id, username"
            " FROM post p JOIN user u ON p.author_id = u.id ORDER BY created DESC"
        )
        .fetchall()
    )
    return render_template("index.html", posts=posts)


def seed(path: Path, posts: int, username: str, password: str) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        db.execute(
            "INSERT INTO user (username, password) VALUES (?, ?)",
            (username, generate_password_hash(password)),
        )
        now = datetime.now(UTC).replace(tzinfo=None)
        db.executemany(
            "INSERT INTO post (author_id, created, title, body) VALUES (1, ?, ?, ?)",
            [
                (now, f"Post number {n}", f"The body of post {n}, a line or two.")
                for n in range(posts)
            ],
        )
