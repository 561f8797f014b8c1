"""``panel rounds create``: open a review round with its default template."""

from __future__ import annotations

import sys
from datetime import date

import click
from flask.cli import AppGroup

from web.models import ROUND_KINDS

rounds = AppGroup("rounds", help="Manage review rounds.")


@rounds.command("create")
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice(ROUND_KINDS), required=True)
@click.option("--applications", "application_refs", multiple=True, metavar="REF",
              help="An application to review (repeat, or give several refs separated by commas).")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The reference date conflict windows count back from (default: today).")
@click.option("--deadline", type=click.DateTime(["%Y-%m-%d"]), default=None)
def create_round_command(name, kind, application_refs, as_of, deadline) -> None:
    """Open a draft round with a copy of its kind's default score template."""
    from web.services.rounds import RoundError, create_round

    refs = [ref.strip() for value in application_refs for ref in value.split(",") if ref.strip()]
    try:
        round_ = create_round(name, kind, as_of=as_of.date() if as_of else date.today(), application_refs=refs,
                              deadline=deadline.date() if deadline else None, actor=None)
    except RoundError as error:
        click.echo(f"{name}: {error}", err=True)
        sys.exit(1)
    click.echo(f"opened round {round_.name!r} ({kind}, id {round_.id}) with {len(refs)} applications and "
               f"{len(round_.template.criteria)} criteria")
