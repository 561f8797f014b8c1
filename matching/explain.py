"""Why each panel looks the way it does, in Chinese sentences an organizer can read out.

For every assigned pair: the fit and its components and the rules that bind (the expert's load is full, the
pool is at its minimum or maximum, the pair was fixed). For every application: each expert who fits better than
the weakest chosen member of the same pool (of the whole panel when the pool has none) but was not chosen, and
why — a conflict (with the rule's own reason), a forbidden pair, a full load, a pool at its maximum, the
organization limit, or, when no rule stops them, a lower contribution to the optimum (taking them would cost more
elsewhere than it gains here).
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from matching.instance import (
    REPORT_BLOCK,
    Assignment,
    Instance,
    Labels,
    Panels,
    as_panels,
    best_first_columns,
)

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


def explain(instance: Instance, assigned: Assignment, labels: Labels, *,
            exclusions: Mapping[tuple[int, int], str] | None = None,
            withdrawn: Mapping[tuple[int, int], str] | None = None,
            field_fit: np.ndarray | None = None, text_fit: np.ndarray | None = None,
            limit: int = 5, otherwise: str = OPTIMUM,
            applications: Sequence[int] | None = None, block: int = REPORT_BLOCK) -> list[PanelExplanation]:
    """Explain every panel of an assignment (or the panels of ``applications``).

    Explaining a few panels costs work in proportion to the seats and to E per panel asked for, never E × A:
    a page showing one panel passes the assignment as :class:`~matching.instance.Panels`.

    Parameters
    ----------
    instance : Instance
    assigned : Panels, or ndarray of shape (E, A), bool
        The assignment (a matrix is read into its panels with one pass over it).
    labels : Labels
    exclusions : mapping (expert, application) → str, optional
        Why a disallowed pair is disallowed (e.g. "冲突（same-organization）：专家所在单位 … 是申报单位"); pairs
        not found here read "不可分配".
    withdrawn : mapping (expert, application) → str, optional
        Pairs taken off the table after the solve, read as disallowed for this reason (a member who declined or
        recused is named as such, not as "not chosen"); ``instance.allowed`` is not copied for them.
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
    block : int
        Most pairs ranked at a time for the "not chosen" sentences (bounds the temporaries, not the result).

    Returns
    -------
    list of PanelExplanation
        One per application explained, in column order.
    """
    exclusions = {} if exclusions is None else exclusions     # never len(): it would write every reason
    if withdrawn:
        exclusions = ChainMap(dict(withdrawn), exclusions)
    apps = np.arange(instance.n_apps) if applications is None else np.array(sorted(applications), dtype=np.int64)
    panels = as_panels(assigned)
    load = panels.loads(instance.n_experts)
    pool_counts = panels.pool_counts(instance.expert_pool, instance.n_pools)
    asked = np.unique(apps)
    left_out = _better_left_out(instance, panels, asked, limit, block)     # a panel asked twice: ranked once
    seats, first_seat = _seats_of(panels, asked)          # only the panels asked for: a page shows one
    experts, member_apps = panels.experts[seats], np.repeat(asked, np.diff(first_seat))
    member_fits = instance.fit[experts, member_apps].tolist()
    bindings = _bindings(instance, labels, experts, member_apps, load, pool_counts)
    where = dict(zip(asked.tolist(), first_seat[:-1].tolist(), strict=True))
    result = []
    for a in apps.tolist():
        at = range(where[a], where[a] + panels.starts[a + 1] - panels.starts[a])
        members = [
            PairExplanation(e, member_fits[k],
                            None if field_fit is None else float(field_fit[e, a]),
                            None if text_fit is None else float(text_fit[e, a]),
                            bindings[k])
            for k, e in zip(at, experts[at.start:at.stop].tolist(), strict=True)
        ]
        members.sort(key=lambda m: -m.fit)
        not_chosen = [f"{ordinal(rank)}{labels.pool(instance.expert_pool[e])}专家 {labels.experts[e]}（匹配度 "
                      f"{fit:.2f}）{_reason(instance, panels, labels, e, a, load, pool_counts[a], exclusions, withdrawn) or otherwise}"
                      for e, fit, rank in left_out.get(a, [])]
        result.append(PanelExplanation(a, members, not_chosen))
    return result


def _seats_of(panels: Panels, apps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The seats (indices into ``panels.experts``) of the distinct applications ``apps`` in their order, and where
    each application's seats start in that list (one more entry: the end)."""
    sizes = panels.starts[apps + 1] - panels.starts[apps]
    first = np.concatenate([[0], np.cumsum(sizes)])
    return np.repeat(panels.starts[apps] - first[:-1], sizes) + np.arange(first[-1]), first


