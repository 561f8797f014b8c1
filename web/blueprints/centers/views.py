"""The views of the centers area: thin, each parses the form, calls one service operation and answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from scoring.assessment import OUTCOMES
from web.auth.roles import roles_required
from web.blueprints.centers import bp
from web.blueprints.centers.panel import center_chart
from web.blueprints.confirmation import confirmation_page, confirmed
from web.extensions import db
from web.io import center_excel, center_pdf
from web.io.pdf import render_pdf
from web.local_time import local_today
from web.models import (
    CENTER_STATUSES,
    DECISION_OUTCOMES,
    INDICATORS,
    Application,
    Center,
    Round,
)
from web.services import assessments, center_history, centers
from web.services.centers import INDICATOR_LABELS, OUTCOME_LABELS, STATUS_LABELS, CenterError
from web.services.ranking import RoundRanking
from web.unit_of_work import refuse

STAFF = ("organizer", "admin")


def center_or_404(center_id: int) -> Center:
    """The center with this id, or 404."""
    center = db.session.get(Center, center_id)
    if center is None:
        abort(404)
    return center


def refused(error: CenterError | center_excel.ReportFileError) -> None:
    """Show every reason of a refusal, one message each, and mark the request for rollback."""
    refuse(error.reasons[0])
    say(error.reasons[1:])


def say(reasons: list[str]) -> None:
    """Show why part of the page is missing (a round too large to rank here) on the page being rendered."""
    for reason in reasons:
        flash(reason, "error")


def form_date(name: str) -> date | None:
    """A YYYY-MM-DD date from the form, or None when blank or malformed (the service names it missing)."""
    try:
        return date.fromisoformat(request.form.get(name, "").strip())
    except ValueError:
        return None


@bp.route("/")
@roles_required(*STAFF)
def index():
    """Every center with its status and the years it reported."""
    rows = list(db.session.scalars(select(Center).join(Application).order_by(Application.ref)))
    evaluations = list(db.session.scalars(select(Round).where(Round.kind.in_(centers.EVALUATION_KINDS))
                                          .order_by(Round.as_of.desc())))
    return render_template("centers/index.html", centers=rows, statuses=STATUS_LABELS, evaluations=evaluations,
                           last_year=local_today().year - 1)


@bp.route("/decisions")
@roles_required(*STAFF)
def decisions():
    """The applications of the selection and site-inspection rounds, each with its decision or a form for one."""
    rows = [(application, centers.decision_of(application), centers.center_of(application))
            for application in centers.candidates()]
    reports = centers.selection_rankings()
    say(centers.refusals(reports))
    return render_template("centers/decisions.html", rows=rows, rounds=centers.selection_lines(reports),
                           outcomes=DECISION_OUTCOMES,
                           outcome_labels=OUTCOME_LABELS, today=local_today())


@bp.route("/decisions/<int:application_id>", methods=["POST"])
@roles_required(*STAFF)
def decide(application_id: int):
    """Record the decision on one application (listing it makes it a center)."""
    application = db.session.get(Application, application_id)
    if application is None:
        abort(404)
    try:
        centers.record_decision(application, outcome=request.form.get("outcome", ""),
                                decided_on=form_date("decided_on"), document_no=request.form.get("document_no", ""),
                                reason=request.form.get("reason"), actor=current_user)
    except CenterError as error:
        refused(error)
    else:
        flash(_("Decision on %(ref)s recorded.", ref=application.ref), "ok")
    return redirect(url_for("centers.decisions"))


@bp.route("/decisions/publicity.xlsx")
@roles_required(*STAFF)
def publicity_xlsx():
    """The publicity list (公示名单) as a workbook."""
    return download(center_excel.publicity_workbook(centers.publicity_list()), center_excel.XLSX_MIMETYPE,
                    "publicity.xlsx")


@bp.route("/decisions/publicity.pdf")
@roles_required(*STAFF)
def publicity_pdf():
    """The publicity list (公示名单) as a PDF to post."""
    content = render_pdf("pdf/publicity.html", listed=centers.publicity_list(), today=local_today())
    return download(content, "application/pdf", "publicity.pdf")


@bp.route("/<int:center_id>")
@roles_required(*STAFF)
def center_page(center_id: int):
    """A center's life: its application, rounds with scores and decisions, reports, indicators and status."""
    center = center_or_404(center_id)
    reports = centers.round_rankings(center.application)
    say(centers.refusals(reports))
    rounds = centers.round_lines(center.application, reports)
    return render_template("centers/center.html", center=center, decision=centers.decision_of(center.application),
                           rounds=rounds, indicators=INDICATORS,
                           labels=INDICATOR_LABELS, statuses=CENTER_STATUSES, status_labels=STATUS_LABELS,
                           outcome_labels=OUTCOME_LABELS, this_year=local_today().year,
                           history=center_history.lines(center, centers.round_lines(
                               center.application, centers.ranked_here(reports))), chart=center_chart(center),
                           completions={report.year: centers.completions(center, report) for report in center.reports},
                           patents=centers.plan_patents(center), annual=annual_grades(center, reports),
                           assessment=center_history.latest_outcome(center),
                           assessment_labels=assessments.OUTCOME_LABELS)


