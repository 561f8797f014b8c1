"""Reserves (备选专家) and replacement: who can step in for a panel member without moving anybody else.

A reserve for application ``a`` is an expert who could take the seat of at least one current member while every
rule still holds with the rest of the assignment unchanged: the pair is allowed (never a conflicted expert —
OpenReview's matcher lists conflicted reviewers among its alternates; we must not), the expert has load headroom,
the organization limit holds once the member has left, and the pool quotas hold after the swap. Reserves are
ranked by fit. :func:`replace` performs one such swap for a member who declined or recused.
"""

from __future__ import annotations

import numpy as np

from matching.instance import (
    REPORT_BLOCK,
    Assignment,
    Instance,
    Panels,
    as_panels,
    best_first,
    best_first_columns,
)


class NoReplacement(ValueError):
    """No expert can take the seat without breaking a rule (the message says which application and member)."""


def replacement_mask(instance: Instance, assigned: Assignment, application: int, leaving: int,
                     load: np.ndarray | None = None) -> np.ndarray:
    """Experts who can take ``leaving``'s seat on ``application``'s panel, everyone else staying put.

    Parameters
    ----------
    instance : Instance
    assigned : Panels, or ndarray of shape (E, A), bool
        The assignment; as Panels the work is in proportion to E and the seats, never E × A.
    application, leaving : int
        Column of the application and row of the member who leaves.
    load : ndarray, shape (E,), optional
        Applications each expert sits on, when the caller already has it (else counted from ``assigned``).

    Returns
    -------
    ndarray, shape (E,), bool
    """
    a = application
    panel = _panel(assigned, a, instance.n_experts)
    load = _loads(assigned, instance.n_experts) if load is None else load
    candidate = instance.allowed[:, a] & ~panel & (load < instance.load_cap)
    org = instance.expert_org
    staying = panel.copy()
    staying[leaving] = False
    org_on_panel = np.bincount(org[staying & (org >= 0)], minlength=max(int(org.max(initial=-1)) + 1, 1))
    org_ok = (org < 0) | (org_on_panel[np.maximum(org, 0)] < instance.max_per_org)
    pool = instance.expert_pool
    counts = np.bincount(pool[panel], minlength=instance.n_pools)
    low, high = instance.pool_quotas[:, 0], instance.pool_quotas[:, 1]
    old = pool[leaving]
    pool_ok = (pool == old) | ((counts[old] - 1 >= low[old]) & (counts[pool] + 1 <= high[pool]))
    return candidate & org_ok & pool_ok


def _panel(assigned: Assignment, a: int, n_experts: int) -> np.ndarray:
    """Application ``a``'s members as a bool mask over the experts, shape (E,)."""
    if not isinstance(assigned, Panels):
        return assigned[:, a]
    panel = np.zeros(n_experts, dtype=bool)
    panel[assigned.members(a)] = True
    return panel


def _loads(assigned: Assignment, n_experts: int) -> np.ndarray:
    """Applications each expert sits on, shape (E,)."""
    return assigned.loads(n_experts) if isinstance(assigned, Panels) else assigned.sum(axis=1)


def reserve_list(instance: Instance, assigned: Assignment, application: int, count: int,
                 load: np.ndarray | None = None) -> np.ndarray:
    """Up to ``count`` reserves for one application, best fit first (ties by expert order).

    ``load`` as in :func:`replacement_mask`.

    Returns
    -------
    ndarray, shape (≤ count,), int
        Expert indices; each can replace at least one current member (see the module docstring).
    """
    load = _loads(assigned, instance.n_experts) if load is None else load
    members = np.nonzero(_panel(assigned, application, instance.n_experts))[0]
    usable = np.zeros(instance.n_experts, dtype=bool)
    for member in members:
        usable |= replacement_mask(instance, assigned, application, member, load)
    ranked = np.nonzero(usable)[0]
    return best_first(ranked, instance.fit[ranked, application], count)


