"""Invitations through the service: invite, remind, accept, decline (with and without automatic replacement)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.web.test_sheets_fixtures import world_fixture  # noqa: F401  (the world fixture)
from web.extensions import db
from web.models import Assignment, AuditEvent, OutboxMessage
from web.services import invitations, sheets
from web.services.invitations import InvitationError


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_invite_marks_proposed_seats_invited_and_is_not_repeated(app, world):
    with app.app_context():
        seats = invitations.invite(world.round(), actor=None)
        assert len(seats) == 4 and all(seat.state == "invited" and seat.invited_at for seat in seats)
        assert count(OutboxMessage, OutboxMessage.kind == "invitation") == 3       # one per expert
        assert invitations.invite(world.round(), actor=None) == []
        assert count(OutboxMessage, OutboxMessage.kind == "invitation") == 3
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "assignment.invite"))
        assert event.before == {"state": "proposed"} and event.after["state"] == "invited"


@pytest.mark.parametrize("state", ["draft", "closed"])
def test_invitations_wait_for_panels_and_stop_when_the_round_closes(app, world, state):
    with app.app_context():
        world.round().state = state
        with pytest.raises(InvitationError):
            invitations.invite(world.round(), actor=None)
        with pytest.raises(InvitationError):
            invitations.remind(world.round(), actor=None)
        assert count(OutboxMessage) == 0


def test_the_message_carries_the_deadline_and_login_address(app, world):
    app.config["PANEL_BASE_URL"] = "https://panel.example.gov/"
    with app.app_context():
        invitations.invite(world.round(), actor=None)
        body = db.session.scalar(select(OutboxMessage.body).where(OutboxMessage.recipient == "b@example.com"))
        assert "https://panel.example.gov/login" in body and "2020-11-30" in body and "APP-001" in body
        assert "APP-002" not in body and "甲专家" not in body


def test_accept_then_decline_is_refused_after_a_submitted_sheet(app, world):
    with app.app_context():
        invitations.invite(world.round(), actor=None)
        seat = world.seat("EXP-A", "APP-001")
        invitations.accept(seat, actor=None)
        invitations.accept(seat, actor=None)
        assert seat.state == "accepted" and count(AuditEvent, AuditEvent.action == "assignment.accept") == 1
        sheet = sheets.declare(seat, conflict=False, reason=None, actor=None)
        values = {criterion.code: criterion.max for criterion in world.round().template.criteria}
        sheets.save_draft(sheet, values, opinion="recommend", actor=None)
        sheets.submit(sheet, confirmed=True, actor=None)
        with pytest.raises(InvitationError):
            invitations.decline(seat, "改变主意", actor=None)
        assert seat.state == "accepted"


def test_decline_needs_a_reason(app, world):
    with app.app_context():
        with pytest.raises(InvitationError, match="谢绝邀请须填写理由"):
            invitations.decline(world.seat("EXP-A", "APP-001"), "", actor=None)
        assert world.seat("EXP-A", "APP-001").state == "proposed"


def test_decline_without_auto_replace_leaves_the_seat_to_the_organizer(app, world):
    with app.app_context():
        seat = world.seat("EXP-B", "APP-001")
        assert invitations.decline(seat, "出国访问", actor=None) is None
        assert (seat.state, seat.state_reason) == ("declined", "出国访问")
        assert count(Assignment, Assignment.replaces_id == seat.id) == 0
        notice = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "decline_notice"))
        assert "出国访问" in notice.body and "替补" in notice.body


def test_decline_with_auto_replace_seats_and_invites_the_reserve(app, world):
    with app.app_context():
        world.round().auto_replace = True
        invitations.invite(world.round(), actor=None)
        newcomer = invitations.decline(world.seat("EXP-B", "APP-001"), "出国访问", actor=None)
        assert newcomer.expert.ref == "EXP-C" and newcomer.state == "invited"
        assert db.session.scalar(select(OutboxMessage.recipient).where(OutboxMessage.kind == "invitation")
                                 .order_by(OutboxMessage.id.desc())) == "c@example.com"


def test_replace_refuses_a_seat_still_held(app, world):
    with app.app_context():
        with pytest.raises(InvitationError):
            invitations.replace(world.seat("EXP-A", "APP-001"), actor=None)
        assert count(Assignment) == 4
