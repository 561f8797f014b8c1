"""Invitations (评审邀请): invite a round's panels, remind the late, take an expert's answer, replace a seat,
and get the invited experts in: each invitation carries the expert's personal link (web.services.access_links),
and an expert invited without an account gets one.

Every message lists only the recipient's own applications: an expert never learns who else sits on a panel.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import groupby

from flask import has_request_context, url_for
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from web.extensions import db
from web.input_guard import control_character_error
from web.models import Assignment, AssignmentVersion, Expert, OutboxMessage, Round, ScoreSheet, User, utcnow

from . import access_links, accounts, audit, outbox, panels

INVITABLE_ROUND_STATES = ("assigning", "scoring")
INVITED_STATES = ("invited", "accepted")
ANSWERABLE_STATES = ("proposed", "invited", "accepted")
FREED_STATES = ("declined", "recused")
ANSWER_ACTIONS = {"accepted": "assignment.accept", "declined": "assignment.decline"}


class InvitationError(ValueError):
    """A refused invitation operation, with a message for the user."""


def login_url() -> str:
    """The login page's full address for messages: ``PANEL_BASE_URL`` when set, else this request's host."""
    base = outbox.setting("PANEL_BASE_URL")
    if base:
        return base.rstrip("/") + "/login"
    if has_request_context():
        return url_for("auth.login", _external=True)
    return "/login"


def round_seats(round_: Round, states: tuple[str, ...] | None = None) -> list[Assignment]:
    """The seats of the round's active version (in ``states`` when given), by expert then application."""
    query = (select(Assignment).join(AssignmentVersion)
             .where(AssignmentVersion.round_id == round_.id, AssignmentVersion.active)
             .options(selectinload(Assignment.expert), selectinload(Assignment.application))
             .order_by(Assignment.expert_id, Assignment.application_id, Assignment.id))
    if states is not None:
        query = query.where(Assignment.state.in_(states))
    return list(db.session.scalars(query))


def invite(round_: Round, *, actor: User | None) -> list[Assignment]:
    """Invite every proposed seat of the active version: state invited, one message per expert; returns them."""
    if round_.state not in INVITABLE_ROUND_STATES:
        raise InvitationError(_("Invitations go out while the round is assigning or scoring (it is %(state)s).",
                                state=round_.state))
    _lock(round_)     # a double-click waits, then finds the seats invited and sends nothing twice
    seats = round_seats(round_, ("proposed",))
    _invite(round_, seats, actor)
    db.session.flush()
    return seats


def _invite(round_: Round, seats: list[Assignment], actor: User | None) -> None:
    """Mark ``seats`` invited (audited) and send each expert one invitation for all of their seats."""
    now = utcnow()
    for seat in seats:
        audit.record("assignment.invite", "assignment", seat.id, actor=actor,
                     before={"state": seat.state}, after={"state": "invited", "invited_at": now})
        seat.state = "invited"
        seat.invited_at = now
    for expert, expert_seats in groupby(seats, key=lambda seat: seat.expert):
        expert_seats = list(expert_seats)
        user, _created = accounts.ensure_expert_account(expert, actor=actor)
        body = outbox.mail_body("invitations/mail/invitation.txt", round=round_, expert=expert, seats=expert_seats,
                                login_url=login_url(), user=user, access_link=access_links.link(user),
                                link_days=access_links.max_age_days())
        outbox.send(outbox.expert_address(expert), "invitation",
                    outbox.mail_text("[Review invitation] %(round)s", round=round_.name), body,
                    round_=round_, expert=expert)


