"""API endpoints of the centers: decisions on applications, center status and targets, annual reports and
indicators, the evaluation rounds' results and the triennial assessment's weights and outcomes."""

from __future__ import annotations

from datetime import date

from flask import jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select

from web.extensions import db
from web.models import Application, Center, Decision, Round
from web.services import assessments, centers
from web.services.centers import CenterError

from . import bp
from .auth import STAFF, api_user, roles
from .errors import ApiError, invalid_body, json_type
from .errors import refused as refused_with
from .views import json_body


def center_or_404(center_id: int) -> Center:
    """The center with ``center_id``, or 404."""
    center = db.session.get(Center, center_id)
    if center is None:
        raise ApiError(404, "not_found", _("There is no center with id %(id)s.", id=center_id))
    return center


def json_object() -> dict:
    """The body, which must be a JSON object."""
    body = json_body()
    if not isinstance(body, dict):
        raise invalid_body([_("(body): must be an object, not %(sent)s.", sent=json_type(body))])
    return body


def refused(error: CenterError) -> ApiError:
    """A 422 with every reason of the refusal (nothing was changed)."""
    return refused_with(error.reasons)


@bp.get("/centers")
@roles(*STAFF)
def list_centers():
    """Every center with status, targets and reports."""
    rows = db.session.scalars(select(Center).join(Application).order_by(Application.ref))
    return jsonify([centers.center_record(center) for center in rows])


@bp.get("/centers/<int:center_id>")
@roles(*STAFF)
def get_center(center_id: int):
    """One center with status, targets and reports."""
    return jsonify(centers.center_record(center_or_404(center_id)))


@bp.put("/centers/<int:center_id>/reports/<int:year>")
@roles(*STAFF)
def save_center_report(center_id: int, year: int):
    """Store (or replace) one year's indicators; 422 lists every value refused."""
    center = center_or_404(center_id)
    indicators = json_object().get("indicators")
    if not isinstance(indicators, dict):         # a missing key must not store (or replace with) an empty report
        raise invalid_body([_("indicators: must be an object {indicator: value}, not %(sent)s.",
                              sent=json_type(indicators))])
    try:
        centers.save_report(center, year, indicators, actor=api_user())
    except CenterError as error:
        raise refused(error) from None
    return jsonify(centers.center_record(center))


@bp.post("/centers/<int:center_id>/reports/<int:year>/document")
@roles(*STAFF)
def attach_report_document(center_id: int, year: int):
    """Attach the year's report document (运行发展报告), sent as multipart field ``document``."""
    center = center_or_404(center_id)
    report = centers.report_of(center, year)
    if report is None:
        raise ApiError(404, "not_found", _("Center %(id)s has no report for %(year)s: store its indicators "
                                           "first.", id=center_id, year=year))
    upload = request.files.get("document")
    if upload is None or not upload.filename:
        raise ApiError(400, "missing_document", _("Send the file as the multipart/form-data field “document”."))
    try:
        centers.attach_document(report, upload.filename, upload.stream, content_type=upload.mimetype,
                                actor=api_user())
    except CenterError as error:
        raise refused(error) from None
    return jsonify(centers.center_record(center))


@bp.put("/centers/<int:center_id>/status")
@roles(*STAFF)
def set_center_status(center_id: int):
    """Change the center's status with a reason; 422 when refused."""
    center = center_or_404(center_id)
    body = json_object()
    try:
        centers.set_status(center, str(body.get("status") or ""), reason=body.get("reason"), actor=api_user())
    except CenterError as error:
        raise refused(error) from None
    return jsonify(centers.center_record(center))


@bp.put("/centers/<int:center_id>/targets")
@roles(*STAFF)
def set_center_targets(center_id: int):
    """Set the yearly targets ``{"targets": {code: value}}`` (null removes one); 422 lists every value refused."""
    center = center_or_404(center_id)
    targets = json_object().get("targets")
    if not isinstance(targets, dict):
        raise invalid_body([_("targets: must be an object {indicator: yearly target}.")])
    unknown = sorted(set(targets) - set(centers.INDICATOR_LABELS))
    if unknown:
        raise refused_with([_("targets.%(code)s: unknown indicator.", code=code) for code in unknown])
    try:
        centers.set_targets(center, {code: "" if value is None else value for code, value in targets.items()},
                            actor=api_user())
    except CenterError as error:
        raise refused(error) from None
    return jsonify(centers.center_record(center))


