"""Configuration: defaults, then instance/config.py, then environment variables.

Login throttling (services/throttle.py) and device cookies (auth/devices.py),
each also an environment variable of the same name:

- LOGIN_FAILURES_PER_ACCOUNT (10): login attempts per window on one account
  from browsers without a device cookie for it, from every address together.
  Past them such attempts wait, the right password too; a browser that has
  logged in to the account before does not.
- LOGIN_FAILURES_PER_DEVICE (5): login attempts per window from one browser
  holding a valid device cookie for the account, before they wait.
- DEVICE_COOKIE_DAYS (365, at most 400, browsers' own cap): how long a device
  cookie, given at each successful login, is honoured.

They share LOGIN_FAILURE_WINDOW_SECONDS and LOGIN_DELAY_SECONDS with the
per-pair (LOGIN_FAILURES_PER_USER) and per-address (LOGIN_FAILURES_PER_IP) limits.
"""

import os
import secrets
from pathlib import Path

from flask import Flask

# The longest a todo may stay in the trash (a century, well inside what dates
# can hold), and the most rows a list page may show.
RETENTION_DAYS_MAX = 36_500
TODOS_PER_PAGE_MAX = 500

# The migration settings' upper bounds: a day to wait for another upgrade or
# for one statement, ten minutes for one table lock, a thousand tries. Past
# them a setting is a typo, and PostgreSQL's own timeouts overflow (2**31 ms).
MIGRATION_LIMITS = {
    "MIGRATION_LOCK_TIMEOUT": 86_400,
    "MIGRATION_TABLE_LOCK_TIMEOUT_MS": 600_000,
    "MIGRATION_TABLE_LOCK_TRIES": 1_000,
    "MIGRATION_STATEMENT_TIMEOUT": 86_400,
}

# Sessions: at most a week idle or in all; the log: at most ten years.
ACCOUNT_LIMITS = {
    "SESSION_IDLE_MINUTES": 7 * 24 * 60,
    "SESSION_LIFETIME_HOURS": 7 * 24,
    "SESSION_ACTIVITY_MINUTES": 24 * 60,
    "ACTIVITY_RETENTION_DAYS": 3650,
}

# Throttling: a day for a login window or delay, a week for registrations,
# 400 days for a device cookie (browsers cap a cookie's lifetime there).
THROTTLE_LIMITS = {
    "LOGIN_FAILURES_PER_USER": 1_000,
    "LOGIN_FAILURES_PER_IP": 100_000,
    "LOGIN_FAILURES_PER_ACCOUNT": 100_000,
    "LOGIN_FAILURES_PER_DEVICE": 1_000,
    "DEVICE_COOKIE_DAYS": 400,
    "LOGIN_FAILURE_WINDOW_SECONDS": 86_400,
    "LOGIN_DELAY_SECONDS": 86_400,
    "REGISTRATIONS_PER_IP": 100_000,
    "REGISTRATION_WINDOW_SECONDS": 7 * 86_400,
}


class ConfigError(RuntimeError):
    """The app cannot start with the configuration it was given."""


def _positive_int(name: str, default: int, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}.")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum:,}, got {value:,}.")
    return value


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 or 0 (or true/false), got {raw!r}.")


def _non_negative_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    if not raw.strip().isdigit():
        raise ConfigError(f"{name} must be a whole number of 0 or more, got {raw!r}.")
    return int(raw)


# The host names a request may name in its Host header unless TRUSTED_HOSTS
# says otherwise: this machine's own. Any other is refused (400) before
# routing, so no redirect or link is ever built on a host an attacker chose.
# (An IPv6 address cannot be listed: werkzeug cuts entries at the first ":".)
LOCAL_HOSTS = ["localhost", "127.0.0.1"]


