"""`panel match`: run the matcher for a round and store the result as a new assignment version."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy import select

from web.extensions import db
from web.models import Round
from web.services.matching_runs import COMMAND, OPTIONS


def find_round(value: str) -> Round | None:
    """The round with id or name ``value``."""
    round_ = db.session.get(Round, int(value)) if value.isdigit() else None
    return round_ or db.session.scalar(select(Round).where(Round.name == value))


@click.command(COMMAND)
@click.option(OPTIONS["round_ref"], "round_ref", required=True, metavar="R", help="The round's id or name.")
@click.option(OPTIONS["seed"], "seed", type=int, default=None,
              help="Seed of the randomized draw (default: the round's).")
@click.option(OPTIONS["max_probability"], "max_probability", type=click.FloatRange(0, 1, min_open=True),
              default=None,
              help="Randomized draw: each expert–application pair with at most this probability.")
@click.option(OPTIONS["dry_run"], "dry_run", is_flag=True, help="Solve and print, store nothing.")
@click.option(OPTIONS["as_json"], "as_json", is_flag=True, help="Print the engine's full result as JSON.")
@with_appcontext
def match_command(round_ref, seed, max_probability, dry_run, as_json) -> None:
    """Assign expert panels with the round's settings; the result becomes a new assignment version."""
    from web.services.panels import PanelError, match, seed_error

    if seed_error(seed):
        raise click.UsageError(seed_error(seed))
    round_ = find_round(round_ref)
    if round_ is None:
        raise click.UsageError(_("--round: there is no round with the id or name “%(round)s”.", round=round_ref))
    try:
        with engine_progress() as progress:
            run = match(round_, actor=None, seed=seed, max_probability=max_probability, dry_run=dry_run,
                        progress=progress)
    except PanelError as error:
        click.echo(_("%(field)s: %(message)s", field=round_.name, message=error), err=True)
        sys.exit(1)
    db.session.commit()
    version, result = run.version, run.result
    if as_json:
        click.echo(json.dumps({**result.to_dict(), "version": None if dry_run else version.number,
                               "active": version.active}, ensure_ascii=False, indent=2))
    else:
        click.echo(summary(round_, version, result, dry_run))
    if version.status == "infeasible":
        for sentence in result.diagnostics:
            click.echo(sentence, err=True)
        sys.exit(1)


@contextmanager
def engine_progress() -> Iterator[Callable[[str, int], None] | None]:
    """A progress bar over the engine's phases on standard error, drawn only when it is a terminal; yields the
    engine's progress callback (None when nothing is drawn)."""
    from matching.assign import PHASES

    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=len(PHASES), label="matching", file=sys.stderr, show_pos=True) as bar:
        yield phase_reporter(bar)
        bar.update(bar.length - bar.pos)


def phase_reporter(bar) -> Callable[[str, int], None]:
    """The engine's progress callback moving ``bar`` (a click progress bar): one step per phase finished, the
    current phase (or pricing round) as its label."""

    def report(step: str, number: int) -> None:
        if step == "pricing":
            bar.label = f"solving, pricing round {number}"
        else:
            bar.label = step
            bar.update(number - 1 - bar.pos)
        bar.render_progress()

    return report


def summary(round_: Round, version, result, dry_run: bool) -> str:
    """The lines an organizer reads after a run."""
    stored = "not stored (dry run)" if dry_run else f"stored as version {version.number}" + (
        " (active)" if version.active else " (not active; the previous version stays active)")
    seats = sum(len(entry["experts"]) for entry in result.assignments)
    lines = [
        f"round {round_.name!r}: {result.status}, {stored}",
        f"panels: {len(result.assignments)} applications, {seats} seats, "
        f"{sum(len(refs) for refs in result.reserves.values())} reserves, {len(result.conflicts)} conflicts kept out",
    ]
    if result.objective is not None:
        lines.append(f"objective {result.objective:.4f}, bound {result.bound:.4f}, gap {result.gap:.6f}")
    if result.seed is not None:
        lines.append(f"seed {result.seed}")
    lines.append("timing: " + ", ".join(f"{step} {seconds:.2f} s" for step, seconds in result.timing.items()))
    if result.status != "infeasible":
        lines += [f"- {sentence}" for sentence in result.diagnostics]
    return "\n".join(lines)


commands: list[click.Command] = [match_command]
