"""Static files named by their content, so that browsers may keep them for good.

``url_for('static', filename='app.css')`` gives ``/static/app.css?v=<hash>``,
the first 12 hex digits of the file's SHA-256. A request whose ``v`` is the
file's current hash may be cached for a year (``immutable``): a changed file
gets a new URL. Without ``v``, or with an old one, Flask's default stays
(``no-cache``: revalidated by ETag).
"""

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from flask import Flask, Response, request
from werkzeug.security import safe_join

IMMUTABLE = f"public, max-age={365 * 24 * 3600}, immutable"
# More than the static folder holds: the fingerprints are never evicted in use.
FINGERPRINTS_KEPT = 64


def file_hash(path: str | Path) -> str:
    """A short fingerprint of a file's bytes: the first 12 hex digits of their SHA-256."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


# By the file's normalised path, and only for files that exist: however a URL
# spells a path, it names one of the files in the folder or none. A deploy
# restarts the workers, and with them this cache.
_kept_hash = lru_cache(maxsize=FINGERPRINTS_KEPT)(file_hash)


def static_version(app: Flask, filename: str) -> str | None:
    """The fingerprint of ``filename`` in the app's static folder, or None
    when there is no such file. Hashed once per process; in debug mode on
    every use, so that edits show at once."""
    path = safe_join(app.static_folder, filename) if app.static_folder else None
    if path is None or not os.path.isfile(path):
        return None
    return file_hash(path) if app.debug else _kept_hash(os.path.normpath(path))


def init_app(app: Flask) -> None:
    @app.url_defaults
    def add_static_version(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "v" not in values:
            if version := static_version(app, values.get("filename", "")):
                values["v"] = version

    @app.after_request
    def cache_for_good(response: Response) -> Response:
        if request.endpoint == "static" and response.status_code in (200, 206, 304):
            version = request.args.get("v")
            filename = (request.view_args or {}).get("filename", "")
            if version and version == static_version(app, filename):
                response.headers["Cache-Control"] = IMMUTABLE
        return response
