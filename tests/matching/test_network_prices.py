"""The flow's prices stay numbers where the source reaches a node only through a saturated elastic arc."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.network import network_optimum
from matching.solve import fixed_pairs_unkeepable
from tests.matching.test_network import PINNED, check_optimum
from tests.matching.test_solve import random_instance


def test_a_pool_no_candidate_reaches_is_priced_at_its_elastic_arc():
    """Seats exactly the pools' minimums, one first pair per application: application 4's first pair is expert 1,
    whose load its fixed pair took, so nothing reaches application 4's second pool but its elastic arc, full. The
    node's potential is −inf; as its price it priced every pair of the pool at +inf and, less expert 1's load
    price (+inf from that −inf), at NaN: a RuntimeWarning in the next round's pricing (inf − inf)."""
    instance = random_instance(959000, 10, 7, load_cap=3, n_fixed=2, quotas=PINNED)
    first = np.argsort(-instance.fit, axis=0)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        one = network_optimum(instance, instance.fit, first, np.arange(instance.n_apps), max_rounds=1)
        check_optimum(instance)
    assert one.shortfall[4, 1] == 2
    assert one.pool_price[4, 1] == pytest.approx(-one.elastic_cost)
    assert np.isfinite(one.pool_price).all() and np.isfinite(one.load_price).all()


def candidates_lagrangian(instance, optimum) -> float:
    """The Lagrangian value of the flow's prices for the organization-free LP over the flow's candidates, with an
    elastic column per (application, pool) at the flow's elastic cost and at most the seats the fixed pairs leave
    (its arc's capacity): the flow's own value, elastic seats at their cost, where the prices are an optimal dual
    of the round they come from."""
    fit, fixed_e, fixed_a = instance.fit, instance.fixed[:, 0], instance.fixed[:, 1]
    free = np.zeros(fit.shape, dtype=bool)
    free[optimum.candidates] = True
    free[fixed_e, fixed_a] = False
    free &= instance.allowed.dense()
    rc = fit - optimum.load_price[:, None] - optimum.pool_price[:, instance.expert_pool].T
    row = optimum.pool_row_price
    low, high = instance.pool_quotas[:, 0][None, :], instance.pool_quotas[:, 1][None, :]
    seats = np.maximum(instance.panel_size - np.bincount(fixed_a, minlength=instance.n_apps), 0)
    return float(optimum.load_price @ instance.load_cap + optimum.panel_price @ instance.panel_size
                 + np.where(row > 0, row * high, row * low).sum() + np.clip(rc[free], 0, None).sum()
                 + rc[fixed_e, fixed_a].sum()
                 + (np.clip(-optimum.elastic_cost - optimum.pool_price, 0, None) * seats[:, None]).sum())


@pytest.mark.filterwarnings("error::RuntimeWarning")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_experts=st.integers(6, 20), n_apps=st.integers(1, 7),
       n_fixed=st.integers(1, 2))
def test_flow_rounds_by_pool_with_fixed_pairs_price_with_numbers(seed, n_experts, n_apps, n_fixed):
    """Every round's prices over the pinned family with fixed pairs (where pools go unreached) are numbers, an
    optimal dual of the round (their Lagrangian value over its candidates is the flow's: pricing and the bounds
    read them), and the flow still equals the organization-free MILP."""
    instance = random_instance(seed, n_experts, n_apps, load_cap=3, n_fixed=n_fixed, quotas=PINNED)
    if not fixed_pairs_unkeepable(instance):
        first = np.argsort(-instance.fit, axis=0)[0]
        for rounds in (1, 2):
            one = network_optimum(instance, instance.fit, first, np.arange(instance.n_apps), max_rounds=rounds)
            assert np.isfinite(one.pool_price).all() and np.isfinite(one.load_price).all()
            assert (one.load_price >= 0).all()
            value = instance.fit[one.experts, one.apps].sum() - one.elastic_cost * one.shortfall.sum()
            assert candidates_lagrangian(instance, one) == pytest.approx(value, abs=1e-5)
        check_optimum(instance)
