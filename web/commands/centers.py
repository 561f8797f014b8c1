"""``panel centers …``: decisions and the publicity list, center status and targets, annual reports, the
evaluation rounds' results and the triennial assessment's weights and outcomes, from the command line; each
command that changes something is a unit of work that commits once or exits 1 with the reasons."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from web.commands.ranking import find_round
from web.local_time import local_today
from web.models import CENTER_STATUSES, DECISION_OUTCOMES

EXPORT_SUFFIXES = (".xlsx", ".pdf")

centers = AppGroup("centers", help="Decisions after selection, centers, their status and annual reports.")


def refuse(reasons: list[str]) -> None:
    """Print every reason and exit 1 (nothing is committed)."""
    for reason in reasons:
        click.echo(reason, err=True)
    sys.exit(1)


def center_or_exit(center_id: int):
    """The center with ``center_id``, or exit 1."""
    from web.extensions import db
    from web.models import Center

    center = db.session.get(Center, center_id)
    if center is None:
        refuse([_("There is no center with id %(id)s.", id=center_id)])
    return center


@centers.command("list")
def list_command() -> None:
    """One line per center: id, application ref, status, years reported, name."""
    from sqlalchemy import select

    from web.extensions import db
    from web.models import Application, Center

    for center in db.session.scalars(select(Center).join(Application).order_by(Application.ref)):
        years = ",".join(str(report.year) for report in center.reports) or "-"
        click.echo(f"{center.id}\t{center.application.ref}\t{center.status}\t{years}\t{center.name}")


@centers.command("show")
@click.argument("center_id", type=int)
def show_command(center_id: int) -> None:
    """The center as JSON: status, targets, every report's indicators."""
    from web.services.centers import center_record

    click.echo(json.dumps(center_record(center_or_exit(center_id)), ensure_ascii=False, indent=1))


