"""The ranking of a round as a file: Excel (排名 and 评分明细 sheets), CSV (the ranking table) or JSON (the engine's
result). Headers and values are words of the catalog (Chinese unless the reader chose English), codes are not
written, numbers stay numbers, and no personal data (phones, e-mails, ID numbers) is written.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import xlsxwriter
from flask_babel import lazy_gettext as _l

from web.io.cells import inert
from web.labels import label
from web.local_time import local_time
from web.services.ranking import RoundRanking

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RANKING_FORMATS = (".xlsx", ".csv", ".json")
RANKING_SHEET, DETAIL_SHEET = _l("Ranking"), _l("Score details")
RECOMMENDATIONS = {"RECOMMEND": _l("Recommend"), "CONDITIONAL": _l("Conditional (discuss or inspect on site)"),
                   "RESERVE": _l("Reserve"), "REJECT": _l("Do not recommend")}
OPINIONS = {"recommend": _l("Recommend"), "conditional": _l("Recommend with conditions"),
            "reject": _l("Do not recommend")}
SHEET_STATES = {"draft": _l("Draft"), "submitted": _l("Submitted"), "reopened": _l("Sent back for revision")}
STATUSES = {"used": _l("Counted"), "trimmed": _l("Dropped (highest/lowest total)"),
            "unused": _l("Not scored (too few sheets)"), "excluded": _l("Excluded"),
            "not_counted": _l("Not counted (not submitted)"), "not_ranked": _l("Not ranked (the engine refused the round)")}
RANKING_HEADERS = (_l("Place in the ranking"), _l("Application ref"), _l("Center name"), _l("Score"), _l("Interval low"),
                   _l("Interval high"), _l("Rank interval low"), _l("Rank interval high"),
                   _l("Probability of the top k"), _l("Calibrated score"), _l("Recommendation"), _l("Grade"),
                   _l("Valid sheets"), _l("Median"), _l("Mean"), _l("Flags"))


def ranking_rows(report: RoundRanking) -> list[list]:
    """One row per application, in ranking order, under :data:`RANKING_HEADERS`."""
    rows = []
    for line in report.lines:
        result = line.result
        if result is None:
            rows.append([None, line.application.ref, line.application.center_name] + [None] * 9
                        + [0, None, None, str(_l("No submitted score sheet"))])
            continue
        interval = result.interval or (None, None)
        rank_interval = result.rank_interval or (None, None)
        rows.append([result.rank, line.application.ref, line.application.center_name, result.score, *interval,
                     *rank_interval, result.p_top_k, result.calibrated,
                     text(RECOMMENDATIONS.get(result.recommendation, result.recommendation)), result.grade, result.n,
                     result.median, result.mean, "\n".join(flag.message for flag in result.flags)])
    return rows


def detail_headers(report: RoundRanking) -> list[str]:
    """Application and expert, each criterion's points (with its maximum), total, opinion, comments, when submitted."""
    criteria = report.criteria
    return ([str(header) for header in (_l("Application ref"), _l("Center name"), _l("Expert ref"),
                                        _l("Expert name"), _l("Expert pool"), _l("Sheet state"), _l("Counted as"),
                                        _l("Note"))]
            + [str(_l("%(criterion)s (%(max)s points)", criterion=criterion.name, max=f"{criterion.max:g}"))
               for criterion in criteria]
            + [str(_l("Total score")), str(_l("Overall opinion")), str(_l("Review comment"))]
            + [str(_l("%(criterion)s comment", criterion=criterion.name)) for criterion in criteria]
            + [str(_l("Submitted at"))])


def detail_rows(report: RoundRanking) -> list[list]:
    """One row per sheet (every state, so the organizer sees what is missing), grouped by application."""
    rows = []
    for line in report.lines:
        for row in line.rows:
            sheet, scores, comments = row.sheet, row.scores, row.comments
            rows.append([line.application.ref, line.application.center_name, sheet.expert.ref, sheet.expert.name,
                         label(sheet.expert.pool, "pool"), text(SHEET_STATES.get(sheet.state, sheet.state)),
                         text(STATUSES.get(row.status, row.status)), str(row.reason) if row.reason else None]
                        + [scores.get(criterion.code) for criterion in report.criteria]
                        + [sheet.total if sheet.scores else None, text(OPINIONS.get(sheet.opinion, sheet.opinion)),
                           sheet.comment or None]
                        + [comments.get(criterion.code) for criterion in report.criteria]
                        + [local_time(sheet.submitted_at, empty=None)])
    return rows


def text(value: object) -> str | None:
    """A label (a lazy catalog string) or code as the cell's text; None stays an empty cell."""
    return None if value is None else str(value)


def ranking_workbook(report: RoundRanking) -> bytes:
    """The .xlsx file: 排名 (the ranking) and 评分明细 (every sheet's criterion scores and comments).

    Written with XlsxWriter, which streams cells straight into the file (openpyxl builds a cell object per value
    first and took most of the export's time); see docs/performance.md.
    """
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    header = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    _fill(workbook.add_worksheet(str(RANKING_SHEET)), header, [str(title) for title in RANKING_HEADERS],
          ranking_rows(report))
    _fill(workbook.add_worksheet(str(DETAIL_SHEET)), header, detail_headers(report), detail_rows(report))
    workbook.close()
    return buffer.getvalue()


def _fill(sheet, header, headers: list[str], rows: list[list]) -> None:
    for column, title in enumerate(headers):
        sheet.write_string(0, column, title, header)
        sheet.set_column(column, column, min(max(8, len(title) * 2 + 2), 40))
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            _write(sheet, number, column, value)
    sheet.freeze_panes(1, 0)


def _write(sheet, row: int, column: int, value) -> None:
    """One cell by the type of its value: text always as text, so an expert's comment "=HYPERLINK(…)" can never
    become a formula; numbers as numbers; nothing for None."""
    if value is None:
        return
    if isinstance(value, str):
        sheet.write_string(row, column, value)
    elif isinstance(value, bool):
        sheet.write_boolean(row, column, value)
    else:
        sheet.write_number(row, column, value)


def ranking_csv(report: RoundRanking) -> bytes:
    """The ranking table as CSV, UTF-8 with BOM so Excel opens the Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(header) for header in RANKING_HEADERS])
    writer.writerows([[inert(value) for value in row] for row in ranking_rows(report)])
    return buffer.getvalue().encode("utf-8-sig")


def ranking_json(report: RoundRanking) -> bytes:
    """The engine's result (DESIGN §10) with the round and the center names."""
    data = {"round": {"id": report.round.id, "name": report.round.name, "kind": report.round.kind},
            "center_names": {line.application.ref: line.application.center_name for line in report.lines},
            **report.result.to_dict()}
    return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")


def write_ranking(report: RoundRanking, path: Path) -> None:
    """Write the ranking to ``path`` in the format its suffix names (.xlsx, .csv or .json)."""
    writers = {".xlsx": ranking_workbook, ".csv": ranking_csv, ".json": ranking_json}
    suffix = path.suffix.lower()
    if suffix not in writers:
        raise ValueError(f"{path}: give a path ending in one of {', '.join(RANKING_FORMATS)}")
    path.write_bytes(writers[suffix](report))
