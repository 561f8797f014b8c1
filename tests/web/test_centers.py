"""Decisions, centers, status and annual reports: what each operation stores, and what it refuses (in Chinese,
with nothing changed)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from web.extensions import db
from web.io import center_excel
from web.models import AnnualReport, Application, AuditEvent, Center, Decision, Round
from web.services import centers
from web.services.centers import CenterError
from web.services.records import import_applications
from web.services.rounds import create_round


def build(app, make_application_record, refs=("APP-001", "APP-002")) -> None:
    """Applications reviewed in a selection round (APP-001 expects 4 + 1 invention patents)."""
    with app.app_context():
        records = [make_application_record(ref) for ref in refs]
        import_applications(records, actor=None)
        create_round("2020年遴选综合评审", "selection_review", as_of=date(2020, 10, 1), application_refs=list(refs),
                     actor=None)
        db.session.commit()


def application(ref: str) -> Application:
    return db.session.scalar(select(Application).where(Application.ref == ref))


def listed(ref: str = "APP-001") -> Center:
    """List ``ref`` in the pilot plan and return its center."""
    centers.record_decision(application(ref), outcome="listed", decided_on=date(2020, 12, 1),
                            document_no="沪经信技〔2020〕1号", reason=None, actor=None)
    return centers.center_of(application(ref))


def counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Decision, Center, AnnualReport, AuditEvent)}


FIGURES = {"contracts": 12, "contract_amount": 860.5, "market_turnover": 1200, "incubated_companies": 3,
           "rd_spending": 3500, "patents_applied": 9, "patents_granted": 4, "standards_national": 1,
           "rd_staff": 85, "companies_served": 140}


def test_listing_makes_a_center_audited_and_on_the_publicity_list(app, make_application_record):
    build(app, make_application_record)
    with app.app_context():
        center = listed()
        assert center.status == "building" and center.listed_on == date(2020, 12, 1)
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-2:] == ["decision.record", "center.create"]
        assert [row[0].ref for row in centers.publicity_list()] == ["APP-001"]


def test_a_deferral_needs_a_reason_and_changes_nothing(app, make_application_record):
    build(app, make_application_record)
    with app.app_context():
        before = counts()
        with pytest.raises(CenterError) as refusal:
            centers.record_decision(application("APP-002"), outcome="deferred", decided_on=date(2020, 12, 1),
                                    document_no="", reason="", actor=None)
        assert "文号" in str(refusal.value) and "理由" in str(refusal.value)
        assert counts() == before


def test_a_center_keeps_its_listing(app, make_application_record):
    build(app, make_application_record)
    with app.app_context():
        listed()
        db.session.commit()
        before = counts()
        with pytest.raises(CenterError, match="已是创新中心"):
            centers.record_decision(application("APP-001"), outcome="not_listed", decided_on=date(2021, 1, 1),
                                    document_no="x", reason="改变主意", actor=None)
        assert counts() == before


def test_a_report_is_stored_and_replaced(app, make_application_record):
    build(app, make_application_record)
    with app.app_context():
        center = listed()
        centers.save_report(center, 2021, FIGURES, actor=None)
        centers.save_report(center, "2021", {**FIGURES, "contracts": "15"}, actor=None)
        assert [(report.year, report.contracts) for report in center.reports] == [(2021, 15)]
        assert center.reports[0].contract_amount == 860.5


@pytest.mark.parametrize("changes, reason", [
    ({"contracts": 0}, "没有委托研发合同"),
    ({"patents_granted": 10}, "授权"),
    ({"rd_staff": -3}, "不能为负数"),
    ({"rd_staff": 2.5}, "整数"),
    ({"market_turnover": "很多"}, "不是数字"),
    ({"contract_amount": 1e9}, "超出范围"),
    ({"contract_amount": 0}, "合同金额为 0"),
])
def test_inconsistent_or_out_of_range_reports_are_refused(app, make_application_record, changes, reason):
    build(app, make_application_record)
    with app.app_context():
        center = listed()
        db.session.commit()
        before = counts()
        with pytest.raises(CenterError, match=reason):
            centers.save_report(center, 2021, {**FIGURES, **changes}, actor=None)
        assert counts() == before


def test_a_year_before_the_listing_is_refused(app, make_application_record):
    build(app, make_application_record)
    with app.app_context():
        center = listed()
        with pytest.raises(CenterError, match="列入试点计划之前"):
            centers.save_report(center, 2019, FIGURES, actor=None)


def test_status_changes_are_audited_and_withdrawal_needs_a_reason(app, make_application_record):
    build(app, make_application_record)
    with app.app_context():
        center = listed()
        with pytest.raises(CenterError, match="理由"):
            centers.set_status(center, "withdrawn", reason=" ", actor=None)
        assert center.status == "building"
        centers.set_status(center, "rectification", reason="指标未达标", actor=None)
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (event.action, event.before, event.after) == (
            "center.status", {"status": "building"}, {"status": "rectification", "reason": "指标未达标"})


def workbook(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append([center_excel.REF_HEADER, center_excel.YEAR_HEADER, *center_excel.INDICATOR_HEADERS.values()])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def figures_row(ref: str, year: int, **changes) -> list:
    values = {**FIGURES, **changes}
    return [ref, year, *(values.get(code) for code in center_excel.INDICATOR_HEADERS)]


def test_import_is_all_or_nothing(app, make_application_record):
    build(app, make_application_record)
    with app.app_context():
        listed("APP-001")
        listed("APP-002")
        db.session.commit()
        before = counts()
        data = workbook([figures_row("APP-001", 2021), figures_row("APP-002", 2021, patents_granted=99),
                         figures_row("APP-404", 2021)])
        with pytest.raises(CenterError) as refusal:
            centers.import_reports(center_excel.read_reports(data), actor=None)
        assert any("第 3 行" in reason and "授权" in reason for reason in refusal.value.reasons)
        assert any("第 4 行" in reason and "APP-404" in reason for reason in refusal.value.reasons)
        assert counts() == before
        stored = centers.import_reports(center_excel.read_reports(
            workbook([figures_row("APP-001", 2021), figures_row("APP-002", 2021)])), actor=None)
        assert sorted(report.center.application.ref for report in stored) == ["APP-001", "APP-002"]


def test_the_template_round_trips(app, make_application_record):
    build(app, make_application_record)
    with app.app_context():
        center = listed()
        data = center_excel.report_template([center], 2021)
        header = [cell.value for cell in load_workbook(io.BytesIO(data)).active[1]]
        assert header[:3] == ["申报书编号", "中心名称", "年度"] and "委托研发合同数" in header
        rows = center_excel.read_reports(data)
        assert [(row.ref, row.year) for row in rows] == [("APP-001", 2021)]


def test_an_unknown_column_is_refused(app):
    with app.app_context(), pytest.raises(center_excel.ReportFileError, match="未知列"):
        center_excel.read_reports(_with_extra_column())


def _with_extra_column() -> bytes:
    book = Workbook()
    book.active.append([center_excel.REF_HEADER, center_excel.YEAR_HEADER, "利润"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- pages, API, command line

def test_organizer_decides_exports_and_imports_on_the_pages(app, client, auth, csrf_token,
                                                            make_application_record):
    build(app, make_application_record)
    auth.login("organizer")
    page = client.get("/centers/decisions").get_data(as_text=True)
    assert "审核决定与试点名单" in page and "APP-002" in page
    with app.app_context():
        first, second = application("APP-001").id, application("APP-002").id
    refused = client.post(f"/centers/decisions/{second}", data={
        "csrf_token": csrf_token(page), "outcome": "deferred", "decided_on": "2020-12-01", "document_no": "x"},
        follow_redirects=True)
    assert "不列入或暂缓的决定须填写理由" in refused.get_data(as_text=True)
    client.post(f"/centers/decisions/{first}", data={
        "csrf_token": csrf_token(page), "outcome": "listed", "decided_on": "2020-12-01",
        "document_no": "沪经信技〔2020〕1号"})
    with app.app_context():
        assert decision_of_ref("APP-002") is None
        center_id = centers.center_of(application("APP-001")).id
    xlsx = client.get("/centers/decisions/publicity.xlsx")
    rows = list(load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert rows[1][1:3] == ("APP-001", make_application_record("APP-001")["center_name"])
    assert client.get("/centers/decisions/publicity.pdf").data.startswith(b"%PDF")
    index = client.get("/centers/").get_data(as_text=True)
    bad = workbook([figures_row("APP-001", 2021, contract_amount=500, contracts=0)])
    answer = client.post("/centers/reports/import", data={"csrf_token": csrf_token(index),
                                                          "file": (io.BytesIO(bad), "reports.xlsx")},
                         follow_redirects=True)
    assert "没有委托研发合同" in answer.get_data(as_text=True)
    good = workbook([figures_row("APP-001", 2021)])
    client.post("/centers/reports/import", data={"csrf_token": csrf_token(index),
                                                 "file": (io.BytesIO(good), "reports.xlsx")})
    center_page = client.get(f"/centers/{center_id}").get_data(as_text=True)
    assert "2021" in center_page and "860.5" in center_page and "试点建设中" in center_page


def decision_of_ref(ref: str):
    return centers.decision_of(application(ref))


def test_the_api_records_decisions_reports_and_status(app, client, make_user, make_application_record):
    from web.services.tokens import create_token

    build(app, make_application_record)
    user = make_user("integration", "organizer")
    with app.app_context():
        token = create_token(db.session.merge(user), "test", actor=None)
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    answer = client.put("/api/v1/applications/APP-001/decision", headers=headers,
                        json={"outcome": "listed", "decided_on": "2020-12-01", "document_no": "沪经信技〔2020〕1号"})
    assert answer.status_code == 200 and answer.get_json()["center"]
    center_id = answer.get_json()["center"]
    refused = client.put(f"/api/v1/centers/{center_id}/reports/2021", headers=headers,
                         json={"indicators": {**FIGURES, "patents_granted": 20}})
    assert refused.status_code == 422 and any("授权" in reason for reason in refused.get_json()["errors"])
    assert client.get(f"/api/v1/centers/{center_id}", headers=headers).get_json()["reports"] == []
    stored = client.put(f"/api/v1/centers/{center_id}/reports/2021", headers=headers, json={"indicators": FIGURES})
    assert stored.get_json()["reports"][0]["indicators"]["contracts"] == 12
    status = client.put(f"/api/v1/centers/{center_id}/status", headers=headers,
                        json={"status": "rectification", "reason": "合同金额未达标"})
    assert status.get_json()["status"] == "rectification"


def test_the_command_line_decides_imports_and_changes_status(app, runner, tmp_path, make_application_record):
    build(app, make_application_record)
    result = runner.invoke(args=["centers", "decide", "APP-001", "--outcome", "listed", "--on", "2020-12-01",
                                 "--document", "沪经信技〔2020〕1号"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "reports.xlsx"
    path.write_bytes(workbook([figures_row("APP-001", 2021, rd_staff=-1)]))
    refused = runner.invoke(args=["centers", "import-reports", str(path)])
    assert refused.exit_code == 1 and "不能为负数" in refused.output
    path.write_bytes(workbook([figures_row("APP-001", 2021)]))
    assert runner.invoke(args=["centers", "import-reports", str(path)]).exit_code == 0
    listing = runner.invoke(args=["centers", "list"]).output
    center_id = int(listing.split("\t")[0])
    assert "2021" in listing
    assert runner.invoke(args=["centers", "status", str(center_id), "withdrawn"]).exit_code == 1
    assert runner.invoke(args=["centers", "status", str(center_id), "withdrawn", "--reason", "自愿退出"]).exit_code == 0
    assert '"status": "withdrawn"' in runner.invoke(args=["centers", "show", str(center_id)]).output


def test_an_expert_sees_the_indicators_beside_an_annual_sheet(app, client, auth, make_application_record,
                                                              make_expert_record):
    from web.models import Assignment, AssignmentVersion, Expert, ScoreSheet
    from web.services.records import import_experts

    build(app, make_application_record)
    with app.app_context():
        center = listed()
        centers.save_report(center, 2021, FIGURES, actor=None)
        centers.save_report(center, 2023, {**FIGURES, "contracts": 20}, actor=None)
        import_experts([make_expert_record("EXP-A", declared=[])], actor=None)
        round_ = create_round("2023年度评估", "annual", as_of=date(2024, 3, 1), application_refs=["APP-001"],
                              actor=None)
        round_.state = "scoring"
        expert = db.session.scalar(select(Expert).where(Expert.ref == "EXP-A"))
        version = AssignmentVersion(round=round_, number=1, status="manual", active=True, settings={})
        seat = Assignment(version=version, application=center.application, expert=expert, pool="technology",
                          fit=0.8, state="accepted")
        db.session.add_all([version, ScoreSheet(round=round_, application=center.application, expert=expert,
                                                state="draft", confidence=1.0, conflict_declared=False)])
        db.session.commit()
        seat_id = seat.id
    auth.login("expert", expert_ref="EXP-A")
    page = client.get(f"/expert/seats/{seat_id}/sheet").get_data(as_text=True)
    assert "委托研发合同数" in page and "<svg" in page and 'role="img"' in page
    assert "2022" in page and "没有报告" in page  # the missing year is named
    contracts_row = page[page.index("委托研发合同数", page.index('id="indicator-table"')):].split("</tr>")[0]
    assert contracts_row.count('<td class="num">') == 4 and '<td class="num">20</td>' in contracts_row


def test_no_indicator_panel_in_a_selection_round(app, make_application_record):
    build(app, make_application_record)
    with app.app_context():
        listed()
        selection = db.session.scalar(select(Round))
        assert centers.indicator_history(application("APP-001"), selection) is None


def test_an_annual_round_takes_the_centers_due(app, make_application_record):
    build(app, make_application_record, refs=("APP-001", "APP-002", "APP-003"))
    with app.app_context():
        listed("APP-001")
        late = listed("APP-002")
        late.listed_on = date(2021, 6, 1)
        gone = listed("APP-003")
        centers.set_status(gone, "withdrawn", reason="自愿退出", actor=None)
        round_ = centers.open_evaluation_round("annual", 2021, actor=None)
        assert (round_.kind, round_.as_of, [a.ref for a in round_.applications]) == (
            "annual", date(2022, 3, 1), ["APP-001"])
        assert centers.evaluated_year(round_) == 2021
        with pytest.raises(CenterError, match="没有到期"):
            centers.open_evaluation_round("triennial", 2021, actor=None)


def test_the_evaluation_page_and_export_show_grades_beside_the_figures(app, client, auth,
                                                                       make_application_record):
    build(app, make_application_record)
    with app.app_context():
        center = listed()
        centers.save_report(center, 2021, FIGURES, actor=None)
        round_id = centers.open_evaluation_round("annual", 2021, actor=None).id
        db.session.commit()
    auth.login("organizer")
    page = client.get(f"/centers/evaluations/{round_id}").get_data(as_text=True)
    assert "委托研发合同数" in page and "860.5" in page
    rows = list(load_workbook(io.BytesIO(client.get(f"/centers/evaluations/{round_id}/results.xlsx").data))
                .active.iter_rows(values_only=True))
    assert rows[0][:5] == ("排名", "申报书编号", "中心名称", "得分", "等级")
    assert rows[1][1] == "APP-001" and rows[1][6] == 12


def test_patents_granted_are_held_against_those_applied_since_the_first_report(app, make_application_record):
    """A patent is granted about two years after it is applied for: 2022 may grant more than it applies for, as
    long as grants since 2021 do not outrun applications (docs/scoring.md)."""
    build(app, make_application_record)
    with app.app_context():
        center = listed()
        centers.save_report(center, 2021, {**FIGURES, "patents_applied": 30, "patents_granted": 8}, actor=None)
        centers.save_report(center, 2022, {**FIGURES, "patents_applied": 5, "patents_granted": 20}, actor=None)
        with pytest.raises(CenterError, match="累计发明专利授权数（48）超过累计申请数（35）"):
            centers.save_report(center, 2022, {**FIGURES, "patents_applied": 5, "patents_granted": 40}, actor=None)


def test_completion_and_the_application_patent_target_come_from_the_engine(app, make_application_record):
    build(app, make_application_record)
    with app.app_context():
        center = listed()
        application("APP-001").expected_domestic_invention, application("APP-001").expected_foreign_invention = 80, 20
        centers.set_targets(center, {"contracts": "10", "contract_amount": "1000"}, actor=None)
        report = centers.save_report(center, 2021, {**FIGURES, "patents_applied": 30, "patents_granted": 8},
                                     actor=None)
        centers.save_report(center, 2023, {**FIGURES, "patents_applied": 25, "patents_granted": 8}, actor=None)
        ratios = centers.completions(center, report)
        assert ratios["contracts"] == pytest.approx(1.2) and ratios["contract_amount"] == pytest.approx(0.8605)
        patents = centers.plan_patents(center)
        assert (patents.total, patents.target, patents.missing_years) == (55, 100.0, (2022,))


def test_a_target_out_of_range_is_refused(app, make_application_record):
    build(app, make_application_record)
    with app.app_context():
        center = listed()
        with pytest.raises(CenterError, match="（目标）：不能为负数"):
            centers.set_targets(center, {"contracts": "-1"}, actor=None)
        assert center.targets == []
