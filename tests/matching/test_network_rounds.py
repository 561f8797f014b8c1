"""Flow rounds solved pool by pool keep the last round's flow for a pool whose part of the network did not
change, and for no other: every round's flow, potentials and prices are those of solving every pool again."""

from __future__ import annotations

import weakref

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matching.network as network
from matching.instance import Instance
from matching.network import FlowNetwork, network_optimum
from tests.matching.test_draw import contended_instance, pool_parts_instance

FIELDS = ("experts", "apps", "shortfall", "load_price", "panel_price", "pool_row_price")
BASIS_FIELDS = ("basic_experts", "basic_apps", "load", "pool", "shortfall", "panel")


def solve_every_pool(patch: pytest.MonkeyPatch) -> None:
    """No pool keeps a flow: each round solves every pool, as before the flow was kept."""
    patch.setattr(FlowNetwork, "_kept_flow", lambda *args: None)


def flow_value(flow: FlowNetwork) -> int:
    """The flow's cost in the network's integer units."""
    return int(flow.flow @ flow.cost)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6))
def test_a_flow_round_solves_again_only_the_pools_that_got_a_new_pair(seed, monkeypatch):
    """Each round of :func:`network_optimum` solves the pools whose candidate pairs grew since the last round
    (fits of at most 1 keep the cost scale, so the others are the same network) and only those; the optimum,
    prices and basis are those of rounds solving every pool."""
    instance = pool_parts_instance(seed % 1000)
    experts, apps = np.nonzero(np.random.default_rng(seed).random(instance.fit.shape) < 0.15)
    solved, grown = [], []
    solve, price_out = network._min_cost_flow, network.price_out
    with monkeypatch.context() as patch:
        patch.setattr(network, "_min_cost_flow", lambda *args: solved.append(1) or solve(*args))

        def spy(inst: Instance, *args: object) -> tuple[np.ndarray, np.ndarray]:
            new = price_out(inst, *args)
            grown.append(len(np.unique(inst.expert_pool[new[0]])))
            return new

        patch.setattr(network, "price_out", spy)
        kept = network_optimum(instance, instance.fit, experts, apps, units=2, per_app=3)
    assert len(solved) == instance.n_pools + sum(grown[:kept.rounds - 1])
    with monkeypatch.context() as patch:
        solve_every_pool(patch)
        whole = network_optimum(instance, instance.fit, experts, apps, units=2, per_app=3)
    assert whole.rounds == kept.rounds
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(kept, field), getattr(whole, field))
    for field in BASIS_FIELDS:
        np.testing.assert_array_equal(getattr(kept.basis, field), getattr(whole.basis, field))


