"""The assignment pipeline behind ``python -m matching assign``: a parsed Problem in, the §10 result out.

conflicts → permission masks → fit → :class:`~matching.instance.Instance` → presolve → solve (``total`` or
``fair``; randomized draw; meeting panels) → reserves → explanations → :class:`AssignResult`. Nothing here
parses input (that is :func:`matching.problem.parse_problem`) or prints (that is ``__main__``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

import numpy as np

from matching.affinity import FitMatrix, affinity_arrays, compute_fit
from matching.bits import BitMatrix
from matching.conflicts import RULE_KINDS, RULES, ConflictArrays, ConflictReasons, conflict_arrays
from matching.draw import DrawResult, draw
from matching.explain import DRAWN, OPTIMUM, PanelExplanation, explain
from matching.fair import solve_fair
from matching.infeasibility import explain_shortfall, presolve
from matching.instance import Instance, Labels, Panels
from matching.meeting import group_applications, solve_meeting
from matching.memory import TOO_LARGE, problem_memory
from matching.organizations import normalize_name
from matching.reserves import NoReplacement, all_reserves, replace
from matching.solve import solve_total
from matching.types import HARD, POOLS, Conflict, Problem, Settings

DIGITS = 6
"""Decimals of fits and probabilities in the JSON result."""

MEETING_TIME_LIMIT = 300.0
"""Seconds HiGHS may spend choosing meeting panels (M, 300 applications, took 95–130 s on the shared machine)."""

FAIR_TIME_LIMIT = 60.0
"""Seconds HiGHS may spend on each MIP of the ``fair`` objective; past it the gap is reported (max-min MIPs are
degenerate and can be slow to prove, see docs/matching.md)."""

PHASES = ("conflicts", "fit", "checks", "solve", "report")
"""The phases of :func:`assign`, in order, as its ``progress`` callback names them."""

Progress = Callable[[str, int], None]
"""``progress(step, number)``: the engine begins phase ``step`` (one of :data:`PHASES`, ``number`` its 1-based
position), or, inside ``solve``, has finished pricing round ``number`` (``step`` is ``"pricing"``; how many rounds
follow is not known in advance). Called from the thread that runs :func:`assign`."""

CONFLICT_LIST_LIMIT = 100_000
"""Most conflicts the result lists one by one, each with its reason. A national round has tens of millions of
conflicted pairs: written out they would be gigabytes of JSON and minutes of sentences nobody reads. Above this
the result gives the counts in a diagnostic and ``python -m matching conflicts`` exports the full list."""


@dataclass
class AssignResult:
    """The result of :func:`assign`, keyed as DESIGN §10 (``to_dict`` gives the JSON form).

    Beyond §10's keys: ``gap`` (bound − objective), ``input_hash`` (SHA-256 of the canonical problem, for
    replaying a draw), ``expected_share`` (randomized: expected fit / deterministic optimum), ``memory`` (the
    round's estimated peak in bytes, the limit it was held to, None for none, and its expert × application
    pairs: ``{"estimate", "limit", "pairs"}``; ``status`` is ``"too_large"`` when the estimate passed the limit and
    the round was refused) and, per application, ``explanation`` sentences about better-fitting experts left
    out; each assigned expert carries ``binding`` rules.
    """

    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    assignments: list[dict[str, Any]]
    panels: list[dict[str, Any]]
    reserves: dict[str, list[str]]
    conflicts: list[dict[str, str]]
    probabilities: list[dict[str, Any]]
    seed: int | None
    input_hash: str
    diagnostics: list[str]
    timing: dict[str, float]
    memory: dict[str, int | None] = field(default_factory=dict)
    expected_share: float | None = None
    generated_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (keys in §10 order, optional keys left out when empty). It holds the result's own lists
        and dicts, which are JSON-ready already: ``dataclasses.asdict`` copied every nested entry, 11.7 s at
        10,000 × 25,000."""
        result = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for key in ("expected_share", "generated_at"):
            if result[key] is None:
                del result[key]
        return result


