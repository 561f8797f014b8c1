"""Expert pages: role and ownership, the declaration, the material (masked), the sheet, autosave, submit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.web.test_sheets_fixtures import full_values, sheet_of, world_fixture  # noqa: F401  (the world fixture)
from web.extensions import db
from web.models import OutboxMessage, ScoreSheet
from web.services import sheets


def login(client, auth, username):
    client.get("/login?lang=en")
    auth.login(username=username)


def seat_id(app, world, expert_ref, application_ref):
    with app.app_context():
        return world.seat(expert_ref, application_ref).id


def declare(client, csrf_token, seat, conflict="no", reason=""):
    page = client.get(f"/expert/seats/{seat}/declare")
    return client.post(f"/expert/seats/{seat}/declare", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "conflict": conflict, "reason": reason})


def sheet_form(client, csrf_token, seat, values, **extra):
    page = client.get(f"/expert/seats/{seat}/sheet")
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "action": "save"}
    data.update({f"score-{code}": value for code, value in values.items()})
    data.update(extra)
    return client.post(f"/expert/seats/{seat}/sheet", data=data)


def confirm_submit(client, csrf_token, seat):
    """The confirmation step's own form: nothing but the token, the action and the confirmation."""
    page = client.get(f"/expert/seats/{seat}/sheet")
    return client.post(f"/expert/seats/{seat}/sheet", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "action": "submit", "confirmed": "yes"})


def submit_confirmed(client, csrf_token, seat, values, **extra):
    """Fill in, press Submit, then confirm on the confirmation step."""
    response = sheet_form(client, csrf_token, seat, values, action="submit", **extra)
    assert response.status_code == 200 and 'name="confirmed"' in response.get_data(as_text=True)
    return confirm_submit(client, csrf_token, seat)


def test_anonymous_goes_to_login_and_organizer_is_refused(client, auth, world, app):
    seat = seat_id(app, world, "EXP-A", "APP-001")
    for url in ("/expert/", f"/expert/seats/{seat}/sheet", f"/expert/seats/{seat}/application"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, auth, "organizer")
    for url in ("/expert/", f"/expert/seats/{seat}/sheet", f"/expert/seats/{seat}/declare"):
        assert client.get(url).status_code == 403


def test_an_expert_sees_only_their_own_seats(client, auth, world):
    login(client, auth, "expert_a")
    page = client.get("/expert/").get_data(as_text=True)
    assert "APP-001" in page and "APP-002" in page and "APP-003" not in page
    assert "乙专家" not in page and "丁专家" not in page


def test_another_experts_seat_answers_404_everywhere(client, auth, world, app, csrf_token, table_counts):
    seat_a = seat_id(app, world, "EXP-A", "APP-002")
    login(client, auth, "expert_b")
    token = csrf_token(client.get("/expert/").get_data(as_text=True))
    before = table_counts()
    for url in ("declare", "application", "sheet", "decline"):
        assert client.get(f"/expert/seats/{seat_a}/{url}").status_code == 404
    for url in ("declare", "sheet", "sheet/autosave", "accept", "decline"):
        response = client.post(f"/expert/seats/{seat_a}/{url}", data={
            "csrf_token": token, "conflict": "no", "reason": "x", "score-goals": "5"})
        assert response.status_code == 404
    assert client.get("/expert/seats/99999/sheet").status_code == 404
    assert table_counts() == before


def test_the_material_opens_only_after_the_declaration_and_is_masked(client, auth, world, app, csrf_token):
    seat = seat_id(app, world, "EXP-A", "APP-001")
    login(client, auth, "expert_a")
    response = client.get(f"/expert/seats/{seat}/application")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/expert/seats/{seat}/declare")
    assert declare(client, csrf_token, seat).headers["Location"].endswith(f"/expert/seats/{seat}/sheet")
    page = client.get(f"/expert/seats/{seat}/application").get_data(as_text=True)
    assert "上海智能制造创新中心" in page and "necessity 部分的说明。" in page
    assert "138****5678" in page and "13812345678" not in page
    assert "310101198001011234" not in page and "rep1@example.com" not in page
    assert "EXP-009" not in page                     # the experts the applicant asks to avoid
    assert "乙专家" not in page


def test_a_declaration_without_a_choice_or_a_recusal_without_reason_is_refused(client, auth, world, app,
                                                                               csrf_token, table_counts):
    seat = seat_id(app, world, "EXP-A", "APP-001")
    login(client, auth, "expert_a")
    before = table_counts()
    assert declare(client, csrf_token, seat, conflict="").status_code == 400
    response = declare(client, csrf_token, seat, conflict="yes", reason=" ")
    assert response.status_code == 400 and "reason" in response.get_data(as_text=True)
    assert table_counts() == before


