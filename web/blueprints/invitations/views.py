"""The views of the invitations area: invitations and reminders, replacements, reopening, progress and the outbox."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from web import listing
from web.auth.roles import roles_required
from web.blueprints.expert.labels import SHEET_STATUSES
from web.blueprints.invitations import bp
from web.blueprints.invitations.labels import MESSAGE_KIND_LABELS, OUTBOX_STATE_LABELS
from web.blueprints.rounds.views import state_label
from web.extensions import db
from web.labels import label
from web.models import MESSAGE_KINDS, OUTBOX_STATES, Assignment, Expert, OutboxMessage, Round, ScoreSheet
from web.services import accounts, invitations, outbox, panels, sheets
from web.services.invitations import InvitationError
from web.services.sheets import SheetError
from web.unit_of_work import refuse

STAFF = ("organizer", "admin")


def round_or_404(round_id: int) -> Round:
    """The round with this id, or 404."""
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        abort(404)
    return round_


@bp.route("/")
@roles_required(*STAFF)
def index():
    """Every round with links to its invitations and its progress."""
    rounds = list(db.session.scalars(select(Round).order_by(Round.id.desc())))
    totals = {round_.id: sheets.progress(round_).total for round_ in rounds}
    return render_template("invitations/index.html", rounds=rounds, totals=totals, states=sheets.PROGRESS_STATES,
                           state_label=state_label)


@bp.route("/rounds/<int:round_id>")
@roles_required(*STAFF)
def round_page(round_id: int):
    """The round's seats with invitation state, answers, sheets, and the actions on them."""
    round_ = round_or_404(round_id)
    seats = invitations.round_seats(round_)
    sheet_by_pair = sheets.round_sheets(round_)
    replaced = {seat.replaces_id for seat in seats if seat.replaces_id is not None}
    rows = sorted(((seat, sheet_by_pair.get((seat.application_id, seat.expert_id))) for seat in seats),
                  key=lambda row: (row[0].application.ref, row[0].id))
    invited = invitations.invited_experts(round_)
    logins = accounts.expert_accounts({seat.expert_id for seat in seats})
    return render_template("invitations/round.html", round=round_, rows=rows, replaced=replaced,
                           status=sheets.sheet_status, freed=invitations.FREED_STATES,
                           proposed=sum(seat.state == "proposed" for seat in seats), state_label=state_label,
                           invited_ids={expert.id for expert in invited}, logins=logins,
                           proposed_experts=len({seat.expert_id for seat in seats if seat.state == "proposed"}),
                           without_account=sum(expert.id not in logins for expert in invited),
                           to_remind=len(invitations.reminder_recipients(round_)))


@bp.route("/rounds/<int:round_id>/invite", methods=["POST"])
@roles_required(*STAFF)
def invite(round_id: int):
    """Invite every proposed seat of the active version."""
    round_ = round_or_404(round_id)
    if not confirmed():
        return redirect(url_for("invitations.round_page", round_id=round_.id))
    try:
        seats = invitations.invite(round_, actor=current_user)
    except InvitationError as error:
        refuse(str(error))
    else:
        experts = len({seat.expert_id for seat in seats})
        flash(_("%(seats)s seats invited; %(experts)s messages in the outbox.", seats=len(seats), experts=experts),
              "info")
    return redirect(url_for("invitations.round_page", round_id=round_.id))


@bp.route("/rounds/<int:round_id>/remind", methods=["POST"])
@roles_required(*STAFF)
def remind(round_id: int):
    """Remind every expert with an unanswered invitation or an unsubmitted sheet."""
    round_ = round_or_404(round_id)
    if not confirmed():
        return redirect(url_for("invitations.round_page", round_id=round_.id))
    try:
        messages = invitations.remind(round_, actor=current_user)
    except InvitationError as error:
        refuse(str(error))
    else:
        flash(_("%(count)s reminders in the outbox.", count=len(messages)), "info")
    return redirect(url_for("invitations.round_page", round_id=round_.id))


def confirmed() -> bool:
    """Whether the organizer ticked the box that spells out what the button sends; refused (rolled back) if not."""
    if request.form.get("confirm") == "yes":
        return True
    refuse(_("Nothing was sent: tick the box that confirms the messages first."))
    return False


@bp.route("/rounds/<int:round_id>/accounts", methods=["POST"])
@roles_required(*STAFF)
def create_accounts(round_id: int):
    """Give every invited expert without an account one, and mail each their personal link (one click)."""
    round_ = round_or_404(round_id)
    if not confirmed():
        return redirect(url_for("invitations.round_page", round_id=round_.id))
    created = invitations.create_accounts(round_, actor=current_user)
    flash(_("%(count)s accounts created; each expert's personal link is in the outbox.", count=len(created)),
          "info")
    return redirect(url_for("invitations.round_page", round_id=round_.id))


@bp.route("/rounds/<int:round_id>/experts/<int:expert_id>/link", methods=["POST"])
@roles_required(*STAFF)
def send_link(round_id: int, expert_id: int):
    """Mail one invited expert of the round a fresh personal link (404 for an expert the round did not invite)."""
    round_ = round_or_404(round_id)
    expert = db.session.get(Expert, expert_id)
    if expert is None or expert.id not in {invited.id for invited in invitations.invited_experts(round_)}:
        abort(404)
    try:
        user = invitations.send_link(round_, expert, actor=current_user)
    except InvitationError as error:
        refuse(str(error))
    else:
        flash(_("A new personal link for %(name)s is in the outbox.", name=user.username), "info")
    return redirect(url_for("invitations.round_page", round_id=round_.id))


