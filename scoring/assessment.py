"""The annual grade and the triennial assessment of a listed center.

The commission evaluates every center each year and assesses it every three years, the assessment being
"依据为三年内的各年度评估报告", its result a reference for recommending the center to the national level
(实施方案 四(四)). Here: the grade of an annual score, and the combination of the experts' triennial score with
the three annual scores into a result and an outcome. Defaults and their reasons: docs/scoring.md,
"After selection".
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .aggregate import round_half_up
from .recommend import GradeThresholds, grade

OUTCOMES = ("recommend_national", "pass", "rectify", "exit")   # best first
WEIGHT_SUM_TOLERANCE = 1e-9
"""How far from 1 the triennial weights may sum (float rounding), never a silent rescaling."""


@dataclass(frozen=True)
class AnnualGrade:
    """The grade of one annual score: ``code`` is excellent, good, pass or fail, on the 2-decimal ``rounded``."""

    score: float
    rounded: float
    code: str
    thresholds: GradeThresholds


@dataclass(frozen=True)
class TriennialWeights:
    """Weights of the experts' triennial score and of the mean annual score.

    The annual evaluations weigh more by default because the notice makes them the basis of the assessment.
    Refused (``ValueError``) unless each is in [0, 1] and they sum to 1 (within 1e-9): never rescaled silently.
    """

    triennial: float = 0.4
    annual: float = 0.6

    def __post_init__(self) -> None:
        if not (0.0 <= self.triennial <= 1.0 and 0.0 <= self.annual <= 1.0):
            raise ValueError("each weight must lie in [0, 1]")
        if abs(self.triennial + self.annual - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise ValueError("the weights must sum to 1")


@dataclass(frozen=True)
class OutcomeRules:
    """Lowest results of the outcomes, and the number of failed years that bars a pass.

    Refused (``ValueError``) unless 100 ≥ national > passing > rectify ≥ 0 and fails_for_rectify ≥ 1.
    """

    national: float = 90.0
    passing: float = 60.0
    rectify: float = 50.0
    fails_for_rectify: int = 2

    def __post_init__(self) -> None:
        if not 100.0 >= self.national > self.passing > self.rectify >= 0.0:
            raise ValueError("outcome thresholds must satisfy 100 >= national > passing > rectify >= 0")
        if self.fails_for_rectify < 1:
            raise ValueError("fails_for_rectify must be at least 1")

    def outcome(self, result: float) -> str:
        """The outcome of a 2-decimal result before any rule."""
        if result >= self.national:
            return "recommend_national"
        if result >= self.passing:
            return "pass"
        return "rectify" if result >= self.rectify else "exit"


@dataclass(frozen=True)
class AnnualScore:
    """One year of the window: the annual evaluation's score, None when the year was not evaluated."""

    year: int
    score: float | None


