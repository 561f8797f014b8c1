"""The ``fair`` objective: first the best possible worst panel, then the best total among such assignments.

Lexicographic, in two exact solves on the same column-generation machinery as ``total``
(:mod:`matching.solve`):

1. maximize ``t`` subject to every panel's fit Σ_e fit·x ≥ t (a variable floor; the LP is no longer a network,
   so the integer problem is always branched, then closed by reduced-cost fixing against the full-problem
   Lagrangian bound);
2. maximize total fit subject to every panel's fit ≥ t* − 1e-9, where t* is the proven optimum of step 1.

What is proven: step 1's t* equals its bound (or the gap is reported), and step 2's total equals its bound,
both bounds valid for all allowed pairs. Step 1 is the harder one — every pair has weight zero in its objective,
so many pairs survive reduced-cost fixing — and is meant for rounds of modest size (hundreds of applications).
"""

from __future__ import annotations

import time

import numpy as np

from matching.instance import Instance
from matching.lp import Master
from matching.solve import (
    OPTIMALITY_TOLERANCE,
    Solution,
    close_gap,
    generate_columns,
    initial_candidates,
    solve_weighted,
)

FLOOR_SLACK = 1e-9
"""Step 2 keeps every panel's fit at least t* minus this (floating-point round-off of step 1)."""


def solve_fair(instance: Instance, *, time_limit: float | None = None,
               max_columns: int = 3_000_000) -> Solution:
    """Maximize the smallest panel fit, then the total fit.

    Returns
    -------
    Solution
        ``objective`` and ``bound`` are step 2's (total fit); ``stats['min_panel_fit']`` and
        ``stats['min_panel_bound']`` are step 1's; ``status`` is ``optimal`` only when both steps are proven.
    """
    clock = time.perf_counter()
    floor, floor_bound, floor_stats = best_floor(instance, time_limit=time_limit, max_columns=max_columns)
    if floor is None:
        return floor_stats
    second = solve_weighted(instance, instance.fit, floor=np.full(instance.n_apps, floor - FLOOR_SLACK),
                            time_limit=time_limit, max_columns=max_columns)
    panel_fit = (instance.fit * second.assigned).sum(axis=0)
    floor_proven = floor_bound - floor <= OPTIMALITY_TOLERANCE * max(1.0, abs(floor))
    second.stats.update(min_panel_fit=float(panel_fit.min()), min_panel_bound=floor_bound,
                        floor_stats=floor_stats, seconds=time.perf_counter() - clock)
    if second.status == "optimal" and not floor_proven:
        second.status = "feasible"
    return second


def best_floor(instance: Instance, *, time_limit: float | None = None,
               max_columns: int = 3_000_000) -> tuple[float | None, float, dict | Solution]:
    """Step 1: the largest ``t`` such that some assignment gives every panel fit ≥ t.

    Returns
    -------
    t : float or None
        None when the problem is infeasible.
    bound : float
        Upper bound on ``t`` valid for the full problem.
    stats : dict, or the infeasible Solution
    """
    per_pool = int(min(instance.pool_quotas[:, 1].max(initial=1), instance.panel_size.max(initial=1))) + 8
    master = Master(instance, np.zeros(instance.fit.shape), floor_variable=True)
    master.add(*initial_candidates(instance, instance.fit, per_pool))
    lp, rc, rounds = generate_columns(master, per_app=2 * int(instance.panel_size.max(initial=1)))
    stats = {"rounds": rounds, "lp_floor": lp.t}
    if (lp.shortfall > 1e-7).any():
        return None, np.nan, Solution("infeasible", np.zeros(instance.fit.shape, dtype=bool), 0.0, None,
                                      lp.shortfall, stats)
    bound = master.lagrangian_bound(lp, rc)
    x, shortfall, bound = close_gap(master, rc, bound, time_limit, max_columns, stats)
    if (shortfall > 0.5).any():
        return None, np.nan, Solution("infeasible", np.zeros(instance.fit.shape, dtype=bool), 0.0, None,
                                      shortfall, stats)
    chosen = x > 0.5
    panel_fit = np.bincount(master.col_a[chosen], weights=instance.fit[master.col_e[chosen], master.col_a[chosen]],
                            minlength=instance.n_apps)
    return float(panel_fit.min()), bound, stats
