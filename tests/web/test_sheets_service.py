"""Score sheets through the service: declaration, drafts, submission, reopening, progress."""

from __future__ import annotations

import math
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.web.test_sheets_fixtures import full_values, world_fixture  # noqa: F401  (the world fixture)
from web.extensions import db
from web.models import Assignment, AuditEvent, OutboxMessage, Score, User
from web.services import sheets
from web.services.sheets import SheetError, SubmitUnconfirmed


def actor(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def declared(world, expert_ref="EXP-A", application_ref="APP-001"):
    seat = world.seat(expert_ref, application_ref)
    return sheets.declare(seat, conflict=False, reason=None, actor=actor("expert_a"))


def test_declaring_no_conflict_accepts_the_seat_and_opens_a_draft(app, world):
    with app.app_context():
        sheet = declared(world)
        assert (sheet.state, sheet.conflict_declared) == ("draft", False)
        assert world.seat("EXP-A", "APP-001").state == "accepted"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sheet.declare"))
        assert event.before["sheet"]["conflict_declared"] is None
        assert event.after == {"sheet": {"conflict_declared": False, "conflict_note": None, "excluded_reason": None},
                               "assignment": "accepted"}


def test_declaring_twice_is_refused(app, world):
    with app.app_context():
        declared(world)
        with pytest.raises(SheetError):
            sheets.declare(world.seat("EXP-A", "APP-001"), conflict=True, reason="x", actor=None)
        assert world.seat("EXP-A", "APP-001").state == "accepted"


def test_recusal_needs_a_reason_and_changes_nothing_without_one(app, world, table_counts):
    before = table_counts()
    with app.app_context():
        with pytest.raises(SheetError, match="声明回避须填写理由"):
            sheets.declare(world.seat("EXP-B", "APP-001"), conflict=True, reason="  ", actor=None)
        db.session.rollback()
    assert table_counts() == before


def test_recusal_frees_the_seat_keeps_the_sheet_out_and_notifies_the_organizer(app, world):
    with app.app_context():
        sheet = sheets.declare(world.seat("EXP-B", "APP-001"), conflict=True, reason="曾与承担单位合作",
                               actor=actor("expert_b"))
        seat = world.seat("EXP-B", "APP-001")
        assert (seat.state, seat.state_reason) == ("recused", "曾与承担单位合作")
        assert sheet.conflict_declared is True and sheet.excluded_reason == "专家已回避：曾与承担单位合作"
        assert seat not in sheets.active_seats(world.round())
        notice = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "recusal_notice"))
        assert "乙专家" in notice.body and "曾与承担单位合作" in notice.body and "APP-001" in notice.body
        assert notice.state == "queued"            # sent by the outbox worker once the change is committed


def test_recusal_with_auto_replace_seats_the_first_reserve(app, world):
    with app.app_context():
        world.round().auto_replace = True
        db.session.commit()
        seat = world.seat("EXP-B", "APP-001")
        sheets.declare(seat, conflict=True, reason="亲属关系", actor=None)
        newcomer = db.session.scalar(select(Assignment).where(Assignment.replaces_id == seat.id))
        assert newcomer.expert.ref == "EXP-C" and newcomer.state == "proposed"
        assert seat.state == "recused"


def test_a_valid_draft_is_saved_and_audited(app, world):
    with app.app_context():
        sheet = declared(world)
        errors = sheets.save_draft(sheet, {"necessity": "8.5", "goals": 9}, opinion="recommend", comment=" 好 ",
                                   criterion_comments={"necessity": "需求明确"}, actor=None)
        assert errors == []
        assert {score.criterion.code: score.value for score in sheet.scores} == {"necessity": 8.5, "goals": 9.0}
        assert (sheet.opinion, sheet.comment) == ("recommend", "好")
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sheet.save_draft"))
        assert event.before["scores"] == {} and event.after["scores"] == {"necessity": 8.5, "goals": 9.0}


