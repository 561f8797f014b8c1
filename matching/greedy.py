"""Greedy panels and the first columns a solve starts from.

Column generation (:mod:`matching.solve`) needs a first master that is feasible and near the optimum, and a
time-limited solve needs an answer before any LP: both come from here. :func:`greedy_panels` fills one
application after another with the best experts still under their load cap (it is also the answer of last
resort under a time limit); :func:`initial_candidates` adds to its pairs each (application, pool)'s best experts
by fit less an estimated load price (:func:`shortlists`, :func:`load_prices`) and a few experts dealt evenly over
each pool (:func:`spread`). :func:`ranked_for_panel` and :func:`fill_seats` are shared with the mending of a
time-limited answer, which refills the seats it empties the same way.
"""

from __future__ import annotations

import numpy as np

from matching.instance import Instance, best_first
from matching.lp import PRICING_BLOCK

LIST_DEPTH = 40
"""Experts per (application, pool) the load prices are estimated over (:func:`load_prices`)."""

SPREAD = 5
"""Extra first columns per (application, pool), dealt round-robin over the pool's experts (:func:`spread`)."""


def initial_candidates(instance: Instance, weight: np.ndarray, per_pool: int,
                       greedy: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The master's first columns: for each application and pool, the ``per_pool`` best allowed experts by
    ``weight`` less the estimated load price (:func:`load_prices`), :data:`SPREAD` more dealt round-robin over
    the pool (:func:`spread`), the pairs of greedy panels that respect the loads (:func:`greedy_panels`, or
    ``greedy`` when the caller has them already), plus the fixed pairs.

    Returns
    -------
    experts, apps : ndarray, shape (K,)
    """
    lists = shortlists(instance, weight, max(per_pool, LIST_DEPTH))
    prices = load_prices(instance, weight, lists)
    valid = lists >= 0
    experts = np.where(valid, lists, 0)
    scores = np.where(valid, weight[experts, np.arange(instance.n_apps)[:, None, None]] - prices[experts], -np.inf)
    order = np.argsort(-scores, axis=2, kind="stable")[:, :, :per_pool]
    chosen = np.take_along_axis(lists, order, axis=2)
    apps = np.broadcast_to(np.arange(instance.n_apps)[:, None, None], chosen.shape)
    keep = chosen >= 0
    dealt_experts, dealt_apps = spread(instance, SPREAD)
    greedy_experts, greedy_apps = greedy_panels(instance, weight) if greedy is None else greedy
    return (np.concatenate([instance.fixed[:, 0], chosen[keep], dealt_experts, greedy_experts]).astype(np.int64),
            np.concatenate([instance.fixed[:, 1], apps[keep], dealt_apps, greedy_apps]).astype(np.int64))


GREEDY_DEPTH = 40
"""Best experts per application :func:`greedy_panels` looks at (the panel is filled from these)."""

GREEDY_POOL_DEPTH = 20
"""Best experts of each pool :func:`greedy_panels` also looks at, for the pool minimums."""


def greedy_panels(instance: Instance, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Panels filled one application after another, each seat by the best expert still under their load cap
    (pool minimums first, then the other seats up to the pool maximums, at most ``max_per_org`` per
    organization; fixed pairs are not treated specially).

    These pairs are first columns, nothing more: the proof never relies on them. On a contended round the
    shortlists of :func:`initial_candidates` name the same few specialists for every application of a popular
    field, the first master can only fill the panels from the round-robin columns, and pricing then climbs from
    there over many rounds (contended 1,000 × 5,000: first LP 4,649 against an optimum of 5,263, 18 rounds).
    Greedy panels respect the loads, so the first master already holds a solution within a fraction of a
    percent of the optimum and its duals price the right pairs from the first round (figures in
    docs/matching.md).

    Returns
    -------
    experts, apps : ndarray, shape (K,)
    """
    # experts in pool order, so that each pool is one slice of a row (no gather per application and pool)
    order = np.argsort(instance.expert_pool, kind="stable")
    edges = np.searchsorted(instance.expert_pool[order], np.arange(instance.n_pools + 1))
    pools = [slice(int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    cap = instance.load_cap[order]
    load = np.zeros(instance.n_experts, dtype=np.int64)       # in pool order
    position = np.empty(instance.n_experts, dtype=np.int64)
    position[order] = np.arange(instance.n_experts)
    experts_out, apps_out = [], []
    width = max(1, PRICING_BLOCK // max(instance.n_experts, 1))
    for start in range(0, instance.n_apps, width):
        stop = min(instance.n_apps, start + width)
        # read in the matrix's own order, then the experts put in pool order while transposing: gathering the
        # rows of both matrices in pool order first took 2.5 times as long (75 against 29 ms a block at XL)
        scores = np.where(instance.allowed[:, start:stop], weight[:, start:stop], np.float32(-np.inf))
        scores = np.take(scores.T, order, axis=1)
        scores[:, load >= cap] = -np.inf         # full experts struck out once a block, not once a panel
        for a in range(start, stop):
            chosen = fill_seats(instance, a, order[_ranked_by_pool(scores[a - start], pools)], NO_PANEL, reserve=False)
            seats = position[chosen]
            load[seats] += 1
            scores[a - start + 1:, seats[load[seats] >= cap[seats]]] = -np.inf
            experts_out.append(chosen), apps_out.append(np.full(len(chosen), a))
    if not experts_out:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(experts_out), np.concatenate(apps_out)


def ranked_for_panel(row: np.ndarray, members: list[np.ndarray]) -> np.ndarray:
    """The :data:`GREEDY_DEPTH` best experts of ``row``, and each pool's :data:`GREEDY_POOL_DEPTH` best, best
    first.

    The pools' own best are there for the pool minimums: on a round where most specialists are already full
    (5,000 × 12,500 contended, where the panels need 70 % of all load), the best forty available experts
    often held nobody of some pool, and greedy panels broke 2,632 pool minimums (each pool's best five: 68,
    their organizations already on the panel).
    """
    pools = [m[_best_first(row[m], GREEDY_POOL_DEPTH)] for m in members]
    ranked = np.unique(np.concatenate([_best_first(row, GREEDY_DEPTH), *pools]))
    return ranked[np.argsort(-row[ranked], kind="stable")]


def _ranked_by_pool(row: np.ndarray, pools: list[slice]) -> np.ndarray:
    """:func:`ranked_for_panel` for a row whose pools are slices: each pool's :data:`GREEDY_DEPTH` best (one pass over
    the row in all), of which the :data:`GREEDY_DEPTH` best overall and each pool's :data:`GREEDY_POOL_DEPTH`
    best, best first (the best overall are among the pools' best, so no second pass over the row)."""
    tops = [pool.start + _best_first(row[pool], GREEDY_DEPTH) for pool in pools]
    listed = np.concatenate(tops)
    overall = listed[np.argsort(-row[listed], kind="stable")[:GREEDY_DEPTH]]
    ranked = np.unique(np.concatenate([overall, *(top[:GREEDY_POOL_DEPTH] for top in tops)]))
    return ranked[np.argsort(-row[ranked], kind="stable")]


def _best_first(scores: np.ndarray, depth: int) -> np.ndarray:
    """Indices of the ``depth`` highest finite scores, best first, ties by index
    (:func:`~matching.instance.best_first`, less the experts struck out at −inf)."""
    top = best_first(np.arange(len(scores)), scores, depth)
    return top[np.isfinite(scores[top])]


NO_PANEL = np.zeros(0, dtype=np.int64)


def fill_seats(instance: Instance, a: int, ranked: np.ndarray, panel: np.ndarray, *, reserve: bool) -> np.ndarray:
    """Experts from ``ranked`` for application ``a``'s seats left empty by ``panel``: pool minimums first, then
    any pool under its maximum, skipping experts whose organization the panel cannot take. With ``reserve``,
    the second pass leaves a seat for each minimum still unmet (a refill of a mended panel)."""
    quotas = instance.pool_quotas
    taken = np.bincount(instance.expert_pool[panel], minlength=instance.n_pools)
    per_org: dict[int, int] = {}
    if len(panel):                          # a greedy panel starts empty: one per application, kept cheap
        orgs = instance.expert_org[panel]
        per_org = dict(zip(*np.unique(orgs[orgs >= 0], return_counts=True), strict=True))
    chosen: list[int] = []
    for upto_maximum, limit in enumerate((quotas[:, 0], quotas[:, 1])):
        for e in ranked.tolist():
            kept = np.clip(quotas[:, 0] - taken, 0, None).sum() if upto_maximum and reserve else 0
            if len(panel) + len(chosen) >= instance.panel_size[a] - kept:
                break
            pool, org = int(instance.expert_pool[e]), int(instance.expert_org[e])
            full_org = org >= 0 and per_org.get(org, 0) >= instance.max_per_org
            if taken[pool] >= limit[pool] or e in chosen or full_org:
                continue
            chosen.append(e)
            taken[pool] += 1
            if org >= 0:
                per_org[org] = per_org.get(org, 0) + 1
    return np.array(chosen, dtype=np.int64)


def spread(instance: Instance, per_pool: int) -> tuple[np.ndarray, np.ndarray]:
    """``per_pool`` allowed experts of each pool per application, dealt round-robin so that every expert gets
    about the same number of applications.

    On a contended round the best experts by fit are the same few for every application of a popular field;
    a master holding only those cannot fill its panels within the loads, and its first rounds are spent at
    the shortfall penalty, pricing for feasibility (five rounds of ten on a 300 × 1,500 contended round).
    Evenly dealt columns make the first master feasible; those it does not need stay at zero.

    Returns
    -------
    experts, apps : ndarray, shape (K,)
    """
    experts_out, apps_out = [], []
    for p in range(instance.n_pools):
        members = np.nonzero(instance.expert_pool == p)[0]
        if len(members) == 0:
            continue
        slots = np.arange(instance.n_apps * per_pool)
        experts = members[slots % len(members)]
        apps = slots // per_pool
        keep = instance.allowed[experts, apps]
        experts_out.append(experts[keep]), apps_out.append(apps[keep])
    if not experts_out:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(experts_out), np.concatenate(apps_out)


def shortlists(instance: Instance, weight: np.ndarray, depth: int) -> np.ndarray:
    """The ``depth`` highest-weight allowed experts of each pool for each application, best first.

    Returns
    -------
    ndarray of int, shape (A, P, depth)
        Expert indices, −1 where a pool has fewer allowed experts.
    """
    out = np.full((instance.n_apps, instance.n_pools, depth), -1, dtype=np.int64)
    width = max(1, PRICING_BLOCK // max(instance.n_experts, 1))
    for p in range(instance.n_pools):
        members = np.nonzero(instance.expert_pool == p)[0]
        k = min(depth, len(members))
        for start in range(0, instance.n_apps if k else 0, width):
            block = slice(start, min(instance.n_apps, start + width))
            scores = np.where(instance.allowed[members, block], weight[members, block], -np.inf)
            top = np.argpartition(-scores, k - 1, axis=0)[:k] if k < len(members) else \
                np.broadcast_to(np.arange(k)[:, None], (k, scores.shape[1]))
            columns = np.arange(scores.shape[1])
            order = np.argsort(-scores[top, columns], axis=0, kind="stable")
            top = np.take_along_axis(top, order, axis=0)
            chosen = np.where(np.isfinite(scores[top, columns]), members[top], -1)
            out[block, p, :k] = chosen.T
    return out


def load_prices(instance: Instance, weight: np.ndarray, lists: np.ndarray, iterations: int = 30) -> np.ndarray:
    """Estimated load duals: what each expert's scarcity is worth, by a subgradient method on the loads.

    Relaxing the load caps with prices ``y`` splits the problem by application: each panel takes its best
    experts by ``weight − y`` within the pool quotas (organizations ignored). Experts chosen more often than
    their cap get dearer, idle ones cheaper. The prices only steer which columns the master starts with —
    nothing here is part of the proof — so a few iterations over short lists are enough: on contended rounds,
    where the popular fields' specialists are wanted by far more panels than they can take, starting from
    ``weight − y`` instead of ``weight`` saves most of the pricing rounds (figures in docs/matching.md).

    Returns
    -------
    ndarray of float, shape (E,)
    """
    prices = np.zeros(instance.n_experts)
    valid = lists >= 0
    experts = np.where(valid, lists, 0)
    base = np.where(valid, weight[experts, np.arange(instance.n_apps)[:, None, None]], -np.inf)
    cap = np.maximum(instance.load_cap, 1)
    step = 0.1 * float(np.ptp(base[np.isfinite(base)])) if np.isfinite(base).any() else 0.0
    for t in range(iterations if step > 0 else 0):
        chosen = _best_panels(instance, base - prices[experts], experts)
        load = np.bincount(chosen, minlength=instance.n_experts)
        prices = np.maximum(prices + step * 0.9 ** t * np.clip((load - cap) / cap, -1.0, 1.0), 0.0)
    return prices


def _best_panels(instance: Instance, scores: np.ndarray, experts: np.ndarray) -> np.ndarray:
    """Experts of every application's best panel by ``scores`` (A, P, depth), within the pool quotas."""
    n_apps, n_pools, depth = scores.shape
    order = np.argsort(-scores, axis=2, kind="stable")
    scores = np.take_along_axis(scores, order, axis=2)
    experts = np.take_along_axis(experts, order, axis=2)
    position = np.arange(depth)[None, None, :]
    low, high = instance.pool_quotas[:, 0][None, :, None], instance.pool_quotas[:, 1][None, :, None]
    usable = np.isfinite(scores)
    required = usable & (position < low)
    optional = np.where(usable & (position >= low) & (position < high), scores, -np.inf).reshape(n_apps, -1)
    rest = np.maximum(instance.panel_size - required.sum(axis=(1, 2)), 0)
    rank = np.argsort(np.argsort(-optional, axis=1, kind="stable"), axis=1)
    extra = (rank < rest[:, None]) & np.isfinite(optional)
    return np.concatenate([experts[required], experts.reshape(n_apps, -1)[extra]])