def annual_grades(center: Center, reports: Sequence[RoundRanking]) -> dict[int, tuple[float, str]]:
    """Score and grade of each reported year in the annual round that evaluated it (years not evaluated left out;
    none when such a round is too large to rank here: the page says why, from :func:`centers.refusals`). The
    rounds of ``reports``, the center's rankings the page made already, are not ranked again."""
    years = tuple(report.year for report in center.reports)
    try:
        scores = assessments.annual_scores(center.application, years, centers.scores_by_round(reports))
    except CenterError:
        return {}
    return {item.year: (item.score, str(assessments.GRADE_LABELS[assessments.grade_code(item.score)]))
            for item in scores if item.score is not None}


@bp.route("/<int:center_id>/status", methods=["POST"])
@roles_required(*STAFF)
def change_status(center_id: int):
    """Move the center to another status, with the reason."""
    center = center_or_404(center_id)
    try:
        centers.set_status(center, request.form.get("status", ""), reason=request.form.get("reason"),
                           actor=current_user)
    except CenterError as error:
        refused(error)
    else:
        flash(_("Status changed."), "ok")
    return redirect(url_for("centers.center_page", center_id=center.id))


@bp.route("/<int:center_id>/targets", methods=["POST"])
@roles_required(*STAFF)
def targets(center_id: int):
    """Set the yearly targets of the construction plan."""
    center = center_or_404(center_id)
    try:
        centers.set_targets(center, {code: request.form.get(code, "") for code in INDICATORS}, actor=current_user)
    except CenterError as error:
        refused(error)
    else:
        flash(_("Targets saved."), "ok")
    return redirect(url_for("centers.center_page", center_id=center.id))


@bp.route("/<int:center_id>/reports", methods=["POST"])
@roles_required(*STAFF)
def save_report(center_id: int):
    """Save one year's indicators from the form, and the report document when one is attached."""
    center = center_or_404(center_id)
    try:
        report = centers.save_report(center, request.form.get("year"),
                                     {code: request.form.get(code, "") for code in INDICATORS}, actor=current_user)
        upload = request.files.get("document")
        if upload is not None and upload.filename:
            centers.attach_document(report, upload.filename, upload.stream, content_type=upload.mimetype,
                                    actor=current_user)
    except CenterError as error:
        refused(error)
    else:
        flash(_("Report for %(year)s saved.", year=report.year), "ok")
    return redirect(url_for("centers.center_page", center_id=center.id))


@bp.route("/reports/template.xlsx")
@roles_required(*STAFF)
def report_template():
    """The Excel template of the annual indicators, one row per center in construction."""
    rows = list(db.session.scalars(select(Center).join(Application).where(Center.status != "withdrawn")
                                   .order_by(Application.ref)))
    year = request.args.get("year", type=int)
    return download(center_excel.report_template(rows, year), center_excel.XLSX_MIMETYPE, "annual-reports.xlsx")


