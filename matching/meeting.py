"""Meeting mode (会评): panels of experts who review a group of same-sector applications together.

Two steps. Grouping is a heuristic: within each sector, applications are ordered by field and cut into the fewest
groups of at most ``max_applications_per_panel``, with sizes as equal as possible (so same-field applications
share a panel). Choosing the experts is exact: one MILP over every (expert, group) pair decides who sits on which
panel, with

* each expert on at most one panel per round;
* a member conflicted with one application recuses from that one only, so for *every* application the members
  who are not recused must number at least ``panel_size`` and satisfy each pool's [min, max];
* at most ``max_per_org`` members of one organization on a panel;
* a panel has ``panel_size`` members, or up to ``extra_seats`` more when recusals make that necessary — extra
  seats cost more than any fit they bring, so they are only used when the panel could not be filled otherwise;
* objective: the total fit over (member, application) pairs the member actually reviews.

The LP relaxation is solved first; when it is integral (as on every benchmark instance) it is the proven
optimum. Otherwise HiGHS solves the MILP (``bound`` is its dual bound); a time limit can leave a reported gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from matching.instance import Instance

EXTRA_SEATS = 2
"""Members a panel may have beyond ``panel_size`` so that recusals still leave every application its minimum."""


@dataclass
class MeetingSolution:
    """Meeting-mode panels.

    Attributes
    ----------
    status : str
        ``optimal``, ``feasible`` (gap left by a time limit), ``time_limit`` (no panels found in time) or
        ``infeasible``.
    groups : list of ndarray
        Application indices of each panel.
    members : list of ndarray
        Expert indices of each panel.
    recusals : list of (int, int)
        (expert, application) pairs where a member sits on the panel but does not review that application.
    objective : float
        Total fit over reviewed (member, application) pairs.
    bound : float or None
    """

    status: str
    groups: list[np.ndarray]
    members: list[np.ndarray]
    recusals: list[tuple[int, int]]
    objective: float
    bound: float | None

    def assigned(self, shape: tuple[int, int]) -> np.ndarray:
        """Who reviews what, shape (E, A): every member reviews every application of the panel not recused from."""
        result = np.zeros(shape, dtype=bool)
        for group, members in zip(self.groups, self.members, strict=True):
            result[np.ix_(members, group)] = True
        for e, a in self.recusals:
            result[e, a] = False
        return result


def group_applications(sectors: Sequence[str], fields: Sequence[str], max_per_panel: int) -> list[np.ndarray]:
    """Same-sector groups of at most ``max_per_panel`` applications, same fields kept together.

    Returns
    -------
    list of ndarray
        Application indices per group, sectors in order of first appearance.
    """
    groups = []
    for sector in dict.fromkeys(sectors):
        members = [a for a, s in enumerate(sectors) if s == sector]
        members.sort(key=lambda a: (fields[a], a))
        n_groups = -(-len(members) // max_per_panel)
        groups += [np.array(chunk, dtype=int) for chunk in np.array_split(np.array(members), n_groups)]
    return groups


def solve_meeting(instance: Instance, groups: list[np.ndarray], *, extra_seats: int = EXTRA_SEATS,
                  time_limit: float | None = None) -> MeetingSolution:
    """Choose every panel's members optimally (see the module docstring).

    Parameters
    ----------
    instance : Instance
        ``allowed`` marks who may review which application (a disallowed member recuses); ``fixed`` pairs put
        the expert on that application's panel (and the pair must be allowed).
    groups : list of ndarray
        Application indices of each panel (from :func:`group_applications`).
    """
    group_of = np.full(instance.n_apps, -1)
    for g, apps in enumerate(groups):
        group_of[apps] = g
    # a candidate (expert, group) column: the expert can review at least one application of the group
    reviewable = np.stack([instance.allowed[:, apps].any(axis=1) for apps in groups], axis=1)     # (E, G)
    col_e, col_g = np.nonzero(reviewable)
    n_cols, n_groups = len(col_e), len(groups)
    fit_sum = np.array([(instance.fit[e, groups[g]] * instance.allowed[e, groups[g]]).sum()
                        for e, g in zip(col_e, col_g, strict=True)])
    seat_cost = 1.0 + fit_sum.max(initial=0.0) * 2
    rows = _Rows(n_cols + n_groups)
    rows.add(col_e, np.arange(n_cols), np.ones(n_cols), -np.inf, 1.0, per=instance.n_experts)   # one panel each
    # panel size: Σ y − extra_g = panel_size (extra_g ∈ [0, extra_seats])
    size = np.array([instance.panel_size[apps].max() for apps in groups], dtype=float)
    rows.add_block(np.concatenate([col_g, np.arange(n_groups)]),
                   np.concatenate([np.arange(n_cols), n_cols + np.arange(n_groups)]),
                   np.concatenate([np.ones(n_cols), -np.ones(n_groups)]), size, size, n_groups)
    for g, apps in enumerate(groups):
        cols = np.nonzero(col_g == g)[0]
        experts = col_e[cols]
        for a in apps:
            reviews = instance.allowed[experts, a]
            rows.row(cols[reviews], instance.panel_size[a], np.inf)
            for p, (low, high) in enumerate(instance.pool_quotas):
                in_pool = reviews & (instance.expert_pool[experts] == p)
                rows.row(cols[in_pool], low, high)
        orgs = instance.expert_org[experts]
        for o in np.unique(orgs[orgs >= 0]):
            if (orgs == o).sum() > instance.max_per_org:
                rows.row(cols[orgs == o], -np.inf, instance.max_per_org)
    lower = np.zeros(n_cols + n_groups)
    upper = np.concatenate([np.ones(n_cols), np.full(n_groups, float(extra_seats))])
    position = {(int(e), int(g)): j for j, (e, g) in enumerate(zip(col_e, col_g, strict=True))}
    for e, a in instance.fixed:
        j = position.get((int(e), int(group_of[a])))
        if j is None or not instance.allowed[e, a]:
            return MeetingSolution("infeasible", groups, [], [], 0.0, None)
        lower[j] = 1.0
    cost = np.concatenate([fit_sum, np.full(n_groups, -seat_cost)])
    x, value_bound, proven, status = _solve(cost, lower, upper, rows.constraint(), time_limit)
    if x is None:
        return MeetingSolution(status, groups, [], [], 0.0, None)
    chosen = x[:n_cols] > 0.5
    members = [np.sort(col_e[chosen & (col_g == g)]) for g in range(n_groups)]
    recusals = [(int(e), int(a)) for g, apps in enumerate(groups) for e in members[g] for a in apps
                if not instance.allowed[e, a]]
    objective = float(fit_sum[chosen].sum())
    bound = value_bound + float(x[n_cols:].round().sum()) * seat_cost
    status = "optimal" if proven and bound - objective <= 1e-6 * max(1.0, objective) else "feasible"
    return MeetingSolution(status, groups, members, recusals, objective, max(bound, objective))


def _solve(cost: np.ndarray, lower: np.ndarray, upper: np.ndarray, constraint: LinearConstraint,
           time_limit: float | None) -> tuple[np.ndarray | None, float, bool, str]:
    """The LP relaxation first — at the benchmark's M size it is integral and takes 2 s where HiGHS's MIP
    machinery took 95 s to reach the same vertex — then the MIP only if the LP is fractional.

    Returns ``(x, bound on the objective, proven, status)``; ``x`` is None when nothing was found.
    """
    bounds = Bounds(lower, upper)
    relaxed = milp(-cost, integrality=np.zeros(len(cost)), bounds=bounds, constraints=constraint)
    if relaxed.x is None:
        return None, np.nan, False, "infeasible"
    if np.all(np.abs(relaxed.x - np.round(relaxed.x)) < 1e-7):
        return np.round(relaxed.x), -float(relaxed.fun), True, "optimal"
    options = {"mip_rel_gap": 1e-9}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    res = milp(-cost, integrality=np.ones(len(cost)), bounds=bounds, constraints=constraint, options=options)
    if res.x is None:
        return None, np.nan, False, "time_limit" if res.status == 1 else "infeasible"
    return res.x, -float(getattr(res, "mip_dual_bound", res.fun)), res.status == 0, "optimal"


class _Rows:
    """Sparse constraint rows collected one at a time: (row, column, value) triplets with [lower, upper]."""

    def __init__(self, n_columns: int) -> None:
        self.n_columns = n_columns
        self.rows, self.cols, self.vals, self.lower, self.upper = [], [], [], [], []

    def row(self, cols: np.ndarray, low: float, high: float) -> None:
        self.add_block(np.zeros(len(cols), dtype=int), cols, np.ones(len(cols)), [low], [high], 1)

    def add(self, row_of: np.ndarray, cols: np.ndarray, vals: np.ndarray, low: float, high: float,
            per: int) -> None:
        self.add_block(row_of, cols, vals, np.full(per, low), np.full(per, high), per)

    def add_block(self, row_of, cols, vals, low, high, n_rows: int) -> None:
        base = len(self.lower)
        self.rows.append(np.asarray(row_of) + base), self.cols.append(np.asarray(cols))
        self.vals.append(np.asarray(vals, dtype=float))
        self.lower += list(np.broadcast_to(low, n_rows))
        self.upper += list(np.broadcast_to(high, n_rows))

    def constraint(self) -> LinearConstraint:
        matrix = sp.csr_matrix((np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
                               shape=(len(self.lower), self.n_columns))
        return LinearConstraint(matrix, np.array(self.lower, dtype=float), np.array(self.upper, dtype=float))