def test_recusal_frees_the_seat_and_closes_the_material(client, auth, world, app, csrf_token):
    seat = seat_id(app, world, "EXP-B", "APP-001")
    login(client, auth, "expert_b")
    response = declare(client, csrf_token, seat, conflict="yes", reason="本人曾在承担单位任职")
    assert response.status_code == 302
    with app.app_context():
        assert world.seat("EXP-B", "APP-001").state == "recused"
        notice = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "recusal_notice"))
        assert "本人曾在承担单位任职" in notice.body
    for url in ("application", "sheet", "declare"):
        assert client.get(f"/expert/seats/{seat}/{url}").status_code == 404
    assert "APP-001" not in client.get("/expert/").get_data(as_text=True)


@pytest.mark.parametrize("code, raw, message", [
    ("technical_route", "21", "21 is above the maximum 20"),
    ("necessity", "7.3", "7.3 is not a multiple of the step 0.5"),
    ("necessity", "abc", "“abc” is not a number"),
])
def test_a_bad_value_is_refused_with_its_message_and_nothing_changes(client, auth, world, app, csrf_token,
                                                                     table_counts, code, raw, message):
    seat = seat_id(app, world, "EXP-A", "APP-001")
    login(client, auth, "expert_a")
    declare(client, csrf_token, seat)
    sheet_form(client, csrf_token, seat, {"goals": "8"})
    before = table_counts()
    response = sheet_form(client, csrf_token, seat, {code: raw, "goals": "2"}, opinion="recommend")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and message in page and code in page
    assert f'value="{raw}"' in page                  # what was typed stays in the form
    assert table_counts() == before
    with app.app_context():
        sheet = sheet_of(world, "EXP-A", "APP-001")
        assert {score.criterion.code: score.value for score in sheet.scores} == {"goals": 8.0}
        assert sheet.opinion is None


def test_posts_without_the_csrf_token_are_refused(client, auth, world, app, csrf_token, table_counts):
    seat = seat_id(app, world, "EXP-A", "APP-001")
    login(client, auth, "expert_a")
    before = table_counts()
    assert client.post(f"/expert/seats/{seat}/declare", data={"conflict": "no"}).status_code == 400
    assert client.post(f"/expert/seats/{seat}/accept").status_code == 400
    assert client.post(f"/expert/seats/{seat}/decline", data={"reason": "出差"}).status_code == 400
    assert table_counts() == before
    declare(client, csrf_token, seat)
    before = table_counts()
    assert client.post(f"/expert/seats/{seat}/sheet", data={"score-goals": "5"}).status_code == 400
    assert client.post(f"/expert/seats/{seat}/sheet/autosave", data={"score-goals": "5"}).status_code == 400
    assert table_counts() == before


