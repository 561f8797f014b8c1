"""The exact solver's "optimal" at the edges of its shortcuts, against the independent dense MILP.

Pricing gathers only the pairs above its threshold, organization rows held at the limit enter early, the flow is
solved one pool at a time when every panel is exactly its pools' minimums, and an application whose seats fixed
pairs all hold gets prices of its own. Each test builds small rounds aimed at one edge of those shortcuts (all
seats fixed, one application off its minimums, fixed pairs above a pool's minimum, ties everywhere, binding loads
and organizations, empty pools and applications, pricing blocks cut at one or two applications).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import matching.greedy
import matching.infeasibility
import matching.lp
import matching.network
from matching.instance import Instance
from matching.lp import LPResult, Master
from tests.matching.test_solve import check_solution, contended_instance, dense_milp, random_instance

PINNED = ((1, 3), (2, 3))
"""Pool quotas whose minimums fill a panel of 3 while a pool can hold more: the flow is split by pool."""

EDGE = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def with_fixed(instance: Instance, app: int, per_pool: tuple[int, ...], rng: np.random.Generator,
               ) -> Instance | None:
    """``instance`` with ``per_pool[p]`` more experts of each pool ``p`` fixed on ``app`` (allowed there); None
    when a pool has too few experts not fixed yet."""
    chosen = []
    for pool, count in enumerate(per_pool):
        members = np.setdiff1d(np.nonzero(instance.expert_pool == pool)[0], instance.fixed[:, 0])
        if len(members) < count:
            return None
        chosen.extend(rng.choice(members, count, replace=False).tolist())
    added = np.array([[e, app] for e in chosen], dtype=int).reshape(-1, 2)
    fixed = np.concatenate([instance.fixed, added]).astype(int)
    allowed = instance.allowed.dense()
    allowed[fixed[:, 0], fixed[:, 1]] = True
    return replace(instance, fixed=fixed, allowed=allowed)


def reference(instance: Instance) -> float | None:
    """The dense MILP's optimum; None (infeasible) also when no pair at all is allowed."""
    return dense_milp(instance) if instance.allowed.any() else None


@EDGE
@given(seed=st.integers(0, 10**6), n_experts=st.integers(8, 18), n_apps=st.integers(1, 6),
       n_full=st.integers(1, 3), pinned=st.booleans())
def test_applications_whose_seats_fixed_pairs_all_hold(seed, n_experts, n_apps, n_full, pinned):
    """Their flow prices come from :meth:`FlowNetwork._full_application_prices`; the rest of the round is free."""
    rng = np.random.default_rng(seed)
    instance = random_instance(seed, n_experts, n_apps, load_cap=3, n_orgs=3,
                               quotas=((1, 2), (2, 3)) if pinned else ((1, 2), (1, 2)))
    for app in range(min(n_full, n_apps)):
        instance = with_fixed(instance, app, (1, 2) if rng.random() < 0.5 else (2, 1), rng)
        assume(instance is not None)
    check_solution(instance, reference(instance))


@EDGE
@given(seed=st.integers(0, 10**6), n_experts=st.integers(8, 18), n_apps=st.integers(2, 6),
       held_above=st.booleans())
def test_exact_minimum_rounds_with_one_application_off_its_minimums(seed, n_experts, n_apps, held_above):
    """Every panel but one is exactly its pools' minimums. The odd one either has a larger panel (the flow is
    solved whole) or a larger panel whose extra seats fixed pairs hold above a pool's minimum (its seats left are
    again its minimums left, so the flow is split by pool although the fixed pairs exceed a minimum)."""
    rng = np.random.default_rng(seed)
    instance = random_instance(seed, n_experts, n_apps, load_cap=3, n_orgs=4, quotas=PINNED)
    panel = instance.panel_size.copy()
    panel[0] = 4
    instance = replace(instance, panel_size=panel)
    if held_above:
        instance = with_fixed(instance, 0, (2, 0), rng)
        assume(instance is not None)
    check_solution(instance, reference(instance))


@EDGE
@given(seed=st.integers(0, 10**6), n_experts=st.integers(10, 20), n_apps=st.integers(3, 7),
       n_orgs=st.integers(1, 4), values=st.sampled_from([(0.5,), (0.0, 0.5, 1.0)]), pinned=st.booleans(),
       single_load=st.booleans())
