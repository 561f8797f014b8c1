"""``panel rounds create | list | state``: open a review round with its default template, list rounds, move one
forward."""

from __future__ import annotations

import sys
from datetime import date

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

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
    from web.extensions import db
    from web.services.rounds import RoundError, create_round

    refs = [ref.strip() for value in application_refs for ref in value.split(",") if ref.strip()]
    try:
        round_ = create_round(name, kind, as_of=as_of.date() if as_of else date.today(), application_refs=refs,
                              deadline=deadline.date() if deadline else None, actor=None)
    except RoundError as error:
        click.echo(_("%(field)s: %(message)s", field=name, message=error), err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"opened round {round_.name!r} ({kind}, id {round_.id}) with {len(refs)} applications and "
               f"{len(round_.template.criteria)} criteria")


@rounds.command("list")
def list_rounds_command() -> None:
    """Every round: id, state, kind, applications and the active assignment version."""
    from sqlalchemy import select

    from web.extensions import db
    from web.models import Round
    from web.services.panels import active_version

    for round_ in db.session.scalars(select(Round).order_by(Round.id)):
        version = active_version(round_)
        active = f"version {version.number} ({version.status})" if version else "no assignment"
        click.echo(f"{round_.id}\t{round_.state}\t{round_.kind}\t{len(round_.round_applications)} applications\t"
                   f"{active}\t{round_.name}")


@rounds.command("state")
@click.option("--round", "round_ref", required=True, metavar="R", help="The round's id or name.")
@click.option("--to", "state", type=click.Choice(("assigning", "scoring", "closed")), required=True)
def state_command(round_ref, state) -> None:
    """Move a round one step forward (draft → assigning → scoring → closed)."""
    from web.commands.matching import find_round
    from web.extensions import db
    from web.services.rounds import RoundError, transition

    round_ = find_round(round_ref)
    if round_ is None:
        raise click.UsageError(_("--round: there is no round with the id or name “%(round)s”.", round=round_ref))
    try:
        transition(round_, state, actor=None, confirmed=True)
    except RoundError as error:
        click.echo(_("%(field)s: %(message)s", field=round_.name, message=error), err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"round {round_.name!r} is now {state}")
