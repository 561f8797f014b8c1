"""Exact individual-mode assignment: column generation on a network LP, then a small MIP only if needed.

Why this formulation (figures in ``docs/matching.md``): without the per-organization limit the constraints form a
network — source → expert (load cap) → (application, pool) node ([min, max]) → application (panel size) — whose LP
has integral optima, so an LP solve *is* the integer optimum. The organization limit is the only family that
breaks total unimodularity, and it rarely binds fractionally. So:

1. start from the top candidates of each (application, pool) by fit;
2. solve the restricted master LP (:class:`matching.lp.Master`), price *every* allowed pair with its duals, add the
   pairs with positive reduced cost, repeat; at the fixpoint the master's optimum is the LP optimum of the full
   problem, and the Lagrangian bound certifies it;
3. if that LP optimum is integral, it is optimal for the full integer problem (objective = bound);
4. otherwise solve the master as a MIP, then add every pruned pair whose reduced cost is at least −gap (no better
   solution can use any other pair: reduced-cost fixing) and solve the MIP once more; its value is the optimum of
   the full problem and HiGHS's dual bound is reported as ``bound``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from matching.instance import Instance, org_counts
from matching.lp import PRICING_BLOCK, LPResult, Master, NoIncumbent

OPTIMALITY_TOLERANCE = 1e-6
"""``status`` is ``optimal`` only when bound − objective ≤ this × max(1, |objective|)."""

INTEGRALITY_TOLERANCE = 1e-7
PRICING_TOLERANCE = 1e-9


@dataclass
class Solution:
    """The outcome of a solve.

    Attributes
    ----------
    status : str
        ``optimal`` (bound and objective agree), ``feasible`` (a gap remains, see ``gap``) or ``infeasible``.
    assigned : ndarray, shape (E, A), bool
    objective : float
        Total fit of ``assigned``.
    bound : float or None
        Upper bound valid for the full problem (all allowed pairs); None when infeasible.
    shortfall : ndarray, shape (A, P)
        Panel seats per (application, pool) the elastic master could not fill (all zero when feasible).
    stats : dict
        Iterations, columns, whether the LP was integral, seconds per phase.
    """

    status: str
    assigned: np.ndarray
    objective: float
    bound: float | None
    shortfall: np.ndarray
    stats: dict = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        return None if self.bound is None else max(self.bound - self.objective, 0.0)


def initial_candidates(instance: Instance, weight: np.ndarray, per_pool: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``per_pool`` highest-weight allowed experts of each pool for each application, plus the fixed pairs.

    Returns
    -------
    experts, apps : ndarray, shape (K,)
    """
    experts_out, apps_out = [instance.fixed[:, 0]], [instance.fixed[:, 1]]
    width = max(1, PRICING_BLOCK // max(instance.n_experts, 1))
    for p in range(instance.n_pools):
        members = np.nonzero(instance.expert_pool == p)[0]
        k = min(per_pool, len(members))
        for start in range(0, instance.n_apps if k else 0, width):
            block = slice(start, min(instance.n_apps, start + width))
            scores = np.where(instance.allowed[members, block], weight[members, block], -np.inf)
            top = np.argpartition(-scores, k - 1, axis=0)[:k]                  # (k, block width)
            columns = np.broadcast_to(np.arange(scores.shape[1]), top.shape)
            ok = np.isfinite(scores[top, columns])
            experts_out.append(members[top[ok]])
            apps_out.append(columns[ok] + start)
    return np.concatenate(experts_out).astype(np.int64), np.concatenate(apps_out).astype(np.int64)


def generate_columns(master: Master, *, per_app: int, max_rounds: int = 200) -> tuple[LPResult, float, int]:
    """Price and add columns until no allowed pair has a positive reduced cost.

    Parameters
    ----------
    master : Master
        Already holding its initial columns.
    per_app : int
        Most new columns per application per round (the best by reduced cost).

    Returns
    -------
    lp : LPResult
        The master's LP optimum, which at the fixpoint is the LP optimum of the full problem.
    bound : float
        The Lagrangian bound of ``lp``'s duals over all pairs (valid even if ``max_rounds`` stopped the loop).
    rounds : int
    """
    instance = master.instance
    for rounds in range(1, max_rounds + 1):
        lp = master.solve_lp()
        bound = master.dual_bound(lp)
        new_experts, new_apps = [], []
        for apps, rc in master.reduced_cost_blocks(lp):
            bound += master.pair_bound(apps, rc)
            positive = np.where(instance.allowed[:, apps] & ~master.in_set[:, apps], rc, -np.inf)
            k = min(per_app, positive.shape[0])
            top = np.argpartition(-positive, k - 1, axis=0)[:k]
            columns = np.broadcast_to(np.arange(positive.shape[1]), top.shape)
            good = positive[top, columns] > PRICING_TOLERANCE
            new_experts.append(top[good]), new_apps.append(columns[good] + apps.start)
        experts, apps_all = np.concatenate(new_experts), np.concatenate(new_apps)
        if len(experts) == 0:
            return lp, bound, rounds
        master.add(experts, apps_all)
    return lp, bound, max_rounds


def solve_total(instance: Instance, *, per_pool: int | None = None, time_limit: float | None = None,
                max_columns: int = 3_000_000) -> Solution:
    """Maximize total fit, exactly, with a bound valid for the full problem.

    Parameters
    ----------
    instance : Instance
    per_pool : int, optional
        Initial candidates per (application, pool); default: the pool's maximum plus 8.
    time_limit : float, optional
        Seconds HiGHS may spend on each MIP solve (the LP phases are not limited).
    max_columns : int
        The reduced-cost enlargement is skipped (and the gap reported) if it would exceed this many columns.
    """
    return solve_weighted(instance, instance.fit, per_pool=per_pool, time_limit=time_limit,
                          max_columns=max_columns)


def solve_weighted(instance: Instance, weight: np.ndarray, *, floor: np.ndarray | None = None,
                   exact_floor: np.ndarray | None = None, per_pool: int | None = None,
                   time_limit: float | None = None, max_columns: int = 3_000_000) -> Solution:
    """Maximize Σ weight·x, optionally with a fit floor per panel; the engine behind ``total`` and ``fair``.

    ``floor`` is what the LP enforces; ``exact_floor`` (default: ``floor``) is what the bound is computed for.
    """
    clock = time.perf_counter()
    if fixed_pairs_overflow(instance):
        return _infeasible(instance, np.zeros((instance.n_apps, instance.n_pools)), {"fixed_overflow": True})
    per_pool = per_pool or int(min(instance.pool_quotas[:, 1].max(initial=1), instance.panel_size.max(initial=1))) + 8
    master = Master(instance, weight, floor=floor, exact_floor=exact_floor)
    master.add(*initial_candidates(instance, weight, per_pool))
    lp, bound, rounds = generate_columns(master, per_app=2 * int(instance.panel_size.max(initial=1)))
    stats = {"rounds": rounds, "columns": len(master.col_e), "org_rows": len(master.org_rows),
             "lp_seconds": time.perf_counter() - clock, "lp_objective": lp.objective}
    x = lp.x
    shortfall = lp.shortfall
    integral = bool(np.all(np.minimum(x, 1 - x) < INTEGRALITY_TOLERANCE)) and not (shortfall > 1e-7).any()
    stats["lp_integral"] = integral
    if (shortfall > 1e-7).any():
        return _infeasible(instance, shortfall, stats)
    if not integral:
        x, shortfall, bound = close_gap(master, lp, bound, time_limit, max_columns, stats)
        if (shortfall > 0.5).any():
            return _infeasible(instance, shortfall, stats)
    assigned = np.zeros(instance.fit.shape, dtype=bool)
    chosen = x > 0.5
    assigned[master.col_e[chosen], master.col_a[chosen]] = True
    objective = float(weight[assigned].sum())
    stats["seconds"] = time.perf_counter() - clock
    status = "optimal" if bound - objective <= OPTIMALITY_TOLERANCE * max(1.0, abs(objective)) else "feasible"
    return Solution(status, assigned, objective, bound, np.zeros_like(shortfall), stats)


def fixed_pairs_overflow(instance: Instance) -> bool:
    """Whether the fixed pairs alone are forbidden or already exceed a cap (load, panel, pool maximum,
    organization); :func:`matching.infeasibility.presolve` words each case."""
    fixed = instance.fixed_mask()
    pool_counts = np.stack([fixed[instance.expert_pool == p].sum(axis=0) for p in range(instance.n_pools)])
    return bool((fixed & ~instance.allowed).any()
                or (fixed.sum(axis=1) > instance.load_cap).any()
                or (fixed.sum(axis=0) > instance.panel_size).any()
                or (pool_counts > instance.pool_quotas[:, 1:2]).any()
                or any(n > instance.max_per_org for _, _, n in org_counts(instance, fixed)))


def close_gap(master: Master, lp: LPResult, bound: float, time_limit: float | None, max_columns: int,
              stats: dict) -> tuple[np.ndarray, np.ndarray, float]:
    """MIP on the column set, then on every pair that reduced-cost fixing cannot exclude.

    Raises :class:`~matching.lp.NoIncumbent` if the first MIP finds nothing within ``time_limit``.
    """
    clock = time.perf_counter()
    x, shortfall, value, first_dual_bound, _ = master.solve_mip(time_limit)
    gap = bound - value
    stats["first_mip_objective"] = value
    candidates = master.pairs_priced_at_least(lp, -gap - PRICING_TOLERANCE)
    n_new = len(candidates[0])
    stats["fixing_columns"] = n_new
    if gap > OPTIMALITY_TOLERANCE * max(1.0, abs(value)) and n_new == 0:
        bound = min(bound, first_dual_bound)     # no pruned pair can help: the column set's bound is the full one
    elif gap > OPTIMALITY_TOLERANCE * max(1.0, abs(value)) and len(master.col_e) + n_new <= max_columns:
        master.add(*candidates)
        # every better solution uses only columns now in the set, so this MIP's bound is the full problem's
        try:
            x2, shortfall2, value2, dual_bound, _ = master.solve_mip(time_limit)
        except NoIncumbent:
            stats["second_mip"] = "no incumbent within the time limit"
        else:
            bound = min(bound, dual_bound)
            if value2 >= value:
                x, shortfall, value = x2, shortfall2, value2
    stats["mip_seconds"] = time.perf_counter() - clock
    stats["columns"] = len(master.col_e)
    x = np.concatenate([x, np.zeros(len(master.col_e) - len(x))])   # the first MIP's x predates new columns
    return x, shortfall, bound


def _infeasible(instance: Instance, shortfall: np.ndarray, stats: dict) -> Solution:
    assigned = np.zeros(instance.fit.shape, dtype=bool)
    return Solution("infeasible", assigned, 0.0, None, np.where(shortfall > 1e-7, shortfall, 0.0), stats)