@pytest.mark.parametrize("code, raw, expected", [
    ("technical_route", "21", "21"),    # a 20-point criterion
    ("necessity", "7.3", "0.5"),        # off the 0.5 step
    ("necessity", "很好", "很好"),       # not a number
    ("necessity", "-1", "-1"),
    ("necessity", "nan", "nan"),
    ("unknown", "1", "unknown"),
])
def test_a_bad_value_is_refused_with_its_criterion_and_nothing_changes(app, world, code, raw, expected):
    with app.app_context():
        sheet = declared(world)
        sheets.save_draft(sheet, {"goals": 9}, actor=None)
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
        errors = sheets.save_draft(sheet, {code: raw, "goals": 3}, opinion="reject", actor=None)
        assert len(errors) == 1 and code in errors[0] and expected in errors[0]
        db.session.expire_all()
        assert {score.criterion.code: score.value for score in sheet.scores} == {"goals": 9.0}
        assert sheet.opinion is None
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_every_bad_value_is_listed_at_once(app, world):
    with app.app_context():
        sheet = declared(world)
        errors = sheets.save_draft(sheet, {"technical_route": 21, "necessity": 7.3, "goals": "x"},
                                   opinion="maybe", actor=None)
        assert len(errors) == 4


def test_a_draft_save_never_drops_values_it_was_not_given(app, world):
    with app.app_context():
        sheet = declared(world)
        sheets.save_draft(sheet, {"necessity": 8, "goals": 7}, actor=None)
        sheets.save_draft(sheet, {"goals": 6.5}, actor=None)
        assert {score.criterion.code: score.value for score in sheet.scores} == {"necessity": 8.0, "goals": 6.5}


def test_scores_need_the_declaration_first(app, world):
    with app.app_context():
        sheet = sheets.sheet_for(world.round(), world.seat("EXP-A", "APP-001").application,
                                 world.seat("EXP-A", "APP-001").expert)
        with pytest.raises(SheetError):
            sheets.save_draft(sheet, {"goals": 5}, actor=None)


def test_submit_refuses_an_incomplete_sheet_listing_every_gap(app, world):
    with app.app_context():
        sheet = declared(world)
        sheets.save_draft(sheet, {"necessity": 8}, actor=None)
        with pytest.raises(SheetError) as refused:
            sheets.submit(sheet, confirmed=True, actor=None)
        criteria = world.round().template.criteria
        required_comments = sum(criterion.comment_required for criterion in criteria)
        # every criterion but one lacks a score, required comments are missing, and the opinion too
        assert len(refused.value.errors) == len(criteria) - 1 + required_comments + 1
        assert sheet.state == "draft"


def test_submit_locks_and_is_idempotent(app, world):
    with app.app_context():
        sheet = declared(world)
        values = full_values(world.round())
        comments = {criterion.code: "意见" for criterion in world.round().template.criteria}
        assert sheets.save_draft(sheet, values, opinion="conditional", criterion_comments=comments, actor=None) == []
        sheets.submit(sheet, confirmed=True, actor=None)
        first = sheet.submitted_at
        assert sheet.state == "submitted"
        sheets.submit(sheet, confirmed=True, actor=None)
        assert sheet.submitted_at == first
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "sheet.submit")) == 1
        with pytest.raises(SheetError, match="locked|锁定"):
            sheets.save_draft(sheet, {"goals": 1}, actor=None)
        assert sheet.total == sum(values.values())


def submitted_sheet(world):
    sheet = declared(world)
    comments = {criterion.code: "意见" for criterion in world.round().template.criteria}
    sheets.save_draft(sheet, full_values(world.round()), opinion="recommend", criterion_comments=comments,
                      actor=None)
    return sheets.submit(sheet, confirmed=True, actor=None)


def test_reopen_needs_a_reason_keeps_the_values_and_tells_the_expert(app, world):
    with app.app_context():
        sheet = submitted_sheet(world)
        total = sheet.total
        with pytest.raises(SheetError, match="退回评分表须填写理由"):
            sheets.reopen(sheet, " ", actor=actor("organizer"))
        assert sheet.state == "submitted"
        sheets.reopen(sheet, "第3项分数与意见不符", actor=actor("organizer"))
        assert (sheet.state, sheet.reopen_reason, sheet.total) == ("reopened", "第3项分数与意见不符", total)
        message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "reopened"))
        assert message.recipient == "a@example.com" and "第3项分数与意见不符" in message.body
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sheet.reopen"))
        assert event.before["state"] == "submitted" and event.actor_name == "organizer"
        assert sheets.save_draft(sheet, {"goals": 5}, actor=None) == []
        sheets.submit(sheet, confirmed=True, actor=None)
        assert sheet.state == "submitted"


