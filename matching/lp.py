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

import os
import sys
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from matching.bits import PairSet
from matching.conflicts import sorted_distinct
from matching.instance import Instance, best_first_columns, nonzero_2d

PRICING_BLOCK = 1 << 22
"""Pairs priced at once (32 MB of float64): pricing walks the applications in blocks of this many pairs."""


def block_width(instance: Instance) -> int:
    """Applications in a block of :data:`PRICING_BLOCK` pairs (at least one)."""
    return max(1, PRICING_BLOCK // max(instance.n_experts, 1))


def application_blocks(instance: Instance) -> Iterator[slice]:
    """The blocks of applications every pass over all pairs walks: :data:`PRICING_BLOCK` pairs at a time."""
    width = block_width(instance)
    for start in range(0, instance.n_apps, width):
        yield slice(start, min(instance.n_apps, start + width))

FIXED_BONUS = 1e6
"""Added to a fixed pair's value in :meth:`Master.panel_bound` so that every application's best panel takes it."""

BASIC, AT_LOWER, AT_UPPER = 0, 1, 2
"""Codes of a variable's place in a starting basis (:meth:`Master.start_from`)."""

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
        self.in_set = PairSet(*instance.fit.shape)
        self.col_e = np.zeros(0, dtype=np.int64)
        self.col_a = np.zeros(0, dtype=np.int64)
        self.org_rows: dict[tuple[int, int], int] = {}
        self.org_members = _org_members(instance)
        self.pool_members = [np.nonzero(instance.expert_pool == p)[0] for p in range(instance.n_pools)]
        self.fixed = FixedPairs(instance)
        self._lp: WarmLP | None = None
        self.forbidden_columns = np.zeros(0, dtype=np.int64)
        self.penalty = SHORTFALL_PENALTY * (1.0 + largest_magnitude(weight))
        if self.has_floor:
            self.penalty += SHORTFALL_PENALTY * (1.0 + largest_magnitude(instance.fit))

    # ----------------------------------------------------------------------------------------------- columns
    def add(self, experts: np.ndarray, apps: np.ndarray) -> int:
        """Add the given pairs (ignoring ones already present or not allowed); return how many were new."""
        keep = self.instance.allowed[experts, apps] & ~self.in_set[experts, apps]
        experts, apps = experts[keep], apps[keep]
        if len(experts):
            code = sorted_distinct(experts.astype(np.int64) * self.instance.n_apps + apps)
            experts, apps = np.divmod(code, self.instance.n_apps)
            self.in_set[experts, apps] = True
            self.col_e = np.concatenate([self.col_e, experts])
            self.col_a = np.concatenate([self.col_a, apps])
        return len(experts)

    def restrict(self, instance: Instance) -> None:
        """Go on with ``instance``, which differs from this instance only in the pairs it allows: columns it
        forbids are held at zero and columns it allows again are released to their bounds, so the next LP starts
        from the last basis instead of from scratch (the randomized draw narrows organizations to one pool this
        way, several times per draw, and takes back a narrowing that left a panel short). A fixed pair it
        forbids raises ValueError: held at zero, the fixed pair would be dropped in silence, or, entering the
        LP later with its lower bound 1 above its upper bound 0, make the LP infeasible."""
        fixed_e, fixed_a = self.fixed.pairs[:, 0], self.fixed.pairs[:, 1]
        if (self.instance.allowed[fixed_e, fixed_a] & ~instance.allowed[fixed_e, fixed_a]).any():
            raise ValueError("a restriction may not forbid a fixed pair")
        forbidden = np.nonzero(~instance.allowed[self.col_e, self.col_a])[0]
        self.instance = instance
        if self._lp is not None:
            self._lp.hold_at_zero(np.setdiff1d(forbidden, self.forbidden_columns, assume_unique=True))
            self._lp.release(np.setdiff1d(self.forbidden_columns, forbidden, assume_unique=True))
        self.forbidden_columns = forbidden

    def add_org_rows(self, x: np.ndarray | None = None, tight: bool = False) -> int:
        """Add organization rows; return how many are new.

        With ``x`` (the master's LP values), only the rows that ``x`` breaks: the LP then re-optimizes with them,
        and rows it never breaks are never built (each added row costs the warm-started simplex pivots, and at
        the commission's sizes there are tens of thousands of (application, organization) pairs that could
        break the limit but never do). Leaving rows out relaxes the master, so every bound stays valid; at the
        fixpoint ``x`` breaks none, so it is feasible for the full problem. Without ``x``, every row the column
        set *could* break (more of its experts than allowed): what an integral solve needs.

        ``tight``: also the rows ``x`` holds exactly at the limit that the column set could break. Such a row
        costs no pivot when it enters (its slack is basic at zero), and it is where the next re-solve would
        break the limit: organization rows came in waves, each found by the re-solve for the last (contended
        5,000 × 12,500: 1,260, 356, 179, 96, … rows over 12 dual re-solves of 1–11 CPU s; with the tight rows
        the waves were 4, and the master's rounds 6 instead of 13).
        """
        before = len(self.org_rows)
        for a, o in self.org_rows_over(x, tight=tight):
            self.org_rows.setdefault((a, o), len(self.org_rows))
        return len(self.org_rows) - before

    def org_rows_over(self, x: np.ndarray | None = None, tight: bool = False) -> list[tuple[int, int]]:
        """The (application, organization) rows :meth:`add_org_rows` would add with the same arguments, whether
        built already or not: those the column set could break (``x`` None), or those ``x`` breaks (and, with
        ``tight``, holds exactly at the limit where the column set could break it)."""
        orgs = self.instance.expert_org[self.col_e]
        keep = orgs >= 0
        if not keep.any():
            return []
        n_orgs = int(orgs.max()) + 1
        code = self.col_a[keep].astype(np.int64) * n_orgs + orgs[keep]
        order = np.argsort(code, kind="stable")
        code = code[order]
        starts = np.flatnonzero(np.concatenate([[True], code[1:] != code[:-1]]))
        keys = code[starts]
        if x is None:
            over = keys[np.diff(np.append(starts, len(code))) > self.instance.max_per_org]
        else:
            held = np.add.reduceat(x[keep][order], starts)
            limit = self.instance.max_per_org
            broken = held > limit + 1e-9
            if tight:
                broken |= (held > limit - 1e-9) & (np.diff(np.append(starts, len(code))) > limit)
            over = keys[broken]
        return [(int(a), int(o)) for a, o in zip(*np.divmod(over, n_orgs), strict=True)]

    @property
    def simplex_iterations(self) -> int:
        """Simplex iterations of every master LP solve so far."""
        return 0 if self._lp is None else self._lp.iterations

    def org_row_of(self, experts: np.ndarray, apps: np.ndarray) -> np.ndarray:
        """Index of the organization row each pair counts toward, −1 where it has none."""
        if not self.org_rows:
            return np.full(len(experts), -1, dtype=np.int64)
        keys = np.array(list(self.org_rows), dtype=np.int64).reshape(-1, 2)
        rows = np.fromiter(self.org_rows.values(), dtype=np.int64, count=len(self.org_rows))
        n_orgs = int(max(self.instance.expert_org.max(initial=0), keys[:, 1].max())) + 1
        code = keys[:, 0] * n_orgs + keys[:, 1]
        order = np.argsort(code)
        code, rows = code[order], rows[order]
        orgs = self.instance.expert_org[experts]
        query = apps * n_orgs + orgs
        where = np.minimum(np.searchsorted(code, query), len(code) - 1)
        return np.where((orgs >= 0) & (code[where] == query), rows[where], -1)

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
        org_row = self.org_row_of(self.col_e, self.col_a)
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
        lb[:n_cols] = self.fixed.of(self.col_e, self.col_a)
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
    def solve_lp(self, time_limit: float | None = None) -> LPResult | None:
        """Solve the master LP with HiGHS and return primal values and row duals (for a maximization).

        The model lives on between calls: new columns and organization rows are appended to it and HiGHS
        restarts the simplex from the previous optimal basis, so a pricing round costs a few pivots rather than a
        solve from scratch (see :class:`WarmLP`). With ``time_limit`` (seconds), None when HiGHS reached it
        before the optimum (the next call goes on from where it stopped).
        """
        if self._lp is None:
            self._lp = WarmLP(self)
        return self._lp.solve(time_limit)

    def start_from(self, columns: np.ndarray, shortfall: np.ndarray, rows: np.ndarray) -> bool:
        """Give the next :meth:`solve_lp` a starting basis (before the first solve, no organization rows yet):
        one code per pair column in the master's order, per shortfall column (A·P, application-major) and per
        row (load, pool, panel), each :data:`BASIC`, :data:`AT_LOWER` or :data:`AT_UPPER`. False when HiGHS
        already holds organization rows or the master has a floor variable (no basis is set). HiGHS (1.16)
        takes any basis it is given, one with a basic variable too few or a singular one too, and repairs it
        before the simplex: the solve stays exact (tests/matching/test_draw_start.py)."""
        if self._lp is None:
            self._lp = WarmLP(self)
        return self._lp.start_from(columns, shortfall, rows)

    def solve_lp_primal(self) -> LPResult:
        """:meth:`solve_lp` with HiGHS's primal simplex for this one solve.

        For a master whose last basis was optimal before a few columns were appended: the basis stays primal
        feasible and only the new columns price out, which the primal simplex settles in a few pivots, while the
        dual simplex flips each new boxed column to its upper bound and repairs the flow that breaks (a
        restricted capped master of 1,000 × 5,000 after 6 new columns: 58 primal pivots in 0.1 s against 21 k
        dual ones in 2 s). Not for many new columns at once (a pricing round of the first LP adds tens of
        thousands; docs/matching.md §1 measured primal slower there).
        """
        if self._lp is None:
            self._lp = WarmLP(self)
        highs = self._lp.highs
        highs.setOptionValue("simplex_strategy", 4)               # kSimplexStrategyPrimal
        try:
            return self._lp.solve()
        finally:
            highs.setOptionValue("simplex_strategy", 1)           # kSimplexStrategyDual, HiGHS's default

    def solve_mip(self, time_limit: float | None = None, active: np.ndarray | None = None,
                  ones: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, float, float, bool]:
        """Solve the master with integral pair variables (only the ``active`` columns, when given; the others
        are held at zero; the ``ones`` columns, when given, are held at one).

        Returns
        -------
        x : ndarray, shape (n_columns,)
        shortfall : ndarray, shape (A, P)
        objective : float
        dual_bound : float
            HiGHS's proven bound for this column set (its active part).
        proven : bool
            Whether HiGHS closed its own gap (it may stop at ``time_limit``).

        Raises
        ------
        NoIncumbent
            When the time limit passes before any integer solution is found.
        """
        self.add_org_rows()
        a_ub, b_ub, a_eq, b_eq, cost, lb, ub = self._matrices()
        n_cols = len(self.col_e)
        ub[self.forbidden_columns] = 0.0
        if active is not None:
            ub[:n_cols] = np.where(active, ub[:n_cols], lb[:n_cols])
        if ones is not None:
            lb[:n_cols] = np.where(ones, 1.0, lb[:n_cols])
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
    def application_blocks(self) -> Iterator[slice]:
        """The blocks of applications every pass over all pairs walks (:func:`application_blocks`)."""
        return application_blocks(self.instance)

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
        org_duals: dict[int, list[tuple[int, float]]] = {}
        for (a, o), row in self.org_rows.items():
            if row < len(lp.y_org) and lp.y_org[row] > 0:
                org_duals.setdefault(a, []).append((o, float(lp.y_org[row])))
        for apps in self.application_blocks():
            start = apps.start
            rc = self.weight[:, apps] - lp.y_load[:, None]
            shift = lp.y_pool[apps] + lp.y_panel[apps, None]
            if shift.any():                 # zero at the load prices of a bound pass: an E × block pass saved
                rc -= np.take(shift.T, inst.expert_pool, axis=0)
            if self.has_floor:
                rc += inst.fit[:, apps] * lp.y_floor[None, apps]
            for a in range(apps.start, apps.stop):
                for o, dual in org_duals.get(a, ()):
                    rc[self.org_members[o], a - start] -= dual
            yield apps, rc

    def pair_bound(self, apps: slice, rc: np.ndarray) -> float:
        """The pairs' share of the Lagrangian bound for one block: Σ max(rc, 0)·cap over free allowed pairs plus
        Σ rc over fixed ones."""
        positive = rc > 0
        positive &= self.instance.allowed[:, apps]
        free = float(rc[positive].sum())            # few pairs price out: gathered, not masked in place
        experts, columns = self.fixed.within(apps)
        at_fixed = rc[experts, columns]
        free -= float(at_fixed[positive[experts, columns]].sum())
        return self.pair_cap * free + float(at_fixed.sum())

    @property
    def panel_bound_applies(self) -> bool:
        """Whether :meth:`panel_bound` is a bound of this master's problem: 0/1 pairs and no fit floor."""
        return self.pair_cap == 1.0 and not self.has_floor

    def panel_bound_base(self, lp: LPResult) -> float:
        """The load and organization duals' share of :meth:`panel_bound`: ``Σ u·cap + Σ z·k``."""
        inst = self.instance
        return float(lp.y_load @ inst.load_cap + lp.y_org.sum() * inst.max_per_org)

    def panel_bound(self, apps: slice, rc: np.ndarray | None, lp: LPResult, loads: np.ndarray | None = None) -> float:
        """Each application's best panel by ``fit − u − z`` (pool quotas kept, fixed pairs in), summed over one
        block; with :meth:`panel_bound_base` a bound of every solution of the full problem.

        Relaxing only the load and organization rows with the master's duals ``u`` and ``z`` leaves one small
        problem per application — choose ``n_a`` allowed experts within the pool quotas — solved exactly by
        taking each pool's best ``min_p`` and then the best of the pools' next ones up to ``max_p``. It is the
        Lagrangian bound of :meth:`dual_bound` with the panel and pool duals chosen optimally for ``u`` and
        ``z``, so never larger, and much smaller while the master's own panel and pool duals are far from
        optimal (contended 5,000 × 12,500, third pricing round: 25,954 against 36,570, the master at 25,051).
        ``rc`` is the block's reduced costs for ``lp`` (:meth:`reduced_cost_blocks`), or None where ``lp`` has no
        organization or fit-floor dual: each pool's values are then gathered from the weight and the load duals directly, no
        E × block matrix built (the bound pass at load prices, :func:`matching.solve.panel_bound_at`). With
        ``loads`` (E,), each chosen expert's count is added to it (the subgradient of
        :func:`matching.solve.descend_loads`). Returns +inf when some application cannot be filled at all (then
        only :meth:`dual_bound`, which prices the shortfall, holds).
        """
        inst = self.instance
        if rc is None and (lp.y_org.any() or lp.y_floor.any()):
            raise ValueError("the panel bound at organization or fit-floor duals reads the reduced costs")
        width = apps.stop - apps.start
        fixed_experts, fixed_columns = self.fixed.within(apps)
        required, optional, optional_experts = np.zeros(width), [], []
        for p, members in enumerate(self.pool_members):
            low, high = int(inst.pool_quotas[p, 0]), min(int(inst.pool_quotas[p, 1]), len(members))
            if low > high:
                return np.inf
            if high == 0:
                continue
            in_pool = inst.expert_pool[fixed_experts] == p
            fixed = np.searchsorted(members, fixed_experts[in_pool]), fixed_columns[in_pool]
            best, top = _pool_best(self._pool_values(apps, rc, lp, p, fixed), high)
            required += best[:low].sum(axis=0)
            optional.append(best[low:high]), optional_experts.append(members[top[low:high]])
            if loads is not None:
                loads += np.bincount(members[top[:low]].ravel(), minlength=len(loads))
        rest = np.clip(inst.panel_size[apps] - inst.pool_quotas[:, 0].sum(), 0, None)
        optional = np.concatenate(optional) if optional else np.zeros((0, width))
        if (rest > len(optional)).any():
            return np.inf
        order = np.argsort(-optional, axis=0)
        optional = np.take_along_axis(optional, order, axis=0)
        taken = np.arange(len(optional))[:, None] < rest[None, :]
        panels = required + np.where(taken, optional, 0.0).sum(axis=0)
        if not np.isfinite(panels).all():
            return np.inf
        if loads is not None and len(optional):
            chosen = np.take_along_axis(np.concatenate(optional_experts), order, axis=0)[taken]
            loads += np.bincount(chosen, minlength=len(loads))
        return float((panels - FIXED_BONUS * np.bincount(fixed_columns, minlength=width)).sum())

    def _pool_values(self, apps: slice, rc: np.ndarray | None, lp: LPResult, pool: int,
                     fixed: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """The values :meth:`panel_bound` ranks in one pool: ``rc + y_panel + y_pool`` of the pool's experts
        (a block's rows gathered once), or with no ``rc`` ``weight − y_load`` gathered for them (the same
        ``fit − u`` with no organization dual), plus :data:`FIXED_BONUS` at the ``fixed`` pairs (rows within
        the pool, columns), −inf where a pair is not allowed.

        Built pool by pool in place, where an E × block value matrix took three float64 temporaries, a fixed
        mask and an inverted allowed mask before the pools' rows were gathered from it anyway; gathered from the
        weight, a pass writes no E × block reduced costs either (10,000 × 25,000: 0.84× the CPU s a pass)."""
        members = self.pool_members[pool]
        if rc is None:
            value = self.weight[members, apps] - lp.y_load[members, None]
        else:
            value = rc[members]
            panel, pool_dual = lp.y_panel[apps], lp.y_pool[apps, pool]
            if panel.any():                 # the load prices of a bound pass have neither: two passes saved
                value += panel
            if pool_dual.any():
                value += pool_dual
        value[fixed] += FIXED_BONUS
        np.copyto(value, -np.inf, where=~self.instance.allowed[members, apps])
        return value

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

    def column_reduced_costs(self, lp: LPResult) -> np.ndarray:
        """Reduced cost of every column in the set for the duals of ``lp``, shape (n_columns,)."""
        inst, e, a = self.instance, self.col_e, self.col_a
        rc = self.weight[e, a] - lp.y_load[e] - lp.y_panel[a] - lp.y_pool[a, inst.expert_pool[e]]
        if self.has_floor:
            rc = rc + inst.fit[e, a] * lp.y_floor[a]
        row = self.org_row_of(e, a)
        priced = (row >= 0) & (row < len(lp.y_org))
        rc[priced] -= lp.y_org[row[priced]]
        return rc

    def pairs_priced_at_least(self, lp: LPResult, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """Allowed pairs outside the column set whose reduced cost is at least ``threshold``."""
        experts, apps = [], []
        for block, rc in self.reduced_cost_blocks(lp):
            e, a = np.nonzero(self.instance.allowed[:, block] & ~self.in_set[:, block] & (rc >= threshold))
            experts.append(e), apps.append(a + block.start)
        return np.concatenate(experts), np.concatenate(apps)


def _pool_best(pool_value: np.ndarray, high: int) -> tuple[np.ndarray, np.ndarray]:
    """Each column's ``high`` largest values of ``pool_value`` (a pool's experts × a block of applications), best
    first, and their rows; a NaN never (a slot left without a number holds −inf, row 0); rows tied with the last
    value taken as :func:`_spread_ties` picks them.

    By :func:`~matching.instance.best_first_columns`, which sorts only the entries above a sampled threshold, where
    an ``argpartition`` and a sort along the strided expert axis took 1.3–1.8× the CPU time (docs/matching.md)."""
    n, width = pool_value.shape
    depth = min(high + 1, n)                # one more: where it ties with the last taken, the ties are spread
    columns, rows, ranks = best_first_columns(pool_value, np.full(width, depth))
    best = np.full((depth, width), -np.inf)
    best[ranks, columns] = pool_value[rows, columns]
    top = np.zeros((depth, width), dtype=np.int64)
    top[ranks, columns] = rows
    if depth > high:
        _spread_ties(pool_value, best, top)
    return best[:high], top[:high]


def _spread_ties(pool_value: np.ndarray, best: np.ndarray, top: np.ndarray) -> None:
    """Where the row after the last one taken ties with it (``best``, ``top``: one row deeper than taken), take
    the tied rows from a pseudo-random place in the column, cyclically, instead of the first (``top`` in place).

    The bound is the same whichever tied rows are taken, but the experts counted are the subgradient of
    :func:`matching.solve.descend_loads`: taken by row, every application of a block takes the same tied experts
    and the steps are poorer (contended 5,000 × 12,500, four steps from zero prices: 27,427.22 (no descent at all)
    by row, 27,010.59 spread)."""
    high = best.shape[0] - 1
    edge = best[high - 1]
    spread = np.isfinite(edge) & (best[high] == edge)
    if not spread.any():
        return
    edge = np.where(spread, edge, np.nan)                   # a column not spread ties nowhere
    slots = (best[:high] == edge).sum(axis=0)
    # by column, then by row: a contiguous copy of the transposed mask (a 2-D nonzero of the strided transpose
    # took 3-4x the time, 0.8 s a pass at 10,000 x 25,000 and zero prices)
    columns, rows = nonzero_2d(np.ascontiguousarray((pool_value == edge).T))
    ties = np.bincount(columns, minlength=len(edge))
    starts = np.cumsum(ties) - ties
    column = np.repeat(np.arange(len(edge)), slots)
    j = np.arange(len(column)) - np.repeat(np.cumsum(slots) - slots, slots)
    offset = (column * 0x9E3779B1 % 0xFFFFFFFB) % ties[column]
    top[high - slots[column] + j, column] = rows[starts[column] + (offset + j) % ties[column]]


def largest_magnitude(values: np.ndarray) -> float:
    """``np.abs(values).max()`` (0 for an empty array) without the copy: ``np.abs`` of the fit is a second E × A
    matrix, 3.7 GiB at 20,000 × 50,000."""
    if values.size == 0:
        return 0.0
    return max(float(values.max()), -float(values.min()), 0.0)


class FixedPairs:
    """The fixed pairs of an instance, kept as pairs: an E × A mask would be 1 GB at 20,000 × 50,000."""

    def __init__(self, instance: Instance) -> None:
        self.n_apps, self.n_experts = instance.n_apps, instance.n_experts
        self.pairs = instance.fixed
        self.codes = sorted_distinct(instance.fixed[:, 0].astype(np.int64) * instance.n_apps + instance.fixed[:, 1])

    def of(self, experts: np.ndarray, apps: np.ndarray) -> np.ndarray:
        """Whether each (expert, application) pair is fixed."""
        return np.isin(experts.astype(np.int64) * self.n_apps + apps, self.codes)

    def within(self, apps: slice) -> tuple[np.ndarray, np.ndarray]:
        """The distinct fixed pairs of the applications ``apps``: experts, and columns counted from
        ``apps.start``."""
        experts, apps_of = np.divmod(self.codes, self.n_apps)
        inside = (apps_of >= apps.start) & (apps_of < apps.stop)
        return experts[inside], apps_of[inside] - apps.start


def _org_members(instance: Instance) -> dict[int, np.ndarray]:
    """Organization index → its experts' indices."""
    orgs = instance.expert_org
    order = np.argsort(orgs, kind="stable")
    keys, starts = np.unique(orgs[order], return_index=True)
    groups = np.split(order, starts[1:])
    return {int(k): g for k, g in zip(keys, groups, strict=True) if k >= 0}


_BANNER_LOCK = threading.Lock()


def quiet_highs() -> highspy.Highs:
    """A silent single-threaded HiGHS model.

    HiGHS prints its banner to the process's standard output when the first model is constructed, before any
    option can turn logging off; ``python -m matching`` writes JSON there, so file descriptor 1 points at
    /dev/null during construction.
    """
    with _BANNER_LOCK:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "wb") as devnull:
                os.dup2(devnull.fileno(), 1)
                highs = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    return highs


class WarmLP:
    """The master LP kept alive in one HiGHS model between pricing rounds.

    Columns: the shortfall columns (A·P, application-major), then ``t`` (fair objective only), then the pair
    columns in the master's order. Rows: load (E), pool (A·P, ranged ``[min, max]``), panel (A, equality), fit
    floor (A, ``Σ fit·x − t ≥ floor``, only with a floor), then the organization rows in the order the master
    created them. HiGHS minimizes ``−cost``; duals are turned into the maximization's signs in :meth:`solve`.

    Appending columns leaves the previous basis primal feasible (the new columns enter at zero) and appending an
    organization row leaves it dual feasible (the new slack is basic), so HiGHS's simplex restarts from it.
    """

    def __init__(self, master: Master) -> None:
        # the master owns this model; a strong reference back would make a cycle that keeps the master's
        # column set and this HiGHS model alive after the solve, until the garbage collector happens to run
        self.master = weakref.proxy(master)
        inst = master.instance
        n_e, n_a, n_p = inst.n_experts, inst.n_apps, inst.n_pools
        self.highs = quiet_highs()
        self.pool_base, self.panel_base = n_e, n_e + n_a * n_p
        self.floor_base = self.panel_base + n_a
        self.org_base = self.floor_base + (n_a if master.has_floor else 0)
        self.n_short = n_a * n_p
        self.pair_base = self.n_short + int(master.floor_variable)
        self.synced_columns = 0
        self.synced_org_rows = 0
        self.iterations = 0
        # shortfall columns and t, with no rows yet
        costs = np.full(self.n_short, master.penalty)
        upper = np.repeat(inst.panel_size, n_p).astype(float)
        lower = np.zeros(self.n_short)
        if master.floor_variable:
            costs, lower = np.append(costs, -1.0), np.append(lower, master._t_lower())
            upper = np.append(upper, master._t_upper())
        self.highs.addCols(len(costs), costs, lower, upper, 0, np.zeros(0, np.int32), np.zeros(0, np.int32),
                           np.zeros(0))
        quotas = inst.pool_quotas.astype(float)
        panel = inst.panel_size.astype(float)
        row_lower = [np.full(n_e, -np.inf), np.tile(quotas[:, 0], n_a), panel]
        row_upper = [inst.load_cap.astype(float), np.tile(quotas[:, 1], n_a), panel]
        if master.has_floor:
            row_lower.append(np.zeros(n_a) if master.floor is None else np.asarray(master.floor, dtype=float))
            row_upper.append(np.full(n_a, np.inf))
        # each shortfall column counts toward its pool row and its panel row; t enters the floor rows with −1
        short_app = np.repeat(np.arange(n_a), n_p)
        rows = [self.pool_base + np.arange(self.n_short), self.panel_base + short_app]
        cols = [np.arange(self.n_short)] * 2
        values = [np.ones(self.n_short)] * 2
        if master.floor_variable:
            rows.append(self.floor_base + np.arange(n_a)), cols.append(np.full(n_a, self.n_short))
            values.append(-np.ones(n_a))
        self._add_rows(np.concatenate(row_lower), np.concatenate(row_upper), np.concatenate(rows),
                       np.concatenate(cols), np.concatenate(values))

    def _add_rows(self, lower: np.ndarray, upper: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                  values: np.ndarray, first_row: int = 0) -> None:
        """Append rows ``first_row …`` given as (row, column, value) triplets."""
        matrix = sp.csr_matrix((values, (rows - first_row, cols)), shape=(len(lower), self.highs.getNumCol()))
        self.highs.addRows(len(lower), lower, upper, matrix.nnz, matrix.indptr.astype(np.int32),
                           matrix.indices.astype(np.int32), matrix.data.astype(float))

    def _sync(self) -> None:
        """Push the master's new columns, then its new organization rows, into the HiGHS model."""
        master, inst = self.master, self.master.instance
        new = slice(self.synced_columns, len(master.col_e))
        experts, apps = master.col_e[new], master.col_a[new]
        n = len(experts)
        if n:
            org_row = master.org_row_of(experts, apps)
            org_row = np.where(org_row < self.synced_org_rows, org_row, -1)
            rows = [experts, self.pool_base + apps * inst.n_pools + inst.expert_pool[experts],
                    self.panel_base + apps]
            values = [np.ones(n)] * 3
            if master.has_floor:
                rows.append(self.floor_base + apps), values.append(inst.fit[experts, apps].astype(float))
            limited = np.nonzero(org_row >= 0)[0]
            rows.append(self.org_base + org_row[limited]), values.append(np.ones(len(limited)))
            cols = [np.arange(n)] * (len(rows) - 1) + [limited]
            matrix = sp.csc_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
                                   shape=(self.highs.getNumRow(), n))
            fixed = master.fixed.of(experts, apps).astype(float)
            upper = np.maximum(master.pair_cap, fixed)
            upper[np.isin(np.arange(new.start, new.stop), master.forbidden_columns)] = 0.0
            self.highs.addCols(n, -master.weight[experts, apps].astype(float), fixed, upper, matrix.nnz,
                               matrix.indptr.astype(np.int32), matrix.indices.astype(np.int32),
                               matrix.data.astype(float))
            self.synced_columns = len(master.col_e)
        if len(master.org_rows) > self.synced_org_rows:
            org_row = master.org_row_of(master.col_e, master.col_a)
            members = np.nonzero(org_row >= self.synced_org_rows)[0]
            count = len(master.org_rows) - self.synced_org_rows
            self._add_rows(np.full(count, -np.inf), np.full(count, float(inst.max_per_org)),
                           org_row[members] - self.synced_org_rows, self.pair_base + members,
                           np.ones(len(members)))
            self.synced_org_rows = len(master.org_rows)

    def hold_at_zero(self, columns: np.ndarray) -> None:
        """Fix the given pair columns (master order) at zero; columns not yet in the model are fixed when added
        (``_sync`` reads ``Master.forbidden_columns``)."""
        pushed = columns[columns < self.synced_columns]
        if len(pushed):
            self.highs.changeColsBounds(len(pushed), (self.pair_base + pushed).astype(np.int32),
                                        np.zeros(len(pushed)), np.zeros(len(pushed)))

    def start_from(self, columns: np.ndarray, shortfall: np.ndarray, rows: np.ndarray) -> bool:
        """Set the basis HiGHS starts from (see :meth:`Master.start_from`)."""
        self._sync()
        if self.master.floor_variable or self.synced_org_rows:
            return False
        status = [highspy.HighsBasisStatus.kBasic, highspy.HighsBasisStatus.kLower, highspy.HighsBasisStatus.kUpper]
        basis = highspy.HighsBasis()
        basis.col_status = [status[code] for code in np.concatenate([shortfall, columns]).tolist()]
        basis.row_status = [status[code] for code in np.asarray(rows).tolist()]
        basis.valid = True
        return self.highs.setBasis(basis) == highspy.HighsStatus.kOk

    def release(self, columns: np.ndarray) -> None:
        """Give the given pair columns (master order), held at zero before, their bounds back: ``[1, 1]`` for a
        fixed pair, ``[0, pair_cap]`` for the others (columns not yet in the model get them when added)."""
        pushed = columns[columns < self.synced_columns]
        if len(pushed):
            master = self.master
            fixed = master.fixed.of(master.col_e[pushed], master.col_a[pushed]).astype(float)
            self.highs.changeColsBounds(len(pushed), (self.pair_base + pushed).astype(np.int32), fixed,
                                        np.maximum(master.pair_cap, fixed))

    def solve(self, time_limit: float | None = None) -> LPResult | None:
        """Re-optimize from the last basis and return the solution with duals in the maximization's signs;
        None if ``time_limit`` (seconds) passed first."""
        self._sync()
        # HiGHS compares its time limit with the model's run time summed over every run, not this run's
        limit = np.inf if time_limit is None else self.highs.getRunTime() + max(float(time_limit), 0.0)
        self.highs.setOptionValue("time_limit", limit)
        self.highs.run()
        self.iterations += self.highs.getInfo().simplex_iteration_count
        if self.highs.getModelStatus() == highspy.HighsModelStatus.kTimeLimit:
            return None
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            self.highs.clearSolver()            # numerical trouble: one retry from scratch
            self.highs.run()
        status = self.highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"master LP failed: {self.highs.modelStatusToString(status)}")
        solution = self.highs.getSolution()
        values = np.asarray(solution.col_value)
        dual = -np.asarray(solution.row_dual)
        master, inst = self.master, self.master.instance
        n_e, n_a, n_p = inst.n_experts, inst.n_apps, inst.n_pools
        objective = -self.highs.getInfo().objective_function_value
        return LPResult(
            x=values[self.pair_base:], shortfall=values[:self.n_short].reshape(n_a, n_p),
            t=float(values[self.n_short]) if master.floor_variable else 0.0, objective=objective,
            y_load=np.maximum(dual[:n_e], 0.0), y_panel=dual[self.panel_base:self.panel_base + n_a],
            y_pool=dual[self.pool_base:self.panel_base].reshape(n_a, n_p),
            y_org=np.maximum(dual[self.org_base:], 0.0),
            y_floor=np.maximum(-dual[self.floor_base:self.org_base], 0.0) if master.has_floor else np.zeros(n_a),
        )