@dataclass(frozen=True)
class Flag:
    """Why an assessment reads as it does: a code and its figures (the web writes the sentence)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Assessment:
    """A triennial assessment with every component, so a page can show how it was computed.

    Attributes
    ----------
    triennial_score : float
        The experts' triennial panel score T.
    annual : tuple of AnnualScore
        The window's years in order, missing ones with ``score=None``.
    annual_grades : tuple of AnnualGrade
        The grade of each year present.
    annual_mean : float or None
        Mean of the annual scores present; None when none is.
    weights : TriennialWeights
        As asked.
    applied_triennial, applied_annual : float
        As applied: the asked weights, or (1, 0) without any annual score.
    combined : float
        ``applied_triennial × T + applied_annual × annual_mean``, not rounded.
    result : float
        ``combined`` rounded half up to 2 decimals; the outcome is read on it.
    base_outcome, outcome : str
        The outcome from the result alone, and after the rules (never better than ``base_outcome``).
    flags : tuple of Flag
        ``missing_year``, ``annual_fail``, ``repeated_fail``, ``no_annual_evaluation``.
    """

    triennial_score: float
    annual: tuple[AnnualScore, ...]
    annual_grades: tuple[AnnualGrade, ...]
    annual_mean: float | None
    weights: TriennialWeights
    applied_triennial: float
    applied_annual: float
    combined: float
    result: float
    base_outcome: str
    outcome: str
    flags: tuple[Flag, ...]


def annual_grade(score: float, thresholds: GradeThresholds | None = None) -> AnnualGrade:
    """The grade of an annual evaluation score, with the ranking's :func:`scoring.recommend.grade`.

    Examples
    --------
    >>> annual_grade(89.995).code, annual_grade(79.99).code
    ('excellent', 'pass')
    >>> annual_grade(80, GradeThresholds(85, 75, 60)).code
    'good'
    """
    thresholds = thresholds or GradeThresholds()
    _require_score(score)
    return AnnualGrade(score, round_half_up(score), grade(score, thresholds)[1], thresholds)


def assess(triennial_score: float, annual: Sequence[AnnualScore], *, weights: TriennialWeights | None = None,
           rules: OutcomeRules | None = None, thresholds: GradeThresholds | None = None) -> Assessment:
    """Combine the triennial score with the annual scores and decide the outcome.

    Parameters
    ----------
    triennial_score : float
        The experts' triennial score, 0–100.
    annual : sequence of AnnualScore
        The years of the window (three by the notice), distinct; a missing evaluation has ``score=None``.
    weights, rules, thresholds : optional
        Defaults: ``TriennialWeights()`` (0.4, 0.6), ``OutcomeRules()`` (90 / 60 / 50, two fails),
        ``GradeThresholds()`` (90 / 80 / 60) for the annual grades.

    Returns
    -------
    Assessment

    Examples
    --------
    >>> years = [AnnualScore(2021, 55), AnnualScore(2022, 58), AnnualScore(2023, 75)]
    >>> result = assess(70, years)
    >>> result.result, result.base_outcome, result.outcome, [flag.code for flag in result.flags]
    (65.6, 'pass', 'rectify', ['annual_fail', 'annual_fail', 'repeated_fail'])
    """
    weights, rules = weights or TriennialWeights(), rules or OutcomeRules()
    _require_score(triennial_score)
    annual = tuple(sorted(annual, key=lambda item: item.year))
    if not annual or len({item.year for item in annual}) != len(annual):
        raise ValueError("the window needs at least one year, each year once")
    present = [item for item in annual if item.score is not None]
    grades = tuple(annual_grade(item.score, thresholds) for item in present)
    mean = sum(item.score for item in present) / len(present) if present else None
    w_t, w_a = (weights.triennial, weights.annual) if present else (1.0, 0.0)
    combined = w_t * triennial_score + w_a * (mean if mean is not None else 0.0)
    result = round_half_up(combined)
    base = rules.outcome(result)
    flags = _flags(annual, present, grades, rules)
    return Assessment(triennial_score, annual, grades, mean, weights, w_t, w_a, combined, result, base,
                      _capped(base, flags), flags)


def _flags(annual: Sequence[AnnualScore], present: Sequence[AnnualScore], grades: Sequence[AnnualGrade],
           rules: OutcomeRules) -> tuple[Flag, ...]:
    flags = [Flag("missing_year", {"year": item.year}) for item in annual if item.score is None]
    fails = [Flag("annual_fail", {"year": item.year, "score": item.score})
             for item, graded in zip(present, grades, strict=True) if graded.code == "fail"]
    flags += fails
    if len(fails) >= rules.fails_for_rectify:
        flags.append(Flag("repeated_fail", {"count": len(fails)}))
    if not present:
        flags.append(Flag("no_annual_evaluation"))
    return tuple(flags)


# The best outcome each flag allows (docs/scoring.md, rules 1–3).
_CAPS = {"missing_year": "pass", "annual_fail": "pass", "repeated_fail": "rectify",
         "no_annual_evaluation": "rectify"}


def _capped(base: str, flags: Sequence[Flag]) -> str:
    """The base outcome lowered to the strictest cap among the flags."""
    worst = max([OUTCOMES.index(base)] + [OUTCOMES.index(_CAPS[flag.code]) for flag in flags])
    return OUTCOMES[worst]


def _require_score(score: float) -> None:
    if isinstance(score, bool) or not (isinstance(score, numbers.Real) and math.isfinite(score) and 0 <= score <= 100):
        raise ValueError("a score must be a number in [0, 100]")