@dataclass
class Context:
    """Everything derived from the problem that the solve and the report share."""

    problem: Problem
    instance: Instance
    labels: Labels
    fit: FitMatrix
    conflict_arrays: ConflictArrays
    reasons: ConflictReasons
    exclusions: Mapping[tuple[int, int], str]
    diagnostics: list[str] = field(default_factory=list)

    @cached_property
    def conflicts(self) -> list[Conflict]:
        """Every conflict with its reason (written here, on first use: a national round has tens of millions)."""
        found = self.conflict_arrays
        if len(found):              # every reason: each expert's sentences written once, against one index
            self.reasons.prepare()
        return [self.reasons.conflict(int(e), int(a), RULES[r])
                for e, a, r in zip(found.experts, found.applications, found.rules, strict=True)]


class Exclusions(Mapping):
    """Why each disallowed (expert, application) pair is disallowed, the sentence written when it is asked for.

    In order of precedence: the organizer's exclusion (``forbidden``), the first conflict rule (hard, or soft
    and not accepted), the expert's unavailability. Iterating lists every such pair, which writes every
    sentence: meant for small rounds (the web service copies it), never at national scale.
    """

    def __init__(self, forbidden: Mapping[tuple[int, int], str], found: ConflictArrays, reasons: ConflictReasons,
                 available: np.ndarray):
        self.forbidden, self.found, self.reasons, self.available = forbidden, found, reasons, available

    def __getitem__(self, pair: tuple[int, int]) -> str:
        e, a = pair
        if pair in self.forbidden:
            return self.forbidden[pair]
        rules = self.found.rules_of(e, a)
        if rules:
            kind = "利益冲突" if rules[0] in HARD_RULE_NAMES else "软性冲突未获接受"
            return f"{kind}：{self.reasons.reason(e, a, rules[0])}"      # the reason names the rule's evidence
        if 0 <= e < len(self.available) and not self.available[e] and 0 <= a < self.found.n_applications:
            return "专家本轮不可用"
        raise KeyError(pair)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        pairs = set(self.forbidden) | set(zip(self.found.experts.tolist(), self.found.applications.tolist(),
                                              strict=True))
        pairs |= {(int(e), a) for e in np.nonzero(~self.available)[0] for a in range(self.found.n_applications)}
        return iter(sorted(pairs))

    def __len__(self) -> int:
        return sum(1 for _ in self)


HARD_RULE_NAMES = frozenset(rule for rule in RULES if RULE_KINDS[rule] == HARD)


