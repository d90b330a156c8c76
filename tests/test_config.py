import os
import subprocess
import sys

import pytest

from todoapp import ROOT, create_app
from todoapp.config import ConfigError

CONFIG_VARS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "TRASH_RETENTION_DAYS",
    "TODOS_PER_PAGE",
    "FLASK_DEBUG",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in CONFIG_VARS:
        monkeypatch.delenv(name, raising=False)


def test_refuses_to_start_without_secret_key_outside_debug(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app(instance_path=str(tmp_path))


def test_wsgi_says_why_it_will_not_start(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "todoapp cannot start: SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_makes_a_key_once_and_keeps_it(tmp_path, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    first = create_app(instance_path=str(tmp_path)).config["SECRET_KEY"]
    second = create_app(instance_path=str(tmp_path)).config["SECRET_KEY"]
    assert len(first) == 64 and first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_variables_are_read(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/other.sqlite")
    monkeypatch.setenv("TRASH_RETENTION_DAYS", "7")
    monkeypatch.setenv("TODOS_PER_PAGE", "20")
    config = create_app(instance_path=str(tmp_path)).config
    assert config["SECRET_KEY"] == "from-env"
    assert config["SQLALCHEMY_DATABASE_URI"].endswith("/other.sqlite")
    assert (config["TRASH_RETENTION_DAYS"], config["TODOS_PER_PAGE"]) == (7, 20)


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x")
    config = create_app(instance_path=str(tmp_path)).config
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'todoapp.sqlite'}"
    assert (config["TRASH_RETENTION_DAYS"], config["TODOS_PER_PAGE"]) == (30, 50)


@pytest.mark.parametrize("value", ["abc", "0", "-3", "1.5", "36501", "1000000000"])
def test_bad_numbers_are_refused_with_the_name(tmp_path, monkeypatch, value):
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("TRASH_RETENTION_DAYS", value)
    with pytest.raises(ConfigError, match="TRASH_RETENTION_DAYS"):
        create_app(instance_path=str(tmp_path))


def test_a_page_size_past_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("TODOS_PER_PAGE", "100000")
    with pytest.raises(ConfigError, match="TODOS_PER_PAGE must be at most 500, got 100,000"):
        create_app(instance_path=str(tmp_path))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MIGRATION_STATEMENT_TIMEOUT", "3000000"),  # past 2**31 ms in PostgreSQL
        ("MIGRATION_TABLE_LOCK_TIMEOUT_MS", "99999999999"),
        ("MIGRATION_TABLE_LOCK_TRIES", "1001"),
        ("MIGRATION_LOCK_TIMEOUT", "86401"),
    ],
)
def test_migration_numbers_past_their_bound_are_refused(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name} must be at most"):
        create_app(instance_path=str(tmp_path))


def test_the_per_account_and_device_settings_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x")
    settings = {"LOGIN_FAILURES_PER_ACCOUNT": 20, "LOGIN_FAILURES_PER_DEVICE": 3}
    settings["DEVICE_COOKIE_DAYS"] = 30
    for name, value in settings.items():
        monkeypatch.setenv(name, str(value))
    config = create_app(instance_path=str(tmp_path)).config
    assert {name: config[name] for name in settings} == settings
    monkeypatch.setenv("DEVICE_COOKIE_DAYS", "401")  # browsers keep a cookie 400 days at most
    with pytest.raises(ConfigError, match="DEVICE_COOKIE_DAYS must be at most 400, got 401"):
        create_app(instance_path=str(tmp_path))
