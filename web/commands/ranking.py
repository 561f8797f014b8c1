"""`panel rank`: aggregate a round's sheets and print the ranking; the ranking and sheet exports of `panel export`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _

REFUSED = 1
RANKING_FORMATS = (".xlsx", ".csv", ".json")


def find_round(name: str):
    """The round called ``name`` (or with that id); a usage error naming it otherwise."""
    from sqlalchemy import or_, select

    from web.extensions import db
    from web.models import Round

    condition = Round.name == name
    if name.isdigit():
        condition = or_(condition, Round.id == int(name))
    round_ = db.session.scalar(select(Round).where(condition))
    if round_ is None:
        raise click.BadParameter(_("there is no round named “%(name)s”.", name=name), param_hint="--round")
    return round_


def ranked(round_name: str, capacity: int | None = None, rank_on_calibrated: bool = False):
    """The round's ranking report; exits 1 with the engine's errors when it refused the round, or with the
    sentence and its figures when the round is too large to rank here (over the ranking's limit,
    :func:`web.services.ranking.memory_limit`)."""
    from web.services.ranking import Options, RankingError, round_ranking

    try:
        report = round_ranking(find_round(round_name), Options(capacity=capacity, calibrate=rank_on_calibrated,
                                                               rank_on_calibrated=rank_on_calibrated))
    except RankingError as error:
        raise click.BadParameter(str(error), param_hint="--capacity") from error
    if report.result.errors:
        for error in report.result.errors:
            click.echo(error, err=True)
        if not report.too_large:
            click.echo(_("Round “%(round)s”: refused by the scoring engine, %(count)d error(s); nothing was ranked.",
                         round=report.round.name, count=len(report.result.errors)), err=True)
        sys.exit(REFUSED)
    return report


@click.command("rank")
@click.option("--round", "round_name", required=True, help="The round (name or id).")
@click.option("--json", "as_json", is_flag=True, help="Print the scoring engine's result as JSON.")
@click.option("--capacity", type=click.IntRange(min=1), default=None, help="Places to fill (adds P(top-k)).")
@click.option("--rank-on-calibrated", is_flag=True, help="Rank on calibrated totals (expert bias removed).")
@with_appcontext
def rank_command(round_name: str, as_json: bool, capacity: int | None, rank_on_calibrated: bool) -> None:
    """Aggregate the round's submitted sheets and print the ranking."""
    report = ranked(round_name, capacity, rank_on_calibrated)
    if as_json:
        click.echo(json.dumps(report.result.to_dict(), ensure_ascii=False, indent=1))
        return
    for line in ranking_table(report):
        click.echo(line)


def ranking_table(report) -> list[str]:
    """The ranking as aligned text lines: rank, ref, score, interval, rank interval, recommendation, n, the
    number of criterion notes, the flag codes and the center name."""
    lines = [f"{report.round.name}: {len(report.lines)} applications"]
    lines.append(f"{'rank':>4}  {'ref':<12} {'score':>6}  {'interval':<17} {'ranks':<7} {'recommendation':<14} "
                 f"{'n':>2} {'notes':>5}  {'flags':<18} center")
    for line in report.lines:
        result = line.result
        if result is None:
            lines.append(f"{'—':>4}  {line.application.ref:<12} {'—':>6}  {'':<17} {'':<7} {'no sheets':<14} "
                         f"{0:>2} {'':>5}  {'':<18} {line.application.center_name}")
            continue
        interval = f"[{result.interval[0]:.2f}, {result.interval[1]:.2f}]" if result.interval else "—"
        ranks = f"{result.rank_interval[0]}–{result.rank_interval[1]}" if result.rank_interval else "—"
        score = f"{result.score:.2f}" if result.score is not None else "—"
        codes = ",".join(sorted({flag.code for flag in result.flags if flag.criterion is None})) or "-"
        notes = sum(flag.criterion is not None for flag in result.flags)
        lines.append(f"{result.rank or '—':>4}  {line.application.ref:<12} {score:>6}  {interval:<17} {ranks:<7} "
                     f"{result.recommendation or '—':<14} {result.n:>2} {notes:>5}  {codes:<18} "
                     f"{line.application.center_name}")
    return lines


def export_round(kind: str, round_name: str | None, path: Path) -> None:
    """`panel export ranking|sheets --round R PATH`: the ranking (.xlsx/.csv/.json) or the sheets as a PDF."""
    if round_name is None:
        raise click.UsageError(_("`panel export %(kind)s` needs --round.", kind=kind))
    suffix = path.suffix.lower()
    if kind == "ranking" and suffix not in RANKING_FORMATS:
        raise click.BadParameter(_("give a path ending in one of %(suffixes)s.", suffixes=", ".join(RANKING_FORMATS)),
                                 param_hint="PATH")
    if kind == "sheets" and suffix != ".pdf":
        raise click.BadParameter(_("the score sheets are a PDF: give a path ending in .pdf."), param_hint="PATH")
    report = ranked(round_name)
    if kind == "ranking":
        from web.io.ranking_excel import write_ranking

        write_ranking(report, path)
        click.echo(f"exported the ranking of {report.round.name!r} ({len(report.lines)} applications) to {path}")
        return
    from web.io.pdf import score_sheets_page_estimate, score_sheets_pdf

    with click.progressbar(length=score_sheets_page_estimate(report), label="laying out pages",
                           file=sys.stderr) as bar:
        content = score_sheets_pdf(report, on_page=lambda page: bar.update(max(0, min(page, bar.length) - bar.pos)))
    path.write_bytes(content)
    sheets = sum(row.sheet.state == "submitted" for line in report.lines for row in line.rows)
    click.echo(f"exported {sheets} submitted score sheets and {len(report.lines)} panel summaries of "
               f"{report.round.name!r} to {path}")


commands: list[click.Command] = [rank_command]