def assign(problem: Problem, *, now: datetime | None = None, progress: Progress | None = None,
           memory_limit: int | None = None) -> AssignResult:
    """Assign expert panels for one round.

    A round whose estimated peak memory (:func:`matching.memory.problem_memory`) passes ``memory_limit`` is
    refused before anything of its size is allocated: status ``"too_large"``, no panels, its ``memory`` giving the
    estimate, the limit and the pairs.

    Parameters
    ----------
    problem : Problem
        Parsed by :func:`matching.problem.parse_problem`.
    now : datetime, optional
        Recorded as ``generated_at`` when given (the library never reads the clock for it).
    progress : callable, optional
        Told each phase as it begins and each pricing round of the ``total`` solve (see :data:`Progress`).
    memory_limit : int, optional
        Most bytes the run may take at its peak, by the estimate (None: no limit).
    """
    estimate = problem_memory(problem)
    memory = {"estimate": estimate.peak, "limit": memory_limit, "pairs": estimate.pairs}
    if memory_limit is not None and estimate.peak > memory_limit:
        return _empty_result(problem, TOO_LARGE, now, memory, conflicts=[], diagnostics=[], timing={})
    report = progress or _silent
    timing: dict[str, float] = {}
    context = build_context(problem, timing, progress=report)
    settings = problem.settings
    report("checks", PHASES.index("checks") + 1)
    clock = time.perf_counter()
    conflicts = _conflict_list(context)
    timing["reasons"] = time.perf_counter() - clock
    clock = time.perf_counter()
    result = _empty_result(problem, "infeasible", now, memory, conflicts=conflicts, timing=timing,
                           diagnostics=list(context.diagnostics) + _conflict_count(context))
    timing["hash"] = time.perf_counter() - clock
    clock = time.perf_counter()
    problems = context.diagnostics + presolve(context.instance, context.labels, meeting=settings.mode == "meeting")
    timing["presolve"] = time.perf_counter() - clock
    if problems:
        result.status, result.diagnostics = "infeasible", problems
        return result
    report("solve", PHASES.index("solve") + 1)
    clock = time.perf_counter()
    if settings.mode == "meeting" and (settings.randomize is not None or settings.objective == "fair"):
        result.diagnostics.append("会评模式按总匹配度最优选择专家组成员；随机抽取和公平目标仅用于网评（individual）模式")
    elif settings.randomize is not None and settings.objective == "fair":
        result.diagnostics.append("随机抽取以期望总匹配度为目标；公平目标在随机抽取时不适用")
    unbounded = _time_limit_unused(settings)
    if unbounded:
        result.diagnostics.append(f"求解时间上限只用于网评（individual）模式总匹配度的精确求解；本次{unbounded}")
    if settings.mode == "meeting":
        panels = _meeting(context, result)
    elif settings.randomize is not None:
        panels = _randomized(context, result)
    else:
        panels = _deterministic(context, result, report)
    timing["solve"] = time.perf_counter() - clock
    if panels is None:
        return result
    report("report", PHASES.index("report") + 1)
    clock = time.perf_counter()
    drawn = settings.mode != "meeting" and settings.randomize is not None
    field_fit, text_fit = context.fit.component_lookups(panels.experts, panels.apps())
    result.assignments = _assignments(context, explain(
        context.instance, panels, context.labels, exclusions=context.exclusions,
        field_fit=field_fit, text_fit=text_fit, otherwise=DRAWN if drawn else OPTIMUM))
    if settings.mode != "meeting":      # meeting reserves were chosen with the panels
        result.reserves = _reserves(context, panels, settings.reserves)
    timing["report"] = time.perf_counter() - clock
    return result


def _time_limit_unused(settings: Settings) -> str:
    """What a run whose ``time_limit`` does not apply solves under instead (empty when the limit applies or none
    is set): meeting mode and the fair objective have fixed limits of their own, the randomized draw has none."""
    if settings.time_limit is None:
        return ""
    if settings.mode == "meeting":
        return f"会评模式按其固定的 {MEETING_TIME_LIMIT:g} 秒上限求解"
    if settings.randomize is not None:
        return "随机抽取（及用于对照的确定性最优）不设时间上限，求解至结束"
    if settings.objective == "fair":
        return f"公平目标的每次求解按其固定的 {FAIR_TIME_LIMIT:g} 秒上限求解"
    return ""


def _silent(step: str, number: int) -> None:
    """The progress callback of a caller that asked for none."""


def _deterministic(context: Context, result: AssignResult, report: Progress = _silent) -> Panels | None:
    if context.problem.settings.objective == "fair":
        solution = solve_fair(context.instance, time_limit=FAIR_TIME_LIMIT)
    else:
        solution = solve_total(context.instance, on_round=lambda number: report("pricing", number),
                               pricing_time_limit=context.problem.settings.time_limit)
    result.status = "optimal" if solution.status == "optimal" else solution.status
    if solution.status == "infeasible":
        result.diagnostics += explain_shortfall(context.instance, solution.shortfall, context.labels)
        return None
    result.objective, result.bound, result.gap = _round(solution.objective), _round(solution.bound), \
        _round(solution.gap)
    if solution.status != "optimal":
        result.diagnostics.append(f"未证明最优：目标值 {solution.objective:.6f}，上界 {solution.bound:.6f}")
    stopped = not solution.stats.get("converged", True) or solution.stats.get("mip_stopped")
    if stopped and solution.status != "optimal" and context.problem.settings.time_limit is not None:
        result.diagnostics.append(stopped_at_limit(context.problem.settings.time_limit, solution.stats))
    if solution.stats.get("past_limit") and context.problem.settings.time_limit is not None:
        result.diagnostics.append(f"求解时间上限 {context.problem.settings.time_limit:g} 秒内没有找到满足全部规则的专家组，"
                                  "求解超过上限继续至结束")
    if "min_panel_fit" in solution.stats:
        result.diagnostics.append(f"最低专家组匹配度 {solution.stats['min_panel_fit']:.4f}"
                                  f"（上界 {solution.stats['min_panel_bound']:.4f}）")
    return solution.panels


