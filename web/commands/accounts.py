"""``panel users create``: accounts for admins, organizers and experts."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

users = AppGroup("users", help="Manage accounts.")


@users.command("create")
@click.option("--role", type=click.Choice(["admin", "organizer", "expert"]), required=True)
@click.option("--username", required=True)
@click.option("--expert", "expert_ref", default=None, help="The expert's ref (expert accounts only).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
def create_user_command(role: str, username: str, expert_ref: str | None, password_stdin: bool) -> None:
    """Create an account; without --password-stdin the password is asked twice."""
    from web.extensions import db
    from web.services.accounts import AccountError, create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        create_user(username, role, password, expert_ref=expert_ref, actor=None)
    except AccountError as error:
        click.echo(f"{username}: {error}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"created {role} account {username!r}")
