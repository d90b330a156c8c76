"""Fixtures. The schema always comes from the real migrations: a template
database is upgraded once per session with ``flask_migrate.upgrade()`` and
copied for each test.

The suite runs on SQLite by default. With ``TEST_DATABASE_URL`` set to a
PostgreSQL server (``bash .ci/with-postgres make test`` does that), every test
gets its own PostgreSQL database instead, cloned from a migrated template.
"""

import os
import re
import shutil
import textwrap
import uuid
from datetime import UTC, datetime
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask.testing import FlaskClient
from hypothesis import settings
from werkzeug.datastructures import MultiDict

from todoapp import ROOT, create_app
from todoapp.extensions import db
from todoapp.migration_tools import naming
from todoapp.services import todos, users
from todoapp.services import todos as todos_service

PASSWORD = "correct horse"
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SERVER_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKEND = "postgresql" if SERVER_URL.startswith("postgresql") else "sqlite"

# Property tests check what is built, not how fast: a loaded CI machine must
# not fail an example for taking long.
settings.register_profile("todoapp", deadline=None)
settings.load_profile("todoapp")


def make_app(database_url, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test secret",
        "SQLALCHEMY_DATABASE_URI": str(database_url),
        # Still scrypt, with a small work factor: the suite logs in hundreds of times.
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
    }
    config.update(overrides)
    return create_app(config)


def dispose(app):
    with app.app_context():
        db.engine.dispose()


def migrate(url):
    app = make_app(url)
    with app.app_context():
        flask_migrate.upgrade()
    dispose(app)


class SQLiteDatabases:
    def __init__(self, directory):
        self.directory = directory
        self.template = directory / "template.sqlite"
        migrate(f"sqlite:///{self.template}")

    def migrated(self):
        path = self.directory / f"{uuid.uuid4().hex}.sqlite"
        shutil.copy(self.template, path)
        return f"sqlite:///{path}"

    def empty(self):
        return f"sqlite:///{self.directory / uuid.uuid4().hex}.sqlite"

    def drop(self, url):
        path = sa.make_url(url).database
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)

    def close(self):
        pass


class PostgresDatabases:
    """One database per test, cloned from a migrated template (fast in PostgreSQL)."""

    def __init__(self, server_url):
        self.server = sa.make_url(server_url)
        self.admin = sa.create_engine(
            self.server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
        )
        self.prefix = f"todoapp_test_{os.getpid()}"
        self.created = []
        self.template = self._create("template")
        migrate(self._url(self.template))

    def _url(self, name):
        return self.server.set(database=name).render_as_string(hide_password=False)

    def _create(self, suffix, template="template0"):
        name = f"{self.prefix}_{suffix}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self.created.append(name)
        return name

    def migrated(self):
        return self._url(self._create(uuid.uuid4().hex[:12], template=self.template))

    def empty(self):
        return self._url(self._create(uuid.uuid4().hex[:12]))

    def drop(self, url):
        name = sa.make_url(url).database
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def close(self):
        for name in list(self.created):
            self.drop(self._url(name))
        self.admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    if BACKEND == "postgresql":
        provider = PostgresDatabases(SERVER_URL)
    else:
        provider = SQLiteDatabases(tmp_path_factory.mktemp("databases"))
    yield provider
    provider.close()


@pytest.fixture
def database_url(databases):
    """A database of its own for one test, migrated to head."""
    url = databases.migrated()
    yield url
    databases.drop(url)


@pytest.fixture
def empty_database_url(databases):
    url = databases.empty()
    yield url
    databases.drop(url)


@pytest.fixture
def empty_app(empty_database_url):
    """An app on an empty database (no tables), inside its app context."""
    app = make_app(empty_database_url)
    with app.app_context():
        yield app
    dispose(app)


def migrate_config(app, *x_args):
    """The Alembic config `flask db` would use, with ``-x`` arguments."""
    return app.extensions["migrate"].migrate.get_config(x_arg=list(x_args))


def next_file_date(directory) -> str:
    """The date for a new revision file in ``directory``: today, or the
    newest revision's date if that is later, so the new file sorts last."""
    dates = [path.name[:10] for path in (Path(directory) / "versions").glob("*.py")]
    return max([f"{datetime.now(UTC):%Y_%m_%d}", *dates])


def write_revision(directory, message, upgrade, downgrade="pass", *, parents=None, header=""):
    """Add a revision to the migrations directory ``directory``, on top of its
    head (or ``parents``), named the house way. ``upgrade`` and ``downgrade``
    are function bodies; ``header`` is module-level source (declarations).
    Returns the new revision's id."""
    script = ScriptDirectory(str(Path(directory)))
    parents = tuple(script.get_heads() if parents is None else parents)
    rev_id = naming.next_revision_id(script, message, parents)
    down = parents[0] if len(parents) == 1 else parents
    source = (
        f'"""{message}"""\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        f"revision = {rev_id!r}\ndown_revision = {down!r}\n"
        "branch_labels = None\ndepends_on = None\n"
        f"{textwrap.dedent(header)}\n\n"
        f"def upgrade():\n{textwrap.indent(textwrap.dedent(upgrade).strip(), '    ')}\n\n\n"
        f"def downgrade():\n{textwrap.indent(textwrap.dedent(downgrade).strip(), '    ')}\n"
    )
    path = Path(directory) / "versions" / f"{next_file_date(directory)}_{rev_id}.py"
    path.write_text(source, encoding="utf-8")
    return rev_id


