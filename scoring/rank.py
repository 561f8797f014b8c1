"""Order the applications (DESIGN §7.1 step 7).

By panel score rounded half up to 2 decimals, descending; ties broken by the priority criteria's means (priority
1 first, 2 decimals), then by the median total; applications equal on all of these share a rank (competition
ranking: 1, 2, 2, 4) and get the flag TIE.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Ranking:
    """Ranks and tie information.

    Attributes
    ----------
    ranks : ndarray of int, shape (A,)
        1 for the best; 0 for applications without a score.
    tied : ndarray of bool, shape (A,)
        Shares its rank with another application.
    decided_by : ndarray of int, shape (A,)
        Which key separated the application from an equal-scored neighbour: -1 none needed, 0 the score
        itself, 1…P the priority criteria, P + 1 the median, P + 2 nothing (a TIE).
    """

    ranks: np.ndarray
    tied: np.ndarray
    decided_by: np.ndarray


def rank_applications(scores: np.ndarray, tie_breakers: np.ndarray) -> Ranking:
    """Rank by ``scores`` descending, then by each column of ``tie_breakers`` descending.

    Parameters
    ----------
    scores : ndarray of float, shape (A,)
        2-decimal panel scores, NaN for applications without one (ranked nowhere).
    tie_breakers : ndarray of float, shape (A, K)
        2-decimal keys in order of precedence (priority criteria means, then the median total).
    """
    scores = np.asarray(scores, dtype=float)
    n_apps = scores.size
    keys = np.column_stack([scores, np.asarray(tie_breakers, dtype=float).reshape(n_apps, -1)])
    ranked = ~np.isnan(scores)
    order = np.lexsort(tuple(-keys[:, column] for column in reversed(range(keys.shape[1]))) + (~ranked,))
    order = order[ranked[order]]
    sorted_keys = np.round(keys[order], 6)
    same_as_previous = np.r_[False, (sorted_keys[1:] == sorted_keys[:-1]).all(axis=1)]
    positions = np.arange(order.size)
    first_of_group = np.maximum.accumulate(np.where(same_as_previous, 0, positions))
    ranks = np.zeros(n_apps, dtype=int)
    ranks[order] = first_of_group + 1
    group_sizes = np.bincount(first_of_group, minlength=max(order.size, 1))
    tied = np.zeros(n_apps, dtype=bool)
    tied[order] = group_sizes[first_of_group] > 1
    decided_by = np.full(n_apps, -1)
    decided_by[order] = _deciding_key(sorted_keys)
    return Ranking(ranks, tied, decided_by)


def _deciding_key(sorted_keys: np.ndarray) -> np.ndarray:
    """For each sorted row, the first key where it differs from a neighbour with the same score, or -1 when
    no neighbour shares its score; shape (R, K) → (R,)."""
    rows, width = sorted_keys.shape
    result = np.full(rows, -1)
    if rows < 2:
        return result
    for neighbour in (-1, 1):
        other = np.roll(sorted_keys, neighbour, axis=0)
        valid = np.ones(rows, dtype=bool)
        valid[0 if neighbour == 1 else -1] = False
        same_score = valid & (other[:, 0] == sorted_keys[:, 0])
        differs = other != sorted_keys
        first_difference = np.where(differs.any(axis=1), differs.argmax(axis=1), width)
        result = np.where(same_score, np.maximum(result, first_difference), result)
    return result
