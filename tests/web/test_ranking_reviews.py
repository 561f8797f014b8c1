"""Flag reviews: the organizer puts a flagged score back to its expert, who confirms or revises with a reason
(财政部令第87号 Art. 64); only that expert sees the review, every step is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.web.test_ranking_service import DESIGN_PANELS, build_round, sheet_of
from web.extensions import db
from web.models import Application, AuditEvent, FlagReview, OutboxMessage, ScoreSheet


@pytest.fixture
def round_id(app, make_application_record, make_expert_record):
    return build_round(app, make_application_record, make_expert_record, DESIGN_PANELS)


def p1_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Application.id).where(Application.ref == "P1"))


def e5_sheet_id(app, round_id) -> int:
    with app.app_context():
        return sheet_of(round_id, "P1", "E5").id


def request_review(client, csrf_token, round_id, application_id, sheet_id, code="ROBUST"):
    page = client.get(f"/rankings/rounds/{round_id}/applications/{application_id}")
    return client.post(f"/rankings/rounds/{round_id}/applications/{application_id}/reviews", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "sheet_id": sheet_id, "code": code})


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_the_organizer_asks_and_the_expert_revises(app, client, auth, csrf_token, make_user, round_id):
    make_user("e5", "expert", expert_ref="E5")
    auth.login("organizer")
    response = request_review(client, csrf_token, round_id, p1_id(app), e5_sheet_id(app, round_id))
    assert response.status_code == 302
    with app.app_context():
        review = db.session.scalar(select(FlagReview))
        assert (review.code, review.response, review.sheet_id) == ("ROBUST", None, e5_sheet_id(app, round_id))
        assert "总分 60" in review.message                          # the engine's own sentence
        review_id = review.id
        messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "flag_review")).all()
        assert [message.recipient for message in messages] == ["e5@example.com"]
        assert "总分 60" in messages[0].body and "中位数" not in messages[0].body
    assert "flag_review.request" in audit_actions(app)
    html = client.get(f"/rankings/rounds/{round_id}/applications/{p1_id(app)}").get_data(as_text=True)
    assert 'name="code" value="ROBUST"' not in html                 # no second request while one is open
    auth.logout()

    auth.login(username="e5", password=auth.password)
    listing = client.get("/rankings/reviews").get_data(as_text=True)
    assert f"/rankings/reviews/{review_id}" in listing
    page = client.get(f"/rankings/reviews/{review_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "60.0" in html
    assert "中位数" not in html and "均值" not in html              # never the other experts' figures
    response = client.post(f"/rankings/reviews/{review_id}", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "response": "revise",
        "reason": "误将第五项按 5 分制填写，需更正"})
    assert response.status_code == 302
    with app.app_context():
        review = db.session.get(FlagReview, review_id)
        assert (review.response, review.reason) == ("revise", "误将第五项按 5 分制填写，需更正")
        sheet = db.session.get(ScoreSheet, review.sheet_id)
        assert sheet.state == "reopened" and "误将第五项" in sheet.reopen_reason
        answer = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "flag_review.answer"))
        assert answer.actor_name == "e5" and answer.after["response"] == "revise"
    assert "sheet.reopen" in audit_actions(app)


def test_the_expert_confirms(app, client, auth, csrf_token, make_user, round_id):
    from web.services.ranking import answer_flag_review, request_flag_review

    expert_user = make_user("e5", "expert", expert_ref="E5")
    with app.app_context():
        sheet = sheet_of(round_id, "P1", "E5")
        review = request_flag_review(sheet, "DEVIATION", "偏离其他专家均值 29.3%", actor=None)
        from web.models import User
        answer_flag_review(review, "confirm", "该中心技术路线确有重大缺陷", actor=db.session.get(User, expert_user.id))
        assert sheet.state == "submitted" and review.response == "confirm"


def test_other_experts_get_404_and_staff_403(app, client, auth, make_user, round_id):
    from web.services.ranking import request_flag_review

    with app.app_context():
        review_id = request_flag_review(sheet_of(round_id, "P1", "E5"), "ROBUST", "总分 60 明显偏低", actor=None).id
    make_user("e1", "expert", expert_ref="E1")
    auth.login(username="e1", password=auth.password)
    assert client.get(f"/rankings/reviews/{review_id}").status_code == 404
    assert client.post(f"/rankings/reviews/{review_id}", data={"response": "confirm", "reason": "x"}).status_code in (
        400, 404)                                                     # no CSRF token or not theirs: refused
    assert client.get("/rankings/reviews/99999").status_code == 404
    assert f"/rankings/reviews/{review_id}" not in client.get("/rankings/reviews").get_data(as_text=True)
    auth.logout()
    auth.login("organizer")
    assert client.get(f"/rankings/reviews/{review_id}").status_code == 403


@pytest.mark.parametrize("response, reason", [("confirm", "   "), ("maybe", "理由"), ("", "理由")])
def test_a_bad_answer_is_refused_and_changes_nothing(app, client, auth, csrf_token, make_user, table_counts,
                                                      round_id, response, reason):
    from web.services.ranking import request_flag_review

    with app.app_context():
        review_id = request_flag_review(sheet_of(round_id, "P1", "E5"), "ROBUST", "总分 60 明显偏低", actor=None).id
    make_user("e5", "expert", expert_ref="E5")
    auth.login(username="e5", password=auth.password)
    page = client.get(f"/rankings/reviews/{review_id}")
    before = table_counts()
    html = client.post(f"/rankings/reviews/{review_id}", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "response": response, "reason": reason}
    ).get_data(as_text=True)
    assert 'class="flash error"' in html
    assert table_counts() == before
    with app.app_context():
        review = db.session.get(FlagReview, review_id)
        assert review.response is None and sheet_of(round_id, "P1", "E5").state == "submitted"


def test_requests_that_do_not_match_a_flag_are_refused(app, client, auth, csrf_token, table_counts, round_id):
    from web.services.flag_reviews import FlagReviewError, request_flag_review

    auth.login("organizer")
    before = table_counts()
    with app.app_context():
        unflagged = sheet_of(round_id, "P1", "E1").id
    response = request_review(client, csrf_token, round_id, p1_id(app), unflagged)
    assert response.status_code == 302
    assert "没有 ROBUST 标记" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert table_counts() == before
    with app.app_context():
        sheet = sheet_of(round_id, "P1", "E5")
        with pytest.raises(FlagReviewError, match="只有总分异常或偏离的评分才交专家复核"):
            request_flag_review(sheet, "TIE", "并列", actor=None)
        sheet.state = "draft"
        with pytest.raises(FlagReviewError, match="只有已提交的评分表才能复核"):
            request_flag_review(sheet, "ROBUST", "总分 60", actor=None)
        db.session.rollback()
    assert table_counts() == before


def test_answering_twice_is_refused_and_asking_again_waits_for_a_resubmission(app, make_user, round_id):
    from web.models import User, utcnow
    from web.services.flag_reviews import FlagReviewError
    from web.services.ranking import answer_flag_review, request_flag_review

    make_user("e5", "expert", expert_ref="E5")
    with app.app_context():
        sheet = sheet_of(round_id, "P1", "E5")
        review = request_flag_review(sheet, "ROBUST", "总分 60 明显偏低", actor=None)
        expert = db.session.scalar(select(User).where(User.username == "e5"))
        answer_flag_review(review, "revise", "重新核对", actor=expert)
        with pytest.raises(FlagReviewError, match="此复核已于 .* 答复"):
            answer_flag_review(review, "confirm", "改主意了", actor=expert)
        sheet.state = "submitted"
        with pytest.raises(FlagReviewError, match="评分表重新提交后才能再次发起"):
            request_flag_review(sheet, "ROBUST", "再次请确认", actor=None)
        sheet.submitted_at = utcnow()                                 # the expert resubmitted
        again = request_flag_review(sheet, "ROBUST", "修改后仍明显偏低", actor=None)
        assert (again.id, again.response, again.message) == (review.id, None, "修改后仍明显偏低")
        requests = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "flag_review.request")
                                      .order_by(AuditEvent.id)).all()
        assert [event.after["message"] for event in requests] == ["总分 60 明显偏低", "修改后仍明显偏低"]
        assert requests[1].before["response"] == "revise"