def all_reserves(instance: Instance, assigned: Assignment, count: int, *,
                 block: int = REPORT_BLOCK) -> list[np.ndarray]:
    """:func:`reserve_list` for every application, in column order, ranked a block of applications at a time.

    Per block, the pairs that are allowed, unassigned and within the expert's load keep their fit (the others
    -inf); each application's best ``2 · count + 2 · panel`` of them are checked against its members (the
    organization limit and the pool quotas, :func:`can_replace`), and only an application where too few pass
    has more of its column ranked and checked, :data:`WIDENING` times as many each time, until enough pass or
    none is left. The cost is a partition of the fit per block plus work proportional to the candidates
    checked, never a pass over every pair per application.

    Parameters
    ----------
    assigned : Panels, or ndarray of shape (E, A), bool
        The assignment (a matrix is read into its panels with one pass over it).
    block : int
        Most pairs ranked at a time (:data:`matching.instance.REPORT_BLOCK`).
    """
    n_experts, n_apps = instance.fit.shape
    result = [np.zeros(0, dtype=np.int64)] * n_apps
    if count <= 0 or n_experts == 0:
        return result
    panels = as_panels(assigned)
    headroom = panels.loads(n_experts) < instance.load_cap
    pool_counts = panels.pool_counts(instance.expert_pool, instance.n_pools)
    width = max(1, block // n_experts)
    for start in range(0, n_apps, width):
        apps = np.arange(start, min(start + width, n_apps))
        open_pairs = instance.allowed[:, apps[0]:apps[-1] + 1]         # unpacked: a copy
        seated = panels.table[apps]
        open_pairs[seated[seated >= 0], np.nonzero(seated >= 0)[0]] = False
        values = np.where(open_pairs & headroom[:, None], instance.fit[:, apps[0]:apps[-1] + 1], -np.inf)
        wanted = np.full(len(apps), 2 * count + 2 * panels.table.shape[1])
        chosen = _first_replacing(instance, panels, pool_counts, apps, values, wanted, count)
        short = np.array([c for c in range(len(apps)) if len(chosen[c]) < count], dtype=np.int64)
        while True:       # a column whose best candidates cannot replace enough members ranks more of them
            short = short[np.isfinite(values[:, short]).sum(axis=0) > wanted[short]]
            if not len(short):
                break
            wanted[short] = np.minimum(wanted[short] * WIDENING, n_experts)
            rest = _first_replacing(instance, panels, pool_counts, apps[short], values[:, short], wanted[short], count)
            for r, experts in zip(short.tolist(), rest, strict=True):
                chosen[r] = experts
            short = short[np.array([len(experts) < count for experts in rest], dtype=bool)]
        result[start:start + len(apps)] = chosen
    return result


WIDENING = 8
"""How many times more candidates :func:`all_reserves` ranks for an application whose best ones could not
replace enough members. The first candidates of a wider ranking are the narrower ranking's (fit descending,
ties by expert), so the reserves are the same as those of one ranking of the whole column, which sorted every
open pair of such an application: at 10,000 × 25,000, 346 applications of 25,000 needed more than their first
candidates, and one widening found their reserves (all_reserves 2.91–2.98 → 1.63–1.65 CPU s)."""


def _first_replacing(instance: Instance, panels: Panels, pool_counts: np.ndarray, apps: np.ndarray,
                     values: np.ndarray, wanted: np.ndarray, count: int) -> list[np.ndarray]:
    """Per column of ``values`` (experts × ``apps``: fits, -inf where the expert cannot be a reserve), the first
    ``count`` of its best ``wanted`` candidates who can replace some member."""
    rows, experts, _ = best_first_columns(values, wanted)
    finite = np.isfinite(values[experts, rows])
    rows, experts = rows[finite], experts[finite]
    usable = can_replace(instance, panels, pool_counts, apps[rows], experts)
    rows, experts = rows[usable], experts[usable]
    ranks = np.arange(len(rows)) - np.searchsorted(rows, rows)
    keep = ranks < count
    rows, experts = rows[keep], experts[keep]
    bounds = np.searchsorted(rows, np.arange(len(apps) + 1))
    return [experts[bounds[r]:bounds[r + 1]] for r in range(len(apps))]


def can_replace(instance: Instance, panels: Panels, pool_counts: np.ndarray, apps: np.ndarray,
                experts: np.ndarray) -> np.ndarray:
    """For each pair ``(experts[i], apps[i])`` — allowed, unassigned, within load — whether the expert could take
    some member's seat: the organization limit holds once that member has left and the pool quotas hold after
    the swap (the rules of :func:`replacement_mask`, for many pairs at once).

    Returns
    -------
    ndarray, shape (len(experts),), bool
    """
    members = panels.table[apps]                                        # (N, largest panel), -1 padded
    seated = members >= 0
    member = np.maximum(members, 0)
    org = instance.expert_org[experts][:, None]
    same_org = seated & (org >= 0) & (instance.expert_org[member] == org)
    colleagues = same_org.sum(axis=1)[:, None]
    org_ok = (org < 0) | (colleagues - same_org < instance.max_per_org)
    pool = instance.expert_pool[experts][:, None]
    old = instance.expert_pool[member]
    low, high = instance.pool_quotas[:, 0], instance.pool_quotas[:, 1]
    rows = apps[:, None]
    pool_ok = (old == pool) | ((pool_counts[rows, old] - 1 >= low[old]) & (pool_counts[rows, pool] + 1 <= high[pool]))
    return (seated & org_ok & pool_ok).any(axis=1)


def replace(instance: Instance, assigned: np.ndarray, application: int, expert: int,
            *, excluded: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Swap ``expert`` out of ``application``'s panel for the best feasible reserve; nobody else moves.

    Parameters
    ----------
    excluded : ndarray, shape (E,), bool, optional
        Experts who must not be chosen (e.g. those who already declined this application).

    Returns
    -------
    assigned : ndarray, shape (E, A), bool
        A new assignment; the input is not modified.
    incoming : int
        The expert who took the seat.

    Raises
    ------
    NoReplacement
        If ``expert`` is not on the panel or nobody can take the seat.
    """
    if not assigned[expert, application]:
        raise NoReplacement(f"expert {expert} is not on the panel of application {application}")
    usable = replacement_mask(instance, assigned, application, expert)
    if excluded is not None:
        usable &= ~excluded
    if not usable.any():
        raise NoReplacement(f"no expert can replace expert {expert} on application {application}")
    incoming = int(np.argmax(np.where(usable, instance.fit[:, application], -np.inf)))
    result = assigned.copy()
    result[expert, application] = False
    result[incoming, application] = True
    return result, incoming


def exchange(instance: Instance, assigned: np.ndarray, application: int, expert: int
             ) -> tuple[np.ndarray, int, int] | None:
    """Move ``expert`` off ``application``'s panel by trading seats with a member of another panel: ``expert``
    takes that member's seat there, the member takes ``expert``'s seat here; nobody else moves.

    Where :func:`replace` finds no free expert for the seat (every candidate at the load cap, or of an
    organization the panel already holds), a trade keeps both loads as they were. It must keep every rule on
    both panels: both pairs allowed and neither already seated, the organization limit and the pool quotas on
    each panel after the trade; a fixed pair never moves. Among the trades that do, the one losing the least
    fit (``fit[member, application] + fit[expert, other] − fit[expert, application] − fit[member, other]``
    largest; ties by member, then panel, in index order).

    Returns
    -------
    (assigned, member, other) or None
        A new assignment (the input is not modified), the member who came in and the panel ``expert`` joined;
        None when no trade keeps every rule.
    """
    a, x = application, expert
    fixed = np.zeros(assigned.shape, dtype=bool)
    fixed[instance.fixed[:, 0], instance.fixed[:, 1]] = True
    if not assigned[x, a] or fixed[x, a]:
        return None
    members, panels = np.nonzero(assigned & ~fixed)          # candidate (member y, panel b) pairs
    keep = (panels != a) & ~assigned[x, panels] & ~assigned[members, a] & instance.allowed[x, panels] \
        & instance.allowed[members, a]
    members, panels = members[keep], panels[keep]
    org, pool = instance.expert_org, instance.expert_pool
    low, high = instance.pool_quotas[:, 0], instance.pool_quotas[:, 1]
    same_org = (org[x] >= 0) & (org[members] == org[x])
    # Panel a: x leaves, y joins.
    here = assigned[:, a]
    org_here = np.bincount(org[here & (org >= 0)], minlength=max(int(org.max(initial=-1)) + 1, 1))
    joining_here = (org[members] < 0) | (org_here[np.maximum(org[members], 0)] - same_org + 1 <= instance.max_per_org)
    pools_here = np.bincount(pool[here], minlength=instance.n_pools)
    same_pool = pool[members] == pool[x]
    pool_here = same_pool | ((pools_here[pool[x]] - 1 >= low[pool[x]]) & (pools_here[pool[members]] + 1 <= high[pool[members]]))
    # Panel b: y leaves, x joins.
    if org[x] >= 0:
        org_there = assigned[org == org[x]].sum(axis=0)[panels]
        joining_there = org_there - same_org + 1 <= instance.max_per_org
    else:
        joining_there = np.ones(len(panels), dtype=bool)
    pool_counts = np.stack([assigned[pool == p].sum(axis=0) for p in range(instance.n_pools)], axis=1)
    there = pool_counts[panels]
    rows = np.arange(len(panels))
    pool_there = same_pool | ((there[rows, pool[members]] - 1 >= low[pool[members]])
                              & (there[rows, pool[x]] + 1 <= high[pool[x]]))
    ok = joining_here & pool_here & joining_there & pool_there
    if not ok.any():
        return None
    fit = instance.fit
    gain = np.where(ok, fit[members, a] + fit[x, panels] - fit[x, a] - fit[members, panels], -np.inf)
    best = int(np.argmax(gain))
    y, b = int(members[best]), int(panels[best])
    result = assigned.copy()
    result[x, a] = result[y, b] = False
    result[y, a] = result[x, b] = True
    return result, y, b
