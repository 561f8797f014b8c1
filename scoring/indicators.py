"""The quantitative indicators a listed center reports every year: catalogue, completion, consistency, trends.

The notice asks each center to report "定量定性指标的完成情况" every year and the annual evaluation to stress
"委托研发合同数及金额、技术市场交易额、孵化企业数量等市场效益衡量指标" (实施方案 四(四)). This module holds the
arithmetic only; the names people read are translations of the codes, kept by the web. Worked examples:
docs/scoring.md, "After selection".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

UNITS = ("count", "wan_yuan", "person")


@dataclass(frozen=True)
class IndicatorSpec:
    """One indicator of the catalogue.

    Attributes
    ----------
    code : str
        English identifier; the web translates it.
    unit : str
        One of :data:`UNITS`: ``count``, ``wan_yuan`` (万元) or ``person``.
    higher_is_better : bool
        Decides the completion rule (actual/target, or target/actual).
    integer : bool
        Whole numbers only (counts, persons).
    ceiling : float
        The largest sane value; the allowed range is [0, ceiling].
    stock : bool
        A level at the year's end (a head count), not a flow over the year: over a period it is the last
        year's value, where a flow is the sum of the years.
    """

    code: str
    unit: str
    integer: bool
    ceiling: float
    higher_is_better: bool = True
    stock: bool = False


def _count(code: str, ceiling: float) -> IndicatorSpec:
    return IndicatorSpec(code, "count", integer=True, ceiling=ceiling)


def _wan_yuan(code: str) -> IndicatorSpec:
    # 1,000,000 万元 = 100 亿元: above it the figure was almost surely typed in 元.
    return IndicatorSpec(code, "wan_yuan", integer=False, ceiling=1_000_000)


def _persons(code: str, ceiling: float, stock: bool = False) -> IndicatorSpec:
    return IndicatorSpec(code, "person", integer=True, ceiling=ceiling, stock=stock)


CATALOGUE: tuple[IndicatorSpec, ...] = (
    _count("rd_contracts", 10_000),
    _wan_yuan("rd_contract_amount"),
    _wan_yuan("tech_market_turnover"),
    _count("incubated_companies", 1_000),
    _wan_yuan("rd_spending"),
    _count("invention_patents_applied", 10_000),
    _count("invention_patents_granted", 10_000),
    _count("standards_international", 1_000),
    _count("standards_national", 1_000),
    _count("standards_industry", 1_000),
    _count("first_of_kind_products", 1_000),
    _persons("rd_staff", 100_000, stock=True),
    _persons("talent_introduced", 10_000),
    _count("international_projects", 1_000),
    _count("companies_served", 100_000),
)
SPECS: Mapping[str, IndicatorSpec] = {spec.code: spec for spec in CATALOGUE}


@dataclass(frozen=True)
class IndicatorReport:
    """The figures one center reported for one year, and the targets of its construction plan.

    Attributes
    ----------
    center : str
    year : int
    actual : Mapping[str, float | None]
        Indicator code → reported value; a missing key or None means not reported.
    target : Mapping[str, float | None]
        Indicator code → the target the center set for that year, where it set one.
    """

    center: str
    year: int
    actual: Mapping[str, float | None] = field(default_factory=dict)
    target: Mapping[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Completion:
    """Completion of one indicator in one report: ``ratio`` is None when it cannot be computed."""

    code: str
    actual: float | None
    target: float | None
    ratio: float | None


@dataclass(frozen=True)
class Finding:
    """An inconsistency in a report: a code, the indicator it concerns and the figures that show it."""

    code: str
    indicator: str
    params: Mapping[str, Any] = field(default_factory=dict)
    figure: str = "actual"


@dataclass(frozen=True)
class PeriodCompletion:
    """Completion of a target set for a whole period (e.g. the application's expected patents).

    Attributes
    ----------
    code : str
    years : tuple of int
        The period, in order.
    total : float or None
        Sum of the years present (a flow), or the last year's value (a stock); None when nothing counts.
    target : float or None
    ratio : float or None
        :func:`completion` of ``total`` against ``target``.
    missing_years : tuple of int
        Years without the figure: the total leaves them out (it is not estimated), so it understates when this
        is not empty, and the page must say so.
    """

    code: str
    years: tuple[int, ...]
    total: float | None
    target: float | None
    ratio: float | None
    missing_years: tuple[int, ...]


@dataclass(frozen=True)
class TrendPoint:
    """One calendar year of a trend; ``value`` is None for a year without the figure (never interpolated)."""

    year: int
    value: float | None
    target: float | None
    change: float | None
    relative_change: float | None
    completion: float | None


@dataclass(frozen=True)
class Trend:
    """One indicator over the years.

    Attributes
    ----------
    code : str
    points : tuple of TrendPoint
        One per calendar year, in order, missing years included.
    missing_years : tuple of int
        The years without a value.
    slope : float or None
        Least-squares change per year over the present points; None with fewer than two.
    """

    code: str
    points: tuple[TrendPoint, ...]
    missing_years: tuple[int, ...]
    slope: float | None


def completion(actual: float | None, target: float | None, higher_is_better: bool = True) -> float | None:
    """Completion (完成率) of a target, not capped: 1.2 is 120 %.

    Parameters
    ----------
    actual, target : float or None
    higher_is_better : bool
        True: ``actual / target``; False: ``target / actual``.

    Returns
    -------
    float or None
        None when either figure is missing, the target is ≤ 0 (a zero target has no ratio), or, for a
        lower-is-better indicator, the actual is ≤ 0.

    Examples
    --------
    >>> completion(12, 10), completion(850, 1000), completion(8, None), completion(2, 0)
    (1.2, 0.85, None, None)
    >>> completion(8, 10, higher_is_better=False)
    1.25
    """
    if actual is None or target is None or target <= 0:
        return None
    if higher_is_better:
        return actual / target
    return None if actual <= 0 else target / actual


def report_completions(report: IndicatorReport) -> tuple[Completion, ...]:
    """Completion of every catalogue indicator the report gives a value or a target for, in catalogue order."""
    lines = []
    for spec in CATALOGUE:
        actual, target = report.actual.get(spec.code), report.target.get(spec.code)
        if actual is not None or target is not None:
            lines.append(Completion(spec.code, actual, target, completion(actual, target, spec.higher_is_better)))
    return tuple(lines)


def check_report(report: IndicatorReport, history: Iterable[IndicatorReport] = ()) -> tuple[Finding, ...]:
    """Every inconsistency of a report; empty when it can be accepted.

    Parameters
    ----------
    report : IndicatorReport
    history : iterable of IndicatorReport
        The same center's earlier reports; those of other centers or of later years are ignored. Only
        ``granted_exceeds_applied`` uses them: grants are compared with applications cumulatively since the
        first report, because a patent is granted about two years after it is applied for.

    Returns
    -------
    tuple of Finding
        Codes ``unknown_indicator``, ``negative``, ``not_integer``, ``above_ceiling``,
        ``amount_without_contracts``, ``contracts_without_amount``, ``granted_exceeds_applied``. Targets are
        held to the same range rules (``figure="target"``); the consistency rules concern reported figures only.

    Examples
    --------
    >>> check_report(IndicatorReport("C1", 2021, {"rd_contracts": 0, "rd_contract_amount": 300}))
    (Finding(code='amount_without_contracts', indicator='rd_contract_amount', params={'amount': 300}, figure='actual'),)
    """
    findings = [finding for code, value in report.actual.items() for finding in _check_value(code, value)]
    findings += [replace(finding, figure="target")
                 for code, value in report.target.items() for finding in _check_value(code, value)]
    findings += _check_contracts(report.actual)
    findings += _check_patents(report, history)
    return tuple(findings)


def _check_value(code: str, value: float | None) -> list[Finding]:
    if value is None:
        return []
    spec = SPECS.get(code)
    if spec is None:
        return [Finding("unknown_indicator", code)]
    if not math.isfinite(value):
        return [Finding("not_a_number", code, {"value": value})]
    findings = []
    if value < 0:
        findings.append(Finding("negative", code, {"value": value}))
    if spec.integer and value != int(value):
        findings.append(Finding("not_integer", code, {"value": value}))
    if value > spec.ceiling:
        findings.append(Finding("above_ceiling", code, {"value": value, "ceiling": spec.ceiling}))
    return findings


def _check_contracts(actual: Mapping[str, float | None]) -> list[Finding]:
    contracts, amount = actual.get("rd_contracts"), actual.get("rd_contract_amount")
    if contracts == 0 and amount is not None and amount > 0:
        return [Finding("amount_without_contracts", "rd_contract_amount", {"amount": amount})]
    if amount == 0 and contracts is not None and contracts > 0:
        return [Finding("contracts_without_amount", "rd_contracts", {"contracts": contracts})]
    return []


def _check_patents(report: IndicatorReport, history: Iterable[IndicatorReport]) -> list[Finding]:
    if report.actual.get("invention_patents_granted") is None:
        return []
    window = [earlier for earlier in history if earlier.center == report.center and earlier.year < report.year]
    window.append(report)
    granted = sum(item.actual.get("invention_patents_granted") or 0 for item in window)
    applied = sum(item.actual.get("invention_patents_applied") or 0 for item in window)
    if granted <= applied:
        return []
    params = {"granted": granted, "applied": applied, "first_year": min(item.year for item in window),
              "year": report.year}
    return [Finding("granted_exceeds_applied", "invention_patents_granted", params)]


def trend(reports: Iterable[IndicatorReport], code: str, years: Sequence[int] | None = None) -> Trend:
    """One indicator of one center by calendar year, missing years reported and never interpolated.

    Parameters
    ----------
    reports : iterable of IndicatorReport
        One center's reports, at most one per year, in any order.
    code : str
        A catalogue indicator.
    years : sequence of int, optional
        The years to show; by default every year from the first report to the last.

    Returns
    -------
    Trend
        The change of a year is against the previous calendar year only (taken from the reports even when it
        lies before ``years``): None when either is missing.

    Examples
    --------
    >>> reports = [IndicatorReport("C1", year, {"rd_contracts": value}, {"rd_contracts": 10})
    ...            for year, value in ((2020, 8), (2021, 12), (2023, 15))]
    >>> result = trend(reports, "rd_contracts")
    >>> result.missing_years, round(result.slope, 4), [point.change for point in result.points]
    ((2022,), 2.2143, [None, 4, None, None])
    """
    spec = SPECS[code]
    by_year = _one_per_year(reports)
    if years is None:
        years = range(min(by_year), max(by_year) + 1) if by_year else ()
    years = sorted(set(years))
    points = []
    for year in years:
        value, target = _figures(by_year.get(year), code)
        before, _ = _figures(by_year.get(year - 1), code)
        change = None if value is None or before is None else value - before
        relative = None if change is None or before <= 0 else change / before
        points.append(TrendPoint(year, value, target, change, relative,
                                 completion(value, target, spec.higher_is_better)))
    present = [(point.year, point.value) for point in points if point.value is not None]
    missing = tuple(point.year for point in points if point.value is None)
    return Trend(code, tuple(points), missing, _slope(present))


def trends(reports: Iterable[IndicatorReport], years: Sequence[int] | None = None) -> tuple[Trend, ...]:
    """:func:`trend` of every catalogue indicator, in catalogue order, over the same years."""
    reports = tuple(reports)
    if years is None:
        span = sorted(report.year for report in reports)
        years = range(span[0], span[-1] + 1) if span else ()
    return tuple(trend(reports, spec.code, years) for spec in CATALOGUE)


def period_completion(reports: Iterable[IndicatorReport], code: str, target: float | None,
                      years: Sequence[int]) -> PeriodCompletion:
    """Completion of a target set for a whole period, from one center's yearly reports.

    Parameters
    ----------
    reports : iterable of IndicatorReport
        One center's reports, at most one per year; years outside the period are ignored.
    code : str
    target : float or None
        The target for the whole period.
    years : sequence of int
        The period, e.g. the three years of a triennial assessment.

    Examples
    --------
    >>> reports = [IndicatorReport("C1", 2021, {"invention_patents_applied": 30}),
    ...            IndicatorReport("C1", 2023, {"invention_patents_applied": 25})]
    >>> result = period_completion(reports, "invention_patents_applied", 100, [2021, 2022, 2023])
    >>> result.total, result.ratio, result.missing_years
    (55, 0.55, (2022,))
    """
    spec = SPECS[code]
    by_year = _one_per_year(reports)
    years = tuple(sorted(set(years)))
    if not years:
        raise ValueError("the period needs at least one year")
    values = {year: by_year[year].actual.get(code) for year in years if year in by_year}
    present = [values[year] for year in years if values.get(year) is not None]
    missing = tuple(year for year in years if values.get(year) is None)
    total = values.get(years[-1]) if spec.stock else (sum(present) if present else None)
    return PeriodCompletion(code, years, total, target, completion(total, target, spec.higher_is_better),
                            missing)


def _one_per_year(reports: Iterable[IndicatorReport]) -> dict[int, IndicatorReport]:
    by_year: dict[int, IndicatorReport] = {}
    for report in reports:
        if report.year in by_year:
            raise ValueError(f"two reports for {report.year}")
        by_year[report.year] = report
    return by_year


def _figures(report: IndicatorReport | None, code: str) -> tuple[float | None, float | None]:
    """(actual, target) of one indicator in a report, both None without a report."""
    return (None, None) if report is None else (report.actual.get(code), report.target.get(code))


def _slope(points: Sequence[tuple[int, float]]) -> float | None:
    """Least-squares slope of value on year; None with fewer than two points."""
    if len(points) < 2:
        return None
    mean_year = sum(year for year, _ in points) / len(points)
    mean_value = sum(value for _, value in points) / len(points)
    sxy = sum((year - mean_year) * (value - mean_value) for year, value in points)
    sxx = sum((year - mean_year) ** 2 for year, _ in points)
    return sxy / sxx

