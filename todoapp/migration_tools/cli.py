"""The commands this package adds to Flask-Migrate's ``flask db`` group."""

import click
import flask_migrate
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from . import naming, stairway
from .lint import lint_command

DEFAULT_MERGE_MESSAGE = "merge heads"


@click.command("merge-heads")
@click.option("-m", "--message", default=DEFAULT_MERGE_MESSAGE, show_default=True)
@click.option("-d", "--directory", default=None, help="The migrations directory.")
@with_appcontext
def merge_heads_command(message: str, directory: str | None) -> None:
    """Join the heads that a git merge of two branches left, with a merge
    revision named the house way (``flask db merge`` would give it a random id)."""
    config = current_app.extensions["migrate"].migrate.get_config(directory)
    script = ScriptDirectory.from_config(config)
    heads = sorted(script.get_heads())
    if len(heads) < 2:
        click.echo(f"Nothing to merge: there is one head, {', '.join(heads) or 'none'}.")
        return
    click.echo(f"Merging {len(heads)} heads: {', '.join(heads)}")
    rev_id = naming.next_revision_id(script, message, heads)
    flask_migrate.merge(directory, revisions=heads, message=message, rev_id=rev_id)
    click.echo(
        f"Wrote merge revision {rev_id}. Next: make db-upgrade, then make db-freeze, "
        "and commit the new file with the manifest."
    )


@click.command("step-down")
@click.option(
    "-x", "x_arg", multiple=True, help="An argument for the revision, e.g. purge_trash=yes."
)
@click.option("-d", "--directory", default=None, help="The migrations directory.")
@with_appcontext
def step_down_command(x_arg: tuple[str, ...], directory: str | None) -> None:
    """Undo the newest revision the database has: at a merge revision, the
    merge alone, back to its first parent (where ``flask db downgrade -1``
    stops with Alembic's "Ambiguous walk")."""
    config = current_app.extensions["migrate"].migrate.get_config(directory)
    script = ScriptDirectory.from_config(config)
    with db.engine.connect() as connection:
        heads = sorted(MigrationContext.configure(connection).get_current_heads())
    if not heads:
        click.echo("Nothing to undo: the database has no revision applied.")
        return
    if len(heads) > 1:
        raise click.ClickException(
            f"The database is at {len(heads)} revisions at once ({', '.join(heads)}), two "
            "branches not merged: say which to undo, e.g. flask db downgrade "
            f"{heads[0]}@-1, or upgrade to the merge first (make db-upgrade)."
        )
    target = stairway.one_step_down(script.get_revision(heads[0]))
    click.echo(f"Undoing {heads[0]}: downgrade to {target}.")
    flask_migrate.downgrade(directory, revision=target, x_arg=list(x_arg))


def register(db_commands: click.Group) -> None:
    """Add ``flask db lint``, ``merge-heads`` and ``step-down``, once per process."""
    for command in (lint_command, merge_heads_command, step_down_command):
        if command.name not in db_commands.commands:
            db_commands.add_command(command)
