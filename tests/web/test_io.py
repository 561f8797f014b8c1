"""Record files (DESIGN §8, §10): writers produce exactly what readers read, in .xlsx, .csv and .json; bad
files are refused with a message naming the file, sheet, row or column."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from web.demo import validated_demo
from web.io import read_records, write_records
from web.io.files import csv_bytes
from web.io.layout import layout
from web.io.template import write_template
from web.records import default_field_names, validate_records

TAXONOMY = default_field_names()
FORMATS = ("xlsx", "csv", "json")


@pytest.fixture(scope="module")
def demo():
    return validated_demo(applications=24, experts=40)


def read_and_validate(path: Path, kind: str) -> list[dict]:
    read = read_records(path, kind)
    assert read.errors == []
    records, errors = validate_records(kind, read.records, source_refs=read.source_refs, taxonomy=TAXONOMY)
    assert errors == []
    return records


@pytest.mark.parametrize("extension", FORMATS)
def test_applications_round_trip(tmp_path, demo, make_application_record, extension):
    records = [make_application_record("APP-001"), *demo.applications]
    path = tmp_path / f"applications.{extension}"
    write_records(path, "applications", records)
    assert read_and_validate(path, "applications") == records


@pytest.mark.parametrize("extension", FORMATS)
def test_experts_round_trip(tmp_path, demo, make_expert_record, extension):
    records = [make_expert_record("EXP-001"), *demo.experts]
    path = tmp_path / f"experts.{extension}"
    write_records(path, "experts", records)
    assert read_and_validate(path, "experts") == records


def test_workbook_has_a_sheet_per_table_with_chinese_headers(tmp_path, make_application_record):
    path = tmp_path / "a.xlsx"
    write_records(path, "applications", [make_application_record("APP-001")])
    workbook = load_workbook(path)
    assert workbook.sheetnames == [sheet.name for sheet in layout("applications")]
    main = [cell.value for cell in workbook["申报书"][1]]
    assert "承担单位.统一社会信用代码" in main and "中心名称" in main
    members = workbook["成员单位"]
    assert [cell.value for cell in members[1]][:3] == ["申报编号", "成员单位序号", "单位类别"]
    assert [cell.value for cell in members[2]][:3] == ["APP-001", 1, "发起单位"]
    finances = workbook["近三年经营数据"]
    assert [cell.value for cell in finances[2]][:3] == ["APP-001", 1, 2017]


def test_headers_are_unique_within_each_sheet():
    for kind in ("applications", "experts"):
        for sheet in layout(kind):
            headers = [column.header for column in sheet.columns]
            keys = [column.key for column in sheet.columns]
            assert len(set(headers)) == len(headers), sheet.name
            assert len(set(keys)) == len(keys), sheet.name


def test_text_starting_with_equals_stays_text(tmp_path, make_application_record):
    record = make_application_record("APP-001", construction_content="=SUM(A1:A3) 不是公式")
    path = tmp_path / "a.xlsx"
    write_records(path, "applications", [record])
    assert read_and_validate(path, "applications")[0]["construction_content"] == "=SUM(A1:A3) 不是公式"


def test_csv_is_written_as_utf8_with_bom_and_tables_as_json_cells(tmp_path, make_application_record):
    data = csv_bytes("applications", [make_application_record("APP-001")])
    assert data.startswith("\ufeff".encode())
    header, row = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    members = json.loads(row[header.index("成员单位")])
    assert [member["name"] for member in members] == ["上海智造装备股份有限公司", "上海理工研究院"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_utf8_with_or_without_bom_or_gb18030_reads_the_same(tmp_path, make_application_record, encoding):
    records = [make_application_record("APP-001")]
    text = csv_bytes("applications", records).decode("utf-8-sig")
    path = tmp_path / "a.csv"
    path.write_bytes(text.encode(encoding))
    assert read_and_validate(path, "applications") == records


def test_english_dotted_headers_are_accepted(tmp_path):
    path = tmp_path / "experts.csv"
    path.write_text("ref,name,pool,organization.name,fields\nE1,周专家,技术,申江理工大学,\"EQP-SM,DIG-II\"\n",
                    encoding="utf-8")
    [record] = read_and_validate(path, "experts")
    assert record["pool"] == "technology" and record["organization"]["name"] == "申江理工大学"
    assert record["fields"] == ["EQP-SM", "DIG-II"]


def test_an_xls_workbook_is_refused_with_save_as_xlsx(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)
    assert read_records(path, "applications").errors == [
        "old.xls: (file): an Excel 97–2003 (.xls) workbook is not read: open it in Excel and save it as .xlsx"]
    renamed = tmp_path / "renamed.xlsx"
    renamed.write_bytes(path.read_bytes())
    assert "save it as .xlsx" in read_records(renamed, "applications").errors[0]


@pytest.mark.parametrize("name", ["empty.json", "empty.csv", "empty.xlsx", "blank.csv"])
def test_an_empty_file_is_refused(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"" if name.startswith("empty") else b" \r\n\r\n")
    assert read_records(path, "applications").errors == [f"{name}: (file): the file is empty"]


def test_a_csv_with_only_headers_or_an_empty_list_is_refused(tmp_path):
    header = tmp_path / "header.csv"
    header.write_text("申报编号,中心名称\n", encoding="utf-8")
    assert read_records(header, "applications").errors == ["header.csv: (file): no records below the header row"]
    empty = tmp_path / "empty.json"
    empty.write_text("[]", encoding="utf-8")
    assert read_records(empty, "applications").errors == ["empty.json: (file): the list of records is empty"]


def test_invalid_json_and_wrong_shape_are_refused(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('[{"ref": "A1",]', encoding="utf-8")
    assert read_records(broken, "applications").errors[0].startswith("broken.json: (file): not valid JSON")
    scalar = tmp_path / "scalar.json"
    scalar.write_text('"A1"', encoding="utf-8")
    assert read_records(scalar, "applications").errors == ["scalar.json: (file): must hold a list of records, got str"]


def test_unknown_extension_is_refused(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("x", encoding="utf-8")
    assert "unknown file type .txt" in read_records(path, "applications").errors[0]


def test_a_workbook_with_unknown_sheet_column_and_dangling_rows_lists_every_problem(tmp_path):
    workbook = Workbook()
    main = workbook.active
    main.title = "申报书"
    main.append(["申报编号", "中心名称", "颜色"])
    main.append(["A1", "中心", "红"])
    members = workbook.create_sheet("成员单位")
    members.append(["申报编号", "成员单位序号", "单位名称"])
    members.append(["A9", 1, "某公司"])
    finances = workbook.create_sheet("近三年经营数据")
    finances.append(["申报编号", "成员单位序号", "年度"])
    finances.append(["A1", 4, 2019])
    workbook.create_sheet("杂项")
    path = tmp_path / "bad.xlsx"
    workbook.save(path)
    assert read_records(path, "applications").errors == [
        "sheet 杂项: unknown sheet (expected: 申报书, 股权结构, 成员单位, 近三年经营数据, 主要股东, 团队主要成员, 附件)",
        "sheet 申报书: column 3 '颜色': unknown column",
        "sheet 成员单位 row 2: ref: no record with ref 'A9' in the main sheet",
        "sheet 近三年经营数据 row 2: members#: record A1 has no row numbered '4' in the enclosing sheet",
    ]


def test_a_bad_json_cell_in_a_csv_is_refused(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("申报编号,成员单位\nA1,[{oops\n", encoding="utf-8")
    errors = read_records(path, "applications").errors
    assert len(errors) == 1 and errors[0].startswith("row 2: 成员单位: not valid JSON")


def test_member_rows_find_their_member_by_the_number_given(tmp_path, make_application_record):
    path = tmp_path / "a.xlsx"
    write_records(path, "applications", [make_application_record("APP-001")])
    workbook = load_workbook(path)
    members = workbook["成员单位"]
    members["B2"], members["B3"] = 7, 3  # renumbered, not 1 and 2
    workbook["近三年经营数据"]["B2"] = 7
    workbook["近三年经营数据"]["B3"] = 7
    workbook["近三年经营数据"]["B4"] = 7
    workbook["主要股东"]["B2"] = 7
    workbook["主要股东"]["B3"] = 7
    workbook["团队主要成员"]["B2"] = 3
    workbook["团队主要成员"]["B3"] = 3
    workbook.save(path)
    assert read_and_validate(path, "applications") == [make_application_record("APP-001")]


@pytest.mark.parametrize("kind", ["applications", "experts"])
def test_the_template_has_drop_downs_notes_and_a_valid_example(tmp_path, kind):
    path = tmp_path / f"{kind}.xlsx"
    write_template(kind, path)
    workbook = load_workbook(path)
    assert workbook.sheetnames[0] == "说明"
    assert workbook["选项"].sheet_state == "hidden"
    main = workbook[layout(kind)[0].name]
    assert main.data_validations.dataValidation, "no drop-down lists on the main sheet"
    notes = [row[1] for row in workbook["说明"].iter_rows(values_only=True)]
    assert set(column.header for sheet in layout(kind) for column in sheet.columns) <= set(notes)
    records = read_and_validate(path, kind)
    assert len(records) == 1


def test_template_drop_down_for_the_field_lists_the_chinese_names(tmp_path):
    path = tmp_path / "t.xlsx"
    write_template("applications", path)
    workbook = load_workbook(path)
    header = [cell.value for cell in workbook["申报书"][1]]
    column = chr(ord("A") + header.index("方向领域"))
    validation = next(v for v in workbook["申报书"].data_validations.dataValidation if column + "2" in str(v.sqref))
    options_column = validation.formula1.split("!")[1].split(":")[0].replace("$", "").rstrip("0123456789")
    values = [row[0] for row in workbook["选项"].iter_rows(min_col=ord(options_column) - 64,
                                                           max_col=ord(options_column) - 64, values_only=True)]
    assert values == ["方向领域", *TAXONOMY.values()]


def test_errors_in_detail_sheets_name_the_sheet_row(tmp_path, make_application_record):
    first, second = make_application_record("A016"), make_application_record("A017")
    second["members"][0]["employees"] = -5
    second["members"][0]["finances"][1]["sales"] = -1.0
    second["members"][1]["team_members"][1]["name"] = None
    path = tmp_path / "a.xlsx"
    write_records(path, "applications", [first, second])
    read = read_records(path, "applications")
    _, errors = validate_records("applications", read.records, source_refs=read.source_refs, taxonomy=TAXONOMY,
                                 origins=read.origins)
    assert errors == [
        "row 3 (A017): members[1].employees (sheet 成员单位 row 4): must be ≥ 0, got -5",
        "row 3 (A017): members[1].finances[2].sales (sheet 近三年经营数据 row 6): must be ≥ 0, got -1",
        "row 3 (A017): members[2].team_members[2].name (sheet 团队主要成员 row 5): required",
    ]