@bp.route("/reports/import", methods=["POST"])
@roles_required(*STAFF)
def import_reports():
    """Import a filled template: every row stored, or none with every reason."""
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise center_excel.ReportFileError([_("Choose a file to import.")])
        stored = centers.import_reports(center_excel.read_reports(upload.read()), actor=current_user)
    except (CenterError, center_excel.ReportFileError) as error:
        refused(error)
    else:
        flash(_("%(count)s annual reports imported.", count=len(stored)), "ok")
    return redirect(url_for("centers.index"))


@bp.route("/evaluations", methods=["POST"])
@roles_required(*STAFF)
def open_evaluation():
    """Open a draft annual or triennial round over the centers due for the year."""
    try:
        round_ = centers.open_evaluation_round(request.form.get("kind", ""), request.form.get("year", type=int) or 0,
                                               actor=current_user)
    except CenterError as error:
        refused(error)
        return redirect(url_for("centers.index"))
    flash(_("Round %(name)s opened with %(count)s centers.", name=round_.name, count=len(round_.applications)), "ok")
    return redirect(url_for("rounds.overview", round_id=round_.id))


def evaluation_round_or_404(round_id: int) -> Round:
    """An annual or triennial round, or 404."""
    round_ = db.session.get(Round, round_id)
    if round_ is None or round_.kind not in centers.EVALUATION_KINDS:
        abort(404)
    return round_


@bp.route("/evaluations/<int:round_id>")
@roles_required(*STAFF)
def evaluation(round_id: int):
    """An evaluation round's results: rank, score and grade of each center beside its reported indicators."""
    round_ = evaluation_round_or_404(round_id)
    triennial = round_.kind == "triennial"
    try:
        rows = assessments.triennial_rows(round_) if triennial else evaluation_rows(round_)
    except CenterError as error:                # a round too large to rank here: the page says so, with no rows
        say(error.reasons)
        rows = []
    if triennial:
        return render_template("centers/triennial.html", **triennial_context(round_, rows))
    return render_template("centers/evaluation.html", **annual_context(round_, rows))


def annual_context(round_: Round, rows: list[centers.EvaluationRow]) -> dict:
    """What the annual results page shows."""
    return {"round": round_, "rows": rows, "year": centers.evaluated_year(round_),
            "indicators": INDICATORS, "labels": INDICATOR_LABELS}


def triennial_context(round_: Round, rows: list[assessments.TriennialRow]) -> dict:
    """What the triennial assessment page shows, computed with the round's stored weights."""
    return {"round": round_, "weights": assessments.weights_of(round_), "rows": rows,
            "years": assessments.window(round_), "outcomes": OUTCOMES,
            "outcome_labels": assessments.OUTCOME_LABELS, "grade_labels": assessments.GRADE_LABELS,
            "grade_code": assessments.grade_code, "flag_sentence": assessments.flag_sentence}


def form_number(name: str) -> float | None:
    """A number from the form, or None when blank or not a number (the service names it)."""
    try:
        return float(request.form.get(name, "").strip().replace(",", "."))
    except ValueError:
        return None


@bp.route("/evaluations/<int:round_id>/weights", methods=["POST"])
@roles_required(*STAFF)
def assessment_weights(round_id: int):
    """Store the triennial round's combination weights (each in [0, 1], summing to 1; audited)."""
    round_ = evaluation_round_or_404(round_id)
    try:
        assessments.set_weights(round_, triennial=form_number("triennial"), annual=form_number("annual"),
                                actor=current_user)
    except CenterError as error:
        refused(error)
    else:
        flash(_("Weights saved; the results below use them."), "ok")
    return redirect(url_for("centers.evaluation", round_id=round_.id))


