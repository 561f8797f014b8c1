"""The assignment as its pairs (:class:`Panels`): the same panels, explanations and reserves as the E × A matrix.

Every report reads an assignment as its panels; a caller with pairs (the solver, a page with a version's seats)
never builds the experts × applications matrix. These tests hold the pairs form to the matrix it replaced on
random crowded rounds (pairs in any order, some given twice).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from matching.explain import explain
from matching.instance import Labels, Panels
from matching.reserves import all_reserves, replacement_mask, reserve_list
from matching.solve import Solution, solve_total
from tests.matching.test_reports import crowded_round
from tests.matching.test_solve import random_instance


def shuffled_pairs(assigned: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The matrix's pairs in random order, a few of them twice."""
    experts, apps = np.nonzero(assigned)
    again = rng.random(len(experts)) < 0.2
    experts, apps = np.concatenate([experts, experts[again]]), np.concatenate([apps, apps[again]])
    order = rng.permutation(len(experts))
    return experts[order], apps[order]


def test_pairs_in_any_order_form_the_panels_of_the_matrix():
    for seed in range(200):
        instance, assigned = crowded_round(seed)
        rng = np.random.default_rng(seed)
        panels = Panels.from_pairs(*shuffled_pairs(assigned, rng), assigned.shape)
        of_matrix = Panels.of(assigned)
        for name in ("starts", "experts", "table"):
            assert getattr(panels, name).tolist() == getattr(of_matrix, name).tolist(), f"seed {seed}: {name}"
        assert panels.shape == assigned.shape and len(panels) == assigned.sum()
        assert (panels.dense() == assigned).all()
        assert panels.loads(instance.n_experts).tolist() == assigned.sum(axis=1).tolist()
        expected = np.stack([assigned[instance.expert_pool == p].sum(axis=0) for p in range(instance.n_pools)], 1)
        assert panels.pool_counts(instance.expert_pool, instance.n_pools).tolist() == expected.tolist()


@pytest.mark.parametrize("block", [1, 37, 1 << 22])
def test_explanations_and_reserves_of_the_pairs_are_those_of_the_matrix(block):
    for seed in range(150):
        instance, assigned = crowded_round(seed)
        panels = Panels.from_pairs(*shuffled_pairs(assigned, np.random.default_rng(seed)), assigned.shape)
        labels = Labels.numbered(instance)
        exclusions = {(0, 0): "利益冲突：测试"}
        assert explain(instance, panels, labels, exclusions=exclusions, block=block) == \
            explain(instance, assigned, labels, exclusions=exclusions, block=block), f"seed {seed}"
        assert [r.tolist() for r in all_reserves(instance, panels, 3, block=block)] == \
            [r.tolist() for r in all_reserves(instance, assigned, 3, block=block)], f"seed {seed}"
        for a in range(instance.n_apps):
            assert reserve_list(instance, panels, a, 3).tolist() == reserve_list(instance, assigned, a, 3).tolist()
            for m in panels.members(a).tolist():
                assert (replacement_mask(instance, panels, a, m) == replacement_mask(instance, assigned, a, m)).all()


def test_a_withdrawn_pair_reads_as_a_disallowed_one_with_its_reason():
    """A member who declined is named with why, as when the pair was disallowed in a copy of ``allowed``."""
    for seed in range(150):
        instance, assigned = crowded_round(seed)
        rng = np.random.default_rng(seed)
        a = int(rng.integers(instance.n_apps))
        left = np.nonzero(~assigned[:, a])[0]
        if len(left) == 0:
            continue
        gone = {(int(e), a): "已拒绝（出差）" for e in rng.choice(left, min(3, len(left)), replace=False)}
        allowed = instance.allowed.dense()
        for e, _ in gone:
            allowed[e, a] = False
        labels = Labels.numbered(instance)
        copied = explain(dataclasses.replace(instance, allowed=allowed), assigned, labels,
                         exclusions={(0, 0): "利益冲突：测试", **gone}, applications=[a])
        assert explain(instance, Panels.of(assigned), labels, exclusions={(0, 0): "利益冲突：测试"},
                       withdrawn=gone, applications=[a]) == copied, f"seed {seed}"


@pytest.mark.parametrize("seed", range(5))
def test_a_solution_holds_its_pairs_and_builds_the_matrix_only_when_asked(seed):
    small_instance = random_instance(seed, 12, 5)
    solution = solve_total(small_instance)
    if solution.status == "infeasible":
        assert len(solution.panels) == 0 and not solution.assigned.any()
        return
    assert "assigned" not in vars(solution)                       # not built by the solve
    assigned = solution.assigned
    assert assigned.shape == small_instance.fit.shape and assigned.dtype == bool
    assert (Panels.of(assigned).experts == solution.panels.experts).all()
    assert solution.objective == pytest.approx(float(small_instance.fit[assigned].sum(dtype=np.float64)), abs=0)
    from_matrix = Solution("feasible", assigned, solution.objective, solution.bound, solution.shortfall)
    assert from_matrix.panels.table.tolist() == solution.panels.table.tolist()
