"""What a per-application candidate store would hold (issue 13, item 2): the pairs that can enter a solution at
least as good as the one found, as reduced-cost fixing certifies them, how deep in each pool's ranking by fit they
sit, and how many experts tie there.

Usage::

    python benchmarks/candidates.py --sizes M,L,Q            # exact solves: the final LP duals and the optimum
    python benchmarks/candidates.py --sizes 10K --time-limit 60   # the bound's load prices and the gap at hand
    python benchmarks/candidates.py --fit-pass Q             # a pass recomputing the fit against one reading it

Sizes are applications × experts, read from the session's pickles (contended, seed 0) when they exist, else built
by ``benchmarks/matching.py``'s contended generator.

Two certificates, both Lagrangian: a solution of value ``v`` using a pair whose reduced cost is ``rc < 0`` is worth
at most ``bound + rc``, so only pairs with ``rc ≥ −(bound − v)`` can be in a solution at least as good.

* **LP**: the reduced costs of the master's final duals (``fit − u − z − panel − pool``, as pricing computes
  them) against the LP bound of those duals (exact solves only).
* **panel**: the load and organization prices ``u``, ``z`` alone, with each application's best panel by
  ``fit − u − z`` (pool quotas kept) as :meth:`matching.lp.Master.panel_bound` takes it. Forcing a pair into an
  application's panel swaps out the cheapest member whose removal keeps the quotas (the panels with quotas are the
  bases of a matroid, so one swap is the best), which gives the pair's reduced cost ``value − threshold``; this is
  at least as tight as the LP's at the same ``u``, ``z``, and is what a time-limited solve, which has no panel and
  pool duals, has.

Depth (item 2): for each (application, pool), the number of allowed experts of the pool whose fit is at least the
lowest fit among the pairs to cover (those of the solution, or those kept): the ``k`` of a top-``k`` by fit that
keeps its ties. ``strict`` is one more than the number whose fit is larger (ties broken in the pairs' favour), and
``ties`` the number whose fit equals that lowest fit (item 3).

Top-k stores: each pool's maximum per panel plus :data:`EXTRA_DEPTHS` experts by fit, ties kept — the pairs they
hold, the certified pairs outside them (what pricing would add), whether they cover the solution, and whether they
certify themselves: a cell is sealed when the best fit the store leaves out could not enter the panel even at no
load price, and the store's own panel bound values every pair it leaves out at that fit.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# this folder holds a matching.py: dropped from the path so that ``import matching`` finds the package
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import numpy as np  # noqa: E402

from matching.instance import Instance  # noqa: E402
from matching.lp import LPResult, Master  # noqa: E402
from matching.solve import Solution, duals_at, price_duals, solve_total  # noqa: E402

PICKLES = {"M": "/tmp/lead/M.pkl", "L": "/tmp/lead/L.pkl", "Q": "/tmp/lead/Q.pkl", "10K": "/tmp/xlflow/10K.pkl"}


def _sibling(name: str):
    """A module of this folder loaded by path (the folder is never put on ``sys.path``: its ``matching.py`` would
    shadow the package)."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = _sibling("matching")


def load_instance(size: str) -> Instance:
    """The session's pickle of ``size`` if there is one, else a fresh contended instance (seed 0)."""
    path = PICKLES.get(size)
    if path and os.path.exists(path):
        with open(path, "rb") as handle:
            return pickle.load(handle)
    return BENCH.contended_instance(*BENCH.SIZES[size])


def certificate(instance: Instance, solution: Solution) -> tuple[Master, LPResult, LPResult | None, float]:
    """A master of the instance, the load and organization prices of the solution's bound
    (:class:`~matching.solve.BoundPrices`) to certify with, and the LP's duals with the gap of their bound (None
    and 0 for a panel bound, a time-limited solve's: no panel and pool duals)."""
    master = Master(instance, instance.fit)
    duals = duals_at(master, solution.prices)
    prices = price_duals(instance, duals.y_load, duals.y_org)
    if solution.prices.panel is None:
        return master, prices, None, 0.0
    return master, prices, duals, max(solution.prices.value - solution.objective, 0.0)


