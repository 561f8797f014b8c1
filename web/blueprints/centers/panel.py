"""The indicator panel experts see beside an annual or triennial sheet: the table and its chart."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import Markup

from scoring.indicators import trends
from web.io.charts import grouped_bars
from web.models import Application, Center, Round
from web.services.assessments import GRADE_LABELS, annual_scores, grade_code, window
from web.services.centers import (
    INDICATOR_LABELS,
    KEY_INDICATORS,
    WEB_CODES,
    CenterError,
    IndicatorHistory,
    completions,
    engine_report,
    indicator_history,
    report_of,
)


@dataclass(frozen=True)
class IndicatorPanel:
    """The history, its labels and the chart of the key market measures."""

    history: IndicatorHistory
    labels: dict
    chart: Markup
    completions: list[dict[str, float | None]]     # per year of the history: code → actual / target
    annual: tuple[tuple[int, float | None, str | None], ...] = ()   # triennial rounds: (year, score, grade)
    slopes: dict[str, float | None] | None = None   # code → the engine's least-squares change per year
    annual_refused: tuple[str, ...] = ()            # why ``annual`` is missing: a round too large to rank here


def indicator_panel(application: Application, round_: Round) -> IndicatorPanel | None:
    """The panel for ``application`` in ``round_``, or None outside evaluation rounds and for non-centers."""
    history = indicator_history(application, round_)
    if history is None:
        return None
    rows = {code: (target, values) for code, target, values in history.rows}
    groups = [(str(INDICATOR_LABELS[code]), rows[code][0],
               [(str(year), value) for year, value in zip(history.years, rows[code][1], strict=True)])
              for code in KEY_INDICATORS]
    chart = Markup(grouped_bars(_("Key market indicators by year, against the yearly target"), groups))
    reports = [report_of(history.center, year) for year in history.years]
    annual, refused = annual_evaluations(application, round_) if round_.kind == "triennial" else ((), ())
    return IndicatorPanel(history, INDICATOR_LABELS, chart,
                          [completions(history.center, report) if report else {} for report in reports], annual,
                          slopes(history), refused)


def annual_evaluations(application: Application, round_: Round) -> tuple[tuple, tuple[str, ...]]:
    """A triennial round's annual evaluations of ``application`` (year, score, grade) and no refusal; or none and
    why, when an annual round of its window is too large to rank here (the sheet page is shown all the same)."""
    try:
        scores = annual_scores(application, window(round_))
    except CenterError as error:
        return (), tuple(error.reasons)
    return tuple((item.year, item.score, None if item.score is None else str(GRADE_LABELS[grade_code(item.score)]))
                 for item in scores), ()


def slopes(history: IndicatorHistory) -> dict[str, float | None]:
    """Each indicator's trend over the years shown, by the engine: the least-squares change per year (None with
    fewer than two years reported)."""
    reports = [engine_report(history.center, report.year, report.values()) for report in history.center.reports]
    return {WEB_CODES.get(line.code, line.code): line.slope for line in trends(reports, history.years)}


def center_chart(center: Center) -> Markup:
    """The key market measures of every year the center reported, against its yearly targets."""
    groups = [(str(INDICATOR_LABELS[code]), center.target(code),
               [(str(report.year), getattr(report, code)) for report in center.reports]) for code in KEY_INDICATORS]
    return Markup(grouped_bars(_("Key market indicators by year, against the yearly target"), groups))
