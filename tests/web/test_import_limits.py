"""Imports cost no more than a refusal: files over the byte, row or unpacking limits, request bodies over the
request limit and error lists past their cap are refused (or cut) with a Chinese sentence, and nothing changes."""

from __future__ import annotations

import json
import re
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from web.commands.data import import_command
from web.extensions import db
from web.io import write_records
from web.io.files import read_bytes
from web.io.limits import ImportLimits

MiB = 1024 * 1024


def refused_cli(runner, path: Path) -> list[str]:
    """Import ``path`` through the CLI, assert it was refused (exit 1, nothing on stdout); its error lines."""
    result = runner.invoke(import_command, ["applications", str(path)])
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    return result.stderr.splitlines()


def no_workbook_opened(monkeypatch) -> None:
    """Fail the test if openpyxl is asked to open the workbook: the refusal must come before."""
    def opened(*args, **kwargs):
        raise AssertionError("openpyxl opened a workbook that should have been refused unread")

    monkeypatch.setattr("web.io.files.load_workbook", opened)


# ---------------------------------------------------------------- rows

@pytest.mark.slow
def test_a_csv_of_a_million_rows_is_refused_without_building_its_rows(app, runner, table_counts, tmp_path):
    path = tmp_path / "million.csv"
    path.write_text("申报编号,中心名称\n" + "".join(f"A{number},中心\n" for number in range(1_000_000)),
                    encoding="utf-8")
    with app.app_context():
        tracemalloc.start()
        read = read_bytes(path.name, path.read_bytes(), "applications")
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert read.records == [] and len(read.errors) == 1
    assert peak < 4 * path.stat().st_size  # the bytes and their text, never a list of a million rows
    before = table_counts()
    assert refused_cli(runner, path)[0] == (
        "million.csv: (file): 文件的数据超过 20000 行，一次最多导入 20000 行（PANEL_IMPORT_MAX_ROWS）：请拆分文件后分批导入")
    assert table_counts() == before


