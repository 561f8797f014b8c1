"""The ranking service: round rows → scoring problem (what counts, what is excluded and why), and DESIGN §7.1's
five-application example reproduced through the database.

The helpers here (``build_round``, ``add_sheet``…) are shared by the other test_ranking_* and test_exports_* files.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from web.extensions import db
from web.models import Application, Assignment, AssignmentVersion, Expert, Round, Score, ScoreSheet, utcnow

# DESIGN §7.1 worked example: seven experts' totals for five applications.
DESIGN_PANELS = {
    "P1": [82, 85, 79, 91, 60, 84, 88],
    "P2": [88, 90, 86, 92, 87, 89, 85],
    "P3": [78, 80, 83, 76, 81, 79, 82],
    "P4": [70, 72, 75, 68, 74, 71, 73],
    "P5": [78, 80, 83, 85, 85, 85, 95],
}


def split_total(total: float, criteria) -> dict[str, float]:
    """Points per criterion summing to ``total``: proportional to the maxima, on each criterion's step."""
    grand = sum(criterion.max for criterion in criteria)
    values = {c.code: int(total * c.max / grand / c.step) * c.step for c in criteria}
    remainder = total - sum(values.values())
    for criterion in sorted(criteria, key=lambda c: -c.max):
        while remainder >= criterion.step - 1e-9 and values[criterion.code] + criterion.step <= criterion.max:
            values[criterion.code] += criterion.step
            remainder -= criterion.step
    assert abs(sum(values.values()) - total) < 1e-9, (total, values)
    return values


def build_round(app, make_application_record, make_expert_record, panels: dict[str, list[float]], *,
                name: str = "2020 遴选评审", kind: str = "selection_review", state: str = "submitted") -> int:
    """A round of ``kind`` whose expert E<i> gave application P the total ``panels[P][i-1]`` (None: no sheet)."""
    from web.services.records import import_applications, import_experts
    from web.services.rounds import create_round

    expert_count = max(len(totals) for totals in panels.values())
    with app.app_context():
        existing = set(db.session.scalars(select(Expert.ref)))
        experts = [make_expert_record(
            f"E{i}", name=f"专家{i}", organization={"name": f"上海第{i}研究所", "uscc": None, "parent": None},
            past_affiliations=[], roles=[], declared=[], email=f"e{i}@example.com", mobile=None)
            for i in range(1, expert_count + 1) if f"E{i}" not in existing]
        if experts:
            import_experts(experts, actor=None)
            db.session.commit()
        known = set(db.session.scalars(select(Application.ref)))
        records = []
        for ref in panels:
            if ref in known:
                continue
            record = make_application_record(ref, center_name=f"上海{ref}制造业创新中心", excluded_experts=[])
            record["bearer"]["name"] = f"上海{ref}创新中心有限公司"
            record["bearer"]["uscc"] = None
            records.append(record)
        if records:
            import_applications(records, actor=None)
            db.session.commit()
        round_ = create_round(name, kind, as_of=date(2020, 11, 1), application_refs=list(panels), actor=None)
        round_.state = "scoring"
        for ref, totals in panels.items():
            for index, total in enumerate(totals, start=1):
                if total is not None:
                    add_sheet(round_, ref, f"E{index}", total, state=state)
        db.session.commit()
        return round_.id


def add_sheet(round_: Round, application_ref: str, expert_ref: str, total: float, *, state: str = "submitted",
              **fields) -> ScoreSheet:
    """A sheet whose criteria sum to ``total`` (added to the session, not committed)."""
    application = db.session.scalar(select(Application).where(Application.ref == application_ref))
    expert = db.session.scalar(select(Expert).where(Expert.ref == expert_ref))
    criteria = round_.template.criteria
    values = split_total(total, criteria)
    sheet = ScoreSheet(round_id=round_.id, application_id=application.id, expert_id=expert.id, state=state,
                       opinion="recommend", comment=f"{expert_ref} 对 {application_ref} 的评审意见", conflict_declared=False,
                       submitted_at=utcnow() if state == "submitted" else None, **fields)
    sheet.scores = [Score(criterion_id=criterion.id, value=values[criterion.code],
                          comment="技术路线清晰" if criterion.code == "technical_route" else None)
                    for criterion in criteria]
    db.session.add(sheet)
    db.session.flush()
    return sheet