@bp.get("/decisions")
@roles(*STAFF)
def list_decisions():
    """Every decision after selection, by application ref."""
    rows = db.session.scalars(select(Decision).join(Application).order_by(Application.ref))
    return jsonify([decision_json(decision) for decision in rows])


def decision_json(decision: Decision) -> dict:
    """A decision with its date as ISO text and the center it made, if any."""
    center = centers.center_of(decision.application)
    return {**centers.decision_record(decision), "decided_on": decision.decided_on.isoformat(),
            "center": None if center is None else center.id}


@bp.put("/applications/<ref>/decision")
@roles(*STAFF)
def record_decision(ref: str):
    """Record the decision on an application (listed ones become centers); 422 when refused."""
    application = db.session.scalar(select(Application).where(Application.ref == ref))
    if application is None:
        raise ApiError(404, "not_found", _("There is no application %(ref)s.", ref=ref))
    body = json_object()
    try:
        decided_on = date.fromisoformat(str(body.get("decided_on") or ""))
    except ValueError:
        decided_on = None
    try:
        decision = centers.record_decision(application, outcome=str(body.get("outcome") or ""), decided_on=decided_on,
                                           document_no=str(body.get("document_no") or ""), reason=body.get("reason"),
                                           actor=api_user())
    except CenterError as error:
        raise refused(error) from None
    return jsonify(decision_json(decision))


def evaluation_round_or_404(round_id: int) -> Round:
    """An annual or triennial round, or 404."""
    round_ = db.session.get(Round, round_id)
    if round_ is None or round_.kind not in centers.EVALUATION_KINDS:
        raise ApiError(404, "not_found", _("There is no annual or triennial round with id %(id)s.", id=round_id))
    return round_


@bp.get("/rounds/<int:round_id>/evaluation")
@roles(*STAFF)
def get_evaluation(round_id: int):
    """An annual round's ranking with grades and the evaluated year's indicators, or a triennial round's
    assessment under its stored weights."""
    round_ = evaluation_round_or_404(round_id)
    if round_.kind == "triennial":
        return jsonify(assessments.assessment_record(round_, triennial_rows(round_)))
    try:
        return jsonify(centers.evaluation_record(round_))
    except CenterError as error:
        raise refused(error) from None


def triennial_rows(round_: Round) -> list[assessments.TriennialRow]:
    """The round's assessment rows; 422 when a round it reads is too large to rank here (nothing changed)."""
    try:
        return assessments.triennial_rows(round_)
    except CenterError as error:
        raise refused(error) from None


@bp.put("/rounds/<int:round_id>/assessment-weights")
@roles(*STAFF)
def set_assessment_weights(round_id: int):
    """Store a triennial round's weights ``{"triennial": 0.4, "annual": 0.6}``; 422 with every reason."""
    round_ = evaluation_round_or_404(round_id)
    body = json_object()
    try:
        assessments.set_weights(round_, triennial=number(body.get("triennial")), annual=number(body.get("annual")),
                                actor=api_user())
    except CenterError as error:
        raise refused(error) from None
    return jsonify(assessments.assessment_record(round_, triennial_rows(round_)))


def number(value: object) -> float | None:
    """A JSON number as a float; anything else None (the service names it)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@bp.post("/rounds/<int:round_id>/outcomes/<ref>")
@roles(*STAFF)
def apply_assessment_outcome(round_id: int, ref: str):
    """Apply one center's triennial outcome as its status (audited); 422 when it has none yet."""
    round_ = evaluation_round_or_404(round_id)
    if round_.kind != "triennial":
        raise ApiError(404, "not_found", _("Round %(id)s is not a triennial assessment.", id=round_id))
    row = next((row for row in triennial_rows(round_) if row.application.ref == ref), None)
    if row is None:
        raise ApiError(404, "not_found", _("Application %(ref)s is not in round %(id)s.", ref=ref, id=round_id))
    try:
        center = assessments.apply_outcome(round_, row, actor=api_user(), confirmed=True)   # the call is the confirmation
    except CenterError as error:
        raise refused(error) from None
    return jsonify(centers.center_record(center))