def test_autosave_takes_the_token_in_a_header_and_answers_json(client, auth, world, app, csrf_token):
    seat = seat_id(app, world, "EXP-A", "APP-001")
    login(client, auth, "expert_a")
    declare(client, csrf_token, seat)
    token = csrf_token(client.get(f"/expert/seats/{seat}/sheet").get_data(as_text=True))
    response = client.post(f"/expert/seats/{seat}/sheet/autosave", data={"score-goals": "7.5", "score-risks": "4"},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.json["saved"] and response.json["total"] == 11.5
    response = client.post(f"/expert/seats/{seat}/sheet/autosave", data={"score-goals": "10.5"},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 400 and "10.5" in response.json["errors"][0]
    with app.app_context():
        assert sheet_of(world, "EXP-A", "APP-001").total == 11.5


def test_submit_refuses_an_incomplete_sheet_then_locks_a_complete_one(client, auth, world, app, csrf_token):
    seat = seat_id(app, world, "EXP-A", "APP-001")
    login(client, auth, "expert_a")
    declare(client, csrf_token, seat)
    response = sheet_form(client, csrf_token, seat, {"goals": "8"}, action="submit")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "necessity" in page and "no score entered" in page and "opinion" in page
    with app.app_context():
        values = {code: f"{value:g}" for code, value in full_values(world.round()).items()}
    response = submit_confirmed(client, csrf_token, seat, values, opinion="recommend", comment="很好")
    assert response.status_code == 302
    with app.app_context():
        assert sheet_of(world, "EXP-A", "APP-001").state == "submitted"
    page = client.get(f"/expert/seats/{seat}/sheet").get_data(as_text=True)
    assert "disabled" in page and 'value="submit"' not in page
    token = csrf_token(client.get("/expert/").get_data(as_text=True))
    response = client.post(f"/expert/seats/{seat}/sheet", data={"csrf_token": token, "score-goals": "1",
                                                                "action": "save"})
    assert response.status_code == 409 and "locked" in response.get_data(as_text=True)
    response = client.post(f"/expert/seats/{seat}/sheet", data={"csrf_token": token, "score-goals": "1",
                                                                "action": "submit"})
    assert response.status_code == 302                 # a second Submit click is harmless
    response = client.post(f"/expert/seats/{seat}/sheet/autosave", data={"score-goals": "1"},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 409
    with app.app_context():
        assert sheet_of(world, "EXP-A", "APP-001").total == sum(full_values(world.round()).values())


def test_a_reopened_sheet_shows_the_reason_and_can_be_resubmitted(client, auth, world, app, csrf_token):
    seat = seat_id(app, world, "EXP-A", "APP-001")
    login(client, auth, "expert_a")
    declare(client, csrf_token, seat)
    with app.app_context():
        values = {code: f"{value:g}" for code, value in full_values(world.round()).items()}
    submit_confirmed(client, csrf_token, seat, values, opinion="recommend")
    with app.app_context():
        sheets.reopen(sheet_of(world, "EXP-A", "APP-001"), "请复核第二项", actor=None)
    page = client.get(f"/expert/seats/{seat}/sheet").get_data(as_text=True)
    assert "请复核第二项" in page and 'value="submit"' in page and 'value="9.5"' in page
    assert "请复核第二项" in client.get("/expert/").get_data(as_text=True)
    response = submit_confirmed(client, csrf_token, seat, {"goals": "6"}, opinion="conditional")
    assert response.status_code == 302
    with app.app_context():
        sheet = sheet_of(world, "EXP-A", "APP-001")
        assert (sheet.state, sheet.opinion) == ("submitted", "conditional")


def test_other_experts_scores_are_never_shown(client, auth, world, app, csrf_token):
    with app.app_context():
        seat_b = world.seat("EXP-B", "APP-001")
        sheet = sheets.declare(seat_b, conflict=False, reason=None, actor=None)
        sheets.save_draft(sheet, {"goals": 3.5}, comment="乙专家的保密意见", actor=None)
    seat = seat_id(app, world, "EXP-A", "APP-001")
    login(client, auth, "expert_a")
    declare(client, csrf_token, seat)
    for url in ("/expert/", f"/expert/seats/{seat}/sheet", f"/expert/seats/{seat}/application"):
        page = client.get(url).get_data(as_text=True)
        assert "乙专家的保密意见" not in page and "乙专家" not in page and "3.5" not in page


def test_accept_and_decline_an_invitation(client, auth, world, app, csrf_token):
    with app.app_context():
        world.round().state = "assigning"
        db.session.commit()
    accepted, declined = seat_id(app, world, "EXP-A", "APP-001"), seat_id(app, world, "EXP-A", "APP-002")
    login(client, auth, "expert_a")
    token = csrf_token(client.get("/expert/").get_data(as_text=True))
    assert client.post(f"/expert/seats/{accepted}/accept", data={"csrf_token": token}).status_code == 302
    assert client.get(f"/expert/seats/{accepted}/sheet").status_code == 404     # material waits for scoring
    response = client.post(f"/expert/seats/{declined}/decline", data={"csrf_token": token, "reason": ""})
    assert response.status_code == 400
    response = client.post(f"/expert/seats/{declined}/decline", data={"csrf_token": token, "reason": "出差在外"})
    assert response.status_code == 302
    with app.app_context():
        assert world.seat("EXP-A", "APP-001").state == "accepted"
        seat = world.seat("EXP-A", "APP-002")
        assert (seat.state, seat.state_reason) == ("declined", "出差在外")
        notice = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "decline_notice"))
        assert notice.recipient == "organizers" and "出差在外" in notice.body
        assert db.session.scalar(select(ScoreSheet)) is None


# ---------------------------------------------------------------- the expert's day

def test_the_start_page_puts_the_invitation_first_and_marks_it_overdue(client, auth, world, app, csrf_token):
    seat = seat_id(app, world, "EXP-A", "APP-001")
    with app.app_context():
        world.seat("EXP-A", "APP-002").state = "invited"
        db.session.commit()
    login(client, auth, "expert_a")
    declare(client, csrf_token, seat)
    with app.app_context():
        values = {code: f"{value:g}" for code, value in full_values(world.round()).items()}
    submit_confirmed(client, csrf_token, seat, values, opinion="recommend")
    page = client.get("/expert/?lang=zh_Hans_CN").get_data(as_text=True)
    invitation, submitted = page.index("APP-002"), page.index("APP-001")
    assert invitation < submitted
    assert "已逾期" in page[invitation:submitted] and "2020-11-30" in page[invitation:submitted]
    assert "已逾期" not in page[submitted:]                 # a submitted sheet is never overdue
    assert "接受" in page[invitation:submitted] and "查看评分表" in page[submitted:]


def test_the_sheet_sits_beside_the_application_with_a_jump_link(client, auth, world, app, csrf_token):
    seat = seat_id(app, world, "EXP-A", "APP-001")
    login(client, auth, "expert_a")
    declare(client, csrf_token, seat)
    page = client.get(f"/expert/seats/{seat}/sheet").get_data(as_text=True)
    assert page.index('id="material"') < page.index("necessity 部分的说明。") < page.index('id="sheet-column"')
    assert 'href="#sheet-column"' in page and 'name="score-goals"' in page
    assert "13812345678" not in page and "138****5678" in page


def test_the_total_counts_only_saved_values_and_says_it_is_incomplete(client, auth, world, app, csrf_token):
    seat = seat_id(app, world, "EXP-A", "APP-001")
    login(client, auth, "expert_a")
    client.get("/expert/?lang=zh_Hans_CN")
    declare(client, csrf_token, seat)
    sheet_form(client, csrf_token, seat, {"goals": "8"})
    response = sheet_form(client, csrf_token, seat, {"goals": "8", "technical_route": "21"})
    page = response.get_data(as_text=True)
    with app.app_context():
        count = len(world.round().template.criteria)
    assert response.status_code == 400 and "本次修改未保存" in page and "21" in page
    assert '<output id="total" for="sheet">8</output>' in page              # the refused 21 is not counted
    assert f"尚未完成：已评 1 / {count} 项" in page


def test_submit_asks_for_confirmation_spelling_out_the_lock(client, auth, world, app, csrf_token):
    seat = seat_id(app, world, "EXP-A", "APP-001")
    login(client, auth, "expert_a")
    client.get("/expert/?lang=zh_Hans_CN")
    declare(client, csrf_token, seat)
    with app.app_context():
        values = {code: f"{value:g}" for code, value in full_values(world.round()).items()}
    response = sheet_form(client, csrf_token, seat, values, action="submit", opinion="recommend")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "除非组织方退回，否则任何内容都不能再修改" in page
    with app.app_context():
        sheet = sheet_of(world, "EXP-A", "APP-001")
        assert sheet.state == "draft" and sheet.total == sum(full_values(world.round()).values())
    assert confirm_submit(client, csrf_token, seat).status_code == 302
    with app.app_context():
        assert sheet_of(world, "EXP-A", "APP-001").state == "submitted"


def test_a_refused_submit_says_the_draft_was_saved(client, auth, world, app, csrf_token):
    seat = seat_id(app, world, "EXP-A", "APP-001")
    login(client, auth, "expert_a")
    client.get("/expert/?lang=zh_Hans_CN")
    declare(client, csrf_token, seat)
    response = sheet_form(client, csrf_token, seat, {"goals": "8"}, action="submit", confirmed="yes")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "草稿已保存，但未能提交" in page and "本次修改未保存" not in page
    with app.app_context():
        sheet = sheet_of(world, "EXP-A", "APP-001")
        assert sheet.state == "draft" and sheet.total == 8


def test_a_comment_past_the_length_cap_is_refused_in_chinese_and_nothing_changes(client, auth, world, app,
                                                                                 csrf_token, table_counts):
    """A pasted 30 MiB text must not be stored (it would weigh on every page and PDF that prints it); the cap
    itself is accepted, one character more is refused beside what was typed, by the form and by autosave."""
    seat = seat_id(app, world, "EXP-A", "APP-001")
    client.get("/login?lang=zh")
    auth.login(username="expert_a")
    declare(client, csrf_token, seat)
    longest = "评" * sheets.MAX_TEXT_LENGTH
    assert sheet_form(client, csrf_token, seat, {"goals": "8"}, comment=longest).status_code == 302
    before = table_counts()
    response = sheet_form(client, csrf_token, seat, {"goals": "2"}, comment=longest + "审")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f"最多 {sheets.MAX_TEXT_LENGTH} 个字符（已输入 {sheets.MAX_TEXT_LENGTH + 1} 个）" in page
    token = csrf_token(client.get(f"/expert/seats/{seat}/sheet").get_data(as_text=True))
    response = client.post(f"/expert/seats/{seat}/sheet/autosave", headers={"X-CSRFToken": token},
                           data={"score-goals": "3", "comment-goals": "x" * (sheets.MAX_TEXT_LENGTH + 1)})
    assert response.status_code == 400 and not response.json["saved"] and "最多" in response.json["errors"][0]
    assert table_counts() == before
    with app.app_context():
        sheet = sheet_of(world, "EXP-A", "APP-001")
        assert sheet.comment == longest
        assert {score.criterion.code: score.value for score in sheet.scores} == {"goals": 8.0}
