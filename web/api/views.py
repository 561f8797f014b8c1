"""The API endpoints: thin views that parse, call one service operation and return JSON."""

from __future__ import annotations

from flask import current_app, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from web.extensions import db
from web.input_guard import checks_own_text
from web.io.limits import import_body
from web.models import AssignmentVersion, Job, Round, ScoreSheet
from web.services import records as record_service
from web.services import sheets
from web.services.import_jobs import request_import
from web.services.stored_ranking import NO_ROWS, ranking_for_view

from . import bp, serializers
from .auth import STAFF, api_user, roles
from .errors import ApiError, invalid_body, json_type, refused
from .openapi import document

# ---------------------------------------------------------------- helpers

def json_body() -> object:
    """The request's JSON body, or 400 naming what is wrong with it."""
    if not request.is_json:
        raise ApiError(400, "not_json", _("Send a JSON body with the header “Content-Type: application/json”."))
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "invalid_json", _("The body is not valid JSON."))
    return body


def round_or_404(round_id: int) -> Round:
    """The round with ``round_id``, or 404."""
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise ApiError(404, "not_found", _("There is no round with id %(id)s.", id=round_id))
    return round_


def is_admin() -> bool:
    """True when the token belongs to an admin (who sees personal data unmasked)."""
    return api_user().role == "admin"


def import_records(kind: str):
    """Check that the body is a JSON list of at most IMPORT_MAX_ROWS records and start an import job for it:
    202 with the job's URL (``Location``) and its state; the job validates and imports all or nothing."""
    raw = json_body()
    if not isinstance(raw, list):
        raise invalid_body([_("(body): must be a list of records, not %(sent)s.", sent=json_type(raw))])
    limit = current_app.config["IMPORT_MAX_ROWS"]
    if len(raw) > limit:
        raise ApiError(413, "too_many_records", _("The list holds %(count)d records; at most %(limit)d are "
                                                  "imported at once (PANEL_IMPORT_MAX_ROWS): split it.",
                                                  count=len(raw), limit=limit))
    job = request_import(kind, request.get_data(cache=True), actor=api_user())
    job_id = job.id
    db.session.commit()
    job = db.session.get(Job, job_id)
    response = jsonify(serializers.job(job))
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_job", job_id=job_id)
    return response


def one_record(kind: str, ref: str) -> dict:
    """The record with ``ref`` as the caller may see it, or 404."""
    export = record_service.export_applications if kind == "applications" else record_service.export_experts
    found = export(include_personal=True, refs=[ref])
    if not found:
        missing = (_("There is no application %(ref)s.", ref=ref) if kind == "applications"
                   else _("There is no expert %(ref)s.", ref=ref))
        raise ApiError(404, "not_found", missing)
    return serializers.record_for(found[0], admin=is_admin())


# ---------------------------------------------------------------- documentation

@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 document of this API (public: it holds no data)."""
    return jsonify(document())


@bp.route("/<path:unknown>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown_endpoint(unknown: str):
    """Any other path under /api/v1: a JSON 404 rather than the site's HTML page."""
    raise ApiError(404, "unknown_endpoint", _("There is no endpoint %(method)s /api/v1/%(path)s; the endpoints are "
                                              "listed in /api/v1/openapi.json.", method=request.method, path=unknown))


# ---------------------------------------------------------------- applications and experts

@bp.get("/applications")
@roles(*STAFF)
def list_applications():
    """Every application, summarized."""
    return jsonify([serializers.application_summary(record)
                    for record in record_service.export_applications()])


@bp.get("/applications/<ref>")
@roles(*STAFF)
def get_application(ref: str):
    """One application record; personal data masked unless the token is an admin's."""
    return jsonify(one_record("applications", ref))


@bp.post("/applications")
@import_body
@roles(*STAFF)
def import_applications():
    """Import a JSON list of application records, all or nothing."""
    return import_records("applications")


