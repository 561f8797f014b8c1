"""Why no assignment exists, in plain sentences naming the application, the pool or rule and the shortfall.

Two stages. :func:`presolve` counts, before any solver runs, what each application and pool can possibly get
(non-conflicted experts with some load, distinct organizations, total capacity against total demand); most
infeasible rounds stop here with an exact sentence such as "申报 A17：法律类专家无冲突可用 0 人，需要 1 人".
When the counts are fine but the solver still finds no assignment (experts shared by too many applications,
organization limits interacting), :func:`explain_shortfall` reads the elastic LP's unfilled seats per
(application, pool) and re-solves with one rule family relaxed at a time to name the family responsible.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import sparse

from matching.greedy import initial_candidates
from matching.instance import Instance, Labels
from matching.lp import Master, application_blocks
from matching.solve import generate_columns


def presolve(instance: Instance, labels: Labels, *, meeting: bool = False) -> list[str]:
    """Counting arguments that already prove infeasibility; an empty list means none applies.

    In meeting mode an expert sits on one panel for several applications and ``load_cap`` does not apply, so
    the review-capacity count (load × applications) is left out.

    Returns
    -------
    list of str
        Chinese sentences, one per shortfall found.
    """
    capacity = [] if meeting else _capacity(instance, labels)
    return _quota_sums(instance, labels) + _per_application(instance, labels) + capacity + _fixed(instance, labels)


def _fixed(instance: Instance, labels: Labels) -> list[str]:
    """Fixed pairs that are themselves forbidden, already exceed a cap, or leave fewer seats than the pool
    minimums still need (read from the pairs, never from an (E, A) mask: a national round has a few fixed pairs
    among a billion)."""
    pairs = np.unique(instance.fixed, axis=0) if len(instance.fixed) else instance.fixed
    experts, apps = pairs[:, 0], pairs[:, 1]
    sentences = [f"固定分配 专家 {labels.experts[e]} → 申报 {labels.applications[a]} 存在冲突或被禁止"
                 for e, a in pairs[~instance.allowed[experts, apps]].tolist()]
    load = np.bincount(experts, minlength=instance.n_experts)
    sentences += [f"专家 {labels.experts[e]} 固定分配 {load[e]} 项，超过负荷上限 {instance.load_cap[e]}"
                  for e in np.nonzero(load > instance.load_cap)[0]]
    for a in np.unique(apps).tolist():
        members = experts[apps == a]
        if len(members) > instance.panel_size[a]:
            sentences.append(f"申报 {labels.applications[a]}：固定分配 {len(members)} 人，超过专家组人数 "
                             f"{instance.panel_size[a]}")
        counts = np.bincount(instance.expert_pool[members], minlength=instance.n_pools)
        seats, needed = instance.panel_size[a] - len(members), np.maximum(instance.pool_quotas[:, 0] - counts, 0).sum()
        if 0 <= seats < needed:
            sentences.append(f"申报 {labels.applications[a]}：固定分配 {len(members)} 人后只剩 {seats} 个席位，"
                             f"各类专家最少还需 {needed} 人")
        sentences += [f"申报 {labels.applications[a]}：固定分配{labels.pool(p)}类专家 {counts[p]} 人，"
                      f"超过上限 {instance.pool_quotas[p, 1]}"
                      for p in np.nonzero(counts > instance.pool_quotas[:, 1])[0]]
        orgs = instance.expert_org[members]
        if (orgs >= 0).any() and np.bincount(orgs[orgs >= 0]).max() > instance.max_per_org:
            sentences.append(f"申报 {labels.applications[a]}：固定分配的专家中同单位超过 {instance.max_per_org} 人")
    return sentences


def _quota_sums(instance: Instance, labels: Labels) -> list[str]:
    low, high = instance.pool_quotas.sum(axis=0)
    sentences = []
    for size in np.unique(instance.panel_size):
        if low > size:
            sentences.append(f"各类专家最少人数之和 {low} 超过专家组人数 {size}")
        if high < size:
            sentences.append(f"各类专家最多人数之和 {high} 少于专家组人数 {size}")
    return sentences


def _per_application(instance: Instance, labels: Labels) -> list[str]:
    counts, distinct, overall = _capacities(instance)
    sentences = []
    low, high = instance.pool_quotas[:, 0][:, None], instance.pool_quotas[:, 1][:, None]
    overall = np.minimum(np.minimum(distinct, high).sum(axis=0), overall)
    short = (counts < low) | (distinct < low)
    for a in np.nonzero(short.any(axis=0) | (overall < instance.panel_size))[0]:
        for p in range(instance.n_pools):
            count, pool_low = int(counts[p, a]), int(low[p, 0])
            if count < pool_low:
                sentences.append(f"申报 {labels.applications[a]}：{labels.pool(p)}类专家无冲突可用 {count} 人，"
                                 f"需要 {pool_low} 人")
            elif distinct[p, a] < pool_low:
                sentences.append(f"申报 {labels.applications[a]}：{labels.pool(p)}类无冲突专家 {count} 人，"
                                 f"但同单位限制下最多选 {int(distinct[p, a])} 人，需要 {pool_low} 人")
        if overall[a] < instance.panel_size[a]:
            sentences.append(f"申报 {labels.applications[a]}：满足类别上限和同单位限制的可用专家最多 {int(overall[a])} 人，"
                             f"专家组需要 {instance.panel_size[a]} 人")
    return sentences


def _capacities(instance: Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per application: usable experts of each pool, how many of them one panel can hold under the organization
    limit (shape (P, A) each), and the latter over all pools (shape (A,)).

    Computed a block of applications at a time (:data:`matching.lp.PRICING_BLOCK` pairs), with the
    organization counts as one sparse product per pool, so no per-application pass over the experts.
    """
    usable_expert = instance.load_cap > 0
    has_org = instance.expert_org >= 0
    n_orgs = int(instance.expert_org.max(initial=-1)) + 1
    groups = [instance.expert_pool == p for p in range(instance.n_pools)] + [np.ones(instance.n_experts, bool)]
    indicators = []
    for members in groups:
        rows = np.nonzero(members & has_org & usable_expert)[0]
        indicators.append((members & usable_expert, members & ~has_org & usable_expert, sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (instance.expert_org[rows], rows)),
            shape=(n_orgs, instance.n_experts))))
    counts = np.zeros((instance.n_pools + 1, instance.n_apps), dtype=np.int64)
    distinct = np.zeros_like(counts)
    for block in application_blocks(instance):
        allowed = instance.allowed[:, block]
        values = allowed.astype(np.float32)
        for g, (members, loose, indicator) in enumerate(indicators):
            counts[g, block] = allowed[members].sum(axis=0)
            per_org = indicator @ values
            distinct[g, block] = allowed[loose].sum(axis=0) + \
                np.minimum(per_org, instance.max_per_org).sum(axis=0).round().astype(np.int64)
    return counts[:-1], distinct[:-1], distinct[-1]


