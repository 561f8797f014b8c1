"""The organization-free relaxation as a min-cost flow: its solution keeps the rules it models, its potentials
price out no pair at the end and certify its value, and its basis starts the master at that optimum."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import matching.network
from matching.bits import PairSet
from matching.instance import Instance
from matching.lp import Master
from matching.network import (
    best_per_column,
    near_zero_pairs,
    network_optimum,
    organization_alternatives,
    price_out,
    sampled_load_prices,
)
from matching.solve import fixed_pairs_unkeepable, panel_bound_at, solve_total, start_on_network
from tests.matching.test_solve import (
    check_solution,
    contended_instance,
    dense_milp,
    flow_shaped_instance,
    no_flow_round_fits,
    random_instance,
)


def test_worked_example_of_docs():
    """docs/matching.md §1 "The network start": three experts of one pool, two applications of one seat."""
    instance = Instance(
        fit=np.array([[0.9, 0.8], [0.5, 0.2], [0.3, 0.1]]), allowed=np.ones((3, 2), dtype=bool),
        expert_pool=np.zeros(3, dtype=int), pools=("technology",), expert_org=np.full(3, -1),
        load_cap=np.ones(3, dtype=int), panel_size=np.ones(2, dtype=int), pool_quotas=np.array([[1, 1]]),
        max_per_org=1)
    optimum = network_optimum(instance, instance.fit, np.array([0, 1]), np.array([0, 1]))
    assert sorted(zip(optimum.experts.tolist(), optimum.apps.tolist(), strict=True)) == [(0, 1), (1, 0)]
    assert optimum.load_price == pytest.approx([0.7, 0.2, 0.0])
    assert optimum.pool_price.ravel() == pytest.approx([0.3, 0.1])
    assert optimum.rounds == 3
    # the dual value Σ u·cap + Σ price·seats equals the flow's value 0.8 + 0.5
    dual = optimum.load_price @ instance.load_cap + optimum.pool_price.ravel() @ instance.panel_size
    assert dual == pytest.approx(1.3)


def organization_free(instance: Instance) -> Instance:
    return replace(instance, max_per_org=instance.n_experts)


def reduced_costs(instance: Instance, optimum) -> np.ndarray:
    return instance.fit - optimum.load_price[:, None] - optimum.pool_price[:, instance.expert_pool].T


def check_optimum(instance: Instance) -> None:
    per_pool_first = np.argsort(-instance.fit, axis=0)[:1]              # one first pair per application
    apps = np.arange(instance.n_apps)
    optimum = network_optimum(instance, instance.fit, per_pool_first.ravel(), np.tile(apps, len(per_pool_first)))
    reference = dense_milp(organization_free(instance))
    if reference is None or optimum.shortfall.any():
        assert reference is None or not optimum.shortfall.any()
        return
    experts, apps = optimum.experts, optimum.apps
    assigned = np.zeros(instance.fit.shape, dtype=bool)
    assigned[experts, apps] = True
    assert len(set(zip(experts.tolist(), apps.tolist(), strict=True))) == len(experts)     # no pair twice
    assert instance.allowed[experts, apps].all()
    assert assigned[instance.fixed[:, 0], instance.fixed[:, 1]].all()
    assert (assigned.sum(axis=1) <= instance.load_cap).all()
    assert (assigned.sum(axis=0) == instance.panel_size).all()
    for p, (low, high) in enumerate(instance.pool_quotas):
        count = assigned[instance.expert_pool == p].sum(axis=0)
        assert ((low <= count) & (count <= high)).all()
    value = float(instance.fit[assigned].sum())
    assert value == pytest.approx(reference, abs=1e-6)
    # at the end no pair outside the flow prices out (a used pair sits at its upper bound, 1, and may have a
    # positive reduced cost), and the potentials' Lagrangian value is the flow's, up to the costs' rounding
    rc = reduced_costs(instance, optimum)
    free = instance.allowed.dense()
    free[instance.fixed[:, 0], instance.fixed[:, 1]] = False
    assert (rc[free & ~assigned] <= 1e-6).all()
    assert (rc[assigned & free] >= -1e-6).all()
    assert (optimum.load_price >= 0).all()
    # the Lagrangian value of the potentials: loads at their caps, panels at their sizes, a pool row at its
    # maximum where its price is positive and at its minimum where negative
    row = optimum.pool_row_price
    low, high = instance.pool_quotas[:, 0][None, :], instance.pool_quotas[:, 1][None, :]
    lagrangian = optimum.load_price @ instance.load_cap + optimum.panel_price @ instance.panel_size
    lagrangian += np.where(row > 0, row * high, row * low).sum()
    lagrangian += np.clip(rc[free], 0, None).sum() + rc[instance.fixed[:, 0], instance.fixed[:, 1]].sum()
    assert lagrangian == pytest.approx(value, abs=1e-5)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(6, 20), n_apps=st.integers(1, 7),
       n_fixed=st.integers(0, 2))
@example(seed=0, n_experts=7, n_apps=1, n_fixed=2)      # fixed pairs fill a pool: its pairs price at +inf
def test_flow_optimum_keeps_the_rules_and_equals_the_organization_free_milp(seed, n_experts, n_apps, n_fixed):
    check_optimum(random_instance(seed, n_experts, n_apps, load_cap=3, n_fixed=n_fixed))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(10, 22), n_apps=st.integers(3, 8))
def test_flow_optimum_on_contended_rounds(seed, n_experts, n_apps):
    check_optimum(contended_instance(seed, n_experts, n_apps, n_orgs=4))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(10, 22), n_apps=st.integers(3, 8))
def test_the_network_start_puts_the_master_at_the_relaxation_optimum(seed, n_experts, n_apps):
    """Started from the flow's basis, the organization-free master LP is already optimal: no pivot, and the
    LP's value is the flow's."""
    instance = organization_free(contended_instance(seed, n_experts, n_apps, n_orgs=4))
    if dense_milp(instance) is None:
        return
    master = Master(instance, instance.fit)
    first = (np.argmax(instance.fit, axis=0), np.arange(instance.n_apps))
    stats = start_on_network(master, instance.fit, first, first)
    assert stats["flow_basis"]
    lp = master.solve_lp()
    assert lp.objective == pytest.approx(stats["flow_objective"], abs=1e-6)
    assert master.simplex_iterations == 0


def test_near_zero_pairs_lie_on_the_optimal_face():
    instance = contended_instance(7, 16, 6, n_orgs=4)
    optimum = network_optimum(instance, instance.fit, np.argmax(instance.fit, axis=0), np.arange(instance.n_apps))
    experts, apps = near_zero_pairs(instance, instance.fit, optimum, per_app=100)
    rc = reduced_costs(instance, optimum)
    assert (rc[experts, apps] >= -1e-6).all()
    chosen = set(zip(optimum.experts.tolist(), optimum.apps.tolist(), strict=True))
    assert chosen <= set(zip(experts.tolist(), apps.tolist(), strict=True)) | {tuple(p) for p in instance.fixed.tolist()}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(10, 22), n_apps=st.integers(3, 8))
def test_mending_alternatives_belong_to_panels_breaking_the_organization_limit(seed, n_experts, n_apps):
    instance = contended_instance(seed, n_experts, n_apps, n_orgs=3)
    optimum = network_optimum(instance, instance.fit, np.argmax(instance.fit, axis=0), np.arange(instance.n_apps))
    experts, apps = organization_alternatives(instance, instance.fit, optimum, 0.05, per_app=5)
    assert (reduced_costs(instance, optimum)[experts, apps] >= -0.05).all()
    assert instance.allowed[experts, apps].all()
    assert (np.bincount(apps, minlength=instance.n_apps) <= 5).all()
    org = instance.expert_org[optimum.experts]
    for a in np.unique(apps):
        held = org[(optimum.apps == a) & (org >= 0)]
        assert np.bincount(held).max(initial=0) > instance.max_per_org


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(6, 20), n_apps=st.integers(1, 5))
def test_an_application_the_fixed_pairs_fill_gets_finite_prices(seed, n_experts, n_apps):
    """Fixed pairs holding every seat of application 0 leave its flow nodes without flow; its prices still keep
    every other pair of it out (reduced cost ≤ 0, no NaN), and the Lagrangian value stays the flow's."""
    instance = random_instance(seed, n_experts, n_apps, load_cap=3)
    held = [np.nonzero(instance.expert_pool == p)[0][:count] for p, count in ((0, 2), (1, 1))]
    assume(len(held[0]) == 2 and len(held[1]) == 1)
    experts = np.concatenate(held)
    fixed = np.stack([experts, np.zeros(3, dtype=int)], axis=1)
    allowed = instance.allowed.dense()
    allowed[experts, 0] = True
    instance = replace(instance, fixed=fixed, allowed=allowed)
    optimum = network_optimum(instance, instance.fit, np.argmax(instance.fit, axis=0), np.arange(instance.n_apps))
    assert np.isfinite(optimum.load_price).all() and np.isfinite(optimum.pool_price).all()
    rc = reduced_costs(instance, optimum)
    free = instance.allowed[:, 0].copy()
    free[experts] = False
    assert (rc[free, 0] <= 1e-6).all()
    check_optimum(instance)


