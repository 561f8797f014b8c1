"""The exact solver: every constraint holds, the optimum matches brute force, the bound is honest."""

from __future__ import annotations

import itertools
import time
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from types import SimpleNamespace
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

import matching.greedy
import matching.lp
import matching.network
import matching.solve
from matching.greedy import _best_first, _ranked_by_pool, greedy_panels, initial_candidates, ranked_for_panel
from matching.instance import Instance, assignment_violations
from matching.lp import LPResult, Master, NoIncumbent
from matching.network import network_optimum
from matching.solve import (
    Solution,
    _borrow,
    descend_loads,
    fixed_pairs_unkeepable,
    flow_candidates,
    keeps_every_rule,
    panel_bound_at,
    sample_size,
    sampled_app_seconds,
    solve_total,
    within_organization_limit,
)

POOLS = ("technology", "law")


def random_instance(seed: int, n_experts: int, n_apps: int, *, panel: int = 3, n_orgs: int = 4,
                    conflict_rate: float = 0.15, quotas=((1, 2), (1, 2)), load_cap: int = 2,
                    n_fixed: int = 0) -> Instance:
    """A small random instance; ``seed`` drives everything so hypothesis can shrink it."""
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, len(quotas), n_experts)
    pool[: len(quotas)] = np.arange(len(quotas))          # every pool has somebody
    allowed = rng.random((n_experts, n_apps)) >= conflict_rate
    fixed = np.zeros((0, 2), dtype=int)
    if n_fixed:
        e = rng.choice(n_experts, n_fixed, replace=False)
        fixed = np.stack([e, rng.integers(0, n_apps, n_fixed)], axis=1)
        allowed[fixed[:, 0], fixed[:, 1]] = True
    return Instance(
        fit=np.round(rng.random((n_experts, n_apps)), 3), allowed=allowed, expert_pool=pool,
        pools=tuple(f"pool{p}" for p in range(len(quotas))) if len(quotas) != 2 else POOLS,
        expert_org=rng.integers(-1, n_orgs, n_experts), load_cap=rng.integers(1, load_cap + 1, n_experts),
        panel_size=np.full(n_apps, panel), pool_quotas=np.array(quotas), max_per_org=1, fixed=fixed,
    )


def brute_force(instance: Instance) -> float | None:
    """Best total fit by enumerating every panel of every application (tiny instances only)."""
    panels = []
    for a in range(instance.n_apps):
        options = []
        for panel in itertools.combinations(range(instance.n_experts), int(instance.panel_size[a])):
            chosen = np.zeros(instance.n_experts, dtype=bool)
            chosen[list(panel)] = True
            options.append(chosen)
        panels.append(options)
    best = None
    for choice in itertools.product(*panels):
        assigned = np.stack(choice, axis=1)
        if not assignment_violations(instance, assigned):
            value = float(instance.fit[assigned].sum())
            best = value if best is None else max(best, value)
    return best


def dense_milp(instance: Instance) -> float | None:
    """The textbook formulation over every allowed pair, written independently of matching.lp."""
    n_e, n_a = instance.fit.shape
    index = -np.ones((n_e, n_a), dtype=int)
    pairs = np.argwhere(instance.allowed.dense())
    index[pairs[:, 0], pairs[:, 1]] = np.arange(len(pairs))
    rows, lower, upper = [], [], []

    def row(mask: np.ndarray, low: float, high: float) -> None:
        coefficients = np.zeros(len(pairs))
        coefficients[index[mask & instance.allowed.dense()]] = 1
        rows.append(coefficients), lower.append(low), upper.append(high)

    for e in range(n_e):
        mask = np.zeros((n_e, n_a), dtype=bool)
        mask[e] = True
        row(mask, 0, instance.load_cap[e])
    for a in range(n_a):
        mask = np.zeros((n_e, n_a), dtype=bool)
        mask[:, a] = True
        row(mask, instance.panel_size[a], instance.panel_size[a])
        for p, (low, high) in enumerate(instance.pool_quotas):
            row(mask & (instance.expert_pool == p)[:, None], low, high)
        for o in set(instance.expert_org.tolist()) - {-1}:
            row(mask & (instance.expert_org == o)[:, None], 0, instance.max_per_org)
    lb = np.zeros(len(pairs))
    for e, a in instance.fixed:
        lb[index[e, a]] = 1
    res = milp(-instance.fit[pairs[:, 0], pairs[:, 1]], integrality=np.ones(len(pairs)),
               bounds=Bounds(lb, np.ones(len(pairs))), constraints=LinearConstraint(np.array(rows), lower, upper))
    return None if res.x is None else -res.fun


def check_solution(instance: Instance, reference: float | None) -> None:
    solution = solve_total(instance, per_pool=1)     # tiny candidate sets force column generation
    if reference is None:
        assert solution.status == "infeasible"
        return
    assert solution.status == "optimal"
    assert assignment_violations(instance, solution.assigned) == []
    assert solution.objective == pytest.approx(reference, abs=1e-6)
    assert solution.objective - 1e-9 <= solution.bound <= solution.objective + 1e-6 * max(1, solution.objective)
    assert solution.bound >= reference - 1e-9       # a bound on the true optimum, not only on what was found
    assert solution.objective == pytest.approx(float(instance.fit[solution.assigned].sum()))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(4, 7), n_apps=st.integers(1, 2))
def test_optimum_equals_brute_force_on_tiny_instances(seed, n_experts, n_apps):
    instance = random_instance(seed, n_experts, n_apps, panel=2, quotas=((1, 1), (0, 2)))
    check_solution(instance, brute_force(instance))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(10, 24), n_apps=st.integers(2, 7),
       n_orgs=st.integers(2, 8), n_fixed=st.integers(0, 2))
def test_optimum_equals_dense_milp_with_organization_limits(seed, n_experts, n_apps, n_orgs, n_fixed):
    instance = random_instance(seed, n_experts, n_apps, n_orgs=n_orgs, load_cap=3, n_fixed=n_fixed)
    check_solution(instance, dense_milp(instance))


def check_time_limited(instance: Instance, solution: Solution, reference: float | None) -> None:
    """What a time-limited solve promises wherever its limit fell: infeasible exactly when the round is, panels
    within every rule worth no more than the optimum ``reference``, a bound at or above it (and the bound at the
    flow's load prices, when taken), and ``optimal`` only when the gap is closed."""
    if reference is None:
        assert solution.status == "infeasible"
        return
    assert assignment_violations(instance, solution.assigned) == []
    assert keeps_every_rule(instance, *np.nonzero(solution.assigned))
    assert solution.objective <= reference + 1e-9 <= solution.bound + 2e-9
    assert solution.stats.get("flow_bound", np.inf) >= reference - 1e-9
    assert (solution.status == "optimal") == (solution.bound - solution.objective <= 1e-6 * max(1, reference))


