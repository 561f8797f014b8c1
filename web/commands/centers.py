"""``panel centers list | show | decide | status | import-reports``: decisions, center status and annual reports
from the command line, each a unit of work that commits once or exits 1 with the reasons."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from web.models import CENTER_STATUSES, DECISION_OUTCOMES

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
        refuse([f"no center with id {center_id}"])
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
        refuse([f"no application with ref {ref}"])
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
