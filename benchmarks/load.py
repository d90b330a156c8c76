"""Load from wrk, against gunicorn on 127.0.0.1, and what the workers used."""

import json
import shutil
import subprocess
from pathlib import Path

from tests.live import USER_AGENT, Browser

from .data import BENCH_USER, PASSWORD

REPORT = Path(__file__).with_name("report.lua")


def wrk(url: str, *, seconds: float, connections: int, cookie: str | None = None) -> dict:
    """One wrk run; returns requests/s and latencies (ms). Bounded: wrk stops
    itself after ``seconds``, and is killed if it does not."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run 'make bench', which installs it.")
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(REPORT)]
    # The same User-Agent the login came with (wrk sends none of its own):
    # Flask-Login's session protection would otherwise see another client on
    # every request and write a new session cookie each time.
    command += ["-H", f"User-Agent: {USER_AGENT}"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    done = subprocess.run(
        command + [url], capture_output=True, text=True, timeout=seconds + 30, check=True
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK_JSON "))
    raw = json.loads(line.removeprefix("WRK_JSON "))
    if raw["bad_status"] or raw["socket_errors"] or not raw["requests"]:
        raise RuntimeError(f"wrk saw errors on {url}: {raw}")
    return {
        "requests": raw["requests"],
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
    }


def log_in(base_url: str, username: str = BENCH_USER) -> Browser:
    browser = Browser(base_url)
    status, _, _ = browser.submit("/auth/login", {"username": username, "password": PASSWORD})
    if status != 302:
        raise RuntimeError(f"could not log in as {username} (HTTP {status})")
    return browser


def session_cookie(browser: Browser) -> str:
    """The browser's cookies as a Cookie header value, for wrk."""
    return "; ".join(f"{c.name}={c.value}" for c in browser.cookies)


def fresh_cookie(browser: Browser, path: str) -> str:
    """The cookie a browser holds right after reading ``path``. A session
    writes when it was last used into its cookie once a minute
    (``auth.routes.SEEN_EVERY``), and a browser keeps the new cookie; wrk
    replays one, so a run that started with a cookie over a minute old would
    have every response write a new one. Each run takes a fresh one instead."""
    browser.request(path)
    return session_cookie(browser)


def workers(master_pid: int) -> list[int]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return [int(pid) for pid in children]


def peak_rss_mb(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")
