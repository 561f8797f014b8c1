"""The indicator panel experts see beside an annual or triennial sheet: the table and its chart."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import Markup

from web.io.charts import grouped_bars
from web.models import Application, Center, Round
from web.services.centers import (
    INDICATOR_LABELS,
    KEY_INDICATORS,
    IndicatorHistory,
    completions,
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
    return IndicatorPanel(history, INDICATOR_LABELS, chart,
                          [completions(history.center, report) if report else {} for report in reports])


def center_chart(center: Center) -> Markup:
    """The key market measures of every year the center reported, against its yearly targets."""
    groups = [(str(INDICATOR_LABELS[code]), center.target(code),
               [(str(report.year), getattr(report, code)) for report in center.reports]) for code in KEY_INDICATORS]
    return Markup(grouped_bars(_("Key market indicators by year, against the yearly target"), groups))
