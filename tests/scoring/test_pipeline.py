"""The whole pipeline on DESIGN §7.1's worked examples, and what the result tells a person."""

import pytest

import scoring
from scoring.types import Result


def ranked(data) -> Result:
    result = scoring.rank(scoring.parse_problem(data))
    assert result.errors == ()
    return result


def by_application(result: Result) -> dict:
    return {line.application: line for line in result.ranking}


def test_five_applications_order_scores_and_recommendations(five, totals_problem):
    result = ranked(totals_problem(five, bootstrap=2000))
    assert [line.application for line in result.ranking] == ["P2", "P5", "P1", "P3", "P4"]
    lines = by_application(result)
    assert [lines[key].score for key in ("P1", "P2", "P3", "P4", "P5")] == [83.6, 88.0, 80.0, 72.0, 83.6]
    assert [lines[key].rank for key in ("P2", "P5", "P1", "P3", "P4")] == [1, 2, 3, 4, 5]
    assert lines["P1"].recommendation == "CONDITIONAL"
    assert lines["P2"].recommendation == "RECOMMEND"
    assert lines["P3"].recommendation == "CONDITIONAL"
    assert lines["P4"].recommendation == "REJECT"
    # P5's interval [80.1322, 87.0678] lies above θ = 80 (not stated in DESIGN; follows from step 8).
    assert lines["P5"].recommendation == "RECOMMEND"
    assert (lines["P5"].median, lines["P1"].median) == (85.0, 84.0)
    assert not any(flag.code == "TIE" for line in result.ranking for flag in line.flags)
    assert "中位数" in lines["P5"].trace.computation


def test_capacity_two_puts_p3_in_reserve(five, totals_problem):
    lines = by_application(ranked(totals_problem(five, capacity=2)))
    assert lines["P3"].recommendation == "RESERVE"
    assert lines["P3"].rank_interval[0] > 2
    assert lines["P2"].recommendation == "RECOMMEND" and lines["P2"].p_top_k >= 0.8
    assert lines["P4"].recommendation == "REJECT"
    assert lines["P1"].recommendation == "CONDITIONAL"


def test_p1_interval_flags_and_diagnostics(five, totals_problem):
    p1 = by_application(ranked(totals_problem(five, bootstrap=0)))["P1"]
    assert p1.interval == (78.0471, 89.1529)
    assert p1.rank_interval is None and p1.p_top_k is None
    totals = [flag for flag in p1.flags if flag.criterion is None]
    assert [(flag.code, flag.expert) for flag in totals] == [("ROBUST", "E5"), ("DEVIATION", "E5")]
    assert totals[0].value == pytest.approx(-4.0469)          # (60 − 84) / (1.4826 × MAD 4)
    assert "专家 E5 的总分 60 比其他专家的中位数 84.5 低出满分的 24.5%" in totals[1].message
    assert [flag.level for flag in totals] == ["act", "act"]
    grubbs = [step for step in p1.diagnostics if step.test == "grubbs"]
    assert [(step.expert, step.statistic, step.significant) for step in grubbs] == [
        ("E5", 2.0949, True), ("E4", 1.4468, False)]
    dixon_low = next(step for step in p1.diagnostics if step.test == "dixon")
    assert (dixon_low.expert, dixon_low.statistic, dixon_low.critical) == ("E5", 0.6129, 0.568)


def test_deviation_threshold_of_thirty_percent_leaves_robust_for_information(five, totals_problem):
    p1 = by_application(ranked(totals_problem(five, deviation=0.30, bootstrap=0)))["P1"]
    assert [(flag.code, flag.level) for flag in p1.flags if flag.criterion is None] == [("ROBUST", "info")]


