"""Follow-up pages: invitations, reminders, replacement, reopening, progress and the outbox, for organizers only."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import select

from tests.web.test_sheets_fixtures import full_values, sheet_of, world_fixture  # noqa: F401  (the world fixture)
from web.extensions import db
from web.models import Assignment, AuditEvent, OutboxMessage
from web.services import sheets


def login(client, auth, username):
    client.get("/login?lang=en")
    auth.login(username=username)


def post(client, csrf_token, url, **data):
    """Post a follow-up form with the box ticked that confirms the messages it sends."""
    token = csrf_token(client.get("/invitations/").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, "confirm": "yes", **data})


def submitted(app, world, expert_ref="EXP-A", application_ref="APP-001"):
    with app.app_context():
        seat = world.seat(expert_ref, application_ref)
        sheet = sheets.declare(seat, conflict=False, reason=None, actor=None)
        sheets.save_draft(sheet, full_values(world.round()), opinion="recommend", actor=None)
        sheets.submit(sheet, confirmed=True, actor=None)
        return sheet.id


def test_only_staff_reach_the_invitation_pages(client, auth, world, app):
    sheet = submitted(app, world)
    urls = ["/invitations/", f"/invitations/rounds/{world.round_id}", f"/invitations/rounds/{world.round_id}/progress",
            "/invitations/outbox", f"/invitations/sheets/{sheet}/reopen"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, auth, "expert_a")
    for url in urls:
        assert client.get(url).status_code == 403
    auth.logout()
    login(client, auth, "organizer")
    for url in urls:
        assert client.get(url).status_code == 200


def test_invite_sends_each_expert_one_message_with_only_their_applications(client, auth, world, app, csrf_token):
    login(client, auth, "organizer")
    response = post(client, csrf_token, f"/invitations/rounds/{world.round_id}/invite")
    assert response.status_code == 302
    with app.app_context():
        assert {seat.state for seat in db.session.scalars(select(Assignment))} == {"invited"}
        messages = {message.recipient: message for message in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "invitation"))}
        assert set(messages) == {"a@example.com", "b@example.com", "EXP-D"}
        body = messages["a@example.com"].body
        assert "APP-001" in body and "APP-002" in body and "APP-003" not in body
        assert "2020-11-30" in body and "http://localhost/login" in body
        assert "乙专家" not in body and "丁专家" not in body
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "assignment.invite")) is not None
    page = client.get(f"/invitations/rounds/{world.round_id}").get_data(as_text=True)
    assert "Invite 0 proposed seats" in page


def test_remind_reaches_only_the_unsubmitted(client, auth, world, app, csrf_token):
    login(client, auth, "organizer")
    post(client, csrf_token, f"/invitations/rounds/{world.round_id}/invite")
    submitted(app, world, "EXP-B", "APP-001")
    page = client.get(f"/invitations/rounds/{world.round_id}").get_data(as_text=True)
    assert "Send 2 reminders now" in page                   # the exact number of messages, before the click
    assert post(client, csrf_token, f"/invitations/rounds/{world.round_id}/remind").status_code == 302
    with app.app_context():
        reminders = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder")))
        assert sorted(message.recipient for message in reminders) == ["EXP-D", "a@example.com"]


def test_a_declined_seat_is_replaced_with_one_click(client, auth, world, app, csrf_token):
    from web.services import invitations

    with app.app_context():
        invitations.decline(world.seat("EXP-B", "APP-001"), "时间冲突", actor=None)
    login(client, auth, "organizer")
    page = client.get(f"/invitations/rounds/{world.round_id}").get_data(as_text=True)
    assert "Replace from reserves" in page and "时间冲突" in page
    with app.app_context():
        seat = world.seat("EXP-B", "APP-001").id
    response = post(client, csrf_token, f"/invitations/seats/{seat}/replace")
    assert response.status_code == 302
    with app.app_context():
        newcomer = db.session.scalar(select(Assignment).where(Assignment.replaces_id == seat))
        assert newcomer.expert.ref == "EXP-C"
    assert "Replace from reserves" not in client.get(f"/invitations/rounds/{world.round_id}").get_data(as_text=True)
    response = post(client, csrf_token, f"/invitations/seats/{seat}/replace")
    assert "replaced already" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_reopen_requires_a_reason_and_csrf(client, auth, world, app, csrf_token, table_counts):
    sheet = submitted(app, world)
    login(client, auth, "organizer")
    before = table_counts()
    assert client.post(f"/invitations/sheets/{sheet}/reopen", data={"reason": "x"}).status_code == 400
    response = post(client, csrf_token, f"/invitations/sheets/{sheet}/reopen", reason="  ")
    assert response.status_code == 400 and "reason" in response.get_data(as_text=True)
    assert table_counts() == before
    assert post(client, csrf_token, f"/invitations/sheets/{sheet}/reopen", reason="分数与意见不一致").status_code == 302
    with app.app_context():
        row = sheet_of(world, "EXP-A", "APP-001")
        assert (row.state, row.reopen_reason) == ("reopened", "分数与意见不一致")
        assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "reopened")).recipient \
            == "a@example.com"
    assert post(client, csrf_token, f"/invitations/sheets/{sheet}/reopen", reason="again").status_code == 400


@pytest.mark.parametrize("url", ["/invitations/rounds/{round}/invite", "/invitations/rounds/{round}/remind",
                                 "/invitations/seats/{seat}/replace"])
def test_every_invitation_post_needs_the_csrf_token(client, auth, world, app, table_counts, url):
    with app.app_context():
        seat = world.seat("EXP-B", "APP-001").id
    login(client, auth, "organizer")
    before = table_counts()
    assert client.post(url.format(round=world.round_id, seat=seat)).status_code == 400
    assert table_counts() == before


def test_organizers_cannot_edit_an_experts_sheet(client, auth, world, app, csrf_token, table_counts):
    with app.app_context():
        seat = world.seat("EXP-A", "APP-001")
        sheets.declare(seat, conflict=False, reason=None, actor=None)
        seat_id = seat.id
    login(client, auth, "organizer")
    before = table_counts()
    token = csrf_token(client.get("/invitations/").get_data(as_text=True))
    for url in ("sheet", "sheet/autosave"):
        response = client.post(f"/expert/seats/{seat_id}/{url}", data={"csrf_token": token, "score-goals": "1"})
        assert response.status_code == 403
    assert table_counts() == before


def test_progress_tables_and_chart_carry_the_same_numbers(client, auth, world, app):
    submitted(app, world)
    with app.app_context():
        world.round().deadline = date(2000, 1, 1)
        db.session.commit()
    login(client, auth, "organizer")
    page = client.get(f"/invitations/rounds/{world.round_id}/progress").get_data(as_text=True)
    chart = json.loads(re.search(r'<script type="application/json" id="progress-data">(.*?)</script>', page,
                                 re.S).group(1))
    counts = {dataset["key"]: dataset["data"] for dataset in chart["datasets"]}
    assert counts == {"not_started": [3], "draft": [0], "submitted": [1], "reopened": [0]}
    totals = dict(re.findall(r'<td class="num" data-state="(\w+)">(\d+)</td>', page))
    assert totals == {"not_started": "3", "draft": "0", "submitted": "1", "reopened": "0"}
    assert "Overdue <small>(3)</small>" in page and "丁专家" in page
    assert "vendor/chart.umd.min.js" in page and "<script>" not in page
    index = client.get("/invitations/").get_data(as_text=True)
    assert re.search(r'2020年遴选综合评审</td>.*?<td class="num">3</td>\s*<td class="num">0</td>\s*'
                     r'<td class="num">1</td>\s*<td class="num">0</td>', index, re.S)


def test_outbox_lists_messages_and_shows_one_and_the_file_is_written(client, auth, world, app, csrf_token):
    login(client, auth, "organizer")
    post(client, csrf_token, f"/invitations/rounds/{world.round_id}/invite")
    page = client.get("/invitations/outbox").get_data(as_text=True)
    assert "a***@example.com" in page and "a@example.com" not in page and "【评审邀请】" in page   # masked
    with app.app_context():
        message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "a@example.com"))
        message_id, stored_as = message.id, message.stored_as
    page = client.get(f"/invitations/outbox/{message_id}").get_data(as_text=True)
    assert "上海智能制造创新中心" in page and stored_as in page
    assert client.get("/invitations/outbox/99999").status_code == 404
    path = app.instance_path + "/outbox/" + stored_as
    with open(path, "rb") as handle:
        assert b"To: a@example.com" in handle.read()