def remind(round_: Round, *, actor: User | None) -> list[OutboxMessage]:
    """Remind every expert with an unanswered invitation or an unsubmitted sheet; one message per expert."""
    if round_.state not in INVITABLE_ROUND_STATES:
        raise InvitationError(_("Reminders go out while the round is assigning or scoring (it is %(state)s).",
                                state=round_.state))
    pending = reminder_recipients(round_)
    messages = []
    for expert, seats in pending.items():
        body = outbox.mail_body("invitations/mail/reminder.txt", round=round_, expert=expert, seats=seats,
                                login_url=login_url())
        messages.append(outbox.send(outbox.expert_address(expert), "reminder",
                                    outbox.mail_text("[Review reminder] %(round)s", round=round_.name), body,
                                    round_=round_, expert=expert))
    audit.record("round.remind", "round", round_.id, actor=actor,
                 after={"experts": sorted(expert.ref for expert in pending),
                        "seats": sum(len(seats) for seats in pending.values())})
    db.session.flush()
    return messages


def reminder_recipients(round_: Round) -> dict[Expert, list[Assignment]]:
    """Who :func:`remind` writes to (one message each): experts with an unanswered invitation or an unsubmitted
    sheet, with those seats."""
    submitted = set(db.session.execute(
        select(ScoreSheet.application_id, ScoreSheet.expert_id)
        .where(ScoreSheet.round_id == round_.id, ScoreSheet.state == "submitted")).all())
    pending = defaultdict(list)
    for seat in round_seats(round_, ("invited", "accepted")):
        if (seat.application_id, seat.expert_id) not in submitted:
            pending[seat.expert].append(seat)
    return pending


def accept(assignment: Assignment, *, actor: User | None) -> Assignment:
    """The expert accepts an invitation (accepting twice changes nothing)."""
    if assignment.state == "accepted":
        return assignment
    if assignment.state not in ("proposed", "invited"):
        raise InvitationError(_("This invitation can no longer be answered (state: %(state)s).",
                                state=assignment.state))
    _answer(assignment, "accepted", None, actor)
    db.session.flush()
    return assignment


def decline(assignment: Assignment, reason: str | None, *, actor: User | None) -> Assignment | None:
    """The expert declines with a reason: the seat is freed, the organizer told, and — when the round says so —
    the first feasible reserve takes it (returned)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvitationError(_("reason: declining needs a reason."))
    if refusal := control_character_error("reason", reason):      # refused beside what was typed, not on a 400 page
        raise InvitationError(refusal)
    if assignment.state not in ANSWERABLE_STATES:
        raise InvitationError(_("This invitation can no longer be answered (state: %(state)s).",
                                state=assignment.state))
    round_ = assignment.version.round
    if db.session.scalar(select(ScoreSheet.id).where(
            ScoreSheet.round_id == round_.id, ScoreSheet.application_id == assignment.application_id,
            ScoreSheet.expert_id == assignment.expert_id, ScoreSheet.state != "draft")) is not None:
        raise InvitationError(_("You submitted a sheet for this application; ask the organizer instead."))
    _answer(assignment, "declined", reason, actor)
    body = outbox.mail_body("invitations/mail/decline_notice.txt", round=round_, assignment=assignment, reason=reason)
    subject = outbox.mail_text("[Invitation declined] %(round)s: %(expert)s declines %(application)s",
                               round=round_.name, expert=assignment.expert.name,
                               application=assignment.application.ref)
    outbox.send(outbox.organizer_address(), "decline_notice", subject, body, round_=round_, expert=assignment.expert)
    db.session.flush()
    return auto_replace(assignment, actor=actor)


def auto_replace(assignment: Assignment, *, actor: User | None) -> Assignment | None:
    """Replace a freed seat when the round replaces automatically; a refusal leaves it to the organizer."""
    if not assignment.version.round.auto_replace:
        return None
    try:
        return replace(assignment, actor=actor)
    except InvitationError:
        return None


def _answer(assignment: Assignment, state: str, reason: str | None, actor: User | None) -> None:
    """Set the seat's answer, audited."""
    audit.record(ANSWER_ACTIONS[state], "assignment", assignment.id,
                 actor=actor, before={"state": assignment.state, "state_reason": assignment.state_reason},
                 after={"state": state, "state_reason": reason})
    assignment.state = state
    assignment.state_reason = reason
    assignment.responded_at = utcnow()