def test_only_a_submitted_sheet_can_be_reopened(app, world):
    with app.app_context():
        sheet = declared(world)
        with pytest.raises(SheetError):
            sheets.reopen(sheet, "原因", actor=None)


def test_progress_counts_sheets_by_state_and_lists_the_overdue(app, world):
    with app.app_context():
        submitted_sheet(world)                                   # A on APP-001: submitted
        draft = declared(world, "EXP-A", "APP-002")
        sheets.save_draft(draft, {"goals": 5}, actor=None)       # A on APP-002: draft
        declared(world, "EXP-B", "APP-001")                      # B on APP-001: declared, nothing entered
        report = sheets.progress(world.round(), today=date(2020, 12, 1))
        assert dict(report.total) == {"submitted": 1, "draft": 1, "not_started": 2}
        assert dict(report.by_pool["technology"]) == dict(report.total)
        by_application = {application.ref: dict(counts) for application, counts in report.by_application.items()}
        assert by_application == {"APP-001": {"submitted": 1, "not_started": 1}, "APP-002": {"draft": 1},
                                  "APP-003": {"not_started": 1}}
        assert sorted((seat.assignment.expert.ref, seat.assignment.application.ref) for seat in report.overdue) == [
            ("EXP-A", "APP-002"), ("EXP-B", "APP-001"), ("EXP-D", "APP-003")]
        assert sheets.progress(world.round(), today=date(2020, 11, 30)).overdue == []


def test_a_score_row_is_never_deleted_by_clearing(app, world):
    with app.app_context():
        sheet = declared(world)
        sheets.save_draft(sheet, {"goals": 5}, actor=None)
        sheets.save_draft(sheet, {"goals": ""}, actor=None)
        assert db.session.scalar(select(func.count()).select_from(Score)) == 1


def acceptable(raw, maximum: float) -> bool:
    """The rule of DESIGN §7.1 on the 0.5 step of the default template, written independently of the service."""
    if raw == "":
        return True
    try:
        value = float(raw)
    except ValueError:
        return False
    return math.isfinite(value) and 0 <= value <= maximum and (value * 2).is_integer()


def entries(maximum: float):
    """What an expert might type for a criterion with this maximum: valid points, blanks and every kind of
    bad value."""
    valid = st.integers(0, int(maximum * 2)).map(lambda halves: halves / 2)
    bad = st.one_of(st.floats(maximum + 0.5, 1000, allow_nan=False).map(lambda v: round(v * 2) / 2),
                    st.sampled_from([7.3, -1, -0.5, 0.25, "很好", "abc", "1e999", "nan"]))
    return st.one_of(valid, valid.map(lambda v: f"{v:g}"), st.just(""), bad)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_draft_save_is_all_or_nothing(app, world, data):
    with app.app_context():
        seat = world.seat("EXP-A", "APP-001")
        sheet = sheets.sheet_for(world.round(), seat.application, seat.expert)
        if sheet.conflict_declared is None:
            sheet = sheets.declare(seat, conflict=False, reason=None, actor=None)
        criteria = {criterion.code: criterion for criterion in world.round().template.criteria}
        codes = data.draw(st.lists(st.sampled_from(sorted(criteria)), unique=True, min_size=1))
        values = {code: data.draw(entries(criteria[code].max)) for code in codes}
        before = {score.criterion.code: score.value for score in sheet.scores}
        errors = sheets.save_draft(sheet, values, actor=None)
        after = {score.criterion.code: score.value for score in sheet.scores}
        expected_bad = {code for code, raw in values.items() if not acceptable(raw, criteria[code].max)}
        assert len(errors) == len(expected_bad)
        if expected_bad:
            assert after == before
        else:
            blank = {code for code, raw in values.items() if raw == ""}
            assert after == {**before, **{code: (None if code in blank else float(raw))
                                          for code, raw in values.items()}}
            assert all(0 <= value <= criteria[code].max for code, value in after.items() if value is not None)


