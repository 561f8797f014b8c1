"""Centers as files: the annual-report template and its import, and the publicity list (公示名单).

Headers are Chinese, as the organizer's colleagues fill them in; a file is read whole or refused (the service
checks every row, see :func:`web.services.centers.import_reports`). The workbook is opened only within the
import limits (size, rows, unpacking) the application import uses.
"""

from __future__ import annotations

import io
import zipfile

from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from web.io.files import protect_text, sheet_rows_within, style_header, unpacking_refusal
from web.io.limits import ImportLimits
from web.models import Application, Center, Decision, Round
from web.services.centers import EvaluationRow, ReportRow

REPORT_SHEET = "年度指标"
REF_HEADER, NAME_HEADER, YEAR_HEADER = "申报书编号", "中心名称", "年度"
INDICATOR_HEADERS = {
    "contracts": "委托研发合同数", "contract_amount": "委托研发合同金额（万元）",
    "market_turnover": "技术市场交易额（万元）", "incubated_companies": "孵化企业数",
    "rd_spending": "研发投入（万元）", "patents_applied": "发明专利申请数", "patents_granted": "发明专利授权数",
    "standards_international": "主导制定国际标准数", "standards_national": "主导制定国家标准数",
    "standards_industry": "主导制定行业标准数", "first_of_kind_products": "首台套/首批次/首版次产品数",
    "rd_staff": "研发人员数", "talent_introduced": "引进人才数",
    "international_projects": "国际合作项目数", "companies_served": "服务企业数",
}
OUTCOMES = {"listed": "列入试点计划", "not_listed": "不列入", "deferred": "暂缓"}
PUBLICITY_HEADERS = ("序号", "申报书编号", "创新中心名称", "承担单位", "决定日期", "文号")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportFileError(ValueError):
    """A report file that cannot be read as the template, with the reasons."""

    def __init__(self, reasons: list[str]):
        super().__init__("\n".join(reasons))
        self.reasons = reasons


def report_template(centers: list[Center], year: int | None = None) -> bytes:
    """The import template: one row per center (ref, name, year filled in), the indicators left empty."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = REPORT_SHEET
    sheet.append([REF_HEADER, NAME_HEADER, YEAR_HEADER, *INDICATOR_HEADERS.values()])
    for center in centers:
        sheet.append([center.application.ref, center.name, year])
    style_header(sheet)
    return _saved(workbook)


def read_reports(data: bytes, limits: ImportLimits | None = None) -> list[ReportRow]:
    """The rows of a filled template; a file that is not the template is refused with every reason."""
    limits = limits or ImportLimits()
    if len(data) > limits.max_bytes:
        raise ReportFileError([_("The file is larger than the import limit.")])
    refusal = unpacking_refusal(data, limits)
    if refusal:
        raise ReportFileError([refusal])
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError):
        raise ReportFileError([_("Not a readable .xlsx workbook (an .xls file must be saved as .xlsx).")]) from None
    try:
        rows = sheet_rows_within(workbook.worksheets[0], limits)
    finally:
        workbook.close()
    if rows is None:
        raise ReportFileError([_("The file has more rows than the import limit.")])
    return _rows(rows)


def _rows(rows: list[list[object]]) -> list[ReportRow]:
    """Header checked, then one :class:`ReportRow` per non-empty row."""
    if not rows:
        raise ReportFileError([_("The file has no report rows.")])
    header = [str(cell).strip() if cell is not None else "" for cell in rows[0]]
    by_header = {label: code for code, label in INDICATOR_HEADERS.items()}
    known = {REF_HEADER, NAME_HEADER, YEAR_HEADER, *by_header}
    errors = [_("Unknown column: %(name)s.", name=name) for name in header if name and name not in known]
    errors += [_("Missing column: %(name)s.", name=name) for name in (REF_HEADER, YEAR_HEADER) if name not in header]
    if errors:
        raise ReportFileError(errors)
    result = []
    for number, cells in enumerate(rows[1:], start=2):
        cells = list(cells) + [None] * (len(header) - len(cells))
        values = dict(zip(header, cells, strict=False))
        if all(value is None or str(value).strip() == "" for value in values.values()):
            continue
        result.append(ReportRow(ref=values.get(REF_HEADER), year=values.get(YEAR_HEADER),
                                values={by_header[name]: value for name, value in values.items() if name in by_header},
                                where=_("row %(number)s", number=number)))
    return result


def publicity_workbook(listed: list[tuple[Application, Decision, Center | None]]) -> bytes:
    """The publicity list (公示名单) of the applications listed in the pilot plan."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "公示名单"
    sheet.append(list(PUBLICITY_HEADERS))
    for number, (application, decision, _center) in enumerate(listed, start=1):
        sheet.append([number, application.ref, application.center_name, application.bearer_name,
                      decision.decided_on, decision.document_no])
    style_header(sheet)
    return _saved(workbook)


def evaluation_workbook(round_: Round, rows: list[EvaluationRow], year: int) -> bytes:
    """An evaluation round's results: rank, score, grade, then every indicator of the evaluated year."""
    workbook = Workbook()
    workbook.properties.title = round_.name
    sheet = workbook.active
    sheet.title = "评估结果"
    sheet.append(["排名", REF_HEADER, NAME_HEADER, "得分", "等级", YEAR_HEADER, *INDICATOR_HEADERS.values()])
    for row in rows:
        result = row.result
        values = row.report.values() if row.report else {}
        sheet.append([getattr(result, "rank", None), row.application.ref, row.application.center_name,
                      getattr(result, "score", None), getattr(result, "grade", None), year,
                      *(values.get(code) for code in INDICATOR_HEADERS)])
    style_header(sheet)
    return _saved(workbook)


TRIENNIAL_OUTCOMES = {"recommend_national": "推荐申报国家级", "pass": "合格", "rectify": "整改", "exit": "退出"}


def triennial_workbook(round_: Round, rows: list, years: tuple[int, ...]) -> bytes:
    """A triennial round's assessments (考核结果): one sheet of every center, then one sheet per outcome list."""
    workbook = Workbook()
    workbook.properties.title = round_.name
    headers = ["申报书编号", "中心名称", "三年考核专家评分", *(f"{year}年度评估得分" for year in years),
               "年度平均分", "权重（考核/年度）", "考核结果", "考核结论"]
    sheet = workbook.active
    sheet.title = "考核结果"
    lists = {outcome: workbook.create_sheet(label) for outcome, label in TRIENNIAL_OUTCOMES.items()}
    for target in (sheet, *lists.values()):
        target.append(headers)
    for row in rows:
        assessment = row.assessment
        line = [row.application.ref, row.application.center_name,
                None if assessment is None else assessment.triennial_score,
                *(item.score for item in row.annual),
                None if assessment is None else assessment.annual_mean,
                None if assessment is None else f"{assessment.applied_triennial:g}/{assessment.applied_annual:g}",
                None if assessment is None else assessment.result,
                None if assessment is None else TRIENNIAL_OUTCOMES[assessment.outcome]]
        sheet.append(line)
        if assessment is not None:
            lists[assessment.outcome].append(line)
    for target in (sheet, *lists.values()):
        style_header(target)
    return _saved(workbook)


def _saved(workbook: Workbook) -> bytes:
    """The file's bytes, every cell of every sheet protected first: a center named "=HYPERLINK(…)" stays text in
    the report template and the triennial lists as in the others (openpyxl reads text starting with "=" as a
    formula)."""
    for sheet in workbook.worksheets:
        for cells in sheet.iter_rows():
            for cell in cells:
                protect_text(cell)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
