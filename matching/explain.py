"""Why each panel looks the way it does, in Chinese sentences an organizer can read out.

For every assigned pair: the fit and its components and the rules that bind (the expert's load is full, the
pool is at its minimum or maximum, the pair was fixed). For every application: each expert who fits better than
the weakest chosen member of the same pool (of the whole panel when the pool has none) but was not chosen, and
why — a conflict (with the rule's own reason), a forbidden pair, a full load, a pool at its maximum, the
organization limit, or, when no rule stops them, a lower contribution to the optimum (taking them would cost more
elsewhere than it gains here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from matching.instance import Instance, Labels, best_first

CHINESE_DIGITS = "一二三四五六七八九十"

OPTIMUM = "未选：整体最优下其名额用于其他申报或其他专家组合的总匹配度更高"
"""Why an expert no rule stops was left out of an optimal assignment."""
DRAWN = "未选：本次随机抽取未抽中"
"""The same for a randomized draw, where chance, not the optimum, decides."""


@dataclass
class PairExplanation:
    """One assigned pair: components and binding rules."""

    expert: int
    fit: float
    field_fit: float | None
    text_fit: float | None
    binding: list[str] = field(default_factory=list)


@dataclass
class PanelExplanation:
    """One application: its members' explanations and the sentences about better-fitting experts left out."""

    application: int
    members: list[PairExplanation]
    not_chosen: list[str]


def ordinal(rank: int) -> str:
    """Chinese ordinal for a 1-based rank: 第一位 … 第十位, then 第11位."""
    return f"第{CHINESE_DIGITS[rank - 1]}位" if rank <= len(CHINESE_DIGITS) else f"第{rank}位"


def explain(instance: Instance, assigned: np.ndarray, labels: Labels, *,
            exclusions: Mapping[tuple[int, int], str] | None = None,
            field_fit: np.ndarray | None = None, text_fit: np.ndarray | None = None,
            limit: int = 5, otherwise: str = OPTIMUM,
            applications: Sequence[int] | None = None) -> list[PanelExplanation]:
    """Explain every panel of an assignment (or the panels of ``applications``).

    Parameters
    ----------
    instance : Instance
    assigned : ndarray, shape (E, A), bool
    labels : Labels
    exclusions : mapping (expert, application) → str, optional
        Why a disallowed pair is disallowed (e.g. "冲突（same-organization）：专家所在单位 … 是申报单位"); pairs
        not found here read "不可分配".
    field_fit, text_fit : ndarray, shape (E, A), or any lookup ``[e, a]``, optional
        Fit components, reported per assigned pair (:meth:`matching.affinity.FitMatrix.component_lookups`
        computes them for the assigned pairs only).
    limit : int
        Most "not chosen" sentences per application.
    otherwise : str
        The sentence when no rule stops an expert (:data:`OPTIMUM`, or :data:`DRAWN` for a randomized draw).
    applications : sequence of int, optional
        Column indices of the panels to explain (a page showing one panel asks for one); all by default. Loads
        and the other panels are read from ``assigned`` either way, so a panel's explanation is the same.

    Returns
    -------
    list of PanelExplanation
        One per application explained, in column order.
    """
    exclusions = exclusions or {}
    load = assigned.sum(axis=1)
    fixed = instance.fixed_mask()
    result = []
    for a in range(instance.n_apps) if applications is None else sorted(applications):
        panel = assigned[:, a]
        pool_count = np.bincount(instance.expert_pool[panel], minlength=instance.n_pools)
        members = [
            PairExplanation(int(e), float(instance.fit[e, a]),
                            None if field_fit is None else float(field_fit[e, a]),
                            None if text_fit is None else float(text_fit[e, a]),
                            _binding(instance, labels, e, a, load, pool_count, fixed))
            for e in np.nonzero(panel)[0]
        ]
        members.sort(key=lambda m: -m.fit)
        result.append(PanelExplanation(a, members, _not_chosen(instance, assigned, labels, a, load,
                                                               pool_count, exclusions, limit, otherwise)))
    return result


def _binding(instance: Instance, labels: Labels, e: int, a: int, load: np.ndarray, pool_count: np.ndarray,
             fixed: np.ndarray) -> list[str]:
    p = instance.expert_pool[e]
    low, high = instance.pool_quotas[p]
    rules = []
    if fixed[e, a]:
        rules.append("组织方固定分配")
    if load[e] >= instance.load_cap[e]:
        rules.append(f"负荷已满（{load[e]}/{instance.load_cap[e]}）")
    if low == high:
        rules.append(f"{labels.pool(p)}类人数固定为 {low}")
    elif pool_count[p] <= low:
        rules.append(f"{labels.pool(p)}类达到最少人数 {low}")
    elif pool_count[p] >= high:
        rules.append(f"{labels.pool(p)}类达到上限 {high}")
    return rules


def _not_chosen(instance: Instance, assigned: np.ndarray, labels: Labels, a: int, load: np.ndarray,
                pool_count: np.ndarray, exclusions: Mapping[tuple[int, int], str], limit: int,
                otherwise: str) -> list[str]:
    panel = assigned[:, a]
    # Nobody fitting worse than every seated member is "better-fitting": a pool without a member is measured
    # against the lowest seated fit of the application, not listed from its top down.
    lowest_seated = instance.fit[panel, a].min() if panel.any() else -np.inf
    sentences = []
    for p in range(instance.n_pools):
        in_pool = np.nonzero(instance.expert_pool == p)[0]
        chosen_fits = instance.fit[in_pool[panel[in_pool]], a]
        # the loop below stops after limit + len(chosen_fits) ranks: only those need sorting
        ranked = best_first(in_pool, instance.fit[in_pool, a], limit + len(chosen_fits))
        floor = chosen_fits.min() if len(chosen_fits) else lowest_seated
        for rank, e in enumerate(ranked, start=1):
            if instance.fit[e, a] <= floor:
                break
            if panel[e]:
                continue
            reason = _reason(instance, assigned, labels, e, a, load, pool_count, exclusions) or otherwise
            sentences.append((instance.fit[e, a],
                              f"{ordinal(rank)}{labels.pool(p)}专家 {labels.experts[e]}（匹配度 "
                              f"{instance.fit[e, a]:.2f}）{reason}"))
            if rank >= limit + len(chosen_fits):
                break
    sentences.sort(key=lambda item: -item[0])
    return [text for _, text in sentences[:limit]]


def _reason(instance: Instance, assigned: np.ndarray, labels: Labels, e: int, a: int, load: np.ndarray,
            pool_count: np.ndarray, exclusions: Mapping[tuple[int, int], str]) -> str | None:
    """The first rule that keeps ``e`` off ``a``'s panel, or None when no rule does."""
    if not instance.allowed[e, a]:
        return f"因{exclusions.get((e, a), '不可分配')}未选"
    if load[e] >= instance.load_cap[e]:
        return f"因负荷已满（已评 {load[e]} 项，上限 {instance.load_cap[e]}）未选"
    o = instance.expert_org[e]
    if o >= 0:
        colleagues = np.nonzero(assigned[:, a] & (instance.expert_org == o))[0]
        if len(colleagues) >= instance.max_per_org:
            names = "、".join(labels.experts[c] for c in colleagues)
            return f"因同单位限制未选（同单位的 {names} 已在组内）"
    p = instance.expert_pool[e]
    if pool_count[p] >= instance.pool_quotas[p, 1]:
        return f"因{labels.pool(p)}类已达上限 {instance.pool_quotas[p, 1]} 人未选"
    return None