def stopped_at_limit(time_limit: float, stats: dict) -> str:
    """The sentence for a solve its time limit stopped: what ran before the limit, the min-cost flow's rounds
    (a time-limited solve may answer with the flow's mended panels before any master round) and the master's,
    and whether the limit stopped the integer programs that place the seats a fractional LP splits."""
    work = f"{stats.get('rounds', 0)} 轮定价"
    if stats.get("flow_rounds"):
        work = f"最小费用流 {stats['flow_rounds']} 轮、主问题 {work}"
    if stats.get("mip_stopped"):
        work += "，整数规划未完成"
    return f"求解达到时间上限 {time_limit:g} 秒，给出当时最好的专家组（{work}）"


def _randomized(context: Context, result: AssignResult) -> Panels | None:
    randomize = context.problem.settings.randomize
    outcome = draw(context.instance, randomize.max_probability, randomize.seed)
    result.seed = randomize.seed
    if outcome.status == "infeasible":
        result.status = "infeasible"
        result.diagnostics += [f"每对专家–申报的概率上限 {randomize.max_probability} 下无法排满："]
        result.diagnostics += explain_shortfall(context.instance, outcome.shortfall, context.labels)
        return None
    optimum = solve_total(context.instance)
    if outcome.status == "unrepaired":
        result.status = "infeasible"
        result.diagnostics.append(unrepaired_sentence(randomize.seed, randomize.max_probability,
                                                      context.instance.max_per_org, outcome.attempts,
                                                      without_draw=optimum.status != "infeasible"))
        if optimum.status == "infeasible":
            result.diagnostics += explain_shortfall(context.instance, optimum.shortfall, context.labels)
        return None
    result.status = "optimal"
    result.objective = result.bound = _round(outcome.expected_fit)
    result.gap = 0.0
    result.expected_share = _round(outcome.expected_fit / optimum.objective) if optimum.objective else None
    labels = context.labels
    experts, apps = np.nonzero(outcome.probabilities > 0)
    result.probabilities = [{"expert": labels.experts[e], "application": labels.applications[a],
                             "p": _round(outcome.probabilities[e, a])} for e, a in zip(experts, apps, strict=True)]
    drawn = float(context.instance.fit[outcome.assigned].sum(dtype=np.float64))
    result.diagnostics.append(
        f"随机抽取（种子 {randomize.seed}）：期望总匹配度 {outcome.expected_fit:.4f}，为确定性最优 "
        f"{optimum.objective:.4f} 的 {100 * (result.expected_share or 0):.1f}%；本次抽取总匹配度 {drawn:.4f}")
    if not outcome.exact:
        result.diagnostics.append(approximate_sentence(outcome))
    if outcome.restricted_pairs:
        result.diagnostics.append(f"为使抽取精确，{outcome.restricted_pairs} 个专家–申报对被限制为同单位只出一个类别")
    return Panels.of(outcome.assigned)


