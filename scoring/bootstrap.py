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

    Applications are drawn in groups of equal panel size n, so that each group's resampling is one
    (draws, n, applications) array with a scalar bound, laid out so that the sums, minima and maxima reduce
    across experts with applications contiguous in memory.

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
    n_apps = totals.shape[0]
    counts = (~np.isnan(totals)).sum(axis=1)
    by_slot = np.ascontiguousarray(np.nan_to_num(totals).T)                       # (N, A)
    groups = [(int(n), np.flatnonzero(counts == n)) for n in np.unique(counts)]
    rng = np.random.default_rng(seed)
    ranks = np.empty((n_apps, draws), dtype=np.uint16 if n_apps < np.iinfo(np.uint16).max else np.uint32)
    in_top_k = np.zeros(n_apps)
    for start in range(0, draws, CHUNK):
        size = min(CHUNK, draws - start)
        scores = np.empty((size, n_apps))
        for n, columns in groups:
            picks = rng.integers(0, n, size=(size, n, columns.size), dtype=np.int16)
            sample = by_slot[picks, columns]                                      # (b, n, A_n)
            if trim and n >= min_panel:
                scores[:, columns] = (sample.sum(axis=1) - sample.min(axis=1) - sample.max(axis=1)) / (n - 2)
            else:
                scores[:, columns] = sample.sum(axis=1) / n
        chunk_ranks = min_ranks(scores)
        ranks[:, start:start + size] = chunk_ranks.T
        if capacity is not None:
            in_top_k += (chunk_ranks <= capacity).sum(axis=0)
    alpha = 1 - level
    low_index, high_index = int(np.floor(alpha / 2 * (draws - 1))), int(np.ceil((1 - alpha / 2) * (draws - 1)))
    ranks.partition((low_index, high_index), axis=1)                             # order statistics only
    low_rank, high_rank = ranks[:, low_index].astype(int), ranks[:, high_index].astype(int)
    return RankUncertainty(low_rank, high_rank, in_top_k / draws if capacity is not None else None)


def min_ranks(scores: np.ndarray) -> np.ndarray:
    """Rank each row's scores descending, ties sharing the best rank: 1 + number of strictly higher scores.

    Scores equal to 9 decimals are ties (float noise of different summation orders is not a difference).

    Parameters
    ----------
    scores : ndarray of float, shape (b, A)

    Returns
    -------
    ndarray of int, shape (b, A)
    """
    rounded = np.round(scores, 9)
    order = np.argsort(-rounded, axis=1)
    ordered = np.take_along_axis(rounded, order, axis=1)
    starts_run = np.ones(ordered.shape, dtype=bool)
    starts_run[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    first_of_run = np.maximum.accumulate(np.where(starts_run, np.arange(ordered.shape[1]), 0), axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, first_of_run + 1, axis=1)
    return ranks
