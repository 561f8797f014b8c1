"""The ``fair`` objective: first the best possible worst panel, then the best total among such assignments.

Lexicographic, in two exact solves on the same column-generation machinery as ``total``
(:mod:`matching.solve`):

1. maximize ``t`` subject to every panel's fit Σ_e fit·x ≥ t (a variable floor; the LP is no longer a network,
   so the integer problem is branched, then closed by reduced-cost fixing against the full-problem Lagrangian
   bound) — unless the ``total`` optimum's worst panel already reaches step 1's LP bound, which settles both
   steps at once;
2. maximize total fit subject to every panel's fit ≥ t* − 1e-9, where t* is the proven optimum of step 1.

What is proven: step 1's t* equals its bound (or the gap is reported), and step 2's total equals its bound,
both bounds valid for all allowed pairs. Step 1 is the harder one — every pair has weight zero in its objective,
so many pairs survive reduced-cost fixing — and is meant for rounds of modest size (hundreds of applications).
"""

from __future__ import annotations

import time

import numpy as np

from matching.greedy import initial_candidates
from matching.instance import Instance
from matching.lp import Master, NoIncumbent
from matching.solve import (
    OPTIMALITY_TOLERANCE,
    Solution,
    close_gap,
    generate_columns,
    seats_short,
    solve_weighted,
)

FLOOR_SLACK = 1e-9
"""Step 2's LP keeps every panel's fit at least t* minus this (floating-point round-off of step 1). The LP may
exploit the slack with tiny fractions at a steep rate, so step 2's bound is evaluated at t* itself: it then bounds
exactly the lexicographic problem."""


def solve_fair(instance: Instance, *, time_limit: float | None = None,
               max_columns: int = 3_000_000) -> Solution:
    """Maximize the smallest panel fit, then the total fit.

    The ``total`` optimum is solved first: its worst panel is a floor some assignment reaches. If it already
    meets step 1's LP bound, it is optimal for both steps (no assignment has a better worst panel, and none has a
    better total at all), which is common and cheap; otherwise it bounds ``t`` from below in step 1's MIP.

    Returns
    -------
    Solution
        ``objective`` and ``bound`` are step 2's (total fit); ``stats['min_panel_fit']`` and
        ``stats['min_panel_bound']`` are step 1's; ``status`` is ``optimal`` only when both steps are proven.
    """
    clock = time.perf_counter()
    total = solve_weighted(instance, instance.fit, time_limit=time_limit, max_columns=max_columns)
    if total.status == "infeasible":
        return total
    reached = float(panel_fits(instance, total.assigned).min())
    floor, floor_assigned, floor_bound, floor_stats = best_floor(instance, known=total.assigned,
                                                                 time_limit=time_limit, max_columns=max_columns)
    if floor is None:
        return floor_stats
    if reached >= floor_bound - OPTIMALITY_TOLERANCE * max(1.0, abs(reached)):
        second = total
        floor = reached
    else:
        second = solve_weighted(instance, instance.fit, floor=np.full(instance.n_apps, floor - FLOOR_SLACK),
                                exact_floor=np.full(instance.n_apps, floor), known=floor_assigned,
                                time_limit=time_limit, max_columns=max_columns)
    panel_fit = panel_fits(instance, second.assigned)
    floor_proven = floor_bound - floor <= OPTIMALITY_TOLERANCE * max(1.0, abs(floor))
    second.stats.update(min_panel_fit=float(panel_fit.min()), min_panel_bound=floor_bound,
                        floor_stats=floor_stats, seconds=time.perf_counter() - clock)
    if second.status == "optimal" and not floor_proven:
        second.status = "feasible"
    return second


def panel_fits(instance: Instance, assigned: np.ndarray) -> np.ndarray:
    """Each panel's fit Σ_e fit·x in float64, shape (A,): the master's arithmetic, whatever the fit's dtype.

    The fit is float32 when it comes from :mod:`matching.affinity`; a float32 sum can round a panel's fit up by
    more than the LP's feasibility tolerance (1.8e-7 on a 7-seat panel of fit 4.73 in a demo round), and a floor
    that high is one no assignment reaches in the master.
    """
    return (instance.fit.astype(np.float64) * assigned).sum(axis=0)


def best_floor(instance: Instance, *, known: np.ndarray | None = None, time_limit: float | None = None,
               max_columns: int = 3_000_000) -> tuple[float | None, np.ndarray | None, float, dict | Solution]:
    """Step 1: the largest ``t`` such that some assignment gives every panel fit ≥ t.

    Parameters
    ----------
    known : ndarray, shape (E, A), bool, optional
        An assignment meeting every constraint (the ``total`` optimum). Its pairs join the first columns and its
        worst panel bounds ``t`` from below, so the master is feasible from the first LP on, whatever the
        other first columns miss and whichever organization rows are added later (shortfall columns fill seats
        but add no fit, so without it nothing guarantees the floor row). When the LP bound does not exceed its
        worst panel, the MIP is skipped and that floor is returned (proven).

    Returns
    -------
    t : float or None
        None when the problem is infeasible.
    assigned : ndarray, shape (E, A), bool, or None
        An assignment whose worst panel is ``t``.
    bound : float
        Upper bound on ``t`` valid for the full problem.
    stats : dict, or the infeasible Solution
    """
    known_floor = None if known is None else float(panel_fits(instance, known).min())
    per_pool = int(min(instance.pool_quotas[:, 1].max(initial=1), instance.panel_size.max(initial=1))) + 8
    master = Master(instance, np.zeros(instance.fit.shape), floor_variable=True, known_floor=known_floor)
    master.add(*initial_candidates(instance, instance.fit, per_pool))
    if known is not None:
        master.add(*np.nonzero(known))
    lp, bound, rounds = generate_columns(master, per_app=2 * int(instance.panel_size.max(initial=1)))
    stats = {"rounds": rounds, "lp_floor": lp.t}
    if (lp.shortfall > 1e-7).any():
        return None, None, np.nan, Solution("infeasible", np.zeros(instance.fit.shape, dtype=bool), 0.0, None,
                                      lp.shortfall, stats)
    if known_floor is not None and known_floor >= bound - OPTIMALITY_TOLERANCE * max(1.0, abs(known_floor)):
        return known_floor, known, bound, stats
    try:
        x, shortfall, bound = close_gap(master, lp, bound, time_limit, max_columns, stats)
    except NoIncumbent:
        if known_floor is None:
            raise
        stats["mip"] = "no better floor found within the time limit"
        return known_floor, known, bound, stats
    if seats_short(shortfall):
        return None, None, np.nan, Solution("infeasible", np.zeros(instance.fit.shape, dtype=bool), 0.0, None,
                                      shortfall, stats)
    chosen = x > 0.5
    assigned = np.zeros(instance.fit.shape, dtype=bool)
    assigned[master.col_e[chosen], master.col_a[chosen]] = True
    return float(panel_fits(instance, assigned).min()), assigned, bound, stats
