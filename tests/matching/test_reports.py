"""The ranked reports (reserves, "not chosen" sentences) read the same as the per-application definition.

The reports rank a block of applications at a time; the references below are the per-application loops they
replaced (one column at a time, every expert of the column looked at), kept here as the definition. Rounds are
random and crowded: fits with many ties, conflicts, organizations, fixed pairs, full loads, pools at their
quotas, and assignments that need not be feasible (an organizer's manual panel may not be).
"""

from __future__ import annotations

import numpy as np
import pytest

from matching.explain import OPTIMUM, PairExplanation, PanelExplanation, explain, ordinal
from matching.instance import Instance, Labels, best_first, best_first_columns
from matching.reserves import all_reserves, reserve_list


def crowded_round(seed: int) -> tuple[Instance, np.ndarray]:
    """A random instance and a random assignment on it (panels of 0–5 members, loads often full)."""
    rng = np.random.default_rng(seed)
    n_experts, n_apps, n_pools = int(rng.integers(6, 40)), int(rng.integers(1, 9)), int(rng.integers(1, 4))
    pool = rng.integers(0, n_pools, n_experts)
    low = rng.integers(0, 2, n_pools)
    quotas = np.stack([low, low + rng.integers(0, 3, n_pools)], axis=1)
    assigned = np.zeros((n_experts, n_apps), dtype=bool)
    for a in range(n_apps):
        assigned[rng.choice(n_experts, int(rng.integers(0, 6)), replace=False), a] = True
    members = np.argwhere(assigned)
    fixed = members[rng.random(len(members)) < 0.1]
    dtype = np.float32 if seed % 2 else np.float64
    instance = Instance(
        fit=np.round(rng.random((n_experts, n_apps)), int(rng.integers(1, 3))).astype(dtype),   # ties
        allowed=rng.random((n_experts, n_apps)) >= 0.2, expert_pool=pool,
        pools=("technology", "industry", "law")[:n_pools], expert_org=rng.integers(-1, 5, n_experts),
        load_cap=rng.integers(1, 4, n_experts), panel_size=np.full(n_apps, 3), pool_quotas=quotas,
        max_per_org=int(rng.integers(1, 3)), fixed=fixed)
    return instance, assigned


@pytest.mark.parametrize("block", [1, 37, 1 << 22])
def test_reserves_of_every_application_are_the_per_application_lists(block):
    for seed in range(300):
        instance, assigned = crowded_round(seed)
        count = seed % 6
        together = all_reserves(instance, assigned, count, block=block)
        alone = [reserve_list(instance, assigned, a, count) for a in range(instance.n_apps)]
        assert [r.tolist() for r in together] == [r.tolist() for r in alone], f"seed {seed}"


@pytest.mark.parametrize("block", [1, 37, 1 << 22])
def test_explanations_read_as_the_per_application_definition(block):
    for seed in range(300):
        instance, assigned = crowded_round(seed)
        labels = Labels.numbered(instance)
        exclusions = {(0, 0): "利益冲突：测试"}
        limit = 1 + seed % 6
        got = explain(instance, assigned, labels, exclusions=exclusions, limit=limit, block=block)
        assert got == reference_explain(instance, assigned, labels, exclusions, limit), f"seed {seed}"
        some = [a for a in range(instance.n_apps) if (a + seed) % 2]
        assert explain(instance, assigned, labels, exclusions=exclusions, limit=limit, block=block,
                       applications=some) == [got[a] for a in some]


def reference_explain(instance, assigned, labels, exclusions, limit):
    """The per-application explanation: for each panel, every pool's experts ranked by fit, column by column."""
    load = assigned.sum(axis=1)
    fixed = {(int(e), int(a)) for e, a in instance.fixed}
    result = []
    for a in range(instance.n_apps):
        panel = assigned[:, a]
        pool_count = np.bincount(instance.expert_pool[panel], minlength=instance.n_pools)
        members = [PairExplanation(int(e), float(instance.fit[e, a]), None, None,
                                   reference_binding(instance, labels, e, a, load, pool_count, (e, a) in fixed))
                   for e in np.nonzero(panel)[0]]
        members.sort(key=lambda m: -m.fit)
        lowest_seated = instance.fit[panel, a].min() if panel.any() else -np.inf
        sentences = []
        for p in range(instance.n_pools):
            in_pool = np.nonzero(instance.expert_pool == p)[0]
            chosen_fits = instance.fit[in_pool[panel[in_pool]], a]
            ranked = best_first(in_pool, instance.fit[in_pool, a], limit + len(chosen_fits))
            floor = chosen_fits.min() if len(chosen_fits) else lowest_seated
            for rank, e in enumerate(ranked, start=1):
                if instance.fit[e, a] <= floor:
                    break
                if panel[e]:
                    continue
                reason = reference_reason(instance, assigned, labels, e, a, load, pool_count, exclusions) or OPTIMUM
                sentences.append((instance.fit[e, a], f"{ordinal(rank)}{labels.pool(p)}专家 {labels.experts[e]}"
                                                      f"（匹配度 {instance.fit[e, a]:.2f}）{reason}"))
        sentences.sort(key=lambda item: -item[0])
        result.append(PanelExplanation(a, members, [text for _, text in sentences[:limit]]))
    return result


def reference_binding(instance, labels, e, a, load, pool_count, fixed):
    p = instance.expert_pool[e]
    low, high = instance.pool_quotas[p]
    rules = ["组织方固定分配"] if fixed else []
    if load[e] >= instance.load_cap[e]:
        rules.append(f"负荷已满（{load[e]}/{instance.load_cap[e]}）")
    if low == high:
        rules.append(f"{labels.pool(p)}类人数固定为 {low}")
    elif pool_count[p] <= low:
        rules.append(f"{labels.pool(p)}类达到最少人数 {low}")
    elif pool_count[p] >= high:
        rules.append(f"{labels.pool(p)}类达到上限 {high}")
    return rules


def reference_reason(instance, assigned, labels, e, a, load, pool_count, exclusions):
    if not instance.allowed[e, a]:
        return f"因{exclusions.get((e, a), '不可分配')}未选"
    if load[e] >= instance.load_cap[e]:
        return f"因负荷已满（已评 {load[e]} 项，上限 {instance.load_cap[e]}）未选"
    o = instance.expert_org[e]
    if o >= 0:
        colleagues = np.nonzero(assigned[:, a] & (instance.expert_org == o))[0]
        if len(colleagues) >= instance.max_per_org:
            return f"因同单位限制未选（同单位的 {'、'.join(labels.experts[c] for c in colleagues)} 已在组内）"
    p = instance.expert_pool[e]
    if pool_count[p] >= instance.pool_quotas[p, 1]:
        return f"因{labels.pool(p)}类已达上限 {instance.pool_quotas[p, 1]} 人未选"
    return None


@pytest.mark.parametrize("seed", range(20))
def test_ranking_columns_at_once_is_best_first_column_by_column(seed):
    """Long columns (the threshold comes from a sample of the rows) with heavy ties, -inf and k up to the
    column."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    values = np.round(rng.random((int(rng.integers(1, 12)), n)), int(rng.integers(0, 3))).astype(np.float32)
    values[rng.random(values.shape) < 0.3] = -np.inf
    k = rng.integers(0, 40, len(values))
    k[0] = n if seed % 5 == 0 else k[0]
    columns, rows, ranks = best_first_columns(values.T, k)
    for c in range(len(values)):
        expected = best_first(np.arange(n), values[c], int(k[c]))
        assert rows[columns == c].tolist() == expected.tolist()
        assert ranks[columns == c].tolist() == list(range(len(expected)))
