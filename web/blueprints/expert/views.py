"""The views of the expert area: an expert's own seats, the declaration, the material and the score sheet.

Every view looks the seat up through :func:`own_seat`: a seat of another expert, of an inactive version, a
declined or recused seat, or one in a round that is not open answers 404 — the same as a seat that does not exist.
"""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from web.auth.roles import roles_required
from web.blueprints.centers.panel import indicator_panel
from web.blueprints.expert import bp, labels
from web.extensions import db
from web.input_guard import checks_own_text
from web.models import OPINIONS, Assignment, AssignmentVersion, Field, Round, ScoreSheet
from web.services import invitations, sheets
from web.services.invitations import InvitationError
from web.services.records import export_applications
from web.services.sheets import SheetConflict, SheetError
from web.unit_of_work import keep, refuse

labels.register(bp)

# An invited expert answers while the panels are still being settled; material and sheets open with scoring.
VISIBLE_ROUND_STATES = ("assigning", "scoring")


def own_seat(seat_id: int, *, scoring: bool = True) -> Assignment:
    """The current expert's seat ``seat_id`` in an open round, or 404."""
    seat = db.session.get(Assignment, seat_id)
    if (seat is None or current_user.expert_id is None or seat.expert_id != current_user.expert_id
            or not seat.version.active or seat.state not in sheets.SEAT_STATES):
        abort(404)
    allowed = ("scoring",) if scoring else VISIBLE_ROUND_STATES
    if seat.version.round.state not in allowed:
        abort(404)
    return seat


def declared_sheet(seat: Assignment) -> ScoreSheet | None:
    """The seat's sheet when the expert declared no conflict; None means: declare first."""
    sheet = sheets.seat_sheet(seat)
    if sheet is None or sheet.conflict_declared is None:
        return None
    if sheet.conflict_declared:
        abort(404)
    return sheet


@bp.route("/")
@roles_required("expert")
def index():
    """The expert's seats in open rounds, with what to do next on each."""
    seats = []
    if current_user.expert_id is not None:
        seats = list(db.session.scalars(
            select(Assignment).join(AssignmentVersion).join(Round)
            .where(Assignment.expert_id == current_user.expert_id, AssignmentVersion.active,
                   Assignment.state.in_(sheets.SEAT_STATES), Round.state.in_(VISIBLE_ROUND_STATES))
            .order_by(Round.id, Assignment.application_id)))
    rows = [(seat, sheets.seat_sheet(seat)) for seat in seats]
    return render_template("expert/index.html", rows=rows, status=sheets.sheet_status)


@bp.route("/seats/<int:seat_id>/accept", methods=["POST"])
@roles_required("expert")
def accept(seat_id: int):
    """Accept an invitation."""
    seat = own_seat(seat_id, scoring=False)
    try:
        invitations.accept(seat, actor=current_user)
    except InvitationError as error:
        refuse(str(error))
    else:
        flash(_("Thank you: the invitation is accepted."), "info")
    return redirect(url_for("expert.index"))


@bp.route("/seats/<int:seat_id>/decline", methods=["GET", "POST"])
@roles_required("expert")
def decline(seat_id: int):
    """Decline an invitation with a reason."""
    seat = own_seat(seat_id, scoring=False)
    error = None
    if request.method == "POST":
        try:
            invitations.decline(seat, request.form.get("reason"), actor=current_user)
        except InvitationError as refused:
            error = str(refused)
        else:
            flash(_("The invitation is declined; the organizer has been told."), "info")
            return redirect(url_for("expert.index"))
    return render_template("expert/decline.html", seat=seat, error=error), 400 if error else 200


@bp.route("/seats/<int:seat_id>/declare", methods=["GET", "POST"])
@roles_required("expert")
def declare(seat_id: int):
    """The conflict declaration (回避声明), answered before any material opens."""
    seat = own_seat(seat_id)
    sheet = sheets.seat_sheet(seat)
    if sheet is not None and sheet.conflict_declared is False:
        return redirect(url_for("expert.sheet", seat_id=seat.id))
    error, status = None, 400
    if request.method == "POST":
        conflict = request.form.get("conflict")
        try:
            if conflict not in ("no", "yes"):
                raise SheetError(_("Choose: no conflict, or recuse."))
            sheets.declare(seat, conflict=conflict == "yes", reason=request.form.get("reason"), actor=current_user)
        except SheetError as refused:
            error, status = "; ".join(refused.errors), refusal_status(refused)
        else:
            if conflict == "yes":
                flash(_("You recused yourself; the organizer has been told and the seat is freed."), "info")
                return redirect(url_for("expert.index"))
            return redirect(url_for("expert.sheet", seat_id=seat.id))
    outline = export_applications(include_personal=False, refs=[seat.application.ref])[0]
    return render_template("expert/declare.html", seat=seat, outline=outline, error=error), status if error else 200


