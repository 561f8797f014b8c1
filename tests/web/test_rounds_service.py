"""Rounds service: state moves in order, settings and template criteria validated whole, applications attached."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from scoring.templates import ISSUE_TEXTS, template_issues
from scoring.types import Criterion, Template
from tests.web.test_panels_factory import QUOTAS, build_round
from web.extensions import db
from web.labels import TEMPLATE_ISSUES, template_issue
from web.models import AuditEvent, Job, Round, ScoreTemplate, utcnow
from web.services import panels, rounds


def get_round(round_id: int) -> Round:
    return db.session.get(Round, round_id)


def test_state_moves_forward_one_step_at_a_time_each_audited(app, table_counts):
    round_id = build_round(app, state="draft")
    with app.app_context():
        round_ = get_round(round_id)
        for wrong in ("scoring", "closed", "draft"):
            with pytest.raises(rounds.RoundError, match="不能转为"):
                rounds.transition(round_, wrong, actor=None)
        rounds.transition(round_, "assigning", actor=None)
        with pytest.raises(rounds.RoundError, match="请先运行专家匹配"):
            rounds.transition(round_, "scoring", actor=None)
        panels.run_matching(round_, actor=None)
        rounds.transition(round_, "scoring", actor=None)
        rounds.transition(round_, "closed", actor=None, confirmed=True)
        with pytest.raises(rounds.RoundError, match="该轮次已结束"):
            rounds.transition(round_, "scoring", actor=None)
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "round.transition")
                                    .order_by(AuditEvent.id)).all()
        assert [(e.before["state"], e.after["state"]) for e in events] == [
            ("draft", "assigning"), ("assigning", "scoring"), ("scoring", "closed")]


def test_an_empty_round_cannot_start_assigning(app, table_counts):
    with app.app_context():
        round_id = rounds.create_round("空轮次", "selection_review", as_of=date(2020, 10, 1), actor=None).id
    before = table_counts()
    with app.app_context(), pytest.raises(rounds.RoundError, match="请先加入至少一份申报书"):
        rounds.transition(get_round(round_id), "assigning", actor=None)
    assert table_counts() == before


def test_bad_settings_are_all_named_and_nothing_changes(app, table_counts):
    round_id = build_round(app, state="draft")
    before = table_counts()
    with app.app_context():
        with pytest.raises(rounds.RoundError) as refused:
            rounds.update_settings(get_round(round_id), {
                "panel_size": 0, "mode": "online", "max_probability": 1.5, "weight_text": -1,
                "pool_quotas": {"technology": [3, 2], "finance": [0, 1]}, "colour": "red"}, actor=None)
        assert str(refused.value) == "未知的设置“colour”。"
        with pytest.raises(rounds.RoundError) as refused:
            rounds.update_settings(get_round(round_id), {
                "panel_size": 0, "mode": "online", "max_probability": 1.5, "weight_text": -1,
                "pool_quotas": {"technology": [3, 2], "finance": [0, 1]}}, actor=None)
        message = str(refused.value)
        for part in ("评审方式：未知的选项“online”", "专家组人数：必须是不小于 1 的整数",
                     "最大概率：必须留空或填写大于 0、不大于 1 的数", "文本匹配权重：必须是不小于 0 的数",
                     "各类别专家人数（技术）：须满足 0 ≤ 最小值 ≤ 最大值", "各类别专家人数（finance）：未知的专家类别"):
            assert part in message
        with pytest.raises(rounds.RoundError, match="最小值合计 7，超过专家组人数 5"):
            rounds.update_settings(get_round(round_id), {"pool_quotas": {**QUOTAS, "law": [2, 2],
                                                                          "management": [1, 1]}}, actor=None)
        db.session.rollback()
        assert rounds.settings_of(get_round(round_id))["pool_quotas"] == QUOTAS
    assert table_counts() == before


def test_a_time_limit_or_any_whole_number_setting_beyond_the_databases_integer_is_refused(app, table_counts):
    """A seed or time limit too large for the integer column was a database error (a 500 on PostgreSQL): it is a
    refusal naming the setting, and nothing changes."""
    round_id = build_round(app, state="draft")
    before = table_counts()
    with app.app_context():
        with pytest.raises(rounds.RoundError) as refused:
            rounds.update_settings(get_round(round_id), {"time_limit": 0, "seed": 10**12, "max_load": 2**31},
                                   actor=None)
        message = str(refused.value)
        for part in ("求解时间上限（秒，留空则求解至证明最优）：必须留空或填写不小于 1 的整数，而不是“0”",
                     "随机种子：不能大于 2147483647，而不是“1000000000000”",
                     "评审负荷上限（每位专家的专家组数）：不能大于 2147483647"):
            assert part in message
        unchanged = rounds.settings_of(get_round(round_id))     # in the refused session, not after a rollback
        assert (unchanged["time_limit"], unchanged["seed"], unchanged["max_load"]) == (None, None, 3)
    assert table_counts() == before
    with app.app_context():
        rounds.update_settings(get_round(round_id), {"time_limit": 90}, actor=None)
        assert get_round(round_id).time_limit == 90


def test_settings_change_is_audited_with_before_and_after(app):
    round_id = build_round(app, state="draft")
    with app.app_context():
        rounds.update_settings(get_round(round_id), {"panel_size": 6, "mode": "meeting", "auto_replace": True},
                               actor=None)
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "round.settings")
                                   .order_by(AuditEvent.id.desc())).first()
        assert event.before == {"auto_replace": False, "mode": "individual", "panel_size": 5}
        assert event.after == {"auto_replace": True, "mode": "meeting", "panel_size": 6}


def test_settings_and_template_are_frozen_once_scoring_starts(app, table_counts):
    round_id = build_round(app, state="scoring")
    before = table_counts()
    with app.app_context():
        round_ = get_round(round_id)
        with pytest.raises(rounds.RoundError, match="只能在评分开始前"):
            rounds.update_settings(round_, {"panel_size": 6}, actor=None)
        criterion = round_.template.criteria[0]
        with pytest.raises(rounds.RoundError, match="只能在评分开始前"):
            rounds.update_criterion(round_, criterion.id, {"name": "新名称"}, actor=None)
        with pytest.raises(rounds.RoundError, match="只能在评分开始前"):
            rounds.attach_applications(round_, fields=["EQP"], actor=None)
    assert table_counts() == before


def test_criteria_are_edited_together_and_checked_by_scoring(app, table_counts):
    round_id = build_round(app, state="draft")
    with app.app_context():
        round_ = get_round(round_id)
        first, second = round_.template.criteria[0], round_.template.criteria[1]   # 10 and 10 points
        before = table_counts()
        with pytest.raises(rounds.RoundError, match="各评分项满分合计为 105，应为 100"):
            rounds.update_criterion(round_, first.id, {"max": 15}, actor=None)
        with pytest.raises(rounds.RoundError, match=f"{first.name}：步长 4 不能整除满分 10"):
            rounds.update_criterion(round_, first.id, {"step": 4}, actor=None)
        with pytest.raises(rounds.RoundError, match=f"{first.name}：同分排序优先级必须是不小于 0 的整数（现为 -1）"):
            rounds.update_criterion(round_, first.id, {"priority": -1}, actor=None)
        with pytest.raises(rounds.RoundError, match=f"{first.name}：“colour”不是评分项的设置"):
            rounds.update_criterion(round_, first.id, {"colour": "red"}, actor=None)
        db.session.rollback()
        assert table_counts() == before
        assert (first.max, first.step, first.priority) == (10, 0.5, 0)
        rounds.update_criteria(round_, {first.id: {"max": 15, "veto": True, "comment_required": True},
                                        second.id: {"max": 5, "priority": 3}}, actor=None)
        assert (first.max, first.veto, second.max, second.priority) == (15, True, 5, 3)
        assert round_.template.total == 100
        default = db.session.scalar(select(ScoreTemplate).where(ScoreTemplate.kind == "selection_review",
                                                                ScoreTemplate.is_default))
        assert default.criteria[0].max == 10      # the round edits its own copy only


def test_attach_by_sector_field_and_ref(app):
    round_id = build_round(app, count=4, state="draft")
    with app.app_context():
        round_ = get_round(round_id)
        for link in list(round_.round_applications):
            rounds.detach_application(round_, link.application, actor=None)
        added = rounds.attach_applications(round_, fields=["DIG"], actor=None)
        assert sorted(a.field.code for a in added) == ["DIG-AI", "DIG-II"]
        added = rounds.attach_applications(round_, refs=["APP-001"], fields=["DIG-AI", "EQP-AM"], actor=None)
        assert sorted(a.ref for a in added) == ["APP-001", "APP-002"]
        with pytest.raises(rounds.RoundError, match="未知的领域或行业：XYZ"):
            rounds.attach_applications(round_, fields=["XYZ"], actor=None)
        with pytest.raises(rounds.RoundError, match="没有编号为 APP-404 的申报书"):
            rounds.attach_applications(round_, refs=["APP-404"], actor=None)
        assert len(round_.round_applications) == 4


def test_a_round_opens_with_its_settings_or_not_at_all(app, table_counts):
    build_round(app, state="draft")
    before = table_counts()
    with app.app_context():
        with pytest.raises(rounds.RoundError, match="专家组人数：必须是不小于"):
            rounds.create_round("第二轮", "site_inspection", as_of=date(2020, 11, 1),
                                settings={"panel_size": "七"}, actor=None)
        db.session.rollback()
    assert table_counts() == before
    with app.app_context():
        round_ = rounds.create_round("第二轮", "site_inspection", as_of=date(2020, 11, 1), actor=None,
                                     settings={"panel_size": 5, "mode": "meeting", "pool_quotas": QUOTAS})
        assert (round_.panel_size, round_.mode, round_.max_load) == (5, "meeting", 5)
        assert rounds.settings_of(round_)["pool_quotas"] == QUOTAS


def test_a_round_cannot_leave_assigning_while_a_matching_run_is_unfinished(app, table_counts):
    round_id = build_round(app)
    with app.app_context():
        round_ = get_round(round_id)
        panels.run_matching(round_, actor=None)
        db.session.add(Job(kind="matching", round=round_, params={}, state="queued", step="waiting",
                           created_at=utcnow()))
        db.session.commit()
    before = table_counts()
    with app.app_context():
        with pytest.raises(rounds.RoundError, match="专家匹配仍在排队或运行中"):
            rounds.transition(get_round(round_id), "scoring", actor=None)
        db.session.rollback()
        assert get_round(round_id).state == "assigning"
    assert table_counts() == before


def test_every_template_rule_scoring_names_is_worded_in_chinese(app):
    """Each rule a score template can break reads as a Chinese sentence naming the criterion by its name."""
    broken = Template("custom", "x", "x", (Criterion("a", "技术", "Tech", 30, step=0.7, priority=-1),
                                           Criterion("a", "市场", "Market", -5, step=0),
                                           Criterion("", "", "", 10)))
    issues = template_issues(broken) + template_issues(Template("custom", "x", "x", ()))
    assert {issue.code for issue in issues} == set(ISSUE_TEXTS) == set(TEMPLATE_ISSUES)
    with app.test_request_context():
        sentences = [template_issue(issue, {"a": "技术"}) for issue in issues]
    assert "技术：步长 0.7 不能整除满分 30。" in sentences
    assert "技术：同分排序优先级必须是不小于 0 的整数（现为 -1）。" in sentences
    assert not [sentence for sentence in sentences if re.search("[A-Za-z]{3,}", sentence)]