def contended_instance(seed: int, n_experts: int, n_apps: int, *, n_orgs: int) -> Instance:
    """A small round shaped like a contended real one: the fit is a taxonomy match (three values) plus a text
    term with few distinct values, so many pairs tie; applications crowd into one field whose specialists are
    few and carry a load cap of 1–3, so loads bind; a few organizations hold most experts, so the organization
    limit binds."""
    rng = np.random.default_rng(seed)
    app_field = np.where(rng.random(n_apps) < 0.7, 0, rng.integers(0, 4, n_apps))
    expert_field = np.where(rng.random(n_experts) < 0.25, 0, rng.integers(1, 4, n_experts))
    taxonomy = np.where(expert_field[:, None] == app_field[None, :], 1.0,
                        np.where(expert_field[:, None] // 2 == app_field[None, :] // 2, 0.5, 0.0))
    text = rng.integers(0, 3, (n_experts, n_apps)) / 10
    instance = random_instance(seed, n_experts, n_apps, n_orgs=n_orgs, load_cap=3, conflict_rate=0.05)
    weights = 1.0 / (np.arange(n_orgs + 1) + 1.0) ** 1.2           # index 0 becomes −1: no organization
    return replace(instance, fit=0.6 * taxonomy + 0.4 * text,
                   expert_org=rng.choice(n_orgs + 1, n_experts, p=weights / weights.sum()) - 1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(10, 22), n_apps=st.integers(3, 8),
       n_orgs=st.integers(3, 8))
def test_optimum_equals_dense_milp_on_contended_rounds(seed, n_experts, n_apps, n_orgs):
    """Ties, binding loads and binding organization limits: the degenerate case pricing must not stall on."""
    instance = contended_instance(seed, n_experts, n_apps, n_orgs=n_orgs)
    check_solution(instance, dense_milp(instance))


def test_fractional_lp_is_branched_to_the_exact_optimum():
    """Organizations shared across pools make the LP fractional on some seeds; the MIP step must close the gap."""
    branched = 0
    for seed in range(60):
        instance = random_instance(seed, 16, 6, n_orgs=3, load_cap=3)
        solution = solve_total(instance, per_pool=1)
        if solution.status == "infeasible":
            continue
        branched += not solution.stats["lp_integral"]
        assert solution.objective == pytest.approx(dense_milp(instance), abs=1e-6)
        assert solution.status == "optimal"
    assert branched > 0, "no seed exercised the branching path; adjust the instance family"


def test_a_fractional_lp_reached_at_the_time_limit_keeps_the_limit_in_its_integer_programs():
    """A time-limited solve whose master converges to a fractional LP places the split seats by integer
    programs (close_gap); they ran with no limit at all, so a round of the commission's size could run far
    past the limit the organizer set and say nothing. With the limit spent when they start, the solve answers
    with what it has (a dive's panels, the greedy or the flow's), its bound, and says the programs stopped."""
    now = [0.0]
    real_close_gap = matching.solve.close_gap

    def limit_passes_now(*args, **kwargs):
        now[0] = 100.0
        return real_close_gap(*args, **kwargs)

    stopped = 0
    for seed in range(60):
        instance = random_instance(seed, 16, 6, n_orgs=3, load_cap=3)
        reference = dense_milp(instance)
        now[0] = 0.0
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(matching.solve, "time", SimpleNamespace(perf_counter=lambda: now[0],
                                                                   process_time=time.process_time))
            patch.setattr(matching.solve, "close_gap", limit_passes_now)
            solution = solve_total(instance, per_pool=1, pricing_time_limit=1.0)
        check_time_limited(instance, solution, reference)
        if solution.status == "infeasible" or solution.stats.get("lp_integral", True):
            continue
        assert solution.status == "optimal" or solution.stats.get("mip_stopped"), seed
        assert "past_limit" not in solution.stats or not solution.stats.get("mip_stopped"), seed
        stopped += bool(solution.stats.get("mip_stopped"))
    assert stopped > 0, "no seed stopped an integer program at the limit; adjust the instance family"


def solve_on_clock(instance: Instance, now: list[float], solve_mip, **in_solve) -> Solution:
    """A solve limited to 1 s whose clock reads ``now[0]``, with ``Master.solve_mip`` and the ``in_solve``
    functions of matching.solve replaced (they move the clock: where the limit passes)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching.solve, "time", SimpleNamespace(perf_counter=lambda: now[0],
                                                               process_time=time.process_time))
        patch.setattr(Master, "solve_mip", solve_mip)
        for name, function in in_solve.items():
            patch.setattr(matching.solve, name, function)
        return solve_total(instance, per_pool=1, pricing_time_limit=1.0)


def test_an_integer_program_the_limit_stops_before_any_panels_keeps_the_dives():
    """Under a time limit, the dive may place the split seats and the next integer program reach the limit
    before finding panels of its own: the dive's panels (within every rule) are the best found, so the solve
    answers with them and says the programs stopped; it raised, dropping them for the greedy's or, with nothing
    else at hand, running on past the limit."""
    instance = random_instance(29, 16, 6, n_orgs=3, load_cap=3)      # a fractional LP whose dive is not optimal
    reference = dense_milp(instance)
    now, calls, dive = [0.0], [0], []
    real_solve_mip = Master.solve_mip

    def limit_passes_in_the_first_mip(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 2:
            now[0] = 100.0
            raise NoIncumbent("time limit reached before any integer solution")
        result = real_solve_mip(self, *args, **kwargs)
        dive.append(result[2])
        return result

    for at_hand in (matching.solve._best_at_hand, lambda *args: None):
        now[0], calls[0], dive[:] = 0.0, 0, []
        solution = solve_on_clock(instance, now, limit_passes_in_the_first_mip, _best_at_hand=at_hand)
        check_time_limited(instance, solution, reference)
        assert not solution.stats["lp_integral"] and calls[0] == 2
        assert solution.objective == pytest.approx(dive[0], abs=1e-9)
        assert solution.stats.get("mip_stopped") and "past_limit" not in solution.stats


@pytest.mark.parametrize("seed", [29, 464, 607, 921])      # the fractional LPs of the family's first 1,000
@pytest.mark.parametrize("passes_in", range(4))
@pytest.mark.parametrize("holding", ["panels", "nothing", "seats short"])
def test_the_limit_passing_anywhere_in_the_integer_programs_keeps_every_promise(seed, passes_in, holding):
    """Wherever the limit passes among close_gap's integer programs (before the dive, in it, in the first MIP,
    in the second), the stopped one holding panels, nothing, or only an incumbent that leaves seats short (the
    shortfall columns are always feasible, so HiGHS stopped early may hold nothing better; no proof that the
    round is infeasible): panels within every rule, a bound at or above the optimum, ``optimal`` only with the
    gap closed, ``mip_stopped`` whenever it is not, and no run past the limit (the greedy's or the dive's panels
    are at hand)."""
    instance = random_instance(seed, 16, 6, n_orgs=3, load_cap=3)
    real_solve_mip, real_close_gap = Master.solve_mip, matching.solve.close_gap
    now, calls = [0.0], [0]

    def solve_mip(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == passes_in:
            now[0] = 100.0
            if holding == "nothing":
                raise NoIncumbent("time limit reached before any integer solution")
        if holding == "seats short" and calls[0] >= passes_in:      # and every program after it
            x, shortfall, _, dual_bound, _ = real_solve_mip(self, *args, **kwargs)
            return np.zeros_like(x), shortfall + 1.0, -1e6, dual_bound, False
        return real_solve_mip(self, *args, **kwargs)

    def close_gap(*args, **kwargs):
        calls[0] = 0
        now[0] = 100.0 if passes_in == 0 else now[0]
        return real_close_gap(*args, **kwargs)

    solution = solve_on_clock(instance, now, solve_mip, close_gap=close_gap)
    check_time_limited(instance, solution, dense_milp(instance))
    assert not solution.stats["lp_integral"]
    assert solution.status == "optimal" or solution.stats.get("mip_stopped")
    assert "past_limit" not in solution.stats


@pytest.mark.parametrize("seed", [9, 24, 29])     # of the first 40: no dive (9, 24), a dive's panels (29)
def test_a_program_stopped_seats_short_with_no_deadline_keeps_the_dives_panels(seed, monkeypatch):
    """The fair objective's programs run under a time limit but no deadline: a MIP that stops holding only
    panels that leave seats short must not throw away the dive's panels (nor call the round infeasible)."""
    instance = random_instance(seed, 16, 6, n_orgs=3, load_cap=3)
    master = Master(instance, instance.fit)
    master.add(*initial_candidates(instance, instance.fit, 8))
    lp, bound, _ = matching.solve.generate_columns(master, per_app=12)
    real_solve_mip, calls, dived = Master.solve_mip, [0], []

    def solve_mip(self, *args, **kwargs):
        calls[0] += 1
        x, shortfall, value, dual_bound, proven = real_solve_mip(self, *args, **kwargs)
        if calls[0] == 1:                                       # the dive
            dived.append(not matching.solve.seats_short(shortfall))
            return x, shortfall, value, dual_bound, proven
        return np.zeros_like(x), shortfall + 1.0, -1e6, dual_bound, False

    monkeypatch.setattr(Master, "solve_mip", solve_mip)
    stats: dict = {}
    try:
        x, shortfall, reported = matching.solve.close_gap(master, lp, bound, 10.0, 10**7, stats)
    except NoIncumbent:
        assert dived == [False]         # no panels before the stopped program: nothing to answer with
        return
    assert calls[0] >= 2 and not matching.solve.seats_short(shortfall) and stats["mip_stopped"]
    chosen = x > 0.5
    assigned = np.zeros(instance.fit.shape, dtype=bool)
    assigned[master.col_e[chosen], master.col_a[chosen]] = True
    assert assignment_violations(instance, assigned) == [] and reported >= dense_milp(instance) - 1e-6


def test_hard_conflicts_are_never_assigned_even_when_they_fit_best():
    instance = random_instance(3, 12, 4, conflict_rate=0.0)
    allowed = instance.allowed.dense()
    best = np.argmax(instance.fit, axis=0)
    allowed[best, np.arange(4)] = False
    blocked = replace(instance, allowed=allowed)
    solution = solve_total(blocked)
    assert not solution.assigned[best, np.arange(4)].any()
    assert assignment_violations(blocked, solution.assigned) == []


def test_fixed_pairs_are_kept_even_when_they_fit_worst():
    instance = random_instance(5, 12, 3, conflict_rate=0.0, n_orgs=12)
    worst = np.argmin(np.where(instance.expert_pool[:, None] == 1, instance.fit, np.inf), axis=0)
    pinned = Instance(**{**instance.__dict__, "fixed": np.stack([worst, np.arange(3)], axis=1)})
    solution = solve_total(pinned)
    assert solution.assigned[worst, np.arange(3)].all()
    assert solution.objective == pytest.approx(dense_milp(pinned), abs=1e-6)


def test_too_few_experts_of_a_pool_is_infeasible_with_the_shortfall_located():
    instance = random_instance(1, 10, 3, conflict_rate=0.0, quotas=((1, 2), (1, 2)))
    pool = instance.expert_pool.copy()
    pool[:] = 0
    pool[0] = 1                         # a single law expert …
    load = instance.load_cap.copy()
    load[0] = 1                         # … who can take one application only
    starved = replace(instance, expert_pool=pool, load_cap=load)
    solution = solve_total(starved)
    assert solution.status == "infeasible"
    assert solution.bound is None
    assert solution.shortfall[:, 1].sum() == pytest.approx(2)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(10, 20), n_apps=st.integers(2, 6),
       n_fixed=st.integers(0, 2))