def sheet_without_dimension(tmp_path: Path, last_row: int) -> Path:
    """A workbook whose main sheet has a header and one cell at ``last_row``, its declared range removed."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "申报书"
    sheet.append(["申报编号"])
    sheet.cell(row=last_row, column=1, value="A1")
    plain = tmp_path / "plain.xlsx"
    workbook.save(plain)
    path = tmp_path / "far.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            content = source.read(member)
            if member.filename.startswith("xl/worksheets/"):
                content = re.sub(rb"<dimension [^>]*/>", b"", content)
            target.writestr(member, content)
    return path


def test_a_sheet_with_more_rows_than_allowed_is_refused_while_reading(app, runner, table_counts, tmp_path):
    path = sheet_without_dimension(tmp_path, last_row=1_000_000)
    before = table_counts()
    assert refused_cli(runner, path)[0] == (
        "far.xlsx: (file): 工作表 申报书 的数据超过 20000 行，一次最多导入 20000 行（PANEL_IMPORT_MAX_ROWS）：请拆分工作簿后分批导入")
    assert table_counts() == before


@pytest.mark.app_config(IMPORT_MAX_ROWS=2)
def test_a_json_list_longer_than_the_row_limit_is_refused(runner, table_counts, tmp_path, make_application_record):
    path = tmp_path / "three.json"
    write_records(path, "applications", [make_application_record(f"A{number}") for number in range(3)])
    before = table_counts()
    assert refused_cli(runner, path)[0] == (
        "three.json: (file): 列表中有 3 条记录，一次最多导入 2 条（PANEL_IMPORT_MAX_ROWS）：请拆分文件后分批导入")
    assert table_counts() == before


# ---------------------------------------------------------------- bytes and unpacking

@pytest.mark.app_config(IMPORT_MAX_BYTES=4096)
def test_a_file_over_the_byte_limit_is_refused_unread(runner, table_counts, tmp_path, make_application_record):
    path = tmp_path / "big.json"
    write_records(path, "applications", [make_application_record()])
    before = table_counts()
    [first, *_] = refused_cli(runner, path)
    assert re.fullmatch(r"big\.json: \(file\): 文件大小为 \d+ KiB，一次最多导入 4 KiB（PANEL_IMPORT_MAX_BYTES）："
                        r"请拆分为较小的文件", first)
    assert table_counts() == before


def test_a_zip_bomb_is_refused_from_its_directory_without_being_opened(runner, table_counts, tmp_path,
                                                                       monkeypatch):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("xl/worksheets/sheet1.xml", b"<row/>" * (8 * MiB))
    no_workbook_opened(monkeypatch)
    before = table_counts()
    [first, *_] = refused_cli(runner, path)
    assert re.fullmatch(r"bomb\.xlsx: \(file\): 工作簿内的 xl/worksheets/sheet1\.xml 解压后是压缩大小的 \d+ 倍"
                        r"（疑似压缩炸弹），未予打开", first)
    assert table_counts() == before


@pytest.mark.app_config(IMPORT_MAX_UNCOMPRESSED=20_000)
def test_a_workbook_that_unpacks_past_the_limit_is_refused_without_being_opened(
        runner, table_counts, tmp_path, monkeypatch, make_application_record):
    path = tmp_path / "large.xlsx"
    write_records(path, "applications", [make_application_record(f"A{number}") for number in range(3)])
    no_workbook_opened(monkeypatch)
    before = table_counts()
    [first, *_] = refused_cli(runner, path)
    assert re.fullmatch(r"large\.xlsx: \(file\): 该工作簿解压后为 \d+ KiB，超过允许的 20 KiB"
                        r"（PANEL_IMPORT_MAX_UNCOMPRESSED），未予打开", first)
    assert table_counts() == before


def test_a_normal_workbook_stays_within_every_limit(tmp_path, make_application_record):
    path = tmp_path / "normal.xlsx"
    write_records(path, "applications", [make_application_record(f"A{number}") for number in range(20)])
    read = read_bytes(path.name, path.read_bytes(), "applications", ImportLimits())
    assert read.errors == [] and len(read.records) == 20


# ---------------------------------------------------------------- errors shown

def unfinished_records(count: int) -> list[dict]:
    """Records with a ref and nothing else: three errors each (center_name, field, bearer are required)."""
    return [{"ref": f"A{number:04d}"} for number in range(count)]


def test_the_cli_shows_a_thousand_errors_and_counts_the_rest(runner, table_counts, tmp_path):
    path = tmp_path / "unfinished.json"
    path.write_text(json.dumps(unfinished_records(400)), encoding="utf-8")
    before = table_counts()
    lines = refused_cli(runner, path)
    assert len(lines) == 1_002
    assert lines[1_000] == "…… 另有 200 个错误"
    assert lines[1_001].endswith("：已拒绝，共 1200 个错误，未导入任何记录。")
    assert table_counts() == before


@pytest.fixture
def organizer_token(app, make_user) -> str:
    from web.services.tokens import create_token

    make_user("organizer", "organizer")
    with app.app_context():
        from web.models import User

        user = db.session.scalar(db.select(User).where(User.username == "organizer"))
        token = create_token(user, "imports", actor=user)
        db.session.commit()
    return token


def post_import(client, token: str, **kwargs):
    return client.post("/api/v1/applications", headers={"Authorization": f"Bearer {token}"}, **kwargs)


def test_the_api_shows_a_thousand_errors_and_counts_them_all(client, organizer_token, table_counts):
    from tests.web.test_import_jobs import finished_job, only_the_job_was_recorded

    before = table_counts()
    response = post_import(client, organizer_token, json=unfinished_records(400))
    assert response.status_code == 202
    body = finished_job(client, response, {"Authorization": f"Bearer {organizer_token}"})
    assert body["state"] == "failed" and body["error"].startswith("导入被拒绝")
    assert body["error_count"] == 1_200 and len(body["errors"]) == 1_001
    assert body["errors"][-1] == "…… 另有 200 个错误"
    only_the_job_was_recorded(before, table_counts())


@pytest.mark.app_config(IMPORT_MAX_BYTES=2048)
def test_an_api_import_body_over_the_import_limit_gets_413_in_chinese(client, organizer_token, table_counts,
                                                                      make_application_record):
    before = table_counts()
    response = post_import(client, organizer_token, data=json.dumps(unfinished_records(200)),
                           content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"] == ("请求内容超过服务器允许的大小（最多 2 KiB）：请发送较小的文件，或将导入拆分为几次。")
    assert table_counts() == before


@pytest.mark.app_config(IMPORT_MAX_ROWS=100)
def test_an_api_list_longer_than_the_row_limit_gets_413_in_chinese(client, organizer_token, table_counts):
    before = table_counts()
    response = post_import(client, organizer_token, json=unfinished_records(101))
    assert response.status_code == 413
    assert response.get_json()["error"] == (
        "列表中有 101 条记录，一次最多导入 100 条（PANEL_IMPORT_MAX_ROWS）：请拆分后分批导入。")
    assert table_counts() == before


@pytest.mark.app_config(MAX_CONTENT_LENGTH=4096)
def test_a_request_over_the_site_limit_gets_a_413_page_or_json_in_chinese(client, organizer_token, table_counts):
    before = table_counts()
    page = client.post("/login", data={"username": "x" * 8192, "password": "y"})
    assert page.status_code == 413 and page.mimetype == "text/html"
    assert "请求内容超过服务器允许的大小（最多 4 KiB）" in page.get_data(as_text=True)
    api = post_import(client, organizer_token, data=b"[" + b" " * 8192 + b"]", content_type="application/json")
    assert api.status_code == 413 and api.get_json()["error"].startswith("请求内容超过服务器允许的大小（最多 4 KiB）")
    assert table_counts() == before


@pytest.mark.app_config(MAX_JSON_LENGTH=4096)
def test_a_json_body_that_is_not_an_import_is_capped_before_it_is_parsed(client, organizer_token, table_counts,
                                                                         monkeypatch):
    import flask.json.provider

    parsed = []
    monkeypatch.setattr(flask.json.provider.DefaultJSONProvider, "loads",
                        lambda self, s, **kwargs: parsed.append(len(s)) or json.loads(s, **kwargs))
    before = table_counts()
    body = json.dumps({"targets": {"contracts": 1}, "padding": "x" * 8192})
    answer = client.put("/api/v1/centers/1/targets", data=body, content_type="application/json",
                        headers={"Authorization": f"Bearer {organizer_token}"})
    assert answer.status_code == 413 and answer.get_json()["error"].startswith("请求内容超过服务器允许的大小（最多 4 KiB）")
    assert parsed == [] and table_counts() == before
    records = json.dumps(unfinished_records(300))                # an import keeps its own, larger cap
    assert len(records) > 4096
    assert post_import(client, organizer_token, data=records, content_type="application/json").status_code == 202


def test_an_unreadable_csv_field_is_refused_not_raised(app, tmp_path):
    data = ("申报编号,中心名称\nA1," + "长" * 200_000 + "\n").encode()
    with app.app_context():
        read = read_bytes("wide.csv", data, "applications")
    assert read.records == [] and read.errors[0].startswith("wide.csv: (file): 不是可读取的 CSV 文件")


def test_the_limits_are_read_from_the_environment(monkeypatch, tmp_path):
    from web.config import default_config

    assert ImportLimits.from_config(default_config(str(tmp_path))) == ImportLimits()
    monkeypatch.setenv("PANEL_IMPORT_MAX_ROWS", "7")
    monkeypatch.setenv("PANEL_MAX_CONTENT_LENGTH", "1024")
    config = default_config(str(tmp_path))
    assert (ImportLimits.from_config(config).max_rows, config["MAX_CONTENT_LENGTH"]) == (7, 1024)