def get_round(round_id: int) -> Round:
    return db.session.get(Round, round_id)


def sheet_of(round_id: int, application_ref: str, expert_ref: str) -> ScoreSheet:
    return db.session.scalar(select(ScoreSheet).join(Application).join(Expert).where(
        ScoreSheet.round_id == round_id, Application.ref == application_ref, Expert.ref == expert_ref))


def build_design_round(app, make_application_record, make_expert_record, name: str = "2020 遴选评审") -> int:
    """DESIGN's panels; the round's template copy has no priority criteria, so P1 and P5 (both 83.6) are
    separated by the median, as in DESIGN (with the default priorities the split of the totals would decide)."""
    round_id = build_round(app, make_application_record, make_expert_record, DESIGN_PANELS, name=name)
    with app.app_context():
        for criterion in get_round(round_id).template.criteria:
            criterion.priority = 0
        db.session.commit()
    return round_id


@pytest.fixture
def design_round(app, make_application_record, make_expert_record):
    return build_design_round(app, make_application_record, make_expert_record)


def test_design_example_through_the_database(app, design_round):
    from web.services.ranking import rank_round

    with app.app_context():
        result = rank_round(get_round(design_round))
    assert result.ok, result.errors
    by_ref = {line.application: line for line in result.ranking}
    assert [line.application for line in result.ranking] == ["P2", "P5", "P1", "P3", "P4"]
    assert {ref: by_ref[ref].score for ref in by_ref} == {"P1": 83.6, "P2": 88.0, "P3": 80.0, "P4": 72.0, "P5": 83.6}
    assert by_ref["P1"].interval == pytest.approx((78.0471, 89.1529), abs=1e-4)
    assert by_ref["P1"].median == 84 and by_ref["P5"].median == 85
    assert [by_ref[ref].recommendation for ref in ("P1", "P2", "P3", "P4")] == [
        "CONDITIONAL", "RECOMMEND", "CONDITIONAL", "REJECT"]
    robust = [flag for flag in by_ref["P1"].flags if flag.code == "ROBUST" and flag.criterion is None]
    assert [flag.expert for flag in robust] == ["E5"]          # the 60
    assert [line.rank for line in result.ranking] == [1, 2, 3, 4, 5]


def test_capacity_two_makes_p3_a_reserve(app, design_round):
    from web.services.ranking import Options, rank_round

    with app.app_context():
        result = rank_round(get_round(design_round), Options(capacity=2))
    by_ref = {line.application: line for line in result.ranking}
    assert by_ref["P3"].recommendation == "RESERVE"
    assert by_ref["P2"].p_top_k is not None and 0 <= by_ref["P2"].p_top_k <= 1


def test_problem_maps_template_sheets_and_settings(app, design_round):
    from web.services.ranking import bootstrap_seed, scoring_problem

    with app.app_context():
        round_ = get_round(design_round)
        problem = scoring_problem(round_)
        criteria = round_.template.criteria
        assert [criterion.id for criterion in problem.template.criteria] == [c.code for c in criteria]
        assert [(c.max, c.step, c.veto, c.priority) for c in problem.template.criteria] == [
            (c.max, c.step, c.veto, c.priority) for c in criteria]
        assert problem.template.kind == "selection_review"
        assert len(problem.sheets) == 35 and problem.excluded == ()
        sheet = next(s for s in problem.sheets if s.expert == "E5" and s.application == "P1")
        assert sum(sheet.scores.values()) == 60
        assert sheet.opinion == "recommend" and sheet.confidence == 1.0 and "E5" in sheet.comment
        settings = problem.settings
        assert (settings.threshold, settings.gate, settings.trim, settings.robust_z, settings.deviation,
                settings.bootstrap, settings.capacity) == (80.0, 0.6, "olympic", 3.5, 0.2, 10_000, None)
        assert settings.seed == bootstrap_seed(round_)
        round_.seed = 7
        assert scoring_problem(round_).settings.seed == 7