def test_ties_everywhere_with_binding_loads_and_organizations(seed, n_experts, n_apps, n_orgs, values, pinned,
                                                             single_load):
    """Every fit one of at most three values, few organizations, loads of 1: pricing's threshold, the tight
    organization rows and the tie-breaks all meet exact ties."""
    rng = np.random.default_rng(seed)
    instance = contended_instance(seed, n_experts, n_apps, n_orgs=n_orgs)
    instance = replace(instance, fit=rng.choice(values, instance.fit.shape),
                       expert_org=rng.integers(0, n_orgs, n_experts))
    if pinned:
        instance = replace(instance, pool_quotas=np.array(((1, 2), (2, 3))))
    if single_load:
        instance = replace(instance, load_cap=np.ones(n_experts, dtype=int))
    check_solution(instance, reference(instance))


@EDGE
@given(seed=st.integers(0, 10**6), n_experts=st.integers(8, 16), n_apps=st.integers(1, 5),
       empty=st.sampled_from(["pool", "application"]))
def test_a_pool_without_members_or_an_application_without_allowed_experts(seed, n_experts, n_apps, empty):
    instance = random_instance(seed, n_experts, n_apps, load_cap=3, n_orgs=3, quotas=((1, 2), (1, 2), (0, 1)))
    instance = replace(instance, expert_pool=np.minimum(instance.expert_pool, 1))    # nobody in pool 2
    if empty == "application":
        allowed = instance.allowed.dense()
        allowed[:, seed % n_apps] = False
        instance = replace(instance, allowed=allowed)
    check_solution(instance, reference(instance))


@pytest.mark.parametrize("width", [1, 2])
def test_pricing_blocks_cut_at_one_or_two_applications(monkeypatch, width):
    """Pricing, the pair bound and the flow's pricing walk the applications in blocks: blocks of one and two
    applications (an odd count leaves a short last block) must give the same optimum."""
    rounds = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        n_experts, n_apps = int(rng.integers(10, 18)), int(rng.choice([3, 5, 7]))
        instance = contended_instance(seed, n_experts, n_apps, n_orgs=3)
        if seed % 2:
            instance = with_fixed(replace(instance, pool_quotas=np.array(((1, 2), (2, 3)))), 1, (1, 2), rng)
        if instance is not None:
            rounds.append(instance)
    for instance in rounds:
        monkeypatch.setattr(matching.lp, "PRICING_BLOCK", width * instance.n_experts)
        check_solution(instance, reference(instance))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), n_experts=st.integers(2, 12), n_apps=st.integers(1, 6), n_fixed=st.integers(0, 3))
def test_pair_bound_sums_every_positive_reduced_cost_and_every_fixed_one(seed, n_experts, n_apps, n_fixed):
    """The gathered sum equals the dense one, Σ max(rc, 0)·cap over free allowed pairs plus Σ rc over fixed ones,
    whatever the signs, with exact zeros and fixed pairs of every sign."""
    instance = random_instance(seed, n_experts, n_apps, n_fixed=min(n_fixed, n_experts))
    rng = np.random.default_rng(seed)
    master = Master(instance, instance.fit, pair_cap=rng.choice([1.0, 0.5]))
    rc = rng.choice([-1.0, 0.0, 0.25, 1.0], (n_experts, n_apps)) * rng.random((n_experts, n_apps))
    fixed = np.zeros(instance.allowed.shape, dtype=bool)
    fixed[instance.fixed[:, 0], instance.fixed[:, 1]] = True
    free = instance.allowed.dense() & ~fixed
    dense = master.pair_cap * np.clip(rc[free], 0, None).sum() + rc[fixed].sum()
    gathered = sum(master.pair_bound(slice(start, start + 2), rc[:, start:start + 2]) for start in range(0, n_apps, 2))
    assert gathered == pytest.approx(dense, abs=1e-12)


def test_the_pair_bound_prices_the_duals_of_a_solved_master_over_every_pair():
    """At a master LP over a few columns the Lagrangian bound is at least the full problem's LP optimum."""
    instance = contended_instance(3, 16, 6, n_orgs=3)
    master = Master(instance, instance.fit)
    master.add(np.argmax(instance.fit, axis=0), np.arange(instance.n_apps))
    master.add_org_rows()
    lp: LPResult = master.solve_lp()
    bound = master.dual_bound(lp) + sum(master.pair_bound(apps, rc) for apps, rc in master.reduced_cost_blocks(lp))
    assert bound >= reference(instance) - 1e-9
