"""In the browser, in Chinese: the organizer records decisions and exports the publicity list (Excel and PDF),
imports a year's indicators (a refused file first), opens the annual evaluation; an expert sees the center's
indicators beside the sheet and scores; the organizer sees the ranking with grades and exports it, opens the
center's page showing its three years and its history in sentences, and sets the triennial round's weights (a
pair not summing to 1 refused first)."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api").expect

FIGURES = {"委托研发合同数": 12, "委托研发合同金额（万元）": 860.5, "技术市场交易额（万元）": 1200, "孵化企业数": 3,
           "发明专利申请数": 9, "发明专利授权数": 4, "研发人员数": 85}
SMALL_PANELS = {"panel_size": 5, "max_load": 5, "reserves": 3,
                "pool_quotas": {"technology": [2, 3], "industry": [1, 2], "economics": [0, 1],
                                "management": [0, 1], "law": [0, 1]}}


def report_file(path, ref: str, year: int, **changes) -> str:
    book = Workbook()
    figures = {**FIGURES, **changes}
    book.active.append(["申报书编号", "年度", *figures])
    book.active.append([ref, year, *figures.values()])
    book.save(path)
    return str(path)


def test_from_decision_to_an_annual_evaluation(page, live, login, logout, seed_demo, scoring_round, tmp_path):
    seed_demo(live, applications=6, experts=80)
    scoring_round(live)
    listed_ref, deferred_ref = live.run(_two_refs)
    login(page, live, "organizer")

    page.goto(f"{live.url}/centers/decisions")
    expect(page.get_by_role("heading", name="审核决定与试点名单")).to_be_visible()
    deferred = page.locator("tr", has_text=deferred_ref)
    deferred.locator("select[name=outcome]").select_option("deferred")
    deferred.locator("input[name=document_no]").fill("沪经信技〔2020〕118号")
    deferred.locator("button[type=submit]").click()
    expect(page.get_by_role("alert").first).to_contain_text("不列入或暂缓的决定须填写理由")
    listed = page.locator("tr", has_text=listed_ref)
    listed.locator("select[name=outcome]").select_option("listed")
    listed.locator("input[name=decided_on]").fill("2020-12-15")
    listed.locator("input[name=document_no]").fill("沪经信技〔2020〕118号")
    listed.locator("button[type=submit]").click()
    expect(page.locator("tr", has_text=listed_ref)).to_contain_text("列入试点计划")
    with page.expect_download() as download:
        page.get_by_role("link", name="Excel").click()
    rows = list(load_workbook(io.BytesIO(download.value.path().read_bytes())).active.values)
    assert rows[0][:3] == ("序号", "申报书编号", "创新中心名称") and rows[1][1] == listed_ref and len(rows) == 2
    with page.expect_download() as download:
        page.get_by_role("link", name="PDF").click()
    assert download.value.path().read_bytes().startswith(b"%PDF")

    page.goto(f"{live.url}/centers/")
    page.set_input_files("#report-file", report_file(tmp_path / "bad.xlsx", listed_ref, 2021, 委托研发合同数=0))
    page.get_by_role("button", name="导入").click()
    expect(page.get_by_role("alert").first).to_contain_text("没有委托研发合同")
    assert live.run(_years, listed_ref) == []
    page.set_input_files("#report-file", report_file(tmp_path / "good.xlsx", listed_ref, 2021))
    page.get_by_role("button", name="导入").click()
    expect(page.locator(".flash.ok")).to_contain_text("已导入 1 份年度报告")
    live.run(_later_years, listed_ref)

    page.locator("select[name=kind]").select_option("annual")
    page.fill("input[name=year]", "2023")
    page.get_by_role("button", name="为到期的创新中心创建评估轮次").click()
    round_id = int(page.url.rstrip("/").split("/")[-1])
    seat = live.run(_match, round_id)
    live.user("expert-c", "expert", expert_ref=seat["expert"])
    logout(page)

    login(page, live, "expert-c")
    page.goto(f"{live.url}/expert/seats/{seat['id']}/declare")
    page.check("input[name=conflict][value=no]")
    page.locator("form.declaration button[type=submit]").click()
    page.wait_for_url(f"**/expert/seats/{seat['id']}/sheet")
    table = page.locator("#indicator-table")
    expect(table).to_contain_text("委托研发合同数")
    expect(table.locator("thead")).to_contain_text("2021")
    expect(table.locator("thead")).to_contain_text("2023")
    expect(page.get_by_role("img", name="各年度主要市场效益指标（虚线为年度目标）")).to_be_visible()
    for criterion in live.run(_criteria, round_id):
        page.fill(f"input[name=score-{criterion['code']}]", f"{criterion['max'] - criterion['step']:g}")
    page.check("input[name=opinion][value=recommend]")
    page.fill("textarea[name=comment]", "市场效益指标完成较好。")
    page.locator("button[name=action][value=submit]").click()
    page.locator("form.confirm-submit button[name=action][value=submit]").click()   # the confirmation step
    page.wait_for_url("**/expert/")
    logout(page)

    live.run(_submit_other_seats, round_id, seat["id"])
    login(page, live, "organizer")
    page.goto(f"{live.url}/centers/evaluations/{round_id}")
    line = page.locator("#evaluation tbody tr", has_text=live.run(_name, listed_ref))
    expect(line).to_contain_text(re.compile("优秀|良好|合格|不合格"))
    expect(line).to_contain_text("1075.62")      # the 2023 report under evaluation
    with page.expect_download() as download:
        page.get_by_role("link", name="Excel").click()
    rows = list(load_workbook(io.BytesIO(download.value.path().read_bytes())).active.values)
    assert rows[0][3:5] == ("得分", "等级") and rows[1][4] in ("优秀", "良好", "合格", "不合格")
    live.run(_close, round_id)

    page.goto(f"{live.url}/centers/")
    page.locator("a", has_text=live.run(_name, listed_ref)).first.click()
    header = page.locator("#indicators thead")
    for year in ("2021", "2022", "2023"):
        expect(header).to_contain_text(year)
    expect(page.locator("#center-status")).to_have_text("试点建设中")
    expect(page.locator("main")).to_contain_text("2023年度上海市制造业创新中心年度评估")
    history = page.locator("#center-history")
    expect(history).to_contain_text("记录审核决定：列入试点计划（2020-12-15，文号 沪经信技〔2020〕118号）")
    expect(history).to_contain_text("填报 2021 年度指标：委托研发合同数 12")
    expect(history).to_contain_text(re.compile("2023年度上海市制造业创新中心年度评估 已结束：得分 [0-9.]+，等级"))
    expect(history).to_contain_text("UTC+8")

    page.goto(f"{live.url}/centers/")
    page.locator("select[name=kind]").select_option("triennial")
    page.fill("input[name=year]", "2023")
    page.get_by_role("button", name="为到期的创新中心创建评估轮次").click()
    triennial_id = int(page.url.rstrip("/").split("/")[-1])
    page.goto(f"{live.url}/centers/evaluations/{triennial_id}")
    weights = page.locator("#assessment-weights")
    expect(weights.locator("input[name=triennial]")).to_have_value("0.4")
    weights.locator("input[name=triennial]").fill("0.5")
    weights.locator("input[name=annual]").fill("0.6")
    weights.get_by_role("button", name="保存权重").click()
    expect(page.get_by_role("alert").first).to_contain_text("两项权重之和为 1.1，须等于 1")
    assert live.run(_weights, triennial_id) == (None, None)
    weights.locator("input[name=triennial]").fill("0.3")
    weights.locator("input[name=annual]").fill("0.7")
    weights.get_by_role("button", name="保存权重").click()
    expect(page.locator(".flash.ok")).to_contain_text("权重已保存")
    expect(weights.locator("input[name=annual]")).to_have_value("0.7")
    assert live.run(_weights, triennial_id) == (0.3, 0.7)


def _two_refs() -> tuple[str, str]:
    from web.services import centers

    refs = [application.ref for application in centers.candidates()]
    return refs[0], refs[1]


def _years(ref: str) -> list[int]:
    from web.services.centers import center_of

    center = center_of(_application(ref))
    return [report.year for report in center.reports] if center else []


def _application(ref: str):
    from sqlalchemy import select

    from web.extensions import db
    from web.models import Application

    return db.session.scalar(select(Application).where(Application.ref == ref))


def _name(ref: str) -> str:
    return _application(ref).center_name


def _later_years(ref: str) -> None:
    from web.services import centers

    center = centers.center_of(_application(ref))
    for year, scale in ((2022, 1.1), (2023, 1.25)):
        centers.save_report(center, year, {"contracts": round(12 * scale), "contract_amount": 860.5 * scale,
                                           "market_turnover": 1200 * scale, "incubated_companies": 3,
                                           "patents_applied": 10, "patents_granted": 5}, actor=None)


def _match(round_id: int) -> dict:
    from sqlalchemy import select

    from web.extensions import db
    from web.models import Round, User
    from web.services import invitations, panels, rounds

    organizer = db.session.scalar(select(User).where(User.username == "organizer"))
    round_ = db.session.get(Round, round_id)
    assert round_.as_of == date(2024, 3, 1)
    rounds.update_settings(round_, SMALL_PANELS, actor=organizer)
    rounds.transition(round_, "assigning", actor=organizer)
    assert panels.run_matching(round_, actor=organizer, seed=1).active
    rounds.transition(round_, "scoring", actor=organizer)
    invitations.invite(round_, actor=organizer)
    seat = panels.seats(round_)[0]
    return {"id": seat.id, "expert": seat.expert.ref}


def _criteria(round_id: int) -> list[dict]:
    from web.extensions import db
    from web.models import Round

    return [{"code": c.code, "max": c.max, "step": c.step} for c in db.session.get(Round, round_id).template.criteria]


def _submit_other_seats(round_id: int, seat_id: int) -> None:
    """Every other expert of the round submits a sheet (as the demo does), so the panel has a score."""
    import random

    from web.demo.round import _fill_sheet, sheet_values
    from web.extensions import db
    from web.models import Round
    from web.services import panels

    round_ = db.session.get(Round, round_id)
    criteria = list(round_.template.criteria)
    rng = random.Random(7)
    for seat in panels.seats(round_):
        if seat.id != seat_id:
            _fill_sheet(seat, "submitted", sheet_values(criteria, [0.85] * len(criteria)), rng)


def _close(round_id: int) -> None:
    from sqlalchemy import select

    from web.extensions import db
    from web.models import Round, User
    from web.services import rounds

    organizer = db.session.scalar(select(User).where(User.username == "organizer"))
    rounds.transition(db.session.get(Round, round_id), "closed", actor=organizer, confirmed=True)


def _weights(round_id: int) -> tuple:
    from web.extensions import db
    from web.models import Round

    round_ = db.session.get(Round, round_id)
    return round_.assessment_weight_triennial, round_.assessment_weight_annual
