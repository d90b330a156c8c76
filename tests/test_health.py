import flask_migrate

from .conftest import dispose, make_app


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "revision": "0003", "head": "0003"}
    assert "Set-Cookie" not in response.headers


def test_behind_head_is_503(empty_database_url):
    app = make_app(empty_database_url)
    with app.app_context():
        flask_migrate.upgrade(revision="0002")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "behind"
    assert (response.json["revision"], response.json["head"]) == ("0002", "0003")
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
        "head": "0003",
    }
    dispose(app)
