"""WSGI entry point: ``flask --app wsgi ...`` and ``gunicorn wsgi:app``."""

from todoapp import create_app
from todoapp.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    raise SystemExit(f"todoapp cannot start: {exc}") from None