def test_only_submitted_sheets_count(app, design_round):
    from web.services.ranking import rank_round, round_ranking

    with app.app_context():
        round_ = get_round(design_round)
        sheet_of(design_round, "P2", "E4").state = "draft"
        sheet_of(design_round, "P2", "E7").state = "reopened"
        db.session.commit()
        line = next(line for line in rank_round(round_).ranking if line.application == "P2")
        assert line.n == 5 and line.score == 88.0        # [88, 90, 86, 87, 89] → drop 86 and 90
        report = round_ranking(round_)
        rows = {row.sheet.expert.ref: row.status for row in report.line(line_id(report, "P2")).rows}
        assert rows["E4"] == rows["E7"] == "not_counted"


def line_id(report, ref: str) -> int:
    return next(line.application.id for line in report.lines if line.application.ref == ref)


def test_recused_declared_and_set_aside_sheets_are_excluded_with_reasons(app, design_round):
    from web.services.ranking import round_ranking, scoring_problem

    with app.app_context():
        round_ = get_round(design_round)
        version = AssignmentVersion(round_id=round_.id, number=1, status="manual", active=True)
        db.session.add(version)
        p1 = db.session.scalar(select(Application).where(Application.ref == "P1"))
        for number in range(1, 8):
            expert = db.session.scalar(select(Expert).where(Expert.ref == f"E{number}"))
            version.assignments.append(Assignment(application_id=p1.id, expert_id=expert.id, pool=expert.pool,
                                                  state="recused" if number == 1 else "accepted",
                                                  state_reason="曾参与申报材料编写" if number == 1 else None))
        declared = sheet_of(design_round, "P1", "E2")
        declared.conflict_declared, declared.conflict_note = True, "与承担单位有合作项目"
        sheet_of(design_round, "P1", "E3").excluded_reason = "评分时离场"
        sheet_of(design_round, "P2", "E1").conflict_declared = True          # declared before scoring: a draft
        sheet_of(design_round, "P2", "E1").state = "draft"
        db.session.commit()
        problem = scoring_problem(round_)
        reasons = {(item.expert, item.application): item.reason for item in problem.excluded}
        assert set(reasons) == {("E1", "P1"), ("E2", "P1"), ("E3", "P1")}
        assert "曾参与申报材料编写" in reasons[("E1", "P1")]
        assert "与承担单位有合作项目" in reasons[("E2", "P1")]
        assert "评分时离场" in reasons[("E3", "P1")]
        report = round_ranking(round_)
        line = report.line(line_id(report, "P1"))
        assert line.result.n == 4
        assert "SMALL_PANEL" in {flag.code for flag in line.result.flags}
        statuses = {row.sheet.expert.ref: (row.status, row.reason) for row in line.rows}
        assert statuses["E1"][0] == statuses["E2"][0] == statuses["E3"][0] == "excluded"
        assert "曾参与申报材料编写" in str(statuses["E1"][1])
        assert line.result.score == 86.0                       # 60 and 91 dropped: (84 + 88) / 2, the median of 4
        draft = next(row for row in report.line(line_id(report, "P2")).rows if row.sheet.expert.ref == "E1")
        assert draft.status == "excluded" and "专家声明回避" in str(draft.reason)


def test_a_conflict_found_after_scoring_removes_the_sheet(app, design_round, monkeypatch):
    """DESIGN §6.1: the matching engine's current conflicts exclude a sheet; an admin override keeps it."""
    from matching.types import Conflict
    from web.services import matching_bridge, ranking

    conflicts = [Conflict("E5", "P1", "recent-employment", "hard", "专家 E5 三年内曾在成员单位任职"),
                 Conflict("E4", "P1", "applicant-excluded", "soft", "申请人要求回避")]
    monkeypatch.setattr(matching_bridge, "round_conflicts", lambda round_: conflicts)
    with app.app_context():
        round_ = get_round(design_round)
        problem = ranking.scoring_problem(round_)
        assert [(item.expert, item.application) for item in problem.excluded] == [("E5", "P1")]
        assert "recent-employment" in problem.excluded[0].reason and "三年内" in problem.excluded[0].reason
        line = next(line for line in ranking.rank_round(round_).ranking if line.application == "P1")
        assert line.n == 6 and line.score == 84.75             # [82, 85, 79, 91, 84, 88] minus 79 and 91
        assert ranking.scoring_problem(round_).sheets == problem.sheets     # the sheet itself is kept


