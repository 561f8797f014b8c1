"""Panel score: the Olympic mean (去掉一个最高分和一个最低分) and the half-up rounding of DESIGN §7.1 step 5.

Panels are stored as NaN-padded matrices, one row per application and one column per slot, so that every
function here works on all applications at once. A NaN is an empty slot (no sheet, or an excluded sheet).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

DEFAULT_MIN_PANEL = 3  # trim from three sheets: the median at n = 3 and 4 (docs/scoring.md)


@dataclass(frozen=True)
class Trimmed:
    """Which slot of each row the Olympic mean keeps.

    Attributes
    ----------
    kept : ndarray of bool, shape (A, N)
        True for the slots whose totals enter the mean.
    low, high : ndarray of int, shape (A,)
        The slot dropped as the lowest and as the highest total, or -1 where nothing was dropped.
    sums : ndarray of float, shape (A,)
        Sum of the kept totals.
    counts : ndarray of int, shape (A,)
        Number of kept totals.
    """

    kept: np.ndarray
    low: np.ndarray
    high: np.ndarray
    sums: np.ndarray
    counts: np.ndarray

    @property
    def means(self) -> np.ndarray:
        """The panel scores, shape (A,); NaN where no total was kept."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.counts > 0, self.sums / np.maximum(self.counts, 1), np.nan)


def olympic_trim(totals: np.ndarray, min_panel: int = DEFAULT_MIN_PANEL, trim: bool = True) -> Trimmed:
    """Choose the totals the Olympic mean keeps in every row.

    A row with at least ``min_panel`` totals loses one lowest and one highest total; of tied extremes only one
    instance goes, the first (lowest slot) for the lowest and the last for the highest, so that a panel of equal
    totals still drops two different sheets. Smaller rows, or every row when ``trim`` is false, keep all totals.

    Parameters
    ----------
    totals : ndarray of float, shape (A, N)
        Expert totals, NaN in empty slots.
    min_panel : int
        The smallest panel that is trimmed.
    trim : bool
        False keeps every total (plain mean).
    """
    totals = np.atleast_2d(np.asarray(totals, dtype=float))
    present = ~np.isnan(totals)
    counts = present.sum(axis=1)
    trimmed = (counts >= min_panel) & trim
    rows = np.arange(totals.shape[0])
    low = np.where(present, totals, np.inf).argmin(axis=1)
    reversed_high = np.where(present, totals, -np.inf)[:, ::-1].argmax(axis=1)
    high = totals.shape[1] - 1 - reversed_high
    kept = present.copy()
    kept[rows[trimmed], low[trimmed]] = False
    kept[rows[trimmed], high[trimmed]] = False
    sums = np.where(kept, totals, 0.0).sum(axis=1)
    return Trimmed(kept=kept, low=np.where(trimmed, low, -1), high=np.where(trimmed, high, -1),
                   sums=sums, counts=kept.sum(axis=1))


def olympic_mean(totals: np.ndarray, min_panel: int = DEFAULT_MIN_PANEL) -> float:
    """The Olympic mean of one panel's totals: drop one lowest and one highest when n ≥ ``min_panel``.

    Parameters
    ----------
    totals : ndarray of float, shape (n,)
        Expert totals of one application (no NaN).

    Returns
    -------
    float
        The mean of the kept totals (NaN for an empty panel).

    Examples
    --------
    >>> olympic_mean(np.array([82, 85, 79, 91, 60, 84, 88]))
    83.6
    """
    totals = np.asarray(totals, dtype=float).reshape(1, -1)
    return float(olympic_trim(totals, min_panel).means[0])


def round_half_up(value: float, places: int = 2) -> float:
    """Round half up in decimal, as a person does on paper: 89.995 → 90.00, 89.994 → 89.99.

    The float's shortest decimal form (``repr``) is rounded, not its binary value, so that 89.995 is read as
    the number the user wrote rather than as 89.99499999….
    """
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP))


def round_ratio_half_up(numerator: float, denominator: int, places: int = 2,
                        exact_places: int | None = None) -> float:
    """Round ``numerator / denominator`` half up, dividing in decimal so the float quotient's error cannot
    tip a half (418.5 / 5 = 83.7 exactly, 83.625 stays 83.63).

    ``exact_places`` says that the numerator is known to be a multiple of 10⁻ᵉˣᵃᶜᵗ (a sum of scores entered on
    steps with that many decimals); it is then snapped to that grid first, which removes the error float
    addition made (87 + 66.64 + 9.635 adds up to 163.27499999999998 in binary, and 163.275 / 3 is 54.43).
    """
    quantum = Decimal(1).scaleb(-places)
    if exact_places is None:
        exact = Decimal(repr(float(numerator)))
    else:
        exact = Decimal(int(round(float(numerator) * 10**exact_places))).scaleb(-exact_places)
    return float((exact / Decimal(int(denominator))).quantize(quantum, rounding=ROUND_HALF_UP))


def round_ratios_half_up(numerators: np.ndarray, denominators: np.ndarray, exact_places: int | None = None,
                         places: int = 2) -> np.ndarray:
    """:func:`round_ratio_half_up` elementwise; NaN where the numerator is NaN or the denominator is 0.

    With ``exact_places`` and non-negative numerators this is integer arithmetic on whole arrays: with the
    numerator as M units of 10⁻ᵉ, the result in units of 10⁻ᵖ is ⌊(2·M·10ᵖ + D·10ᵉ) / (2·D·10ᵉ)⌋, exactly
    what the decimal division gives. Otherwise each value is divided as a ``Decimal``.

    Parameters
    ----------
    numerators : ndarray of float, any shape S
    denominators : ndarray of int, broadcastable to S
    """
    numerators, denominators = np.broadcast_arrays(np.asarray(numerators, dtype=float), np.asarray(denominators))
    result = np.full(numerators.shape, np.nan)
    valid = ~np.isnan(numerators) & (denominators > 0)
    if exact_places is not None and (numerators[valid] >= 0).all():
        units = np.rint(numerators[valid] * 10**exact_places).astype(np.int64)
        divisor = denominators[valid].astype(np.int64) * 10**exact_places
        result[valid] = ((2 * units * 10**places + divisor) // (2 * divisor)) / 10**places
        return result
    result[valid] = [round_ratio_half_up(numerator, denominator, places, exact_places)
                     for numerator, denominator in zip(numerators[valid], denominators[valid], strict=True)]
    return result


def decimal_places(values: Iterable[float]) -> int:
    """The most decimals any of ``values`` has as written (0.5 → 1, 0.25 → 2, 10 → 0); multiples of steps
    with at most d decimals have at most d decimals, and so do their sums."""
    exponents = [Decimal(repr(float(value))).normalize().as_tuple().exponent for value in values]
    return max([0] + [-exponent for exponent in exponents if isinstance(exponent, int)])