@bp.route("/seats/<int:seat_id>/application")
@roles_required("expert")
def application(seat_id: int):
    """The application in full (personal data masked), once the expert declared no conflict."""
    seat = own_seat(seat_id)
    if declared_sheet(seat) is None:
        return redirect(url_for("expert.declare", seat_id=seat.id))
    record = export_applications(include_personal=True, refs=[seat.application.ref])[0]
    fields = {field.code: field for field in db.session.scalars(select(Field))}
    files = [attachment for attachment in seat.application.attachments if attachment.stored_name]
    return render_template("expert/application.html", seat=seat, record=record, fields=fields, files=files)


def refusal_status(refused: SheetError) -> int:
    """409 when the sheet's state forbids the change (submitted or declared meanwhile), else 400."""
    return 409 if isinstance(refused, SheetConflict) else 400


def read_sheet_form(form, sheet: ScoreSheet) -> dict:
    """The sheet form as save_draft's keyword arguments (values as typed: the service parses and checks them)."""
    codes = [criterion.code for criterion in sheets.criteria(sheet)]
    return {
        "values": {code: form[f"score-{code}"] for code in codes if f"score-{code}" in form},
        "criterion_comments": {code: form[f"comment-{code}"] for code in codes if f"comment-{code}" in form},
        "opinion": form.get("opinion"),
        "comment": form.get("comment"),
    }


@bp.route("/seats/<int:seat_id>/sheet", methods=["GET", "POST"])
@checks_own_text
@roles_required("expert")
def sheet(seat_id: int):
    """The score sheet: save a draft, or submit (locked); a refused save lists every error and keeps the input."""
    seat = own_seat(seat_id)
    sheet = declared_sheet(seat)
    if sheet is None:
        return redirect(url_for("expert.declare", seat_id=seat.id))
    errors, entered, status = [], None, 400
    if request.method == "POST" and sheet.state == "submitted" and request.form.get("action") == "submit":
        flash(_("The sheet is submitted already."), "info")       # a second click on Submit changes nothing
        return redirect(url_for("expert.sheet", seat_id=seat.id))
    if request.method == "POST":
        entered = read_sheet_form(request.form, sheet)
        try:
            errors = sheets.save_draft(sheet, **entered, actor=current_user)
            if not errors and request.form.get("action") == "submit":
                keep()          # the draft just saved stands even when the submit is refused
                sheets.submit(sheet, actor=current_user)
                flash(_("The sheet is submitted. Thank you."), "info")
                return redirect(url_for("expert.index"))
        except SheetError as refused:
            errors, status = refused.errors, refusal_status(refused)
        if not errors:
            flash(_("Draft saved."), "info")
            return redirect(url_for("expert.sheet", seat_id=seat.id))
    return render_template("expert/sheet.html", seat=seat, sheet=sheet, criteria=sheets.criteria(sheet),
                           entered=entered, errors=errors, opinions=OPINIONS,
                           panel=indicator_panel(seat.application, seat.version.round)), status if errors else 200


@bp.route("/seats/<int:seat_id>/sheet/autosave", methods=["POST"])
@checks_own_text
@roles_required("expert")
def autosave(seat_id: int):
    """The sheet page's script saves the draft here (JSON answer: saved or the errors)."""
    seat = own_seat(seat_id)
    sheet = declared_sheet(seat)
    if sheet is None:
        abort(404)
    try:
        errors = sheets.save_draft(sheet, **read_sheet_form(request.form, sheet), actor=current_user)
    except SheetError as refused:
        return jsonify(saved=False, errors=refused.errors), 409
    if errors:
        return jsonify(saved=False, errors=errors), 400
    return jsonify(saved=True, errors=[], total=sheet.total, saved_at=sheet.updated_at.isoformat())