def test_trace_shows_used_trimmed_and_excluded_sheets(five, totals_problem):
    data = totals_problem(five, bootstrap=0)
    data["excluded"] = [{"expert": "E2", "application": "P1", "reason": "与申报单位有合作关系"}]
    p1 = by_application(ranked(data))["P1"]
    statuses = {sheet.expert: (sheet.status, sheet.reason) for sheet in p1.trace.sheets}
    assert statuses["E2"] == ("excluded", "与申报单位有合作关系")
    assert statuses["E5"][0] == "trimmed" and statuses["E4"][0] == "trimmed"
    assert sum(status == "used" for status, _ in statuses.values()) == 4
    assert p1.n == 6 and p1.score == 83.25        # (79 + 82 + 84 + 88) / 4
    assert "(79 + 82 + 84 + 88) / 4 = 333 / 4 = 83.25" in p1.trace.computation


def test_small_and_insufficient_panels(totals_problem):
    result = ranked(totals_problem({"A": [70, 80, 90, 60], "B": [90, 95]}, bootstrap=200, deviation=0.3,
                                   min_panel=5))
    lines = by_application(result)
    assert lines["A"].score == 75.0 and [flag.code for flag in lines["A"].flags] == ["SMALL_PANEL"]
    assert lines["B"].score is None and lines["B"].rank is None and lines["B"].recommendation is None
    assert [flag.code for flag in lines["B"].flags] == ["INSUFFICIENT"]
    assert [line.application for line in result.ranking] == ["A", "B"]
    assert {sheet.status for sheet in lines["B"].trace.sheets} == {"unused"}


def test_one_extreme_sheet_of_four_moves_nothing_and_is_the_one_put_back(totals_problem):
    lines = by_application(ranked(totals_problem({"A": [60, 60, 60, 10], "B": [58, 59, 61, 62]}, bootstrap=0)))
    assert lines["A"].score == 60.0 and lines["A"].mean == 47.5        # the median of four: (60 + 60) / 2
    flagged = [(flag.code, flag.expert, flag.level) for flag in lines["A"].flags if flag.criterion is None]
    assert flagged == [("SMALL_PANEL", None, "info"), ("ROBUST", "E4", "act"), ("DEVIATION", "E4", "act")]
    assert "中位数" in lines["A"].flags[0].message
    assert not [flag for flag in lines["B"].flags if flag.code in ("ROBUST", "DEVIATION")]


def test_a_three_sheet_panel_takes_the_median_and_ties_break_on_the_mean(totals_problem):
    lines = by_application(ranked(totals_problem({"A": [70, 80, 30], "B": [80, 80, 70]}, bootstrap=0)))
    assert (lines["A"].score, lines["B"].score) == (70.0, 80.0)
    lines = by_application(ranked(totals_problem({"A": [70, 80, 90], "B": [75, 80, 81]}, bootstrap=0)))
    assert (lines["A"].score, lines["B"].score) == (80.0, 80.0)
    assert (lines["A"].rank, lines["B"].rank) == (1, 2)                 # equal medians: mean 80 beats 78.67
    assert not [flag for line in lines.values() for flag in line.flags if flag.code == "TIE"]
    assert "平均分区分" in lines["A"].trace.computation


def test_a_full_tie_shares_the_rank(totals_problem):
    lines = by_application(ranked(totals_problem({"A": [80, 82, 84, 86, 88], "B": [88, 86, 84, 82, 80],
                                                   "C": [70, 71, 72, 73, 74]}, bootstrap=0)))
    assert (lines["A"].rank, lines["B"].rank, lines["C"].rank) == (1, 1, 3)
    assert [flag.code for flag in lines["A"].flags] == ["TIE"]
    assert "并列第 1 名" in lines["A"].flags[0].message and "B" in lines["A"].flags[0].message


