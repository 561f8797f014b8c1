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

import time
from dataclasses import dataclass

import numpy as np

from matching.instance import GUESS, SAMPLE_STRIDE, Instance, best_first, nonzero_2d
from matching.lp import application_blocks

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
    """The pairs of :func:`timed_greedy_panels`."""
    return timed_greedy_panels(instance, weight)[0]


def timed_greedy_panels(instance: Instance, weight: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], float]:
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

    The applications are read in blocks (:data:`GREEDY_BLOCK`), and each block's are ranked at once
    (:class:`_BlockRanking`); only the panels themselves are filled one after another, in plain Python. The
    pairs are those of the plain greedy, one application at a time over every expert still under their cap
    (the tests hold them to it); ranking a block at once took contended 10,000 × 25,000 from 4.4 to 3.1 CPU s
    (docs/matching.md).

    Returns
    -------
    (experts, apps) : ndarray, shape (K,)
    seconds : float
        Wall seconds of reading the blocks (every allowed pair's weight, put in pool order): a time-limited solve
        reads the machine's speed for a pass over every pair from them (:data:`~matching.solve.FLOW_ROUND_PER_PASS`),
        which the rest of the greedy panels' seconds, Python for each application, would not tell.
    """
    order = np.argsort(instance.expert_pool, kind="stable")
    edges = np.searchsorted(instance.expert_pool[order], np.arange(instance.n_pools + 1))
    pools = [slice(int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    # the experts by their position in pool order, as lists: a panel is a few list look-ups, not numpy calls
    pool_at, org_at = instance.expert_pool[order], instance.expert_org[order]
    cap, load = instance.load_cap[order].tolist(), [0] * instance.n_experts
    full = instance.load_cap[order] <= 0                     # by position
    struck = np.zeros(instance.n_experts, dtype=bool)         # full since the block began, by position
    rules = (instance.pool_quotas[:, 0].tolist(), instance.pool_quotas[:, 1].tolist(), instance.max_per_org)
    sizes = instance.panel_size.tolist()
    seated: list[int] = []
    counts: list[int] = []
    reading = 0.0
    ranked_at_once = max(1, GREEDY_BLOCK // max(instance.n_experts, 1))
    for block in application_blocks(instance):
        start, stop = block.start, block.stop
        clock = time.perf_counter()
        # read in the matrix's own order, then its rows (experts) put in pool order: each pool a slice of rows
        read = np.where(instance.allowed[:, start:stop], weight[:, start:stop], np.float32(-np.inf))[order]
        reading += time.perf_counter() - clock
        for first in range(start, stop, ranked_at_once):
            # a contiguous copy: each pool then compared and searched as one run (XL 12.3 -> 10.9 CPU s)
            scores = np.ascontiguousarray(read[:, first - start:min(stop, first + ranked_at_once) - start])
            scores[full] = -np.inf              # full experts struck out once a block, not once a panel
            block = _BlockRanking.of(scores, pools)
            starts = block.starts.tolist()
            listed = block.first.tolist(), pool_at[block.first].tolist(), org_at[block.first].tolist()
            struck[:] = False
            struck_now: set[int] = set()
            for j in range(scores.shape[1]):
                ranked, ranked_pools, ranked_orgs = (column[starts[j]:starts[j + 1]] for column in listed)
                if not struck_now.isdisjoint(ranked):      # experts among its best filled earlier in the block
                    again = block.ranked(j, struck)
                    if again is None:               # the lists fell short of its best: ranked the slow way
                        again = _ranked_by_pool(np.where(struck, -np.inf, scores[:, j]), pools)
                    ranked, ranked_pools = again.tolist(), pool_at[again].tolist()
                    ranked_orgs = org_at[again].tolist()
                chosen = _seat(ranked, ranked_pools, ranked_orgs, sizes[first + j], [0] * len(rules[0]), {},
                               *rules, reserve=False)
                for s in chosen:
                    load[s] += 1
                    if load[s] >= cap[s]:
                        full[s] = struck[s] = True
                        struck_now.add(s)
                seated += chosen
                counts.append(len(chosen))
    return (order[np.array(seated, dtype=np.int64)], np.repeat(np.arange(instance.n_apps), counts)), reading


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


GREEDY_BLOCK = 1 << 20
"""Pairs whose applications :func:`timed_greedy_panels` ranks at once, a quarter of the
:data:`~matching.lp.PRICING_BLOCK` it reads at once (reading blocks of 20 applications at 20,000 × 50,000 took
8.4–9.4 s: short runs of each of the matrix's rows). An application whose best include experts that filled earlier
in the block is ranked again, from its lists or, when they fall short, from its row: the smaller the block, the
fewer fill within it. Contended 5,000 × 12,500 with lists of 60: blocks of 4 M pairs ranked 1,961 of the 5,000
applications again from their rows and 2,705 from their lists, blocks of 1 M pairs 238 and 3,837, of 0.5 M 16 and
3,538."""

GREEDY_LIST_DEPTH = 60
"""Best experts of each pool :func:`greedy_panels` lists for every application of a block at once: the
:data:`GREEDY_DEPTH` best still under their cap are among them unless more than the difference filled earlier in
the block (contended 5,000 × 12,500 at 1 M pairs a block: lists of 80 left 10 applications to their rows where
60 left 238, but their sorts cost more than those rows)."""


@dataclass(frozen=True)
class _BlockRanking:
    """Each pool's :data:`GREEDY_LIST_DEPTH` best experts for every application of a block, merged best first
    (positions in pool order, ties by position): the ranking of :func:`_ranked_by_pool` for every application,
    found by sorts of a few hundred entries an application rather than by Python for each, and found again from
    these lists for an application whose best include experts that filled earlier in the block."""

    listed: np.ndarray              # (B, W) positions, best first
    source: np.ndarray              # (B, W) their places in the pools' lists, pool after pool (pool: // depth)
    finite: np.ndarray              # (B, W) whether listed (else a pool's list ran out of allowed experts)
    whole: np.ndarray               # (B, P) whether the pool's list holds all its allowed experts
    starts: np.ndarray              # (B + 1,) application j's ranking is first[starts[j]:starts[j + 1]]
    first: np.ndarray               # the rankings with nobody struck

    @classmethod
    def of(cls, scores: np.ndarray, pools: list[slice]) -> _BlockRanking:
        """The rankings of a block of ``scores`` (experts in pool order × applications).

        Each pool's list comes best first, ties by position, so one stable sort by value merges them (ties by
        pool, then position: by position, pools being consecutive slices); the lists used to come by position,
        and their values were read from ``scores`` again, to be sorted by value once more."""
        tops = [_best_first_by_column(scores[pool], GREEDY_LIST_DEPTH) for pool in pools]
        listed = np.concatenate([np.where(rows >= 0, rows + pool.start, 0)
                                 for pool, (rows, _) in zip(pools, tops, strict=True)], axis=1)
        values = np.concatenate([values for _, values in tops], axis=1)
        by_value = np.argsort(-values, axis=1, kind="stable")
        listed = np.take_along_axis(listed, by_value, axis=1)
        finite = np.isfinite(np.take_along_axis(values, by_value, axis=1))
        whole = np.stack([rows[:, -1] < 0 for rows, _ in tops], axis=1)
        keep = _kept(finite, by_value, len(pools))
        return cls(listed, by_value, finite, whole, np.concatenate([[0], np.cumsum(keep.sum(axis=1))]), listed[keep])

    def ranked(self, j: int, struck: np.ndarray) -> np.ndarray | None:
        """Application ``j``'s ranking without the ``struck`` experts (by position), or None if its lists fall
        short."""
        left = self.finite[j] & ~struck[self.listed[j]]
        n_pools = len(self.whole[j])
        counts = np.bincount(self.source[j][left] // (len(left) // n_pools), minlength=n_pools)
        if ((counts < GREEDY_DEPTH) & ~self.whole[j]).any():
            return None
        return self.listed[j][_kept(left, self.source[j], n_pools)]


def _kept(left: np.ndarray, source: np.ndarray, n_pools: int) -> np.ndarray:
    """Which entries of merged best-first lists (the last axis) a ranking keeps: of those ``left``, the
    :data:`GREEDY_DEPTH` first and each pool's :data:`GREEDY_POOL_DEPTH` first. ``source``: each entry's place in
    the lists before they were merged, pool after pool, each as long and best first.

    An entry's rank in its pool is counted in those lists, where each pool is a run: arrays the size of the lists.
    Counted over every pool at once, an array of lists × pools held 60·P² counts an application (30 pools: 54,000,
    432 kB an application, 450 MB for a block of the applications of 1,000 experts)."""
    unmerged = np.empty_like(left)
    np.put_along_axis(unmerged, source, left, axis=-1)
    runs = np.cumsum(unmerged.reshape(*left.shape[:-1], n_pools, -1), axis=-1, dtype=np.int32)
    pool_rank = np.take_along_axis(runs.reshape(left.shape), source, axis=-1)
    return left & ((np.cumsum(left, axis=-1) <= GREEDY_DEPTH) | (pool_rank <= GREEDY_POOL_DEPTH))


def _best_first_by_column(scores: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Each column's ``depth`` highest finite scores (:func:`_best_first` for every application of a block), best
    first, ties by row, −1 (last) past its finite scores, and their values (−inf there).

    Only the entries at least as large as a lower bound of the column's ``depth``-th largest are sorted, one
    short sort a column: the bound is the ``GUESS · depth / stride``-th largest of every ``stride``-th row where a
    count shows it keeps ``depth`` entries, else the ``depth``-th largest of them
    (:func:`~matching.instance.best_first_columns`, whose one sort over all the columns' entries took half the
    time of the greedy panels here), so ties at the cut are ranked as the full sort ranks them.

    Returns
    -------
    rows : ndarray of int, shape (B, depth)
    values : ndarray, shape (B, depth)
    """
    n, n_columns = scores.shape
    if n == 0:
        return np.full((n_columns, depth), -1, dtype=np.int64), np.full((n_columns, depth), -np.inf, scores.dtype)
    stride = SAMPLE_STRIDE if n >= SAMPLE_STRIDE * depth else 1
    sample = scores[::stride].T.copy()          # a row per column, partitioned in place
    k = min(depth, sample.shape[1])
    guessed = int(np.ceil(GUESS * depth / stride)) if stride > 1 else k
    sample.partition(sorted({sample.shape[1] - k, sample.shape[1] - guessed}), axis=1)
    lowest = np.nextafter(-np.inf, 0, dtype=scores.dtype)     # −inf is never listed
    threshold = np.fmax(sample[:, sample.shape[1] - guessed], lowest)
    rows, columns = nonzero_2d(scores >= threshold)
    short = np.nonzero(np.bincount(columns, minlength=n_columns) < depth)[0] if guessed < k else []
    if len(short):              # the guess kept too few: those columns again from the safe threshold
        safe = np.fmax(sample[short, sample.shape[1] - k], lowest)
        more_rows, more = np.nonzero(scores[:, short] >= safe)
        keep = ~np.isin(columns, short)
        rows, columns = np.concatenate([rows[keep], more_rows]), np.concatenate([columns[keep], short[more]])
    by_column = np.argsort(columns.astype(np.int16 if n_columns < 1 << 15 else np.int64), kind="stable")
    rows, columns = rows[by_column], columns[by_column]        # column by column, rows in increasing order
    counts = np.bincount(columns, minlength=n_columns)
    slot = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    width = max(int(counts.max(initial=0)), depth)
    values = np.full((n_columns, width), -np.inf, dtype=scores.dtype)
    values[columns, slot] = scores[rows, columns]
    listed = np.full((n_columns, width), -1, dtype=np.int64)
    listed[columns, slot] = rows
    best = np.argsort(-values, axis=1, kind="stable")[:, :depth]
    values = np.take_along_axis(values, best, axis=1)
    return np.where(np.isfinite(values), np.take_along_axis(listed, best, axis=1), -1), values


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
    taken = np.bincount(instance.expert_pool[panel], minlength=instance.n_pools).tolist()
    orgs = instance.expert_org[panel]
    per_org = dict(zip(*(x.tolist() for x in np.unique(orgs[orgs >= 0], return_counts=True)), strict=True))
    chosen = _seat(ranked.tolist(), instance.expert_pool[ranked].tolist(), instance.expert_org[ranked].tolist(),
                   int(instance.panel_size[a]) - len(panel), taken, per_org, instance.pool_quotas[:, 0].tolist(),
                   instance.pool_quotas[:, 1].tolist(), instance.max_per_org, reserve=reserve)
    return np.array(chosen, dtype=np.int64)


def _seat(experts: list[int], pools: list[int], orgs: list[int], seats: int, taken: list[int],
          per_org: dict[int, int], low: list[int], high: list[int], max_per_org: int, *, reserve: bool) -> list[int]:
    """:func:`fill_seats` on lists: ``experts`` best first with their ``pools`` and ``orgs``, ``seats`` to fill,
    the ``taken`` seats per pool and ``per_org`` members per organization of the panel so far (both updated), the
    pool minimums ``low`` and maximums ``high``. Plain Python: a panel looks at a few dozen experts, where numpy
    calls on one-element arrays cost a microsecond each."""
    chosen: list[int] = []
    for limit in (low, high):
        for e, pool, org in zip(experts, pools, orgs, strict=True):
            kept = sum(max(m - t, 0) for m, t in zip(low, taken, strict=True)) if limit is high and reserve else 0
            if len(chosen) >= seats - kept:
                break
            if taken[pool] >= limit[pool] or e in chosen or (org >= 0 and per_org.get(org, 0) >= max_per_org):
                continue
            chosen.append(e)
            taken[pool] += 1
            if org >= 0:
                per_org[org] = per_org.get(org, 0) + 1
    return chosen


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
    for p in range(instance.n_pools):
        members = np.nonzero(instance.expert_pool == p)[0]
        k = min(depth, len(members))
        for block in application_blocks(instance) if k else ():
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
