"""The data commands (DESIGN §8): import is all or nothing — a bad file exits 1, lists every error on standard
error and changes no row; export → import → export round-trips; the demo loads once and shows its flags."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from web.commands.data import check_command, demo_command, export_command, import_command, template_command
from web.extensions import db
from web.io import write_records


def write_json(path: Path, records: list[dict]) -> Path:
    write_records(path, "applications" if "center_name" in records[0] else "experts", records)
    return path


def empty_database(app) -> None:
    """Delete every row and reload the reference data, as a freshly initialized database has it. The audit log
    refuses DELETE: PostgreSQL empties it with TRUNCATE (as the test fixture does), SQLite keeps it."""
    from tests.web.conftest import _empty_postgres_tables
    from web.services.reference_data import seed_reference_data

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            _empty_postgres_tables()
        for table in reversed(db.metadata.sorted_tables):
            if table.name != "audit_event":
                db.session.execute(table.delete())
        db.session.commit()
        seed_reference_data()


def mutate(make, change):
    record = make("A017")
    change(record)
    return record


BAD_FILES = [
    ("wrong check character", lambda r: r["bearer"].update(uscc="91110000600037341K"),
     "A017: bearer.uscc: check character is K, expected L"),
    ("lowercase", lambda r: r["bearer"].update(uscc="91110000600037341l"), "A017: bearer.uscc: characters not allowed: l"),
    ("I O Z S V", lambda r: r["bearer"].update(uscc="9111000060003IOZSV"),
     "A017: bearer.uscc: characters not allowed: I O S V Z"),
    ("17 characters", lambda r: r["bearer"].update(uscc="9111000060003734L"),
     "A017: bearer.uscc: must be 18 characters, got 17"),
    ("unknown field code", lambda r: r.update(field="EQP-XX"), "A017: field: unknown field code 'EQP-XX'"),
    ("date 2020/13/01", lambda r: r.update(submitted_on="2020/13/01"),
     "A017: submitted_on: must be an ISO date YYYY-MM-DD, got '2020/13/01'"),
    ("foreign share 120", lambda r: r["bearer"].update(foreign_share_pct=120),
     "A017: bearer.foreign_share_pct: must be between 0 and 100, got 120"),
    ("negative employee count", lambda r: r["members"][0].update(employees=-5),
     "A017: members[1].employees: must be ≥ 0, got -5"),
    ("501 characters", lambda r: r.update(construction_content="建" * 501),
     "A017: construction_content: at most 500 characters, got 501"),
]


@pytest.mark.parametrize(("change", "message"), [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES])
def test_a_bad_record_refuses_the_whole_file(runner, table_counts, tmp_path, make_application_record, change, message):
    good = make_application_record("A016")
    path = write_json(tmp_path / "applications.json", [good, mutate(make_application_record, change)])
    before = table_counts()
    result = runner.invoke(import_command, ["applications", str(path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].startswith(message)
    assert "：已拒绝，共 1 个错误，未导入任何记录。" in result.stderr
    assert result.stdout == ""
    assert table_counts() == before


def test_every_error_of_the_file_is_listed(runner, table_counts, tmp_path, make_application_record):
    first = mutate(make_application_record, lambda r: r["bearer"].update(uscc="91110000600037341K"))
    second = make_application_record("A018")
    second["members"][0]["employees"] = -5
    second["construction_content"] = "建" * 501
    path = tmp_path / "applications.csv"
    write_records(path, "applications", [first, second])
    before = table_counts()
    result = runner.invoke(import_command, ["applications", str(path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:3] == [
        "row 2 (A017): bearer.uscc: check character is K, expected L",
        "row 3 (A018): members[1].employees: must be ≥ 0, got -5",
        "row 3 (A018): construction_content: at most 500 characters, got 501",
    ]
    assert table_counts() == before


def test_duplicate_refs_in_the_file_and_in_the_database(runner, table_counts, tmp_path, make_application_record):
    path = write_json(tmp_path / "a.json", [make_application_record("A1")])
    assert runner.invoke(import_command, ["applications", str(path)]).exit_code == 0
    again = write_json(tmp_path / "b.json", [make_application_record("A2"), make_application_record("A1"),
                                             make_application_record("A2")])
    before = table_counts()
    result = runner.invoke(import_command, ["applications", str(again)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == ["A1: ref: duplicate ref 'A1': already in the database",
                                              "A2: ref: duplicate ref 'A2': also [1]"]
    assert table_counts() == before


@pytest.mark.parametrize(("name", "content"), [
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504),
    ("empty.csv", b""),
    ("empty.json", b""),
    ("empty.xlsx", b""),
])
def test_xls_and_empty_files_are_refused(runner, table_counts, tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    before = table_counts()
    result = runner.invoke(import_command, ["applications", str(path)])
    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{name}: (file): ")
    assert ("save it as .xlsx" in first) if name.endswith(".xls") else first.endswith("the file is empty")
    assert table_counts() == before


def test_a_gb18030_csv_imports_correctly(runner, app, table_counts, tmp_path, make_application_record):
    from web.io.files import csv_bytes
    from web.services.records import export_applications

    record = make_application_record("A1")
    path = tmp_path / "gbk.csv"
    path.write_bytes(csv_bytes("applications", [record]).decode("utf-8-sig").encode("gb18030"))
    before = table_counts()
    result = runner.invoke(import_command, ["applications", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"imported 1 applications from {path}\n"
    assert table_counts()["application"] == before["application"] + 1
    with app.app_context():
        [exported] = export_applications(include_personal=True)
    assert exported == record
    assert exported["bearer"]["name"] == "上海智能制造创新中心有限公司"


def test_dry_run_validates_and_writes_nothing(runner, table_counts, tmp_path, make_expert_record):
    path = write_json(tmp_path / "experts.json", [make_expert_record("E1"), make_expert_record("E2")])
    before = table_counts()
    result = runner.invoke(import_command, ["experts", str(path), "--dry-run"])
    assert result.exit_code == 0
    assert "2 experts valid; dry run, nothing written" in result.stdout
    assert table_counts() == before


def test_usage_errors_exit_2(runner, tmp_path):
    assert runner.invoke(import_command, ["applications", str(tmp_path / "missing.json")]).exit_code == 2
    assert runner.invoke(import_command, ["projects", str(tmp_path)]).exit_code == 2
    assert runner.invoke(export_command, ["applications", str(tmp_path / "x.txt")]).exit_code == 2
    assert runner.invoke(template_command, ["experts", str(tmp_path / "x.csv")]).exit_code == 2
    assert runner.invoke(check_command, ["--round", "no such round"]).exit_code == 2


@pytest.mark.parametrize("extension", ["json", "xlsx", "csv"])
def test_export_then_import_into_an_empty_database_round_trips(
        runner, app, tmp_path, make_application_record, make_expert_record, extension):
    experts = write_json(tmp_path / "e.json", [make_expert_record("EXP-001"), make_expert_record("EXP-009")])
    applications = write_json(tmp_path / "a.json", [make_application_record("APP-001"),
                                                     make_application_record("APP-002", field="DIG-AI")])
    assert runner.invoke(import_command, ["experts", str(experts)]).exit_code == 0
    assert runner.invoke(import_command, ["applications", str(applications)]).exit_code == 0
    kinds = ("experts", "applications")
    for kind in kinds:
        for suffix in {extension, "json"}:
            path = tmp_path / f"first-{kind}.{suffix}"
            result = runner.invoke(export_command, [kind, str(path), "--include-personal"])
            assert result.exit_code == 0 and result.stdout == f"exported 2 {kind} to {path}\n"
    empty_database(app)
    for kind in kinds:
        result = runner.invoke(import_command, [kind, str(tmp_path / f"first-{kind}.{extension}")])
        assert result.exit_code == 0, result.output
    for kind in kinds:
        second = tmp_path / f"second-{kind}.json"
        assert runner.invoke(export_command, [kind, str(second), "--include-personal"]).exit_code == 0
        first = (tmp_path / f"first-{kind}.json").read_text(encoding="utf-8")
        assert second.read_text(encoding="utf-8") == first


def test_export_leaves_out_personal_data_unless_asked(runner, tmp_path, make_application_record):
    path = write_json(tmp_path / "a.json", [make_application_record("APP-001")])
    runner.invoke(import_command, ["applications", str(path)])
    plain, personal = tmp_path / "plain.json", tmp_path / "personal.json"
    runner.invoke(export_command, ["applications", str(plain)])
    runner.invoke(export_command, ["applications", str(personal), "--include-personal"])
    assert "310101198001011234" not in plain.read_text(encoding="utf-8")
    assert "13812345678" not in plain.read_text(encoding="utf-8")
    assert "310101198001011234" in personal.read_text(encoding="utf-8")


def test_template_command_writes_a_workbook(runner, tmp_path):
    path = tmp_path / "t.xlsx"
    result = runner.invoke(template_command, ["applications", str(path)])
    assert result.exit_code == 0 and path.is_file()


def test_check_prints_flags_as_text_and_json(runner, tmp_path, make_application_record):
    flagged = make_application_record("A2")
    flagged["bearer"]["shareholders"][0]["share_pct"] = 50.0
    path = write_json(tmp_path / "a.json", [make_application_record("A1"), flagged])
    runner.invoke(import_command, ["applications", str(path)])
    text = runner.invoke(check_command, [])
    assert text.exit_code == 0
    assert "A2 上海智能制造创新中心: 1" in text.stdout and "SHARES_NOT_100" in text.stdout
    assert text.stdout.rstrip().endswith("2 applications, 1 with flags")
    report = json.loads(runner.invoke(check_command, ["--json"]).stdout)
    assert [(entry["ref"], [flag["code"] for flag in entry["flags"]]) for entry in report] == [
        ("A1", []), ("A2", ["SHARES_NOT_100"])]


def test_demo_loads_once_and_check_shows_the_planted_flags(runner, table_counts, tmp_path):
    from web.demo.generate import PLANTED_FLAGS

    result = runner.invoke(demo_command, ["--no-serve"])
    assert result.exit_code == 0, result.output
    assert "loaded 60 applications and 420 experts" in result.stdout
    assert "admin" in result.stdout and "organizer" in result.stdout
    assert re.search(r"\be\d{4}\b", result.stdout), "an expert login is printed"
    counts = table_counts()
    assert counts["application"] == 60 and counts["expert"] == 420
    report = json.loads(runner.invoke(check_command, ["--json"]).stdout)
    codes = {flag["code"] for entry in report for flag in entry["flags"]}
    assert codes == set(PLANTED_FLAGS)
    again = runner.invoke(demo_command, ["--no-serve"])
    assert again.exit_code == 0
    assert "already holds 60 applications: the demo data set is not loaded again" in again.stdout
    assert table_counts() == counts


def test_the_demo_round_trips_through_export_and_import(runner, app, tmp_path):
    assert runner.invoke(demo_command, ["--no-serve"]).exit_code == 0
    kinds = ("experts", "applications")
    for kind in kinds:
        assert runner.invoke(export_command, [kind, str(tmp_path / f"{kind}.json"), "--include-personal"]).exit_code == 0
        assert runner.invoke(export_command, [kind, str(tmp_path / f"{kind}.xlsx"), "--include-personal"]).exit_code == 0
    empty_database(app)
    for kind in kinds:
        result = runner.invoke(import_command, [kind, str(tmp_path / f"{kind}.xlsx")])
        assert result.exit_code == 0, result.output
    for kind in kinds:
        again = tmp_path / f"again-{kind}.json"
        assert runner.invoke(export_command, [kind, str(again), "--include-personal"]).exit_code == 0
        assert again.read_text(encoding="utf-8") == (tmp_path / f"{kind}.json").read_text(encoding="utf-8")


def test_check_of_a_round_lists_only_its_applications(runner, tmp_path, make_application_record):
    flagged = make_application_record("A2")
    flagged["members"][0]["rd_staff"] = 10_000
    path = write_json(tmp_path / "a.json", [make_application_record("A1"), flagged, make_application_record("A3")])
    assert runner.invoke(import_command, ["applications", str(path)]).exit_code == 0
    created = runner.invoke(args=["rounds", "create", "--name", "遴选", "--kind", "selection_review",
                                  "--applications", "A2", "--applications", "A3"])
    assert created.exit_code == 0, created.output
    report = json.loads(runner.invoke(check_command, ["--round", "遴选", "--json"]).stdout)
    assert [(entry["ref"], [flag["code"] for flag in entry["flags"]]) for entry in report] == [
        ("A2", ["RD_STAFF_ABOVE_EMPLOYEES"]), ("A3", [])]


@pytest.mark.parametrize(("args", "message"), [
    (["template", "applications", "template.csv"], "模板是 Excel 工作簿：请给出以 .xlsx 结尾的路径。"),
    (["export", "experts", "experts.txt"], "请给出以 "),
    (["check", "--round", "nope"], "没有名为“nope”的评审轮次。"),
    (["centers", "show", "999"], "不存在编号为 999 的创新中心。"),
    (["users", "set-password", "nobody", "--password-stdin"], "nobody：没有这个账户。"),
    (["tokens", "revoke", "999"], "令牌 999：没有这个令牌。"),
    (["rounds", "state", "--round", "nope", "--to", "scoring"], "--round：没有编号或名称为“nope”的评审轮次。"),
])
def test_command_line_refusals_are_chinese_and_change_nothing(runner, table_counts, tmp_path, monkeypatch, args,
                                                              message):
    folder = tmp_path / "out"
    folder.mkdir()
    monkeypatch.chdir(folder)
    before = table_counts()
    result = runner.invoke(args=args, input="a-long-enough-password-1\n")
    assert result.exit_code in (1, 2) and message in result.output
    assert table_counts() == before and list(folder.iterdir()) == []