def approximate_sentence(outcome: DrawResult) -> str:
    """Why the draw's marginals are only approximate (organization limits outside the bihierarchy: samples that
    break one are redrawn or repaired), and what happened to this draw: kept at its first sample, redrawn, or
    repaired after ``attempts`` broken samples."""
    if outcome.repaired:
        what = (f"本次抽取的 {outcome.attempts} 次均超出同单位人数上限，给出的专家组经替换或与其他专家组互换专家修补"
                "（仍满足全部规则）")
    elif outcome.attempts > 1:
        what = f"本次共抽取 {outcome.attempts} 次，前 {outcome.attempts - 1} 次超出同单位人数上限后重抽"
    else:
        what = "本次第 1 次抽取即满足全部规则"
    return f"跨类别的同单位限制超出双层级结构，边际概率为近似值；{what}"


def unrepaired_sentence(seed: int, max_probability: float, max_per_org: int, attempts: int, *,
                       without_draw: bool) -> str:
    """Why a draw gave no panels although the capped LP fills them: every sample broke the organization limit
    and none could be repaired (:func:`matching.draw.sample`), and what the organizer can change —
    ``without_draw``: whether the exact solve finds panels keeping every rule (then running without the draw
    is one way; else the round itself cannot keep the limit, and the sentences after this one say why)."""
    remedy = "可调整概率上限、提高同单位人数上限，或不使用随机抽取（确定性求解可以满足全部规则）" if without_draw \
        else "不使用随机抽取同样无法排满，需按下列原因放宽规则"
    return (f"随机抽取（种子 {seed}）：在每对专家–申报概率上限 {max_probability} 下抽取了 {attempts} 次，"
            f"每次都有专家组超出同单位人数上限 {max_per_org}，且无法通过替换或与其他专家组互换专家修正，"
            f"因此未给出专家组（不会给出违反规则的结果）。{remedy}")


def _meeting(context: Context, result: AssignResult) -> Panels | None:
    problem, instance, labels = context.problem, context.instance, context.labels
    groups = group_applications([a.sector for a in problem.applications], [a.field for a in problem.applications],
                                problem.settings.meeting_max_applications)
    solution = solve_meeting(instance, groups, time_limit=MEETING_TIME_LIMIT)
    result.status = "optimal" if solution.status == "optimal" else solution.status
    if solution.status == "infeasible":
        result.diagnostics.append("会评模式：按专家组分组后，无法让每个申报在回避后仍满足人数和类别要求")
        return None
    if solution.status == "time_limit":
        result.diagnostics.append(f"会评模式：{MEETING_TIME_LIMIT:.0f} 秒内未找到满足全部规则的专家组，"
                                  "可减少每组申报数或放宽限制后重试")
        return None
    result.objective, result.bound = _round(solution.objective), _round(solution.bound)
    result.gap = _round(max(solution.bound - solution.objective, 0.0))
    reasons = {(e, a): context.exclusions.get((e, a), "") for e, a in solution.recusals}
    conflict_rule = {(e, a): (context.conflict_arrays.rules_of(e, a) or ["forbidden"])[0]
                     for e, a in solution.recusals}
    result.reserves = _meeting_reserves(context, solution.groups, solution.members, problem.settings.reserves)
    result.panels = [
        {"panel": f"P{g + 1}", "applications": [labels.applications[a] for a in group],
         "experts": [labels.experts[e] for e in members],
         "recusals": [{"expert": labels.experts[e], "application": labels.applications[a],
                       "rule": conflict_rule[(e, a)], "reason": reasons[(e, a)]}
                      for e, a in solution.recusals if a in set(group.tolist())]}
        for g, (group, members) in enumerate(zip(solution.groups, solution.members, strict=True))
    ]
    return Panels.of(solution.assigned(instance.fit.shape))       # meeting rounds are small