def test_panel_bound_holds_for_any_load_and_organization_prices(seed, n_experts, n_apps, n_fixed):
    """Each application's best panel at given load and organization prices bounds the optimum whatever the
    prices, and never exceeds the Lagrangian bound of the same prices with every pair's reduced cost."""
    instance = random_instance(seed, n_experts, n_apps, n_orgs=4, load_cap=3, n_fixed=n_fixed)
    reference = dense_milp(instance)
    if reference is None:
        return
    rng = np.random.default_rng(seed)
    master = Master(instance, instance.fit)
    master.add(*instance.allowed.nonzero())
    master.add_org_rows()
    n_e, n_a, n_p = n_experts, n_apps, instance.n_pools
    duals = LPResult(x=np.zeros(len(master.col_e)), shortfall=np.zeros((n_a, n_p)), t=0.0, objective=0.0,
                     y_load=rng.random(n_e) * rng.integers(0, 2, n_e), y_panel=rng.normal(0, 1, n_a),
                     y_pool=rng.normal(0, 0.5, (n_a, n_p)), y_org=rng.random(len(master.org_rows)),
                     y_floor=np.zeros(n_a))
    panels = master.panel_bound_base(duals) + sum(master.panel_bound(apps, rc, duals)
                                                  for apps, rc in master.reduced_cost_blocks(duals))
    lagrangian = master.dual_bound(duals) + sum(master.pair_bound(apps, rc)
                                                for apps, rc in master.reduced_cost_blocks(duals))
    assert reference - 1e-9 <= panels <= lagrangian + 1e-9


def plain_panel_bound(instance: Instance, load_price: np.ndarray, loads: np.ndarray | None = None) -> float:
    """The panel bound at load prices ``u`` (no organization prices), dense, by a plain sort: each application's
    best panel by fit − u, every fixed pair in, pool minimums first, then the best of the pools' next experts up
    to their maximums; +inf when a panel cannot be filled. With ``loads``, each chosen expert's count is added to
    it (ties taken by expert)."""
    total = float(load_price @ instance.load_cap)
    fixed = np.zeros(instance.fit.shape, dtype=bool)
    fixed[instance.fixed[:, 0], instance.fixed[:, 1]] = True
    for a in range(instance.n_apps):
        value = np.where(instance.allowed[:, a], instance.fit[:, a] - load_price, -np.inf)
        value[fixed[:, a]] += 1e6
        chosen, optional = [], []
        for p, (low, high) in enumerate(instance.pool_quotas):
            members = np.nonzero(instance.expert_pool == p)[0]
            ranked = [(value[e], e) for e in members[np.argsort(-value[members], kind="stable")]]
            if low > len(ranked):
                return np.inf
            chosen += ranked[:low]
            optional += ranked[low:high]
        rest = max(int(instance.panel_size[a]) - int(instance.pool_quotas[:, 0].sum()), 0)
        if rest > len(optional):
            return np.inf
        chosen += sorted(optional, key=lambda pair: -pair[0])[:rest]
        if not np.isfinite([v for v, _ in chosen]).all():
            return np.inf
        total += sum(v for v, _ in chosen) - 1e6 * fixed[:, a].sum()
        if loads is not None:
            loads += np.bincount([e for _, e in chosen], minlength=len(loads))
    return total


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(6, 30), n_apps=st.integers(1, 9),
       n_fixed=st.integers(0, 3), levels=st.sampled_from([2, 5, 1000]), contended=st.booleans(),
       conflict_rate=st.sampled_from([0.0, 0.3, 0.8]))
def test_the_panel_bound_is_the_plain_sorts_and_its_loads_a_subgradient(seed, n_experts, n_apps, n_fixed, levels,
                                                                         contended, conflict_rate):
    """The panel bound (each pool's best by a sampled threshold) is the one of a plain sort of every pool, on
    rounds with ties (few fit and price levels), fixed and disallowed pairs, contended or not; the experts it
    counts are a subgradient of it: ``L(u') ≥ L(u) + (cap − loads)·(u' − u)`` at any other prices ``u'``."""
    quotas = ((2, 3), (1, 3), (0, 2)) if contended else ((1, 2), (1, 2))
    instance = random_instance(seed, n_experts, n_apps, panel=4 if contended else 3, load_cap=1 if contended else 3,
                               n_fixed=n_fixed, conflict_rate=conflict_rate, quotas=quotas)
    rng = np.random.default_rng(seed)
    instance = replace(instance, fit=rng.integers(0, levels, instance.fit.shape) / levels)
    master = Master(instance, instance.fit)
    prices = [rng.integers(0, 3, n_experts) / 4 * (rng.random(n_experts) < p) for p in (0.0, 0.5, 1.0)]
    for u in prices:
        loads = np.zeros(n_experts)
        value = panel_bound_at(master, u, np.zeros(0), loads)
        reference = plain_panel_bound(instance, u)
        assert value == pytest.approx(reference, abs=1e-6) if np.isfinite(reference) else value == np.inf
        if np.isfinite(value):
            for other in prices + [rng.random(n_experts)]:
                assert panel_bound_at(master, other, np.zeros(0)) >= \
                    value + (instance.load_cap - loads) @ (other - u) - 1e-6


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(4, 30), n_apps=st.integers(1, 9), n_fixed=st.integers(0, 3),
       quotas=st.sampled_from([((1, 2), (1, 2)), ((2, 2), (0, 5), (1, 1)), ((0, 40), (1, 3))]),
       conflict_rate=st.sampled_from([0.0, 0.3, 0.8]), block=st.sampled_from([1, 2, 64]))
def test_the_panel_bound_at_a_masters_duals_is_the_plain_sorts_and_counts_its_experts(seed, n_experts, n_apps, n_fixed,
                                                                                      quotas, conflict_rate, block):
    """Block by block at a master's duals (panel and pool duals, which the values add back to the reduced costs),
    with tight pool maxima, pools smaller than their maximum, fixed and disallowed pairs, the panel bound is the
    plain sort's, and where no two values tie the experts it counts are the plain sort's."""
    instance = random_instance(seed, n_experts, n_apps, panel=4, load_cap=2, n_fixed=n_fixed,
                               conflict_rate=conflict_rate, quotas=quotas)
    rng = np.random.default_rng(seed)
    instance = replace(instance, fit=rng.random(instance.fit.shape))
    n_a, n_p = n_apps, instance.n_pools
    u = rng.random(n_experts) * (rng.random(n_experts) < 0.5)
    duals = LPResult(x=np.zeros(0), shortfall=np.zeros((n_a, n_p)), t=0.0, objective=0.0, y_load=u,
                     y_panel=rng.normal(0, 1, n_a), y_pool=rng.normal(0, 0.5, (n_a, n_p)), y_org=np.zeros(0),
                     y_floor=np.zeros(n_a))
    master = Master(instance, instance.fit)
    loads, gathered_loads, expected = np.zeros(n_experts), np.zeros(n_experts), np.zeros(n_experts)
    with patch.object(matching.lp, "PRICING_BLOCK", block * n_experts):
        value = master.panel_bound_base(duals) + sum(master.panel_bound(apps, rc, duals, loads)
                                                      for apps, rc in master.reduced_cost_blocks(duals))
        gathered = master.panel_bound_base(duals) + sum(master.panel_bound(apps, None, duals, gathered_loads)
                                                         for apps in master.application_blocks())
    reference = plain_panel_bound(instance, u, expected)
    if not np.isfinite(reference):
        assert value == gathered == np.inf
        return
    assert value == pytest.approx(reference, rel=1e-9)
    assert gathered == pytest.approx(reference, rel=1e-9)
    np.testing.assert_array_equal(loads, expected)
    np.testing.assert_array_equal(gathered_loads, expected)


def reduced_cost_pass(master: Master, load_price: np.ndarray, org_price: np.ndarray,
                      loads: np.ndarray | None = None) -> float:
    """The bound pass as it was built before it gathered each pool's values from the weight: the panel bound of
    every block's reduced costs (:meth:`~matching.lp.Master.reduced_cost_blocks`) at the given prices."""
    n_a, n_p = master.instance.n_apps, master.instance.n_pools
    prices = LPResult(x=np.zeros(0), shortfall=np.zeros((n_a, n_p)), t=0.0, objective=0.0, y_load=load_price,
                      y_panel=np.zeros(n_a), y_pool=np.zeros((n_a, n_p)), y_org=org_price, y_floor=np.zeros(n_a))
    return master.panel_bound_base(prices) + sum(master.panel_bound(apps, rc, prices, loads)
                                                 for apps, rc in master.reduced_cost_blocks(prices))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(4, 30), n_apps=st.integers(1, 12), n_fixed=st.integers(0, 3),
       levels=st.sampled_from([2, 5, 1000]), contended=st.booleans(), conflict_rate=st.sampled_from([0.0, 0.3, 0.8]),
       block=st.sampled_from([1, 3, 64]))
