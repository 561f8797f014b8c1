"""The prices a solve returns with its bound: recomputed over every pair, they give the bound again."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.fair import FLOOR_SLACK, best_floor, solve_fair
from matching.instance import Instance
from matching.lp import Master
from matching.solve import Solution, bound_at_prices, duals_at, solve_total, solve_weighted
from tests.matching.test_solve import (
    clock_ticking,
    contended_instance,
    dense_milp,
    flow_shaped_instance,
    plain_panel_bound,
    random_instance,
)


def check_prices(instance: Instance, solution: Solution, reference: float | None) -> str | None:
    """The solution's prices recomputed over every allowed pair on a fresh master give their value again, which
    is the solution's bound (or above it, where a MIP proved a tighter one) and at least the optimum
    ``reference``; a panel bound at load prices alone is also the plain sorts' of the tests. Returns the kind
    (``panel`` or ``lagrangian``), None without a finite bound."""
    prices = solution.prices
    if solution.bound is None or not np.isfinite(solution.bound):
        assert prices is None
        return None
    assert prices is not None
    assert prices.load.shape == (instance.n_experts,) and (prices.load >= 0).all()
    assert prices.org_pairs.shape == (len(prices.org), 2) and (prices.org > 0).all()
    value = bound_at_prices(Master(instance, instance.fit), prices)
    assert value == pytest.approx(prices.value, rel=1e-9, abs=1e-9)
    assert solution.bound <= prices.value + 1e-9
    if solution.stats.get("mips", 0) == 0:          # no MIP's own bound below the prices'
        assert solution.bound == pytest.approx(prices.value, rel=1e-12, abs=1e-12)
    assert reference is not None and prices.value >= reference - 1e-9
    if prices.panel is None:
        if len(prices.org) == 0:
            assert plain_panel_bound(instance, prices.load) == pytest.approx(prices.value, rel=1e-9, abs=1e-9)
        return "panel"
    assert prices.panel.shape == (instance.n_apps,) and prices.pool.shape == (instance.n_apps, instance.n_pools)
    return "lagrangian"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(10, 22), n_apps=st.integers(3, 8),
       n_orgs=st.integers(3, 8))
def test_an_exact_solves_prices_give_its_bound_again(seed, n_experts, n_apps, n_orgs):
    instance = contended_instance(seed, n_experts, n_apps, n_orgs=n_orgs)
    reference = dense_milp(instance)
    solution = solve_total(instance, per_pool=1)
    kind = check_prices(instance, solution, reference)
    assert kind == ("lagrangian" if reference is not None else None)


def test_an_exact_solve_closed_by_integer_programs_keeps_the_lps_prices():
    """Fractional LPs closed by MIPs: the prices are the LP's, their value the LP bound, never below the
    reported bound (a MIP may prove a tighter one that no prices stand behind)."""
    closed = 0
    for seed in range(40):
        instance = random_instance(seed, 16, 6, n_orgs=3, load_cap=3)
        solution = solve_total(instance, per_pool=1)
        if solution.status != "infeasible" and not solution.stats["lp_integral"]:
            closed += 1
            assert check_prices(instance, solution, dense_milp(instance)) == "lagrangian"
    assert closed > 0, "no seed had a fractional LP; adjust the instance family"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), shape=st.sampled_from(["contended", "fixed", "tight maximum", "by pool"]),
       step=st.sampled_from([1e-4, 1e-3, 0.01, 0.03, 0.1, 0.2, 0.45]))
def test_a_time_limited_solves_prices_give_its_bound_again(seed, shape, step):
    """Wherever the limit falls: the flow's or a sampled round's load prices, a subgradient step's, a master
    round's panel bound or its Lagrangian bound, whichever the bound is."""
    instance = flow_shaped_instance(seed, shape)
    reference = dense_milp(instance)
    with clock_ticking(step):
        solution = solve_total(instance, pricing_time_limit=1.0)
    check_prices(instance, solution, reference)


def test_time_limited_solves_return_both_kinds_of_prices():
    """Limits that cut the solve in its subgradient steps return panel bounds' prices, limits that let the
    master converge Lagrangian ones; both are met over a few rounds."""
    kinds = set()
    for seed in range(12):
        instance = contended_instance(seed, 20, 6, n_orgs=4)
        for step in (0.03, 1e-4):
            with clock_ticking(step):
                solution = solve_total(instance, pricing_time_limit=1.0)
            kinds.add(check_prices(instance, solution, dense_milp(instance)))
    assert {"panel", "lagrangian"} <= kinds