def _meeting_reserves(context: Context, groups: list[np.ndarray], members: list[np.ndarray],
                      count: int) -> dict[str, list[str]]:
    """Per application: experts seated on no panel, allowed for it, whose organization the panel can still
    take (a reserve joins the panel, so the organization limit counts every member), best fit first."""
    instance, labels = context.instance, context.labels
    seated = np.zeros(instance.n_experts, dtype=bool)
    for panel in members:
        seated[panel] = True
    reserves = {}
    for group, panel in zip(groups, members, strict=True):
        orgs = instance.expert_org[panel]
        full = np.unique(orgs[orgs >= 0], return_counts=True)
        blocked = np.isin(instance.expert_org, full[0][full[1] >= instance.max_per_org])
        for a in group:
            usable = np.nonzero(~seated & instance.allowed[:, a] & ~blocked)[0]
            ranked = usable[np.argsort(-instance.fit[usable, a], kind="stable")][:count]
            reserves[labels.applications[a]] = [labels.experts[e] for e in ranked]
    return reserves


# --------------------------------------------------------------------------------------------- building blocks
def build_context(problem: Problem, timing: dict[str, float] | None = None, *,
                  progress: Progress | None = None) -> Context:
    """Conflicts, fit and the array instance of a problem (no solving).

    ``timing``, when given, receives the seconds spent on ``conflicts``, ``fit`` and ``instance`` (masks,
    exclusion reasons, organization index); ``progress`` is told when the conflicts and the fit phases begin.
    """
    timing = {} if timing is None else timing
    report = progress or _silent
    settings = problem.settings
    report("conflicts", PHASES.index("conflicts") + 1)
    clock = time.perf_counter()
    found = conflict_arrays(problem)
    timing["conflicts"] = time.perf_counter() - clock
    report("fit", PHASES.index("fit") + 1)
    clock = time.perf_counter()
    fit = compute_fit(problem)
    timing["fit"] = time.perf_counter() - clock
    clock = time.perf_counter()
    n_apps = len(problem.applications)
    fixed = [(problem.expert_index[p.expert], problem.application_index[p.application]) for p in problem.fixed]
    forbidden: dict[tuple[int, int], str] = {}
    for pair in problem.forbidden:
        e, a = problem.expert_index[pair.expert], problem.application_index[pair.application]
        forbidden[(e, a)] = f"组织方排除（{pair.reason}）" if pair.reason else "组织方排除"
    available = np.array([expert.available for expert in problem.experts], dtype=bool)
    allowed = _allowed(found, available, n_apps, fixed, list(forbidden))
    reasons = ConflictReasons(problem)
    exclusions = Exclusions(forbidden, found, reasons, available)
    pools = POOLS
    instance = Instance(
        fit=fit.fit, allowed=allowed,
        expert_pool=np.array([pools.index(expert.pool) for expert in problem.experts], dtype=int),
        pools=pools, expert_org=organization_index(problem),
        load_cap=np.array([settings.max_load if expert.max_load is None else expert.max_load
                           for expert in problem.experts], dtype=int),
        panel_size=np.full(n_apps, settings.panel_size, dtype=int),
        pool_quotas=np.array([settings.quota(pool) for pool in pools], dtype=int),
        max_per_org=settings.max_per_organization if settings.max_per_organization is not None
        else settings.panel_size,
        fixed=np.array(fixed, dtype=int).reshape(-1, 2),
    )
    labels = Labels(tuple(e.ref for e in problem.experts), tuple(a.ref for a in problem.applications), pools)
    diagnostics = [f"固定分配 专家 {labels.experts[e]} → 申报 {labels.applications[a]} 不可执行："
                   f"{exclusions.get((e, a), '不可分配')}" for e, a in fixed if not allowed[e, a]]
    timing["instance"] = time.perf_counter() - clock
    return Context(problem, instance, labels, fit, found, reasons, exclusions, diagnostics)