def test_the_bound_pass_gathered_from_the_weight_is_the_reduced_costs_pass_bit_for_bit(
        seed, n_experts, n_apps, n_fixed, levels, contended, conflict_rate, block):
    """The bound pass at load prices gathers each pool's values from the weight (a float32 fit, as the real
    rounds' is) and the prices instead of building every block's reduced costs: the same bound and the same
    experts counted (the subgradient), bit for bit, with ties (few fit and price levels, spread the same way),
    fixed and disallowed pairs, blocks of one or more applications."""
    quotas = ((2, 3), (1, 3), (0, 2)) if contended else ((1, 2), (1, 2))
    instance = random_instance(seed, n_experts, n_apps, panel=4 if contended else 3, load_cap=1 if contended else 3,
                               n_fixed=n_fixed, conflict_rate=conflict_rate, quotas=quotas)
    rng = np.random.default_rng(seed)
    instance = replace(instance, fit=(rng.integers(0, levels, instance.fit.shape) / levels).astype(np.float32))
    master = Master(instance, instance.fit)
    with patch.object(matching.lp, "PRICING_BLOCK", block * n_experts):
        for u in [np.zeros(n_experts), rng.integers(0, 3, n_experts) / 4, rng.random(n_experts) * 0.3]:
            loads, expected = np.zeros(n_experts), np.zeros(n_experts)
            value = panel_bound_at(master, u, np.zeros(0), loads)
            reference = reduced_cost_pass(master, u, np.zeros(0), expected)
            assert value == reference or value == reference == np.inf
            np.testing.assert_array_equal(loads, expected)


def test_the_bound_pass_at_organization_prices_reads_the_reduced_costs():
    """Organization duals price only their members' pairs, which the reduced costs carry: at such prices the
    bound pass is the reduced costs', and the values gathered from the weight are refused rather than wrong."""
    instance = random_instance(5, 16, 5, n_orgs=2, load_cap=2)
    master = Master(instance, instance.fit)
    master.add(*instance.allowed.nonzero())
    master.add_org_rows()
    rng = np.random.default_rng(5)
    u, z = rng.random(16) * 0.2, rng.random(len(master.org_rows))
    assert len(z) and panel_bound_at(master, u, z) == reduced_cost_pass(master, u, z)
    n_a, n_p = instance.n_apps, instance.n_pools
    prices = LPResult(x=np.zeros(0), shortfall=np.zeros((n_a, n_p)), t=0.0, objective=0.0, y_load=u,
                      y_panel=np.zeros(n_a), y_pool=np.zeros((n_a, n_p)), y_org=z, y_floor=np.zeros(n_a))
    with pytest.raises(ValueError):
        master.panel_bound(slice(0, n_a), None, prices)
    floored = Master(instance, instance.fit, floor=np.full(n_a, 0.1))     # fit-floor duals: fit·y_floor in rc
    prices = replace(prices, y_org=np.zeros(0), y_floor=np.full(n_a, 0.5))
    with pytest.raises(ValueError):
        floored.panel_bound(slice(0, n_a), None, prices)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(10, 22), n_apps=st.integers(3, 8),
       limit=st.sampled_from([0.0, 0.02, 0.2]), step=st.sampled_from([1e-4, 1e-3, 1e-2]))
def test_a_pricing_time_limit_returns_a_feasible_assignment_with_an_honest_bound(seed, n_experts, n_apps, limit,
                                                                                   step):
    """Stopped before its first master LP, after a few pricing rounds or not at all, the solver returns panels
    that keep every rule, a bound at or above the true optimum, and calls them optimal only when they are.

    Where the limit falls is the example's, not the machine's: every clock the solve reads (the greedy panels'
    too) ticks ``step`` seconds a reading, and HiGHS gets no seconds of its own (its stops at the limit are
    the integer-program tests' above). On the wall clock a 20 ms limit took another path at load 8."""
    instance = contended_instance(seed, n_experts, n_apps, n_orgs=4)
    reference = dense_milp(instance)
    real_solve_lp, real_solve_mip = Master.solve_lp, Master.solve_mip
    with clock_ticking(step) as clock, pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching.greedy, "time", clock)
        patch.setattr(Master, "solve_lp", lambda self, time_limit=None: real_solve_lp(self))
        patch.setattr(Master, "solve_mip", lambda self, time_limit=None, *args: real_solve_mip(self, None, *args))
        solution = solve_total(instance, per_pool=1, pricing_time_limit=limit)
    check_time_limited(instance, solution, reference)
    if solution.status == "optimal":
        assert solution.objective == pytest.approx(reference, abs=1e-6)


def test_a_time_limited_solve_solves_the_flow_for_an_answer_but_does_not_start_the_master_on_it():
    """The min-cost-flow start of the master serves the proof (its basis, its near-zero pairs); under a limit the
    flow is solved for its own panels and prices instead, and the master, if it runs, starts as without it."""
    instance = contended_instance(3, 20, 6, n_orgs=4)
    assert "flow_basis" in solve_total(instance).stats
    limited = solve_total(instance, pricing_time_limit=60.0).stats
    assert "flow_basis" not in limited
    assert limited["flow_rounds"] >= 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(6, 14), n_apps=st.integers(2, 6))
def test_greedy_panels_rule_check_agrees_with_the_dense_check(seed, n_experts, n_apps):
    """The solver's pair-level rule check (used to accept greedy panels) says what the dense check says."""
    instance = contended_instance(seed, n_experts, n_apps, n_orgs=3)
    experts, apps = greedy_panels(instance, instance.fit)
    assigned = np.zeros(instance.fit.shape, dtype=bool)
    assigned[experts, apps] = True
    assert keeps_every_rule(instance, experts, apps) == (assignment_violations(instance, assigned) == [])


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(0, 3000), depth=st.integers(1, 60), levels=st.integers(1, 50),
       unavailable=st.floats(0, 1))
def test_the_greedy_rankings_best_are_the_stable_sort_of_the_finite_scores_cut_at_depth(seed, n, depth, levels,
                                                                                        unavailable):
    """Each pool's best for the greedy panels, found among the scores at or above a threshold taken from every
    8th one: the same experts in the same order as sorting every finite score, best first and ties by index, then
    cutting at the depth — with scores that tie in a few levels, as contended fits do, and many unavailable
    (-inf), down to fewer finite scores than the depth."""
    rng = np.random.default_rng(seed)
    scores = np.where(rng.random(n) < unavailable, -np.inf, rng.integers(0, levels, n) / levels)
    finite = np.nonzero(np.isfinite(scores))[0]
    expected = finite[np.argsort(-scores[finite], kind="stable")][:depth]
    assert _best_first(scores, depth).tolist() == expected.tolist()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), n_experts=st.integers(1, 400), n_pools=st.integers(1, 5),
       unavailable=st.floats(0, 1))
def test_greedy_ranking_by_pool_slices_ranks_what_the_full_look_ranks(seed, n_experts, n_pools, unavailable):
    """Greedy panels rank each application's experts with every pool as one slice of the row; with distinct
    scores (some unavailable), that ranking names the same experts in the same order as looking at the whole
    row: the best overall are among the pools' best."""
    rng = np.random.default_rng(seed)
    pool = np.sort(rng.integers(0, n_pools, n_experts))
    row = np.where(rng.random(n_experts) < unavailable, -np.inf, rng.permutation(n_experts) / n_experts)
    members = [np.nonzero(pool == p)[0] for p in range(n_pools)]
    edges = np.searchsorted(pool, np.arange(n_pools + 1))
    slices = [slice(int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    assert _ranked_by_pool(row, slices).tolist() == ranked_for_panel(row, members).tolist()


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 10**6), n_pools=st.one_of(st.integers(1, 4), st.integers(20, 40)),
       n_experts=st.integers(1, 120), n_apps=st.integers(1, 6), extra=st.integers(0, 4), levels=st.integers(1, 6),
       struck_share=st.floats(0, 0.5))