def test_worked_example_of_the_prices_of_an_application_the_fixed_pairs_fill():
    """docs/matching.md, "Also mended": a0's one seat is held by the fixed pair (e0, a0) of weight 0.9; a1 takes
    e1 (0.8) over e2 (0.6), so e1's load price is 0.2 and idle e2's 0. a0's panel price is the least keeping its
    free pairs out, max(0.6 − 0.2, 0.3 − 0) = 0.4, its pool row 0: e1 prices at 0 on a0, e2 at −0.1."""
    instance = Instance(
        fit=np.array([[0.9, 0.0], [0.6, 0.8], [0.3, 0.6]]), allowed=np.array([[True, False], [True, True], [True, True]]),
        expert_pool=np.zeros(3, dtype=int), pools=("technology",), expert_org=np.full(3, -1),
        load_cap=np.ones(3, dtype=int), panel_size=np.ones(2, dtype=int), pool_quotas=np.array([[1, 1]]),
        max_per_org=1, fixed=np.array([[0, 0]]))
    optimum = network_optimum(instance, instance.fit, np.array([1, 2, 1, 2]), np.array([0, 0, 1, 1]))
    assert optimum.load_price[1:] == pytest.approx([0.2, 0.0])
    assert optimum.panel_price[0] == pytest.approx(0.4) and optimum.pool_row_price[0] == pytest.approx([0.0])
    assert reduced_costs(instance, optimum)[1:, 0] == pytest.approx([0.0, -0.1])


