"""Annual grades and the triennial assessment: the worked examples of docs/scoring.md and properties."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.assessment import (
    OUTCOMES,
    AnnualScore,
    OutcomeRules,
    TriennialWeights,
    annual_grade,
    assess,
)
from scoring.recommend import GradeThresholds, grade


def window(*scores):
    return [AnnualScore(2021 + offset, score) for offset, score in enumerate(scores)]


def flag_codes(assessment):
    return [flag.code for flag in assessment.flags]


def test_annual_grade_uses_the_ranking_grades_by_default():
    for score in (95, 89.995, 89.994, 80, 79.99, 60, 59.994, 0):
        assert annual_grade(score).code == grade(score)[1]
    assert [annual_grade(score).code for score in (89.995, 79.99, 59.994)] == ["excellent", "pass", "fail"]
    assert annual_grade(89.995).rounded == 90.0


def test_annual_grade_thresholds_are_configurable_and_checked():
    assert annual_grade(80, GradeThresholds(85, 75, 60)).code == "good"
    with pytest.raises(ValueError):
        GradeThresholds(80, 90, 60)
    with pytest.raises(ValueError):
        annual_grade(101)


@pytest.mark.parametrize("triennial, annual, mean, result, base, outcome, flags", [
    (88, (92, 90, 94), 92, 90.40, "recommend_national", "recommend_national", []),
    (91, (93, None, 95), 94, 92.80, "recommend_national", "pass", ["missing_year"]),
    (70, (55, 58, 75), 188 / 3, 65.60, "pass", "rectify", ["annual_fail", "annual_fail", "repeated_fail"]),
    (45, (50, 52, 48), 50, 48.00, "exit", "exit", ["annual_fail"] * 3 + ["repeated_fail"]),
    (75, (None, None, None), None, 75.00, "pass", "rectify", ["missing_year"] * 3 + ["no_annual_evaluation"]),
], ids=["A", "B", "C", "D", "E"])
def test_worked_examples(triennial, annual, mean, result, base, outcome, flags):
    assessment = assess(triennial, window(*annual))
    assert assessment.annual_mean == (None if mean is None else pytest.approx(mean))
    assert assessment.result == result
    assert (assessment.base_outcome, assessment.outcome) == (base, outcome)
    assert flag_codes(assessment) == flags


def test_missing_year_is_named_and_the_mean_is_over_present_years():
    assessment = assess(91, window(93, None, 95))
    assert assessment.flags[0].params == {"year": 2022}
    assert (assessment.applied_triennial, assessment.applied_annual) == (0.4, 0.6)
    assert [item.year for item in assessment.annual] == [2021, 2022, 2023]
    assert [item.code for item in assessment.annual_grades] == ["excellent", "excellent"]


def test_without_any_annual_evaluation_the_triennial_score_stands_alone():
    assessment = assess(95, window(None, None, None))
    assert (assessment.applied_triennial, assessment.applied_annual) == (1.0, 0.0)
    assert assessment.result == 95.0 and assessment.base_outcome == "recommend_national"
    assert assessment.outcome == "rectify"


def test_a_single_fail_bars_only_the_national_recommendation():
    assessment = assess(100, window(59, 100, 100))   # 40 + 0.6 × 86.33 = 91.80
    assert assessment.base_outcome == "recommend_national" and assessment.outcome == "pass"
    assert assessment.flags[0].params == {"year": 2021, "score": 59}


@pytest.mark.parametrize("triennial, annual", [(0.5, 0.6), (0.7, 0.7), (-0.2, 1.2), (1.0, 0.1)])
def test_weights_not_summing_to_one_are_refused(triennial, annual):
    with pytest.raises(ValueError):
        TriennialWeights(triennial, annual)


def test_configured_weights_and_rules_are_used():
    assessment = assess(80, window(90, 90, 90), weights=TriennialWeights(0.5, 0.5),
                        rules=OutcomeRules(national=85, passing=60, rectify=40))
    assert assessment.result == 85.0 and assessment.outcome == "recommend_national"
    with pytest.raises(ValueError):
        OutcomeRules(national=60, passing=70)


@pytest.mark.parametrize("annual", [[], window(90, 90) + [AnnualScore(2021, 80)]])
def test_an_empty_window_or_a_year_twice_is_refused(annual):
    with pytest.raises(ValueError):
        assess(80, annual)


def test_scores_outside_zero_to_hundred_are_refused():
    assert assess(np.float64(80), window(np.int64(80), 80, 80)).result == 80.0
    with pytest.raises(ValueError):
        assess(True, window(80, 80, 80))
    with pytest.raises(ValueError):
        assess(120, window(80, 80, 80))
    with pytest.raises(ValueError):
        assess(80, window(80, -1, 80))


scores = st.floats(0, 100, allow_nan=False)
optional_scores = st.one_of(st.none(), scores)


@given(scores, st.lists(optional_scores, min_size=1, max_size=3), st.floats(0, 1))
def test_combination_lies_between_its_inputs(triennial, annual, weight):
    assessment = assess(triennial, window(*annual), weights=TriennialWeights(weight, 1 - weight))
    inputs = [triennial] + [score for score in annual if score is not None]
    assert min(inputs) - 1e-9 <= assessment.combined <= max(inputs) + 1e-9


@given(scores, st.lists(optional_scores, min_size=1, max_size=3))
def test_rules_never_raise_an_outcome(triennial, annual):
    assessment = assess(triennial, window(*annual))
    assert OUTCOMES.index(assessment.outcome) >= OUTCOMES.index(assessment.base_outcome)


@given(scores, scores, st.lists(scores, min_size=3, max_size=3))
def test_a_better_triennial_score_never_gives_a_worse_outcome(a, b, annual):
    low, high = sorted((a, b))
    worse, better = assess(low, window(*annual)), assess(high, window(*annual))
    assert OUTCOMES.index(better.outcome) <= OUTCOMES.index(worse.outcome)