def test_a_closed_round_reopens_nothing(app, world):
    with app.app_context():
        sheet = submitted_sheet(world)
        sheet.round.state = "closed"
        db.session.commit()
        with pytest.raises(SheetError):
            sheets.reopen(sheet, "复核", actor=actor("organizer"))
        assert sheet.state == "submitted"          # the submitted score stays in the final ranking


# ---------------------------------------------------------------- confirmed submission

def test_an_unconfirmed_submit_is_refused_and_the_sheet_stays_a_draft(app, world):
    with app.app_context():
        sheet = declared(world)
        comments = {criterion.code: "意见" for criterion in world.round().template.criteria}
        sheets.save_draft(sheet, full_values(world.round()), opinion="recommend", criterion_comments=comments,
                          actor=None)
        with pytest.raises(SubmitUnconfirmed, match="除非组织方退回"):
            sheets.submit(sheet, confirmed=False, actor=None)
        assert (sheet.state, sheet.submitted_at) == ("draft", None)
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "sheet.submit")) == 0


def test_an_incomplete_sheet_is_refused_for_its_gaps_before_any_confirmation(app, world):
    with app.app_context():
        sheet = declared(world)
        sheets.save_draft(sheet, {"necessity": 8}, actor=None)
        with pytest.raises(SheetError) as refused:
            sheets.submit(sheet, confirmed=False, actor=None)
        assert not isinstance(refused.value, SubmitUnconfirmed)
        assert any("goals" in error for error in refused.value.errors)


# ---------------------------------------------------------------- who holds a seat

def test_only_a_held_seat_of_the_expert_in_an_open_round_is_found(app, world):
    with app.app_context():
        seat = world.seat("EXP-A", "APP-001")
        expert_a, expert_b = seat.expert_id, world.seat("EXP-B", "APP-001").expert_id
        assert sheets.expert_seat(seat.id, expert_a) is seat
        assert sheets.expert_seat(seat.id, expert_b) is None          # another expert's seat
        assert sheets.expert_seat(seat.id, None) is None              # an account without an expert
        assert sheets.expert_seat(seat.id, expert_a, round_states=("assigning",)) is None
        seat.state = "declined"
        assert sheets.expert_seat(seat.id, expert_a) is None
        seat.state = "accepted"
        seat.version.active = False
        assert sheets.expert_seat(seat.id, expert_a) is None


# ---------------------------------------------------------------- the expert's day

def extra_round(world, name: str, *, deadline: date, state: str, application_ref: str, seat_state: str):
    """Another round with its own active panel seating expert A on ``application_ref``."""
    from web.models import Application, AssignmentVersion
    from web.services.rounds import create_round

    round_ = create_round(name, "selection_review", as_of=date(2020, 10, 1), deadline=deadline,
                          application_refs=[application_ref], actor=None)
    round_.state = state
    version = AssignmentVersion(round=round_, number=1, status="manual", active=True, settings={}, diagnostics=[])
    application = db.session.scalar(select(Application).where(Application.ref == application_ref))
    seat = Assignment(version=version, application=application, expert=world.seat("EXP-A", "APP-001").expert,
                      pool="technology", state=seat_state, fit=0.8)
    db.session.add_all([version, seat])
    db.session.flush()
    return seat


def test_the_agenda_lists_invitations_then_drafts_by_deadline_then_submitted(app, world):
    with app.app_context():
        sheet = declared(world)                                         # APP-001, round due 2020-11-30
        comments = {criterion.code: "意见" for criterion in world.round().template.criteria}
        sheets.save_draft(sheet, full_values(world.round()), opinion="recommend", criterion_comments=comments,
                          actor=None)
        sheets.submit(sheet, confirmed=True, actor=None)
        sheets.save_draft(declared(world, "EXP-A", "APP-002"), {"goals": 5}, actor=None)
        early = extra_round(world, "提前截止的评审", deadline=date(2020, 11, 15), state="scoring",
                            application_ref="APP-003", seat_state="accepted")
        sheets.save_draft(sheets.declare(early, conflict=False, reason=None, actor=None), {"goals": 6},
                          actor=None)
        invited = extra_round(world, "新邀请的评审", deadline=date(2020, 12, 31), state="assigning",
                              application_ref="APP-001", seat_state="invited")
        expert_id = sheet.expert_id

        items = sheets.agenda(expert_id, round_states=("assigning", "scoring"), today=date(2020, 11, 20))

        assert [(item.seat.version.round.name, item.seat.application.ref, item.step) for item in items] == [
            ("新邀请的评审", "APP-001", "answer"),
            ("提前截止的评审", "APP-003", "score"),
            ("2020年遴选综合评审", "APP-002", "score"),
            ("2020年遴选综合评审", "APP-001", "done"),
        ]
        assert [item.overdue for item in items] == [False, True, False, False]
        assert items[1].deadline == date(2020, 11, 15) and items[0].seat is invited