@pytest.fixture
def scratch_migrations(tmp_path):
    """A copy of migrations/ to add revisions to, leaving the real one alone."""
    directory = tmp_path / "migrations"
    shutil.copytree(ROOT / "migrations", directory, ignore=shutil.ignore_patterns("__pycache__"))
    return directory


class Client(FlaskClient):
    """A test client that sends forms the way a browser does: with the CSRF
    token of the page it came from."""

    def csrf_token(self) -> str:
        page = self.get("/auth/login", follow_redirects=True).get_data(as_text=True)
        return CSRF_INPUT.search(page).group(1)

    def submit(self, url, data=None, **kwargs):
        data = MultiDict(data or {})  # keeps repeated fields, such as ticked ids
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)


@pytest.fixture
def app(database_url):
    app = make_app(database_url)
    app.test_client_class = Client
    yield app
    dispose(app)


@pytest.fixture
def client(app) -> Client:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def add_user(app, username, *, admin=False, password=PASSWORD):
    """A user made through the service, as the fixtures below make them; its id.
    Plain functions, so a module-scoped fixture can fill a database too."""
    with app.app_context():
        return users.create_user(username, password, is_admin=admin).id


def add_todo(
    app, owner_id, title="a todo", *, trashed=False, list_id=None, due_on=None, done=False
):
    with app.app_context():
        todo = todos.create_todo(owner_id, title, list_id=list_id, due_on=due_on)
        if done:
            todos.toggle_todo(todo.id, owner_id)
        if trashed:
            todos.trash_todo(todo.id, owner_id, actor_id=owner_id)
        return todo.id


def add_list(app, owner_id, name="Groceries", *, todos=0, trashed=False):
    from todoapp.services import lists

    with app.app_context():
        made = lists.create_list(owner_id, name, actor_id=owner_id)
        for n in range(todos):
            todos_service.create_todo(owner_id, f"{name} {n}", list_id=made.id)
        if trashed:
            lists.trash_list(made.id, owner_id, actor_id=owner_id)
        return made.id


@pytest.fixture
def make_user(app):
    def make(username, *, admin=False, password=PASSWORD):
        return add_user(app, username, admin=admin, password=password)

    return make


@pytest.fixture
def make_todo(app):
    def make(owner_id, title="a todo", *, trashed=False, list_id=None, due_on=None, done=False):
        return add_todo(
            app, owner_id, title, trashed=trashed, list_id=list_id, due_on=due_on, done=done
        )

    return make


@pytest.fixture
def make_list(app):
    """make_list(owner_id, name, todos=N, trashed=False): a list with N todos; its id."""

    def make(owner_id, name="Groceries", *, todos=0, trashed=False):
        return add_list(app, owner_id, name, todos=todos, trashed=trashed)

    return make


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, username, password=PASSWORD):
        return self.client.submit("/auth/login", {"username": username, "password": password})

    def logout(self):
        return self.client.submit("/auth/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def admin(make_user):
    return make_user("root", admin=True)


@pytest.fixture
def list_pages(app, client, auth, alice, admin, make_todo, make_list):
    """Seeds every kind of list page (two rows a page, so each has an older
    page) and returns a function that visits them all, logged in as their
    user: each page, then the one its "Older" link names. It returns the
    paths it read."""
    app.config["TODOS_PER_PAGE"] = 2
    for n in range(5):
        make_todo(alice, f"todo {n}")
        make_todo(alice, f"trashed {n}", trashed=True)
    groceries = make_list(alice, "Groceries", todos=3)
    make_list(alice, "Old", todos=1, trashed=True)
    with app.app_context():
        from todoapp.services import lists, todos

        inbox = lists.inbox(alice)
        todo_id = todos.create_todo(alice, "in groceries", list_id=groceries).id
    pages = {
        "alice": ["/todos", "/lists", f"/lists/{inbox}", f"/lists/{groceries}", "/trash"]
        + [f"/todos/{todo_id}/edit"],
        "root": ["/admin/trash", "/admin/trash?user=alice"],
    }

    def visit() -> list[str]:
        read = []
        for username, paths in pages.items():
            auth.login(username)
            for path in paths:
                for _ in range(2):
                    page = client.get(path)
                    assert page.status_code == 200, path
                    read.append(path)
                    older = re.search(r'rel="next" href="([^"]+)"', page.get_data(as_text=True))
                    if older is None:
                        break
                    path = older.group(1).replace("&amp;", "&")
            auth.logout()
        return read

    return visit
