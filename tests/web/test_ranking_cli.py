"""`panel rank --round R [--json]` and `panel export ranking|sheets --round R PATH` (DESIGN §8)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.fonts import require_cjk_font
from tests.web.test_ranking_service import build_design_round
from web.extensions import db


@pytest.fixture
def round_id(app, make_application_record, make_expert_record):
    return build_design_round(app, make_application_record, make_expert_record, name="遴选2020")


def test_rank_prints_the_table(runner, round_id):
    result = runner.invoke(args=["rank", "--round", "遴选2020"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    refs = [line.split()[1] for line in lines[2:]]
    assert refs == ["P2", "P5", "P1", "P3", "P4"]
    assert "88.00" in lines[2] and "RECOMMEND" in lines[2] and "上海P2制造业创新中心" in lines[2]
    assert "[78.05, 89.15]" in lines[4] and "ROBUST" in lines[4]
    by_id = runner.invoke(args=["rank", "--round", str(round_id)])
    assert by_id.output == result.output


def test_rank_json_is_the_engines_result(runner, round_id):
    result = runner.invoke(args=["rank", "--round", "遴选2020", "--json", "--capacity", "2"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [line["application"] for line in data["ranking"]] == ["P2", "P5", "P1", "P3", "P4"]
    assert data["ranking"][3]["recommendation"] == "RESERVE" and data["settings"]["capacity"] == 2
    assert data["ranking"][0]["score"] == 88.0 and data["errors"] == []


def test_rank_refuses_an_unknown_round_and_a_refused_problem(app, runner, round_id):
    result = runner.invoke(args=["rank", "--round", "nope"])
    assert result.exit_code == 2 and "没有名为“nope”的评审轮次。" in result.output
    assert runner.invoke(args=["rank", "--round", "遴选2020", "--capacity", "0"]).exit_code == 2
    with app.app_context():
        from tests.web.test_ranking_service import sheet_of

        sheet_of(round_id, "P1", "E1").scores[0].value = None      # a submitted sheet missing a criterion
        db.session.commit()
    result = runner.invoke(args=["rank", "--round", "遴选2020"])
    assert result.exit_code == 1
    assert "(E1 → P1): scores.necessity: missing" in result.output
    assert "评审轮次“遴选2020”：评分引擎拒绝排名，共 1 个错误，未作任何排名。" in result.output


@pytest.mark.parametrize("args", [["rank", "--round", "遴选2020"], ["rank", "--round", "遴选2020", "--json"],
                                  ["export", "ranking", "--round", "遴选2020", "ranking.xlsx"],
                                  ["export", "sheets", "--round", "遴选2020", "sheets.pdf"]])
@pytest.mark.parametrize("setting", ["PANEL_MATCHING_MEMORY", "PANEL_RANKING_MEMORY"])
def test_a_round_too_large_to_rank_here_is_refused_in_chinese_not_as_the_engines_refusal(app, runner, round_id,
                                                                                       tmp_path, args, setting):
    """Over the ranking's limit, PANEL_RANKING_MEMORY or (unset) PANEL_MATCHING_MEMORY."""
    app.config.update({"PANEL_MATCHING_MEMORY": None, setting: 100 << 20})
    exports = tmp_path / "exports"
    exports.mkdir()
    result = runner.invoke(args=[str(exports / arg) if arg.endswith((".xlsx", ".pdf")) else arg for arg in args])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)       # no traceback
    assert "本轮排名须先列出全部回避冲突及其原因，约需" in result.output and "超过排名的内存上限 0.09 GB" in result.output
    assert "评分引擎拒绝排名" not in result.output and not list(exports.iterdir())


@pytest.mark.parametrize("suffix", [".xlsx", ".csv", ".json"])
def test_export_ranking(runner, round_id, tmp_path, suffix):
    path = tmp_path / f"ranking{suffix}"
    result = runner.invoke(args=["export", "ranking", "--round", "遴选2020", str(path)])
    assert result.exit_code == 0, result.output
    if suffix == ".xlsx":
        workbook = load_workbook(path)
        assert workbook.sheetnames == ["排名", "评分明细"]
        refs = [row[1] for row in workbook["排名"].iter_rows(min_row=2, values_only=True)]
    elif suffix == ".csv":
        content = path.read_bytes()
        assert content.startswith(b"\xef\xbb\xbf")                # BOM: Excel reads the Chinese headers
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
        assert rows[0][:3] == ["排名", "申报书编号", "中心名称"] and rows[1][3] == "88.0"
        refs = [row[1] for row in rows[1:]]
    else:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["round"]["name"] == "遴选2020" and data["center_names"]["P2"] == "上海P2制造业创新中心"
        refs = [line["application"] for line in data["ranking"]]
    assert refs == ["P2", "P5", "P1", "P3", "P4"]


def test_export_sheets_pdf(runner, round_id, tmp_path):
    require_cjk_font()
    path = tmp_path / "sheets.pdf"
    result = runner.invoke(args=["export", "sheets", "--round", "遴选2020", str(path)])
    assert result.exit_code == 0, result.output
    assert "35 submitted score sheets and 5 panel summaries" in result.output
    reader = PdfReader(path)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) == 40 and "专家签名" in text and "共 40 页" in text


@pytest.mark.parametrize("args, message", [
    (["export", "ranking", "ranking.xlsx"], "`panel export ranking` 需要 --round 参数。"),
    (["export", "ranking", "--round", "遴选2020", "ranking.pdf"], "请给出以 .xlsx, .csv, .json 之一结尾的路径。"),
    (["export", "sheets", "--round", "遴选2020", "sheets.xlsx"], "请给出以 .pdf 结尾的路径"),
    (["export", "sheets", "--round", "nope", "sheets.pdf"], "没有名为“nope”的评审轮次。"),
])
def test_export_usage_errors(runner, round_id, tmp_path, monkeypatch, args, message):
    folder = tmp_path / "out"
    folder.mkdir()
    monkeypatch.chdir(folder)
    result = runner.invoke(args=args)
    assert result.exit_code == 2 and message in result.output
    assert list(folder.iterdir()) == []                            # nothing written