def test_a_seat_given_up_leaves_the_agenda_and_a_past_deadline_marks_every_open_step(app, world):
    with app.app_context():
        expert_id = world.seat("EXP-A", "APP-001").expert_id
        world.seat("EXP-A", "APP-002").state = "declined"
        items = sheets.agenda(expert_id, round_states=("scoring",), today=date(2020, 12, 1))
        assert [(item.seat.application.ref, item.step, item.overdue) for item in items] == [
            ("APP-001", "declare", True)]
        assert sheets.agenda(expert_id, round_states=("scoring",), today=date(2020, 11, 30))[0].overdue is False


def test_the_stored_recusal_reason_is_in_chinese_whatever_the_experts_interface_language(app, world):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("en"):
        sheet = sheets.declare(world.seat("EXP-B", "APP-001"), conflict=True, reason="曾与承担单位合作",
                               actor=actor("expert_b"))
        assert sheet.excluded_reason == "专家已回避：曾与承担单位合作"


def test_a_write_reads_under_the_lock_what_another_request_committed_meanwhile(app, world):
    """The sheet's lock reads the sheet and its scores again (not everything the request loaded): a request that
    loaded them before another one submitted the sheet and changed a score is refused and sees the committed
    values, and the organizer's reopen then sees the submitted state."""
    from sqlalchemy import update

    from web.models import ScoreSheet

    with app.app_context():
        sheet = declared(world)
        assert sheets.save_draft(sheet, {"goals": 5}, actor=actor("expert_a")) == []
        db.session.commit()
        sheet = db.session.get(ScoreSheet, sheet.id)
        assert (sheet.state, [score.value for score in sheet.scores]) == ("draft", [5])    # loaded, as a view does
        with db.engine.begin() as other:                                                   # another request
            other.execute(update(ScoreSheet).where(ScoreSheet.id == sheet.id).values(state="submitted"))
            other.execute(update(Score).where(Score.sheet_id == sheet.id).values(value=7))
        with pytest.raises(sheets.SheetConflict):
            sheets.save_draft(sheet, {"goals": 9}, actor=actor("expert_a"))
        assert (sheet.state, [score.value for score in sheet.scores]) == ("submitted", [7])
        db.session.rollback()
        sheet = db.session.get(ScoreSheet, sheet.id)
        assert sheet.state == "submitted"
        with db.engine.begin() as other:                                                   # another organizer
            other.execute(update(ScoreSheet).where(ScoreSheet.id == sheet.id).values(state="reopened"))
        with pytest.raises(SheetError, match="只有已提交的评分表"):
            sheets.reopen(sheet, "请修改", actor=actor("expert_a"))
        assert sheet.state == "reopened"


def test_a_comment_at_the_cap_counts_each_line_break_once_as_the_form_does(app, world):
    """The textarea's maxlength counts a line break as one character and the browser sends it as CR LF: a
    comment the form let through at the cap is stored; one character more is refused."""
    paragraphs = ["评" * (sheets.MAX_TEXT_LENGTH // 20 - 1)] * 20
    at_cap = "\r\n".join(paragraphs) + "评"                     # 10,000 characters with 19 line breaks
    with app.app_context():
        sheet = declared(world)
        assert sheets.save_draft(sheet, {}, comment=at_cap, actor=actor("expert_a")) == []
        assert sheet.comment == at_cap
        refused = sheets.save_draft(sheet, {}, comment=at_cap + "审", actor=actor("expert_a"))
        assert len(refused) == 1 and f"（已输入 {sheets.MAX_TEXT_LENGTH + 1} 个）" in refused[0]
        assert sheet.comment == at_cap
