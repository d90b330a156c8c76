"""Real servers on 127.0.0.1 for tests that need more than one process, and a
small browser-like client for them. Everything stops by itself."""

import http.cookiejar
import os
import re
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
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@contextmanager
def gunicorn(database_url: str, log_dir: Path, *, workers: int = 1, timeout: float = 30):
    """Serve wsgi:app with gunicorn on a free loopback port; yield its base URL."""
    log = log_dir / f"gunicorn-{time.monotonic_ns()}.log"
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "shared by every test server",
        "HTTPS": "0",
        "FLASK_DEBUG": "0",
    }
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(GUNICORN), "-w", str(workers), "-b", "127.0.0.1:0", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        while not (match := re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log.read_text())):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{log.read_text()}")
            time.sleep(0.05)
        yield match.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Browser:
    """Keeps cookies and sends forms with the page's CSRF token."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def request(self, path, data=None, timeout=10):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base_url + path, body, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def submit(self, form_page, path, data):
        _, _, page = self.request(form_page)
        token = CSRF_INPUT.search(page).group(1)
        return self.request(path, dict(data, csrf_token=token))