@bp.route("/seats/<int:seat_id>/replace", methods=["POST"])
@roles_required(*STAFF)
def replace(seat_id: int):
    """Give a declined or recused seat to the first feasible reserve (one click)."""
    seat = db.session.get(Assignment, seat_id)
    if seat is None:
        abort(404)
    try:
        newcomer = invitations.replace(seat, actor=current_user)
    except InvitationError as error:
        refuse(str(error))
    else:
        if newcomer is None:
            flash(_("No reserve can take the seat: %(reason)s", reason=panels.no_reserve_reason(seat)), "error")
        else:
            flash(_("%(expert)s takes the seat on %(application)s.", expert=newcomer.expert.name,
                    application=newcomer.application.ref), "info")
    return redirect(url_for("invitations.round_page", round_id=seat.version.round_id))


@bp.route("/sheets/<int:sheet_id>/reopen", methods=["GET", "POST"])
@roles_required(*STAFF)
def reopen(sheet_id: int):
    """Reopen a submitted sheet with a written reason; the expert is told through the outbox."""
    sheet = db.session.get(ScoreSheet, sheet_id)
    if sheet is None:
        abort(404)
    error = None
    if request.method == "POST":
        try:
            sheets.reopen(sheet, request.form.get("reason"), actor=current_user)
        except SheetError as refused:
            error = "; ".join(refused.errors)
        else:
            flash(_("The sheet is reopened; the expert has been told."), "info")
            return redirect(url_for("invitations.round_page", round_id=sheet.round_id))
    return render_template("invitations/reopen.html", sheet=sheet, error=error), 400 if error else 200


@bp.route("/rounds/<int:round_id>/progress")
@roles_required(*STAFF)
def progress(round_id: int):
    """Sheets by status per round, pool, expert and application; the overdue; a chart of the same numbers."""
    round_ = round_or_404(round_id)
    report = sheets.progress(round_)
    return render_template("invitations/progress.html", round=round_, report=report, states=sheets.PROGRESS_STATES,
                           chart=chart_data(report))


def chart_data(report: sheets.Progress) -> dict:
    """Per pool, the count of each status, for the stacked bar chart (labels already translated)."""
    pools = sorted(report.by_pool)
    return {
        "labels": [label(pool, "pool") for pool in pools],
        "datasets": [{"key": state, "label": str(SHEET_STATUSES[state]),
                      "data": [report.by_pool[pool][state] for pool in pools]}
                     for state in sheets.PROGRESS_STATES],
    }


OUTBOX_SORTS = {"created": (OutboxMessage.id,), "recipient": (OutboxMessage.recipient, OutboxMessage.id),
                "kind": (OutboxMessage.kind, OutboxMessage.id), "state": (OutboxMessage.state, OutboxMessage.id)}


@bp.route("/outbox")
@roles_required(*STAFF)
def outbox_page():
    """The newest messages first: invitations, reminders and notices, each with its delivery state, attempts and
    the server's last reply; filtered by round, kind and state (an unknown filter value is ignored), searched by
    recipient or subject, one page at a time."""
    rounds = list(db.session.scalars(select(Round).order_by(Round.id.desc())))
    args = listing.parse(listing.ListSpec(sorts=tuple(OUTBOX_SORTS), direction="desc", filters={
        "round": {str(round_.id) for round_ in rounds}, "kind": MESSAGE_KINDS, "state": OUTBOX_STATES}))
    query = select(OutboxMessage)
    if "round" in args.filters:          # a round id compared as a number: PostgreSQL has no integer = text
        query = query.where(OutboxMessage.round_id == int(args.filters["round"]))
    for key, column in (("kind", OutboxMessage.kind), ("state", OutboxMessage.state)):
        if key in args.filters:
            query = query.where(column == args.filters[key])
    page = listing.paginate_query(query, args, sort_columns=OUTBOX_SORTS,
                                  search=(OutboxMessage.recipient, OutboxMessage.subject))
    return render_template("invitations/outbox.html", messages=page.items, page=page,
                           round_options=[(str(round_.id), round_.name) for round_ in rounds],
                           kind_options=[(kind, str(MESSAGE_KIND_LABELS.get(kind, kind))) for kind in MESSAGE_KINDS],
                           state_options=[(state, str(OUTBOX_STATE_LABELS.get(state, state))) for state in OUTBOX_STATES])


@bp.route("/outbox/<int:message_id>/resend", methods=["POST"])
@roles_required(*STAFF)
def resend(message_id: int):
    """Send a failed message again (audited); the worker takes it after the commit."""
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    try:
        outbox.resend(message, actor=current_user)
    except outbox.OutboxError as error:
        refuse(str(error))
        return redirect(url_for("invitations.message", message_id=message_id))
    flash(_("The message is queued to be sent again."), "info")
    return redirect(url_for("invitations.message", message_id=message_id))


@bp.route("/outbox/<int:message_id>")
@roles_required(*STAFF)
def message(message_id: int):
    """One message in full."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    return render_template("invitations/message.html", message=message)