def best_panels(tops: list[np.ndarray], quotas: np.ndarray, panel_size: np.ndarray,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each column's best panel from each pool's best values (``tops[p]``: shape (max_p, B), descending, −inf
    where the pool has no more): its value, each pool's count ``c`` (P, B) and each pool's cheapest member ``m``
    (P, B; +inf where the pool has none on the panel)."""
    width = tops[0].shape[1]
    value = sum(top[:low].sum(axis=0) for top, (low, _) in zip(tops, quotas, strict=True))
    counts = np.repeat(quotas[:, :1], width, axis=1).astype(np.int64)
    optional = np.concatenate([top[low:] for top, (low, _) in zip(tops, quotas, strict=True)])
    pool_of = np.concatenate([np.full(len(top) - low, p) for p, (top, (low, _)) in enumerate(zip(tops, quotas,
                                                                                              strict=True))])
    rest = np.clip(panel_size - quotas[:, 0].sum(), 0, None)
    order = np.argsort(-optional, axis=0, kind="stable")
    taken = np.arange(len(optional))[:, None] < rest[None, :]
    value = value + np.where(taken, np.take_along_axis(optional, order, axis=0), 0.0).sum(axis=0)
    for p in range(len(tops)):
        counts[p] += (taken & (pool_of[order] == p)).sum(axis=0)
    cheapest = np.full(counts.shape, np.inf)
    for p, top in enumerate(tops):
        on = counts[p] > 0
        cheapest[p, on] = top[counts[p, on] - 1, np.nonzero(on)[0]]
    return value, counts, cheapest


def swap_thresholds(counts: np.ndarray, cheapest: np.ndarray, quotas: np.ndarray) -> np.ndarray:
    """For each (pool, column), the value an expert of the pool must reach to enter the best panel: the cheapest
    member it can replace with the quotas kept (one of its own pool, or, while its pool is under its maximum, one
    of a pool above its minimum); +inf where none can be replaced."""
    threshold = cheapest.copy()
    spare = np.where(counts > quotas[:, :1], cheapest, np.inf)
    for p in range(len(quotas)):
        others = np.delete(spare, p, axis=0).min(axis=0, initial=np.inf)
        threshold[p] = np.minimum(threshold[p], np.where(counts[p] < quotas[p, 1], others, np.inf))
    return threshold


SLACKS = (("1e-6", 1e-6, False), ("1e-6 rel", 1e-6, True), ("1e-4 rel", 1e-4, True), ("1e-3 rel", 1e-3, True))
"""How far below −gap a pair's reduced cost may be and the pair still be kept: ``(name, slack, relative to the
objective)``. Dropping the pairs below ``−(gap + slack)`` leaves the solution certified within ``slack`` of the
optimum over every pair, so the slack trades the store's size for the certificate: 1e-6 absolute is float noise
(the pairs that can enter an optimal solution), 1e-6 relative the solve's own ``optimal`` tolerance."""

EXTRA_DEPTHS = (0, 8, 32, 128)
"""Depths of the top-k stores measured: each pool's maximum per panel plus these (the solve's own shortlists take
the maximum plus 8)."""


@dataclass
class Kept:
    """Per (application, pool) counts of one pass over every pair, the kept ones per slack (:data:`SLACKS`)."""

    allowed: np.ndarray
    panel: list[np.ndarray]
    lp: list[np.ndarray] | None
    panel_floor: list[np.ndarray]
    panel_bound: float
    stores: list[np.ndarray]
    outside: list[np.ndarray]
    sealed: list[np.ndarray]
    store_bounds: list[float]