def test_a_block_ranks_each_application_as_its_own_row_does(seed, n_pools, n_experts, n_apps, extra, levels,
                                                             struck_share):
    """The greedy panels rank a block's applications at once from each pool's best few, and an application
    whose best include experts that filled since rank it again from those lists: the same ranking as its own row
    with the filled experts struck out, or none (then it is ranked from the row) — with tied scores, unavailable
    pairs and short lists (depth 5, each pool's 3, lists of 5–9); with 1–4 pools or 20–40, empty pools and pools of
    one expert among them (each entry's rank in its pool is counted in the pools' own lists, a run each)."""
    rng = np.random.default_rng(seed)
    pool = np.sort(rng.integers(0, n_pools, n_experts))
    edges = np.searchsorted(pool, np.arange(n_pools + 1))
    slices = [slice(int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    scores = np.where(rng.random((n_experts, n_apps)) < 0.3, -np.inf, rng.integers(0, levels, (n_experts, n_apps)))
    struck = rng.random(n_experts) < struck_share
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching.greedy, "GREEDY_DEPTH", 5)
        patch.setattr(matching.greedy, "GREEDY_POOL_DEPTH", 3)
        patch.setattr(matching.greedy, "GREEDY_LIST_DEPTH", 5 + extra)
        block = matching.greedy._BlockRanking.of(scores, slices)
        for j in range(n_apps):
            first = block.first[block.starts[j]:block.starts[j + 1]]
            assert first.tolist() == _ranked_by_pool(scores[:, j], slices).tolist()
            again = block.ranked(j, struck)
            if again is not None:
                assert again.tolist() == _ranked_by_pool(np.where(struck, -np.inf, scores[:, j]), slices).tolist()


@pytest.mark.parametrize(("n_experts", "n_apps"), [(0, 3), (3, 0), (0, 0)])
def test_greedy_panels_of_a_round_without_experts_or_applications_are_empty(n_experts, n_apps):
    """No experts (or no applications): no pairs, as the plain greedy gives (ranking a block at once read row 0
    of a block without rows)."""
    instance = Instance(fit=np.zeros((n_experts, n_apps)), allowed=np.ones((n_experts, n_apps), dtype=bool),
                        expert_pool=np.zeros(n_experts, dtype=np.int64), pools=("a", "b"),
                        expert_org=np.full(n_experts, -1), load_cap=np.ones(n_experts, dtype=np.int64),
                        panel_size=np.ones(n_apps, dtype=np.int64), pool_quotas=np.array([[0, 1], [0, 1]]),
                        max_per_org=1, fixed=np.zeros((0, 2), dtype=np.int64))
    experts, apps = greedy_panels(instance, instance.fit)
    assert experts.tolist() == [] and apps.tolist() == []


def plain_greedy_panels(instance: Instance, weight: np.ndarray, depth: int = 40,
                        pool_depth: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Greedy panels written the plain way: each application's row rebuilt from the loads so far, every available
    expert ranked by weight (ties by pool, then index), the ``depth`` best overall and each pool's ``pool_depth``
    best filled from."""
    load = np.zeros(instance.n_experts, dtype=np.int64)
    experts_out, apps_out = [], []
    for a in range(instance.n_apps):
        row = np.where(instance.allowed[:, a] & (load < instance.load_cap), weight[:, a], -np.inf)
        available = np.nonzero(np.isfinite(row))[0]
        ranked = available[np.lexsort((available, instance.expert_pool[available], -row[available]))]
        pools = instance.expert_pool[ranked]
        kept = np.arange(len(ranked)) < depth
        for p in range(instance.n_pools):
            kept[np.nonzero(pools == p)[0][:pool_depth]] = True
        chosen = matching.greedy.fill_seats(instance, a, ranked[kept], matching.greedy.NO_PANEL, reserve=False)
        load[chosen] += 1
        experts_out.append(chosen), apps_out.append(np.full(len(chosen), a))
    return np.concatenate(experts_out), np.concatenate(apps_out)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_pools=st.one_of(st.integers(1, 3), st.integers(20, 30)), large=st.booleans(),
       apps_a_block=st.integers(1, 4), list_depth=st.sampled_from([40, 41, 60]), short=st.booleans())
def test_greedy_panels_are_the_plain_greedy_panels(seed, n_pools, large, apps_a_block, list_depth, short):
    """Greedy panels rank each pool's best above a sampled threshold (pools of 350–1,000 experts reach it), read the
    applications in blocks, list every application's best of each pool at once, strike full experts out once a
    block and, as they fill, rank the block's later applications again from their lists, or the slow way when
    the lists fall short (lists of 40–41 experts a pool): the same panels as the plain greedy, and no load
    exceeded — with binding caps of 0–3, tied fits, fixed pairs, blocks of one to four applications ranked at once and
    of one more read at once; ``short`` ranks 5 best and each pool's 3 from lists of 5–6, so that experts filled
    in the block often reach an application's lists, and pools of 48 experts or more take the sampled threshold;
    with 1–3 pools or 20–30 (the ranking counts each entry's rank in its pool without an array of lists × pools)."""
    rng = np.random.default_rng(seed)
    n_experts = int(rng.integers(350, 1000)) if large else int(rng.integers(1, 60))
    n_apps = int(rng.integers(1, 30))
    low = rng.integers(0, 3, n_pools)
    high = low + rng.integers(0, 3, n_pools)
    panel = int(max(1, min(high.sum(), low.sum() + rng.integers(0, 3))))
    levels = int(rng.integers(1, 6))
    tied = rng.integers(0, levels, (n_experts, n_apps)) / levels
    fit = tied if rng.random() < 0.7 else rng.random((n_experts, n_apps))
    allowed = rng.random((n_experts, n_apps)) >= 0.9 * rng.random()
    n_fixed = min(2, n_experts)
    fixed = np.stack([rng.choice(n_experts, n_fixed, replace=False), rng.integers(0, n_apps, n_fixed)], axis=1)
    allowed[fixed[:, 0], fixed[:, 1]] = True
    instance = Instance(fit=fit.astype(np.float32) if rng.random() < 0.3 else fit, allowed=allowed,
                        expert_pool=rng.integers(0, n_pools, n_experts),
                        pools=tuple(f"pool{p}" for p in range(n_pools)),
                        expert_org=rng.integers(-1, 4, n_experts), load_cap=rng.integers(0, 4, n_experts),
                        panel_size=np.full(n_apps, panel), pool_quotas=np.stack([low, high], axis=1),
                        max_per_org=int(rng.integers(1, 3)), fixed=fixed)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching.lp, "PRICING_BLOCK", n_experts * (apps_a_block + 1))         # read
        patch.setattr(matching.greedy, "GREEDY_BLOCK", n_experts * apps_a_block)             # ranked at once
        depth, pool_depth = (5, 3) if short else (40, 20)
        patch.setattr(matching.greedy, "GREEDY_DEPTH", depth)
        patch.setattr(matching.greedy, "GREEDY_POOL_DEPTH", pool_depth)
        patch.setattr(matching.greedy, "GREEDY_LIST_DEPTH", 5 + list_depth % 2 if short else list_depth)
        experts, apps = greedy_panels(instance, instance.fit)
    expected_experts, expected_apps = plain_greedy_panels(instance, instance.fit, depth, pool_depth)
    assert experts.tolist() == expected_experts.tolist() and apps.tolist() == expected_apps.tolist()
    assert (np.bincount(experts, minlength=n_experts) <= instance.load_cap).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(12, 24), n_apps=st.integers(2, 6))
def test_panels_breaking_the_organization_limit_are_mended_within_every_rule(seed, n_experts, n_apps):
    """The optimum without the organization limit usually breaks it; mended, the panels keep every rule or are
    refused as a whole (never returned half-mended as if feasible)."""
    instance = contended_instance(seed, n_experts, n_apps, n_orgs=3)
    unlimited = solve_total(replace(instance, max_per_org=n_experts))
    if unlimited.status == "infeasible":
        return
    experts, apps = within_organization_limit(instance, instance.fit, *np.nonzero(unlimited.assigned))
    assigned = np.zeros(instance.fit.shape, dtype=bool)
    assigned[experts, apps] = True
    assert len(experts) == assigned.sum()           # no pair twice
    broken = assignment_violations(instance, assigned)
    assert keeps_every_rule(instance, experts, apps) == (broken == [])
    assert not [b for b in broken if "organization" in b]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(10, 22), n_apps=st.integers(3, 8))
def test_a_limit_spent_on_the_greedy_panels_returns_them_with_an_honest_bound(seed, n_experts, n_apps):
    """With its limit already spent when the greedy panels are done, the solve builds no first columns: it
    returns the greedy panels, within every rule, with a bound (from subgradient steps alone) at or above the
    true optimum, ``optimal`` only when that bound meets them."""
    instance = contended_instance(seed, n_experts, n_apps, n_orgs=4)
    greedy = greedy_panels(instance, instance.fit)
    assume(keeps_every_rule(instance, *greedy))
    reference = dense_milp(instance)
    solution = solve_total(instance, pricing_time_limit=0.0)
    assert solution.stats["first_columns_skipped"] is True
    assert solution.stats["columns"] == len(greedy[0])
    assert keeps_every_rule(instance, *np.nonzero(solution.assigned))
    assert solution.objective == pytest.approx(float(instance.fit[greedy].sum()))
    assert solution.objective <= reference + 1e-9 <= solution.bound + 2e-9
    assert (solution.status == "optimal") == (solution.bound - solution.objective <= 1e-6 * max(1, reference))


@pytest.mark.parametrize("seed", [108, 126])
def test_a_time_limited_solve_with_nothing_to_return_runs_on_and_says_it_passed_the_limit(seed):
    """Stopped with no feasible panels at hand (the greedy ones short of a seat, the flow's mended ones too, no
    master LP finished), the solve runs on to the proven optimum; its stats then say it converged, so no "time
    limit reached, best panels at hand" diagnostic is printed beside an optimal result, and that it passed the
    limit, so the user is told so instead."""
    instance = contended_instance(seed, 14, 6, n_orgs=4)
    solution = solve_total(instance, pricing_time_limit=0.0)
    assert solution.stats["flow_rounds"] == 1                # the flow solved once was tried first
    assert "descent_bound" not in solution.stats            # not the stopped path: nothing was at hand
    assert solution.status == "optimal"
    assert solution.stats["converged"] is True and solution.stats["past_limit"] is True


@pytest.mark.parametrize("seed", [108, 126])
def test_a_solve_that_runs_on_and_ends_within_its_limit_does_not_say_it_passed_it(seed):
    """The same rounds with a minute's limit and no priced flow round fitting: nothing is at hand when the flow
    solved once is mended, so the solve runs on, and ends well within the minute; the run must not say that the
    limit could not be kept."""
    instance = contended_instance(seed, 14, 6, n_orgs=4)
    with no_flow_round_fits():
        solution = solve_total(instance, pricing_time_limit=60.0)
    assert solution.stats["flow_rounds"] == 1 and "descent_bound" not in solution.stats     # it ran on
    assert solution.status == "optimal" and solution.stats["seconds"] < 60.0
    assert "past_limit" not in solution.stats