@bp.get("/experts")
@roles(*STAFF)
def list_experts():
    """Every expert, summarized (no contact data)."""
    return jsonify([serializers.expert_summary(record) for record in record_service.export_experts()])


@bp.get("/experts/<ref>")
@roles(*STAFF)
def get_expert(ref: str):
    """One expert record; contact data masked unless the token is an admin's."""
    return jsonify(one_record("experts", ref))


@bp.post("/experts")
@import_body
@roles(*STAFF)
def import_experts():
    """Import a JSON list of expert records, all or nothing."""
    return import_records("experts")


# ---------------------------------------------------------------- jobs

@bp.get("/jobs/<int:job_id>")
@roles(*STAFF)
def get_job(job_id: int):
    """A job's state and progress; at its end the import's refs or its errors. Organizers see the jobs they
    asked for, admins every job."""
    job = db.session.get(Job, job_id)
    caller = api_user()
    if job is None or (caller.role != "admin" and job.requested_by_id != caller.id):
        raise ApiError(404, "not_found", _("There is no job with id %(id)s.", id=job_id))
    return jsonify(serializers.job(job))


# ---------------------------------------------------------------- rounds and assignments

@bp.get("/rounds")
@roles(*STAFF)
def list_rounds():
    """Every round with its state and settings."""
    rounds = db.session.scalars(select(Round).order_by(Round.id))
    return jsonify([serializers.round_summary(round_) for round_ in rounds])


@bp.get("/rounds/<int:round_id>")
@roles(*STAFF)
def get_round(round_id: int):
    """One round with settings, quotas, template and applications."""
    return jsonify(serializers.round_detail(round_or_404(round_id)))


@bp.get("/rounds/<int:round_id>/assignments")
@roles(*STAFF)
def get_assignments(round_id: int):
    """The active assignment version's panels and reserves (null version while none is active)."""
    round_ = round_or_404(round_id)
    version = db.session.scalar(select(AssignmentVersion).where(AssignmentVersion.round_id == round_.id,
                                                                AssignmentVersion.active))
    if version is None:
        return jsonify({"round": round_.id, "version": None, "panels": [], "reserves": []})
    return jsonify({"round": round_.id, "version": serializers.version_summary(version),
                    "panels": serializers.panels(version),
                    "reserves": [serializers.reserve(row) for row in version.reserves]})


@bp.get("/rounds/<int:round_id>/ranking")
@roles(*STAFF)
def get_ranking(round_id: int):
    """The round's ranking from the scoring engine (submitted sheets only); 422 with the sentence and its figures
    when the round is too large to rank here (as the evaluation endpoint answers): no ranking, not an empty one."""
    round_ = round_or_404(round_id)
    viewed = ranking_for_view(round_, actor=api_user(), rows_for=NO_ROWS)
    db.session.commit()
    if viewed.report.too_large:
        raise refused(list(viewed.report.result.errors))
    return jsonify({"round": round_.id, "computed_at": viewed.computed_at.isoformat() + "Z", "stale": viewed.stale,
                    **serializers.plain(viewed.report.result.to_dict())})


# ---------------------------------------------------------------- sheets

@bp.get("/rounds/<int:round_id>/sheets")
@roles(*STAFF)
def list_round_sheets(round_id: int):
    """Every sheet of a round (organizers and admins)."""
    round_ = round_or_404(round_id)
    rows = db.session.scalars(select(ScoreSheet).where(ScoreSheet.round_id == round_.id)
                              .order_by(ScoreSheet.id))
    return jsonify([serializers.sheet(row) for row in rows])


@bp.get("/sheets")
@roles("expert")
def list_own_sheets():
    """The calling expert's own sheets, in every round."""
    rows = db.session.scalars(select(ScoreSheet).where(ScoreSheet.expert_id == own_expert_id())
                              .order_by(ScoreSheet.id))
    return jsonify([serializers.sheet(row) for row in rows])