PINNED = ((1, 2), (2, 3))
"""Pool quotas whose minimums fill a panel of 3, as on the contended benchmark rounds (1 + 3 + 1 + 1 + 1 = 7):
no flow passes an application node, and the flow is solved one pool at a time."""


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(6, 20), n_apps=st.integers(1, 7),
       n_fixed=st.integers(0, 2))
def test_flow_by_pool_equals_the_organization_free_milp(seed, n_experts, n_apps, n_fixed):
    instance = random_instance(seed, n_experts, n_apps, load_cap=3, n_fixed=n_fixed, quotas=PINNED)
    if not fixed_pairs_unkeepable(instance):        # the solver says so before any flow is built
        check_optimum(instance)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(10, 22), n_apps=st.integers(3, 8),
       n_orgs=st.integers(3, 8))
def test_solve_started_on_a_flow_by_pool_equals_the_dense_milp(seed, n_experts, n_apps, n_orgs):
    instance = replace(contended_instance(seed, n_experts, n_apps, n_orgs=n_orgs), pool_quotas=np.array(PINNED))
    check_solution(instance, dense_milp(instance))


def test_fixed_pairs_take_no_place_among_the_pairs_priced_out():
    """A fixed pair prices high (its reduced cost is not held ≤ 0: it is assigned before the flow), but it is
    never a candidate: the pair that prices out next must still be found with a room of one per application,
    or the flow's rounds stop while a pair prices out."""
    instance = Instance(
        fit=np.array([[0.9], [0.5], [0.3]]), allowed=np.ones((3, 1), dtype=bool), expert_pool=np.zeros(3, dtype=int),
        pools=("technology",), expert_org=np.full(3, -1), load_cap=np.ones(3, dtype=int),
        panel_size=np.array([2]), pool_quotas=np.array([[0, 2]]), max_per_org=1, fixed=np.array([[0, 0]]))
    optimum = network_optimum(instance, instance.fit, np.array([2]), np.array([0]), max_rounds=1)
    unpriced = replace(optimum, load_price=np.zeros(3), panel_price=np.zeros(1), pool_row_price=np.zeros((1, 1)))
    experts, apps = price_out(instance, instance.fit, unpriced, PairSet(3, 1), per_app=1)
    assert list(zip(experts.tolist(), apps.tolist(), strict=True)) == [(1, 0)]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(8, 20), n_apps=st.integers(1, 6))
