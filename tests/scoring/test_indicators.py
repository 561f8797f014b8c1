"""Indicators of a listed center: the worked examples of docs/scoring.md ("After selection") and properties."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.indicators import (
    CATALOGUE,
    SPECS,
    UNITS,
    IndicatorReport,
    check_report,
    completion,
    period_completion,
    report_completions,
    trend,
    trends,
)

C1_2021 = IndicatorReport(
    "C1", 2021,
    actual={"rd_contracts": 12, "rd_contract_amount": 850, "invention_patents_applied": 30,
            "invention_patents_granted": 8, "incubated_companies": 2},
    target={"rd_contracts": 10, "rd_contract_amount": 1000, "invention_patents_applied": 40,
            "incubated_companies": 0},
)


def codes(findings):
    return [(finding.code, finding.indicator) for finding in findings]


def test_catalogue_covers_the_notice_and_is_well_formed():
    stressed = {"rd_contracts", "rd_contract_amount", "tech_market_turnover", "incubated_companies"}
    assert stressed <= set(SPECS)
    assert len(SPECS) == len(CATALOGUE) >= 15
    for spec in CATALOGUE:
        assert spec.unit in UNITS and spec.ceiling > 0
        assert spec.integer == (spec.unit != "wan_yuan")


def test_completion_worked_example():
    ratios = {item.code: item.ratio for item in report_completions(C1_2021)}
    assert ratios == {"rd_contracts": 1.2, "rd_contract_amount": 0.85, "invention_patents_applied": 0.75,
                      "invention_patents_granted": None, "incubated_companies": None}


@pytest.mark.parametrize("actual, target", [(5, None), (None, 5), (5, 0), (5, -1), (None, None)])
def test_completion_is_none_without_a_usable_target_or_actual(actual, target):
    assert completion(actual, target) is None


def test_lower_is_better_completion_inverts_and_refuses_a_zero_actual():
    assert completion(8, 10, higher_is_better=False) == 1.25
    assert completion(0, 10, higher_is_better=False) is None


@given(st.floats(0, 1e6), st.floats(0, 1e6), st.floats(0.01, 1e6), st.booleans())
def test_completion_never_decreases_as_the_result_improves(a, b, target, higher_is_better):
    worse, better = sorted((a, b)) if higher_is_better else sorted((a, b), reverse=True)
    low, high = completion(worse, target, higher_is_better), completion(better, target, higher_is_better)
    if low is not None and high is not None:
        assert low <= high


def test_a_consistent_report_has_no_findings():
    assert check_report(C1_2021) == ()


def test_amount_without_contracts_and_contracts_without_amount_are_found():
    amount_only = check_report(IndicatorReport("C1", 2021, {"rd_contracts": 0, "rd_contract_amount": 300}))
    assert codes(amount_only) == [("amount_without_contracts", "rd_contract_amount")]
    assert amount_only[0].params == {"amount": 300}
    contracts_only = check_report(IndicatorReport("C1", 2021, {"rd_contracts": 4, "rd_contract_amount": 0}))
    assert codes(contracts_only) == [("contracts_without_amount", "rd_contracts")]


def test_granted_is_compared_with_applied_cumulatively():
    first = IndicatorReport("C1", 2021, {"invention_patents_applied": 30, "invention_patents_granted": 8})
    honest = IndicatorReport("C1", 2022, {"invention_patents_applied": 5, "invention_patents_granted": 20})
    assert check_report(honest, [first]) == ()
    too_many = IndicatorReport("C1", 2022, {"invention_patents_applied": 5, "invention_patents_granted": 40})
    (finding,) = check_report(too_many, [first])
    assert finding.code == "granted_exceeds_applied"
    assert finding.params == {"granted": 48, "applied": 35, "first_year": 2021, "year": 2022}


def test_patent_history_of_other_centers_and_later_years_is_ignored():
    report = IndicatorReport("C1", 2022, {"invention_patents_applied": 5, "invention_patents_granted": 20})
    unrelated = [IndicatorReport("C2", 2021, {"invention_patents_applied": 30}),
                 IndicatorReport("C1", 2023, {"invention_patents_applied": 30})]
    assert codes(check_report(report, unrelated)) == [("granted_exceeds_applied", "invention_patents_granted")]


def test_range_and_type_findings():
    report = IndicatorReport("C1", 2021, {"rd_staff": 12.5, "rd_spending": -3,
                                          "tech_market_turnover": 5_000_000, "made_up": 1,
                                          "companies_served": math.nan, "talent_introduced": None})
    findings = {finding.indicator: finding for finding in check_report(report)}
    assert findings["rd_staff"].code == "not_integer"
    assert findings["rd_spending"].code == "negative"
    assert findings["tech_market_turnover"].params == {"value": 5_000_000, "ceiling": 1_000_000}
    assert findings["made_up"].code == "unknown_indicator"
    assert findings["companies_served"].code == "not_a_number"
    assert "talent_introduced" not in findings


def test_trend_worked_example_reports_the_missing_year_and_never_interpolates():
    reports = [IndicatorReport("C1", year, {"rd_contracts": value}, {"rd_contracts": 10})
               for year, value in ((2023, 15), (2020, 8), (2021, 12))]
    result = trend(reports, "rd_contracts")
    assert [point.year for point in result.points] == [2020, 2021, 2022, 2023]
    assert [point.value for point in result.points] == [8, 12, None, 15]
    assert [point.change for point in result.points] == [None, 4, None, None]
    assert [point.relative_change for point in result.points] == [None, 0.5, None, None]
    assert [point.completion for point in result.points] == [0.8, 1.2, None, 1.5]
    assert result.missing_years == (2022,)
    assert result.slope == pytest.approx(31 / 14)


def test_trend_with_one_point_has_no_slope_and_with_none_is_empty():
    single = trend([IndicatorReport("C1", 2021, {"rd_contracts": 3})], "rd_contracts", years=[2021, 2022, 2023])
    assert single.slope is None and single.missing_years == (2022, 2023)
    empty = trend([], "rd_contracts")
    assert empty.points == () and empty.slope is None


def test_change_into_the_window_uses_the_year_before_it():
    reports = [IndicatorReport("C1", year, {"rd_contracts": value}) for year, value in ((2020, 8), (2021, 12))]
    (point,) = trend(reports, "rd_contracts", years=[2021]).points
    assert (point.change, point.relative_change) == (4, 0.5)


def test_relative_change_from_zero_is_none():
    reports = [IndicatorReport("C1", 2020, {"incubated_companies": 0}),
               IndicatorReport("C1", 2021, {"incubated_companies": 3})]
    point = trend(reports, "incubated_companies").points[1]
    assert point.change == 3 and point.relative_change is None


def test_trends_cover_the_catalogue_and_refuse_two_reports_for_a_year():
    reports = [IndicatorReport("C1", 2020, {"rd_contracts": 1}), IndicatorReport("C1", 2022, {"rd_staff": 9})]
    assert [item.code for item in trends(reports)] == [spec.code for spec in CATALOGUE]
    assert trends(reports)[0].missing_years == (2021, 2022)
    with pytest.raises(ValueError):
        trend(reports + [IndicatorReport("C1", 2020, {})], "rd_contracts")


@given(st.sets(st.integers(2000, 2030), min_size=2), st.floats(-100, 100), st.floats(0, 1e4))
def test_slope_of_a_straight_line_is_its_rate(years, rate, start):
    reports = [IndicatorReport("C1", year, {"rd_spending": start + rate * (year - 2000)}) for year in years]
    assert trend(reports, "rd_spending").slope == pytest.approx(rate, abs=1e-6)


def test_targets_are_held_to_the_range_rules():
    report = IndicatorReport("C1", 2021, {"rd_contracts": 3, "rd_contract_amount": 40},
                             {"rd_contracts": -2, "rd_contract_amount": 0})
    (finding,) = check_report(report)
    assert (finding.code, finding.indicator, finding.figure) == ("negative", "rd_contracts", "target")


@given(st.fixed_dictionaries({spec.code: st.integers(1, int(spec.ceiling)) for spec in CATALOGUE}))
def test_in_range_figures_with_grants_below_applications_are_accepted(actual):
    actual = dict(actual, invention_patents_granted=min(actual["invention_patents_granted"],
                                                        actual["invention_patents_applied"]))
    assert check_report(IndicatorReport("C1", 2021, actual, actual)) == ()


def test_period_completion_sums_flows_and_names_the_missing_year():
    reports = [IndicatorReport("C1", 2021, {"invention_patents_applied": 30, "rd_staff": 80}),
               IndicatorReport("C1", 2023, {"invention_patents_applied": 25, "rd_staff": 120}),
               IndicatorReport("C1", 2024, {"invention_patents_applied": 99})]
    flow = period_completion(reports, "invention_patents_applied", 100, [2021, 2022, 2023])
    assert (flow.total, flow.ratio, flow.missing_years) == (55, 0.55, (2022,))
    stock = period_completion(reports, "rd_staff", 100, [2021, 2022, 2023])
    assert (stock.total, stock.ratio) == (120, 1.2)


def test_period_completion_of_a_stock_missing_its_last_year_is_none():
    reports = [IndicatorReport("C1", 2021, {"rd_staff": 80})]
    result = period_completion(reports, "rd_staff", 100, [2021, 2022, 2023])
    assert result.total is None and result.ratio is None and result.missing_years == (2022, 2023)
    with pytest.raises(ValueError):
        period_completion(reports, "rd_staff", 100, [])