@bp.get("/sheets/<int:sheet_id>")
@roles("expert", *STAFF)
def get_sheet(sheet_id: int):
    """One sheet: any for staff, only their own for an expert (404 for anyone else's)."""
    return jsonify(serializers.sheet(visible_sheet(sheet_id)))


@bp.put("/sheets/<int:sheet_id>")
@checks_own_text
@roles("expert")
def save_sheet(sheet_id: int):
    """Save draft values of the expert's own sheet; 422 lists every value refused."""
    row = writable_sheet(sheet_id)
    draft = sheet_draft(json_body())
    try:
        errors = sheets.save_draft(row, draft["values"], opinion=draft["opinion"], comment=draft["comment"],
                                   criterion_comments=draft["criterion_comments"], actor=api_user())
    except sheets.SheetError as error:
        raise sheet_refused(error) from None
    if errors:
        raise refused(errors)
    return jsonify(serializers.sheet(row))


def sheet_refused(error: sheets.SheetError) -> ApiError:
    """409 when the sheet's state forbids the write (submitted meanwhile), 422 when the body was refused."""
    if isinstance(error, sheets.SheetConflict):
        return ApiError(409, "conflict", "；".join(error.errors), error.errors)
    return refused(error.errors)


def sheet_draft(body: object) -> dict:
    """The SheetDraft body with its types checked (422 naming every wrong key); absent keys leave values as
    they are."""
    if not isinstance(body, dict):
        raise invalid_body([_("(body): must be an object, not %(sent)s.", sent=json_type(body))])
    draft = {"values": body.get("values"), "opinion": body.get("opinion"), "comment": body.get("comment"),
             "criterion_comments": body.get("criterion_comments")}
    problems = [_("%(key)s: unknown key (the keys are %(known)s).", key=key, known=", ".join(draft))
                for key in body if key not in draft]
    if not isinstance(draft["values"], dict):
        problems.append(_("values: must be an object {criterion code: number or null}."))
    for key in ("opinion", "comment"):
        if draft[key] is not None and not isinstance(draft[key], str):
            problems.append(_("%(key)s: must be a string or null.", key=key))
    comments = draft["criterion_comments"]
    texts_only = isinstance(comments, dict) and all(text is None or isinstance(text, str)
                                                     for text in comments.values())
    if comments is not None and not texts_only:
        problems.append(_("criterion_comments: must be an object {criterion code: text or null}."))
    if problems:
        raise invalid_body(problems)
    return draft


@bp.post("/sheets/<int:sheet_id>/submit")
@roles("expert")
def submit_sheet(sheet_id: int):
    """Submit (and lock) the expert's own sheet; refused (422) while incomplete or invalid."""
    row = writable_sheet(sheet_id)
    try:
        sheets.submit(row, confirmed=True, actor=api_user())    # the explicit submit call is the confirmation
    except sheets.SheetError as error:
        raise sheet_refused(error) from None
    return jsonify(serializers.sheet(row))


def own_expert_id() -> int:
    """The expert the calling account is linked to (403 for an expert account without one)."""
    expert_id = api_user().expert_id
    if expert_id is None:
        raise ApiError(403, "expert_not_linked", _("This expert account is not linked to an expert."))
    return expert_id


def visible_sheet(sheet_id: int) -> ScoreSheet:
    """The sheet if the caller may see it; 404 when it does not exist or is another expert's."""
    row = db.session.get(ScoreSheet, sheet_id)
    if row is None or (api_user().role == "expert" and row.expert_id != own_expert_id()):
        raise ApiError(404, "not_found", _("There is no sheet with id %(id)s.", id=sheet_id))
    return row



def writable_sheet(sheet_id: int) -> ScoreSheet:
    """The caller's own sheet while they still hold its seat on the active panel (as the sheet page requires);
    404 otherwise."""
    row = visible_sheet(sheet_id)
    if not sheets.holds_seat(row):
        raise ApiError(404, "seat_lost", _("Sheet %(id)s: you no longer hold a seat on this panel.", id=sheet_id))
    return row