def test_an_infeasible_round_has_no_prices():
    instance = random_instance(1, 10, 3, conflict_rate=0.0)
    pool, load = np.zeros(10, dtype=int), instance.load_cap.copy()
    pool[0], load[0] = 1, 1             # a single law expert, who can take one application only
    solution = solve_total(replace(instance, expert_pool=pool, load_cap=load))
    assert solution.status == "infeasible" and solution.bound is None and solution.prices is None


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(10, 18), n_apps=st.integers(3, 6))
def test_a_floored_solves_prices_carry_the_floor_duals_and_give_its_bound_again(seed, n_experts, n_apps):
    """The second step of ``fair``: the best floor on every panel's fit, then the best total above it. Its
    Lagrangian bound prices the floor rows too, and recomputes on a master with the same floors."""
    instance = contended_instance(seed, n_experts, n_apps, n_orgs=4)
    floor = best_floor(instance)[0]
    if floor is None:
        return
    floors = {"floor": np.full(n_apps, floor - FLOOR_SLACK), "exact_floor": np.full(n_apps, floor)}
    solution = solve_weighted(instance, instance.fit, **floors)
    if solution.status == "infeasible":
        assert solution.prices is None
        return
    prices = solution.prices
    assert prices.floor_duals is not None and prices.floor_duals.shape == (n_apps,) and (prices.floor_duals >= 0).all()
    assert np.array_equal(prices.floor, floors["exact_floor"])
    value = bound_at_prices(Master(instance, instance.fit, **floors), prices)
    assert value == pytest.approx(prices.value, rel=1e-9, abs=1e-9)
    assert solution.bound <= prices.value + 1e-9


def negative_reduced_costs(instance: Instance, solution: Solution) -> np.ndarray:
    """The reduced costs below zero, at the solution's prices (:func:`duals_at`), of its pairs that are not
    fixed."""
    master = Master(instance, instance.fit)
    rc = np.concatenate([block for _, block in master.reduced_cost_blocks(duals_at(master, solution.prices))], axis=1)
    experts, apps = solution.panels.experts, solution.panels.apps()
    fixed = np.zeros(instance.fit.shape, dtype=bool)
    fixed[instance.fixed[:, 0], instance.fixed[:, 1]] = True
    free = ~fixed[experts, apps]
    return np.minimum(rc[experts[free], apps[free]], 0.0)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), shape=st.sampled_from(["contended", "fixed", "tight maximum", "by pool"]))
def test_reduced_cost_fixing_at_a_lagrangian_bounds_prices_keeps_the_optimum(seed, shape):
    """What reduced-cost fixing reads: a solution using pairs of reduced cost ``rc < 0`` at a Lagrangian
    bound's prices is worth at most ``value`` plus those ``rc``, the optimum too."""
    instance = flow_shaped_instance(seed, shape)
    solution = solve_total(instance)
    if solution.status == "infeasible":
        return
    assert solution.prices.panel is not None
    below = negative_reduced_costs(instance, solution)
    assert solution.objective <= solution.prices.value + below.sum() + 1e-7


def test_a_panel_bounds_prices_fix_pairs_against_the_best_panel_not_by_fit_less_prices():
    """A panel bound's prices have no panel and pool duals: a pair's ``fit − u − z`` is no reduced cost to fix
    it by. Here an optimal pair's is −0.523 where the gap is nil; the bound with the pair forced into its panel,
    the best panel at ``fit − u − z`` that holds it, is what a solution using it is worth at most."""
    instance = flow_shaped_instance(1, "tight maximum")
    exact = solve_total(instance)
    with clock_ticking(1e-4):
        limited = solve_total(instance, pricing_time_limit=1.0)
    prices = limited.prices
    assert prices.panel is None and prices.value - exact.objective < 1e-6
    below = negative_reduced_costs(instance, replace(exact, prices=prices))
    assert below.min() < -0.5 and exact.objective > prices.value + below.min()
    held = {(int(e), int(a)) for e, a in instance.fixed}
    for e, a in zip(exact.panels.experts, exact.panels.apps(), strict=True):
        if (int(e), int(a)) in held:
            continue
        forced = Master(replace(instance, fixed=np.vstack([instance.fixed, [[e, a]]])), instance.fit)
        assert bound_at_prices(forced, prices) >= exact.objective - 1e-9


def test_a_fair_solves_prices_name_the_floor_their_bound_holds_at():
    """``fair`` returns its second step's solve, floored at the best worst panel t* that only ``fair`` knew: the
    prices carry that floor, so the bound is recomputed from the result alone (a master floored there)."""
    floored = 0
    for seed in range(12):
        instance = contended_instance(seed, 16, 5, n_orgs=4)
        solution = solve_fair(instance)
        if solution.status == "infeasible":
            continue
        prices = solution.prices
        assert (prices.floor_duals is None) == (prices.floor is None)
        if prices.floor_duals is not None:
            floored += 1
            assert prices.floor.shape == (instance.n_apps,)
            assert prices.floor.min() == pytest.approx(solution.stats["min_panel_fit"], abs=1e-6)
        master = Master(instance, instance.fit, floor=prices.floor)
        assert bound_at_prices(master, prices) == pytest.approx(prices.value, rel=1e-9, abs=1e-9)
        assert solution.bound <= prices.value + 1e-9
    assert floored > 0, "no seed needed the floored second step; adjust the instance family"