@pytest.mark.parametrize("seed", [5, 7, 17])
def test_greedy_panels_that_take_the_limit_and_break_a_rule_give_way_to_the_flow_solved_once(seed):
    """On these rounds a few organizations hold most experts, and the greedy panels, filled one application
    after another, leave a panel short; here they take the whole limit. The flow solved once over the greedy and
    dealt pairs, mended to the organization limit, keeps every rule: it is the answer, with the subgradient
    steps' bound and the limit's sentence (before, the solve built the master's first columns and priced on to
    the proven optimum, past the limit, with the flow never tried)."""
    instance = contended_instance(seed, 14, 6, n_orgs=4)
    assert not keeps_every_rule(instance, *greedy_panels(instance, instance.fit))
    reference = dense_milp(instance)
    with clock_ticking(1.0):                # the greedy panels end a whole limit after the solve's start
        solution = solve_total(instance, pricing_time_limit=1.0)
    check_time_limited(instance, solution, reference)
    assert solution.stats["flow_rounds"] == 1 and solution.stats["rounds"] == 0
    assert solution.objective == pytest.approx(solution.stats["flow_mended_objective"])
    assert solution.stats["converged"] is False and "past_limit" not in solution.stats
    assert solution.stats["descent_steps"] >= 1


@contextmanager
def master_stopped_before_its_first_lp():
    """The time-limited pricing rounds end before the first master LP, as a 60 s limit does at
    10,000 × 25,000; the rounds a solve runs on to when nothing is at hand (no hard deadline) are left alone."""
    real = matching.solve.generate_columns

    def no_round_within_the_limit(master, **options):
        if options.get("hard_deadline") is not None:
            options["max_rounds"] = 0
        return real(master, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching.solve, "generate_columns", no_round_within_the_limit)
        yield


@pytest.mark.parametrize("slow", [False, True])
def test_a_time_limited_solve_that_ends_past_its_limit_and_grace_says_so(slow):
    """A step the estimates under-reserve (at 20,000 × 50,000 the bound pass after a sampled round ended a 60 s
    solve at 74.5 s) ends the solve past its limit and grace with panels at hand: its stats say by how many
    seconds (``past_grace``), which ``past_limit`` does not (that is the solve run on with nothing at hand)."""
    instance = contended_instance(2, 20, 6, n_orgs=4)
    now, real = [0.0], matching.solve.descend_loads

    def descend_loads(*args, **kwargs):
        found = real(*args, **kwargs)
        now[0] = 1.5 if slow else 0.5
        return found

    with master_stopped_before_its_first_lp():
        solution = solve_on_clock(instance, now, Master.solve_mip, descend_loads=descend_loads)
    assert "descent_bound" in solution.stats and "past_limit" not in solution.stats
    if slow:
        assert solution.stats["past_grace"] == pytest.approx(1.5 - 1.0 - matching.solve.STEP_GRACE)
    else:
        assert "past_grace" not in solution.stats


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(12, 24), n_apps=st.integers(3, 8))
def test_a_limit_before_the_first_master_lp_answers_within_every_rule_with_an_honest_bound(seed, n_experts, n_apps):
    """Stopped before its first master LP, the solve answers with the best of the greedy panels and the flow's
    panels mended to the organization limit: within every rule, no worse than the greedy panels, never above
    the exact optimum, and with a bound at or above it; the bound at the flow's load prices alone holds too."""
    instance = contended_instance(seed, n_experts, n_apps, n_orgs=4)
    exact = solve_total(instance)
    assume(exact.status == "optimal")
    with master_stopped_before_its_first_lp():
        solution = solve_total(instance, pricing_time_limit=60.0)
    check_time_limited(instance, solution, exact.objective)
    greedy = greedy_panels(instance, instance.fit)
    if keeps_every_rule(instance, *greedy):
        assert solution.objective >= float(instance.fit[greedy].sum()) - 1e-9


@pytest.mark.parametrize("seed", [2, 16, 37])
def test_a_limit_before_the_first_master_lp_takes_the_mended_flow_panels_when_they_beat_the_greedy_ones(seed):
    """On these rounds the flow's panels, mended to the organization limit, are worth more than the greedy panels
    (seed 2: 6.04 against 5.36): a solve stopped before its first master LP returns them, not the greedy ones."""
    instance = contended_instance(seed, 20, 6, n_orgs=4)
    greedy = greedy_panels(instance, instance.fit)
    with master_stopped_before_its_first_lp():
        solution = solve_total(instance, pricing_time_limit=60.0)
    assert keeps_every_rule(instance, *np.nonzero(solution.assigned))
    assert solution.objective > float(instance.fit[greedy].sum()) + 0.01
    assert solution.objective == pytest.approx(solution.stats["flow_mended_objective"])


def test_a_flow_deadline_already_passed_stops_after_one_round():
    """No flow round starts that would end after the deadline: one already passed leaves the first round only,
    while without it the same flow prices out more pairs and runs more rounds."""
    instance = contended_instance(2, 20, 6, n_orgs=4)
    first = initial_candidates(instance, instance.fit, 1)
    assert network_optimum(instance, instance.fit, *first).rounds > 1
    assert network_optimum(instance, instance.fit, *first, deadline=time.perf_counter() - 1.0).rounds == 1


@contextmanager
def no_flow_round_fits():
    """The greedy panels look so slow against the limit that no priced flow round fits in the flow's share."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching.solve, "FLOW_ROUND_PER_PASS", 1e12)
        yield


@pytest.mark.parametrize("seed", [2, 16, 37])
def test_when_no_flow_round_fits_the_flow_is_solved_once_for_its_panels_and_no_master_lp_starts(seed):
    """At 20,000 × 50,000 a priced flow round does not fit the limit (its pricing pass alone took 57 s); the
    flow is then solved once over its first pairs, without pricing, and its mended panels are the answer when
    they beat the greedy ones (before, the solve built the master's first columns, 31 s there, for a master LP
    that never ran, and answered with the greedy panels). Its unpriced load prices give no bound: the subgradient
    steps start from those of a sampled round's flow, here the whole round's (fewer applications than a sample
    holds), so the first step's bound is the organization-free optimum (before, they started from zero prices)."""
    instance = contended_instance(seed, 20, 6, n_orgs=4)
    exact = solve_total(instance)
    greedy = greedy_panels(instance, instance.fit)
    with no_flow_round_fits():
        solution = solve_total(instance, pricing_time_limit=60.0)
    check_time_limited(instance, solution, exact.objective)
    assert solution.stats["flow_rounds"] == 1 and solution.stats["rounds"] == 0
    assert solution.stats["sampled_apps"] == instance.n_apps
    organization_free = dense_milp(replace(instance, max_per_org=instance.n_experts))
    assert solution.stats["flow_bound"] == pytest.approx(organization_free, abs=1e-6)
    assert solution.objective > float(instance.fit[greedy].sum()) + 0.01
    assert solution.objective == pytest.approx(solution.stats["flow_mended_objective"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), shape=st.sampled_from(["contended", "fixed", "tight maximum", "by pool"]),
       sample=st.sampled_from([1, 2, 160]))
@example(seed=20_300, shape="fixed", sample=160)
def test_the_flow_solved_once_answers_within_every_rule_with_an_honest_bound(seed, shape, sample):
    """The flow solved once over its first pairs (fixed pairs and pairs listed twice among them included) gives
    panels that, mended, keep every rule or are refused, and the solve's answer keeps every rule with a bound at
    or above the optimum, its load prices from a sample of one or two applications or of the whole round; the
    steps start from them when the sample gives them (not when the elastic arcs priced its experts). Fixed pairs
    that cannot be kept leave no flow at all (seed 20,300, "fixed": the whole round's flow raises): such rounds
    are refused before any flow, infeasible, as the presolve's sentences say."""
    instance = flow_shaped_instance(seed, shape)
    reference = dense_milp(instance)
    with no_flow_round_fits(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching.network, "SAMPLED_APPS", sample)
        solution = solve_total(instance, pricing_time_limit=60.0)
        check_time_limited(instance, solution, reference)
        if fixed_pairs_unkeepable(instance):
            return
        priced = matching.network.sampled_load_prices(instance, instance.fit, apps=instance.n_apps) is not None
    assert "descent_bound" not in solution.stats or ("flow_bound" in solution.stats) == priced


def test_no_subgradient_step_starts_that_would_end_after_the_deadline():
    """Each step reads every pair (26 s at 20,000 × 50,000): with 15 s left after a 10 s step no second step
    starts (before, one did, and ended 5 s past the deadline); with 25 s left one does."""
    instance = contended_instance(2, 20, 6, n_orgs=4)
    master = Master(instance, instance.fit)
    now = [0.0]
    bound_at = matching.solve.panel_bound_at

    def slow_bound_at(*args, **kwargs):
        now[0] += 10.0
        return bound_at(*args, **kwargs)

    steps = []
    for deadline in (15.0, 25.0):
        now[0] = 0.0
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(matching.solve, "time", SimpleNamespace(perf_counter=lambda: now[0]))
            patch.setattr(matching.solve, "panel_bound_at", slow_bound_at)
            steps.append(descend_loads(master, None, 0.0, deadline)[1])
    assert steps == [1, 2]