def replacement_of(assignment: Assignment) -> Assignment | None:
    """The seat that took over from ``assignment``, if any."""
    return db.session.scalar(select(Assignment).where(Assignment.replaces_id == assignment.id))


def replace(assignment: Assignment, *, actor: User | None) -> Assignment | None:
    """Give a declined or recused seat to the first feasible reserve (``panels.replace_from_reserves``) and
    invite the newcomer when the round's invitations are out; None when no reserve fits."""
    if assignment.state not in FREED_STATES and assignment.state != "replaced":
        raise InvitationError(_("Only a declined or recused seat can be replaced (state: %(state)s).",
                                state=assignment.state))
    if replacement_of(assignment) is not None:
        raise InvitationError(_("This seat was replaced already."))
    try:
        newcomer = panels.replace_from_reserves(assignment, actor=actor)
    except panels.PanelError as error:
        raise InvitationError(str(error)) from error
    round_ = assignment.version.round
    if newcomer is not None and newcomer.state == "proposed" and _invitations_sent(round_):
        _invite(round_, [newcomer], actor)
    db.session.flush()
    return newcomer


def _invitations_sent(round_: Round) -> bool:
    """True once any seat of the round's active version was invited."""
    return any(seat.invited_at is not None for seat in round_seats(round_))


# ---------------------------------------------------------------- getting invited experts in

def invited_experts(round_: Round) -> list[Expert]:
    """The experts holding an invited or accepted seat of the round's active version, by ref."""
    experts = {seat.expert.id: seat.expert for seat in round_seats(round_, INVITED_STATES)}
    return sorted(experts.values(), key=lambda expert: expert.ref)


def create_accounts(round_: Round, *, actor: User | None) -> list[User]:
    """Give every invited expert of the round without an account one, and mail each new account its personal
    link; returns the accounts created (none on a second click: the round's row is locked first, so a
    double-click waits for the first and then finds every account there)."""
    _lock(round_)
    created = []
    for expert in invited_experts(round_):
        user, new = accounts.ensure_expert_account(expert, actor=actor)
        if new:
            _send_link(round_, expert, user)
            created.append(user)
    audit.record("round.create_accounts", "round", round_.id, actor=actor,
                 after={"accounts": sorted(user.username for user in created)})
    db.session.flush()
    return created


def send_link(round_: Round, expert: Expert, *, actor: User | None) -> User:
    """Mail one invited expert of the round a fresh personal link (creating their account when missing)."""
    if expert.id not in {invited.id for invited in invited_experts(round_)}:
        raise InvitationError(_("%(expert)s holds no invited seat in this round.", expert=expert.name))
    _lock(round_)
    user, _new = accounts.ensure_expert_account(expert, actor=actor)
    if not user.active:
        raise InvitationError(_("The account %(name)s is deactivated; an admin must reactivate it first.",
                                name=user.username))
    _send_link(round_, expert, user)
    audit.record("user.send_link", "user", user.id, actor=actor, after={"round": round_.id, "expert": expert.ref})
    db.session.flush()
    return user


def _send_link(round_: Round, expert: Expert, user: User) -> OutboxMessage:
    """The message with the expert's username and personal link."""
    body = outbox.mail_body("invitations/mail/access_link.txt", round=round_, expert=expert, user=user,
                            access_link=access_links.link(user), link_days=access_links.max_age_days(),
                            login_url=login_url())
    return outbox.send(outbox.expert_address(expert), "access_link",
                       outbox.mail_text("[Review system login] %(round)s", round=round_.name), body,
                       round_=round_, expert=expert)


def _lock(round_: Round) -> None:
    """Lock the round's row until the commit (PostgreSQL: a row lock; SQLite: the database's write lock)."""
    db.session.execute(update(Round).where(Round.id == round_.id).values(id=Round.id)
                       .execution_options(synchronize_session=False))
