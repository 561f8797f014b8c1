"""The panels as arrays, and the panel-size rule (DESIGN §7.1 step 2).

Every later step works on all applications at once on these NaN-padded matrices. Applications are in reference
order and each row's sheets are left-aligned in (total, expert reference) order, so that results depend on the
sheets given, not on the order they were listed in. Sheets of excluded experts are left out of the matrices and
kept in ``excluded`` for the trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from operator import itemgetter

import numpy as np

from .types import Problem, Settings

NORMAL, SMALL, INSUFFICIENT = 0, 1, 2


@dataclass(frozen=True)
class Panels:
    """The used sheets of every application as matrices.

    Attributes
    ----------
    applications : tuple of str, length A
    criteria : tuple of str, length C
    experts : ndarray of object, shape (A, N)
        Expert reference in each slot, None in empty slots.
    sheet_index : ndarray of int, shape (A, N)
        Position of the slot's sheet in ``problem.sheets``, -1 in empty slots.
    scores : ndarray of float, shape (A, N, C)
        Points per criterion, NaN in empty slots.
    totals : ndarray of float, shape (A, N)
        Expert totals, NaN in empty slots.
    confidence : ndarray of float, shape (A, N)
        Sheet confidence, 0 in empty slots.
    excluded : dict of str to list of (int, str)
        Per application, the sheet positions left out and why.
    """

    applications: tuple[str, ...]
    criteria: tuple[str, ...]
    experts: np.ndarray
    sheet_index: np.ndarray
    scores: np.ndarray
    totals: np.ndarray
    confidence: np.ndarray
    excluded: dict[str, list[tuple[int, str]]]

    @cached_property
    def counts(self) -> np.ndarray:
        """Used sheets per application, shape (A,)."""
        return (self.sheet_index >= 0).sum(axis=1)

    @cached_property
    def present(self) -> np.ndarray:
        """True in filled slots, shape (A, N)."""
        return self.sheet_index >= 0


def build_panels(problem: Problem) -> Panels:
    """Arrange a validated problem's sheets into :class:`Panels`."""
    criteria = tuple(criterion.id for criterion in problem.template.criteria)
    reasons = {(item.expert, item.application): item.reason or "回避" for item in problem.excluded}
    applications = tuple(sorted({sheet.application for sheet in problem.sheets}))
    excluded: dict[str, list[tuple[int, str]]] = {ref: [] for ref in applications}
    used = []
    for index, sheet in enumerate(problem.sheets):
        reason = reasons.get((sheet.expert, sheet.application))
        if reason is None:
            used.append(index)
        else:
            excluded[sheet.application].append((index, reason))
    used = np.array(used, dtype=int)
    sheets = [problem.sheets[index] for index in used]
    pick = itemgetter(*criteria) if len(criteria) > 1 else lambda scores: (scores[criteria[0]],)
    scores = np.array([pick(sheet.scores) for sheet in sheets], dtype=float).reshape(len(sheets), len(criteria))
    totals = scores.sum(axis=1)
    row_of = {ref: row for row, ref in enumerate(applications)}
    rows = np.array([row_of[sheet.application] for sheet in sheets], dtype=int)
    expert_refs = np.array([sheet.expert for sheet in sheets], dtype=object)
    order = np.lexsort((expert_refs.astype(str), totals, rows)) if len(sheets) else np.array([], dtype=int)
    rows, used, scores, totals, expert_refs = rows[order], used[order], scores[order], totals[order], expert_refs[order]
    slots = _position_in_group(rows)
    width = int(slots.max()) + 1 if len(slots) else 1      # one empty column keeps reductions defined
    shape = (len(applications), width)
    sheet_index = np.full(shape, -1, dtype=int)
    sheet_index[rows, slots] = used
    experts = np.full(shape, None, dtype=object)
    experts[rows, slots] = expert_refs
    score_matrix = np.full(shape + (len(criteria),), np.nan)
    score_matrix[rows, slots] = scores
    total_matrix = np.full(shape, np.nan)
    total_matrix[rows, slots] = totals
    confidence = np.zeros(shape)
    confidence[rows, slots] = [float(problem.sheets[index].confidence) for index in used]
    return Panels(applications, criteria, experts, sheet_index, score_matrix, total_matrix, confidence, excluded)


def _position_in_group(sorted_groups: np.ndarray) -> np.ndarray:
    """0, 1, 2, … within each run of equal values of a sorted array, shape (S,) → (S,)."""
    if sorted_groups.size == 0:
        return sorted_groups.copy()
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    run_lengths = np.diff(np.r_[starts, sorted_groups.size])
    return np.arange(sorted_groups.size) - np.repeat(starts, run_lengths)


SMALL_BELOW = 5  # fewer sheets than this is a small panel (DESIGN §7.1 step 2), whatever the trim rule


def panel_status(counts: np.ndarray, settings: Settings) -> np.ndarray:
    """NORMAL (n ≥ 5 and n ≥ min_panel), SMALL (insufficient_below ≤ n below that) or INSUFFICIENT
    (n < insufficient_below, no score) for each application, shape (A,) → (A,).

    A small panel is still trimmed when n ≥ min_panel (three sheets by default: the score is then their median);
    SMALL only tells the reader that the score rests on few sheets.
    """
    small_below = max(SMALL_BELOW, settings.min_panel)
    return np.where(counts >= small_below, NORMAL,
                    np.where(counts >= settings.insufficient_below, SMALL, INSUFFICIENT))
