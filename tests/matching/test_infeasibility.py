"""Infeasible rounds are explained in sentences naming the application, the pool or rule, and the numbers."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.infeasibility import explain_shortfall, presolve
from matching.instance import Labels
from matching.solve import solve_total
from tests.matching.test_solve import check_solution, dense_milp, random_instance


def test_no_conflict_free_law_expert_names_application_pool_and_numbers():
    instance = random_instance(0, 12, 3, conflict_rate=0.0, n_orgs=12)
    allowed = instance.allowed.dense()
    allowed[instance.expert_pool == 1, 2] = False          # every law expert conflicted with the third one
    blocked = dataclasses.replace(instance, allowed=allowed)
    sentences = presolve(blocked, Labels.numbered(blocked))
    assert "申报 A3：法律类专家无冲突可用 0 人，需要 1 人" in sentences
    assert solve_total(blocked).status == "infeasible"


def test_organization_limit_shortfall_is_worded():
    instance = random_instance(1, 12, 2, conflict_rate=0.0)
    org = np.where(instance.expert_pool == 0, 7, np.arange(12) + 10)   # all technology experts in one unit
    quotas = np.array([[2, 2], [1, 2]])
    crowded = dataclasses.replace(instance, expert_org=org, pool_quotas=quotas)
    sentences = presolve(crowded, Labels.numbered(crowded))
    assert any(s.startswith("申报 A1：技术类无冲突专家") and "同单位限制下最多选 1 人，需要 2 人" in s
               for s in sentences), sentences


def test_total_capacity_shortfall_is_worded():
    instance = random_instance(2, 10, 6, conflict_rate=0.0, n_orgs=10, load_cap=1)
    capped = dataclasses.replace(instance, load_cap=np.ones(10, dtype=int))
    sentences = presolve(capped, Labels.numbered(capped))
    assert "全部专家评审容量共 10 次，少于各专家组总人数 18" in sentences


def test_contention_found_only_by_the_solver_is_explained_by_relaxing_rule_families():
    # law experts E1 (load 2, conflicted with A2 and A3) and E2 (load 1): every count is fine, yet A2 and A3
    # can only use E2, whose load cap is 1
    instance = random_instance(3, 12, 3, conflict_rate=0.0, n_orgs=12)
    pool = np.zeros(12, dtype=int)
    pool[:2] = 1
    load = np.full(12, 3)
    load[0], load[1] = 2, 1
    allowed = np.ones((12, 3), dtype=bool)
    allowed[0, 1:] = False            # E1 may review A1 only
    contended = dataclasses.replace(instance, expert_pool=pool, load_cap=load, allowed=allowed,
                                    expert_org=np.arange(12))
    labels = Labels.numbered(contended)
    assert presolve(contended, labels) == []
    solution = solve_total(contended)
    assert solution.status == "infeasible"
    sentences = explain_shortfall(contended, solution.shortfall, labels)
    assert any(s.endswith("法律类专家在满足全部规则后仍缺 1 人") for s in sentences), sentences
    assert "放宽以下任一规则即可排满：负荷上限" in sentences


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_presolve_never_cries_wolf(seed):
    """Whenever presolve reports a shortfall, the solver agrees that no assignment exists."""
    instance = random_instance(seed, 10, 3, conflict_rate=0.4, n_orgs=4)
    if presolve(instance, Labels.numbered(instance)):
        assert solve_total(instance).status == "infeasible"


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_every_infeasible_instance_is_explained_with_application_and_pool(seed):
    instance = random_instance(seed, 9, 3, conflict_rate=0.35, n_orgs=4)
    solution = solve_total(instance)
    if solution.status != "infeasible":
        return
    labels = Labels.numbered(instance)
    sentences = presolve(instance, labels) or explain_shortfall(instance, solution.shortfall, labels)
    assert sentences
    for a, p in zip(*np.nonzero(solution.shortfall), strict=True):
        if not presolve(instance, labels):
            assert any(f"申报 {labels.applications[a]}：{labels.pool(p)}类" in s for s in sentences), sentences
    assert any(s.startswith("申报 A") or "容量" in s or "固定" in s or "人数之和" in s for s in sentences)


def per_application_oracle(instance, labels) -> list[str]:
    """The per-application counts written as a plain loop over applications, pools and organizations."""
    usable = instance.allowed.dense() & (instance.load_cap > 0)[:, None]

    def distinct(members):
        orgs = instance.expert_org[members]
        return int((orgs < 0).sum()) + sum(min(int((orgs == o).sum()), instance.max_per_org) for o in set(orgs[orgs >= 0]))

    sentences = []
    for a in range(instance.n_apps):
        reachable = 0
        for p in range(instance.n_pools):
            low, high = instance.pool_quotas[p]
            members = usable[:, a] & (instance.expert_pool == p)
            count, held = int(members.sum()), distinct(members)
            if count < low:
                sentences.append(f"申报 {labels.applications[a]}：{labels.pool(p)}类专家无冲突可用 {count} 人，需要 {low} 人")
            elif held < low:
                sentences.append(f"申报 {labels.applications[a]}：{labels.pool(p)}类无冲突专家 {count} 人，"
                                 f"但同单位限制下最多选 {held} 人，需要 {low} 人")
            reachable += min(held, high)
        overall = min(reachable, distinct(usable[:, a]))
        if overall < instance.panel_size[a]:
            sentences.append(f"申报 {labels.applications[a]}：满足类别上限和同单位限制的可用专家最多 {overall} 人，"
                             f"专家组需要 {instance.panel_size[a]} 人")
    return sentences


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), conflict_rate=st.sampled_from([0.0, 0.4, 0.8]), n_orgs=st.integers(1, 12))
def test_per_application_counts_in_blocks_equal_the_plain_loop(seed, conflict_rate, n_orgs):
    from matching.infeasibility import _per_application

    instance = random_instance(seed, 12, 5, conflict_rate=conflict_rate, n_orgs=n_orgs)
    instance = dataclasses.replace(instance, load_cap=np.where(np.arange(instance.n_experts) % 5 == 0, 0,
                                                               instance.load_cap))
    labels = Labels.numbered(instance)
    assert _per_application(instance, labels) == per_application_oracle(instance, labels)


def test_fixed_pairs_that_break_a_rule_are_each_named():
    # E1 is fixed to all three applications with a load cap of 2 and is conflicted with A2; A1 also gets E2 and
    # E3, both law experts of E1's organization: four fixed members of a 3-seat panel, law above its maximum of
    # 2, three of one organization. The pair listed twice counts once.
    instance = random_instance(0, 8, 3, conflict_rate=0.0, n_orgs=8)
    pool = instance.expert_pool.copy()
    pool[[0, 1, 2, 3]] = [0, 1, 1, 1]
    org = np.arange(8)
    org[[1, 2]] = 0
    allowed = instance.allowed.dense()
    allowed[0, 1] = False
    fixed = np.array([[0, 0], [0, 1], [0, 2], [1, 0], [2, 0], [3, 0], [0, 2]])
    broken = dataclasses.replace(instance, expert_pool=pool, expert_org=org, allowed=allowed,
                                 load_cap=np.full(8, 2), fixed=fixed)
    sentences = presolve(broken, Labels.numbered(broken))
    assert "固定分配 专家 E1 → 申报 A2 存在冲突或被禁止" in sentences
    assert "专家 E1 固定分配 3 项，超过负荷上限 2" in sentences
    assert "申报 A1：固定分配 4 人，超过专家组人数 3" in sentences
    assert "申报 A1：固定分配法律类专家 3 人，超过上限 2" in sentences
    assert "申报 A1：固定分配的专家中同单位超过 1 人" in sentences
    assert not any("申报 A2：固定" in s or "申报 A3：固定" in s for s in sentences)


def test_fixed_pairs_leaving_too_few_seats_for_a_pool_minimum_are_infeasible_and_named():
    # A one-seat panel needs one expert of each pool's minimum of (0, 1): fixing a pool-0 expert on A1 takes
    # the only seat, and pool 1's minimum can no longer be met, though no cap is broken.
    instance = random_instance(2, 12, 3, panel=1, quotas=((0, 2), (1, 3)), conflict_rate=0.0)
    expert = int(np.nonzero(instance.expert_pool == 0)[0][0])
    fixed = dataclasses.replace(instance, fixed=np.array([[expert, 0]]),
                                load_cap=np.maximum(instance.load_cap, 1))
    assert solve_total(fixed).status == "infeasible"
    labels = Labels.numbered(fixed)
    assert "申报 A1：固定分配 1 人后只剩 0 个席位，各类专家最少还需 1 人" in presolve(fixed, labels)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), panel=st.integers(1, 3), n_fixed=st.integers(1, 3))
def test_fixed_pairs_on_small_panels_solve_like_the_dense_milp(seed, panel, n_fixed):
    """Fixed pairs that fill a small panel's seats: optimal with the dense MILP's value, or infeasible exactly
    when the dense MILP has no solution."""
    instance = random_instance(seed, 12, 3, panel=panel, quotas=((0, 2), (1, 3)), load_cap=3, n_fixed=n_fixed)
    check_solution(instance, dense_milp(instance))