def count_kept(instance: Instance, master: Master, prices: LPResult, objective: float, depths: list[np.ndarray],
               lp: LPResult | None = None, lp_gap: float = 0.0) -> Kept:
    """The panel bound at ``prices`` and, for each slack, the pairs its swap thresholds keep within its gap to
    ``objective`` plus the slack (with the lowest fit among them in each (application, pool), +inf where none);
    with ``lp``, the pairs its reduced costs keep within ``lp_gap`` plus the slack. For each of ``depths`` (one
    per pool), the pairs whose fit is at least the pool's ``depth``-th largest allowed fit (a top-k store by fit
    that keeps its ties), the pairs kept at the first slack outside it (those pricing would have to add), the
    cells it seals — no expert outside it can enter a solution within the gap even at no load price, read off the
    best fit it leaves out — and the panel bound at ``prices`` computed from it alone, each pair it leaves out
    valued at that best fit left out (valid: ``fit − u ≤ fit`` for ``u ≥ 0``)."""
    n_a, n_p = instance.n_apps, instance.n_pools
    quotas = instance.pool_quotas
    blocks, bound = [], master.panel_bound_base(prices)
    for apps, rc in master.reduced_cost_blocks(prices):       # first pass: the best panels and their bound
        tops = []
        for p, members in enumerate(master.pool_members):
            value = np.where(instance.allowed[members, apps], rc[members], -np.inf)
            high = min(int(quotas[p, 1]), len(members))
            tops.append(best_values(value, high))
        value, counts, cheapest = best_panels(tops, quotas, instance.panel_size[apps])
        bound += float(value.sum())
        blocks.append(swap_thresholds(counts, cheapest, quotas))
    slacks = [slack * max(1.0, abs(objective)) if relative else slack for _, slack, relative in SLACKS]
    gap = max(bound - objective, 0.0)
    allowed = np.zeros((n_a, n_p), np.int64)
    panel = [np.zeros((n_a, n_p), np.int64) for _ in slacks]
    lp_kept = [np.zeros((n_a, n_p), np.int64) for _ in slacks]
    floors = [np.full((n_a, n_p), np.inf) for _ in slacks]
    stores = [np.zeros((n_a, n_p), np.int64) for _ in depths]
    outside = [np.zeros((n_a, n_p), np.int64) for _ in depths]
    sealed = [np.zeros((n_a, n_p), bool) for _ in depths]
    store_bounds = [master.panel_bound_base(prices)] * len(depths)
    for (apps, rc), threshold in zip(master.reduced_cost_blocks(prices), blocks, strict=True):
        store_tops = [[] for _ in depths]
        for p, members in enumerate(master.pool_members):
            ok = instance.allowed[members, apps]
            allowed[apps, p] = ok.sum(axis=0)
            margin = rc[members] - threshold[p]
            fit = instance.fit[members, apps]
            lp_rc = None if lp is None else rc[members] - (lp.y_panel[apps] + lp.y_pool[apps, p])
            for k, slack in enumerate(slacks):
                keep = ok & (margin >= -gap - slack)
                panel[k][apps, p] = keep.sum(axis=0)
                floors[k][apps, p] = np.where(keep, fit, np.inf).min(axis=0)
                if lp_rc is not None:
                    lp_kept[k][apps, p] = (ok & (lp_rc >= -lp_gap - slack)).sum(axis=0)
            fit = np.where(ok, fit, -np.inf)
            ranked = -np.sort(-fit, axis=0)
            keep = ok & (margin >= -gap - slacks[0])
            for d, depth in enumerate(depths):
                kth = ranked[min(int(depth[p]), len(members)) - 1]
                top = fit >= np.where(np.isfinite(kth), kth, np.inf)
                held = top.sum(axis=0)
                stores[d][apps, p] = held
                outside[d][apps, p] = (keep & ~top).sum(axis=0)
                left_out = np.append(ranked, np.full((1, ranked.shape[1]), -np.inf), axis=0)[
                    held, np.arange(ranked.shape[1])]
                sealed[d][apps, p] = left_out < threshold[p] - gap - slacks[0]
                stored = np.where(top, np.where(ok, rc[members], -np.inf), left_out)
                store_tops[d].append(best_values(stored, min(int(quotas[p, 1]), len(members))))
        for d, tops in enumerate(store_tops):
            store_bounds[d] += float(best_panels(tops, quotas, instance.panel_size[apps])[0].sum())
    return Kept(allowed, panel, lp_kept if lp is not None else None, floors, bound, stores, outside, sealed,
                store_bounds)


def best_values(value: np.ndarray, high: int) -> np.ndarray:
    """Each column's ``high`` largest values, descending."""
    if high <= 0:
        return np.zeros((0, value.shape[1]))
    if high < len(value):
        value = -np.partition(-value, high - 1, axis=0)[:high]
    return -np.sort(-value, axis=0)


