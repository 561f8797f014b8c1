"""Exact individual-mode assignment: column generation on a network LP, then a small MIP only if needed.

Why this formulation (figures in ``docs/matching.md``): without the per-organization limit the constraints form a
network — source → expert (load cap) → (application, pool) node ([min, max]) → application (panel size) — whose LP
has integral optima, so an LP solve *is* the integer optimum. The organization limit is the only family that
breaks total unimodularity, and it rarely binds fractionally. So:

1. start from the top candidates of each (application, pool) by fit less an estimated load price, a few
   experts dealt evenly over each pool and greedy panels within the loads
   (:func:`~matching.greedy.initial_candidates`);
2. solve the restricted master LP (:class:`matching.lp.Master`), price *every* allowed pair with its duals, add the
   pairs with positive reduced cost, repeat; at the fixpoint the master's optimum is the LP optimum of the full
   problem, and the Lagrangian bound certifies it;
3. if that LP optimum is integral, it is optimal for the full integer problem (objective = bound);
4. otherwise hold the LP's integral part and place the split seats by a small MIP; if the bound proves the result
   optimal, stop; else solve MIPs over every pair whose reduced cost is at least −gap (no better solution can use
   any other pair: reduced-cost fixing), whose value is the optimum of the full problem (:func:`close_gap`).

With a time limit, a solve stopped before step 2 closes returns the best feasible panels at hand (the greedy
panels, the master's last solution, or the organization-free min-cost flow's panels mended to the organization
limit: :func:`flow_at_hand`) with the best bound of the full problem seen, tightened by subgradient steps on the
load prices (:func:`descend_loads`); with none of them within every rule it runs on to the end, past the limit if
need be (``past_limit`` in its stats when it ended after it). Whatever the path, a limited solve that ended past
its limit and grace says by how much (``past_grace``).
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from matching.greedy import (
    SPREAD,
    fill_seats,
    initial_candidates,
    ranked_for_panel,
    spread,
    timed_greedy_panels,
)
from matching.instance import Instance, Panels, as_panels
from matching.lp import AT_LOWER, AT_UPPER, BASIC, FixedPairs, LPResult, Master, NoIncumbent
from matching.memory import SAMPLED_PAIRS
from matching.network import (
    PRICED_PER_APP,
    NetworkOptimum,
    best_per_column,
    near_zero_pairs,
    network_optimum,
    organization_alternatives,
    pairs_above,
    sample_shape,
    sampled_load_prices,
)

OPTIMALITY_TOLERANCE = 1e-6
"""``status`` is ``optimal`` only when bound − objective ≤ this × max(1, |objective|)."""

INTEGRALITY_TOLERANCE = 1e-7
PRICING_TOLERANCE = 1e-9


@dataclass(frozen=True, eq=False)
class BoundPrices:
    """The prices behind a solve's bound: at them :func:`bound_at_prices` gives ``value`` again, over every
    allowed pair, whatever the column set. What reduced-cost fixing and a candidate store certified by the duals
    read (docs/scale.md), each kind its own way.

    Two kinds. A Lagrangian bound (an exact solve's, :meth:`~matching.lp.Master.dual_bound` plus every pair's
    positive reduced cost) has the master's panel and pool duals (and fit-floor duals under a floor): a solution
    using a pair whose reduced cost at these prices (:func:`duals_at`) is ``rc < 0`` is worth at most
    ``value + rc``. A panel bound (a time-limited solve's, :func:`panel_bound_at`: each application's best panel
    by ``fit − u − z``, its panel and pool prices chosen for it) has load and organization prices only (``panel``
    None), and a pair's ``fit − u − z`` is no reduced cost to fix it by (an optimal pair's was −0.52 where the
    gap was nil): a solution using it is worth at most the bound with the pair forced into its panel, ``value``
    less what its best panel loses by taking it (the cheapest member it can replace with the quotas kept,
    ``benchmarks/candidates.py``).

    Attributes
    ----------
    value : float
        The bound at these prices: ``Solution.bound``, or above it where a MIP proved a tighter one
        (:func:`close_gap`; no prices stand behind a MIP's own bound).
    load : ndarray, shape (E,)
        Load prices ``u ≥ 0``.
    org_pairs : ndarray, shape (K, 2)
        (application, organization) of each positive organization price.
    org : ndarray, shape (K,)
        Those prices ``z > 0`` (an organization row priced at 0 adds nothing to either bound).
    panel : ndarray, shape (A,), or None
        Panel duals of a Lagrangian bound; None for a panel bound.
    pool : ndarray, shape (A, P), or None
        Pool duals (``y_max − y_min``) of a Lagrangian bound.
    floor_duals : ndarray, shape (A,), or None
        Fit-floor duals of a Lagrangian bound under a floor.
    floor : ndarray, shape (A,), or None
        That floor, each panel's fit the bound holds at (``fair``'s best worst panel, which its result does not
        otherwise name): the master to recompute on is ``Master(instance, weight, floor=prices.floor)``.
    """

    value: float
    load: np.ndarray
    org_pairs: np.ndarray
    org: np.ndarray
    panel: np.ndarray | None = None
    pool: np.ndarray | None = None
    floor_duals: np.ndarray | None = None
    floor: np.ndarray | None = None


def bound_prices(master: Master, value: float, load: np.ndarray, org: np.ndarray, lp: LPResult | None = None,
           ) -> BoundPrices | None:
    """The :class:`BoundPrices` of a bound ``value`` at load prices ``load`` and prices ``org`` of the master's
    first ``len(org)`` organization rows (rows are only ever appended), with ``lp``'s panel, pool and floor
    duals for a Lagrangian bound (None: a panel bound) and the floor they hold at; None when ``value`` is not
    finite."""
    if not np.isfinite(value):
        return None
    rows = np.flatnonzero(org > 0)
    pairs = np.array(list(master.org_rows)[:len(org)], dtype=np.int64).reshape(-1, 2)[rows]
    if lp is None:
        return BoundPrices(float(value), load, pairs, org[rows])
    return BoundPrices(float(value), load, pairs, org[rows], lp.y_panel, lp.y_pool,
                       floor_duals=lp.y_floor if master.has_floor else None,
                       floor=master.exact_floor if master.floor is not None else None)


def duals_at(master: Master, prices: BoundPrices) -> LPResult:
    """``prices`` as duals of ``master`` (a master of the solve's instance, weight and floor, none of whose
    LPs is solved after this: its organization rows gain those the prices name); a panel bound's panel and pool
    duals are zero."""
    rows = np.array([master.org_rows.setdefault((int(a), int(o)), len(master.org_rows))
                     for a, o in prices.org_pairs], dtype=np.int64)
    y_org = np.zeros(len(master.org_rows))
    y_org[rows] = prices.org
    return price_duals(master.instance, prices.load, y_org, prices.panel, prices.pool, prices.floor_duals)


def price_duals(instance: Instance, load: np.ndarray, org: np.ndarray, panel: np.ndarray | None = None,
                pool: np.ndarray | None = None, floor: np.ndarray | None = None) -> LPResult:
    """Duals made of prices, with no LP behind them: load and organization prices, and panel, pool and
    fit-floor duals where given (zero where not, as a panel bound's are)."""
    n_a, n_p = instance.n_apps, instance.n_pools
    return LPResult(x=np.zeros(0), shortfall=np.zeros((n_a, n_p)), t=0.0, objective=0.0, y_load=load,
                    y_panel=np.zeros(n_a) if panel is None else panel,
                    y_pool=np.zeros((n_a, n_p)) if pool is None else pool, y_org=org,
                    y_floor=np.zeros(n_a) if floor is None else floor)


def bound_at_prices(master: Master, prices: BoundPrices) -> float:
    """The bound of every solution of the full problem at ``prices`` (:func:`duals_at`): the panel bound
    (:func:`panel_bound_at`) or the Lagrangian bound (:meth:`~matching.lp.Master.dual_bound` plus each block's
    :meth:`~matching.lp.Master.pair_bound`), as the solve computed ``prices.value``."""
    duals = duals_at(master, prices)
    if prices.panel is None:
        return panel_bound_at(master, duals.y_load, duals.y_org)
    return master.dual_bound(duals) + sum(master.pair_bound(apps, rc) for apps, rc in master.reduced_cost_blocks(duals))


def _lowest(*options: BoundPrices | None) -> BoundPrices | None:
    """The prices of the lowest bound among ``options`` (None where none is)."""
    return min((option for option in options if option is not None), key=lambda option: option.value, default=None)


@dataclass
class Solution:
    """The outcome of a solve.

    Attributes
    ----------
    status : str
        ``optimal`` (bound and objective agree), ``feasible`` (a gap remains, see ``gap``) or ``infeasible``.
    panels : Panels
        The assignment as its pairs (an E × A bool matrix given here is read into its pairs).
    objective : float
        Total fit of the assignment.
    bound : float or None
        Upper bound valid for the full problem (all allowed pairs); None when infeasible.
    shortfall : ndarray, shape (A, P)
        Panel seats per (application, pool) the elastic master could not fill (all zero when feasible).
    stats : dict
        Iterations, columns, whether the LP was integral, seconds per phase.
    prices : BoundPrices or None
        The prices that certify a bound at least ``bound`` (their ``value``; above it only where a MIP proved a
        tighter one); None when there is no finite bound.
    """

    status: str
    panels: Panels
    objective: float
    bound: float | None
    shortfall: np.ndarray
    stats: dict = field(default_factory=dict)
    prices: BoundPrices | None = None

    def __post_init__(self) -> None:
        self.panels = as_panels(self.panels)

    @functools.cached_property
    def assigned(self) -> np.ndarray:
        """The E × A bool matrix, built on first use (one byte per pair: 1 GB at 20,000 × 50,000)."""
        return self.panels.dense()

    @property
    def gap(self) -> float | None:
        return None if self.bound is None else max(self.bound - self.objective, 0.0)


def generate_columns(master: Master, *, per_app: int, max_rounds: int = 500,
                     on_round: Callable[[int], None] | None = None, deadline: float | None = None,
                     hard_deadline: float | None = None, report: dict | None = None,
                     primal_below: int = 0) -> tuple[LPResult | None, float, int]:
    """Price and add columns (and the organization rows the master's solution breaks, with those it holds at the
    limit: :meth:`~matching.lp.Master.add_org_rows`) until the Lagrangian bound meets the master's LP optimum.

    The master is warm-started (:class:`matching.lp.WarmLP`), so a round costs the pivots its new columns and
    rows need, not a solve from scratch. Dual smoothing (pricing at a mix of the best and the current duals) was
    measured on contended rounds and made things worse — more rounds, more columns, more pivots
    (docs/matching.md) — so pricing uses the master's own duals; the best bound seen is kept, and the loop stops
    as soon as it equals the master's objective, which proves the master optimal over every pair. The bound is
    :meth:`~matching.lp.Master.dual_bound` with every pair's positive reduced cost and, when a time limit is
    given (0/1 pairs, no fit floors), also :meth:`~matching.lp.Master.panel_bound`, which is never larger.

    Ties need no perturbation: a pair whose reduced cost is exactly zero cannot raise the objective, so only
    pairs above :data:`PRICING_TOLERANCE` enter, and ties between entering pairs are broken by index.

    Parameters
    ----------
    master : Master
        Already holding its initial columns.
    per_app : int
        Most new columns per application per round (the best by reduced cost).
    on_round : callable, optional
        Called with the round's number after each pricing round (for a progress display).
    deadline : float, optional
        A ``time.perf_counter()`` value: no new round starts after it (the master is then not proven optimal).
    hard_deadline : float, optional
        A ``time.perf_counter()`` value at which HiGHS stops a master solve; the last finished round's
        solution is returned, or ``(None, inf, rounds)`` if none finished.
    primal_below : int
        A round adding fewer new columns than this re-optimizes with the primal simplex (after a dual re-solve
        for the round's new organization rows, if any): from an optimal basis a few appended columns are a few
        primal pivots, where the dual simplex flips them to their upper bound and repairs a degenerate flow
        (≈ 20 k pivots on contended 1,000 × 5,000). 0 (the default) keeps the dual simplex throughout.
    report : dict, optional
        Filled with ``bound`` (the best bound of either kind, valid for the full problem), ``prices`` (its
        :class:`BoundPrices`, None while it is infinite), ``converged``
        (whether that bound meets the master's objective, or no pair prices out) and per-round figures
        (``trace``: objective, bound, simplex iterations, columns, seconds).

    Returns
    -------
    lp : LPResult
        The master's last LP solution (``x``, ``objective``), carrying the duals of the best bound of
        :meth:`~matching.lp.Master.dual_bound`: at the fixpoint the LP optimum of the full problem.
    bound : float
        That Lagrangian bound of those duals over all pairs (valid even if ``max_rounds`` stopped the loop);
        reduced-cost fixing (:func:`close_gap`) relies on this pairing of bound and duals.
    rounds : int
    """
    best: LPResult | None = None
    panel_best: LPResult | None = None
    best_bound, best_panels, best_any, rounds, converged, new_rows = np.inf, np.inf, np.inf, 0, False, 0
    trace = []
    lp = None
    few = False
    while rounds < max_rounds:
        rounds += 1
        clock, iterations = time.perf_counter(), master.simplex_iterations
        if few:
            solved = master.solve_lp_primal()
        else:
            solved = master.solve_lp(None if hard_deadline is None else hard_deadline - time.perf_counter())
        if solved is None:                  # the hard deadline cut this solve: keep the last round's
            rounds -= 1
            converged = False
            break
        lp = solved
        new_rows = master.add_org_rows(lp.x)
        master.add_org_rows(lp.x, tight=True)     # no pivot now, fewer waves of rows later
        bound, panels, experts, apps = _price(master, lp, per_app, panels=hard_deadline is not None)
        if bound < best_bound:
            best, best_bound = lp, bound
        feasible = not (lp.shortfall > 1e-7).any()       # the panel bound holds for the real problem only
        if feasible and panels < best_panels:
            panel_best, best_panels = lp, panels
        best_any = min(best_bound, best_panels)
        trace.append((round(lp.objective, 6), round(best_any, 6), master.simplex_iterations - iterations,
                      len(master.col_e), round(time.perf_counter() - clock, 2)))
        if on_round is not None:
            on_round(rounds)
        proven = best_any - lp.objective <= PRICING_TOLERANCE * max(1.0, abs(lp.objective))
        converged = len(experts) == 0 or proven
        if converged and new_rows == 0:
            break
        if deadline is not None and time.perf_counter() > deadline:
            converged = False
            break
        few = hard_deadline is None and 0 < len(experts) < primal_below
        if few and new_rows:
            master.solve_lp()               # the rows alone keep the basis dual feasible
        master.add(experts, apps)
    if report is not None:
        report.update(bound=best_any, converged=converged and new_rows == 0, trace=trace, prices=_lowest(
            None if best is None else bound_prices(master, best_bound, best.y_load, best.y_org, best),
            None if panel_best is None else bound_prices(master, best_panels, panel_best.y_load, panel_best.y_org)))
    if best is None:                        # only with a hard deadline: not one master LP finished
        return None, np.inf, rounds
    # after a cut solve the master holds the last round's new columns, at zero in the last solution
    x = np.concatenate([lp.x, np.zeros(len(master.col_e) - len(lp.x))])
    return dataclasses.replace(best, x=x, shortfall=lp.shortfall, t=lp.t, objective=lp.objective), \
        best_bound, rounds


TIE_BREAK = 1e-7
"""Scale of the tie-break in column selection (never in the objective, the bound or the acceptance test)."""


def _price(master: Master, duals: LPResult, per_app: int, *, panels: bool = True,
           ) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Lagrangian bound of ``duals`` over every allowed pair, the panel bound of their load and organization
    duals (+inf where it does not apply or ``panels`` is false), and up to ``per_app`` pairs per application
    outside the column set with positive reduced cost, the best first.

    The panel bound costs about as much as the rest of pricing; without a time limit the loop runs to the
    fixpoint, where both bounds meet, and computing it every round made contended 1,000 × 5,000 take 1.35×
    the CPU time, so it is computed only for time-limited solves, whose answer is the bound at hand.

    The taxonomy component of the fit takes three values, and experts with the same pool and fields often have
    the same profile, so hundreds of pairs of one application tie on reduced cost. Broken by index, every
    application of a popular field would pick the same few tied experts, overload them, and the next round
    would find the next few: a tail of rounds that each add a little. So ties are broken (at a scale of
    :data:`TIE_BREAK`, for choosing only) towards experts the master uses least, then by a fixed pseudo-random
    order per pair, which spreads the applications over the tie class in one round.
    """
    instance = master.instance
    bound = master.dual_bound(duals)
    panels = master.panel_bound_base(duals) if panels and master.panel_bound_applies else np.inf
    usage = np.bincount(master.col_e, weights=duals.x, minlength=instance.n_experts) \
        / np.maximum(instance.load_cap, 1)
    new_experts, new_apps = [], []
    for apps, rc in master.reduced_cost_blocks(duals):
        bound += master.pair_bound(apps, rc)
        if np.isfinite(panels):
            panels += master.panel_bound(apps, rc, duals)
        experts, columns = pairs_above(rc, instance.allowed[:, apps], master.in_set, apps.start, PRICING_TOLERANCE)
        key = rc[experts, columns] - TIE_BREAK * (usage[experts] + _scatter(experts, columns + apps.start))
        best = best_per_column(key, columns, per_app)
        new_experts.append(experts[best]), new_apps.append(columns[best] + apps.start)
    return bound, panels, np.concatenate(new_experts), np.concatenate(new_apps)


def _scatter(experts: np.ndarray, apps: np.ndarray) -> np.ndarray:
    """A fixed pseudo-random value in [0, 1) per (expert, application) pair: breaks ties when choosing pairs."""
    e, a = experts.astype(np.uint64), apps.astype(np.uint64)
    mixed = (e * np.uint64(0x9E3779B97F4A7C15) + a * np.uint64(0xBF58476D1CE4E5B9)) >> np.uint64(40)
    return mixed.astype(np.float64) / float(1 << 24)


def solve_total(instance: Instance, *, per_pool: int | None = None, time_limit: float | None = None,
                max_columns: int = 3_000_000, on_round: Callable[[int], None] | None = None,
                pricing_time_limit: float | None = None) -> Solution:
    """Maximize total fit, exactly, with a bound valid for the full problem.

    Parameters
    ----------
    instance : Instance
    per_pool : int, optional
        Initial candidates per (application, pool); default: the pool's maximum plus 8.
    time_limit : float, optional
        Seconds HiGHS may spend on each MIP solve.
    max_columns : int
        The reduced-cost enlargement is skipped (and the gap reported) if it would exceed this many columns.
    on_round : callable, optional
        Called with each pricing round's number (see :func:`generate_columns`).
    pricing_time_limit : float, optional
        Seconds from the start after which no new pricing round begins; if the master is not proven optimal
        by then, the better of its own integral solution and the greedy panels is returned as ``feasible``
        with the best bound and its gap (see :func:`solve_weighted`).
    """
    return solve_weighted(instance, instance.fit, per_pool=per_pool, time_limit=time_limit,
                          max_columns=max_columns, on_round=on_round, pricing_time_limit=pricing_time_limit)


PRICED_PER_SEAT = 10
"""Columns each pricing round may add per application, per panel seat (70 for a panel of 7). On contended
rounds every round re-optimizes a degenerate master, so fewer, larger rounds pay: contended 1,000 × 5,000 with
greedy first columns took 14 rounds and 182 k simplex iterations at 2 per seat, 11 rounds and 117 k at about 11
(docs/matching.md)."""


def solve_weighted(instance: Instance, weight: np.ndarray, *, floor: np.ndarray | None = None,
                   exact_floor: np.ndarray | None = None, known: np.ndarray | None = None,
                   per_pool: int | None = None, time_limit: float | None = None, max_columns: int = 3_000_000,
                   on_round: Callable[[int], None] | None = None,
                   pricing_time_limit: float | None = None) -> Solution:
    """Maximize Σ weight·x, optionally with a fit floor per panel; the engine behind ``total`` and ``fair``.

    ``floor`` is what the LP enforces; ``exact_floor`` (default: ``floor``) is what the bound is computed for.
    ``known`` (E × A, bool) is an assignment meeting every constraint and the floor: its pairs join the first
    columns, which keeps a floored master feasible (shortfall columns fill seats but add no fit). It changes no
    bound: the bound is over all allowed pairs whatever the column set.

    With ``pricing_time_limit`` (seconds), column generation stops starting new rounds once it has passed. If
    the master is not proven optimal then, the result is the better of the master's LP solution (when it is
    integral and keeps every rule, as the network LP's usually is), the greedy panels and, when its first
    round fits the flow's share of the limit (:data:`FLOW_SHARE`), the organization-free min-cost flow's
    panels mended to the organization limit (:func:`flow_at_hand`; its rounds then come before the master's,
    which starts only while the pricing share lasts), with ``status`` ``feasible`` and the best bound seen,
    which holds for the full problem whatever the column set (the subgradient steps of :func:`descend_loads`
    start from the flow's load prices when no master LP finished). When no priced flow round fits but the
    flow's share is not over, load prices come from a sampled round, then the flow is solved once over its
    first pairs (one round of :func:`~matching.network.network_optimum`) for its mended panels where the
    sample's seconds say it fits (where the greedy panels break a rule, the flow first and the sample after),
    and no master LP starts; so too when the greedy panels alone take the pricing share of the limit and break
    a rule. If they take it and keep every rule, neither the flow nor the first columns run: the greedy panels
    are returned with the bound of :func:`descend_loads` over the rest of the limit. When nothing at hand
    keeps every rule, the solve runs on without the limit, and its stats say ``past_limit`` if it ends after
    the limit.
    """
    clock = time.perf_counter()
    if fixed_pairs_unkeepable(instance):
        return _infeasible(instance, np.zeros((instance.n_apps, instance.n_pools)), {"fixed_pairs_unkeepable": True})
    per_pool = per_pool or int(min(instance.pool_quotas[:, 1].max(initial=1), instance.panel_size.max(initial=1))) + 8
    master = Master(instance, weight, floor=floor, exact_floor=exact_floor)
    limited = pricing_time_limit is not None and floor is None
    end = clock + pricing_time_limit if limited else None
    pricing_end = clock + PRICING_SHARE * pricing_time_limit if limited else None
    greedy, pass_seconds = timed_greedy_panels(instance, weight)
    greedy_seconds = time.perf_counter() - clock
    # the pricing share of the limit spent on the greedy panels alone: they are the answer, and the rest of the
    # limit goes to the bound (descend_loads) rather than to first columns no master LP would have time to use
    spent = limited and time.perf_counter() > pricing_end and keeps_every_rule(instance, *greedy)
    # under a limit the flow's own panels, mended to the organization limit, are an answer and its load prices a
    # bound (docs/matching.md, "The flow's panels under a time limit"), if its first round fits the flow's share
    flow_end = clock + FLOW_SHARE * pricing_time_limit if limited else None
    can_flow = limited and known is None and instance.n_experts > 0 and instance.n_apps > 0 and not spent
    flow_rounds = can_flow and time.perf_counter() + FLOW_ROUND_PER_PASS * pass_seconds <= flow_end
    # no priced round fits: one solve over the first pairs, which costs less than the greedy panels (the master's
    # first columns cost twice as much, and no master LP would have time for them). Past the flow's share too:
    # the greedy panels then took the pricing share and break a rule (else ``spent``), and this is the cheapest
    # answer left before the solve runs on without the limit
    flow_once = can_flow and not flow_rounds
    flow_first = flow_rounds or flow_once
    if spent:
        first = greedy
    elif flow_first:            # the flow prices its own columns: the shortlists' seconds go to its rounds
        first = flow_candidates(instance, greedy)
    else:
        first = initial_candidates(instance, weight, per_pool, greedy=greedy)
    # the network start is for the plain objective (a fit floor is no part of the flow) solved to its proof: its
    # flow rounds cannot be cut, and under a limit they spent it without an answer (docs/matching.md)
    network = floor is None and known is None and not limited and instance.n_experts > 0 and instance.n_apps > 0
    flow_stats = start_on_network(master, weight, first, greedy, deadline=pricing_end) if network else {}
    if not network:
        master.add(*first)
    if known is not None:
        master.add(*np.nonzero(known))
    # with the flow solved once, load prices from a sampled round first, then the flow while a bound pass still
    # fits in the limit
    bound_reserve = BOUND_PER_PASS * pass_seconds
    sample_until = end + STEP_GRACE * pricing_time_limit - bound_reserve if flow_once else None
    flow = flow_at_hand(instance, weight, first, flow_end, priced=flow_rounds, sample_until=sample_until,
                        pass_seconds=pass_seconds, needed=flow_rounds or not keeps_every_rule(instance, *greedy)) \
        if flow_first else FlowAtHand()
    if flow_first:
        flow_stats = {**flow.stats, "bound_reserve": bound_reserve} if flow_once else flow.stats
        if flow.pairs is not None:
            master.add(*flow.pairs)
    per_app = PRICED_PER_SEAT * int(instance.panel_size.max(initial=1))
    primal_below = PRIMAL_BELOW if network else 0
    report: dict = {"bound": np.inf, "converged": False, "trace": [], "prices": None}
    if limited and (time.perf_counter() >= pricing_end or flow_once):     # the share is gone: no master LP
        lp, bound, rounds = None, np.inf, 0
    else:
        lp, bound, rounds = generate_columns(master, per_app=per_app, on_round=on_round, report=report,
                                             deadline=pricing_end, hard_deadline=pricing_end,
                                             primal_below=primal_below)
    stats = {**flow_stats, "rounds": rounds, "columns": len(master.col_e), "org_rows": len(master.org_rows),
             "simplex_iterations": master.simplex_iterations, "lp_seconds": time.perf_counter() - clock,
             "lp_objective": None if lp is None else lp.objective, "converged": report["converged"],
             "first_columns_skipped": bool(spent), "greedy_seconds": greedy_seconds, "pass_seconds": pass_seconds,
             "trace": report["trace"]}
    best_bound = min(bound, report["bound"])
    if not report["converged"] and limited:
        stopped = _best_at_hand(master, lp, greedy, weight, flow.pairs)
        if stopped is not None:
            value = float(weight[stopped].sum(dtype=np.float64))
            # the subgradient steps start from the master's last duals, or from the flow's load prices when no
            # master LP finished (their first step is then the bound at the flow's prices)
            prices = flow.load_price if lp is None else None
            descent, steps, first_step, descent_prices = descend_loads(
                master, lp, value, end + STEP_GRACE * pricing_time_limit, prices=prices)
            stats.update(descent_bound=descent, descent_steps=steps)
            if prices is not None:
                stats["flow_bound"] = first_step
            _ended(stats, clock, pricing_time_limit)
            del master, lp          # its HiGHS model: ≈ 0.9 GiB at 20,000 × 50,000, freed before the assignment
            return _solution(instance, weight, *stopped, min(best_bound, descent), stats,
                             _lowest(report["prices"], descent_prices))
    ran_on = limited and not report["converged"]       # nothing within every rule at hand when the limit cut it
    if not report["converged"]:         # nothing to return yet: only a proven master says where it is short
        lp, bound, more = generate_columns(master, per_app=per_app, on_round=on_round, report=report,
                                           primal_below=primal_below)
        best_bound = min(bound, report["bound"])
        stats.update(rounds=rounds + more, columns=len(master.col_e), simplex_iterations=master.simplex_iterations,
                     converged=report["converged"], trace=stats["trace"] + report["trace"])
    x = lp.x
    shortfall = lp.shortfall
    integral = bool(np.all(np.minimum(x, 1 - x) < INTEGRALITY_TOLERANCE)) and not (shortfall > 1e-7).any()
    stats["lp_integral"] = integral
    if (shortfall > 1e-7).any():
        return _infeasible(instance, shortfall, stats)
    if not integral:
        closed = _close_gap_within(master, lp, bound, time_limit, max_columns, stats,
                                   deadline=end if limited and not ran_on else None)
        if closed is None:
            # no MIP found panels within the limit: those at hand if any keep every rule, else run on
            stopped = _best_at_hand(master, lp, greedy, weight, flow.pairs)
            if stopped is not None:
                stats["mip_stopped"] = True
                _ended(stats, clock, pricing_time_limit)
                del master, lp
                return _solution(instance, weight, *stopped, best_bound, stats, report["prices"])
            ran_on = True
            closed = close_gap(master, lp, bound, time_limit, max_columns, stats)
        x, shortfall, bound = closed
        if seats_short(shortfall):
            return _infeasible(instance, shortfall, stats)
    chosen = x > 0.5
    _ended(stats, clock, pricing_time_limit if limited else None)
    if ran_on and time.perf_counter() > end:
        stats["past_limit"] = True          # the limit could not be kept (a run on that ends within it kept it)
    experts, apps = master.col_e[chosen], master.col_a[chosen]
    del master, lp                  # freed before the assignment is allocated, as above
    return _solution(instance, weight, experts, apps, min(bound, best_bound), stats, report["prices"])


def _ended(stats: dict, clock: float, pricing_time_limit: float | None) -> None:
    """A solve's ``seconds`` since ``clock`` in its ``stats``, and, if it had a limit and ended past it and its
    grace (:data:`STEP_GRACE`), by how many seconds (``past_grace``): the estimates that keep a step within the
    limit read the machine's speed off one pass, and a step they under-reserve shows here whatever the path (at
    20,000 × 50,000 the bound pass after a sampled round ended a 60 s solve at 74.5 s), where ``past_limit``
    only says the solve ran on with nothing at hand."""
    stats["seconds"] = time.perf_counter() - clock
    if pricing_time_limit is not None:
        past = stats["seconds"] - (1 + STEP_GRACE) * pricing_time_limit
        if past > 0:
            stats["past_grace"] = past


PRIMAL_BELOW = 2_000
"""After the network start, a pricing round adding fewer columns than this re-optimizes with the primal simplex
(see :func:`generate_columns`): from the start's optimal basis the rounds add tens to hundreds of columns, and
contended 1,000 × 5,000 took 5.4 k simplex iterations in all instead of 45 k with the dual simplex."""

NEAR_PER_APP = 70
"""Most pairs per application priced near zero by the flow's potentials that join the master's first columns
(:func:`start_on_network`)."""


MENDING_SLACK = 0.02
MENDING_PER_APP = 200
"""For each application whose flow panel breaks the organization limit, up to this many pairs priced at least
``−MENDING_SLACK`` by the flow's potentials join the first columns (:func:`start_on_network`): the alternatives
the organization rows need. Without them, contended 5,000 × 12,500 lost 0.07 when the rows entered, the master's
duals then priced out 118 k tied pairs, and re-optimizing cost 340 k dual pivots (212 CPU s in all, 153 with)."""


def start_on_network(master: Master, weight: np.ndarray, first: tuple[np.ndarray, np.ndarray],
                     greedy: tuple[np.ndarray, np.ndarray], deadline: float | None = None, units: int = 1) -> dict:
    """Give the master its first columns and a starting basis from the organization-free relaxation solved as a
    min-cost flow (:mod:`matching.network`), grown from ``first`` by pricing every pair with the flow's
    potentials until none prices out (or ``deadline`` passes).

    First columns: the flow's pairs, the pairs its potentials price at (or next to) zero — the alternatives on
    the relaxation's optimal face — the pairs of the basis, the greedy panels (which keep every organization
    row, so the master stays feasible, without shortfall, once the rows enter), and, for the applications whose
    flow panel breaks the organization limit, the pairs priced within :data:`MENDING_SLACK` of zero. The basis
    is the flow's spanning tree: the first master LP starts at the relaxation's optimum, and only the
    organization rows are left to repair. Nothing here is part of the proof (the flow's costs are
    rounded to integers); the master's own duals give the bound, as without this start. Returns the figures
    for the solve's ``stats``.

    ``units`` > 1 is the randomized draw's capped master (``master.pair_cap`` = 1 / ``units``): the flow counts
    ``units`` per seat (:class:`~matching.network.FlowNetwork`), a pair it uses sits at the cap (status
    ``AT_UPPER`` is the column's upper bound, ``pair_cap``), and a panel holds ``units`` times the pairs, so
    the per-application numbers of pairs grow by ``units`` too. ``greedy`` must then keep the capped
    organization rows (the scaled instance's greedy panels do).
    """
    clock, cpu = time.perf_counter(), time.process_time()
    instance = master.instance
    optimum = network_optimum(instance, weight, *first, deadline=deadline, units=units,
                              per_app=PRICED_PER_APP * units)
    basis = optimum.basis
    master.add(optimum.experts, optimum.apps)
    master.add(*near_zero_pairs(instance, weight, optimum, NEAR_PER_APP * units))
    master.add(basis.basic_experts, basis.basic_apps)
    master.add(*greedy)
    master.add(*organization_alternatives(instance, weight, optimum, MENDING_SLACK, MENDING_PER_APP * units,
                                          units=units))
    started = master.start_from(*flow_statuses(master, optimum))
    return {"flow_rounds": optimum.rounds, "flow_columns": len(optimum.candidates[0]),
            "flow_objective": float(weight[optimum.experts, optimum.apps].sum(dtype=np.float64)),
            "flow_basis": started, "flow_seconds": time.perf_counter() - clock,
            "flow_cpu_seconds": time.process_time() - cpu}


def flow_statuses(master: Master, optimum: NetworkOptimum) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What :meth:`~matching.lp.Master.start_from` takes for the flow's spanning tree (``optimum.basis``, its pairs
    among the master's columns): a pair of the tree basic, another pair the flow uses at its upper bound (the cap;
    a fixed pair at its bound 1), every other pair at 0; a load row off the tree at its cap, a panel row off it at
    its seats, a pool row where its arc's flow sits; a shortfall column of the tree basic, the others at 0."""
    instance, basis = master.instance, optimum.basis
    column = master.col_e.astype(np.int64) * instance.n_apps + master.col_a

    def among(experts: np.ndarray, apps: np.ndarray) -> np.ndarray:
        return np.isin(column, experts.astype(np.int64) * instance.n_apps + apps)

    fixed = among(instance.fixed[:, 0], instance.fixed[:, 1])
    used = among(optimum.experts, optimum.apps) & ~fixed
    columns = np.where(among(basis.basic_experts, basis.basic_apps), BASIC, np.where(used, AT_UPPER, AT_LOWER))
    shortfall = np.where(basis.shortfall.ravel(), BASIC, AT_LOWER)
    rows = np.concatenate([np.where(basis.load == BASIC, BASIC, AT_UPPER), basis.pool.ravel(),
                           np.where(basis.panel, BASIC, AT_LOWER)])
    return columns, shortfall, rows


PRICING_SHARE = 0.6
"""Share of a time-limited solve's limit given to pricing rounds (a master LP still running then is stopped); the
rest goes to :func:`descend_loads`. Contended 5,000 × 12,500 with a 600 s limit: two rounds took the bound to
29,073, then 45 subgradient steps in the remaining 226 s to 25,348; with a 60 s limit at contended 10,000 × 25,000
the greedy panels and first columns took most of the pricing share and HiGHS cut the first master LP at its end, so
the greedy panels were returned with the steps' bound, a gap of 10.16 % (docs/matching.md)."""


STEP_GRACE = 0.1
"""Share of a time-limited solve's limit that its last subgradient step (:func:`descend_loads`) may end past it.
Steps used to start until the limit passed: at 20,000 × 50,000, where a step reads a billion pairs in 26 s, a
second one started 14 s before a 60 s limit and ended 12 s past it with no better bound; stopping every step
that would end past the limit cost 10,000 × 25,000 its third step (6 s, ending 5.6 s past it) and bound 52,145.92
became 52,204.97. Within a tenth of the limit, the third step runs there and XL's second does not."""


def descend_loads(master: Master, lp: LPResult | None, target: float, deadline: float,
                  max_steps: int = 50, *, prices: np.ndarray | None = None,
                  ) -> tuple[float, int, float, BoundPrices | None]:
    """The best panel bound (:meth:`~matching.lp.Master.panel_bound`) over a few subgradient steps on the load
    prices, from the master's last duals (or zero; or from the load ``prices`` given, with the organization
    duals at zero), no step starting that would end after ``deadline`` if it took as long as the last one (at
    least one step; :data:`STEP_GRACE`).

    Used when a time limit stops column generation: the bound of the full problem is a function of the load
    prices ``u`` alone, ``L(u) = Σ u·cap + Σ z·k + Σ_a best panel of a by fit − u − z``, valid for any ``u ≥ 0``,
    and its subgradient is ``cap − (each expert's count in those best panels)``. Steps are Polyak's, towards
    ``target`` (the value of the panels at hand, which the optimum is at least): ``u ← max(0, u − (L − target)
    / ‖g‖² · g)``. Each step reads every pair once. Returns (best bound, steps, the first step's bound, the
    best bound's :class:`BoundPrices`).
    """
    inst = master.instance
    if not master.panel_bound_applies:
        return np.inf, 0, np.inf, None
    if prices is not None:
        u, y_org = prices.copy(), np.zeros(len(master.org_rows))
    else:
        u = np.zeros(inst.n_experts) if lp is None else lp.y_load.copy()
        y_org = np.zeros(len(master.org_rows)) if lp is None else lp.y_org
    best, steps, first, last, best_u = np.inf, 0, np.inf, 0.0, u
    while steps < max_steps and (steps == 0 or time.perf_counter() + last <= deadline):
        steps += 1
        started = time.perf_counter()
        loads = np.zeros(inst.n_experts)
        value = panel_bound_at(master, u, y_org, loads)
        first = value if steps == 1 else first
        if value < best:
            best, best_u = value, u             # each step makes a new u: no copy
        last = time.perf_counter() - started
        step = inst.load_cap - loads
        norm = float(step @ step)
        if not np.isfinite(value) or norm == 0 or value - target <= PRICING_TOLERANCE * max(1.0, abs(target)):
            break
        u = np.maximum(u - (value - target) / norm * step, 0.0)
    return best, steps, first, bound_prices(master, best, best_u, y_org)


def panel_bound_at(master: Master, load_price: np.ndarray, org_price: np.ndarray,
                   loads: np.ndarray | None = None) -> float:
    """The panel bound (:meth:`~matching.lp.Master.panel_bound`) at the given load prices ``u ≥ 0`` and prices
    ``z ≥ 0`` of the master's organization rows, over every pair: ``Σ u·cap + Σ z·k + Σ_a best panel of a by
    fit − u − z``, a bound of the full problem whatever the prices (+inf when it does not apply). With
    ``loads``, each expert's count in those best panels is added to it."""
    if not master.panel_bound_applies:
        return np.inf
    prices = price_duals(master.instance, load_price, org_price)
    blocks = (master.reduced_cost_blocks(prices) if org_price.any()      # else no E × block reduced costs
              else ((apps, None) for apps in master.application_blocks()))
    return master.panel_bound_base(prices) + sum(master.panel_bound(apps, rc, prices, loads) for apps, rc in blocks)


FLOW_SHARE = 0.85
"""Share of a time-limited solve's limit in which the flow's rounds (:func:`flow_at_hand`) may run; a master LP
starts after them only while the pricing share (:data:`PRICING_SHARE`) lasts, the rest goes to
:func:`descend_loads`. At contended 10,000 × 25,000 with a 60 s limit the rounds take 9, 15 and 20 s after 5 s of
greedy panels: within 60 % of the limit one fits, within 75 % two, within 85 % three, and the third took the gap
from 7–9 % to 0.7 % (docs/matching.md)."""

FLOW_ROUND_PER_PASS = 15.0
"""Under a time limit the flow's priced rounds run only if this many times the seconds of the greedy panels'
reading pass (``pass_seconds``, :func:`~matching.greedy.timed_greedy_panels`: every allowed pair's weight read
once) still fit in its share (:data:`FLOW_SHARE`) when the greedy panels are done: its first round reads every
pair once to price the next columns, as that pass does, and solves the flow besides (at 20,000 × 50,000 the pass
takes 4.5 s, the first round 61 s, the second 27 s, the third's flow 25 s: no round there gives a bound below that
of no prices before the fourth; at 10,000 × 25,000 the pass 0.8 s, the first round 9–15 s).

This, :data:`BOUND_PER_PASS` and :data:`SAMPLE_PER_PASS` read the machine's speed for a pass over every pair from
that pass, not from the greedy panels' own seconds, whose rest is per application (ranking, filling panels) and
moves whenever the greedy panels get faster (when they once did, XL's first round passed a test on their seconds
and ran 30 s past a 60 s limit). The three are about three times the multiples of the greedy panels' seconds they
replace (5, 2 and 250): the greedy panels' 13–14 s at XL over its pass's 4.5 s (14.5–17.3 s against 4.5 in one
process at load 1.0–2.0; the bound's 7.5, not 6: the pass slows less with the load than the bound pass does,
docs/matching.md)."""


BOUND_PER_PASS = 7.5
"""Under a time limit the sampled round and the flow solved once (:func:`flow_at_hand`) end where this many times
the greedy panels' reading pass's seconds (:data:`FLOW_ROUND_PER_PASS`) are left before the limit and its grace
(:data:`STEP_GRACE`): the bound pass at the sample's prices that follows reads every pair (contended 20,000 × 50,000: a
bound pass 20–25 CPU s against a reading pass of 4.5 s at load 1; at load 2.4 it ended 39 s after the sample, the
pass 4.7 s, so 6 times it left the solve 74.5 s long on a 60 s limit; 7.5 times, at load 2.8, 63.4 s with no
sample, as main's 2 times the greedy panels' seconds there). 2 times the greedy panels' 13–14 s before."""


SAMPLE_PER_PASS = 750.0
"""The sampled round's flow (:func:`sample_size`) takes about this many times the greedy panels' reading pass's
seconds (:data:`FLOW_ROUND_PER_PASS`) per pair of a sample application and an expert, against one pair of the
round: at contended 20,000 × 50,000 the flow over every pair of 40 and 80 sampled applications took 6.9 and 16.3
CPU s (3.6 and 4.2 µs a pair), and 44 in a solve 7.6 s where the pass took 5.23 s: 630–740 passes an application
at passes of 5.2–5.5 s. Grown by rounds, 45 and 84 took 9.4 and 19.0 s alone (770–1,070 passes, and a sample
started under contention stopped unconverged). Reading the pass's wall seconds scales the estimate with the
machine's load as well."""

SAMPLED_LEAST = 30
"""Fewest applications a sampled round is worth solving for (fewer than the round's own applications): below,
no sample is taken and the subgradient steps start from zero prices. 40 before: the bound at the prices of 29
sampled applications (30 asked) is 3.3–4.4 % above contended 20,000 × 50,000's greedy panels against 2.4–2.8 % for
40 and 9.14 % at zero prices (10,000 × 25,000: 51,758.81–53,293.03 against 50,991.24–51,314.68 and 54,969.79;
two seeds each), for 4.4–5.2 CPU s of flow against 5.7–7.5, so a window that holds 30–39 applications' seconds
now takes them (docs/matching.md)."""


def sample_size(instance: Instance, seconds: float, pass_seconds: float) -> int:
    """Applications of the sampled round (:func:`~matching.network.sampled_load_prices`, which takes at most
    :data:`~matching.network.SAMPLED_APPS`) whose flow should converge within ``seconds``; 0 when fewer than
    :data:`SAMPLED_LEAST` would. A sampled application costs :data:`SAMPLE_PER_PASS` times the reading pass's
    seconds per application of the round (it meets every expert); no more than :data:`~matching.memory.SAMPLED_PAIRS`
    pairs, which the memory estimate counts."""
    per_app = sampled_app_seconds(instance, pass_seconds)
    apps = int(min(instance.n_apps, SAMPLED_PAIRS // max(instance.n_experts, 1),
                   max(seconds, 0.0) / max(per_app, 1e-12)))
    return apps if apps >= min(SAMPLED_LEAST, instance.n_apps) else 0


def sampled_app_seconds(instance: Instance, pass_seconds: float) -> float:
    """Seconds a sampled application should take: :data:`SAMPLE_PER_PASS` times the reading pass's seconds per
    application of the round."""
    return SAMPLE_PER_PASS * pass_seconds / max(instance.n_apps, 1)


def flow_candidates(instance: Instance, greedy: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The pairs a time-limited flow starts from: the fixed pairs, :data:`~matching.greedy.SPREAD` experts of
    each pool per application dealt round-robin (:func:`~matching.greedy.spread`), and the greedy panels. No
    shortlists: the flow's own rounds price the columns it needs, and at 10,000 × 25,000 the shortlists of
    :func:`~matching.greedy.initial_candidates` cost as much as a flow round."""
    dealt_experts, dealt_apps = spread(instance, SPREAD)
    return (np.concatenate([instance.fixed[:, 0], dealt_experts, greedy[0]]).astype(np.int64),
            np.concatenate([instance.fixed[:, 1], dealt_apps, greedy[1]]).astype(np.int64))


FLOW_PRICED_PER_APP = 200
"""New pairs per application per flow round under a time limit (the exact start takes 70): fewer, larger rounds
bring the flow's prices nearer their optimum within a share of the limit (docs/matching.md)."""


@dataclass
class FlowAtHand:
    """What the organization-free flow gives a time-limited solve: its panels mended to the organization limit
    (None when the flow was not run or left seats empty), its load prices (None when not run, or solved once
    unpriced and no sampled round gave prices: :func:`flow_at_hand`), and figures for the solve's ``stats``."""

    pairs: tuple[np.ndarray, np.ndarray] | None = None
    load_price: np.ndarray | None = None
    stats: dict = field(default_factory=dict)


def flow_at_hand(instance: Instance, weight: np.ndarray, first: tuple[np.ndarray, np.ndarray],
                 deadline: float, *, priced: bool = True, sample_until: float | None = None,
                 pass_seconds: float = 0.0, needed: bool = True) -> FlowAtHand:
    """The organization-free relaxation solved as a min-cost flow from ``first``
    (:func:`~matching.network.network_optimum`), no round starting that would end after ``deadline`` if it took
    as long as the last one; without ``priced``, solved once over ``first`` alone (one round, no pricing pass),
    its load prices not kept: those of a sampled round (:func:`~matching.network.sampled_load_prices`) take their
    place, the sample as large as the seconds before ``sample_until`` allow (:func:`sample_size`, from
    ``pass_seconds``). Its panels gain the answer about 0.14 % at 20,000 × 50,000, the sample takes the bound from
    9.96 % to 1.3–1.6 %, so the sample comes first and the flow solved once follows only where the sample's own
    seconds say it ends by ``sample_until`` (:data:`FLOW_ONCE_PER_SAMPLED_PAIR`; with no sample taken, at the
    sample's estimated rate). Where its panels are ``needed`` (the greedy panels break a rule: they may be
    the only answer) the flow runs whatever the seconds, so it comes first and the sample takes what it leaves
    (taken first, the sample would be sized to every second before ``sample_until`` and the flow, 12–18 s at
    20,000 × 50,000, would push the bound pass past the limit).

    The flow's integral solution keeps seats, pool quotas, loads, fixed pairs and conflicts, not the
    organization limit: :func:`within_organization_limit` mends it, and the caller takes it if it keeps every
    rule and beats what else is at hand. Its load prices ``u`` bound the full problem: the panel bound with no
    organization price (:func:`panel_bound_at`; relaxing the organization rows only raises the optimum), which
    the caller's subgradient steps start from. This is not the exact path's network start
    (:func:`start_on_network`), which the master builds on: the master, if it gets time, starts from ``first``
    and the mended panels.

    Prices of a flow never priced over every pair name only its candidates: at 20,000 × 50,000 the panel bound at
    those of the flow over the greedy and dealt pairs was 114,487, above the 109,740 at no price at all, so the
    unpriced flow gives panels and no prices; the sampled round's, 100,837 there (docs/matching.md).
    """
    clock, cpu = time.perf_counter(), time.process_time()
    stats: dict = {}
    pairs, load_price = _flow_solved(instance, weight, first, deadline, priced, stats) if needed else (None, None)
    if not priced:
        load_price, flow_after = _sampled_prices(instance, weight, first, sample_until, pass_seconds, stats)
        if not needed:
            if time.perf_counter() + flow_after > sample_until:
                stats["flow_skipped"] = True
            else:
                pairs, _ = _flow_solved(instance, weight, first, deadline, priced, stats)
    stats.update(flow_seconds=time.perf_counter() - clock, flow_cpu_seconds=time.process_time() - cpu)
    return FlowAtHand(pairs, load_price, stats)


def _flow_solved(instance: Instance, weight: np.ndarray, first: tuple[np.ndarray, np.ndarray], deadline: float,
                 priced: bool, stats: dict) -> tuple[tuple[np.ndarray, np.ndarray] | None, np.ndarray | None]:
    """The flow of :func:`flow_at_hand` (priced by rounds within ``deadline``, else solved once over ``first``),
    its figures in ``stats``: its panels mended to the organization limit (None when a seat stayed empty) and its
    load prices (None unpriced: they name only its candidates)."""
    started = time.perf_counter()
    optimum = network_optimum(instance, weight, *first, deadline=deadline, per_app=FLOW_PRICED_PER_APP) if priced \
        else network_optimum(instance, weight, *first, max_rounds=1)
    solved = time.perf_counter()
    stats.update(flow_rounds=optimum.rounds, flow_columns=len(optimum.candidates[0]),
                 flow_objective=float(weight[optimum.experts, optimum.apps].sum(dtype=np.float64)),
                 flow_solve_seconds=solved - started)
    pairs = None
    if not (optimum.shortfall > 0).any():
        pairs = within_organization_limit(instance, weight, optimum.experts, optimum.apps)
        stats["flow_mended_objective"] = float(weight[pairs].sum(dtype=np.float64))
    stats["flow_mend_seconds"] = time.perf_counter() - solved
    return pairs, optimum.load_price if priced else None


def _sampled_prices(instance: Instance, weight: np.ndarray, first: tuple[np.ndarray, np.ndarray],
                    sample_until: float | None, pass_seconds: float, stats: dict) -> tuple[np.ndarray | None, float]:
    """The sampled round's load prices, the sample as large as the seconds before ``sample_until`` allow
    (:func:`sample_size`; its figures in ``stats``), and the seconds the flow solved once over ``first`` should
    take, read off the sample's (:func:`flow_once_seconds`; with no sample taken, at the rate :func:`sample_size`
    reads off ``pass_seconds``: at 20,000 × 50,000 no sample fits in under 7.8 s, the flow takes 11–18). No
    prices when no sample fits."""
    clock, cpu = time.perf_counter(), time.process_time()
    apps = 0 if sample_until is None else sample_size(instance, sample_until - clock, pass_seconds)
    if not apps:         # the flow's seconds at the rate a sampled application would cost (sample_size)
        return None, flow_once_seconds(instance, first, sampled_app_seconds(instance, pass_seconds), 1)
    size = sample_shape(instance.n_apps, apps)[0]
    load_price = sampled_load_prices(instance, weight, apps=apps)
    sampled = time.perf_counter() - clock
    stats.update(sampled_apps=size, sampled_seconds=sampled, sampled_cpu_seconds=time.process_time() - cpu)
    return load_price, flow_once_seconds(instance, first, sampled, size)


FLOW_ONCE_PER_SAMPLED_PAIR = 5.0
"""The flow solved once over its first pairs and mended (:func:`flow_at_hand`) takes about this many times the
sampled round's seconds per sampled pair (a sampled application and an expert) per first pair: at contended
20,000 × 50,000, in one process at load 4–5, the sample of 40 applications took 6.9 CPU s over 1.94 M pairs
(3.6 µs a pair; 80: 16.3 over 3.86 M, 4.2 µs) and the flow solved once 5.5 CPU s over 0.62 M (8.8 µs), mending
it 6–7 more (11.5–12.4 with it, docs/matching.md). Read off the sample just taken, the estimate is on the same
network code at the same moment's load, where the reading pass (:data:`FLOW_ROUND_PER_PASS`) slows less."""


def flow_once_seconds(instance: Instance, first: tuple[np.ndarray, np.ndarray], sampled: float, size: int) -> float:
    """Seconds the flow solved once over ``first`` and mended should take, from a sample of ``size`` applications
    that took ``sampled`` seconds (:data:`FLOW_ONCE_PER_SAMPLED_PAIR`; each sampled application meets every
    expert)."""
    return FLOW_ONCE_PER_SAMPLED_PAIR * sampled / max(size * instance.n_experts, 1) * len(first[0])


def _solution(instance: Instance, weight: np.ndarray, experts: np.ndarray, apps: np.ndarray, bound: float,
              stats: dict, prices: BoundPrices | None) -> Solution:
    """The Solution of the assignment given by its pairs, ``optimal`` when ``bound`` meets its value, with the
    ``prices`` behind ``bound`` (their own value at least ``bound``)."""
    return_freed_memory()
    panels = Panels.from_pairs(experts, apps, instance.fit.shape)
    seat_apps = panels.apps()
    by_expert = np.lexsort((seat_apps, panels.experts))         # summed in the E × A matrix's order, as before
    objective = float(weight[panels.experts[by_expert], seat_apps[by_expert]].sum(dtype=np.float64))
    status = "optimal" if bound - objective <= OPTIMALITY_TOLERANCE * max(1.0, abs(objective)) else "feasible"
    return Solution(status, panels, objective, bound, np.zeros((instance.n_apps, instance.n_pools)), stats, prices)


def return_freed_memory() -> None:
    """Hand the memory the solve has freed back to the system (glibc only; elsewhere nothing happens).

    Pricing's blocks of reduced costs (32 MB each) sit at glibc's threshold for giving an array pages of its own,
    so many land in the heap, and freeing them (and the master's HiGHS model) leaves the process holding their
    pages: at 20,000 × 50,000, ≈ 1.2 GiB, on top of which the E × A assignment made the run's peak
    for the moment before the report (7,659 MiB, docs/scale.md).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` from the symbols already loaded in the process, None where there is none."""
    try:
        trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    except (OSError, TypeError):        # a platform that cannot open the process's own symbols
        return None
    if trim is not None:                # int malloc_trim(size_t pad): without these ctypes passes a C int
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def _best_at_hand(master: Master, lp: LPResult | None, greedy: tuple[np.ndarray, np.ndarray],
                  weight: np.ndarray, flow: tuple[np.ndarray, np.ndarray] | None = None,
                  ) -> tuple[np.ndarray, np.ndarray] | None:
    """The best of the master's LP solution (if any and integral, mended where it breaks organization rows:
    :func:`within_organization_limit`), the greedy panels and the flow's mended panels (:func:`flow_at_hand`,
    if any), each only if within every rule, as (experts, apps); None if none is."""
    options = []
    if lp is not None and np.all(np.minimum(lp.x, 1 - lp.x) < INTEGRALITY_TOLERANCE) \
            and not (lp.shortfall > 1e-7).any():
        chosen = lp.x > 0.5
        options.append(within_organization_limit(master.instance, weight, master.col_e[chosen],
                                                 master.col_a[chosen]))
    options.append(greedy)
    if flow is not None:
        options.append(flow)
    options = [pairs for pairs in options if keeps_every_rule(master.instance, *pairs)]
    if not options:
        return None
    return max(options, key=lambda pairs: float(weight[pairs].sum(dtype=np.float64)))


def within_organization_limit(instance: Instance, weight: np.ndarray, experts: np.ndarray, apps: np.ndarray,
                              ) -> tuple[np.ndarray, np.ndarray]:
    """Full panels whose organization counts may break the limit, mended: each panel keeps ``max_per_org``
    members of such an organization — first its fixed pairs, then those whose pool would fall below its minimum
    without them, then the best by ``weight`` — and fills the freed seats greedily (pool minimums first, best
    available expert, loads and the limit kept). At 5,000 × 12,500 dropping simply the weaker member left 23
    panels without a technology expert to refill from (every free one was full), so the pools count first; a
    fixed pair always stays (keeping a better member of its organization broke the fixed pair, and the panels
    were refused).

    A time-limited solve stops with the master's last LP solution, and that solution usually breaks the
    organization rows added after it (the master learns them one round late): at 5,000 × 12,500, 668 rows
    after the second round. Mending a few hundred panels keeps the master's far better solution usable.
    Returns the pairs (the panels it could not fill stay short, which :func:`keeps_every_rule` refuses).
    """
    orgs = instance.expert_org[experts]
    n_orgs = int(instance.expert_org.max(initial=0)) + 1
    code = np.where(orgs >= 0, apps.astype(np.int64) * n_orgs + orgs, -1 - np.arange(len(apps)))
    pools = instance.expert_pool[experts]
    counts = np.zeros((instance.n_apps, instance.n_pools), dtype=np.int64)
    np.add.at(counts, (apps, pools), 1)
    needed = counts[apps, pools] <= instance.pool_quotas[pools, 0]   # leaving would break the pool minimum
    # fixed pairs first (they never exceed the limit alone: fixed_pairs_unkeepable), then the needed, then the best
    order = np.lexsort((-weight[experts, apps], ~needed, ~FixedPairs(instance).of(experts, apps), code))
    rank = np.arange(len(order)) - np.searchsorted(code[order], code[order])
    keep = np.ones(len(apps), dtype=bool)
    keep[order[(rank >= instance.max_per_org) & (code[order] >= 0)]] = False
    if keep.all():
        return experts, apps
    mended = np.unique(apps[~keep])
    experts, apps = experts[keep], apps[keep]
    load = np.bincount(experts, minlength=instance.n_experts)
    members = [np.nonzero(instance.expert_pool == p)[0] for p in range(instance.n_pools)]
    added_experts, added_apps = [], []
    for a in mended:
        panel = experts[apps == a]
        extra = _refill(instance, weight, int(a), panel, load, members)
        load[extra] += 1
        added_experts.append(extra), added_apps.append(np.full(len(extra), a))
    experts, apps = np.concatenate([experts, *added_experts]), np.concatenate([apps, *added_apps])
    for a in mended:
        experts, apps = _borrow(instance, weight, int(a), experts, apps, members)
    for a in mended[np.bincount(apps, minlength=instance.n_apps)[mended] < instance.panel_size[mended]]:
        load = np.bincount(experts, minlength=instance.n_experts)       # a second try, with every seat known
        extra = _refill(instance, weight, int(a), experts[apps == a], load, members)
        experts, apps = np.concatenate([experts, extra]), np.concatenate([apps, np.full(len(extra), a)])
    return experts, apps


def _borrow(instance: Instance, weight: np.ndarray, a: int, experts: np.ndarray, apps: np.ndarray,
            members: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Application ``a``'s panel, still short in a pool whose free experts are all full, takes an expert of
    that pool from a panel holding more than that pool's minimum (the cheapest move by ``weight``, never a fixed
    pair), which then refills its seat from any pool under its maximum. Unchanged if ``a`` is not short or no
    move works."""
    panel = experts[apps == a]
    quotas = instance.pool_quotas
    counts = np.zeros((instance.n_apps, instance.n_pools), dtype=np.int64)
    np.add.at(counts, (apps, instance.expert_pool[experts]), 1)
    if len(panel) >= instance.panel_size[a] or (counts[a] >= quotas[:, 0]).all():
        return experts, apps
    taken_orgs = set(instance.expert_org[panel].tolist()) - {-1}
    for p in np.nonzero(counts[a] < quotas[:, 0])[0]:
        donors = (instance.expert_pool[experts] == p) & (counts[apps, p] > quotas[p, 0]) \
            & instance.allowed[experts, a] & ~np.isin(experts, panel) & ~FixedPairs(instance).of(experts, apps) \
            & ~np.isin(instance.expert_org[experts], list(taken_orgs))
        for k in np.argsort(weight[experts, apps] - weight[experts, a])[:len(apps)]:
            if not donors[k]:
                continue
            e, b = int(experts[k]), int(apps[k])
            rest = np.delete(np.arange(len(apps)), k)
            load = np.bincount(experts[rest], minlength=instance.n_experts)
            load[e] += 1                            # e's seat on a: e is no candidate beyond their cap for b
            refill = _refill(instance, weight, b, experts[rest][apps[rest] == b], load, members)
            if len(refill) == 1:
                experts = np.concatenate([experts[rest], [e], refill])
                apps = np.concatenate([apps[rest], [a], [b]])
                break
    return experts, apps


def _refill(instance: Instance, weight: np.ndarray, a: int, panel: np.ndarray, load: np.ndarray,
            members: list[np.ndarray]) -> np.ndarray:
    """Experts for application ``a``'s empty seats, given its ``panel`` so far
    (:func:`~matching.greedy.fill_seats`, a seat kept for each unmet minimum), best by ``weight`` among the
    allowed experts under their load cap whose organization the panel can still take (tested before the
    ranking: at 5,000 × 12,500 the twenty best free experts of a pool all belonged to organizations already on
    seven mended panels, which stayed short with a thousand others free)."""
    usable = instance.allowed[:, a] & (load < instance.load_cap)
    usable[panel] = False
    orgs = instance.expert_org[panel]
    held, count = np.unique(orgs[orgs >= 0], return_counts=True)
    usable &= ~np.isin(instance.expert_org, held[count >= instance.max_per_org])
    ranked = ranked_for_panel(np.where(usable, weight[:, a], -np.inf), members)
    return fill_seats(instance, a, ranked, panel, reserve=True)


def keeps_every_rule(instance: Instance, experts: np.ndarray, apps: np.ndarray) -> bool:
    """Whether the assignment given by its (distinct) pairs is feasible: allowed pairs, fixed pairs in, loads,
    panel sizes, pool quotas and the organization limit (counted over the pairs, no E × A matrix)."""
    if len(np.unique(experts.astype(np.int64) * instance.n_apps + apps)) != len(experts):
        return False
    pools = np.zeros((instance.n_apps, instance.n_pools), dtype=np.int64)
    np.add.at(pools, (apps, instance.expert_pool[experts]), 1)
    code = set((experts.astype(np.int64) * instance.n_apps + apps).tolist())
    orgs = instance.expert_org[experts]
    limited = orgs >= 0
    _, per_org = np.unique(apps[limited].astype(np.int64) * (int(orgs.max(initial=0)) + 1) + orgs[limited],
                           return_counts=True)
    return bool(instance.allowed[experts, apps].all()
                and all(int(e) * instance.n_apps + int(a) in code for e, a in instance.fixed)
                and (np.bincount(experts, minlength=instance.n_experts) <= instance.load_cap).all()
                and (np.bincount(apps, minlength=instance.n_apps) == instance.panel_size).all()
                and (pools >= instance.pool_quotas[:, 0]).all() and (pools <= instance.pool_quotas[:, 1]).all()
                and (per_org <= instance.max_per_org).all())


def fixed_pairs_unkeepable(instance: Instance) -> bool:
    """Whether the fixed pairs alone are forbidden, already exceed a cap (load, panel, pool maximum,
    organization), or leave a panel fewer seats than its pools still need to reach their minimums (neither the
    flow nor the master LP has a solution then, not even with shortfall);
    :func:`matching.infeasibility.presolve` words each case. Counted over the pairs (an E × A mask is 1 GB at
    20,000 × 50,000)."""
    pairs = np.unique(instance.fixed, axis=0) if len(instance.fixed) else instance.fixed
    experts, apps = pairs[:, 0], pairs[:, 1]
    pools = np.zeros((instance.n_apps, instance.n_pools), dtype=np.int64)
    np.add.at(pools, (apps, instance.expert_pool[experts]), 1)
    orgs = instance.expert_org[experts]
    limited = orgs >= 0
    _, per_org = np.unique(apps[limited].astype(np.int64) * (int(orgs.max(initial=0)) + 1) + orgs[limited],
                           return_counts=True)
    return bool((~instance.allowed[experts, apps]).any()
                or (np.bincount(experts, minlength=instance.n_experts) > instance.load_cap).any()
                or (np.bincount(apps, minlength=instance.n_apps) > instance.panel_size).any()
                or (np.maximum(instance.pool_quotas[:, 0] - pools, 0).sum(axis=1)
                    > instance.panel_size - pools.sum(axis=1)).any()
                or (pools > instance.pool_quotas[:, 1]).any()
                or (per_org > instance.max_per_org).any())


FIXING_GUESS = OPTIMALITY_TOLERANCE
"""First guess, relative to the objective, of the integrality gap: the first MIP keeps only the pairs whose
reduced cost is at least minus the LP gap plus this (see :func:`close_gap`). On contended rounds most pairs'
reduced costs crowd just below zero (1e-4 of the objective let in 90,000 pairs at 300 × 1,500 and the MIP took
minutes); the organization limit rarely opens a gap larger than the optimality tolerance."""


def close_gap(master: Master, lp: LPResult, bound: float, time_limit: float | None, max_columns: int,
              stats: dict, *, deadline: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Integral optimum from a fractional LP optimum, by MIPs over the pairs reduced-cost fixing keeps.

    With ``bound`` the Lagrangian bound of ``lp``'s duals, a solution using a pair of reduced cost ``rc < 0``
    is worth at most ``bound + rc``. So once some solution of value ``v`` is known, only pairs with
    ``rc ≥ −(bound − v)`` can be in a better one. The first MIP guesses the gap ``δ`` (the LP gap plus
    :data:`FIXING_GUESS`) and keeps the pairs with ``rc ≥ −δ`` — in the column set or not — which on a contended
    round is a fraction of the column set; if its value ``v`` has ``bound − v ≤ δ`` the guess held and ``v`` is
    optimal over every pair, otherwise a second MIP keeps every pair with ``rc ≥ −(bound − v)``, which is exact.
    The reported bound is the larger of the last MIP's own bound and ``bound − δ`` (what any pair left out can
    reach), never above ``bound``.

    ``time_limit`` bounds each MIP; ``deadline`` (a ``time.perf_counter()`` value: a time-limited solve's end)
    bounds them all: each MIP gets the seconds left, none starts once it has passed if a solution is at hand,
    and ``stats["mip_stopped"]`` says when one stopped at it, before any panels of its own or after, or was not
    started (the result is then the best found, its bound still valid).

    Raises :class:`~matching.lp.NoIncumbent` if a MIP finds no solution within its seconds, unless a ``deadline``
    is given and an earlier one (the dive or the first MIP) found one; and if a MIP stops holding only panels that
    leave seats short with no earlier panels (with earlier panels, deadline or not, those are the answer).
    """
    clock = time.perf_counter()
    tolerance = OPTIMALITY_TOLERANCE * max(1.0, abs(lp.objective))
    delta = max(bound - lp.objective, 0.0) + FIXING_GUESS * max(1.0, abs(lp.objective))
    result = _dive(master, lp, bound, delta, _seconds_left(time_limit, deadline))
    if result is not None and bound - result[2] <= tolerance:
        stats.update(mips=0, dive=True, first_mip_objective=result[2], mip_seconds=time.perf_counter() - clock)
        return result[0], result[1], bound
    mips = 0
    proven = bound                  # the tightest upper bound any MIP below proved, whichever found the incumbent
    while mips < 2:
        if result is not None and deadline is not None and time.perf_counter() >= deadline:
            stats["mip_stopped"] = True
            break
        mips += 1
        outside = master.pairs_priced_at_least(lp, -delta - PRICING_TOLERANCE)
        if len(master.col_e) + len(outside[0]) > max_columns:
            stats["skipped_fixing"] = len(outside[0])
            break
        master.add(*outside)
        # the column set now holds every pair with rc ≥ −δ: a solution using any other pair is worth < bound − δ
        active = master.column_reduced_costs(lp) >= -delta - PRICING_TOLERANCE
        try:
            try:
                x, shortfall, value, dual_bound, proven_here = master.solve_mip(
                    _seconds_left(time_limit, deadline), active)
            except NoIncumbent:
                raise
            except RuntimeError:    # no integral solution among the active pairs: the whole column set
                x, shortfall, value, dual_bound, proven_here = master.solve_mip(_seconds_left(time_limit, deadline))
        except NoIncumbent:         # the deadline came first: the best found so far, if any, is the answer
            if result is None or deadline is None:
                raise
            stats["mip_stopped"] = True
            break
        if not proven_here and seats_short(shortfall):
            # stopped holding only panels that leave seats short, which says nothing about the round (the
            # shortfall columns are always feasible): the panels found before it, with or without a deadline
            if result is None:
                raise NoIncumbent("stopped holding only an incumbent that leaves seats short")
            stats["mip_stopped"] = True
            break
        if not proven_here and deadline is not None and time.perf_counter() >= deadline:
            stats["mip_stopped"] = True
        proven = min(proven, max(dual_bound, bound - delta))
        if result is None or value > result[2]:
            result = (x, shortfall, value, proven)
        if bound - value <= delta + tolerance:
            break
        delta = bound - value
    if result is None:
        raise NoIncumbent("no integral solution among the pairs reduced-cost fixing keeps")
    x, shortfall, value, _ = result
    stats.update(mips=mips, first_mip_objective=value, mip_seconds=time.perf_counter() - clock,
                 columns=len(master.col_e))
    x = np.concatenate([x, np.zeros(len(master.col_e) - len(x))])   # an earlier MIP's x predates new columns
    return x, shortfall, min(bound, proven)


def _close_gap_within(master: Master, lp: LPResult, bound: float, time_limit: float | None, max_columns: int,
                      stats: dict, *, deadline: float | None) -> tuple[np.ndarray, np.ndarray, float] | None:
    """:func:`close_gap` within ``deadline``; None where it passed before any MIP found panels (with no
    ``deadline``, :class:`~matching.lp.NoIncumbent` is raised as by :func:`close_gap`)."""
    try:
        return close_gap(master, lp, bound, time_limit, max_columns, stats, deadline=deadline)
    except NoIncumbent:
        if deadline is None:
            raise
        return None


def _seconds_left(time_limit: float | None, deadline: float | None) -> float | None:
    """Seconds a MIP may take: ``time_limit``, or less where the ``deadline`` comes first (never below 0)."""
    if deadline is None:
        return time_limit
    left = max(deadline - time.perf_counter(), 0.0)
    return left if time_limit is None else min(time_limit, left)


def _dive(master: Master, lp: LPResult, bound: float, delta: float, time_limit: float | None,
          ) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """A quick integral solution: the LP's integral columns held at one, a small MIP over the fractional rest.

    On contended rounds the LP optimum is integral but for a few dozen pairs that the organization limit splits;
    a MIP over the whole column set re-solves everything (18 s at 300 × 1,500), while this one only places the
    split seats. Nothing here is needed for the proof: the Lagrangian bound decides whether the result is
    optimal, and :func:`close_gap` falls back to the exact MIPs when it is not.
    """
    ones = lp.x > 1 - INTEGRALITY_TOLERANCE
    active = ones | (master.column_reduced_costs(lp) >= -delta - PRICING_TOLERANCE)
    try:
        x, shortfall, value, _, _ = master.solve_mip(time_limit, active, ones)
    except RuntimeError:            # the fixed part left no room: no dive
        return None
    if seats_short(shortfall):      # the ones held or a stop at the limit left seats short: no panels
        return None
    return x, shortfall, value, bound


def seats_short(shortfall: np.ndarray) -> bool:
    """Whether an integer program's solution leaves some seat empty (a shortfall column at one). Only a proven
    program's says the round is infeasible: the shortfall columns are always feasible, so one stopped at its
    time limit may hold nothing better, and the dive's seats held at one may leave no room."""
    return bool((shortfall > 0.5).any())


def _infeasible(instance: Instance, shortfall: np.ndarray, stats: dict) -> Solution:
    empty = np.zeros(0, dtype=np.int64)
    return Solution("infeasible", Panels.from_pairs(empty, empty, instance.fit.shape), 0.0, None,
                    np.where(shortfall > 1e-7, shortfall, 0.0), stats)