def test_a_mended_panel_refills_past_the_best_experts_whose_organization_it_holds():
    """Mending a panel whose two technology members share an organization drops one; the best free technology
    experts all belong to that organization, so the refill must look past them (counted among the ranked first,
    they hid the one expert that fits and the panel stayed short of its minimum)."""
    n_same = 45                               # more than the ranking's depth
    fit = np.concatenate([np.full(n_same + 1, 0.9), [0.1, 0.5]])[:, None]
    instance = Instance(
        fit=fit, allowed=np.ones((n_same + 3, 1), dtype=bool),
        expert_pool=np.array([0] * (n_same + 2) + [1]), pools=POOLS,
        expert_org=np.array([0] * (n_same + 1) + [1, -1]), load_cap=np.ones(n_same + 3, dtype=int),
        panel_size=np.array([3]), pool_quotas=np.array([[2, 3], [0, 1]]), max_per_org=1)
    experts, apps = within_organization_limit(instance, instance.fit, np.array([0, 1, n_same + 2]), np.zeros(3, int))
    assert keeps_every_rule(instance, experts, apps)
    assert n_same + 1 in experts.tolist()


def test_mending_keeps_a_fixed_pair_that_shares_its_organization_with_a_better_member():
    """The organization-free flow puts a better member of the fixed expert's organization on the same panel;
    mending keeps one of the two, and it must be the fixed one (keeping the better one broke the fixed pair, and
    the flow's panels were then refused as a whole)."""
    fit = np.array([[0.1], [0.9], [0.5], [0.4]])
    instance = Instance(
        fit=fit, allowed=np.ones((4, 1), dtype=bool), expert_pool=np.array([0, 0, 0, 1]), pools=POOLS,
        expert_org=np.array([0, 0, -1, -1]), load_cap=np.ones(4, dtype=int), panel_size=np.array([3]),
        pool_quotas=np.array([[1, 2], [1, 1]]), max_per_org=1, fixed=np.array([[0, 0]]))
    experts, apps = within_organization_limit(instance, fit, np.array([0, 1, 3]), np.zeros(3, int))
    assert keeps_every_rule(instance, experts, apps)
    assert sorted(experts.tolist()) == [0, 2, 3]


def test_a_short_panel_never_borrows_a_fixed_pair():
    """Application 0 lacks a technology expert and both free ones sit on application 1, which holds one more
    than its minimum; moving the fixed expert 0 would gain most, but only expert 1 may move (taking the fixed
    pair left application 1 without it, and the mended panels were refused)."""
    fit = np.array([[0.9, 0.1], [0.5, 0.5], [0.3, 0.3], [0.2, 0.2]])
    instance = Instance(
        fit=fit, allowed=np.ones((4, 2), dtype=bool), expert_pool=np.array([0, 0, 1, 1]), pools=POOLS,
        expert_org=np.full(4, -1), load_cap=np.ones(4, dtype=int), panel_size=np.array([2, 2]),
        pool_quotas=np.array([[1, 2], [0, 2]]), max_per_org=1, fixed=np.array([[0, 1]]))
    members = [np.nonzero(instance.expert_pool == p)[0] for p in range(instance.n_pools)]
    experts, apps = _borrow(instance, fit, 0, np.array([2, 0, 1]), np.array([0, 1, 1]), members)
    assert keeps_every_rule(instance, experts, apps)
    assert sorted(zip(experts.tolist(), apps.tolist(), strict=True)) == [(0, 1), (1, 0), (2, 0), (3, 1)]


def flow_shaped_instance(seed: int, shape: str) -> Instance:
    """Small rounds for the time-limited flow: contended ones, fixed pairs, a pool whose maximum is below its
    share of the panel, and seats exactly the pools' minimums (the flow is then solved pool by pool)."""
    rng = np.random.default_rng(seed)
    n_experts, n_apps = int(rng.integers(10, 20)), int(rng.integers(2, 6))
    if shape == "contended":
        return contended_instance(seed, n_experts, n_apps, n_orgs=4)
    if shape == "fixed":
        return random_instance(seed, n_experts, n_apps, n_orgs=4, load_cap=3, n_fixed=int(rng.integers(1, 4)))
    if shape == "tight maximum":
        return random_instance(seed, n_experts, n_apps, n_orgs=3, load_cap=3, panel=4,
                               quotas=((1, 1), (1, 3), (0, 2)), n_fixed=int(rng.integers(0, 2)))
    return random_instance(seed, n_experts, n_apps, n_orgs=3, load_cap=3, quotas=((2, 3), (1, 2)),
                           n_fixed=int(rng.integers(0, 2)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), shape=st.sampled_from(["contended", "fixed", "tight maximum", "by pool"]),
       rounds=st.integers(1, 4))
def test_the_flow_stopped_after_any_round_gives_a_bound_and_panels_that_keep_every_rule(seed, shape, rounds):
    """However early the deadline stops the time-limited flow (its prices then come from a candidate subset and
    may price pairs out), the panel bound at its load prices, taken over every pair, is at or above the optimum
    of the full problem; its panels mended to the organization limit keep every rule whenever the rule check
    says so (checked against the dense check), are worth no more than the optimum, and keep the fixed pairs."""
    instance = flow_shaped_instance(seed, shape)
    assume(not fixed_pairs_unkeepable(instance))
    reference = dense_milp(instance)
    assume(reference is not None)
    first = flow_candidates(instance, greedy_panels(instance, instance.fit))
    optimum = network_optimum(instance, instance.fit, *first, per_app=1, max_rounds=rounds)
    master = Master(instance, instance.fit)
    assert panel_bound_at(master, optimum.load_price, np.zeros(0)) >= reference - 1e-9
    if (optimum.shortfall > 0).any():
        return
    experts, apps = within_organization_limit(instance, instance.fit, optimum.experts, optimum.apps)
    assigned = np.zeros(instance.fit.shape, dtype=bool)
    assigned[experts, apps] = True
    kept = keeps_every_rule(instance, experts, apps)
    assert kept == (len(experts) == assigned.sum() and assignment_violations(instance, assigned) == [])
    if kept:
        assert float(instance.fit[experts, apps].sum()) <= reference + 1e-9
    assert all(assigned[e, a] for e, a in instance.fixed)


@contextmanager
def clock_ticking(step: float):
    """The solve's and the flow's clock advance by ``step`` seconds each time they are read, so a time limit
    falls after a fixed number of readings: before the flow, between its rounds, before or between the master's
    rounds, or during the subgradient steps, wherever the step puts it."""
    ticks = itertools.count(1)
    clock = SimpleNamespace(perf_counter=lambda: step * next(ticks), process_time=time.process_time)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching.solve, "time", clock)
        patch.setattr(matching.network, "time", clock)
        yield clock


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), shape=st.sampled_from(["contended", "fixed", "tight maximum", "by pool"]),
       step=st.sampled_from([1e-4, 1e-3, 0.01, 0.03, 0.1, 0.2, 0.45]), once=st.booleans())
def test_a_time_limit_falling_anywhere_answers_within_every_rule_with_an_honest_bound(seed, shape, step, once):
    """Wherever the limit cuts the solve, what it returns keeps every rule, is worth no more than the optimum
    of the full problem, and comes with a bound at or above that optimum; the bound at the flow's load prices
    alone, when it is taken, too. With ``once`` no priced flow round fits, and the flow solved once is cut
    anywhere too; the longest steps put the greedy panels past the pricing share or the flow's."""
    instance = flow_shaped_instance(seed, shape)
    reference = dense_milp(instance)
    with clock_ticking(step), no_flow_round_fits() if once else nullcontext():
        solution = solve_total(instance, pricing_time_limit=1.0)
    check_time_limited(instance, solution, reference)


@pytest.mark.parametrize("limit", [6, 11, 21, 31, 41])
@pytest.mark.parametrize("seed", [2, 16, 37])
def test_a_time_limited_solve_answers_the_same_wherever_the_same_limit_falls(seed, limit):
    """Two solves of one round whose limit falls at the same point answer the same panels and the same bound:
    apart from where the deadline falls, nothing changes them. The limits put the cut (a second a reading) at
    the greedy panels, after the flow, in the subgradient steps, after master rounds, or nowhere; a master LP
    then gets 0.6 s or nothing, so HiGHS's own clock does not cut it."""
    instance = contended_instance(seed, 20, 6, n_orgs=4)
    answers = []
    for _ in range(2):
        with clock_ticking(1.0):
            answers.append(solve_total(instance, pricing_time_limit=limit))
    first, second = answers
    assert first.status == second.status
    assert np.array_equal(first.assigned, second.assigned)
    assert first.bound == second.bound
    assert first.stats.get("flow_rounds") == second.stats.get("flow_rounds")
    assert first.stats["rounds"] == second.stats["rounds"]


def test_a_borrowed_expert_is_not_given_back_to_the_panel_it_left():
    """A panel short of a pool minimum borrows an expert from a panel holding more than that minimum, which then
    refills its seat: the borrowed expert, already at their load cap on the panel they join, is no candidate for
    that refill (counted as still free there, they were taken back and the mended panels broke their load)."""
    from matching.solve import _borrow

    instance = Instance(
        # e0, e1 technology; e2, e3 law. Application 1 holds e0 and e1; application 0 holds e2 and lacks its
        # technology member. e0 is the cheapest to move and also application 1's best refill.
        fit=np.array([[0.9, 0.9], [0.1, 0.8], [0.5, 0.1], [0.1, 0.2]]), allowed=np.ones((4, 2), dtype=bool),
        expert_pool=np.array([0, 0, 1, 1]), pools=POOLS, expert_org=np.array([-1, -1, -1, -1]),
        load_cap=np.ones(4, dtype=int), panel_size=np.array([2, 2]), pool_quotas=np.array([[1, 2], [0, 2]]),
        max_per_org=1)
    members = [np.array([0, 1]), np.array([2, 3])]
    experts, apps = _borrow(instance, instance.fit, 0, np.array([0, 1, 2]), np.array([1, 1, 0]), members)
    assert keeps_every_rule(instance, experts, apps)
    assert sorted(zip(apps.tolist(), experts.tolist(), strict=True)) == [(0, 0), (0, 2), (1, 1), (1, 3)]