def depth_by_fit(instance: Instance, master: Master, floor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each (application, pool): allowed experts of the pool with fit ≥ ``floor``, with fit > it (plus one)
    and with fit equal to it; 0 where ``floor`` is +inf."""
    shape = (instance.n_apps, instance.n_pools)
    at_least, above, ties = np.zeros(shape, np.int64), np.zeros(shape, np.int64), np.zeros(shape, np.int64)
    for apps in master.application_blocks():
        for p, members in enumerate(master.pool_members):
            fit = np.where(instance.allowed[members, apps], instance.fit[members, apps], -np.inf)
            edge = floor[apps, p].astype(np.float32)
            at_least[apps, p] = (fit >= edge).sum(axis=0)
            above[apps, p] = np.where(np.isfinite(edge), (fit > edge).sum(axis=0) + 1, 0)
            ties[apps, p] = (fit == edge).sum(axis=0)
    return at_least, above, ties


def solution_floor(instance: Instance, experts: np.ndarray, apps: np.ndarray) -> np.ndarray:
    """The lowest fit of the solution's members of each pool on each panel (+inf where none)."""
    floor = np.full((instance.n_apps, instance.n_pools), np.inf)
    np.minimum.at(floor, (apps, instance.expert_pool[experts]), instance.fit[experts, apps].astype(np.float64))
    return floor


def spread(values: np.ndarray) -> str:
    """``median/p99/max`` of an array of counts."""
    return f"{np.median(values):.0f}/{np.percentile(values, 99):.0f}/{values.max():.0f}"


def quantiles(values: np.ndarray) -> str:
    """``median/p90/p99/max`` of the positive entries (the (application, pool) cells that hold a pair)."""
    values = values[values > 0]
    return "-" if len(values) == 0 else \
        f"{np.median(values):.0f}/{np.percentile(values, 90):.0f}/{np.percentile(values, 99):.0f}/{values.max():.0f}"


def run(size: str, time_limit: float | None) -> None:
    clock = time.perf_counter()
    instance = load_instance(size)
    n_e, n_a = instance.n_experts, instance.n_apps
    loaded = time.perf_counter() - clock
    wall, cpu = time.perf_counter(), time.process_time()
    solution = solve_total(instance, pricing_time_limit=time_limit)
    solve_wall, solve_cpu = time.perf_counter() - wall, time.process_time() - cpu
    objective = solution.objective
    master, prices, lp, lp_gap = certificate(instance, solution)
    wall, cpu = time.perf_counter(), time.process_time()
    high = instance.pool_quotas[:, 1]
    kept = count_kept(instance, master, prices, objective, [high + extra for extra in EXTRA_DEPTHS], lp, lp_gap)
    depth = {"solution": depth_by_fit(instance, master,
                                      solution_floor(instance, solution.panels.experts, solution.panels.apps()))}
    depth.update((f"kept {name}", depth_by_fit(instance, master, floor))
                 for (name, _, _), floor in zip(SLACKS, kept.panel_floor, strict=True))
    pass_wall, pass_cpu = time.perf_counter() - wall, time.process_time() - cpu
    pairs, allowed = n_e * n_a, int(kept.allowed.sum())
    gap = kept.panel_bound - objective
    print(f"\n{size}: {n_a:,} applications × {n_e:,} experts, load {os.getloadavg()[0]:.1f}; loaded in {loaded:.0f} s; "
          f"solve {solution.status} in {solve_wall:.1f} s ({solve_cpu:.1f} CPU s), objective {objective:,.3f}, "
          f"bound {solution.bound:,.3f}, master columns {solution.stats.get('columns', 0):,}; "
          f"counting passes {pass_wall:.1f} s ({pass_cpu:.1f} CPU s)")
    print(f"  pairs {pairs:,}, allowed {allowed:,} ({allowed / pairs:.1%}); dense float32 fit + one-bit allowed "
          f"{pairs * 4.125 / 2**20:,.1f} MiB")
    if lp is not None:
        print(f"  LP duals: bound − objective {lp_gap:.6f}")
    print(f"  panel bound at the load prices {kept.panel_bound:,.3f}: gap {gap:.6f} ({gap / max(abs(objective), 1):.4%})")
    print("  certificate slack   kept pairs (of allowed)  per app med/p99/max  per (app, pool) med/p99/max  CSR MiB")
    rows = [("panel", kept.panel)] + ([("LP", kept.lp)] if kept.lp is not None else [])
    for name, counts in rows:
        for (slack, _, _), count in zip(SLACKS, counts, strict=True):
            total = int(count.sum())
            csr = total * 8 + (n_a + 1) * 8          # int32 expert + float32 fit a pair, int64 offsets
            print(f"  {name:<11} {slack:<8} {total:>12,} ({total / allowed:6.2%})  {spread(count.sum(axis=1)):>19}"
                  f"  {spread(count.ravel()):>27}  {csr / 2**20:8.1f}")
    print("  depth by fit per (app, pool), med/p90/p99/max:  ties kept            strict               ties at cut")
    for name, (at_least, above, ties) in depth.items():
        print(f"  {name:<20} {quantiles(at_least):>28} {quantiles(above):>20} {quantiles(ties):>20}")
    print_stores(kept, depth, high, allowed, objective)


def print_stores(kept: Kept, depth: dict, high: np.ndarray, allowed: int, objective: float) -> None:
    """The lines of the top-k stores (:data:`EXTRA_DEPTHS`)."""
    print("  top (pool max + extra) by fit per (app, pool), ties kept: pairs held (per app med/p99/max); kept 1e-6 "
          "pairs outside it; (app, pool) cells and applications where it covers the solution, ties kept (ties "
          "broken in any order); cells where it covers the kept 1e-6 pairs")
    for extra, store, out in zip(EXTRA_DEPTHS, kept.stores, kept.outside, strict=True):
        total, missing = int(store.sum()), int(out.sum())
        at_least, above, _ = depth["solution"]
        cells = above <= high + extra
        broken = at_least <= high + extra
        kept_cells = depth["kept 1e-6"][1] <= high + extra
        print(f"  + {extra:<4} {total:>11,} ({total / allowed:6.2%}) {spread(store.sum(axis=1)):>13}  outside "
              f"{missing:>9,}  solution {cells.mean():6.1%} ({broken.mean():6.1%}) of cells, "
              f"{cells.all(axis=1).mean():6.1%} ({broken.all(axis=1).mean():6.1%}) of applications; "
              f"kept {kept_cells.mean():6.1%} of cells")
    print("  the same stores alone: cells and applications sealed by the best fit each leaves out (no pair outside can "
          "enter within the gap at any load price), and the panel bound from the store (that fit for every pair left "
          "out) against the bound over every pair")
    for extra, seal, store_bound in zip(EXTRA_DEPTHS, kept.sealed, kept.store_bounds, strict=True):
        print(f"  + {extra:<4} sealed {seal.mean():6.1%} of cells, {seal.all(axis=1).mean():6.1%} of applications; "
              f"bound {store_bound:,.3f} (+{store_bound - kept.panel_bound:,.3f}, gap "
              f"{(store_bound - objective) / max(abs(objective), 1):.3%})")


def fit_pass(size: str, repeats: int = 2) -> None:
    """What "no dense fit" would cost each pass over every pair: the fit of a contended round recomputed from its
    :class:`~matching.affinity.FitParts` a pricing block at a time (as :func:`~matching.affinity.compute_fit`
    does, then less the load prices and each column's best, as pricing uses it), against the same pass reading the
    stored fit; alternated in one process, CPU seconds."""
    from matching.affinity import FIT_DTYPE, compute_fit
    from matching.lp import PRICING_BLOCK

    problem = BENCH._realistic().realistic_problem(*BENCH.SIZES[size], seed=0, max_load=4)
    clock = time.process_time()
    matrix = compute_fit(problem)
    computed = time.process_time() - clock
    fit, parts, weights = matrix.fit, matrix.parts, problem.settings.weights
    n_e, n_a = fit.shape
    price = np.random.default_rng(0).exponential(0.05, n_e)
    width = max(1, PRICING_BLOCK // n_e)

    def stored(apps: slice) -> np.ndarray:
        return fit[:, apps]

    def recomputed(apps: slice) -> np.ndarray:
        values = parts.field_block(slice(None), apps)
        values *= FIT_DTYPE(weights.field)
        text = parts.text_block(slice(None), apps)
        text *= FIT_DTYPE(weights.text)
        values += text
        return np.clip(values, FIT_DTYPE(0.0), FIT_DTYPE(1.0), out=values)

    def one_pass(block) -> tuple[float, float]:
        clock, total = time.process_time(), 0.0
        for start in range(0, n_a, width):
            apps = slice(start, min(n_a, start + width))
            total += float((block(apps) - price[:, None]).max(axis=0).sum())
        return time.process_time() - clock, total

    print(f"\n{size}: {n_a:,} applications × {n_e:,} experts, load {os.getloadavg()[0]:.1f}; compute_fit "
          f"{computed:.1f} CPU s; a pass of {width}-application blocks (fit − load price, best per application):")
    for round_ in range(repeats):
        (read, read_sum), (again, again_sum) = one_pass(stored), one_pass(recomputed)
        print(f"  round {round_ + 1}: reading the stored fit {read:.2f} CPU s, recomputing it {again:.2f} CPU s "
              f"({again / read:.1f}×); same result: {abs(read_sum - again_sum) < 1e-6 * abs(read_sum)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="L,Q", help="comma-separated: M, L, Q, 10K")
    parser.add_argument("--fit-pass", default=None, help="sizes for fit_pass instead (e.g. L,Q)")
    parser.add_argument("--time-limit", type=float, default=None,
                        help="a time-limited solve (pricing_time_limit, s): the bound's load prices and its gap")
    args = parser.parse_args()
    print(BENCH.machine())
    for size in args.fit_pass.split(",") if args.fit_pass else args.sizes.split(","):
        fit_pass(size) if args.fit_pass else run(size, args.time_limit)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
