"""The trace of one application (DESIGN §7: every number on the ranking page can be traced back to its sheets):
which sheets were used, trimmed or excluded and why, and the computation of the ranking number in words."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .flags import number
from .types import Sheet, SheetTrace, Trace

STATUSES = (("used", ""), ("trimmed", "lowest_dropped"), ("trimmed", "highest_dropped"),
            ("unused", "too_few_sheets"))
"""What happened to a slot's sheet, by the codes of :func:`slot_statuses`."""


def slot_statuses(kept: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Each slot's index into ``STATUSES``: used when kept, else dropped as lowest, else as highest, else unused
    (too few sheets), shape (A, N).

    Parameters
    ----------
    kept : ndarray of bool, shape (A, N)
    low, high : ndarray of int, shape (A,)
        Slots dropped as lowest and highest, -1 if none.
    """
    slots = np.arange(kept.shape[1])
    codes = np.full(kept.shape, 3)
    codes[slots == high[:, None]] = 2
    codes[slots == low[:, None]] = 1
    codes[kept] = 0
    return codes


def sheet_totals(scores: np.ndarray) -> np.ndarray:
    """Each slot's total added up in criterion order, as ``sum()`` of its scores gives it (to the last bit; the
    panel matrices' totals may be summed in another order), shape (A, N, C) → (A, N)."""
    if scores.shape[2] == 0:
        return np.zeros(scores.shape[:2])
    return np.add.accumulate(scores, axis=2)[:, :, -1] + 0.0                # + 0.0: sum() starts from 0


def sheet_traces(sheets: Sequence[Sheet], criteria: Sequence[str], slot_sheets: Sequence[int],
                 statuses: Sequence[int], totals: Sequence[float], slot_scores: Sequence[Sequence[float]],
                 adjusted: Sequence[float] | None, excluded: Sequence[tuple[int, str]]) -> tuple[SheetTrace, ...]:
    """Every sheet of one application, in slot order then the excluded ones.

    Parameters
    ----------
    sheets : the problem's sheets
    criteria : criterion ids
    slot_sheets : sequence of int, length N
        Sheet position per slot, -1 for empty slots.
    statuses : sequence of int, length N
        Each slot's index into ``STATUSES`` (:func:`slot_statuses`).
    totals : sequence of float, length N
        Each slot's total (:func:`sheet_totals`).
    slot_scores : sequence of N sequences of C floats
        Each slot's scores in criterion order.
    adjusted : sequence of float, length N, optional
        Bias-adjusted totals when the ranking uses calibrated totals.
    excluded : (sheet position, reason) pairs
    """
    traces = [SheetTrace(sheets[index].expert, totals[slot], *STATUSES[statuses[slot]],
                         dict(zip(criteria, slot_scores[slot], strict=True)),
                         None if adjusted is None else round(float(adjusted[slot]), 4))
              for slot, index in enumerate(slot_sheets) if index >= 0]
    traces += [SheetTrace(sheets[index].expert, None, "excluded", reason) for index, reason in excluded]
    return tuple(traces)


def computation(traces: Sequence[SheetTrace], score: float | None, n: int, minimum: int, min_panel: int,
                trimming: bool, calibrated: bool) -> tuple[str, str]:
    """How the score was computed, in Chinese and English, from the sheet traces."""
    excluded = sum(trace.status == "excluded" for trace in traces)
    parts_zh = [f"{n} 份有效评分表" + (f"（另有 {excluded} 份因回避或冲突未计入）" if excluded else "")]
    parts_en = [f"{n} valid sheets" + (f" ({excluded} more excluded for recusal or conflict)" if excluded else "")]
    if score is None:
        parts_zh.append(f"少于 {minimum} 份，不计分")
        parts_en.append(f"fewer than {minimum}: no score")
        return "；".join(parts_zh), "; ".join(parts_en)
    value = "adjusted_total" if calibrated else "total"
    if calibrated:
        parts_zh.append("按校准后总分（原始总分减去专家偏差）计算")
        parts_en.append("computed on calibrated totals (raw total minus the expert's bias)")
    trimmed = [trace for trace in traces if trace.status == "trimmed"]
    if trimmed:
        low, high = sorted(trimmed, key=lambda trace: getattr(trace, value))
        parts_zh.append(f"去掉最低分 {number(getattr(low, value))}（{low.expert}）和最高分 "
                        f"{number(getattr(high, value))}（{high.expert}）")
        parts_en.append(f"dropped the lowest {number(getattr(low, value))} ({low.expert}) and the highest "
                        f"{number(getattr(high, value))} ({high.expert})")
    elif trimming and n < min_panel:
        parts_zh.append(f"少于 {min_panel} 份，不去掉最高分和最低分")
        parts_en.append(f"fewer than {min_panel}: nothing dropped")
    kept = [getattr(trace, value) for trace in traces if trace.status == "used"]
    terms = " + ".join(number(item) for item in kept)
    total = number(float(np.sum(kept)), 4)
    parts_zh.append(f"其余 {len(kept)} 份平均 ({terms}) / {len(kept)} = {total} / {len(kept)} = {score:.2f}"
                    "（四舍五入到两位小数）")
    parts_en.append(f"mean of the remaining {len(kept)}: ({terms}) / {len(kept)} = {total} / {len(kept)} = "
                    f"{score:.2f} (rounded half up to 2 decimals)")
    return "；".join(parts_zh), "; ".join(parts_en)


def make_trace(traces: tuple[SheetTrace, ...], sentences: tuple[str, str]) -> Trace:
    return Trace(traces, *sentences)
