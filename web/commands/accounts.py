"""``panel users create`` and ``panel users set-password``: accounts for admins, organizers and experts."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

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
        password = click.prompt(_("Password"), hide_input=True, confirmation_prompt=_("Repeat the password"))
    try:
        create_user(username, role, password, expert_ref=expert_ref, actor=None)
    except AccountError as error:
        click.echo(_("%(field)s: %(message)s", field=username, message=error), err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"created {role} account {username!r}")


@users.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
def set_password_command(username: str, password_stdin: bool) -> None:
    """Set an account's password (the server operator's way back in for staff, who get no reset mail)."""
    from sqlalchemy import select

    from web.extensions import db
    from web.models import User
    from web.services.accounts import AccountError, set_password

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        click.echo(_("%(username)s: no such account.", username=username), err=True)
        sys.exit(1)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(_("Password"), hide_input=True, confirmation_prompt=_("Repeat the password"))
    try:
        set_password(user, password, actor=None, action="user.password_set_by_operator")
    except AccountError as error:
        click.echo(_("%(field)s: %(message)s", field=username, message=error), err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"password of {username!r} set; its sessions and links have ended")