def _capacity(instance: Instance, labels: Labels) -> list[str]:
    sentences = []
    for p in range(instance.n_pools):
        capacity = int(instance.load_cap[instance.expert_pool == p].sum())
        demand = int(instance.pool_quotas[p, 0]) * instance.n_apps
        if capacity < demand:
            sentences.append(f"{labels.pool(p)}类专家评审容量共 {capacity} 次，各申报最少需要 {demand} 次")
    capacity, demand = int(instance.load_cap.sum()), int(instance.panel_size.sum())
    if capacity < demand:
        sentences.append(f"全部专家评审容量共 {capacity} 次，少于各专家组总人数 {demand}")
    return sentences


RELAXATIONS = {
    "负荷上限": lambda inst: dataclasses.replace(inst, load_cap=np.full(inst.n_experts, inst.n_apps)),
    "同单位限制": lambda inst: dataclasses.replace(inst, max_per_org=int(inst.panel_size.max(initial=1))),
    "类别上限": lambda inst: dataclasses.replace(
        inst, pool_quotas=np.stack([inst.pool_quotas[:, 0], np.full(inst.n_pools, inst.panel_size.max())], 1)),
}
"""Rule families the solver-based explanation relaxes one at a time (Chinese name → relaxed instance)."""


def explain_shortfall(instance: Instance, shortfall: np.ndarray, labels: Labels) -> list[str]:
    """Sentences for the seats the elastic LP could not fill, and which rule family is responsible.

    Parameters
    ----------
    shortfall : ndarray, shape (A, P)
        Unfilled seats per (application, pool), from :class:`matching.solve.Solution`.
    """
    sentences = [f"申报 {labels.applications[a]}：{labels.pool(p)}类专家在满足全部规则后仍缺 "
                 f"{_amount(shortfall[a, p])} 人"
                 for a, p in zip(*np.nonzero(shortfall > 1e-7), strict=True)]
    if not sentences:
        sentences.append("线性松弛可以排满，但整数分配不可行：同单位限制与负荷上限相互制约")
    culprits = [name for name, relax in RELAXATIONS.items() if lp_feasible(relax(instance))]
    if culprits:
        sentences.append("放宽以下任一规则即可排满：" + "、".join(culprits))
    else:
        sentences.append("单独放宽负荷上限、同单位限制或类别上限都不足以排满，需要增加专家")
    return sentences


def lp_feasible(instance: Instance) -> bool:
    """Whether the LP relaxation of ``instance`` fills every seat."""
    master = Master(instance, instance.fit)
    master.add(*initial_candidates(instance, instance.fit, int(instance.pool_quotas[:, 1].max(initial=1)) + 8))
    lp, _, _ = generate_columns(master, per_app=2 * int(instance.panel_size.max(initial=1)))
    return not (lp.shortfall > 1e-7).any()


def _amount(value: float) -> str:
    return str(int(round(value))) if abs(value - round(value)) < 1e-6 else f"{value:.2f}"
