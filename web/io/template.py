"""The Excel import template (``panel template``): the import layout's sheets with Chinese headers, drop-down
lists for coded columns, one example row, and a 说明 (notes) sheet describing every column."""

from __future__ import annotations

from pathlib import Path

from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from web.io.files import workbook_of
from web.io.layout import Column, Sheet, layout
from web.io.tabular import records_to_tables
from web.records.schema import Leaf, Tags
from web.records.taxonomy import default_field_names

TEMPLATE_ROWS = 2000  # rows the drop-downs cover
KIND_RULES = {
    "text": "文本", "date": "日期，格式 YYYY-MM-DD", "count": "非负整数", "amount": "非负数，单位万元",
    "signed": "数值，单位万元（可为负）", "pct": "百分比，0–100", "uscc": "18位统一社会信用代码（含校验位）",
    "field": "方向领域代码或中文名称", "pool": "专家类别", "bool": "是/否", "year": "四位年份", "ref": "编号",
}
NOTES = (
    "填写说明",
    "1. 每个工作表第一行为列名，请勿修改；中文列名与英文键名（如 bearer.uscc）均可识别。",
    "2. 第二行为示例，请覆盖或删除后再导入。",
    "3. 日期格式 YYYY-MM-DD；金额单位为万元；百分比填 0–100 的数字。",
    "4. 多选项（如预期成果类型）在一个单元格内用逗号分隔。",
    "5. 明细表（成员单位、股东、附件等）用“编号”列指向主表的记录；成员单位的明细（经营数据、主要股东、团队成员）"
    "再用“成员单位序号”指向成员单位表中的序号。",
    "6. 导入为全部成功或全部不导入：任何一处错误都会列出，数据库不作任何修改。",
)


def example_records(kind: str) -> list[dict]:
    """One plausible, valid example record of ``kind``, taken from the demo data set."""
    from web.demo import validated_demo

    demo = validated_demo(applications=20, experts=20)
    return [demo.applications[0]] if kind == "applications" else [demo.experts[0]]


def options_of(column: Column, fields: dict[str, str]) -> list[str] | None:
    """The drop-down entries of a column, or None when it is free input."""
    node = column.node
    if isinstance(node, Leaf):
        if node.choices:
            return list(node.choices.values())
        if node.kind == "field":
            return list(fields.values())
        if node.kind == "bool":
            return ["是", "否"]
    return None


def rule_of(column: Column, fields: dict[str, str]) -> str:
    """What a column accepts, in Chinese, for the notes sheet."""
    node = column.node
    if node is None:
        return "指向主表记录的编号" if column.path == ("ref",) else "成员单位在本申报书中的序号（1, 2, …）"
    if isinstance(node, Tags):
        values = "、".join(node.choices.values()) if node.choices else KIND_RULES.get(node.kind, "")
        limit = f"，最多{node.max_items}项" if node.max_items else ""
        return f"多选，逗号分隔：{values}{limit}"
    rule = "、".join(node.choices.values()) if node.choices else KIND_RULES[node.kind]
    if node.kind == "field":
        rule += "：" + "、".join(f"{code} {name}" for code, name in fields.items())
    if node.max_length:
        rule += f"，不超过{node.max_length}字"
    if node.kinds:
        rule += "（仅" + "、".join({"enterprise": "企业", "institute": "高校/科研院所"}[k] for k in node.kinds) + "填写）"
    return rule


def add_drop_downs(workbook, sheet: Sheet, fields: dict[str, str], lists: list[list[str]]) -> None:
    """Attach a list validation to every coded column, its entries kept on the 选项 sheet."""
    worksheet = workbook[sheet.name]
    for position, column in enumerate(sheet.columns, start=1):
        options = options_of(column, fields)
        if not options:
            continue
        lists.append([column.header, *options])
        letter = get_column_letter(len(lists))
        source = f"{quote_sheetname('选项')}!${letter}$2:${letter}${len(options) + 1}"
        validation = DataValidation(type="list", formula1=source, allow_blank=True, showErrorMessage=True,
                                    errorTitle="取值无效", error=f"请从下拉列表中选择{column.header}")
        target = get_column_letter(position)
        validation.add(f"{target}2:{target}{TEMPLATE_ROWS}")
        worksheet.add_data_validation(validation)


def add_notes(workbook, kind: str, fields: dict[str, str]) -> None:
    """The 说明 sheet: general notes, then every column with its key, whether required and its rule."""
    notes = workbook.create_sheet("说明", 0)
    for line in NOTES:
        notes.append([line])
    notes["A1"].font = Font(bold=True, size=13)
    notes.append([])
    notes.append(["工作表", "列名", "英文键", "必填", "填写要求"])
    header_row = notes.max_row
    for sheet in layout(kind):
        for column in sheet.columns:
            required = "是" if column.node is None or getattr(column.node, "required", False) else ""
            notes.append([sheet.name, column.header, column.key, required, rule_of(column, fields)])
    for cell in notes[header_row]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDE", (14, 34, 40, 6, 80), strict=True):
        notes.column_dimensions[letter].width = width
    for row in notes.iter_rows(min_row=header_row + 1):
        row[4].alignment = Alignment(wrap_text=True)


def write_template(kind: str, path: Path, fields: dict[str, str] | None = None) -> None:
    """Write the import template of ``kind`` ('applications' or 'experts') to ``path``."""
    fields = fields or default_field_names()
    workbook = workbook_of(records_to_tables(kind, example_records(kind)))
    lists: list[list[str]] = []
    for sheet in layout(kind):
        add_drop_downs(workbook, sheet, fields, lists)
    options = workbook.create_sheet("选项")
    for number, entries in enumerate(lists, start=1):
        for row, entry in enumerate(entries, start=1):
            options.cell(row=row, column=number, value=entry)
    options.sheet_state = "hidden"
    add_notes(workbook, kind, fields)
    workbook.active = 1
    workbook.save(path)
