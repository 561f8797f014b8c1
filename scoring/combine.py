"""Combining rounds (DESIGN §7.1 step 10): a weighted sum of the rounds' panel scores, e.g. selection review
60 % + site inspection 40 %, with the intervals combined conservatively and each round's detail kept.

The combined score is the weighted sum of the rounds' displayed 2-decimal scores, rounded half up, so that a
reader can redo it from the page. The combined interval is the weighted sum of the rounds' interval ends,
[Σ wᵣ·lowᵣ, Σ wᵣ·highᵣ]. It is conservative in two senses: (1) if each round's interval covers its true score
with probability ≥ 1 − αᵣ, all of them do at once with probability ≥ 1 − Σ αᵣ (Bonferroni), and then the weighted
sum of the true scores lies inside the weighted sum of the ends, whatever the dependence between rounds; (2) it
is exactly the interval one gets when the rounds' errors are perfectly correlated, and never narrower than the
independent-errors interval with half-width √(Σ wᵣ² hᵣ²). Rounds are often scored by overlapping experts, so
independence cannot be assumed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from .flags import number
from .rank import rank_applications
from .types import Flag, Result

DEFAULT_WEIGHTS: dict[str, float] = {"selection_review": 0.6, "site_inspection": 0.4}


@dataclass(frozen=True)
class CombineProblem:
    """One reason to refuse a combination, as a code and its parameters for a caller to word (the web from its
    catalog), with :attr:`english` for logs and callers without a catalog.

    ``rounds_mismatch`` (``weights``, ``results``: the round names of each), ``bad_weights`` (a weight negative,
    not finite or no number), ``weights_sum`` (``sum``), ``round_refused`` (``round``, ``errors``: the engine's).
    """

    code: str
    params: Mapping[str, object]

    @property
    def english(self) -> str:
        """The reason as an English sentence."""
        params = self.params
        return {
            "rounds_mismatch": lambda: f"weights name the rounds {params['weights']}, but the results are for "
                                       f"{params['results']}",
            "bad_weights": lambda: "weights must be non-negative finite numbers",
            "weights_sum": lambda: f"weights must sum to 1, not {params['sum']:g}",
            "round_refused": lambda: f"round {params['round']} was refused: {'; '.join(params['errors'])}",
        }[self.code]()


class CombineError(ValueError):
    """A refused combination: every reason in :attr:`problems`, the message their English sentences."""

    def __init__(self, problems: list[CombineProblem]) -> None:
        super().__init__("cannot combine rounds: " + "; ".join(problem.english for problem in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class CombinedLine:
    """One application across rounds: the weighted score, its interval, and each round's own score."""

    application: str
    rank: int | None
    score: float | None
    interval: tuple[float, float] | None
    rounds: Mapping[str, float | None]
    flags: tuple[Flag, ...]
    computation: str
    computation_en: str


def combine_rounds(results: Mapping[str, Result],
                   weights: Mapping[str, float] | None = None) -> tuple[CombinedLine, ...]:
    """Combine the rankings of several rounds of the same applications.

    Parameters
    ----------
    results : mapping of round name to Result
        Each round's :func:`scoring.rank` result.
    weights : mapping of round name to weight, optional
        Non-negative, summing to 1, one per round; default :data:`DEFAULT_WEIGHTS`.

    Returns
    -------
    tuple of CombinedLine
        Best first; applications missing a score in some round come last, unranked, flagged MISSING_ROUND.

    Raises
    ------
    CombineError
        A ``ValueError`` whose message is English: weights that do not match the rounds, are negative or not
        finite, or do not sum to 1, or a refused round, each reason a :class:`CombineProblem` in ``problems``.
    """
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    _check(results, weights)
    names = sorted(weights, key=lambda name: (-weights[name], name))
    lines_by_round = {name: {line.application: line for line in results[name].ranking} for name in names}
    applications = sorted(set().union(*lines_by_round.values()))
    scores = np.full((len(applications), len(names)), np.nan)
    lows, highs = scores.copy(), scores.copy()
    for column, name in enumerate(names):
        for row, application in enumerate(applications):
            line = lines_by_round[name].get(application)
            if line is not None and line.score is not None:
                scores[row, column] = line.score
                if line.interval is not None:
                    lows[row, column], highs[row, column] = line.interval
    vector = np.array([weights[name] for name in names])
    combined = np.array([weighted_sum_half_up(row, vector) for row in scores])
    ranking = rank_applications(combined, scores)
    lines = [_line(application, row, names, vector, scores, lows, highs, combined, ranking, applications)
             for row, application in enumerate(applications)]
    return tuple(sorted(lines, key=lambda line: (line.rank is None, line.rank or 0, line.application)))


def weighted_sum_half_up(values: np.ndarray, weights: np.ndarray) -> float:
    """Σ weights·values in decimal, rounded half up to 2 decimals (NaN if any value is NaN), so that a half
    (0.5 × 80.05 + 0.5 × 70 = 75.025) is decided on the decimal value, not on its binary approximation."""
    if np.isnan(values).any():
        return np.nan
    total = sum(Decimal(repr(float(weight))) * Decimal(repr(float(value)))
                for weight, value in zip(weights, values, strict=True))
    return float(total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def weight_problems(weights: Mapping[str, object]) -> list[CombineProblem]:
    """Why the weights alone would refuse a combination, by :func:`combine_rounds`'s rule: ``bad_weights`` when a
    weight is negative, not finite or no number, else ``weights_sum`` when they do not sum to 1 (within 1e-9);
    empty when they are right. For a caller that checks the weights before it has the rounds' results.

    >>> weight_problems({"review": 0.6, "site": 0.4})
    []
    >>> [problem.english for problem in weight_problems({"review": 0.7, "site": 0.7})]
    ['weights must sum to 1, not 1.4']
    >>> [problem.code for problem in weight_problems({"review": -0.5, "site": 1.5})]
    ['bad_weights']
    """
    values = weights.values()
    if any(not isinstance(value, int | float) or not math.isfinite(value) or value < 0 for value in values):
        return [CombineProblem("bad_weights", {})]
    if abs(sum(values) - 1) > 1e-9:
        return [CombineProblem("weights_sum", {"sum": sum(values)})]
    return []


def _check(results: Mapping[str, Result], weights: Mapping[str, float]) -> None:
    problems = []
    if set(weights) != set(results):
        problems.append(CombineProblem("rounds_mismatch", {"weights": sorted(weights), "results": sorted(results)}))
    problems += weight_problems(weights)
    problems += [CombineProblem("round_refused", {"round": name, "errors": tuple(result.errors)})
                 for name, result in results.items() if result.errors]
    if problems:
        raise CombineError(problems)


def _line(application, row, names, vector, scores, lows, highs, combined, ranking, applications) -> CombinedLine:
    rounds = {name: (None if np.isnan(scores[row, column]) else float(scores[row, column]))
              for column, name in enumerate(names)}
    missing = [name for name, value in rounds.items() if value is None]
    if missing:
        flag = Flag("MISSING_ROUND", f"缺少 {'、'.join(missing)} 轮次的得分，不计算综合得分",
                    f"No score in round(s) {', '.join(missing)}: no combined score")
        return CombinedLine(application, None, None, None, rounds, (flag,), flag.message, flag.message_en)
    terms = " + ".join(f"{number(weight)} × {scores[row, column]:.2f}" for column, weight in enumerate(vector))
    score = float(combined[row])
    interval = None
    if not np.isnan(lows[row]).any():
        interval = (round(float(lows[row] @ vector), 4), round(float(highs[row] @ vector), 4))
    flags = ()
    if ranking.tied[row]:
        others = [applications[other] for other in np.flatnonzero(ranking.ranks == ranking.ranks[row]) if other != row]
        flags = (Flag("TIE", f"与 {'、'.join(others)} 的综合得分及各轮得分均相同，并列第 {ranking.ranks[row]} 名",
                      f"Equal to {', '.join(others)} in every round: shared rank {ranking.ranks[row]}",
                      value=int(ranking.ranks[row])),)
    return CombinedLine(application, int(ranking.ranks[row]), score, interval, rounds, flags,
                        f"综合得分 = {terms} = {score:.2f}（四舍五入到两位小数）",
                        f"combined score = {terms} = {score:.2f} (rounded half up to 2 decimals)")
