import os
import subprocess
import sys

import flask_migrate

from todoapp import ROOT
from todoapp.services.health import head_revision

from .conftest import dispose, make_app, write_revision


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    head = head_revision()
    assert response.json == {"status": "ok", "database": "ok", "revision": head, "head": head}
    assert "Set-Cookie" not in response.headers


def test_behind_head_is_503(empty_database_url):
    app = make_app(empty_database_url)
    with app.app_context():
        flask_migrate.upgrade(revision="0002")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "behind"
    assert (response.json["revision"], response.json["head"]) == ("0002", head_revision())
    dispose(app)


def test_a_database_a_newer_release_migrated_is_200(empty_database_url, scratch_migrations):
    """Rolling deploy: the new release adds a revision and migrates; the
    servers still on this release keep passing their health check."""
    newer = write_revision(
        scratch_migrations,
        "next release adds a column",
        'op.add_column("todos", sa.Column("scratch_colour", sa.String(20)))',
    )
    app = make_app(empty_database_url)
    with app.app_context():
        flask_migrate.upgrade(directory=str(scratch_migrations))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ahead",
        "database": "ok",
        "revision": newer,
        "head": head_revision(),
    }
    dispose(app)


def test_an_empty_database_is_503(empty_database_url):
    app = make_app(empty_database_url)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "not migrated"
    assert response.json["database"] == "ok" and response.json["revision"] is None
    dispose(app)


def test_an_unreachable_database_is_503(tmp_path):
    app = make_app("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {
        "status": "unavailable",
        "database": "unreachable",
        "revision": None,
        "head": head_revision(),
    }
    dispose(app)


def test_the_head_is_alembics_head(app):
    """health reads the head from the revision files without Alembic: it must
    agree with Alembic."""
    from alembic.script import ScriptDirectory

    from todoapp.services.health import head_revision

    with app.app_context():
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    assert head_revision() == ",".join(sorted(script.get_heads()))


def test_a_web_worker_does_not_load_alembic(tmp_path):
    """Flask-Migrate, Alembic and the project's migration tooling are for the
    command line: a web worker that loads them carries their memory for nothing."""
    code = (
        "import sys, wsgi; from todoapp.services import health; health.head_revision(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'flask_migrate') "
        "or m.startswith('todoapp.migration_tools')))"
    )
    env = os.environ | {"SECRET_KEY": "k", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite"}
    env.pop("FLASK_RUN_FROM_CLI", None)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
