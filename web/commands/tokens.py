"""``panel tokens``: API tokens for organizers' integrations, and for experts (handed over by the operator)."""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

tokens = AppGroup("tokens", help="Create, list and revoke API tokens.")


def _user(username: str):
    """The account called ``username``, or exit with a message."""
    from sqlalchemy import select

    from web.extensions import db
    from web.models import User

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        click.echo(_("%(username)s: no such account.", username=username), err=True)
        sys.exit(1)
    return user


@tokens.command("create")
@click.option("--username", required=True, help="The account the token acts as.")
@click.option("--name", required=True, help="What the token is for (shown in the token list).")
@click.option("--expires-days", type=click.IntRange(min=1), default=None, help="Expire after this many days.")
def create_token_command(username: str, name: str, expires_days: int | None) -> None:
    """Create a token and print it once: only its hash is kept."""
    from web.extensions import db
    from web.models import utcnow
    from web.services.tokens import TokenError, create_token

    user = _user(username)
    expires_at = utcnow() + timedelta(days=expires_days) if expires_days else None
    try:
        raw = create_token(user, name, actor=None, expires_at=expires_at)
    except TokenError as error:
        click.echo(_("%(field)s: %(message)s", field=username, message=error), err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(raw)
    click.echo(_("Store this token now: it cannot be shown again."), err=True)


@tokens.command("list")
@click.option("--username", default=None, help="Only this account's tokens.")
def list_tokens_command(username: str | None) -> None:
    """One line per token: id, account, name, created, last used, expires, revoked."""
    from web.services.tokens import tokens_of

    for token in tokens_of(_user(username) if username else None):
        click.echo("\t".join(str(value) if value is not None else "-" for value in (
            token.id, token.user.username, token.name, token.created_at, token.last_used_at, token.expires_at,
            token.revoked_at)))


@tokens.command("revoke")
@click.argument("token_id", type=int)
def revoke_token_command(token_id: int) -> None:
    """Revoke the token with this id (see ``panel tokens list``)."""
    from web.extensions import db
    from web.models import ApiToken
    from web.services.tokens import TokenError, revoke_token

    token = db.session.get(ApiToken, token_id)
    if token is None:
        click.echo(_("Token %(id)s: no such token.", id=token_id), err=True)
        sys.exit(1)
    try:
        revoke_token(token, actor=None)
    except TokenError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"revoked token {token_id} ({token.name!r} of {token.user.username})")


commands: list[click.Command] = [tokens]
