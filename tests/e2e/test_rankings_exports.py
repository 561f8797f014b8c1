"""In the browser: the organizer reads the ranking with the planted outlier flagged, traces it to the sheets, and
downloads the Excel ranking and the PDF score sheets (a job: the link leads to a progress bar that advances,
then to the file), whose content is read back. Clicks time out after 15 s (the page fixture)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from tests.fonts import require_cjk_font

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api").expect
WAIT_STEPS = 1200           # the PDF job may take up to 2 minutes on a loaded machine


def test_organizer_sees_the_outlier_and_exports_excel_and_pdf(page, live, login, seed_demo, tmp_path):
    seed_demo(live, applications=6, experts=80)
    live.user("organizer", "organizer")
    planted = live.run(_demo_round)
    application, expert = planted["outlier"]
    login(page, live, "organizer")

    page.goto(f"{live.url}/rankings/")
    page.get_by_role("link", name=planted["name"]).first.click()
    page.wait_for_url(f"**/rankings/rounds/{planted['round']}")
    rows = page.locator("table.ranking tbody tr")
    expect(rows).to_have_count(planted["applications"])
    flags = rows.filter(has=page.get_by_role("link", name=application, exact=True)).locator("ul.flags li")
    codes = {item.locator("span[title]").get_attribute("title"): item.inner_text() for item in flags.all()}
    assert {"ROBUST", "DEVIATION"} <= set(codes) and expert in codes["DEVIATION"]

    page.get_by_role("link", name=application, exact=True).click()  # the trace down to each sheet
    page.wait_for_url(f"**/rankings/rounds/{planted['round']}/applications/*")
    assert expert in page.locator("main").inner_text()
    page.go_back()

    with page.expect_download() as download:
        page.locator("a[href*='export.xlsx']").click()
    workbook_path = tmp_path / download.value.suggested_filename
    download.value.save_as(workbook_path)
    _check_workbook(workbook_path, planted)

    page.locator("a[href$='/sheets.pdf']").click()             # a job: its page shows the progress bar
    page.wait_for_url("**/jobs/*")
    bar = page.locator("main progress")
    seen = [(int(bar.get_attribute("value")), int(bar.get_attribute("max")))]
    download_link = page.locator("main a.download")
    for _ in range(WAIT_STEPS):
        if download_link.count():
            break
        page.wait_for_timeout(100)
        seen.append((int(bar.get_attribute("value")), int(bar.get_attribute("max"))))
    seen.append((int(bar.get_attribute("value")), int(bar.get_attribute("max"))))
    values = [value for value, _ in seen]
    assert values == sorted(values) and values[0] < values[-1] == seen[-1][1] > 1     # it advanced to the end
    with page.expect_download() as download:
        download_link.click()
    pdf_path = tmp_path / download.value.suggested_filename
    download.value.save_as(pdf_path)
    _check_pdf(pdf_path.read_bytes(), planted)


def _check_workbook(path, planted: dict) -> None:
    from openpyxl import load_workbook

    assert path.suffix == ".xlsx"
    workbook = load_workbook(path, read_only=True)
    ranking = list(workbook["排名"].iter_rows(values_only=True))
    header, lines = ranking[0], ranking[1:]
    assert header[:4] == ("排名", "申报书编号", "中心名称", "得分")
    assert sorted(line[1] for line in lines) == sorted(planted["refs"])
    application, expert = planted["outlier"]
    outlier_line = next(line for line in lines if line[1] == application)
    assert expert in outlier_line[header.index("标记")]
    detail = list(workbook["评分明细"].iter_rows(values_only=True))
    total = detail[0].index("总分")
    outlier_sheet = next(row for row in detail[1:] if row[0] == application and row[2] == expert)
    assert outlier_sheet[total] == pytest.approx(planted["outlier_total"])


def _check_pdf(content: bytes, planted: dict) -> None:
    require_cjk_font()
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    pages = [page.extract_text() for page in reader.pages]
    # One page per submitted sheet and one panel summary per application, at least.
    assert len(pages) >= planted["submitted"] + planted["applications"]
    text = "\n".join(pages)
    application, expert = planted["outlier"]
    assert planted["name"] in text and "专家组评分汇总表" in text and expert in text
    assert f"共 {len(pages)} 页" in pages[-1]


def _demo_round() -> dict:
    """The demo's selection round (web.demo.round) on the seeded records, entered as the organizer."""
    from web.demo.round import SELECTION_NAME, load_demo_round
    from web.extensions import db
    from web.models import Application, Expert, Round, ScoreSheet, User

    organizer = db.session.scalar(select(User).where(User.username == "organizer"))
    planted = load_demo_round(seed=7, actor=organizer, accounts=1)
    round_ = db.session.get(Round, planted.round_id)
    application, expert = planted.outlier
    outlier = db.session.scalar(select(ScoreSheet).join(Expert).join(Application).where(
        ScoreSheet.round_id == round_.id, Expert.ref == expert, Application.ref == application))
    assert outlier.state == "submitted"
    return {"round": round_.id, "name": SELECTION_NAME, "outlier": planted.outlier, "outlier_total": outlier.total,
            "applications": len(round_.applications), "refs": [a.ref for a in round_.applications],
            "submitted": planted.sheets["submitted"]}