def test_fixed_pairs_above_a_pools_minimum_leave_its_row_unpriced(seed, n_experts, n_apps):
    """Application 0's panel of 4 holds two fixed experts of pool 0, whose minimum is 1 (the others are exactly
    their pools' minimums, so the flow is split by pool). The flow's lower bound on that pool's free pairs is
    then no row of the master, so its price must not carry into the row: the Lagrangian value stays the flow's."""
    instance = random_instance(seed, n_experts, n_apps, load_cap=3, quotas=((1, 3), (2, 3)))
    members = np.nonzero(instance.expert_pool == 0)[0][:2]
    assume(len(members) == 2)
    allowed = instance.allowed.dense()
    allowed[members, 0] = True
    instance = replace(instance, panel_size=np.concatenate([[4], instance.panel_size[1:]]), allowed=allowed,
                       fixed=np.stack([members, np.zeros(2, dtype=int)], axis=1))
    check_optimum(instance)


@settings(max_examples=200, deadline=None)
@given(entries=st.lists(st.tuples(st.integers(0, 4), st.sampled_from([-np.inf, -1.0, 0.0, 0.5, 1.0, np.inf, np.nan])),
                        max_size=30),
       per_column=st.integers(0, 4))
def test_best_per_column_keeps_each_columns_largest_keys_ties_to_the_earlier_entry(entries, per_column):
    """Both pricings choose with it: it must keep exactly the ``per_column`` best of each column, never a NaN
    before a number, ties to the earlier entry, whether or not the column is crowded."""
    columns = np.array([c for c, _ in entries], dtype=np.int64)
    key = np.array([k for _, k in entries], dtype=np.float64)
    expected = []
    for column in np.unique(columns):
        entries_of = [i for i in range(len(key)) if columns[i] == column]
        entries_of.sort(key=lambda i: (np.isnan(key[i]), 0.0 if np.isnan(key[i]) else -key[i], i))
        expected.extend(entries_of[:per_column])
    assert best_per_column(key, columns, per_column).tolist() == sorted(expected)


def full_pass(instance: Instance, optimum, have: np.ndarray, per_app: int, threshold: float) -> list[tuple[int, int]]:
    """The plain pricing pass: every pair's reduced cost at once, each application's best ``per_app`` above
    ``threshold`` among the allowed pairs neither fixed nor held (ties to the lower expert)."""
    rc = reduced_costs(instance, optimum)
    open_ = instance.allowed.dense() & ~have & ~instance.fixed_mask()
    chosen = []
    for a in range(instance.n_apps):
        experts = [e for e in range(instance.n_experts) if open_[e, a] and rc[e, a] > threshold]
        experts.sort(key=lambda e: (-rc[e, a], e))
        chosen += [(e, a) for e in experts[:per_app]]
    return chosen


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(8, 90), n_apps=st.integers(1, 9),
       per_app=st.integers(1, 8), contended=st.booleans(), width=st.integers(1, 4),
       threshold=st.sampled_from([1e-6, -1e-6, 0.05]), guess=st.booleans())
