"""Fixtures. The schema always comes from the real migrations: a template
database is upgraded once per session with ``flask_migrate.upgrade()`` and
copied for each test."""

import re
import shutil

import flask_migrate
import pytest
from flask.testing import FlaskClient

from todoapp import create_app
from todoapp.extensions import db
from todoapp.services import todos, users

PASSWORD = "correct horse"
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def make_app(database_path, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database_path}",
        # Still scrypt, with a small work factor: the suite logs in hundreds of times.
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
    }
    config.update(overrides)
    return create_app(config)


def dispose(app):
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "todoapp.sqlite"
    app = make_app(path)
    with app.app_context():
        flask_migrate.upgrade()
    dispose(app)
    return path


class Client(FlaskClient):
    """A test client that sends forms the way a browser does: with the CSRF
    token of the page it came from."""

    def csrf_token(self) -> str:
        page = self.get("/auth/login", follow_redirects=True).get_data(as_text=True)
        return CSRF_INPUT.search(page).group(1)

    def submit(self, url, data=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)


@pytest.fixture
def app(migrated_database, tmp_path):
    path = tmp_path / "todoapp.sqlite"
    shutil.copy(migrated_database, path)
    app = make_app(path)
    app.test_client_class = Client
    yield app
    dispose(app)


@pytest.fixture
def client(app) -> Client:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    def make(username, *, admin=False, password=PASSWORD):
        with app.app_context():
            user = users.create_user(username, password, is_admin=admin)
            return user.id

    return make


@pytest.fixture
def make_todo(app):
    def make(owner_id, title="a todo", *, trashed=False):
        with app.app_context():
            todo = todos.create_todo(owner_id, title)
            if trashed:
                todos.trash_todo(todo.id, owner_id, actor_id=owner_id)
            return todo.id

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
