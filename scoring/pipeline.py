"""The aggregation pipeline of DESIGN §7.1, from validated sheets to a ranked, explained result.

validate → panels and panel size → outlier flags → calibration (optional) → Olympic mean and criterion means →
interval → bootstrap rank intervals → rank → recommend → grade → trace. Each step after validation can be
switched off in :class:`scoring.types.Settings`.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from . import flags as sentences
from .aggregate import Trimmed, decimal_places, olympic_trim, round_half_up, round_ratios_half_up
from .bootstrap import bootstrap_ranks
from .calibrate import Calibration, DisconnectedDesign, calibrate, components, is_complete, lone_links
from .interval import trimmed_mean_interval_matrix
from .outliers import (
    TestStep,
    absolute_deviation_matrix,
    diagnostic_steps,
    others_median_matrix,
    robust_z_matrix,
    row_medians,
)
from .panels import INSUFFICIENT, SMALL, SMALL_BELOW, Panels, build_panels, panel_status
from .rank import Ranking, rank_applications
from .recommend import Decisions, grade, recommend
from .trace import computation, make_trace, sheet_totals, sheet_traces, slot_statuses
from .types import (
    ACT,
    GRADED_KINDS,
    INFO,
    ApplicationResult,
    CalibrationSummary,
    ExpertResult,
    Flag,
    Problem,
    Result,
    Settings,
)
from .validate import known_valid, validate_problem


@dataclass(frozen=True)
class _Outliers:
    """Outlier statistics of every slot, computed once for all applications.

    z, relative, others : shape (A, N) — ROBUST z, DEVIATION (share of the total's range) and the others'
    median; median : shape (A,); criterion_z : shape (A, C, N); criterion_median : shape (A, C).
    """

    z: np.ndarray
    relative: np.ndarray
    others: np.ndarray
    median: np.ndarray
    criterion_z: np.ndarray
    criterion_median: np.ndarray


def _outliers(panels: Panels, problem: Problem) -> _Outliers:
    n_apps, width, n_criteria = panels.scores.shape
    floor, total_range = problem.settings.scale_floor, problem.template.total
    maxima = np.tile([criterion.max for criterion in problem.template.criteria], n_apps)[:, None]
    by_criterion = panels.scores.transpose(0, 2, 1).reshape(n_apps * n_criteria, width)
    return _Outliers(robust_z_matrix(panels.totals, total_range, floor),
                     absolute_deviation_matrix(panels.totals, total_range),
                     others_median_matrix(panels.totals), row_medians(panels.totals),
                     robust_z_matrix(by_criterion, maxima, floor).reshape(n_apps, n_criteria, width),
                     row_medians(by_criterion).reshape(n_apps, n_criteria))


@dataclass(frozen=True)
class _Experts:
    """The experts of the used sheets, and each slot's expert index (-1 in empty slots)."""

    refs: tuple[str, ...]
    slot_index: np.ndarray


def rank(problem: Problem) -> Result:
    """Aggregate, rank and recommend (DESIGN §7.1); a problem with any error ranks nothing.

    Parameters
    ----------
    problem : Problem
        Usually from :func:`scoring.parse_problem`, which validated it; any other problem (built in code, or
        changed with ``dataclasses.replace``) is validated here, so it is held to the same rules.

    Returns
    -------
    Result
        ``ranking`` best first (applications without a score last), ``experts``, and ``errors`` (empty unless
        the problem was refused, e.g. a disconnected design with calibration on).
    """
    with _no_cycle_collection():
        return _rank(problem)


def _rank(problem: Problem) -> Result:
    settings = problem.settings
    errors = [] if known_valid(problem) else validate_problem(problem)
    if errors:
        return Result((), (), tuple(errors), settings)
    panels = build_panels(problem)
    if not panels.applications:
        return Result((), (), (), settings)
    experts = _index_experts(panels)
    calibration = None
    if settings.calibrate:
        try:
            calibration = _calibrate(panels, experts, settings.shrink)
        except DisconnectedDesign as disconnected:
            return Result((), (), (str(disconnected),), settings)
    status = panel_status(panels.counts, settings)
    scored = status != INSUFFICIENT
    adjusted = None
    if calibration is not None and settings.rank_on_calibrated:
        biases = np.append(calibration.biases, 0.0)                  # slot index -1 (empty) reads the 0
        adjusted = panels.totals - biases[experts.slot_index]
    totals = np.where(scored[:, None], panels.totals if adjusted is None else adjusted, np.nan)
    trimmed = olympic_trim(totals, settings.min_panel, settings.trim == "olympic")
    step_places = decimal_places(criterion.step for criterion in problem.template.criteria)
    numbers = _numbers(panels, totals, trimmed, scored, settings, step_places, adjusted is not None)
    ranking = rank_applications(numbers["score"], _tie_breakers(problem, numbers))
    decisions = (recommend(numbers["score"], numbers["interval"], numbers["criteria"], problem.template, settings,
                           numbers["rank_interval"][:, 0], numbers["p_top_k"]) if settings.recommend else None)
    outliers = _outliers(panels, problem) if settings.outliers or settings.criterion_flags else None
    results = _application_results(problem, panels, status, trimmed, numbers, ranking, decisions, calibration,
                                   adjusted, outliers)
    results.sort(key=lambda result: (result.rank is None, result.rank or 0, result.application))
    return Result(tuple(results), _expert_results(problem, experts, calibration), (), settings,
                  None if calibration is None else _calibration_summary(panels, experts, calibration))


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while a round is ranked.

    A large round makes hundreds of thousands of small objects (panel rows, sheet traces, flags, diagnostics),
    none of them in a reference cycle, so the collections their number triggers find nothing; but every
    older-generation pass walks every live object (the problem's sheets, an earlier result) and at 10,000
    applications they cost a quarter to a half of ``rank()`` outside the bootstrap. Objects are still freed by
    reference counting; the collector is switched back on at the end if it was on (a concurrent call in another
    thread may find it off and then leaves it to the first caller to switch on).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _index_experts(panels: Panels) -> _Experts:
    present = panels.present
    refs = tuple(sorted(set(panels.experts[present].tolist())))
    position = {ref: index for index, ref in enumerate(refs)}
    slot_index = np.full(panels.experts.shape, -1)
    rows, slots = np.nonzero(present)
    slot_index[rows, slots] = [position[ref] for ref in panels.experts[rows, slots]]
    return _Experts(refs, slot_index)


def design_groups(problem: Problem) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """The groups of a validated problem's expert–application design: applications and experts linked through
    sheets (excluded sheets left out). Calibration compares the experts' biases only within one group, so it refuses
    a design of more than one (:class:`~scoring.calibrate.DisconnectedDesign`); a caller words the refusal with these.

    Returns
    -------
    tuple of (application refs, expert refs) pairs, each sorted; one pair when every expert can be compared.
    """
    panels = build_panels(problem)
    experts = _index_experts(panels)
    rows, slots = np.nonzero(panels.present)
    groups = components(rows, experts.slot_index[rows, slots], len(panels.applications), len(experts.refs))
    return tuple((tuple(sorted(panels.applications[i] for i in apps)), tuple(sorted(experts.refs[i] for i in group)))
                 for apps, group in groups)


def _calibrate(panels: Panels, experts: _Experts, shrink: bool) -> Calibration:
    rows, slots = np.nonzero(panels.present)
    return calibrate(rows, experts.slot_index[rows, slots], panels.totals[rows, slots],
                     panels.confidence[rows, slots] ** 2, panels.applications, experts.refs, shrink)


def _calibration_summary(panels: Panels, experts: _Experts, calibration: Calibration) -> CalibrationSummary:
    """τ², σ² and the warnings on the design: complete (nothing to correct) or hanging on one expert."""
    rows, slots = np.nonzero(panels.present)
    columns = experts.slot_index[rows, slots]
    shape = (len(panels.applications), len(experts.refs))
    warnings = [sentences.one_link(experts.refs[index]) for index in lone_links(rows, columns, *shape)]
    if is_complete(rows, columns, *shape):
        warnings.insert(0, sentences.complete_design(len(experts.refs)))
    rounded = [None if value is None else round(float(value), 4)
               for value in (calibration.bias_variance, calibration.noise_variance)]
    return CalibrationSummary(rounded[0], rounded[1], tuple(warnings))


def _numbers(panels: Panels, totals: np.ndarray, trimmed: Trimmed, scored: np.ndarray, settings: Settings,
             step_places: int, calibrated_totals: bool = False) -> dict[str, np.ndarray]:
    """Every per-application number: the 2-decimal score, criterion means, median and mean (each divided in
    decimal, see :func:`scoring.aggregate.round_ratio_half_up`), the interval and the bootstrap summaries.

    ``step_places``: the decimals of the template's steps; sums of entered scores are snapped back to that grid
    before dividing. Calibrated totals are off the grid and are divided as they are.
    """
    n_apps = len(panels.applications)
    exact_places = None if calibrated_totals else step_places
    counts = np.where(scored, trimmed.counts, 0)
    score = round_ratios_half_up(trimmed.sums, counts, exact_places)
    criterion_sums = np.where(trimmed.kept[:, :, None], np.nan_to_num(panels.scores), 0.0).sum(axis=1)
    criteria = round_ratios_half_up(criterion_sums, counts[:, None], step_places)
    present = ~np.isnan(totals)
    n = np.where(scored, present.sum(axis=1), 0)
    sorted_totals = np.sort(totals, axis=1)
    rows = np.arange(n_apps)
    middle_pair = (sorted_totals[rows, np.maximum((n - 1) // 2, 0)] + sorted_totals[rows, np.maximum(n // 2, 0)])
    median = round_ratios_half_up(middle_pair, np.where(n > 0, 2, 0), exact_places)
    mean = round_ratios_half_up(np.where(present, totals, 0.0).sum(axis=1), n, exact_places)
    interval = (trimmed_mean_interval_matrix(totals, _interval_trim(totals, trimmed, settings),
                                             settings.confidence_level) if settings.interval
                else np.full((n_apps, 2), np.nan))
    rank_interval = np.zeros((n_apps, 2), dtype=int)
    p_top_k = None
    if settings.bootstrap > 0 and scored.any():
        uncertainty = bootstrap_ranks(totals[scored], settings.bootstrap, settings.seed, settings.min_panel,
                                      settings.trim == "olympic", settings.confidence_level, settings.capacity)
        rank_interval[scored] = np.column_stack([uncertainty.low, uncertainty.high])
        if uncertainty.p_top_k is not None:
            p_top_k = np.full(n_apps, np.nan)
            p_top_k[scored] = uncertainty.p_top_k
    return {"score": score, "criteria": criteria, "median": median, "mean": mean,
            "interval": interval, "rank_interval": rank_interval, "p_top_k": p_top_k}


INTERVAL_MIN_TRIM = 5  # below five sheets the trimmed mean's interval has < 2 degrees of freedom


def _interval_trim(totals: np.ndarray, trimmed: Trimmed, settings: Settings) -> Trimmed:
    """The trim the interval is computed on: the score's own from five sheets on; below five, none.

    The Tukey–McLaughlin interval of a median of three has no degree of freedom (and of four, one); the t interval
    of all the sheets is defined and is wide exactly when one sheet is far off, so a 3- or 4-sheet panel with an
    extreme sheet stays CONDITIONAL instead of being recommended on its median alone.
    """
    if settings.min_panel >= INTERVAL_MIN_TRIM:
        return trimmed
    return olympic_trim(totals, INTERVAL_MIN_TRIM, settings.trim == "olympic")


def _priority_criteria(problem: Problem) -> list[int]:
    """Column indices of the priority criteria, priority 1 first."""
    ranked = [(criterion.priority, column) for column, criterion in enumerate(problem.template.criteria)
              if criterion.priority > 0]
    return [column for _, column in sorted(ranked)]


def _tie_breakers(problem: Problem, numbers: dict[str, np.ndarray]) -> np.ndarray:
    columns = [np.round(numbers["criteria"][:, column], 2) for column in _priority_criteria(problem)]
    columns.append(np.round(numbers["median"], 2))
    columns.append(np.round(numbers["mean"], 2))            # below five sheets the score is the median itself
    return np.column_stack(columns)


@dataclass(frozen=True)
class _Rows:
    """Every per-application input of the result lines, converted once to Python values (lists indexed by row),
    so that the per-line work is only what differs per line: sentences and traces."""

    scored: list[bool]
    numbers: dict[str, list]
    ranks: list[int]
    tied: list[bool]
    decided_by: list[int]
    tie_break_notes: dict[int, tuple[str, str]]
    peers: dict[int, list[str]]
    outlier_rows: set[int]
    criterion_flags: dict[int, list[Flag]]
    failure_rows: set[int]
    diagnostics: list[list[TestStep]] | None


def _rows(problem: Problem, panels: Panels, status: np.ndarray, numbers: dict[str, np.ndarray], ranking: Ranking,
          decisions: Decisions | None, outliers: _Outliers | None) -> _Rows:
    settings = problem.settings
    scored = status != INSUFFICIENT
    as_lists = {key: value.tolist() for key, value in numbers.items() if value is not None}
    as_lists["interval_known"] = (~np.isnan(numbers["interval"]).any(axis=1)).tolist()
    peers: dict[int, list[str]] = {}
    for row in np.flatnonzero(ranking.tied).tolist():
        peers.setdefault(int(ranking.ranks[row]), []).append(panels.applications[row])
    outlier_rows, criterion_flags = set(), {}
    if outliers is not None and settings.outliers:
        flagged = _robust_mask(outliers, settings) | _deviation_mask(outliers, settings)
        outlier_rows = set(np.flatnonzero(flagged.any(axis=1) & scored).tolist())
    if outliers is not None and settings.criterion_flags and len(panels.criteria) > 1:  # one criterion is the total
        criterion_flags = _criterion_flags(problem, panels, outliers, scored)
    failure_rows = set()
    if decisions is not None:
        failed = (decisions.veto_failed | decisions.gate_failed).any(axis=1)
        failure_rows = set(np.flatnonzero(failed & scored).tolist())
    diagnostics = (diagnostic_steps(panels.totals, settings.diagnostics_alpha, settings.diagnostics_alpha == 0.05)
                   if settings.diagnostics else None)      # Dixon's table is for α = 0.05 only
    decided_by = ranking.decided_by.tolist()
    return _Rows(scored.tolist(), as_lists, ranking.ranks.tolist(), ranking.tied.tolist(), decided_by,
                 _tie_break_notes(problem, {key for key in decided_by if key > 0}), peers, outlier_rows, criterion_flags,
                 failure_rows, diagnostics)


def _robust_mask(outliers: _Outliers, settings: Settings) -> np.ndarray:
    return np.abs(np.nan_to_num(outliers.z)) > settings.robust_z


def _application_results(problem: Problem, panels: Panels, status: np.ndarray, trimmed: Trimmed,
                         numbers: dict[str, np.ndarray], ranking: Ranking, decisions: Decisions | None,
                         calibration: Calibration | None, adjusted: np.ndarray | None,
                         outliers: _Outliers | None) -> list[ApplicationResult]:
    """The ranking's lines, in row order: every array is converted once, then each line is assembled."""
    rows = _rows(problem, panels, status, numbers, ranking, decisions, outliers)
    slot_sheets = panels.sheet_index.tolist()
    statuses = slot_statuses(trimmed.kept, trimmed.low, trimmed.high).tolist()
    totals = sheet_totals(panels.scores).tolist()
    scores = panels.scores.tolist()
    adjusted_rows = None if adjusted is None else adjusted.tolist()
    calibrated = None if calibration is None else calibration.values.tolist()
    recommendations = None if decisions is None else decisions.recommendation.tolist()
    counts = panels.counts.tolist()
    return [_application_result(problem, panels, row, int(status[row]), counts[row], rows, trimmed_row, scores[row],
                                None if adjusted_rows is None else adjusted_rows[row],
                                None if calibrated is None else calibrated[row],
                                None if recommendations is None else recommendations[row], decisions, outliers)
            for row, trimmed_row in enumerate(zip(slot_sheets, statuses, totals, strict=True))]


def _application_result(problem: Problem, panels: Panels, row: int, state: int, n: int, rows: _Rows,
                        slots: tuple[list[int], list[int], list[float]], slot_scores: list[list[float]],
                        adjusted: list[float] | None, calibrated: float | None, recommendation: str | None,
                        decisions: Decisions | None, outliers: _Outliers | None) -> ApplicationResult:
    """One line of the ranking (application ``row``): its numbers, flags, diagnostics and trace."""
    settings = problem.settings
    application = panels.applications[row]
    scored = rows.scored[row]
    numbers = rows.numbers
    flags = _panel_flags(state, n, settings)
    if row in rows.outlier_rows:
        flags += _outlier_flags(panels, outliers, row, settings)
    if row in rows.criterion_flags:
        flags += rows.criterion_flags[row]
    if rows.tied[row]:
        rank = rows.ranks[row]
        flags.append(sentences.tie(rank, [other for other in rows.peers[rank] if other != application]))
    if row in rows.failure_rows:
        flags += _criterion_failures(problem, decisions, row, numbers["criteria"][row], settings)
    slot_sheets, statuses, totals = slots
    traces = sheet_traces(problem.sheets, panels.criteria, slot_sheets, statuses, totals, slot_scores, adjusted,
                          panels.excluded[application])
    score = numbers["score"][row] if scored else None
    zh, en = computation(traces, score, n, settings.insufficient_below, settings.min_panel,
                         settings.trim == "olympic", adjusted is not None)
    if rows.decided_by[row] > 0 and not rows.tied[row]:
        note_zh, note_en = rows.tie_break_notes[rows.decided_by[row]]
        zh, en = zh + note_zh, en + note_en
    interval = numbers["interval"][row]
    graded = settings.grades if settings.grades is not None else problem.template.kind in GRADED_KINDS
    return ApplicationResult(
        application=application,
        rank=rows.ranks[row] if scored else None,
        score=score,
        median=numbers["median"][row] if scored else None,
        mean=numbers["mean"][row] if scored else None,
        interval=(round(interval[0], 4), round(interval[1], 4))
        if scored and numbers["interval_known"][row] else None,
        rank_interval=tuple(numbers["rank_interval"][row]) if scored and settings.bootstrap > 0 else None,
        p_top_k=round(numbers["p_top_k"][row], 4) if scored and "p_top_k" in numbers else None,
        n=n,
        criteria=dict(zip(panels.criteria, numbers["criteria"][row], strict=True)) if scored else {},
        calibrated=round_half_up(calibrated) if calibrated is not None and not math.isnan(calibrated) else None,
        recommendation=recommendation,
        grade=grade(score)[0] if graded and score is not None else None,
        flags=tuple(flags),
        diagnostics=(tuple(sentences.diagnostic(step, panels.experts[row, step.index])
                           for step in rows.diagnostics[row]) if scored and rows.diagnostics is not None else ()),
        trace=make_trace(traces, (zh, en)),
    )


def _panel_flags(state: int, n: int, settings: Settings) -> list[Flag]:
    if state == INSUFFICIENT:
        return [sentences.insufficient(n, settings.insufficient_below)]
    if state == SMALL:
        return [sentences.small_panel(n, settings.min_panel, max(SMALL_BELOW, settings.min_panel))]
    return []


def _deviation_mask(outliers: _Outliers, settings: Settings) -> np.ndarray:
    if settings.deviation is None:
        return np.zeros(outliers.relative.shape, dtype=bool)
    return np.abs(np.nan_to_num(outliers.relative)) >= settings.deviation


def _outlier_flags(panels: Panels, outliers: _Outliers, row: int, settings: Settings) -> list[Flag]:
    """ROBUST and DEVIATION flags on the raw totals of one application, in slot order.

    A sheet both flags catch is put back to its expert (level ``act``); one caught by a single flag is shown
    for information: far from the others but inside the panel's own spread, or unusual against a tight panel
    by a few points only. With ``deviation`` off, ROBUST alone acts.
    """
    z, relative = np.nan_to_num(outliers.z[row]), np.nan_to_num(outliers.relative[row])
    robust = np.abs(z) > settings.robust_z
    deviating = (np.abs(relative) >= settings.deviation if settings.deviation is not None
                 else np.zeros_like(robust))
    act = robust & (deviating | (settings.deviation is None))
    result = []
    for slot in np.flatnonzero(robust | deviating):
        expert, total = panels.experts[row, slot], float(panels.totals[row, slot])
        level = ACT if act[slot] else INFO
        if robust[slot]:
            result.append(sentences.robust(expert, total, float(z[slot]), float(outliers.median[row]),
                                           settings.robust_z, level))
        if deviating[slot]:
            result.append(sentences.deviation(expert, total, float(outliers.others[row, slot]),
                                              float(relative[slot]), settings.deviation, level))
    return result


def _criterion_flags(problem: Problem, panels: Panels, outliers: _Outliers, scored: np.ndarray) -> dict[int, list[Flag]]:
    """The modified z on each criterion, as information: the flags of every scored row with any, by row, each
    row's in criterion then slot order."""
    flagged = (np.abs(np.nan_to_num(outliers.criterion_z)) > problem.settings.robust_z) & scored[:, None, None]
    rows, columns, slots = np.nonzero(flagged)                                 # row, then criterion, then slot
    criteria = problem.template.criteria
    result: dict[int, list[Flag]] = {}
    for row, column, expert, points, z, median in zip(
            rows.tolist(), columns.tolist(), panels.experts[rows, slots].tolist(),
            panels.scores[rows, slots, columns].tolist(), outliers.criterion_z[rows, columns, slots].tolist(),
            outliers.criterion_median[rows, columns].tolist(), strict=True):
        result.setdefault(row, []).append(sentences.criterion_robust(expert, criteria[column], points, z, median))
    return result


def _criterion_failures(problem: Problem, decisions: Decisions, row: int, means: list[float],
                        settings: Settings) -> list[Flag]:
    result = []
    for column, criterion in enumerate(problem.template.criteria):
        if decisions.veto_failed[row, column]:
            result.append(sentences.veto(criterion, float(means[column]), settings.veto_fraction))
        elif decisions.gate_failed[row, column]:
            result.append(sentences.gate(criterion, float(means[column]), settings.gate))
    return result


def _tie_break_notes(problem: Problem, keys: set[int]) -> dict[int, tuple[str, str]]:
    """What the computation sentence adds when tie-break key ``key`` (1-based) separated two equal scores, per
    key used (the sentences are the same on every line that key decided)."""
    priority = _priority_criteria(problem)
    notes = {}
    for key in keys:
        if key <= len(priority):
            criterion = problem.template.criteria[priority[key - 1]]
            notes[key] = (f"；与同分申报书按优先指标「{criterion.name}」的平均分区分",
                          f"; separated from an equal score by the priority criterion "
                          f"'{criterion.name_en or criterion.id}'")
        elif key == len(priority) + 1:
            notes[key] = "；与同分申报书按专家总分的中位数区分", "; separated from an equal score by the median total"
        else:
            notes[key] = ("；与同分申报书按全部专家总分的平均分区分",
                          "; separated from an equal score by the mean of all totals")
    return notes


def _expert_results(problem: Problem, experts: _Experts, calibration: Calibration | None) -> tuple[ExpertResult, ...]:
    settings = problem.settings
    counts = np.bincount(experts.slot_index[experts.slot_index >= 0], minlength=len(experts.refs))
    results = []
    for index, ref in enumerate(experts.refs):
        n = int(counts[index])
        bias, raw, flags = None, None, ()
        if calibration is not None:
            bias = round(float(calibration.biases[index]), 4)
            raw = round(float(calibration.raw_biases[index]), 4)
            if n < settings.min_support:
                flags = (sentences.low_support(ref, n, settings.min_support),)
        results.append(ExpertResult(ref, n, bias, flags, raw))
    return tuple(results)
