"""Rank intervals and P(top-k) by a seeded bootstrap over experts within each application (DESIGN §7.1 step 6).

Each draw resamples, for every application at once, its n expert totals with replacement, recomputes the panel
score with the same rule (Olympic mean when n ≥ min_panel), and ranks all applications. Draws are processed in
fixed-size chunks so that memory stays bounded and the result depends only on the seed, not on the machine.
Applications sharing a bootstrap score share the better rank ("min" ranking).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHUNK = 64  # draws per chunk; fixed so that a seed gives the same numbers everywhere


@dataclass(frozen=True)
class RankUncertainty:
    """Bootstrap rank summaries.

    Attributes
    ----------
    low, high : ndarray of int, shape (A,)
        The rank interval (best, worst) at the requested level.
    p_top_k : ndarray of float, shape (A,) or None
        Share of draws with rank ≤ k, when k was given.
    """

    low: np.ndarray
    high: np.ndarray
    p_top_k: np.ndarray | None


def bootstrap_ranks(totals: np.ndarray, draws: int, seed: int, min_panel: int = 5, trim: bool = True,
                    level: float = 0.95, capacity: int | None = None) -> RankUncertainty:
    """Bootstrap the ranking of applications whose totals fill the left of each row.

    Parameters
    ----------
    totals : ndarray of float, shape (A, N)
        Each row's n totals in its first n slots, NaN after them; every row has n ≥ 1.
    draws : int
        Number of bootstrap draws B (≥ 1).
    seed : int
        Seed of numpy's default generator.
    min_panel, trim : int, bool
        The panel-score rule: drop the lowest and highest total when trimming and n ≥ min_panel.
    level : float
        Coverage of the rank interval (percentile interval of the bootstrap ranks).
    capacity : int or None
        k of P(top-k).
    """
    totals = np.asarray(totals, dtype=float)
    n_apps, width = totals.shape
    counts = (~np.isnan(totals)).sum(axis=1)
    filled = np.nan_to_num(totals)
    slot_used = np.arange(width)[None, :] < counts[:, None]                      # (A, N)
    trims = (counts >= min_panel) & trim
    kept = counts - 2 * trims
    rng = np.random.default_rng(seed)
    rank_dtype = np.uint16 if n_apps < np.iinfo(np.uint16).max else np.uint32
    ranks = np.empty((n_apps, draws), dtype=rank_dtype)
    in_top_k = np.zeros(n_apps)
    rows = np.arange(n_apps)[None, :, None]
    for start in range(0, draws, CHUNK):
        size = min(CHUNK, draws - start)
        picks = rng.integers(0, counts[None, :, None], size=(size, n_apps, width))
        sample = filled[rows, picks]                                              # (b, A, N)
        total = np.where(slot_used, sample, 0.0).sum(axis=2)
        low = np.where(slot_used, sample, np.inf).min(axis=2)
        high = np.where(slot_used, sample, -np.inf).max(axis=2)
        scores = np.where(trims, total - low - high, total) / kept                # (b, A)
        chunk_ranks = min_ranks(scores)
        ranks[:, start:start + size] = chunk_ranks.T
        if capacity is not None:
            in_top_k += (chunk_ranks <= capacity).sum(axis=0)
    ranks.sort(axis=1)
    alpha = 1 - level
    low_rank = ranks[:, int(np.floor(alpha / 2 * (draws - 1)))].astype(int)
    high_rank = ranks[:, int(np.ceil((1 - alpha / 2) * (draws - 1)))].astype(int)
    return RankUncertainty(low_rank, high_rank, in_top_k / draws if capacity is not None else None)


def min_ranks(scores: np.ndarray) -> np.ndarray:
    """Rank each row's scores descending, ties sharing the best rank: 1 + number of strictly higher scores.

    Parameters
    ----------
    scores : ndarray of float, shape (b, A)

    Returns
    -------
    ndarray of int, shape (b, A)
    """
    ascending = np.sort(scores, axis=1)
    # One searchsorted over all rows at once: shift each row into its own band of the number line.
    rounded = np.round(scores, 9)
    ascending = np.round(ascending, 9)
    span = np.nanmax(np.abs(ascending)) * 2 + 1 if ascending.size else 1.0
    offsets = np.arange(scores.shape[0])[:, None] * span
    position = np.searchsorted((ascending + offsets).ravel(), (rounded + offsets).ravel(), side="right")
    position = position.reshape(scores.shape) - np.arange(scores.shape[0])[:, None] * scores.shape[1]
    return scores.shape[1] - position + 1
