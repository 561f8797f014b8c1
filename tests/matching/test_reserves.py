"""Reserves are never conflicted and each can take a seat; replace moves nobody else."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from matching.draw import repair_organizations
from matching.instance import Instance, assignment_violations, best_first
from matching.reserves import NoReplacement, all_reserves, exchange, replace, replacement_mask, reserve_list
from matching.solve import solve_total
from tests.matching.test_solve import random_instance


@st.composite
def solved(draw):
    """A random feasible instance with its optimal assignment, and a seed for picking within it."""
    seed = draw(st.integers(0, 10**6))
    instance = random_instance(seed, draw(st.integers(12, 30)), draw(st.integers(2, 6)), n_orgs=8, load_cap=3,
                               conflict_rate=0.2)
    solution = solve_total(instance)
    assume(solution.status != "infeasible")
    return instance, solution.assigned, seed


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(case=solved())
def test_reserves_are_allowed_and_each_can_replace_some_member(case):
    instance, assigned, _ = case
    for a in range(instance.n_apps):
        reserves = reserve_list(instance, assigned, a, 3)
        assert len(set(reserves.tolist())) == len(reserves)
        fits = instance.fit[reserves, a]
        assert (np.diff(fits) <= 0).all()
        for reserve in reserves:
            assert instance.allowed[reserve, a] and not assigned[reserve, a]
            swaps = [m for m in np.nonzero(assigned[:, a])[0]
                     if not assignment_violations(instance, swapped(assigned, a, m, reserve))]
            assert swaps, f"reserve {reserve} of application {a} cannot replace anybody"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(case=solved())
def test_replace_moves_nobody_else_and_keeps_every_rule(case):
    instance, assigned, seed = case
    a = seed % instance.n_apps
    leaving = int(np.nonzero(assigned[:, a])[0][seed % instance.panel_size[a]])
    try:
        new, incoming = replace(instance, assigned, a, leaving)
    except NoReplacement:
        assert not replacement_mask(instance, assigned, a, leaving).any()
        return
    changed = np.argwhere(new != assigned)
    assert sorted(map(tuple, changed.tolist())) == sorted([(leaving, a), (incoming, a)])
    assert assignment_violations(instance, new) == []
    best = replacement_mask(instance, assigned, a, leaving)
    assert instance.fit[incoming, a] == instance.fit[best, a].max()


def test_replacing_someone_not_on_the_panel_is_refused():
    instance = random_instance(0, 12, 2, load_cap=3)
    assigned = solve_total(instance).assigned
    outsider = int(np.nonzero(~assigned[:, 0])[0][0])
    with pytest.raises(NoReplacement, match="not on the panel"):
        replace(instance, assigned, 0, outsider)


def swapped(assigned, a, leaving, incoming):
    result = assigned.copy()
    result[leaving, a], result[incoming, a] = False, True
    return result


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), max_size=30), st.integers(0, 35))
def test_best_first_is_the_stable_full_sort_cut_at_k_ties_included(values, k):
    values = np.array(values, dtype=np.float32)
    indices = np.arange(len(values)) * 3
    expected = indices[np.argsort(-values, kind="stable")][:k]
    np.testing.assert_array_equal(best_first(indices, values, k), expected)


def test_a_reserve_needs_to_replace_some_member_not_every_member():
    """docs/matching.md §5: panel {T1, T2, T3, L1}, technology [3, 3], law [1, 1], one expert per organization.
    X (technology, T1's organization) can replace T1 only, Y (technology) any technology member, Z (law) L1
    only; each is a reserve, best fit first."""
    names = ["T1", "T2", "T3", "L1", "X", "Y", "Z"]
    instance = Instance(
        fit=np.array([[0.6], [0.5], [0.4], [0.3], [0.9], [0.8], [0.7]], dtype=np.float32),
        allowed=np.ones((7, 1), dtype=bool), expert_pool=np.array([0, 0, 0, 1, 0, 0, 1]), pools=("technology", "law"),
        expert_org=np.array([0, 1, 2, 3, 0, 4, 5]), load_cap=np.full(7, 2), panel_size=np.array([4]),
        pool_quotas=np.array([[3, 3], [1, 1]]), max_per_org=1)
    assigned = np.zeros((7, 1), dtype=bool)
    assigned[:4, 0] = True
    can_take = {names[m]: [names[e] for e in np.nonzero(replacement_mask(instance, assigned, 0, m))[0]]
                for m in range(4)}
    assert can_take == {"T1": ["X", "Y"], "T2": ["Y"], "T3": ["Y"], "L1": ["Z"]}
    assert [names[e] for e in all_reserves(instance, assigned, 5)[0]] == ["X", "Y", "Z"]
    assert [names[e] for e in all_reserves(instance, assigned, 2)[0]] == ["X", "Y"]


def organization_instance(*, allowed: np.ndarray, load_cap: list[int], expert_org: list[int],
                          expert_pool: list[int]) -> Instance:
    """Panels of two, one technology and one law seat, at most one expert per organization."""
    n_experts, n_apps = allowed.shape
    return Instance(fit=np.arange(n_experts * n_apps, dtype=float).reshape(n_experts, n_apps) / 10,
                    allowed=allowed, expert_pool=np.array(expert_pool), pools=("technology", "law"),
                    expert_org=np.array(expert_org), load_cap=np.array(load_cap), panel_size=np.full(n_apps, 2),
                    pool_quotas=np.array([[1, 1], [1, 1]]), max_per_org=1, fixed=np.zeros((0, 2), dtype=int))


def test_a_trade_with_another_panel_mends_an_organization_limit_no_free_expert_can():
    # Technology T0 (organization 0), T1 (1); law L2 (0), L3 (1); every expert at load 1, so nobody is free.
    instance = organization_instance(allowed=np.ones((4, 2), dtype=bool), load_cap=[1, 1, 1, 1],
                                     expert_org=[0, 1, 0, 1], expert_pool=[0, 0, 1, 1])
    assigned = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=bool)      # each organization twice on a panel
    with pytest.raises(NoReplacement):
        replace(instance, assigned, 0, 0)
    traded, member, other = exchange(instance, assigned, 0, 0)
    assert (member, other) == (1, 1)
    assert assignment_violations(instance, traded) == []
    assert (traded.sum(axis=1) == assigned.sum(axis=1)).all()       # nobody's load moved
    assert repair_organizations(instance, assigned) is not None
    assert assignment_violations(instance, repair_organizations(instance, assigned)) == []


def test_no_repair_is_given_when_neither_a_reserve_nor_a_trade_keeps_every_rule():
    # One application: technology T0 and law L1, L2, all of organization 0; no trade partner, no other organization.
    instance = organization_instance(allowed=np.ones((3, 1), dtype=bool), load_cap=[1, 1, 1],
                                     expert_org=[0, 0, 0], expert_pool=[0, 1, 1])
    assigned = np.array([[1], [1], [0]], dtype=bool)
    assert exchange(instance, assigned, 0, 0) is None
    assert repair_organizations(instance, assigned) is None


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_a_repair_keeps_every_rule_or_gives_nothing(seed):
    """Panels solved without the organization limit, then repaired under it: every rule holds, or no result."""
    instance = random_instance(seed, 16, 5, panel=3, n_orgs=3, load_cap=2, conflict_rate=0.1)
    loose = solve_total(dataclasses.replace(instance, max_per_org=3))
    assume(loose.status == "optimal")
    repaired = repair_organizations(instance, loose.assigned)
    if repaired is not None:
        assert assignment_violations(instance, repaired) == []