def _host_list(name: str, default: list[str] | None) -> list[str] | None:
    """Comma-separated host names (``.example.com`` takes its subdomains
    too); ``*`` takes any host, for a proxy that already checks it."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    if raw.strip() == "*":
        return None
    hosts = [host.strip().lower() for host in raw.split(",") if host.strip()]
    for host in hosts:
        if "/" in host or ":" in host:
            raise ConfigError(
                f"{name} takes host names or IPv4 addresses, without scheme or port; got {host!r}."
            )
    return hosts


def with_driver(url: str) -> str:
    """PostgreSQL URLs as hosts hand them out (postgres://, postgresql://) use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# scrypt at N=2**13, r=8, p=10: see load_config.
PASSWORD_HASH_METHOD = "scrypt:8192:8:10"  # noqa: S105 (a method name, not a password)


def load_config(app: Flask, test_config: dict | None) -> None:
    """Fill ``app.config``. Later sources win: defaults, instance/config.py,
    environment variables, then ``test_config``."""
    instance = Path(app.instance_path)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{instance / 'todoapp.sqlite'}",
        TRASH_RETENTION_DAYS=30,
        TODOS_PER_PAGE=50,
        # Seconds a `flask db upgrade` waits for another one to finish.
        MIGRATION_LOCK_TIMEOUT=300,
        # PostgreSQL: how long one migration statement may wait for a table's
        # lock (everyone else queues behind it meanwhile), how many times the
        # revision is tried again after such a wait, and how long one
        # statement may run at most.
        MIGRATION_TABLE_LOCK_TIMEOUT_MS=300,
        MIGRATION_TABLE_LOCK_TRIES=30,
        MIGRATION_STATEMENT_TIMEOUT=600,
        # Batches of 1,000 that one web request may purge ("Purge expired",
        # "Empty trash"): bounded work, far inside gunicorn's timeout.
        WEB_PURGE_BATCHES=20,
        # A login lasts until it has been idle this long, and at most this
        # long in all (OWASP ASVS level 2: 30 minutes idle, 12 hours).
        SESSION_IDLE_MINUTES=30,
        SESSION_LIFETIME_HOURS=12,
        # How often a session's "last active" time (the account page) is
        # written: at most once per this many minutes, not on every request.
        SESSION_ACTIVITY_MINUTES=5,
        # Days the activity log keeps its entries (`flask activity purge`).
        ACTIVITY_RETENTION_DAYS=365,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=64 * 1024,
        TRUSTED_HOSTS=LOCAL_HOSTS,
        # scrypt at N=2**13, r=8, p=10: one of OWASP's equivalent minimums, and
        # 8 MiB per check where werkzeug's default (N=2**15, p=1, below that
        # minimum) takes 32 MiB in the worker. Older hashes are redone at login.
        # The tests use cheaper parameters.
        PASSWORD_HASH_METHOD=PASSWORD_HASH_METHOD,
        # Login throttling (services/throttle.py): free login attempts per
        # window, per (username, client address) pair and per address. Past
        # them, each attempt waits LOGIN_DELAY_SECONDS after the key's last
        # one, the wait doubling every time, up to the window.
        LOGIN_FAILURES_PER_USER=5,
        LOGIN_FAILURES_PER_IP=50,
        # Per account from browsers without its device cookie, whatever the
        # address; per browser with one (auth/devices.py), which nothing else limits.
        LOGIN_FAILURES_PER_ACCOUNT=10,
        LOGIN_FAILURES_PER_DEVICE=5,
        # How long a device cookie, renewed at each successful login, is honoured.
        DEVICE_COOKIE_DAYS=365,
        LOGIN_FAILURE_WINDOW_SECONDS=15 * 60,
        LOGIN_DELAY_SECONDS=1,
        # Attempts to create an account (a taken name too) per client address
        # per window: past them, none until it ends.
        REGISTRATIONS_PER_IP=5,
        REGISTRATION_WINDOW_SECONDS=60 * 60,
    )
    app.config.from_pyfile("config.py", silent=True)

    if database_url := os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    if secret_key := os.environ.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key
    if fallbacks := os.environ.get("SECRET_KEY_FALLBACKS"):
        # Old keys, newest first: sessions they signed stay valid while you rotate.
        app.config["SECRET_KEY_FALLBACKS"] = [k.strip() for k in fallbacks.split(",") if k.strip()]
    if os.environ.get("HTTPS", "").strip():
        app.config["HTTPS"] = _flag("HTTPS", True)
    app.config["TRUSTED_PROXIES"] = _non_negative_int(
        "TRUSTED_PROXIES", app.config.get("TRUSTED_PROXIES", 0)
    )
    app.config["TRUSTED_HOSTS"] = _host_list("TRUSTED_HOSTS", app.config["TRUSTED_HOSTS"])
    app.config["TODOAPP_ENV"] = os.environ.get("TODOAPP_ENV", app.config.get("TODOAPP_ENV", ""))
    app.config["TRASH_RETENTION_DAYS"] = _positive_int(
        "TRASH_RETENTION_DAYS", app.config["TRASH_RETENTION_DAYS"], RETENTION_DAYS_MAX
    )
    app.config["TODOS_PER_PAGE"] = _positive_int(
        "TODOS_PER_PAGE", app.config["TODOS_PER_PAGE"], TODOS_PER_PAGE_MAX
    )
    for name, maximum in (MIGRATION_LIMITS | ACCOUNT_LIMITS | THROTTLE_LIMITS).items():
        app.config[name] = _positive_int(name, app.config[name], maximum)

    if test_config:
        app.config.from_mapping(test_config)

    url = app.config["SQLALCHEMY_DATABASE_URI"] = with_driver(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.startswith("sqlite"):
        # The driver never begins a transaction by itself: database.py's
        # "begin" hook does. Saying so here lets the session's autocommit
        # reads (extensions.db) take a pooled connection as it is; only a
        # write transaction switches it (one PRAGMA) and back on return.
        engine_defaults = {"isolation_level": "AUTOCOMMIT"}
    else:
        # The pool checks each connection as it hands it out, so that a
        # database restart costs a reconnect rather than an error page.
        engine_defaults = {"pool_pre_ping": True}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_defaults | app.config.get(
        "SQLALCHEMY_ENGINE_OPTIONS", {}
    )

    # HTTPS: Secure cookies and HSTS. On by default except in debug and testing.
    app.config.setdefault("HTTPS", not (app.debug or app.testing))

    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _development_secret_key(app, instance)
    app.config["SESSION_COOKIE_SECURE"] = app.config["HTTPS"]
    if app.config["TODOAPP_ENV"] == "production" and app.debug:
        raise ConfigError(
            "TODOAPP_ENV is production but debug mode is on (FLASK_DEBUG). Debug mode shows "
            "tracebacks and an interactive console to anyone: unset FLASK_DEBUG."
        )


def _development_secret_key(app: Flask, instance: Path) -> str:
    """In debug or testing, make a random key once and keep it in the instance
    folder, so sessions survive restarts. Anywhere else, refuse."""
    if not (app.debug or app.testing):
        raise ConfigError(
            "SECRET_KEY is not set. Outside debug mode the app will not start without one, "
            "because sessions signed with a made-up key could be forged or lost. "
            "Set it in the environment, for example: "
            "SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
        )
    key_file = instance / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