def _allowed(found: ConflictArrays, available: np.ndarray, n_apps: int, fixed: list[tuple[int, int]],
             forbidden: list[tuple[int, int]]) -> BitMatrix:
    """The (n_experts, n_applications) permission matrix, one bit a pair: the available experts' rows set, then
    the conflicted and forbidden pairs cleared (no dense mask of the conflicts, nor of the matrix, is formed)."""
    allowed = BitMatrix.rows(available, n_apps)
    hard = found.hard
    allowed.clear(found.experts[hard], found.applications[hard])
    soft = ~hard
    if soft.any():      # a soft conflict is accepted when the organizer fixed the pair (DESIGN §6.1)
        keys = found.experts[soft].astype(np.int64) * n_apps + found.applications[soft]
        accepted = np.isin(keys, [e * n_apps + a for e, a in fixed])
        allowed.clear(found.experts[soft][~accepted], found.applications[soft][~accepted])
    forbidden_pairs = np.array(forbidden, dtype=np.int64).reshape(-1, 2)
    allowed.clear(forbidden_pairs[:, 0], forbidden_pairs[:, 1])
    return allowed


def organization_index(problem: Problem) -> np.ndarray:
    """Organization index per expert (−1 for none): same USCC, or same normalized name when a USCC is missing.

    Two different USCCs are two organizations whatever their names (as in :mod:`matching.organizations`).
    """
    aliases = problem.organization_aliases
    index = np.full(len(problem.experts), -1, dtype=int)
    by_uscc: dict[str, int] = {}
    by_name: dict[str, int] = {}
    with_uscc = [i for i, x in enumerate(problem.experts) if x.organization and x.organization.uscc]
    others = [i for i, x in enumerate(problem.experts) if x.organization and not x.organization.uscc]
    for i in with_uscc + others:           # USCC holders first, so a name-only expert joins their group
        org = problem.experts[i].organization
        name = normalize_name(org.name, aliases) if org.name else ""
        if org.uscc:
            group = by_uscc.setdefault(org.uscc.replace(" ", "").upper(), len(by_uscc) + len(by_name))
        elif name:
            group = by_name.get(name, len(by_uscc) + len(by_name))
        else:
            continue
        if name:
            by_name.setdefault(name, group)
        index[i] = group
    return index


def input_hash(problem: Problem) -> str:
    """SHA-256 of the problem in a canonical form: anyone can replay a draw.

    The form is the problem without its ``affinity`` list as JSON (sorted keys, ISO dates, no spaces, UTF-8),
    then — when an affinity list is given — the bytes ``\\0affinity\\0`` and three little-endian arrays in list
    order: expert row indices (int64), application column indices (int64) and scores (float64). The list can
    hold millions of entries, which as JSON text took longer to hash than the solve (docs/matching.md).
    """
    canonical = _canonical(dataclasses.replace(problem, affinity=None))
    canonical["settings"].pop("time_limit")      # how long the solve may run is no part of the problem
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=False,
                                       separators=(",", ":")).encode("utf-8"))
    if problem.affinity is not None:
        experts, apps, scores = affinity_arrays(problem)
        digest.update(b"\0affinity\0")
        for array in (experts.astype("<i8"), apps.astype("<i8"), scores.astype("<f8")):
            digest.update(array.tobytes())
    return digest.hexdigest()


