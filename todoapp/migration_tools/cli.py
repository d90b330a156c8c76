"""The commands this package adds to Flask-Migrate's ``flask db`` group."""

import click
import flask_migrate
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import with_appcontext

from . import naming
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


def register(db_commands: click.Group) -> None:
    """Add ``flask db lint`` and ``flask db merge-heads``, once per process."""
    for command in (lint_command, merge_heads_command):
        if command.name not in db_commands.commands:
            db_commands.add_command(command)
