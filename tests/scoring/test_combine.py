"""Combining rounds: review 60 % + site inspection 40 %, intervals combined conservatively."""

import numpy as np
import pytest

import scoring
from scoring.combine import CombineProblem, combine_rounds, weight_problems
from scoring.types import Result


def run(totals_problem, totals, **settings):
    return scoring.rank(scoring.parse_problem(totals_problem(totals, bootstrap=0, **settings)))


def test_weighted_sum_and_conservative_interval(totals_problem, five):
    review = run(totals_problem, {"P1": five["P1"], "P2": five["P2"]})
    site = run(totals_problem, {"P1": [90, 91, 92, 93, 94], "P2": [70, 72, 74, 76, 78]})
    lines = {line.application: line for line in combine_rounds({"selection_review": review,
                                                                "site_inspection": site})}
    assert lines["P1"].score == 86.96           # 0.6 × 83.60 + 0.4 × 92.00
    assert lines["P2"].score == 82.4            # 0.6 × 88.00 + 0.4 × 74.00
    assert (lines["P1"].rank, lines["P2"].rank) == (1, 2)
    assert lines["P1"].rounds == {"selection_review": 83.6, "site_inspection": 92.0}
    assert "0.6 × 83.60 + 0.4 × 92.00 = 86.96" in lines["P1"].computation
    review_p1 = {line.application: line for line in review.ranking}["P1"].interval
    site_p1 = {line.application: line for line in site.ranking}["P1"].interval
    low, high = lines["P1"].interval
    assert low == pytest.approx(0.6 * review_p1[0] + 0.4 * site_p1[0], abs=1e-3)
    assert high == pytest.approx(0.6 * review_p1[1] + 0.4 * site_p1[1], abs=1e-3)
    independent = np.hypot(0.6 * (review_p1[1] - review_p1[0]), 0.4 * (site_p1[1] - site_p1[0]))
    assert high - low >= independent


def test_an_application_missing_a_round_is_not_ranked(totals_problem, five):
    review = run(totals_problem, {"P1": five["P1"], "P2": five["P2"]})
    site = run(totals_problem, {"P2": [70, 72, 74, 76, 78]})
    lines = combine_rounds({"selection_review": review, "site_inspection": site})
    assert [line.application for line in lines] == ["P2", "P1"]
    assert lines[1].rank is None and lines[1].flags[0].code == "MISSING_ROUND"


@pytest.mark.parametrize(("weights", "message", "problem"), [
    ({"selection_review": 0.5, "site_inspection": 0.4}, "weights must sum to 1, not 0.9", ("weights_sum", {"sum": 0.9})),
    ({"selection_review": 1.0}, "weights name the rounds",
     ("rounds_mismatch", {"weights": ["selection_review"], "results": ["selection_review", "site_inspection"]})),
    ({"selection_review": float("nan"), "site_inspection": 0.4}, "non-negative finite", ("bad_weights", {})),
    ({"selection_review": -0.2, "site_inspection": 1.2}, "non-negative finite", ("bad_weights", {})),
])
def test_bad_weights_are_refused_with_a_code_to_word(totals_problem, five, weights, message, problem):
    """Each reason is a code with its parameters (the web words it from its catalog), the message English; a NaN
    weight passed every check (NaN < 0 and |NaN − 1| > 1e-9 are both false) and combined into NaN scores."""
    review = run(totals_problem, five)
    with pytest.raises(ValueError, match=message) as refusal:
        combine_rounds({"selection_review": review, "site_inspection": review}, weights)
    assert [(item.code, item.params) for item in refusal.value.problems] == [problem]


@pytest.mark.parametrize(("weights", "problems"), [
    ({"review": 0.6, "site": 0.4}, []),
    ({"review": 0.5, "site": 0.4}, [CombineProblem("weights_sum", {"sum": 0.9})]),
    ({"review": 0.7, "site": 0.7}, [CombineProblem("weights_sum", {"sum": 1.4})]),
    ({"review": float("inf"), "site": 0.4}, [CombineProblem("bad_weights", {})]),
    ({"review": -0.5, "site": 1.5}, [CombineProblem("bad_weights", {})]),      # sums to 1, one weight negative
    ({"review": "0.6", "site": 0.4}, [CombineProblem("bad_weights", {})]),      # no number
])
def test_the_weights_alone_are_checked_by_the_rule_combine_rounds_applies(totals_problem, five, weights, problems):
    """Worked: 0.5 + 0.4 = 0.9 ≠ 1; a weight that is negative, infinite or no number is refused before its sum is
    looked at. ``combine_rounds`` refuses the same weights with the same problems, the rounds' own after them."""
    assert weight_problems(weights) == problems
    review = run(totals_problem, five)
    refused = Result((), (), ("sheets[1]: scores.C1: missing",), review.settings)
    if problems:
        with pytest.raises(ValueError) as refusal:
            combine_rounds({"review": review, "site": refused}, weights)
        assert [problem.code for problem in refusal.value.problems] == [problems[0].code, "round_refused"]
    else:
        assert combine_rounds({"review": review, "site": review}, weights)


def test_a_refused_round_is_refused_with_its_name_and_the_engines_errors(totals_problem, five):
    review = run(totals_problem, five)
    refused = Result((), (), ("sheets[1]: scores.C1: missing",), review.settings)
    with pytest.raises(ValueError, match="round site_inspection was refused: sheets") as refusal:
        combine_rounds({"selection_review": review, "site_inspection": refused})
    assert [(item.code, item.params) for item in refusal.value.problems] == [
        ("round_refused", {"round": "site_inspection", "errors": ("sheets[1]: scores.C1: missing",)})]


def test_weighted_sum_is_exact_in_decimal():
    from scoring.combine import weighted_sum_half_up
    assert weighted_sum_half_up(np.array([83.65, 88.1]), np.array([0.6, 0.4])) == 85.43
    assert weighted_sum_half_up(np.array([80.05, 70.0]), np.array([0.5, 0.5])) == 75.03   # 75.025 rounds up
    assert np.isnan(weighted_sum_half_up(np.array([80.0, np.nan]), np.array([0.5, 0.5])))