def _bindings(instance: Instance, labels: Labels, experts: np.ndarray, member_apps: np.ndarray, load: np.ndarray,
              pool_counts: np.ndarray) -> list[list[str]]:
    """The rules that bind on each seat (``experts[k]`` on the panel of ``member_apps[k]``): the pair is fixed, the
    expert's load is full, the pool's count is fixed, at its minimum or at its maximum."""
    fixed = set(map(tuple, instance.fixed.tolist()))
    pool = instance.expert_pool[experts]
    low, high = instance.pool_quotas[pool, 0], instance.pool_quotas[pool, 1]
    count = pool_counts[member_apps, pool]
    quota = np.select([low == high, count <= low, count >= high], [1, 2, 3], 0)
    full = load[experts] >= instance.load_cap[experts]
    result = []
    for e, a, p, is_full, kind, lo, hi in zip(experts.tolist(), member_apps.tolist(), pool.tolist(), full.tolist(),
                                              quota.tolist(), low.tolist(), high.tolist(), strict=True):
        rules = ["组织方固定分配"] if (e, a) in fixed else []
        if is_full:
            rules.append(f"负荷已满（{load[e]}/{instance.load_cap[e]}）")
        if kind == 1:
            rules.append(f"{labels.pool(p)}类人数固定为 {lo}")
        elif kind == 2:
            rules.append(f"{labels.pool(p)}类达到最少人数 {lo}")
        elif kind == 3:
            rules.append(f"{labels.pool(p)}类达到上限 {hi}")
        result.append(rules)
    return result


def _better_left_out(instance: Instance, panels: Panels, apps: np.ndarray, limit: int,
                     block: int) -> dict[int, list[tuple[int, np.float32, int]]]:
    """Per application, the ``limit`` best-fitting experts left out, as ``(expert, fit, rank in pool)``.

    In each pool the experts are ranked by fit (ties by expert order); the first ``limit`` + (members of that
    pool) ranks are looked at, and of those the ones not seated who fit better than the weakest member of the
    pool (of the whole panel when the pool seats nobody) are kept; then all pools together, best fit first (ties
    by pool, then rank), cut to ``limit``. Ranked a block of applications at a time: a partition of the block's
    fit per pool and work proportional to the ranks looked at.
    """
    fit = instance.fit
    by_pool = [np.nonzero(instance.expert_pool == p)[0] for p in range(instance.n_pools)]
    width = max(1, block // max(instance.n_experts, 1))
    found: list[np.ndarray] = []          # (application, expert, pool, rank) per block and pool
    found_fits: list[np.ndarray] = []
    for start in range(0, len(apps), width):
        chunk = apps[start:start + width]
        columns = fit[:, chunk[0]:chunk[-1] + 1] if chunk[-1] - chunk[0] + 1 == len(chunk) else fit[:, chunk]
        seated = panels.table[chunk]
        member_fit = np.where(seated >= 0, fit[np.maximum(seated, 0), chunk[:, None]], np.inf)
        lowest_seated = np.where((seated >= 0).any(axis=1), member_fit.min(axis=1, initial=np.inf), -np.inf)
        for p, in_pool in enumerate(by_pool):
            if len(in_pool) == 0:
                continue
            in_this_pool = (seated >= 0) & (instance.expert_pool[np.maximum(seated, 0)] == p)
            chosen = in_this_pool.sum(axis=1)
            floor = np.where(chosen > 0, np.where(in_this_pool, member_fit, np.inf).min(axis=1, initial=np.inf),
                             lowest_seated).astype(fit.dtype)
            values = columns if len(in_pool) == instance.n_experts else columns[in_pool]
            rows, cols, ranks = best_first_columns(values, limit + chosen)
            experts = in_pool[cols]
            values = values[cols, rows]
            keep = (values > floor[rows]) & ~(panels.table[chunk[rows]] == experts[:, None]).any(axis=1)
            found.append(np.stack([chunk[rows[keep]], experts[keep], np.full(keep.sum(), p), ranks[keep] + 1]))
            found_fits.append(values[keep])
    if not found:
        return {}
    app, expert, pool, rank = np.concatenate(found, axis=1)
    values = np.concatenate(found_fits)
    order = np.lexsort((rank, pool, -values, app))
    app, expert, rank, values = app[order], expert[order], rank[order], values[order]
    place = np.arange(len(app)) - np.searchsorted(app, app)
    keep = place < limit
    result: dict[int, list[tuple[int, np.float32, int]]] = {}
    for a, e, v, r in zip(app[keep].tolist(), expert[keep].tolist(), values[keep], rank[keep].tolist(),
                          strict=True):
        result.setdefault(a, []).append((e, v, r))
    return result


def _reason(instance: Instance, panels: Panels, labels: Labels, e: int, a: int, load: np.ndarray,
            pool_count: np.ndarray, exclusions: Mapping[tuple[int, int], str],
            withdrawn: Mapping[tuple[int, int], str] | None) -> str | None:
    """The first rule that keeps ``e`` off ``a``'s panel, or None when no rule does."""
    if not instance.allowed[e, a] or (withdrawn and (e, a) in withdrawn):
        return f"因{exclusions.get((e, a), '不可分配')}未选"
    if load[e] >= instance.load_cap[e]:
        return f"因负荷已满（已评 {load[e]} 项，上限 {instance.load_cap[e]}）未选"
    o = instance.expert_org[e]
    if o >= 0:
        members = panels.members(a)
        colleagues = members[instance.expert_org[members] == o]
        if len(colleagues) >= instance.max_per_org:
            names = "、".join(labels.experts[c] for c in colleagues)
            return f"因同单位限制未选（同单位的 {names} 已在组内）"
    p = instance.expert_pool[e]
    if pool_count[p] >= instance.pool_quotas[p, 1]:
        return f"因{labels.pool(p)}类已达上限 {instance.pool_quotas[p, 1]} 人未选"
    return None