@bp.route("/evaluations/<int:round_id>/outcomes/<int:application_id>", methods=["POST"])
@roles_required(*STAFF)
def apply_outcome(round_id: int, application_id: int):
    """Apply one center's assessment outcome as its status (audited), after a page that says what it changes."""
    round_ = evaluation_round_or_404(round_id)
    if round_.kind != "triennial":
        abort(404)
    try:
        rows = assessments.triennial_rows(round_)
    except CenterError as error:
        return back_to_results(round_, error)
    row = next((row for row in rows if row.application.id == application_id), None)
    if row is None:
        abort(404)
    if not confirmed() and assessments.outcome_applicable(round_, row):
        return outcome_confirmation(round_, row)
    try:
        assessments.apply_outcome(round_, row, actor=current_user, confirmed=confirmed())
    except CenterError as error:
        refused(error)
    else:
        flash(_("Outcome applied to %(name)s.", name=row.application.center_name), "ok")
    return redirect(url_for("centers.evaluation", round_id=round_.id))


def outcome_confirmation(round_: Round, row: assessments.TriennialRow) -> str:
    """The page before applying ``row``'s outcome: the status it sets, and that an exit is final."""
    outcome = row.assessment.outcome
    consequences = [_("%(name)s: the status becomes “%(status)s” (outcome “%(outcome)s” of %(round)s).",
                      name=row.application.center_name, round=round_.name,
                      status=STATUS_LABELS[assessments.OUTCOME_STATUSES[outcome]],
                      outcome=assessments.OUTCOME_LABELS[outcome])]
    return confirmation_page(
        title=_("Apply the outcome to %(name)s?", name=row.application.center_name), consequences=consequences,
        warning=_("An exit withdraws the center for good: a withdrawn center cannot change status again.")
        if outcome == "exit" else None,
        action=url_for("centers.apply_outcome", round_id=round_.id, application_id=row.application.id),
        button=_("Apply as status"), cancel=url_for("centers.evaluation", round_id=round_.id))


@bp.route("/evaluations/<int:round_id>/results.xlsx")
@roles_required(*STAFF)
def evaluation_xlsx(round_id: int):
    """The evaluation results with the indicator figures, as a workbook."""
    round_ = evaluation_round_or_404(round_id)
    try:
        if round_.kind == "triennial":
            content = center_excel.triennial_workbook(round_, assessments.triennial_rows(round_),
                                                      assessments.window(round_))
            return download(content, center_excel.XLSX_MIMETYPE, "assessment.xlsx")
        content = center_excel.evaluation_workbook(round_, evaluation_rows(round_), centers.evaluated_year(round_))
    except CenterError as error:
        return back_to_results(round_, error)
    return download(content, center_excel.XLSX_MIMETYPE, "evaluation.xlsx")


@bp.route("/evaluations/<int:round_id>/results.pdf")
@roles_required(*STAFF)
def evaluation_pdf(round_id: int):
    """The evaluation results as a PDF: the annual ranking with grades and key figures, or the triennial
    outcome lists."""
    round_ = evaluation_round_or_404(round_id)
    try:
        if round_.kind == "triennial":
            return download(center_pdf.assessment_pdf(round_), "application/pdf", "assessment.pdf")
        content = center_pdf.evaluation_pdf(round_, evaluation_rows(round_))
    except CenterError as error:
        return back_to_results(round_, error)
    return download(content, "application/pdf", "evaluation.pdf")


def back_to_results(round_: Round, error: CenterError) -> Response:
    """Nothing done, no file: back to the results page, which says why (a round too large to rank here)."""
    refused(error)
    return redirect(url_for("centers.evaluation", round_id=round_.id))


def evaluation_rows(round_: Round) -> list[centers.EvaluationRow]:
    """The round's ranking joined to each center's report of the evaluated year; refused (CenterError) when the
    round is too large to rank here, rather than shown or exported without its scores."""
    return centers.evaluation_rows(round_, centers.ranked(round_).lines)


def download(content: bytes, mimetype: str, filename: str) -> Response:
    """A file download response."""
    return Response(content, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={filename}"})