def test_pricing_finds_the_pairs_a_full_pass_prices_out(monkeypatch, seed, n_experts, n_apps, per_app, contended,
                                                       width, threshold, guess):
    """The pricing takes each block's best pairs among those at or above a sampled threshold, not every pair
    above the tolerance: it must still find exactly the pairs the plain pass over every pair finds — each
    application's best ``per_app`` priced above the threshold, none fixed or held — on rounds of tied fits and
    tied prices (the sampled threshold then ties with many pairs), with blocks of one to four applications and
    columns where fewer pairs than ``per_app`` price out; with and without the higher first threshold, which the
    pricing's 70 or 200 pairs an application take and these small rounds' few would not."""
    monkeypatch.setattr("matching.lp.PRICING_BLOCK", width * n_experts)
    monkeypatch.setattr("matching.instance.GUESS_FROM", 1 if guess else 10**6)
    instance = contended_instance(seed, n_experts, n_apps, n_orgs=4) if contended else \
        random_instance(seed, n_experts, n_apps, load_cap=3, n_fixed=min(2, n_experts // 4))
    rng = np.random.default_rng(seed)
    optimum = network_optimum(instance, instance.fit, np.zeros(0, np.int64), np.zeros(0, np.int64), max_rounds=1)
    optimum = replace(optimum, load_price=rng.choice([0.0, 0.0, 0.1, 0.5], n_experts),
                      panel_price=rng.choice([0.0, 0.2, 0.4], n_apps),
                      pool_row_price=rng.choice([0.0, 0.0, 0.1], (n_apps, instance.n_pools)))
    held = rng.random(instance.fit.shape) < 0.1
    have = PairSet(n_experts, n_apps)
    have[np.nonzero(held)] = True
    experts, apps = price_out(instance, instance.fit, optimum, have, per_app, tolerance=threshold)
    found = list(zip(experts.tolist(), apps.tolist(), strict=True))
    expected = full_pass(instance, optimum, held, per_app, threshold)
    assert sorted(found) == sorted(expected)
    # in expert-major order within each block of applications, as the flow's arcs were before
    assert found == sorted(found, key=lambda pair: (pair[1] // width, pair[0], pair[1]))


def test_a_reduced_cost_that_is_nan_hides_no_pair_from_the_pricing():
    """Prices can make a reduced cost NaN, as the flow's own did before a pool node the source does not reach was
    priced at its elastic arc (tests/matching/test_network_prices.py): expert 0's whole load goes to a fixed pair
    (no path reaches it, its load price +inf) and application 1's pool P has no candidate (its price −inf, as set
    here). Expert 0 is then one of the two rows the pricing samples for application 1's threshold (every eighth of
    16, for the 2 best); a NaN taken as the sample's largest raised the threshold to expert 8's +inf and lost the
    best of pool Q, which the plain pass finds."""
    pool = np.ones(16, dtype=int)
    pool[[0, 8]] = 0
    instance = Instance(
        fit=np.round(np.random.default_rng(0).random((16, 3)), 2), allowed=np.ones((16, 3), dtype=bool),
        expert_pool=pool, pools=("P", "Q"), expert_org=np.full(16, -1), load_cap=np.ones(16, dtype=int),
        panel_size=np.ones(3, dtype=int), pool_quotas=np.array([[1, 1], [0, 1]]), max_per_org=1,
        fixed=np.array([[0, 2]]))
    optimum = network_optimum(instance, instance.fit, np.array([0]), np.array([0]), max_rounds=1)
    load_price, pool_row_price = optimum.load_price.copy(), optimum.pool_row_price.copy()
    load_price[0], pool_row_price[1, 0] = np.inf, -np.inf
    optimum = replace(optimum, load_price=load_price, pool_row_price=pool_row_price)
    with np.errstate(invalid="ignore"):
        assert np.isnan(reduced_costs(instance, optimum)[0, 1])
    have = PairSet(16, 3)
    have[optimum.candidates] = True
    held = np.zeros((16, 3), dtype=bool)
    held[optimum.candidates] = True
    with np.errstate(invalid="ignore"):         # +inf − +inf, as the prices say
        experts, apps = price_out(instance, instance.fit, optimum, have, per_app=2)
        expected = full_pass(instance, optimum, held, 2, 1e-6)
    assert sorted(zip(experts.tolist(), apps.tolist(), strict=True)) == sorted(expected)


def test_no_pricing_pass_after_a_round_when_the_next_round_would_end_past_the_deadline(monkeypatch):
    """On a clock where a flow solve takes 10 s and a pricing pass 5, with the deadline at 45: round 1 ends at 15
    and round 2, started then, at 30, as a round of 15 s from 30 may (45). After round 3's solve (at 40) the
    next round, with its pass, would end at 60: the pass that would find its pairs (40 to 45) is not run, the
    flow of round 3 is the answer. The pass used to run and its pairs were dropped."""
    import matching.network as network

    now = [0.0]
    monkeypatch.setattr(network.time, "perf_counter", lambda: now[0])
    solve = network.FlowNetwork.solve

    def timed_solve(self):
        now[0] += 10.0
        return solve(self)

    passes = []

    def timed_price_out(instance, weight, optimum, have, per_app):
        now[0] += 5.0
        passes.append(now[0])
        open_pairs = np.argwhere(instance.allowed.dense() & ~have[:, :])
        return open_pairs[:1, 0], open_pairs[:1, 1]

    monkeypatch.setattr(network.FlowNetwork, "solve", timed_solve)
    monkeypatch.setattr(network, "price_out", timed_price_out)
    instance = random_instance(0, 12, 3, load_cap=3)
    optimum = network_optimum(instance, instance.fit, np.array([0]), np.array([0]), deadline=45.0)
    assert optimum.rounds == 3
    assert passes == [15.0, 30.0]
    assert len(optimum.candidates[0]) == 3


def test_worked_example_of_sampled_load_prices():
    """docs/matching.md §1 "Load prices from a sampled round": four applications of one seat, experts x, y, z of
    load 2 fitting every application 0.9, 0.5 and 0.2. One application in two, each standing for two, prices x
    0.4 above y and z at 0, and at those prices the panel bound of the whole round is its optimum, 2.8 (3.6 at
    no price)."""
    instance = Instance(
        fit=np.repeat([[0.9], [0.5], [0.2]], 4, axis=1), allowed=np.ones((3, 4), dtype=bool),
        expert_pool=np.zeros(3, dtype=int), pools=("technology",), expert_org=np.full(3, -1),
        load_cap=np.full(3, 2), panel_size=np.ones(4, dtype=int), pool_quotas=np.array([[1, 1]]), max_per_org=1)
    load_price = sampled_load_prices(instance, instance.fit, apps=2)
    assert load_price[0] - load_price[1] == pytest.approx(0.4) and load_price[2] == 0.0
    master = Master(instance, instance.fit)
    assert panel_bound_at(master, np.zeros(3), np.zeros(0)) == pytest.approx(3.6)
    assert panel_bound_at(master, load_price, np.zeros(0)) == pytest.approx(2.8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), shape=st.sampled_from(["contended", "fixed", "tight maximum", "by pool"]),
       apps=st.integers(1, 3))
def test_the_panel_bound_at_sampled_load_prices_holds_and_with_the_whole_round_is_the_flows(seed, shape, apps):
    """Whatever the sample, its load prices (none when the elastic arcs priced its experts) are finite and ≥ 0
    and the panel bound at them, over every pair, is at or above the optimum of the full problem; a sample of the
    whole round (one in one) prices it as the flow converged over every pair does, so its bound is the
    organization-free optimum."""
    instance = flow_shaped_instance(seed, shape)
    assume(not fixed_pairs_unkeepable(instance))
    reference = dense_milp(instance)
    assume(reference is not None)
    master = Master(instance, instance.fit)
    load_price = sampled_load_prices(instance, instance.fit, apps=apps)
    if load_price is not None:
        assert np.isfinite(load_price).all() and (load_price >= 0).all()
        assert panel_bound_at(master, load_price, np.zeros(0)) >= reference - 1e-9
    whole = sampled_load_prices(instance, instance.fit, apps=instance.n_apps)
    organization_free_optimum = dense_milp(organization_free(instance))
    assert panel_bound_at(master, whole, np.zeros(0)) == pytest.approx(organization_free_optimum, abs=1e-6)


def test_a_sampled_round_is_solved_once_over_every_pair_of_its_sample():
    """The sample's flow starts from every allowed pair of its applications: it is converged after one solve
    (grown by rounds from a few dealt pairs it took 6–9 rounds at 20,000 × 50,000, and a deadline that stopped it
    before the last gave no prices), and its prices are those the rounds reached (the flow over the whole round
    here: the panel bound at them is the organization-free optimum)."""
    instance = contended_instance(2, 20, 6, n_orgs=4)
    assert network_optimum(instance, instance.fit, np.array([0]), np.array([0])).rounds > 1
    solved = []

    def spy(*args, **kwargs):
        solved.append(network_optimum(*args, **kwargs))
        return solved[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching.network, "network_optimum", spy)
        load_price = sampled_load_prices(instance, instance.fit)
    (optimum,) = solved
    assert optimum.rounds == 1 and len(optimum.candidates[0]) == instance.allowed.sum()
    master = Master(instance, instance.fit)
    assert panel_bound_at(master, load_price, np.zeros(0)) == \
        pytest.approx(dense_milp(organization_free(instance)), abs=1e-6)


def test_a_sample_whose_seats_its_experts_cannot_fill_gives_no_prices():
    """Application 0 may have only experts 0 and 1, of load 1: the round fills its two seats, but standing for
    two it has four, and the sampled flow leaves two to the elastic arcs. Its potentials then carry their cost
    (prices of 1,000.5 and a panel bound of 2,005 against an optimum of 4, which the bound at no price is):
    no prices, and the time-limited solve's steps start from zero, where its first step proves the optimum."""
    allowed = np.ones((6, 4), dtype=bool)
    allowed[2:, 0] = allowed[:2, 1:] = False
    instance = Instance(
        fit=np.full((6, 4), 0.5), allowed=allowed, expert_pool=np.zeros(6, dtype=int), pools=("technology",),
        expert_org=np.full(6, -1), load_cap=np.array([1, 1, 2, 2, 2, 2]), panel_size=np.full(4, 2),
        pool_quotas=np.array([[2, 2]]), max_per_org=1)
    assert dense_milp(instance) == pytest.approx(4.0)
    load_price = sampled_load_prices(instance, instance.fit, apps=2, seed=0)
    assert load_price is None
    with no_flow_round_fits(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching.network, "SAMPLED_APPS", 2)
        solution = solve_total(instance, pricing_time_limit=60.0)
    assert solution.status == "optimal" and solution.bound == pytest.approx(4.0)


@pytest.mark.parametrize(("n_apps", "apps"), [(7, 4), (5, 3), (6, 3), (1, 1), (9, 160)])
def test_a_sample_holds_at_most_the_applications_asked_for_and_stands_for_no_more_than_the_round(n_apps, apps):
    """The time-limited solve asks for as many sampled applications as its seconds left allow
    (:func:`~matching.solve.sample_size`): seven applications and four asked for are a sample of three standing
    for two each, not the whole round (which took the sampled flow up to twice the seconds asked for); each
    stands for as many as the round holds whole times, at least one."""
    instance = random_instance(n_apps, 12, n_apps, load_cap=3)
    solved = []

    def spy(sample, *args, sampled, **kwargs):
        solved.append((sample.n_apps, sampled))
        return network_optimum(sample, *args, sampled=sampled, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching.network, "network_optimum", spy)
        sampled_load_prices(instance, instance.fit, apps=apps)
    (size, share), = solved
    assert 1 <= size <= min(apps, n_apps) and size * share <= n_apps


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), apps=st.integers(1, 4), unreached=st.booleans())
def test_sampled_load_prices_hold_with_idle_experts_whole_loads_fixed_and_pools_out_of_reach(seed, apps, unreached):
    """Experts of load 0, experts allowed nowhere, fixed pairs taking an expert's whole load and a pool of
    minimum 0 that most applications may not draw on: the sample's prices, when it gives them, are finite and
    ≥ 0 and the panel bound at them is at or above the optimum of the full problem."""
    rng = np.random.default_rng(seed)
    n_experts, n_apps = int(rng.integers(8, 18)), int(rng.integers(1, 10))
    quotas = ((1, 3), (0, 2), (0, 1)) if unreached else ((1, 2), (1, 2))
    instance = random_instance(seed, n_experts, n_apps, n_orgs=4, load_cap=3, quotas=quotas,
                               n_fixed=int(rng.integers(0, min(4, n_experts))))
    load, allowed = instance.load_cap.copy(), instance.allowed.dense()
    idle, nowhere = rng.choice(n_experts, 2, replace=False)
    load[idle], allowed[[idle, nowhere]] = 0, False
    fixed = instance.fixed[~np.isin(instance.fixed[:, 0], [idle, nowhere])]
    load[fixed[:, 0]] = np.bincount(fixed[:, 0], minlength=n_experts)[fixed[:, 0]]
    if unreached:
        allowed[np.ix_(instance.expert_pool == 2, rng.random(n_apps) < 0.6)] = False
    instance = replace(instance, load_cap=load, allowed=allowed, fixed=fixed)
    assume(not fixed_pairs_unkeepable(instance))
    reference = dense_milp(instance)
    assume(reference is not None)
    load_price = sampled_load_prices(instance, instance.fit, apps=apps, seed=seed)
    assume(load_price is not None)
    assert np.isfinite(load_price).all() and (load_price >= 0).all()
    assert panel_bound_at(Master(instance, instance.fit), load_price, np.zeros(0)) >= reference - 1e-9
