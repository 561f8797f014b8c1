"""The views of the expert area: an expert's own seats, the declaration, the material and the score sheet.

Every view looks the seat up through :func:`own_seat`, which asks the sheets service whether the expert holds it:
a seat of another expert, of an inactive version, a declined or recused seat, or one in a round that is not open
answers 404 — the same as a seat that does not exist.
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
from web.models import OPINIONS, Assignment, Field, ScoreSheet
from web.services import invitations, sheets
from web.services.invitations import InvitationError
from web.services.records import export_applications
from web.services.sheets import SheetConflict, SheetError, SubmitUnconfirmed
from web.unit_of_work import keep, refuse

labels.register(bp)

# An invited expert answers while the panels are still being settled; material and sheets open with scoring.
VISIBLE_ROUND_STATES = ("assigning", "scoring")


def own_seat(seat_id: int, *, scoring: bool = True) -> Assignment:
    """The current expert's seat ``seat_id`` in an open round, or 404 (the sheets service says who holds a seat)."""
    seat = sheets.expert_seat(seat_id, current_user.expert_id,
                              round_states=("scoring",) if scoring else VISIBLE_ROUND_STATES)
    return seat or abort(404)


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
    """The expert's seats ordered by what needs doing, each with its next step."""
    items = sheets.agenda(current_user.expert_id, round_states=VISIBLE_ROUND_STATES)
    return render_template("expert/index.html", items=items)


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
@checks_own_text
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
@checks_own_text
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
    return render_template("expert/application.html", seat=seat, **masked_application(seat))


def masked_application(seat: Assignment) -> dict:
    """The seat's application as ``applications/_body.html`` shows it (personal data masked), with the fields."""
    return {"record": export_applications(include_personal=True, refs=[seat.application.ref])[0],
            "fields": {field.code: field for field in db.session.scalars(select(Field))},
            "files": [attachment for attachment in seat.application.attachments if attachment.stored_name]}


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
    """The score sheet beside the application: save a draft, or submit — the draft is saved, then a confirmation
    step spells out that a submitted sheet is locked, then the confirmed submit locks it."""
    seat = own_seat(seat_id)
    sheet = declared_sheet(seat)
    if sheet is None:
        return redirect(url_for("expert.declare", seat_id=seat.id))
    if request.method == "POST" and sheet.state == "submitted" and request.form.get("action") == "submit":
        flash(_("The sheet is submitted already."), "info")       # a second click on Submit changes nothing
        return redirect(url_for("expert.sheet", seat_id=seat.id))
    if request.method == "GET":
        return sheet_page(seat, sheet)
    entered = read_sheet_form(request.form, sheet)
    try:
        errors = sheets.save_draft(sheet, **entered, actor=current_user)
    except SheetError as refused:
        return sheet_page(seat, sheet, entered=entered, errors=refused.errors, status=refusal_status(refused))
    if errors:
        return sheet_page(seat, sheet, entered=entered, errors=errors, status=400)
    if request.form.get("action") != "submit":
        flash(_("Draft saved."), "info")
        return redirect(url_for("expert.sheet", seat_id=seat.id))
    keep()                  # the draft just saved stands whether or not the submit goes through
    try:
        sheets.submit(sheet, confirmed=request.form.get("confirmed") == "yes", actor=current_user)
    except SubmitUnconfirmed:
        return render_template("expert/confirm_submit.html", seat=seat, sheet=sheet,
                               criteria=sheets.criteria(sheet), round=seat.version.round)
    except SheetError as refused:
        return sheet_page(seat, sheet, errors=refused.errors, draft_saved=True, status=refusal_status(refused))
    flash(_("The sheet is submitted. Thank you."), "info")
    return redirect(url_for("expert.index"))


def sheet_page(seat: Assignment, sheet: ScoreSheet, *, entered: dict | None = None, errors: list[str] | None = None,
               draft_saved: bool = False, status: int = 200):
    """The sheet page: the application (masked) in one column, the sheet in the other; ``draft_saved`` says the
    errors refused the submit, not the draft."""
    return render_template("expert/sheet.html", seat=seat, sheet=sheet, criteria=sheets.criteria(sheet),
                           entered=entered, errors=errors or [], draft_saved=draft_saved, opinions=OPINIONS,
                           max_text_length=sheets.MAX_TEXT_LENGTH,
                           panel=indicator_panel(seat.application, seat.version.round),
                           **masked_application(seat)), status


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