def rescaled_round() -> tuple[Instance, tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Two applications, each one seat in pool 0 (experts 0, 1) and one in pool 1 (experts 2, 3, load 1). The
    second round adds one pair in pool 0 of weight 20 where the first round's heaviest was 2, so the cost
    scale falls tenfold. Pool 1 keeps its four pairs, of costs 4, 4, 6, 1 at the first scale (the diagonal,
    8, is best) and 0, 0, 1, 0 at the second (the other diagonal, 1, is best)."""
    unit = 0.1 * 2 / network.COST_SCALE * 10          # one cost unit at the second round's scale, times 0.1
    fit = np.array([[2.0, 1.0], [20.0, 1.0], [4 * unit, 6 * unit], [1 * unit, 4 * unit]])
    instance = Instance(fit=fit, allowed=np.ones((4, 2), dtype=bool), expert_pool=np.array([0, 0, 1, 1]),
                        pools=("pool0", "pool1"), expert_org=np.full(4, -1), load_cap=np.array([2, 2, 1, 1]),
                        panel_size=np.full(2, 2), pool_quotas=np.array([[1, 1], [1, 1]]), max_per_org=1)
    first = (np.array([0, 0, 2, 2, 3, 3]), np.array([0, 1, 0, 1, 0, 1]))
    second = (np.append(first[0], 1), np.append(first[1], 0))
    return instance, first, second


def pool_pairs(instance: Instance, optimum: network.NetworkOptimum, pool: int) -> list[tuple[int, int]]:
    """The flow's pairs in ``pool``, sorted."""
    inside = instance.expert_pool[optimum.experts] == pool
    return sorted(zip(optimum.experts[inside].tolist(), optimum.apps[inside].tolist(), strict=True))


def test_a_pool_whose_pairs_did_not_change_is_solved_again_when_the_cost_scale_did():
    """Pool 1 gets no new pair, but the heavier pair entering pool 0 lowers the cost scale: at the new scale the
    last round's flow in pool 1 is no longer optimal, and the round solves it again (keeping it would leave the
    diagonal worth 0 units where the other is worth 1)."""
    instance, first, second = rescaled_round()
    last = FlowNetwork(instance, instance.fit, *first)
    assert pool_pairs(instance, last.solve(), 1) == [(2, 0), (3, 1)]
    kept = FlowNetwork(instance, instance.fit, *second, previous=last.pool_flows)
    fresh = FlowNetwork(instance, instance.fit, *second)
    assert kept.scale == last.scale / 10
    kept_optimum, fresh_optimum = kept.solve(), fresh.solve()
    assert pool_pairs(instance, kept_optimum, 1) == [(2, 1), (3, 0)]
    assert flow_value(kept) == flow_value(fresh)
    np.testing.assert_array_equal(kept.flow, fresh.flow)
    np.testing.assert_array_equal(kept.distance, fresh.distance)
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(kept_optimum, field), getattr(fresh_optimum, field))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), rounds=st.integers(2, 5), heavy=st.booleans())
def test_kept_flows_equal_fresh_solves_over_random_rounds(seed, rounds, heavy):
    """Random small rounds solved pool by pool, pairs only appended, each round's new pairs in a random subset
    of the pools: the network given the last round keeps some pools' flows, and its flow, its value, its
    potentials and its prices equal a fresh solve's. With ``heavy``, the weights are a few cost units apart and
    one pair in fifty weighs 2 to 60, so the cost scale falls as heavier pairs enter and the rounding reorders
    the other pools' panels (the test fails if a kept flow is not checked for its costs)."""
    rng = np.random.default_rng(seed)
    instance = pool_parts_instance(seed % 1000, n_fixed=int(rng.integers(0, 3)))
    weight = instance.fit
    if heavy:
        weight = np.where(rng.random(weight.shape) < 0.02, rng.uniform(2.0, 60.0, size=weight.shape),
                          rng.integers(0, 40, size=weight.shape) / network.COST_SCALE)
    free = instance.allowed.nonzero()
    order = rng.permutation(len(free[0]))
    experts, apps = free[0][order], free[1][order]
    chosen = rng.random(len(experts)) < 0.3
    last = None
    for _ in range(rounds):
        flow = FlowNetwork(instance, weight, experts[chosen], apps[chosen], units=2, previous=last)
        fresh = FlowNetwork(instance, weight, experts[chosen], apps[chosen], units=2)
        optimum, fresh_optimum = flow.solve(), fresh.solve()
        assert flow_value(flow) == flow_value(fresh)
        np.testing.assert_array_equal(flow.flow, fresh.flow)
        np.testing.assert_array_equal(flow.distance, fresh.distance)
        for field in FIELDS:
            np.testing.assert_array_equal(getattr(optimum, field), getattr(fresh_optimum, field))
        grows = rng.random(instance.n_pools) < 0.5
        new = ~chosen & grows[instance.expert_pool[experts]] & (rng.random(len(experts)) < 0.3)
        experts = np.concatenate([experts[chosen], experts[new], experts[~chosen & ~new]])
        apps = np.concatenate([apps[chosen], apps[new], apps[~chosen & ~new]])
        chosen = np.arange(len(experts)) < chosen.sum() + new.sum()
        last = flow.pool_flows


@pytest.mark.parametrize("parts", [False, True])
def test_a_flow_round_is_built_and_solved_with_no_earlier_rounds_network_alive(parts, monkeypatch):
    """The next round keeps pools by the last one's flows and digests alone (``pool_flows``), so the rounds'
    peak is one network's: a network handed the last round's network held both while it was built and solved
    (at 10,000 × 25,000 the rounds' arrays are hundreds of MiB each), and one solved at once held every round."""
    instance = pool_parts_instance(0) if parts else contended_instance(0)
    experts, apps = np.nonzero(np.random.default_rng(0).random(instance.fit.shape) < 0.15)
    assert FlowNetwork(instance, instance.fit, experts, apps, units=2).pool_parts == parts
    networks, alive = [], []
    build = FlowNetwork.__init__

    def spy(flow: FlowNetwork, *args: object, **kwargs: object) -> None:
        alive.append(sum(network() is not None for network in networks))
        build(flow, *args, **kwargs)
        networks.append(weakref.ref(flow))

    monkeypatch.setattr(FlowNetwork, "__init__", spy)
    optimum = network_optimum(instance, instance.fit, experts, apps, units=2, per_app=3)
    assert optimum.rounds >= 2 and alive == [0] * optimum.rounds