def test_priority_criterion_breaks_a_tie_before_the_median():
    template = {"criteria": [{"id": "tech", "name": "技术", "max": 50, "priority": 1},
                             {"id": "other", "name": "其他", "max": 50}]}
    sheets = []
    for expert, (a_tech, b_tech) in enumerate([(40, 30), (40, 30), (40, 30)], start=1):
        sheets.append({"expert": f"E{expert}", "application": "A", "scores": {"tech": a_tech, "other": 40}})
        sheets.append({"expert": f"E{expert}", "application": "B", "scores": {"tech": b_tech, "other": 50}})
    lines = by_application(ranked({"template": template, "sheets": sheets, "settings": {"bootstrap": 0}}))
    assert lines["A"].score == lines["B"].score == 80.0
    assert (lines["A"].rank, lines["B"].rank) == (1, 2)
    assert "技术" in lines["A"].trace.computation


def test_criterion_means_of_retained_experts_sum_to_the_score():
    template = {"criteria": [{"id": "a", "max": 40}, {"id": "b", "max": 60}]}
    points = [(30, 50), (35.5, 52), (10, 20), (39, 58.5), (33, 49), (36, 51)]
    sheets = [{"expert": f"E{i}", "application": "X", "scores": {"a": a, "b": b}} for i, (a, b) in enumerate(points)]
    line = ranked({"template": template, "sheets": sheets, "settings": {"bootstrap": 0, "gate": None}}).ranking[0]
    assert line.criteria["a"] + line.criteria["b"] == pytest.approx(line.score, abs=0.011)
    assert line.criteria == {"a": 33.63, "b": 50.5}      # E2 (30) and E3 (97.5) dropped


def test_gate_and_veto_reject():
    template = {"criteria": [{"id": "truth", "name": "真实性", "max": 20, "veto": True},
                             {"id": "rest", "name": "其他", "max": 80}]}
    sheets = [{"expert": f"E{i}", "application": "X", "scores": {"truth": 10, "rest": 78}} for i in range(5)]
    line = ranked({"template": template, "sheets": sheets, "settings": {"bootstrap": 0, "gate": None,
                                                                        "threshold": 60}}).ranking[0]
    assert line.score == 88.0 and line.recommendation == "REJECT"
    assert [flag.code for flag in line.flags] == ["VETO"]
    assert "一票否决指标「真实性」的平均分 10 低于 12" in line.flags[0].message
    gated = ranked({"template": {"criteria": [{"id": "truth", "name": "真实性", "max": 20},
                                              {"id": "rest", "name": "其他", "max": 80}]},
                    "sheets": sheets, "settings": {"bootstrap": 0, "threshold": 60}}).ranking[0]
    assert gated.recommendation == "REJECT" and [flag.code for flag in gated.flags] == ["GATE"]


@pytest.mark.parametrize(("total", "score", "grade"), [
    (89.995, 90.0, "优秀"), (89.994, 89.99, "良好"), (59.999, 60.0, "合格"), (59.99, 59.99, "不合格"),
])
def test_grades_on_the_two_decimal_value(total, score, grade):
    # Totals with three decimals need a 0.001 step; the annual template grades.
    template = {"kind": "annual", "criteria": [{"id": "all", "max": 100, "step": 0.001}]}
    sheets = [{"expert": f"E{i}", "application": "C", "scores": {"all": total}} for i in range(3)]
    line = ranked({"template": template, "sheets": sheets, "settings": {"bootstrap": 0}}).ranking[0]
    assert (line.score, line.grade) == (score, grade)


def test_the_score_is_the_exact_decimal_mean_of_the_entered_scores():
    # 87 + 66.64 + 9.635 is 163.27499999999998 in binary floating point; the exact mean 54.425 rounds to 54.43.
    template = {"criteria": [{"id": "all", "max": 100, "step": 0.001}]}
    sheets = [{"expert": f"E{i}", "application": "C", "scores": {"all": total}}
              for i, total in enumerate([87.0, 66.64, 9.635])]
    line = ranked({"template": template, "sheets": sheets, "settings": {"bootstrap": 0, "trim": "none"}}).ranking[0]
    assert (line.score, line.mean, line.criteria["all"]) == (54.43, 54.43, 54.43)