def test_bad_capacity_is_refused(app, design_round):
    from web.services.ranking import Options, RankingError, rank_round

    with app.app_context(), pytest.raises(RankingError, match="名额必须是不小于 1 的整数"):
        rank_round(get_round(design_round), Options(capacity=0))


def test_combine_review_and_site_inspection(app, make_application_record, make_expert_record, design_round):
    from web.services.ranking import RankingError, combine, default_weights

    site = build_round(app, make_application_record, make_expert_record,
                       {ref: [total - 10 for total in totals] for ref, totals in DESIGN_PANELS.items()},
                       name="2020 现场考察", kind="site_inspection")
    with app.app_context():
        review_round, site_round = get_round(design_round), get_round(site)
        assert default_weights([review_round, site_round]) == [0.6, 0.4]
        combined = combine([(review_round, 0.6), (site_round, 0.4)])
        by_ref = {line.application: line for line in combined.lines}
        assert by_ref["P2"].rank == 1 and by_ref["P2"].rounds == {review_round.name: 88.0, site_round.name: 78.0}
        assert by_ref["P2"].score == 84.0                      # 0.6 × 88 + 0.4 × 78
        with pytest.raises(RankingError, match="各轮权重之和为 1.2，须等于 1"):
            combine([(review_round, 0.6), (site_round, 0.6)])
        with pytest.raises(RankingError, match="请至少选择两个评审轮次"):
            combine([(review_round, 1.0)])


def test_refused_calibration_falls_back_to_the_raw_ranking(app, make_application_record, make_expert_record):
    """Two panels with no expert in common cannot be calibrated (DESIGN §7.1 step 4): the engine's reason is kept
    and the page still shows the uncalibrated ranking."""
    from web.services.ranking import Options, rank_round, round_ranking

    round_id = build_round(app, make_application_record, make_expert_record,
                           {"P1": [80, 81, 82, None, None, None], "P2": [None, None, None, 70, 71, 72]})
    with app.app_context():
        round_ = get_round(round_id)
        assert rank_round(round_, Options(calibrate=True)).errors              # the engine refuses
        report = round_ranking(round_, Options(calibrate=True))
        assert report.calibration_refused == ((("P1",), ("E1", "E2", "E3")), (("P2",), ("E4", "E5", "E6")))
        assert not report.calibrated and report.result.ok
        assert [line.result.score for line in report.lines] == [81.0, 71.0]
    with app.test_request_context():
        assert report.calibration_refusal == [
            "申报书和专家分成 2 个互无共同专家的组，无法跨组比较专家的宽严程度：",
            "申报书 P1，由专家 E1、E2、E3 评分。", "申报书 P2，由专家 E4、E5、E6 评分。"]


def test_sheets_of_a_refused_round_are_not_ranked(app, make_application_record, make_expert_record):
    from web.services.ranking import round_ranking

    round_id = build_round(app, make_application_record, make_expert_record, {"P1": [80, 81, 82]})
    with app.app_context():
        sheet_of(round_id, "P1", "E2").scores[0].value = None
        db.session.commit()
        report = round_ranking(get_round(round_id))
        assert report.result.errors == ("sheets[1] (E2 → P1): scores.necessity: missing",)
        assert {row.status for row in report.lines[0].rows} == {"not_ranked"}


def test_annual_rounds_are_graded(app, client, auth, make_application_record, make_expert_record):
    """DESIGN §7.1 step 9: ≥ 90 优秀, ≥ 80 良好, ≥ 60 合格, else 不合格, on the 2-decimal score."""
    from web.services.ranking import rank_round

    round_id = build_round(app, make_application_record, make_expert_record, {
        "P1": [95, 92, 90, 91, 93], "P2": [85, 84, 86, 83, 87], "P3": [70, 72, 71, 69, 73], "P4": [50, 55, 52, 58, 51]},
        name="2021 年度评估", kind="annual")
    with app.app_context():
        result = rank_round(get_round(round_id))
    assert [(line.application, line.score, line.grade) for line in result.ranking] == [
        ("P1", 92.0, "优秀"), ("P2", 85.0, "良好"), ("P3", 71.0, "合格"), ("P4", 52.67, "不合格")]
    auth.login("organizer")
    html = client.get(f"/rankings/rounds/{round_id}").get_data(as_text=True)
    assert ("Excellent" in html or "优秀" in html) and ("Fail" in html or "不合格" in html)
