"""Recommendations and grades (DESIGN §7.1 steps 8 and 9).

Recommendation, in this order: REJECT if a veto criterion (一票否决) fails, the criterion gate fails or the
interval's high end is below the threshold θ; RECOMMEND if the interval's low end reaches θ (and, when a capacity
k is set, P(top-k) reaches the required probability); RESERVE if k is set and the whole rank interval lies below
place k; otherwise CONDITIONAL (discuss, or inspect on site).

A veto criterion fails when its criterion mean is below ``veto_fraction`` of its maximum; the gate, when on,
applies the same test with ``gate`` to every criterion. Both use the criterion means of the retained experts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .aggregate import round_half_up
from .types import ApplicationResult, Settings, Template

# DESIGN §7.1 step 9, on the 2-decimal score: (lowest score, grade, English)
GRADES = ((90.0, "优秀", "excellent"), (80.0, "良好", "good"), (60.0, "合格", "pass"), (-np.inf, "不合格", "fail"))


@dataclass(frozen=True)
class GradeThresholds:
    """The lowest 2-decimal score of each grade; the defaults are those of :data:`GRADES`.

    The notice leaves the rules to a later measure ("相关评估考核办法另行制定"), so a round may set its own.
    Refused (``ValueError``) unless 100 ≥ excellent > good > passing ≥ 0.
    """

    excellent: float = 90.0
    good: float = 80.0
    passing: float = 60.0

    def __post_init__(self) -> None:
        if not 100.0 >= self.excellent > self.good > self.passing >= 0.0:
            raise ValueError("grade thresholds must satisfy 100 >= excellent > good > passing >= 0")

    def table(self) -> tuple[tuple[float, str, str], ...]:
        """(lowest score, grade, English) from the best grade down, as :data:`GRADES`."""
        return ((self.excellent, "优秀", "excellent"), (self.good, "良好", "good"),
                (self.passing, "合格", "pass"), (-np.inf, "不合格", "fail"))


@dataclass(frozen=True)
class Decisions:
    """Recommendation of every application and the criteria that failed.

    Attributes
    ----------
    recommendation : ndarray of object, shape (A,)
        One of RECOMMEND, CONDITIONAL, RESERVE, REJECT; None without a score.
    veto_failed, gate_failed : ndarray of bool, shape (A, C)
        Criteria that failed the veto or the gate test.
    """

    recommendation: np.ndarray
    veto_failed: np.ndarray
    gate_failed: np.ndarray


def recommend(scores: np.ndarray, intervals: np.ndarray, criterion_means: np.ndarray, template: Template,
              settings: Settings, best_rank: np.ndarray | None = None,
              p_top_k: np.ndarray | None = None) -> Decisions:
    """Decide every application.

    Parameters
    ----------
    scores : ndarray of float, shape (A,)
        Panel scores, NaN without a score.
    intervals : ndarray of float, shape (A, 2)
        Confidence intervals; NaN when unavailable (then the score stands for both ends).
    criterion_means : ndarray of float, shape (A, C)
    template, settings
        Criteria (maxima, veto) and θ, gate, veto fraction, capacity, P(top-k) requirement.
    best_rank : ndarray of int, shape (A,), optional
        The best rank of the rank interval (its low number); RESERVE when it is worse than k.
    p_top_k : ndarray of float, shape (A,), optional
    """
    maxima = np.array([criterion.max for criterion in template.criteria], dtype=float)
    veto = np.array([criterion.veto for criterion in template.criteria], dtype=bool)
    means = np.round(criterion_means, 2)
    veto_failed = veto[None, :] & (means < settings.veto_fraction * maxima[None, :] - 1e-9)
    gate_failed = (np.zeros_like(veto_failed) if settings.gate is None
                   else means < settings.gate * maxima[None, :] - 1e-9)
    low = np.where(np.isnan(intervals[:, 0]), scores, intervals[:, 0])
    high = np.where(np.isnan(intervals[:, 1]), scores, intervals[:, 1])
    theta = settings.threshold
    k = settings.capacity
    reject = veto_failed.any(axis=1) | gate_failed.any(axis=1) | (high < theta)
    confident = low >= theta
    if k is not None:
        likely_top_k = np.zeros_like(confident) if p_top_k is None else np.nan_to_num(p_top_k) >= settings.top_k_probability
        confident &= likely_top_k
    reserve = np.zeros_like(reject) if k is None or best_rank is None else best_rank > k
    recommendation = np.select([reject, confident, reserve], ["REJECT", "RECOMMEND", "RESERVE"], "CONDITIONAL")
    recommendation = np.where(np.isnan(scores), None, recommendation.astype(object))
    return Decisions(recommendation, veto_failed, gate_failed)


DECIDING_RULES = ("VETO", "GATE", "HIGH_BELOW", "LOW_REACHES", "LOW_REACHES_TOP_K", "NOT_LIKELY_TOP_K",
                  "RANK_BELOW_K", "STRADDLES")
"""Which branch of :func:`recommend` decided a line, in the order the branches are tried."""


def deciding_rule(line: ApplicationResult, settings: Settings) -> str | None:
    """The branch of :func:`recommend` that gave ``line`` its recommendation (one of :data:`DECIDING_RULES`),
    so a reader sees why 82.67 is recommended while 83.50 is not: the interval, not the score, decides.

    Parameters
    ----------
    line : ApplicationResult
        A line of the engine's result (its recommendation, interval, flags, P(top-k)).
    settings : Settings
        The settings it was ranked with (θ, capacity k).

    Returns
    -------
    str or None
        None for a line without a recommendation (too few sheets, or recommendations off).

    Examples
    --------
    A score of 83.50 whose interval [78.10, 88.90] reaches below θ = 80 is CONDITIONAL (``STRADDLES``); 82.67
    with the interval [80.40, 84.90] is RECOMMEND (``LOW_REACHES``).
    """
    recommendation = line.recommendation
    if recommendation is None:
        return None
    if recommendation == "REJECT":
        codes = {flag.code for flag in line.flags}
        return "VETO" if "VETO" in codes else "GATE" if "GATE" in codes else "HIGH_BELOW"
    if recommendation == "RECOMMEND":
        return "LOW_REACHES" if settings.capacity is None else "LOW_REACHES_TOP_K"
    if recommendation == "RESERVE":
        return "RANK_BELOW_K"
    low = line.interval[0] if line.interval else line.score
    if settings.capacity is not None and low is not None and low >= settings.threshold:
        return "NOT_LIKELY_TOP_K"
    return "STRADDLES"


def grade(score: float, thresholds: GradeThresholds | None = None) -> tuple[str, str]:
    """The grade of a score on its 2-decimal value: (Chinese, English); the English name is the grade's code.

    Parameters
    ----------
    score : float
    thresholds : GradeThresholds, optional
        The lowest score of each grade; :data:`GRADES` (90 / 80 / 60) when omitted.

    Examples
    --------
    >>> grade(89.995), grade(89.994), grade(59.999)
    (('优秀', 'excellent'), ('良好', 'good'), ('合格', 'pass'))
    >>> grade(80, GradeThresholds(excellent=85, good=75, passing=60))
    ('良好', 'good')
    """
    value = round_half_up(score)
    table = GRADES if thresholds is None else thresholds.table()
    return next((name, name_en) for lowest, name, name_en in table if value >= lowest)