def test_selection_review_is_not_graded(five, totals_problem):
    assert all(line.grade is None for line in ranked(totals_problem(five, bootstrap=0)).ranking)


def test_steps_can_be_switched_off(five, totals_problem):
    settings = dict(bootstrap=0, outliers=False, criterion_flags=False, diagnostics=False, interval=False,
                    recommend=False, trim="none")
    p1 = by_application(ranked(totals_problem(five, **settings)))["P1"]
    assert p1.flags == () and p1.diagnostics == () and p1.interval is None and p1.recommendation is None
    assert p1.score == 81.29                      # plain mean 569 / 7
    assert all(sheet.status == "used" for sheet in p1.trace.sheets)


def test_result_serializes_to_the_design_fields(five, totals_problem):
    import json
    data = ranked(totals_problem(five, bootstrap=100)).to_dict()
    line = data["ranking"][0]
    for key in ("application", "rank", "score", "median", "mean", "interval", "rank_interval", "p_top_k", "n",
                "criteria", "calibrated", "recommendation", "grade", "flags", "trace"):
        assert key in line
    assert set(data) >= {"ranking", "experts", "errors"}
    json.dumps(data, ensure_ascii=False)


def test_rank_refuses_a_problem_built_in_code_with_bad_scores():
    from scoring.templates import SITE_INSPECTION
    from scoring.types import Problem, Sheet
    sheet = Sheet("E1", "P1", {criterion.id: 21 for criterion in SITE_INSPECTION.criteria}, comment="ok")
    result = scoring.rank(Problem(SITE_INSPECTION, (sheet,)))
    assert result.ranking == () and len(result.errors) == 6    # every maximum is below 21
    assert "sheets[0] (E1 → P1): scores.mechanism: 21 is above the maximum 15" in result.errors


def test_per_criterion_outlier_is_information_only():
    template = {"criteria": [{"id": "tech", "name": "技术路线", "name_en": "Technical route", "max": 20},
                             {"id": "rest", "name": "其他", "max": 80}]}
    points = [(16, 64), (16, 70), (16, 58), (16, 66), (4, 76), (16, 62), (16, 72)]   # E5: 4 on tech, total 80
    sheets = [{"expert": f"E{i}", "application": "X", "scores": {"tech": tech, "rest": rest}}
              for i, (tech, rest) in enumerate(points, start=1)]
    line = ranked({"template": template, "sheets": sheets, "settings": {"bootstrap": 0, "gate": None}}).ranking[0]
    assert [(flag.code, flag.expert, flag.criterion) for flag in line.flags] == [("ROBUST", "E5", "tech")]
    assert line.flags[0].message.startswith("（仅供参考）专家 E5 在「技术路线」上给 4 分")
    assert all(sheet.status != "excluded" for sheet in line.trace.sheets)


def test_on_three_sheets_only_the_extreme_is_put_back_and_the_level_reaches_the_json(totals_problem):
    result = ranked(totals_problem({"A": [60, 60, 10]}, bootstrap=0))
    flags = [(flag["code"], flag["expert"], flag["level"]) for flag in result.to_dict()["ranking"][0]["flags"]
             if flag["code"] in ("ROBUST", "DEVIATION")]
    assert [flag for flag in flags if flag[2] == "act"] == [("ROBUST", "E3", "act"), ("DEVIATION", "E3", "act")]
    assert {flag[1] for flag in flags if flag[2] == "info"} <= {"E1", "E2"}         # honest: information only
    assert result.ranking[0].score == 60.0


def test_a_panel_that_disagrees_within_itself_puts_nobody_back(totals_problem):
    result = ranked(totals_problem({"A": [50, 70, 10]}, bootstrap=0))
    assert not [flag for flag in result.ranking[0].flags if flag.level == "act" and flag.expert is not None]
    assert ("DEVIATION", "E3") in [(flag.code, flag.expert) for flag in result.ranking[0].flags]