_PLAIN = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _canonical(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:                       # most of a problem's values: returned before any other test
        return value
    if kind in _FIELD_NAMES or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
        names = _FIELD_NAMES.get(kind) or _FIELD_NAMES.setdefault(kind, tuple(f.name for f in
                                                                             dataclasses.fields(value)))
        return {name: _canonical(getattr(value, name)) for name in names}
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _empty_result(problem: Problem, status: str, now: datetime | None, memory: dict[str, int | None], *,
                  conflicts: list[dict[str, str]], diagnostics: list[str], timing: dict[str, float]) -> AssignResult:
    """A result without panels: a round refused for its estimated memory (status
    :data:`~matching.memory.TOO_LARGE`, the figures in ``memory`` and no sentence: the caller words it, the web
    from its catalog), or one whose solve fills it in (``infeasible`` until then)."""
    return AssignResult(
        status=status, objective=None, bound=None, gap=None, assignments=[], panels=[], reserves={},
        conflicts=conflicts, probabilities=[], seed=None, input_hash=input_hash(problem), diagnostics=diagnostics,
        timing=timing, memory=memory, generated_at=now.isoformat() if now is not None else None)


def _conflict_list(context: Context) -> list[dict[str, str]]:
    if len(context.conflict_arrays) > CONFLICT_LIST_LIMIT:
        return []
    return [c.to_dict() for c in context.conflicts]


def _conflict_count(context: Context) -> list[str]:
    found = context.conflict_arrays
    if len(found) <= CONFLICT_LIST_LIMIT:
        return []
    hard = int(found.hard.sum())
    return [f"本轮共 {len(found)} 条利益冲突（硬性 {hard} 条，软性 {len(found) - hard} 条），超过 "
            f"{CONFLICT_LIST_LIMIT} 条，结果中不逐条列出；请用 python -m matching conflicts 导出全部冲突及理由"]


def _assignments(context: Context, explanations: list[PanelExplanation]) -> list[dict]:
    labels, instance = context.labels, context.instance
    return [
        {"application": labels.applications[panel.application],
         "experts": [{"expert": labels.experts[m.expert], "pool": instance.pools[instance.expert_pool[m.expert]],
                      "fit": _round(m.fit), "field_fit": _round(m.field_fit), "text_fit": _round(m.text_fit),
                      "binding": m.binding} for m in panel.members],
         "explanation": panel.not_chosen}
        for panel in explanations
    ]


def _reserves(context: Context, panels: Panels, count: int) -> dict[str, list[str]]:
    labels = context.labels
    return {labels.applications[a]: [labels.experts[e] for e in reserves]
            for a, reserves in enumerate(all_reserves(context.instance, panels, count))}


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), DIGITS)


# ---------------------------------------------------------------------------------------------- replacement
def replace_expert(problem: Problem, assignments: Mapping[str, Sequence[str]] | Sequence[Mapping[str, Any]],
                   application: str, expert: str, *, declined: Sequence[str] = ()) -> dict[str, Any]:
    """Swap one expert out of one panel for the best feasible reserve, leaving everyone else in place.

    Parameters
    ----------
    problem : Problem
    assignments : mapping application ref → expert refs, or the ``assignments`` list of an assign result
    application, expert : str
        The panel and the member who declined or recused.
    declined : sequence of str
        Experts who must not be chosen (e.g. who declined this application earlier).

    Returns
    -------
    dict
        ``{"application", "removed", "added", "assignments": {application ref: [expert refs]}}``.

    Raises
    ------
    NoReplacement
        With a Chinese sentence naming the application and the expert when nobody can take the seat.
    KeyError
        For an unknown application or expert ref.
    """
    context = build_context(problem)
    current = _as_mapping(assignments)
    assigned = np.zeros(context.instance.fit.shape, dtype=bool)
    for app_ref, experts in current.items():
        for ref in experts:
            assigned[problem.expert_index[ref], problem.application_index[app_ref]] = True
    excluded = np.zeros(context.instance.n_experts, dtype=bool)
    excluded[[problem.expert_index[ref] for ref in declined]] = True
    a, e = problem.application_index[application], problem.expert_index[expert]
    try:
        new, incoming = replace(context.instance, assigned, a, e, excluded=excluded)
    except NoReplacement as error:
        raise NoReplacement(f"申报 {application}：没有符合全部规则、可替换专家 {expert} 的人选") from error
    labels = context.labels
    return {
        "application": application, "removed": expert, "added": labels.experts[incoming],
        "assignments": {labels.applications[j]: [labels.experts[i] for i in np.nonzero(new[:, j])[0]]
                        for j in range(context.instance.n_apps)},
    }


def _as_mapping(assignments) -> dict[str, list[str]]:
    if isinstance(assignments, Mapping):
        return {app: list(experts) for app, experts in assignments.items()}
    return {entry["application"]: [m["expert"] if isinstance(m, Mapping) else m for m in entry["experts"]]
            for entry in assignments}