@centers.command("decide")
@click.argument("ref")
@click.option("--outcome", type=click.Choice(DECISION_OUTCOMES), required=True)
@click.option("--on", "decided_on", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--document", "document_no", required=True, help="The decision's document number (文号).")
@click.option("--reason", default=None)
def decide_command(ref, outcome, decided_on, document_no, reason) -> None:
    """Record the decision on application REF (listed: it becomes a center)."""
    from sqlalchemy import select

    from web.extensions import db
    from web.models import Application
    from web.services.centers import CenterError, center_of, record_decision

    application = db.session.scalar(select(Application).where(Application.ref == ref))
    if application is None:
        refuse([_("There is no application %(ref)s.", ref=ref)])
    try:
        record_decision(application, outcome=outcome, decided_on=decided_on.date(), document_no=document_no,
                        reason=reason, actor=None)
    except CenterError as error:
        refuse(error.reasons)
    center = center_of(application)
    db.session.commit()
    click.echo(f"{ref}: {outcome}" + (f" (center {center.id})" if center else ""))


@centers.command("status")
@click.argument("center_id", type=int)
@click.argument("status", type=click.Choice(CENTER_STATUSES))
@click.option("--reason", default=None)
def status_command(center_id: int, status: str, reason: str | None) -> None:
    """Move center CENTER_ID to STATUS (rectification and withdrawal need --reason)."""
    from web.extensions import db
    from web.services.centers import CenterError, set_status

    try:
        set_status(center_or_exit(center_id), status, reason=reason, actor=None)
    except CenterError as error:
        refuse(error.reasons)
    db.session.commit()
    click.echo(f"center {center_id}: {status}")


@centers.command("import-reports")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_reports_command(path: Path) -> None:
    """Import a filled annual-indicator template (.xlsx): every row, or none with every reason."""
    from web.extensions import db
    from web.io.center_excel import ReportFileError, read_reports
    from web.services.centers import CenterError, import_reports

    try:
        stored = import_reports(read_reports(path.read_bytes()), actor=None)
    except (CenterError, ReportFileError) as error:
        refuse(error.reasons)
    db.session.commit()
    click.echo(f"imported {len(stored)} annual reports from {path.name}")


def figures(pairs: tuple[str, ...]) -> dict[str, str]:
    """``CODE=VALUE`` arguments as a mapping (a blank value clears a target); a usage error otherwise."""
    values = {}
    for pair in pairs:
        code, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(_("“%(pair)s”: write CODE=VALUE, e.g. contracts=12.", pair=pair),
                                     param_hint="FIGURES")
        values[code.strip()] = value.strip()
    return values


@centers.command("report")
@click.argument("center_id", type=int)
@click.argument("year", type=int)
@click.argument("pairs", nargs=-1, required=True, metavar="CODE=VALUE...")
def report_command(center_id: int, year: int, pairs: tuple[str, ...]) -> None:
    """Store (or replace) YEAR's indicators of center CENTER_ID, e.g. ``contracts=12 contract_amount=860.5``."""
    from web.extensions import db
    from web.services.centers import CenterError, save_report

    try:
        report = save_report(center_or_exit(center_id), year, figures(pairs), actor=None)
    except CenterError as error:
        refuse(error.reasons)
    db.session.commit()
    click.echo(f"center {center_id}: report {report.year} stored")


@centers.command("report-document")
@click.argument("center_id", type=int)
@click.argument("year", type=int)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def report_document_command(center_id: int, year: int, path: Path) -> None:
    """Attach PATH as YEAR's report document (运行发展报告) of center CENTER_ID."""
    from web.extensions import db
    from web.services.centers import CenterError, attach_document, report_of

    report = report_of(center_or_exit(center_id), year)
    if report is None:
        refuse([_("Center %(id)s has no report for %(year)s: store its indicators first.", id=center_id, year=year)])
    try:
        with path.open("rb") as stream:
            attach_document(report, path.name, stream, content_type=None, actor=None)
    except CenterError as error:
        refuse(error.reasons)
    db.session.commit()
    click.echo(f"center {center_id}: report {year} document {path.name}")


@centers.command("targets")
@click.argument("center_id", type=int)
@click.argument("pairs", nargs=-1, required=True, metavar="CODE=VALUE...")
def targets_command(center_id: int, pairs: tuple[str, ...]) -> None:
    """Set yearly targets of center CENTER_ID (``CODE=`` with no value removes one)."""
    from web.extensions import db
    from web.services.centers import INDICATOR_LABELS, CenterError, set_targets

    values = figures(pairs)
    unknown = sorted(set(values) - set(INDICATOR_LABELS))
    if unknown:
        refuse([_("Unknown indicators: %(names)s.", names=", ".join(unknown))])
    try:
        center = set_targets(center_or_exit(center_id), values, actor=None)
    except CenterError as error:
        refuse(error.reasons)
    db.session.commit()
    click.echo(f"center {center_id}: {len(center.targets)} yearly targets")


@centers.command("history")
@click.argument("center_id", type=int)
def history_command(center_id: int) -> None:
    """The center's history, one change a line: time (Beijing time, with its zone), who, what."""
    from web.local_time import local_time
    from web.services.center_history import lines
    from web.services.centers import ranked_here, refusals, round_lines, round_rankings

    center = center_or_exit(center_id)
    reports = round_rankings(center.application)
    for reason in refusals(reports):                # a round too large to rank here: why it has no grade line
        click.echo(reason, err=True)
    for line in lines(center, round_lines(center.application, ranked_here(reports))):
        click.echo(f"{local_time(line.at)}\t{line.actor}\t{line.sentence}")


@centers.command("decisions")
def decisions_command() -> None:
    """One line per decision: application ref, outcome, date, document number, reason."""
    from sqlalchemy import select

    from web.extensions import db
    from web.models import Application, Decision

    for decision in db.session.scalars(select(Decision).join(Application).order_by(Application.ref)):
        click.echo(f"{decision.application.ref}\t{decision.outcome}\t{decision.decided_on}\t{decision.document_no}"
                   f"\t{decision.reason or ''}")


def export_path(path: Path) -> Path:
    """``path`` if it ends in .xlsx or .pdf; a usage error otherwise."""
    if path.suffix.lower() not in EXPORT_SUFFIXES:
        raise click.BadParameter(_("give a path ending in .xlsx or .pdf."), param_hint="PATH")
    return path


@centers.command("publicity")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def publicity_command(path: Path) -> None:
    """Write the publicity list (公示名单) to PATH (.xlsx or .pdf)."""
    from web.io import center_excel
    from web.io.pdf import render_pdf
    from web.services.centers import publicity_list

    listed = publicity_list()
    if export_path(path).suffix.lower() == ".pdf":
        path.write_bytes(render_pdf("pdf/publicity.html", listed=listed, today=local_today()))
    else:
        path.write_bytes(center_excel.publicity_workbook(listed))
    click.echo(f"publicity list: {len(listed)} listed, written to {path}")


def evaluation_round(name: str):
    """The annual or triennial round called ``name`` (or with that id); a usage error otherwise."""
    from web.services.centers import EVALUATION_KINDS

    round_ = find_round(name)
    if round_.kind not in EVALUATION_KINDS:
        raise click.BadParameter(_("round “%(round)s” is not an annual or triennial round.", round=round_.name),
                                 param_hint="ROUND")
    return round_


@centers.command("evaluation")
@click.argument("round_name", metavar="ROUND")
@click.option("--export", "path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the results to a .xlsx or .pdf file instead of printing JSON.")
def evaluation_command(round_name: str, path: Path | None) -> None:
    """An annual round's ranking with grades and indicators, or a triennial round's assessment and outcome lists
    (computed with the round's stored weights): JSON, or a file with --export. Refused, with no file written, when
    a round it reads is too large to rank on this machine."""
    from web.services.centers import CenterError

    round_ = evaluation_round(round_name)
    try:
        content = evaluation_output(round_, path)
    except CenterError as error:
        refuse(error.reasons)
    if path is None:
        click.echo(content)
        return
    path.write_bytes(content)
    click.echo(f"{round_.name}: written to {path}")


def evaluation_output(round_, path: Path | None) -> str | bytes:
    """What ``panel centers evaluation`` gives: the JSON record, or the bytes of the .pdf or .xlsx ``path`` names."""
    from web.io import center_excel, center_pdf
    from web.services import assessments
    from web.services import centers as service

    triennial = round_.kind == "triennial"
    if path is None:
        record = (assessments.assessment_record(round_, assessments.triennial_rows(round_)) if triennial
                  else service.evaluation_record(round_))
        return json.dumps(record, ensure_ascii=False, indent=1)
    if export_path(path).suffix.lower() == ".pdf":
        return center_pdf.assessment_pdf(round_) if triennial else center_pdf.evaluation_pdf(round_)
    if triennial:
        return center_excel.triennial_workbook(round_, assessments.triennial_rows(round_), assessments.window(round_))
    rows = service.evaluation_rows(round_, service.ranked(round_).lines)
    return center_excel.evaluation_workbook(round_, rows, service.evaluated_year(round_))


@centers.command("weights")
@click.argument("round_name", metavar="ROUND")
@click.option("--triennial", type=float, required=True, help="Weight of the experts' triennial score, in [0, 1].")
@click.option("--annual", type=float, required=True, help="Weight of the mean annual score; the two sum to 1.")
def weights_command(round_name: str, triennial: float, annual: float) -> None:
    """Store a triennial round's combination weights (audited); refused unless each is in [0, 1] and they sum
    to 1."""
    from web.extensions import db
    from web.services.assessments import set_weights
    from web.services.centers import CenterError

    round_ = evaluation_round(round_name)
    try:
        weights = set_weights(round_, triennial=triennial, annual=annual, actor=None)
    except CenterError as error:
        refuse(error.reasons)
    db.session.commit()
    click.echo(f"{round_.name}: weights triennial {weights.triennial:g}, annual {weights.annual:g}")


@centers.command("apply-outcome")
@click.argument("round_name", metavar="ROUND")
@click.argument("refs", nargs=-1, required=True, metavar="REF...")
def apply_outcome_command(round_name: str, refs: tuple[str, ...]) -> None:
    """Apply the triennial outcome of each application REF as its center's status (audited), all or none."""
    from web.extensions import db
    from web.services import assessments
    from web.services.centers import CenterError

    round_ = evaluation_round(round_name)
    if round_.kind != "triennial":
        refuse([_("Round %(id)s is not a triennial assessment.", id=f"“{round_.name}”")])
    try:
        rows = {row.application.ref: row for row in assessments.triennial_rows(round_)}
    except CenterError as error:
        refuse(error.reasons)
    missing = [ref for ref in refs if ref not in rows]
    if missing:
        refuse([_("Application %(application)s is not in round “%(round)s”.", application=ref, round=round_.name)
                for ref in missing])
    reasons = []
    for ref in refs:
        try:
            assessments.apply_outcome(round_, rows[ref], actor=None, confirmed=True)   # naming the refs confirms
        except CenterError as error:
            reasons += [_("%(field)s: %(message)s", field=ref, message=reason) for reason in error.reasons]
    if reasons:
        refuse(reasons)
    db.session.commit()
    for ref in refs:
        click.echo(f"{ref}: {rows[ref].assessment.outcome}")
