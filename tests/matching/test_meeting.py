"""Meeting mode: one panel per expert, recusal per application, every application keeps its minimums."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import milp

from matching import meeting
from matching.meeting import group_applications, solve_meeting
from tests.matching.test_solve import random_instance


def test_groups_are_same_sector_bounded_balanced_and_keep_fields_together():
    sectors = ["DIG"] * 7 + ["BIO"] * 3 + ["DIG"]
    fields = ["DIG-AI", "DIG-II"] * 3 + ["DIG-AI", "BIO-PH", "BIO-MD", "BIO-PH", "DIG-AI"]
    groups = group_applications(sectors, fields, max_per_panel=3)
    assert sorted(np.concatenate(groups).tolist()) == list(range(len(sectors)))
    assert all(len({sectors[a] for a in group}) == 1 for group in groups)
    assert sorted(len(g) for g in groups) == [2, 3, 3, 3]          # 8 DIG → 3 + 3 + 2, 3 BIO → 3
    assert {fields[a] for a in groups[0]} == {"DIG-AI"}             # the five DIG-AI ones fill the first panel


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), n_apps=st.integers(2, 6), n_experts=st.integers(16, 30),
       n_orgs=st.integers(4, 15), conflict_rate=st.sampled_from([0.15, 0.3]))
def test_every_application_keeps_its_minimums_among_non_recused_members(seed, n_apps, n_experts, n_orgs,
                                                                        conflict_rate):
    # few organizations and many conflicts make the LP relaxation fractional, so the MILP path runs too
    instance = random_instance(seed, n_experts, n_apps, panel=3, n_orgs=n_orgs, conflict_rate=conflict_rate)
    groups = [np.arange(n_apps)[i::2] for i in range(2)]
    solution = solve_meeting(instance, groups)
    if solution.status == "infeasible":
        return
    seen = np.concatenate(solution.members)
    assert len(seen) == len(set(seen.tolist())), "an expert sits on two panels"
    reviews = solution.assigned(instance.fit.shape)
    for group, members in zip(solution.groups, solution.members, strict=True):
        assert instance.panel_size[group].max() <= len(members) <= instance.panel_size[group].max() + 2
        orgs = instance.expert_org[members]
        assert np.bincount(orgs[orgs >= 0]).max(initial=0) <= instance.max_per_org
        for a in group:
            reviewers = np.nonzero(reviews[:, a])[0]
            assert instance.allowed[reviewers, a].all()
            assert len(reviewers) >= instance.panel_size[a]
            counts = np.bincount(instance.expert_pool[reviewers], minlength=instance.n_pools)
            assert (counts >= instance.pool_quotas[:, 0]).all() and (counts <= instance.pool_quotas[:, 1]).all()
    for e, a in solution.recusals:
        assert not instance.allowed[e, a]
    assert solution.bound >= solution.objective - 1e-9


def test_member_conflicted_with_one_application_recuses_from_that_one_only():
    instance = random_instance(5, 14, 2, panel=3, n_orgs=14, conflict_rate=0.0, quotas=((1, 2), (1, 2)))
    star = int(np.argmax(instance.fit.sum(axis=1)))
    allowed = instance.allowed.dense()
    allowed[star, 1] = False
    fixed = np.array([[star, 0]])
    pinned = dataclasses.replace(instance, allowed=allowed, fixed=fixed)
    solution = solve_meeting(pinned, [np.array([0, 1])])
    assert solution.status == "optimal"
    assert star in solution.members[0]
    assert solution.recusals == [(star, 1)]
    reviews = solution.assigned(pinned.fit.shape)
    assert reviews[star, 0] and not reviews[star, 1]
    assert reviews[:, 1].sum() >= 3          # an extra seat keeps application 1 at its minimum


def test_fractional_relaxation_goes_through_the_milp_to_a_proven_optimum(monkeypatch):
    integer_solves = []

    def recording_milp(*args, integrality, **kwargs):
        integer_solves.append(bool(integrality.any()))
        return milp(*args, integrality=integrality, **kwargs)

    monkeypatch.setattr(meeting, "milp", recording_milp)
    instance = random_instance(3, 16, 6, panel=3, n_orgs=4, conflict_rate=0.3)   # a seed whose LP is fractional
    solution = solve_meeting(instance, [np.arange(6)[i::2] for i in range(2)])
    assert integer_solves == [False, True]
    assert solution.status == "optimal"
    assert solution.bound == pytest.approx(solution.objective, abs=1e-6)


def test_objective_matches_enumeration_on_a_tiny_panel():
    instance = random_instance(9, 7, 2, panel=2, n_orgs=7, conflict_rate=0.2, quotas=((1, 1), (1, 1)))
    solution = solve_meeting(instance, [np.array([0, 1])], extra_seats=0)
    best = None
    for panel in itertools.combinations(range(7), 2):
        members = np.array(panel)
        ok = True
        for a in range(2):
            reviewers = members[instance.allowed[members, a]]
            counts = np.bincount(instance.expert_pool[reviewers], minlength=2)
            ok &= len(reviewers) >= 2 and (counts >= 1).all() and (counts <= 1).all()
        orgs = instance.expert_org[members]
        ok &= np.bincount(orgs[orgs >= 0]).max(initial=0) <= 1
        if ok:
            value = float((instance.fit[members] * instance.allowed[members]).sum())
            best = value if best is None else max(best, value)
    if best is None:
        assert solution.status == "infeasible"
    else:
        assert solution.objective == pytest.approx(best)
