"""Outlier flags on expert totals (DESIGN §7.1 step 3): recorded, never deleting a score.

A flagged expert is asked to confirm or revise with a written reason, as 财政部令第87号 Art. 64 does for
畸高畸低 (abnormally high or low) scores. Two flags decide: ROBUST (the modified z-score of Iglewicz and
Hoaglin, 1993) and DEVIATION (distance from the mean of the other experts, the 20–30 % rule of practice).
Grubbs' and Dixon's tests are report-only diagnostics.

The ``*_matrix`` functions take NaN-padded matrices of shape (A, N) (one row per application); the
one-dimensional functions take one panel's totals, shape (n,).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import stats

MAD_SCALE = 0.6745          # Φ⁻¹(0.75): makes MAD estimate σ for normal data (Iglewicz & Hoaglin 1993)
MEAN_AD_SCALE = 1.253314    # √(π/2): makes the mean absolute deviation estimate σ (IBM SPSS's fallback)
DEFAULT_ROBUST_Z = 3.5
DEFAULT_DEVIATION = 0.20
DEFAULT_SCALE_FLOOR = 0.05  # the smallest spread ROBUST assumes, as a share of the criterion's or total's range
NORMAL_MAD = 1.4826         # 1/Φ⁻¹(0.75): makes MAD estimate σ for normal data


def modified_z_matrix(totals: np.ndarray) -> np.ndarray:
    """Modified z-scores of every total, row by row.

    M = 0.6745·(T − median)/MAD; where MAD = 0, M = (T − median)/(1.253314·MeanAD) with
    MeanAD = mean |T − median|; where that is 0 too (all totals equal), M = 0.

    Parameters
    ----------
    totals : ndarray of float, shape (A, N)
        NaN in empty slots.

    Returns
    -------
    ndarray of float, shape (A, N)
        NaN in empty slots.
    """
    totals = np.atleast_2d(np.asarray(totals, dtype=float))
    present = ~np.isnan(totals)
    safe = np.where(present, totals, 0.0)
    has_any = present.any(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        median = np.where(has_any, row_medians(totals), 0.0)[:, None]
        centred = safe - median
        absolute = np.where(present, np.abs(centred), np.nan)
        mad = np.where(has_any, row_medians(absolute), 0.0)[:, None]
        mean_ad = (np.where(present, np.abs(centred), 0.0).sum(axis=1)
                   / np.maximum(present.sum(axis=1), 1))[:, None]
        z = np.where(mad > 0, MAD_SCALE * centred / np.where(mad > 0, mad, 1.0),
                     np.where(mean_ad > 0, centred / (MEAN_AD_SCALE * np.where(mean_ad > 0, mean_ad, 1.0)), 0.0))
    return np.where(present, z, np.nan)


def others_median_matrix(totals: np.ndarray) -> np.ndarray:
    """The median of the *other* totals of each slot's row (leave-one-out), without a loop over slots.

    Each row is sorted once; leaving out the total at sorted position r, the others' k-th order statistic is
    the row's k-th when k < r and its (k+1)-th otherwise.

    Parameters
    ----------
    totals : ndarray of float, shape (A, N)
        NaN in empty slots.

    Returns
    -------
    ndarray of float, shape (A, N)
        NaN in empty slots and in rows with a single total.

    Examples
    --------
    >>> others_median_matrix(np.array([[60, 60, 60, 10.0]])).tolist()
    [[60.0, 60.0, 60.0, 60.0]]
    >>> others_median_matrix(np.array([[50, 70, 10.0, np.nan]])).tolist()
    [[40.0, 30.0, 60.0, nan]]
    """
    totals = np.atleast_2d(np.asarray(totals, dtype=float))
    present = ~np.isnan(totals)
    order = np.argsort(totals, axis=1, kind="stable")            # NaN last
    ordered = np.take_along_axis(totals, order, axis=1)
    position = np.empty_like(order)
    np.put_along_axis(position, order, np.arange(totals.shape[1])[None, :].repeat(totals.shape[0], 0), axis=1)
    others = present.sum(axis=1, keepdims=True) - 1              # m, the number of others
    low, high = np.maximum((others - 1) // 2, 0), np.maximum(others // 2, 0)
    low = np.where(low < position, low, low + 1)
    high = np.where(high < position, high, high + 1)
    width = totals.shape[1]
    low, high = np.minimum(low, width - 1), np.minimum(high, width - 1)
    middle = 0.5 * (np.take_along_axis(ordered, low, axis=1) + np.take_along_axis(ordered, high, axis=1))
    return np.where(present & (others >= 1), middle, np.nan)


def absolute_deviation_matrix(totals: np.ndarray, scale_range: float | np.ndarray) -> np.ndarray:
    """DEVIATION: (T − median of the others) / range, the distance from the rest of the panel in shares of the
    range the total can take (the template's total, or a criterion's maximum), shape (A, N).

    The reference leaves the sheet out, so one extreme sheet does not drag it, and a median, so an extreme
    among the others does not either; the unit is the scale, not the distance from its zero, so 10 points
    mean the same on a low-scored and a high-scored application. ``scale_range`` broadcasts against (A, N).
    """
    return (np.atleast_2d(np.asarray(totals, dtype=float)) - others_median_matrix(totals)) / scale_range


def robust_z_matrix(totals: np.ndarray, scale_range: float | np.ndarray,
                    floor: float = DEFAULT_SCALE_FLOOR) -> np.ndarray:
    """ROBUST: (T − panel median) / max(1.4826·MAD, floor·range), row by row, shape (A, N).

    The modified z of Iglewicz and Hoaglin with two changes for panels of three to seven. Its MeanAD fallback
    caps |M| below 3.5 at n ≤ 4; here the spread is floored at ``floor`` of the range instead, so a panel
    that agrees exactly (MAD = 0) measures distance in points: [60, 60, 60, 10] on a 100-point sheet gives the
    10 a z of −50 / 5 = −10. The centre stays the panel median, which one extreme sheet cannot move from
    n = 3 on (the median of the *others* of an honest sheet is, at n = 3, the midpoint of that extreme and the
    third sheet). ``scale_range`` broadcasts against (A, N).

    Examples
    --------
    >>> robust_z_matrix(np.array([[60, 60, 60, 10.0]]), 100).tolist()
    [[0.0, 0.0, 0.0, -10.0]]
    """
    totals = np.atleast_2d(np.asarray(totals, dtype=float))
    present = ~np.isnan(totals)
    has_any = present.any(axis=1)
    median = np.where(has_any, row_medians(totals), 0.0)[:, None]
    spread = NORMAL_MAD * np.where(has_any, row_medians(np.abs(totals - median)), 0.0)[:, None]
    scale = np.maximum(spread, floor * np.asarray(scale_range, dtype=float))
    return np.where(present, (totals - median) / scale, np.nan)


def row_medians(values: np.ndarray) -> np.ndarray:
    """Row medians ignoring NaN, shape (A, N) → (A,), without numpy's all-NaN warning (garbage in all-NaN rows)."""
    filled = np.sort(values, axis=1)                 # NaN sorts last
    counts = (~np.isnan(values)).sum(axis=1)
    rows = np.arange(values.shape[0])
    low = np.maximum((counts - 1) // 2, 0)
    high = np.maximum(counts // 2, 0)
    return 0.5 * (filled[rows, low] + filled[rows, high])


def deviation_matrix(totals: np.ndarray) -> np.ndarray:
    """Leave-one-out relative deviation (T − mean of the others) / mean of the others, row by row.

    Parameters
    ----------
    totals : ndarray of float, shape (A, N)
        NaN in empty slots.

    Returns
    -------
    ndarray of float, shape (A, N)
        NaN in empty slots, in rows with a single total, and where the others' mean is 0.
    """
    totals = np.atleast_2d(np.asarray(totals, dtype=float))
    present = ~np.isnan(totals)
    counts = present.sum(axis=1, keepdims=True)
    sums = np.where(present, totals, 0.0).sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        others = (sums - totals) / (counts - 1)
        result = (totals - others) / others
    return np.where(present & (counts > 1) & (others != 0), result, np.nan)


def others_mean_matrix(totals: np.ndarray) -> np.ndarray:
    """The mean of the other experts' totals for every slot, shape (A, N); NaN where undefined."""
    totals = np.atleast_2d(np.asarray(totals, dtype=float))
    present = ~np.isnan(totals)
    counts = present.sum(axis=1, keepdims=True)
    sums = np.where(present, totals, 0.0).sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(present & (counts > 1), (sums - totals) / (counts - 1), np.nan)


def modified_z(totals: np.ndarray) -> np.ndarray:
    """Modified z-scores of one panel's totals, shape (n,) → (n,) (see :func:`modified_z_matrix`).

    Examples
    --------
    >>> round(float(modified_z(np.array([82, 85, 79, 91, 60, 84, 88]))[4]), 3)
    -4.047
    """
    return modified_z_matrix(np.asarray(totals, dtype=float).reshape(1, -1))[0]


def robust_flags(totals: np.ndarray, threshold: float = DEFAULT_ROBUST_Z) -> np.ndarray:
    """ROBUST flags of one panel: |M| > ``threshold``, shape (n,) of bool."""
    return np.abs(np.nan_to_num(modified_z(totals))) > threshold


def deviation(totals: np.ndarray) -> np.ndarray:
    """Leave-one-out relative deviation of one panel's totals, shape (n,) → (n,).

    Examples
    --------
    >>> round(float(deviation(np.array([82, 85, 79, 91, 60, 84, 88]))[4]), 4)
    -0.2927
    """
    return deviation_matrix(np.asarray(totals, dtype=float).reshape(1, -1))[0]


def deviation_flags(totals: np.ndarray, threshold: float = DEFAULT_DEVIATION) -> np.ndarray:
    """DEVIATION flags of one panel: |deviation| > ``threshold``, shape (n,) of bool."""
    return np.abs(np.nan_to_num(deviation(totals))) > threshold


# --- report-only diagnostics -------------------------------------------------------------------------------

@dataclass(frozen=True)
class TestStep:
    """One step of an outlier test: the statistic, its critical value, and the suspect's position in the input."""

    test: str
    index: int
    value: float
    statistic: float
    critical: float
    n: int

    @property
    def significant(self) -> bool:
        return self.statistic > self.critical


@functools.lru_cache(maxsize=256)
def grubbs_critical(n: int, alpha: float = 0.05) -> float:
    """Two-sided Grubbs critical value G_crit = (n−1)/√n · √(t² / (n − 2 + t²)), t = t(α/(2n), n−2).

    Examples
    --------
    >>> round(grubbs_critical(7), 3), round(grubbs_critical(6), 3)
    (2.02, 1.887)
    """
    t = stats.t.ppf(1 - alpha / (2 * n), n - 2)
    return float((n - 1) / np.sqrt(n) * np.sqrt(t * t / (n - 2 + t * t)))


def grubbs(totals: np.ndarray, alpha: float = 0.05) -> list[TestStep]:
    """Iterated two-sided Grubbs test: test the total farthest from the mean, remove it if significant, repeat.

    Parameters
    ----------
    totals : ndarray of float, shape (n,)

    Returns
    -------
    list of TestStep
        Every step taken, the last one not significant (or stopped at n < 3 or zero spread).
    """
    values = np.asarray(totals, dtype=float)
    remaining = list(range(values.size))
    steps: list[TestStep] = []
    while len(remaining) >= 3:
        sample = values[remaining]
        spread = sample.std(ddof=1)
        if spread == 0:
            break
        distance = np.abs(sample - sample.mean())
        suspect = int(distance.argmax())
        step = TestStep("grubbs", remaining[suspect], float(sample[suspect]), float(distance[suspect] / spread),
                        grubbs_critical(len(remaining), alpha), len(remaining))
        steps.append(step)
        if not step.significant:
            break
        remaining.pop(suspect)
    return steps


# Dixon's r10 (Q) critical values, two-sided α = 0.05, n = 3…10 (Rorabacher, Anal. Chem. 63 (1991) 139–146).
DIXON_R10_CRITICAL_05 = {3: 0.970, 4: 0.829, 5: 0.710, 6: 0.625, 7: 0.568, 8: 0.526, 9: 0.493, 10: 0.466}


def dixon(totals: np.ndarray) -> list[TestStep]:
    """Dixon's r10 test at α = 0.05 on both ends of one panel (3 ≤ n ≤ 10; an empty list otherwise).

    r10 (low end) = (x₂ − x₁)/(xₙ − x₁); (high end) = (xₙ − xₙ₋₁)/(xₙ − x₁).

    Returns
    -------
    list of TestStep
        One step per end, low end first.
    """
    values = np.asarray(totals, dtype=float)
    n = values.size
    if n not in DIXON_R10_CRITICAL_05:
        return []
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    spread = ordered[-1] - ordered[0]
    if spread == 0:
        return []
    critical = DIXON_R10_CRITICAL_05[n]
    low = TestStep("dixon", int(order[0]), float(ordered[0]), float((ordered[1] - ordered[0]) / spread), critical, n)
    high = TestStep("dixon", int(order[-1]), float(ordered[-1]), float((ordered[-1] - ordered[-2]) / spread),
                    critical, n)
    return [low, high]


def diagnostic_steps(totals: np.ndarray, alpha: float = 0.05, with_dixon: bool = True) -> list[list[TestStep]]:
    """:func:`grubbs` then (when ``with_dixon``) :func:`dixon` on every row at once, rows of equal panel size
    together, with the same arithmetic as the one-panel functions (so the same statistics to the last bit).

    Parameters
    ----------
    totals : ndarray of float, shape (A, N)
        Each row's totals in its first n slots, NaN after them (as in :class:`scoring.panels.Panels`).

    Returns
    -------
    list of A lists of TestStep
        ``index`` is the slot of the suspect.
    """
    totals = np.atleast_2d(np.asarray(totals, dtype=float))
    counts = (~np.isnan(totals)).sum(axis=1)
    steps: list[list[TestStep]] = [[] for _ in range(totals.shape[0])]
    for n in np.unique(counts).tolist():
        rows = np.flatnonzero(counts == n)
        values = totals[rows, :n]
        _grubbs_rows(values, rows, alpha, steps)
        if with_dixon and n in DIXON_R10_CRITICAL_05:
            _dixon_rows(values, rows, steps)
    return steps


def _grubbs_rows(values: np.ndarray, rows: np.ndarray, alpha: float, steps: list[list[TestStep]]) -> None:
    """:func:`grubbs` on rows of equal size: each pass tests every row still going and drops its suspect."""
    slots = np.broadcast_to(np.arange(values.shape[1]), values.shape)
    while values.shape[1] >= 3 and rows.size:
        m = values.shape[1]
        spread = values.std(axis=1, ddof=1)
        going = spread != 0
        values, slots, rows, spread = values[going], slots[going], rows[going], spread[going]
        distance = np.abs(values - values.mean(axis=1, keepdims=True))
        suspect = distance.argmax(axis=1)
        picked = np.arange(rows.size)
        statistic = distance[picked, suspect] / spread
        critical = grubbs_critical(m, alpha)
        for row, slot, value, stat in zip(rows.tolist(), slots[picked, suspect].tolist(),
                                          values[picked, suspect].tolist(), statistic.tolist(), strict=True):
            steps[row].append(TestStep("grubbs", slot, value, stat, critical, m))
        significant = statistic > critical
        keep = np.ones(values.shape, dtype=bool)
        keep[picked, suspect] = False
        keep &= significant[:, None]
        values = values[keep].reshape(-1, m - 1)
        slots = slots[keep].reshape(-1, m - 1)
        rows = rows[significant]


def _dixon_rows(values: np.ndarray, rows: np.ndarray, steps: list[list[TestStep]]) -> None:
    """:func:`dixon` on rows of equal size (3 ≤ n ≤ 10)."""
    n = values.shape[1]
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    spread = ordered[:, -1] - ordered[:, 0]
    going = spread != 0
    order, ordered, spread, rows = order[going], ordered[going], spread[going], rows[going]
    low = (ordered[:, 1] - ordered[:, 0]) / spread
    high = (ordered[:, -1] - ordered[:, -2]) / spread
    critical = DIXON_R10_CRITICAL_05[n]
    for row, low_slot, low_value, low_stat, high_slot, high_value, high_stat in zip(
            rows.tolist(), order[:, 0].tolist(), ordered[:, 0].tolist(), low.tolist(), order[:, -1].tolist(),
            ordered[:, -1].tolist(), high.tolist(), strict=True):
        steps[row] += [TestStep("dixon", low_slot, low_value, low_stat, critical, n),
                       TestStep("dixon", high_slot, high_value, high_stat, critical, n)]
