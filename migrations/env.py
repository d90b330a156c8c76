"""Alembic environment for todoapp, run by Flask-Migrate inside the app.

Differences from the generated file:
- logging config does not silence the app's loggers (Flask-Migrate #330);
- the engine is the app's own, so SQLite gets its pragmas and its
  transactions begin IMMEDIATE: concurrent upgrades wait for each other
  instead of failing, and each upgrade is one transaction, DDL included;
- revision ids are sequential (0001, 0002, ...), and an autogenerate run that
  finds no change writes no file;
- autogenerate renders batch operations, for SQLite, and the app's column
  types as plain SQLAlchemy types.
"""

import logging
from logging.config import fileConfig

from alembic import context
from alembic.script import ScriptDirectory
from flask import current_app

from todoapp.database import SQLITE_BEGIN
from todoapp.models import UTCDateTime

config = context.config
# Tests keep their own log capture; fileConfig would replace the root handlers.
if config.config_file_name is not None and not current_app.testing:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def next_revision_id() -> str:
    script = ScriptDirectory.from_config(config)
    numbers = [int(rev.revision) for rev in script.walk_revisions() if rev.revision.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


def process_revision_directives(context, revision, directives):
    script = directives[0]
    if getattr(config.cmd_opts, "autogenerate", False) and script.upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected: no revision file written.")
        return
    script.rev_id = next_revision_id()


def render_item(type_, obj, autogen_context):
    """Write the app's own column types as the plain types they are stored as,
    so revision files need no import from the app (and survive its changes)."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure_args() -> dict:
    args = dict(current_app.extensions["migrate"].configure_args)
    args.setdefault("process_revision_directives", process_revision_directives)
    args.setdefault("render_as_batch", True)
    args.setdefault("compare_type", True)
    args.setdefault("render_item", render_item)
    return args


def run_migrations_offline() -> None:
    url = target_db.engine.url.render_as_string(hide_password=False)
    context.configure(
        url=url, target_metadata=target_db.metadata, literal_binds=True, **configure_args()
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = target_db.engine
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection = connection.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        context.configure(
            connection=connection,
            target_metadata=target_db.metadata,
            # SQLite can roll DDL back too; say so, so the whole run is one transaction.
            transactional_ddl=True,
            **configure_args(),
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