@pytest.mark.parametrize("seed", range(5))
def test_a_column_forbidden_before_it_reached_the_lp_stays_at_zero(seed):
    """The draw narrows the allowed pairs while its master holds columns the LP has not seen yet: those
    columns must enter the LP held at zero, like the ones it had, never at the pair cap."""
    instance = random_instance(seed, 14, 4, load_cap=3)
    master = Master(instance, instance.fit)
    experts, apps = instance.allowed.nonzero()
    first = np.arange(len(experts)) % 2 == 0
    master.add(experts[first], apps[first])
    assert master.solve_lp() is not None
    master.add(experts[~first], apps[~first])           # in the master, not yet in the LP
    late = np.arange(len(master.col_e)) >= first.sum()
    narrowed = instance.allowed.dense()
    narrowed[master.col_e[late], master.col_a[late]] = False
    master.restrict(replace(instance, allowed=narrowed))
    lp = master.solve_lp()
    assert lp is not None
    assert np.all(lp.x[late] <= 1e-9)


def test_a_restriction_that_forbids_a_fixed_pair_is_refused_and_changes_nothing():
    instance = random_instance(7, 10, 4, n_fixed=2)
    master = Master(instance, instance.fit)
    master.add(*instance.allowed.nonzero())
    assert master.solve_lp() is not None
    narrowed = instance.allowed.dense()
    narrowed[instance.fixed[0, 0], instance.fixed[0, 1]] = False
    with pytest.raises(ValueError):
        master.restrict(replace(instance, allowed=narrowed))
    assert master.instance is instance and len(master.forbidden_columns) == 0


def test_the_stats_record_the_sample_taken_not_the_size_asked_for():
    """The seconds left may ask for more applications than a sample holds (:data:`~matching.network.SAMPLED_APPS`,
    here 4 of a round of 9): the sample taken is 3, each standing for 3, and the stats say 3 (they said 9)."""
    instance = contended_instance(2, 20, 9, n_orgs=4)
    with no_flow_round_fits(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching.network, "SAMPLED_APPS", 4)
        solution = solve_total(instance, pricing_time_limit=60.0)
    assert solution.stats["sampled_apps"] == 3


@pytest.mark.parametrize("seed", [2, 16, 37])
def test_the_sample_comes_first_and_the_flow_solved_once_only_where_its_seconds_fit_or_its_panels_are_needed(seed):
    """With no priced flow round fitting, the sampled round is taken first and the flow solved once after it only
    where the sample's seconds say it ends before the bound pass's reserve: its panels gain the answer 0.14 % at
    20,000 × 50,000, the sample takes the bound from 9.96 % to 1.3–1.6 %. Said not to fit, the flow is skipped
    and the greedy panels answer with the sample's bound; where they break a rule it is solved all the same."""
    instance = contended_instance(seed, 20, 6, n_orgs=4)
    exact = solve_total(instance)
    greedy = greedy_panels(instance, instance.fit)
    with no_flow_round_fits(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching.solve, "FLOW_ONCE_PER_SAMPLED_PAIR", 1e12)
        skipped = solve_total(instance, pricing_time_limit=60.0)
        patch.setattr(matching.solve, "keeps_every_rule", lambda *args: False)
        needed = solve_total(instance, pricing_time_limit=60.0).stats
    check_time_limited(instance, skipped, exact.objective)
    assert skipped.stats["flow_skipped"] and "flow_rounds" not in skipped.stats and "flow_bound" in skipped.stats
    assert skipped.objective == pytest.approx(float(instance.fit[greedy].sum()))
    assert "flow_skipped" not in needed and needed["flow_rounds"] == 1


@pytest.mark.parametrize("seed", [2, 16])
@pytest.mark.parametrize("short", ["BOUND_PER_PASS", "SAMPLE_PER_PASS"])
def test_where_the_flow_solved_once_would_not_end_before_the_bound_pass_it_does_not_run(seed, short):
    """At load 8 XL's greedy panels took 25 s and its reading pass 8.8 s, so the bound pass's reserve was gone
    before the flow began; the flow solved once (18 s there) still ran and the bound pass after it ended the solve
    37 s past its limit and grace. With greedy panels that keep every rule, neither runs when no seconds are left
    (``BOUND_PER_PASS``); nor does the flow when some are left but too few for a sample (``SAMPLE_PER_PASS``): it
    is estimated at the sample's rate from the reading pass (at XL 11–18 s, where under 7.8 s leave no room for a
    sample) rather than run because any second was left. The greedy panels answer."""
    instance = contended_instance(seed, 20, 6, n_orgs=4)
    exact = solve_total(instance)
    greedy = greedy_panels(instance, instance.fit)
    assert keeps_every_rule(instance, *greedy)
    with no_flow_round_fits(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching.solve, short, 1e12)
        solution = solve_total(instance, pricing_time_limit=60.0)
    check_time_limited(instance, solution, exact.objective)
    assert solution.stats["flow_skipped"] and "sampled_apps" not in solution.stats
    assert "flow_rounds" not in solution.stats
    assert solution.objective == pytest.approx(float(instance.fit[greedy].sum()))


def test_the_sample_holds_no_more_pairs_than_the_memory_estimate_counts():
    """The sampled round is one flow over every allowed pair of its applications; the memory estimate counts at
    most SAMPLED_PAIRS of them (4 M), so however many seconds are left the sample of 20,000 × 50,000 stops at 80
    applications (4 M pairs with 50,000 experts), of 10,000 × 25,000 at 160, and none is taken below 30 (whose
    prices still bound XL 3.3–4.4 % above its greedy panels, against 9.14 % at zero prices)."""
    plenty = {"seconds": 1e9, "pass_seconds": 1e-9}
    xl = SimpleNamespace(n_apps=20_000, n_experts=50_000)
    assert sample_size(xl, **plenty) == 80
    assert sample_size(SimpleNamespace(n_apps=10_000, n_experts=25_000), **plenty) == 160
    assert sample_size(SimpleNamespace(n_apps=20_000, n_experts=200_000), **plenty) == 0
    per_app = sampled_app_seconds(xl, pass_seconds=5.0)
    assert sample_size(xl, seconds=35.5 * per_app, pass_seconds=5.0) == 35
    assert sample_size(xl, seconds=30.5 * per_app, pass_seconds=5.0) == 30
    assert sample_size(xl, seconds=29.5 * per_app, pass_seconds=5.0) == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), shape=st.sampled_from(["contended", "fixed", "tight maximum", "by pool"]),
       sample=st.sampled_from([1, 2, 3, 160]))
def test_the_sample_taken_first_with_the_flow_skipped_gives_an_honest_bound_and_panels_within_every_rule(
        seed, shape, sample):
    """The sampled round first and the flow solved once said not to fit: the answer keeps every rule (the greedy
    panels, or the flow's where they break one), and the bound, from the steps started at the sample's load prices
    (one in ``k`` of the applications, each standing for ``k``), is at or above the optimum of the full problem."""
    instance = flow_shaped_instance(seed, shape)
    reference = dense_milp(instance)
    with no_flow_round_fits(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching.network, "SAMPLED_APPS", sample)
        patch.setattr(matching.solve, "FLOW_ONCE_PER_SAMPLED_PAIR", 1e12)
        solution = solve_total(instance, pricing_time_limit=60.0)
    check_time_limited(instance, solution, reference)
    if not fixed_pairs_unkeepable(instance):
        assert solution.stats["sampled_apps"] == matching.network.sample_shape(instance.n_apps, sample)[0]
        greedy_keeps = keeps_every_rule(instance, *greedy_panels(instance, instance.fit))
        assert solution.stats.get("flow_skipped", False) == greedy_keeps


@pytest.mark.parametrize("seed", [116, 188, 208])
def test_where_the_greedy_panels_break_a_rule_the_flow_solved_once_comes_before_the_sample(seed):
    """Where the greedy panels break a rule the flow solved once runs whatever the seconds (its panels may be the
    only answer): taken first, the sample would be sized to every second before the bound pass's reserve and the
    flow (12–18 s at 20,000 × 50,000) would then push the bound pass past the limit. So the flow comes first and
    the sample is sized to the seconds it leaves; the answer keeps every rule and the bound holds."""
    instance = contended_instance(seed, 20, 6, n_orgs=4)
    assert not keeps_every_rule(instance, *greedy_panels(instance, instance.fit))
    order = []

    def spy(name, function):
        def called(*args, **kwargs):
            order.append(name)
            return function(*args, **kwargs)
        return called

    with no_flow_round_fits(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching.solve, "network_optimum", spy("flow", matching.solve.network_optimum))
        patch.setattr(matching.solve, "sampled_load_prices", spy("sample", matching.solve.sampled_load_prices))
        solution = solve_total(instance, pricing_time_limit=60.0)
    check_time_limited(instance, solution, dense_milp(instance))
    assert order[:2] == ["flow", "sample"] and "flow_skipped" not in solution.stats
