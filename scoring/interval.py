"""Confidence interval of the panel score (DESIGN §7.1 step 6): the Tukey–McLaughlin trimmed-mean t interval.

For a mean trimmed by k on each side of n totals, the standard error is s_w·√n / (n − 2k), with s_w the standard
deviation of the winsorized sample (the k extremes on each side replaced by their nearest kept neighbour), and the
t quantile has n − 2k − 1 degrees of freedom (Tukey & McLaughlin 1963; Wilcox, *Introduction to Robust Estimation
and Hypothesis Testing*, §4.4). With k = 0 this is the ordinary t interval of the mean.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .aggregate import DEFAULT_MIN_PANEL, Trimmed, olympic_trim


def trimmed_mean_interval_matrix(totals: np.ndarray, trimmed: Trimmed, level: float = 0.95) -> np.ndarray:
    """Intervals of every row's Olympic (or plain) mean.

    Parameters
    ----------
    totals : ndarray of float, shape (A, N)
        NaN in empty slots.
    trimmed : Trimmed
        What :func:`scoring.aggregate.olympic_trim` kept of ``totals``.
    level : float
        Coverage, e.g. 0.95.

    Returns
    -------
    ndarray of float, shape (A, 2)
        [low, high]; NaN where the degrees of freedom are below 1.
    """
    totals = np.atleast_2d(np.asarray(totals, dtype=float))
    present = ~np.isnan(totals)
    n = present.sum(axis=1)
    k = (trimmed.low >= 0).astype(int)
    rows = np.arange(totals.shape[0])
    kept_low = np.where(trimmed.kept, totals, np.inf).min(axis=1)
    kept_high = np.where(trimmed.kept, totals, -np.inf).max(axis=1)
    winsorized = totals.copy()
    has_k = k > 0
    winsorized[rows[has_k], trimmed.low[has_k]] = kept_low[has_k]
    winsorized[rows[has_k], trimmed.high[has_k]] = kept_high[has_k]
    df = n - 2 * k - 1
    valid = df >= 1
    safe_n = np.where(valid, n, 2)
    mean_w = np.where(present, winsorized, 0.0).sum(axis=1) / safe_n
    squares = np.where(present, (winsorized - mean_w[:, None]) ** 2, 0.0).sum(axis=1)
    s_w = np.sqrt(squares / (safe_n - 1))
    se = s_w * np.sqrt(safe_n) / np.where(valid, n - 2 * k, 1)
    t = stats.t.ppf(0.5 + level / 2, np.where(valid, df, 1))
    half = np.where(valid, t * se, np.nan)
    centre = trimmed.means
    return np.stack([centre - half, centre + half], axis=1)


def trimmed_mean_interval(totals: np.ndarray, level: float = 0.95,
                          min_panel: int = DEFAULT_MIN_PANEL) -> tuple[float, float]:
    """The interval of one panel's Olympic mean, shape (n,) → (low, high).

    Examples
    --------
    >>> low, high = trimmed_mean_interval(np.array([82, 85, 79, 91, 60, 84, 88]))
    >>> round(low, 4), round(high, 4)
    (78.0471, 89.1529)
    """
    totals = np.asarray(totals, dtype=float).reshape(1, -1)
    low, high = trimmed_mean_interval_matrix(totals, olympic_trim(totals, min_panel), level)[0]
    return float(low), float(high)
