"""The reason a line got its recommendation: the interval decides, and the rule named agrees with the numbers."""

import scoring
from scoring.recommend import DECIDING_RULES, deciding_rule

# A steady panel scoring a little lower, and a divided panel scoring a little higher (the 82.67 / 83.50).
STEADY = [82, 82.5, 83, 82.5, 83, 82, 82.5]
DIVIDED = [70, 95, 72, 96, 84, 90, 75]


def ranked(totals_problem, totals, **settings):
    result = scoring.rank(scoring.parse_problem(totals_problem(totals, bootstrap=2000, **settings)))
    assert result.ok, result.errors
    return result, {line.application: line for line in result.ranking}


def test_the_interval_not_the_score_decides(totals_problem):
    result, lines = ranked(totals_problem, {"STEADY": STEADY, "DIVIDED": DIVIDED})
    steady, divided = lines["STEADY"], lines["DIVIDED"]
    assert steady.score < divided.score
    assert (steady.recommendation, deciding_rule(steady, result.settings)) == ("RECOMMEND", "LOW_REACHES")
    assert steady.interval[0] >= 80
    assert (divided.recommendation, deciding_rule(divided, result.settings)) == ("CONDITIONAL", "STRADDLES")
    assert divided.interval[0] < 80 <= divided.interval[1]


def test_every_rule_agrees_with_the_numbers(totals_problem, five):
    for capacity in (None, 2):
        result, lines = ranked(totals_problem, five, capacity=capacity)
        settings = result.settings
        for line in lines.values():
            rule = deciding_rule(line, settings)
            assert rule in DECIDING_RULES
            low, high = line.interval
            if rule in ("LOW_REACHES", "LOW_REACHES_TOP_K"):
                assert line.recommendation == "RECOMMEND" and low >= settings.threshold
            if rule == "LOW_REACHES_TOP_K":
                assert line.p_top_k >= settings.top_k_probability
            if rule == "NOT_LIKELY_TOP_K":
                assert line.recommendation == "CONDITIONAL" and line.p_top_k < settings.top_k_probability
            if rule == "STRADDLES":
                assert line.recommendation == "CONDITIONAL" and low < settings.threshold <= high
            if rule == "HIGH_BELOW":
                assert line.recommendation == "REJECT" and high < settings.threshold
            if rule == "RANK_BELOW_K":
                assert line.recommendation == "RESERVE" and line.rank_interval[0] > capacity


def test_a_line_without_a_score_has_no_rule(totals_problem):
    result, lines = ranked(totals_problem, {"FULL": STEADY, "SHORT": [80, 81]})
    assert lines["SHORT"].recommendation is None and deciding_rule(lines["SHORT"], result.settings) is None
