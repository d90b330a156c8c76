"""Command-line tools: ``flask users ...`` and ``flask trash ...``."""

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from .config import RETENTION_DAYS_MAX
from .presentation import todos_count
from .services import activity, todos, users

users_cli = AppGroup("users", help="Manage accounts.")
trash_cli = AppGroup("trash", help="Look after the trash.")
activity_cli = AppGroup("activity", help="Look after the activity log.")


@users_cli.command("create")
@click.argument("username")
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of asking.",
)
def create_user_command(username: str, admin: bool, password_stdin: bool) -> None:
    """Create an account. Asks for the password twice unless --password-stdin."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(
            "Password", hide_input=True, confirmation_prompt="Repeat the password"
        )
    try:
        user = users.create_user(username, password, is_admin=admin, on_command_line=True)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {'administrator' if user.is_admin else 'user'} '{user.username}'.")


@users_cli.command("grant-admin")
@click.argument("username")
def grant_admin_command(username: str) -> None:
    """Make an account an administrator."""
    _set_admin(username, True)


@users_cli.command("revoke-admin")
@click.argument("username")
def revoke_admin_command(username: str) -> None:
    """Take administrator rights away (never from the last administrator)."""
    _set_admin(username, False)


def _set_admin(username: str, is_admin: bool) -> None:
    user = _run(users.set_admin, username, is_admin)
    state = "is now an administrator" if user.is_admin else "is no longer an administrator"
    click.echo(f"'{user.username}' {state}.")


def _run(service, *args):
    """A users service, its refusals turned into clean command-line errors."""
    try:
        return service(*args)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


@users_cli.command("list")
def list_command() -> None:
    """List the accounts with their todos, trash and last login."""
    after = None
    while accounts := users.list_accounts(500, after_name=after):
        for account in accounts[:500]:
            flags = [
                label
                for label, on in (
                    ("admin", account.is_admin),
                    ("disabled", account.disabled_at),
                    ("temporary password", account.must_change_password),
                )
                if on
            ]
            login = (
                f"{account.last_login_at:%Y-%m-%d %H:%M} UTC" if account.last_login_at else "never"
            )
            click.echo(
                f"{account.username:32}  {account.live:>7} todos  {account.trashed:>7} trashed  "
                f"last login {login}{'  (' + ', '.join(flags) + ')' if flags else ''}"
            )
        if len(accounts) <= 500:
            break
        after = accounts[499].username


@users_cli.command("disable")
@click.argument("username")
def disable_command(username: str) -> None:
    """Disable an account: it cannot log in, and its sessions end now."""
    user = _run(users.set_disabled, username, True)
    click.echo(f"'{user.username}' is disabled; its sessions have ended.")


@users_cli.command("enable")
@click.argument("username")
def enable_command(username: str) -> None:
    """Enable a disabled account again."""
    user = _run(users.set_disabled, username, False)
    click.echo(f"'{user.username}' is enabled.")


@users_cli.command("set-password")
@click.argument("username")
def set_password_command(username: str) -> None:
    """Give an account a temporary password, to be changed at the next login."""
    password = _run(users.set_temporary_password, username)
    click.echo(f"Temporary password for '{username}': {password}")
    click.echo("It must be changed at the next login; the account's sessions have ended.")


@trash_cli.command("purge")
@click.option(
    "--older-than",
    "older_than",
    type=click.IntRange(min=0, max=RETENTION_DAYS_MAX),
    metavar="DAYS",
    help="Purge todos trashed more than DAYS days ago (default: TRASH_RETENTION_DAYS).",
)
@click.option("--dry-run", is_flag=True, help="Only say how many todos would be purged.")
def purge_command(older_than: int | None, dry_run: bool) -> None:
    """Delete for good the todos that have been in the trash too long.

    Works in batches of about a thousand rows per transaction, so the app keeps
    serving writes while a large purge runs. Run it daily, from cron or a timer.
    """
    days = current_app.config["TRASH_RETENTION_DAYS"] if older_than is None else older_than
    due = todos.count_expired(days)
    if dry_run:
        click.echo(
            f"Would purge {todos_count(due)} trashed more than {days} days ago "
            "(dry run: nothing was deleted)."
        )
        return
    with click.progressbar(length=due, label="Purging", show_pos=True) as bar:
        purged = todos.purge_expired(days, progress=bar.update).deleted
    click.echo(f"Purged {todos_count(purged)} trashed more than {days} days ago.")


@activity_cli.command("purge")
@click.option(
    "--older-than",
    "older_than",
    type=click.IntRange(min=0, max=RETENTION_DAYS_MAX),
    metavar="DAYS",
    help="Delete entries older than DAYS days (default: ACTIVITY_RETENTION_DAYS).",
)
def purge_activity_command(older_than: int | None) -> None:
    """Delete old activity log entries, in batches like the trash purge."""
    days = current_app.config["ACTIVITY_RETENTION_DAYS"] if older_than is None else older_than
    due = activity.count_older_than(days)
    with click.progressbar(length=due, label="Purging", show_pos=True) as bar:
        purged = activity.purge_older_than(days, progress=bar.update)
    click.echo(
        f"Deleted {purged} activity entr{'y' if purged == 1 else 'ies'} older than {days} days."
    )
