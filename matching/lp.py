"""The restricted master LP of the assignment problem, its duals, and the Lagrangian bound over all pairs.

The full problem has one 0/1 variable per allowed (expert, application) pair, which is millions at the sizes the
commission runs. The master keeps only a *column set* (candidate pairs) and proves, through its duals, what the
missing pairs could add:

* rows: expert load ``Σ_a x ≤ cap_e``; panel size ``Σ_e x = n_a``; pool quotas ``min_p ≤ Σ_{e∈p} x ≤ max_p`` for
  each (application, pool); organization limit ``Σ_{e∈o} x ≤ k`` for each (application, organization) whose
  columns could break it (rows an organization cannot break are left out: they are slack whatever the values);
  optional fit floors ``Σ_e fit·x ≥ floor_a`` (or ``≥ t`` with a variable ``t``, for the ``fair`` objective);
* elastic "shortfall" columns, one per (application, pool), count toward the panel and the pool at a large
  penalty, so the master is always feasible; a shortfall left in the optimum means the problem is infeasible and
  says where (:mod:`matching.infeasibility` words it).

For any duals ``y`` of the right sign, ``y·b + Σ_j max(rc_j, 0)·ub_j`` (``rc`` = reduced cost over *all* allowed
pairs, fixed pairs counted at ``rc_j`` exactly) bounds every solution of the full problem from above — the
Lagrangian relaxation of the row constraints. At a column-generation fixpoint it equals the master's optimum,
which is therefore the LP optimum of the full problem. Reduced costs are computed a block of applications at a
time, so pricing holds no E × A matrix beyond the instance's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from matching.instance import Instance

PRICING_BLOCK = 1 << 22
"""Pairs priced at once (32 MB of float64): pricing walks the applications in blocks of this many pairs."""

SHORTFALL_PENALTY = 1000.0
"""Cost, in units of (1 + largest |weight|), of one missing panel seat in the elastic master."""


class NoIncumbent(RuntimeError):
    """HiGHS hit its time limit before finding any integer solution."""


@dataclass
class LPResult:
    """A master solve: primal values per column, duals per row family, objective."""

    x: np.ndarray
    shortfall: np.ndarray
    t: float
    objective: float
    y_load: np.ndarray
    y_panel: np.ndarray
    y_pool: np.ndarray
    y_org: np.ndarray
    y_floor: np.ndarray


class Master:
    """A restricted master problem over a growing column set.

    Parameters
    ----------
    instance : Instance
    weight : ndarray, shape (E, A)
        Objective weight of each pair (the fit for ``total``; zeros for the first phase of ``fair``).
    pair_cap : float
        Upper bound of every pair variable: 1, or the probability cap ``q`` of a randomized draw.
    floor : ndarray, shape (A,), or None
        Constant lower bounds on each panel's fit, or None.
    floor_variable : bool
        Maximize a common floor ``t`` on every panel's fit (objective ``t`` plus ``weight``).
    exact_floor : ndarray, shape (A,), optional
        The floors the bound is meant for, when ``floor`` is relaxed by a hair for numerical safety: the
        Lagrangian bound is evaluated at these, so it holds for every assignment meeting them exactly.
    known_floor : float, optional
        A floor some assignment is known to reach; ``t`` is bounded below by it, which prunes the MIP and leaves
        every bound valid for the solutions that matter (those at least as good).
    """

    def __init__(self, instance: Instance, weight: np.ndarray, *, pair_cap: float = 1.0,
                 floor: np.ndarray | None = None, floor_variable: bool = False,
                 known_floor: float | None = None, exact_floor: np.ndarray | None = None) -> None:
        self.instance = instance
        self.weight = weight
        self.pair_cap = pair_cap
        self.floor = floor
        self.floor_variable = floor_variable
        self.known_floor = known_floor
        self.exact_floor = floor if exact_floor is None else exact_floor
        self.has_floor = floor is not None or floor_variable
        self.in_set = np.zeros(instance.fit.shape, dtype=bool)
        self.col_e = np.zeros(0, dtype=np.int64)
        self.col_a = np.zeros(0, dtype=np.int64)
        self.org_rows: dict[tuple[int, int], int] = {}
        self.org_members = _org_members(instance)
        self.fixed = instance.fixed_mask()
        self.penalty = SHORTFALL_PENALTY * (1.0 + float(np.abs(weight).max(initial=0.0)))
        if self.has_floor:
            self.penalty += SHORTFALL_PENALTY * (1.0 + float(np.abs(instance.fit).max(initial=0.0)))

    # ----------------------------------------------------------------------------------------------- columns
    def add(self, experts: np.ndarray, apps: np.ndarray) -> int:
        """Add the given pairs (ignoring ones already present or not allowed); return how many were new."""
        keep = self.instance.allowed[experts, apps] & ~self.in_set[experts, apps]
        experts, apps = experts[keep], apps[keep]
        if len(experts):
            pairs = np.unique(np.stack([experts, apps], axis=1), axis=0)
            experts, apps = pairs[:, 0], pairs[:, 1]
            self.in_set[experts, apps] = True
            self.col_e = np.concatenate([self.col_e, experts])
            self.col_a = np.concatenate([self.col_a, apps])
            self._add_org_rows()
        return len(experts)

    def _add_org_rows(self) -> None:
        """Add an organization row wherever the column set holds more experts of one organization than allowed."""
        orgs = self.instance.expert_org[self.col_e]
        keep = orgs >= 0
        if not keep.any():
            return
        keys, counts = np.unique(np.stack([self.col_a[keep], orgs[keep]], axis=1), axis=0, return_counts=True)
        for a, o in keys[counts > self.instance.max_per_org]:
            self.org_rows.setdefault((int(a), int(o)), len(self.org_rows))

    # ------------------------------------------------------------------------------------------------ matrix
    def _matrices(self):
        """The master over [pair columns | shortfall columns | t]: (A_ub, b_ub, A_eq, b_eq, cost, lb, ub).

        Inequality rows, in order: load (E), pool maximum (A·P), pool minimum negated (A·P), organization
        (one per ``org_rows`` entry), fit floor negated (A, only with a floor). Equality rows: panel size (A).
        """
        inst = self.instance
        n_a, n_p = inst.n_apps, inst.n_pools
        n_cols, n_short, n_t = len(self.col_e), n_a * n_p, int(self.floor_variable)
        pairs = np.arange(n_cols)
        every = np.arange(n_cols + n_short)                       # pairs and shortfalls count as seats
        seat_app = np.concatenate([self.col_a, np.repeat(np.arange(n_a), n_p)])
        seat_pool = np.concatenate([inst.expert_pool[self.col_e], np.tile(np.arange(n_p), n_a)])
        pool_row = seat_app * n_p + seat_pool
        org_row = np.array([self.org_rows.get((int(a), int(o)), -1)
                            for a, o in zip(self.col_a, inst.expert_org[self.col_e], strict=True)], dtype=np.int64)
        limited = org_row >= 0
        quotas = inst.pool_quotas
        blocks = [  # (row offset inside the block, columns, coefficients, right-hand sides of the block)
            (self.col_e, pairs, 1.0, inst.load_cap),
            (pool_row, every, 1.0, np.tile(quotas[:, 1], n_a)),
            (pool_row, every, -1.0, -np.tile(quotas[:, 0], n_a)),
            (org_row[limited], pairs[limited], 1.0, np.full(len(self.org_rows), inst.max_per_org)),
        ]
        if self.has_floor:                                         # −Σ fit·x (+ t) ≤ −floor
            blocks.append((self.col_a, pairs, -inst.fit[self.col_e, self.col_a],
                           -self.floor if self.floor is not None else np.zeros(n_a)))
        rows, cols, values, rhs, base = [], [], [], [], 0
        for offset, columns, coefficients, block_rhs in blocks:
            rows.append(base + offset), cols.append(columns)
            values.append(np.broadcast_to(np.asarray(coefficients, dtype=float), columns.shape))
            rhs.append(np.asarray(block_rhs, dtype=float))
            base += len(block_rhs)
        if self.floor_variable:
            rows.append(base - n_a + np.arange(n_a)), cols.append(np.full(n_a, n_cols + n_short))
            values.append(np.ones(n_a))
        n_total = n_cols + n_short + n_t
        a_ub = sp.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(base, n_total))
        a_eq = sp.csr_matrix((np.ones(len(every)), (seat_app, every)), shape=(n_a, n_total))
        cost = np.concatenate([self.weight[self.col_e, self.col_a], np.full(n_short, -self.penalty), np.ones(n_t)])
        lb = np.zeros(n_total)
        lb[:n_cols] = self.fixed[self.col_e, self.col_a]
        ub = np.concatenate([np.maximum(self.pair_cap, lb[:n_cols]), np.repeat(inst.panel_size, n_p).astype(float),
                             np.full(n_t, self._t_upper())])
        if n_t:
            lb[-1] = self._t_lower()
        return a_ub, np.concatenate(rhs), a_eq, inst.panel_size.astype(float), cost, lb, ub

    def _t_upper(self) -> float:
        fit = self.instance.fit
        return float(self.instance.panel_size.max(initial=0) * max(fit.max(initial=0.0), 0.0))

    def _t_lower(self) -> float:
        if self.known_floor is not None:
            return self.known_floor
        fit = self.instance.fit
        return float(self.instance.panel_size.max(initial=0) * min(fit.min(initial=0.0), 0.0))

    # ------------------------------------------------------------------------------------------------- solve
    def solve_lp(self) -> LPResult:
        """Solve the master LP with HiGHS and return primal values and row duals (for a maximization)."""
        a_ub, b_ub, a_eq, b_eq, cost, lb, ub = self._matrices()
        res = linprog(-cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=np.stack([lb, ub], axis=1),
                      method="highs")
        if res.status != 0:
            raise RuntimeError(f"master LP failed: {res.message}")
        y_ub = np.maximum(-res.ineqlin.marginals, 0.0)
        return self._unpack(res.x, -res.fun, y_ub, -res.eqlin.marginals)

    def solve_mip(self, time_limit: float | None = None) -> tuple[np.ndarray, np.ndarray, float, float, bool]:
        """Solve the master with integral pair variables.

        Returns
        -------
        x : ndarray, shape (n_columns,)
        shortfall : ndarray, shape (A, P)
        objective : float
        dual_bound : float
            HiGHS's proven bound for this column set.
        proven : bool
            Whether HiGHS closed its own gap (it may stop at ``time_limit``).

        Raises
        ------
        NoIncumbent
            When the time limit passes before any integer solution is found.
        """
        a_ub, b_ub, a_eq, b_eq, cost, lb, ub = self._matrices()
        integrality = np.ones(len(cost))
        if self.floor_variable:
            integrality[-1] = 0
        options = {"mip_rel_gap": 1e-9, "presolve": True}
        if time_limit is not None:
            options["time_limit"] = float(time_limit)
        res = milp(-cost, integrality=integrality, bounds=Bounds(lb, ub),
                   constraints=[LinearConstraint(a_ub, -np.inf, b_ub), LinearConstraint(a_eq, b_eq, b_eq)],
                   options=options)
        if res.x is None:
            error = NoIncumbent if res.status == 1 else RuntimeError
            raise error(f"master MIP failed: {res.message}")
        n_cols, n_short = len(self.col_e), self.instance.n_apps * self.instance.n_pools
        dual_bound = -float(getattr(res, "mip_dual_bound", res.fun))
        shortfall = res.x[n_cols:n_cols + n_short].reshape(self.instance.n_apps, self.instance.n_pools)
        return res.x[:n_cols], shortfall, -float(res.fun), dual_bound, res.status == 0

    def _unpack(self, values: np.ndarray, objective: float, y_ub: np.ndarray, y_eq: np.ndarray) -> LPResult:
        inst = self.instance
        n_e, n_a, n_p = inst.n_experts, inst.n_apps, inst.n_pools
        n_cols = len(self.col_e)
        y_max = y_ub[n_e:n_e + n_a * n_p].reshape(n_a, n_p)
        y_min = y_ub[n_e + n_a * n_p:n_e + 2 * n_a * n_p].reshape(n_a, n_p)
        base = n_e + 2 * n_a * n_p
        y_org = y_ub[base:base + len(self.org_rows)]
        y_floor = y_ub[base + len(self.org_rows):] if self.has_floor else np.zeros(n_a)
        return LPResult(
            x=values[:n_cols], shortfall=values[n_cols:n_cols + n_a * n_p].reshape(n_a, n_p),
            t=float(values[-1]) if self.floor_variable else 0.0, objective=objective,
            y_load=y_ub[:n_e], y_panel=y_eq, y_pool=y_max - y_min, y_org=y_org, y_floor=y_floor,
        )

    # ------------------------------------------------------------------------------------------------ duals
    def reduced_cost_blocks(self, lp: LPResult) -> Iterator[tuple[slice, np.ndarray]]:
        """Reduced costs of every (expert, application) pair for the duals of ``lp``, a block of applications at
        a time, so that no E × A matrix beyond the inputs is ever held.

        Yields
        ------
        apps : slice
            The block's application columns.
        rc : ndarray, shape (E, block width)
        """
        inst = self.instance
        width = max(1, PRICING_BLOCK // max(inst.n_experts, 1))
        org_duals: dict[int, list[tuple[int, float]]] = {}
        for (a, o), row in self.org_rows.items():
            if lp.y_org[row] > 0:
                org_duals.setdefault(a, []).append((o, float(lp.y_org[row])))
        for start in range(0, inst.n_apps, width):
            apps = slice(start, min(inst.n_apps, start + width))
            rc = self.weight[:, apps] - lp.y_load[:, None] - lp.y_panel[None, apps]
            rc -= lp.y_pool[apps].T[inst.expert_pool, :]
            if self.has_floor:
                rc += inst.fit[:, apps] * lp.y_floor[None, apps]
            for a in range(apps.start, apps.stop):
                for o, dual in org_duals.get(a, ()):
                    rc[self.org_members[o], a - start] -= dual
            yield apps, rc

    def pair_bound(self, apps: slice, rc: np.ndarray) -> float:
        """The pairs' share of the Lagrangian bound for one block: Σ max(rc, 0)·cap over free allowed pairs plus
        Σ rc over fixed ones."""
        free = self.instance.allowed[:, apps] & ~self.fixed[:, apps]
        return float(self.pair_cap * np.clip(rc[free], 0, None).sum() + rc[self.fixed[:, apps]].sum())

    def dual_bound(self, lp: LPResult) -> float:
        """The Lagrangian bound without the pairs' share: y·b plus the shortfall and floor columns' terms.

        ``dual_bound(lp) + Σ_blocks pair_bound(block)`` bounds every solution of the full problem (all allowed
        pairs) from above, for any duals of the right sign.
        """
        inst = self.instance
        quotas = inst.pool_quotas
        # y_pool = y_max − y_min; splitting it into its positive and negative parts is a valid (and the
        # tightest) choice of the two multipliers
        value = (lp.y_load @ inst.load_cap + lp.y_panel @ inst.panel_size
                 + (np.clip(lp.y_pool, 0, None) * quotas[None, :, 1]).sum()
                 - (np.clip(-lp.y_pool, 0, None) * quotas[None, :, 0]).sum()
                 + lp.y_org.sum() * inst.max_per_org)
        if self.floor is not None:
            value -= lp.y_floor @ self.exact_floor
        # shortfall columns, penalty −M: reduced cost −M − y_panel − y_pool
        rc_short = -self.penalty - lp.y_panel[:, None] - lp.y_pool
        value += (np.clip(rc_short, 0, None) * inst.panel_size[:, None]).sum()
        if self.floor_variable:
            rc_t = 1.0 - lp.y_floor.sum()
            value += max(rc_t * self._t_upper(), rc_t * self._t_lower())
        return float(value)

    def pairs_priced_at_least(self, lp: LPResult, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """Allowed pairs outside the column set whose reduced cost is at least ``threshold``."""
        experts, apps = [], []
        for block, rc in self.reduced_cost_blocks(lp):
            e, a = np.nonzero(self.instance.allowed[:, block] & ~self.in_set[:, block] & (rc >= threshold))
            experts.append(e), apps.append(a + block.start)
        return np.concatenate(experts), np.concatenate(apps)


def _org_members(instance: Instance) -> dict[int, np.ndarray]:
    """Organization index → its experts' indices."""
    orgs = instance.expert_org
    order = np.argsort(orgs, kind="stable")
    keys, starts = np.unique(orgs[order], return_index=True)
    groups = np.split(order, starts[1:])
    return {int(k): g for k, g in zip(keys, groups, strict=True) if k >= 0}
