"""The ranking of a round as a file: Excel (排名 and 评分明细 sheets), CSV (the ranking table) or JSON (the engine's
result). Headers are Chinese, numbers stay numbers, and no personal data (phones, e-mails, ID numbers) is written.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import xlsxwriter

from web.io.cells import inert
from web.services.ranking import RoundRanking

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RANKING_FORMATS = (".xlsx", ".csv", ".json")
RANKING_SHEET, DETAIL_SHEET = "排名", "评分明细"
RECOMMENDATIONS = {"RECOMMEND": "推荐", "CONDITIONAL": "有条件推荐（待议或现场考察）", "RESERVE": "备选",
                   "REJECT": "不推荐"}
OPINIONS = {"recommend": "推荐", "conditional": "有条件推荐", "reject": "不推荐"}
SHEET_STATES = {"draft": "草稿", "submitted": "已提交", "reopened": "已退回修改"}
STATUSES = {"used": "计入", "trimmed": "去掉（最高/最低分）", "unused": "未计分（评分表不足）", "excluded": "排除",
            "not_counted": "未计入（未提交）", "not_ranked": "未排名（评分引擎拒绝计算）"}
RANKING_HEADERS = ("排名", "申报书编号", "中心名称", "得分", "区间下限", "区间上限", "排名区间下限", "排名区间上限",
                   "进入前k名概率", "校准后得分", "推荐意见", "等级", "有效评分表数", "中位数", "平均数", "标记")


def ranking_rows(report: RoundRanking) -> list[list]:
    """One row per application, in ranking order, under :data:`RANKING_HEADERS`."""
    rows = []
    for line in report.lines:
        result = line.result
        if result is None:
            rows.append([None, line.application.ref, line.application.center_name] + [None] * 9 + [0, None, None,
                                                                                                   "无已提交的评分表"])
            continue
        interval = result.interval or (None, None)
        rank_interval = result.rank_interval or (None, None)
        rows.append([result.rank, line.application.ref, line.application.center_name, result.score, *interval,
                     *rank_interval, result.p_top_k, result.calibrated,
                     RECOMMENDATIONS.get(result.recommendation, result.recommendation), result.grade, result.n,
                     result.median, result.mean, "\n".join(flag.message for flag in result.flags)])
    return rows


def detail_headers(report: RoundRanking) -> list[str]:
    """Application and expert, each criterion's points (with its maximum), total, opinion, comments."""
    criteria = report.criteria
    return (["申报书编号", "中心名称", "专家编号", "专家姓名", "专家类别", "评分表状态", "计分情况", "说明"]
            + [f"{criterion.name}（{criterion.max:g}分）" for criterion in criteria]
            + ["总分", "总体意见", "评审意见"] + [f"{criterion.name} 评语" for criterion in criteria])


def detail_rows(report: RoundRanking) -> list[list]:
    """One row per sheet (every state, so the organizer sees what is missing), grouped by application."""
    rows = []
    for line in report.lines:
        for row in line.rows:
            sheet, scores, comments = row.sheet, row.scores, row.comments
            rows.append([line.application.ref, line.application.center_name, sheet.expert.ref, sheet.expert.name,
                         sheet.expert.pool, SHEET_STATES.get(sheet.state, sheet.state),
                         STATUSES.get(row.status, row.status), row.reason or None]
                        + [scores.get(criterion.code) for criterion in report.criteria]
                        + [sheet.total if sheet.scores else None, OPINIONS.get(sheet.opinion, sheet.opinion),
                           sheet.comment or None]
                        + [comments.get(criterion.code) for criterion in report.criteria])
    return rows


def ranking_workbook(report: RoundRanking) -> bytes:
    """The .xlsx file: 排名 (the ranking) and 评分明细 (every sheet's criterion scores and comments).

    Written with XlsxWriter, which streams cells straight into the file (openpyxl builds a cell object per value
    first and took most of the export's time); see docs/performance.md.
    """
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    header = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    _fill(workbook.add_worksheet(RANKING_SHEET), header, list(RANKING_HEADERS), ranking_rows(report))
    _fill(workbook.add_worksheet(DETAIL_SHEET), header, detail_headers(report), detail_rows(report))
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
    writer.writerow(RANKING_HEADERS)
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
