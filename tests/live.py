"""Real servers on 127.0.0.1 for tests that need more than one process, and a
small browser-like client for them. Everything stops by itself."""

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from todoapp import ROOT

GUNICORN = Path(sys.executable).with_name("gunicorn")
USER_AGENT = "todoapp-test-client/1"
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Server:
    def __init__(self, url: str, process: subprocess.Popen):
        self.url = url
        self.process = process

    def kill(self) -> None:
        """SIGKILL the master and its workers at once: a crash, not a shutdown."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@contextmanager
def gunicorn(
    database_url: str | None,
    log_dir: Path,
    *,
    workers: int = 1,
    timeout: float = 30,
    app: str = "wsgi:app",
    options: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    root: Path = ROOT,
):
    """Serve ``app`` (todoapp unless told otherwise) with gunicorn on a free
    loopback port; yield a Server. ``env`` adds environment variables
    (settings); ``root``: the checkout to serve, by default this one; another
    (an earlier commit's worktree) is served by the gunicorn of its own
    ``.venv``."""
    log = log_dir / f"gunicorn-{time.monotonic_ns()}.log"
    env = os.environ | {
        "SECRET_KEY": "shared by every test server",
        "HTTPS": "0",
        "FLASK_DEBUG": "0",
        **(env or {}),
    }
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(GUNICORN if root == ROOT else root / ".venv" / "bin" / "gunicorn")]
            + ["-c", "python:todoapp.gunicorn_conf"]
            + ["-w", str(workers), "-b", "127.0.0.1:0"]
            + list(options)
            + [app],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill() gets the workers too
        )
    try:
        deadline = time.monotonic() + timeout
        while not (match := re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log.read_text())):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{log.read_text()}")
            time.sleep(0.05)
        yield Server(match.group(1), proc)
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 is the answer we want to see, not the page after it


class Browser:
    """Keeps cookies and sends forms with the CSRF token of the last page it
    read. Redirects are not followed: a POST's 302 is its acknowledgement."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.token = None
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects()
        )
        # One User-Agent for every request, as a browser sends: Flask-Login's
        # session protection treats a changed one as another client.
        self.opener.addheaders = [("User-Agent", USER_AGENT)]

    def request(self, path, data=None, timeout=20):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base_url + path, body, timeout=timeout) as response:
                status, headers, text = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            status, headers, text = error.code, dict(error.headers), error.read()
        text = text.decode()
        if found := CSRF_INPUT.search(text):
            self.token = found.group(1)
        return status, headers, text

    def submit(self, path, data=None):
        if self.token is None:
            self.request("/auth/login")  # a form page when logged out
        if self.token is None:
            self.request("/todos")  # and when logged in
        result = self.request(path, dict(data or {}, csrf_token=self.token))
        if path.startswith("/auth/login") and result[0] == 302:
            self.token = None  # logging in starts a new session, with a new token
        return result
