"""Decisions, centers, status and annual reports: what each operation stores, and what it refuses (in Chinese,
with nothing changed)."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from scoring.assessment import AnnualScore
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


def test_a_refused_import_of_many_rows_fits_the_session_cookie_and_counts_the_rest(app, client, auth, csrf_token,
                                                                                 make_application_record):
    build(app, make_application_record)
    with app.app_context():
        listed("APP-001")
        db.session.commit()
    auth.login("organizer")
    page = client.get("/centers/").get_data(as_text=True)
    data = workbook([figures_row(f"APP-{number:04d}", 2021) for number in range(1000, 1500)])
    answer = client.post("/centers/reports/import", content_type="multipart/form-data",
                         data={"csrf_token": csrf_token(page), "file": (io.BytesIO(data), "reports.xlsx")})
    cookies = answer.headers.getlist("Set-Cookie")
    assert answer.status_code == 302 and cookies and max(len(cookie) for cookie in cookies) < 4096
    shown = client.get("/centers/").get_data(as_text=True)
    assert "APP-1000" in shown and "APP-1499" not in shown
    assert re.search(r"另有 4\d\d 条消息", shown)


def test_the_template_round_trips(app, make_application_record):
    build(app, make_application_record)
    with app.app_context():
        center = listed()
        data = center_excel.report_template([center], 2021)
        header = [cell.value for cell in load_workbook(io.BytesIO(data)).active[1]]
        assert header[:3] == ["申报书编号", "中心名称", "年度"] and "委托研发合同数" in header
        rows = center_excel.read_reports(data)
        assert [(row.ref, row.year) for row in rows] == [("APP-001", 2021)]


def test_no_center_workbook_turns_a_name_into_a_formula(app, make_application_record):
    import zipfile

    build(app, make_application_record)
    with app.app_context():
        center = listed("APP-001")
        center.application.center_name = '=HYPERLINK("http://example.com","点这里")'
        files = {"template": center_excel.report_template([center], 2021),
                 "publicity": center_excel.publicity_workbook(centers.publicity_list())}
    for name, data in files.items():
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            sheets = [archive.read(part) for part in archive.namelist() if part.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in sheet or b"<f " in sheet for sheet in sheets), name
        rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
        assert any('=HYPERLINK("http://example.com","点这里")' in row for row in rows), name


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
    assert "审核决定与试点名单" in page and "APP-002" in page and "2020年遴选综合评审" in page
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
    assert center_page.count("变更记录") == 1 and "变更记录" not in center_page.split("</title>")[0]
    assert "沪经信技〔2020〕1号" in center_page.split("变更记录")[1]   # the audited decision, readable


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
    for body in ({}, {"indicators": None}, {"indicators": [1, 2]}, {"figures": FIGURES}):   # never an empty report
        shapeless = client.put(f"/api/v1/centers/{center_id}/reports/2021", headers=headers, json=body)
        assert shapeless.status_code == 422 and shapeless.get_json()["code"] == "invalid_body"
        assert "indicators：" in shapeless.get_json()["errors"][0]
    kept = client.get(f"/api/v1/centers/{center_id}", headers=headers).get_json()["reports"]
    assert kept[0]["indicators"]["contracts"] == 12
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


def test_the_command_line_refuses_in_chinese_and_changes_nothing(app, runner, make_application_record,
                                                                 table_counts):
    build(app, make_application_record)
    assert runner.invoke(args=["centers", "decide", "APP-001", "--outcome", "listed", "--on", "2020-12-01",
                               "--document", "沪经信技〔2020〕1号"]).exit_code == 0
    center_id = int(runner.invoke(args=["centers", "list"]).output.split("\t")[0])
    before = table_counts()
    cases = [
        (["centers", "decide", "APP-404", "--outcome", "listed", "--on", "2020-12-01", "--document", "1号"],
         "不存在申报书 APP-404。"),
        (["centers", "report-document", str(center_id), "2021", __file__], f"创新中心 {center_id} 没有 2021 年的报告"),
        (["centers", "targets", str(center_id), "bogus=3"], "未知指标：bogus。"),
    ]
    for args, sentence in cases:
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and sentence in result.output, result.output
    assert table_counts() == before

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
    # the engine's trend over 2021–2023 with 2022 missing: 12 → 20 over two years is +4 a year, not interpolated
    assert '<td class="num trend">+4.00</td>' in contracts_row


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


def test_an_evaluation_year_past_the_calendar_is_refused_in_chinese_not_a_500(app, client, auth, csrf_token,
                                                                            make_application_record):
    build(app, make_application_record)
    with app.app_context():
        listed("APP-001")
        db.session.commit()
    auth.login("organizer")
    with app.app_context():
        before = counts()
    page = client.get("/centers/").get_data(as_text=True)
    for year in ("9999", "99999999999999999999", "0"):          # 9999: the round's date would be 10000-03-01
        answer = client.post("/centers/evaluations", follow_redirects=True,
                             data={"csrf_token": csrf_token(page), "kind": "annual", "year": year})
        assert answer.status_code == 200 and "缺少年度或年度无效" in answer.get_data(as_text=True), year
    with app.app_context():
        assert counts() == before and db.session.scalar(select(func.count()).select_from(Round)) == 1


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


# ---------------------------------------------------------------- the triennial assessment

def scored_round(name: str, kind: str, as_of: date, shares: dict[str, float]) -> Round:
    """A round of ``kind`` whose five experts submitted ``share`` of every criterion's maximum per application."""
    from web.models import Expert, Score, ScoreSheet

    round_ = create_round(name, kind, as_of=as_of, application_refs=list(shares), actor=None)
    round_.state = "scoring"
    experts = list(db.session.scalars(select(Expert).order_by(Expert.ref)))
    for ref, share in shares.items():
        for expert in experts:
            sheet = ScoreSheet(round=round_, application=application(ref), expert=expert, state="submitted",
                               confidence=1.0, conflict_declared=False, opinion="recommend", comment="同意。")
            sheet.scores = [Score(criterion=criterion, value=round(criterion.max * share / criterion.step)
                                  * criterion.step, comment="论证充分。")
                            for criterion in round_.template.criteria]
            db.session.add(sheet)
    db.session.flush()
    return round_


def triennial_world(app, make_application_record, make_expert_record, *, closed: bool = False) -> int:
    """Two centers evaluated 2021–2023 and scored in a triennial round (still scoring unless ``closed``); the
    triennial round's id.

    APP-001 is good every year; APP-002 fails 2021 and 2022 and is not evaluated in 2023.
    """
    from web.services.records import import_experts

    build(app, make_application_record)
    with app.app_context():
        import_experts([make_expert_record(f"EXP-{n}", declared=[]) for n in range(5)], actor=None)
        for ref in ("APP-001", "APP-002"):
            listed(ref)
        scored_round("2021年度评估", "annual", date(2022, 3, 1), {"APP-001": 0.9, "APP-002": 0.5})
        scored_round("2022年度评估", "annual", date(2023, 3, 1), {"APP-001": 0.95, "APP-002": 0.5})
        scored_round("2023年度评估", "annual", date(2024, 3, 1), {"APP-001": 0.95})
        triennial = scored_round("2021—2023年三年考核", "triennial", date(2024, 4, 1),
                                 {"APP-001": 0.9, "APP-002": 0.7})
        if closed:
            triennial.state = "closed"
        db.session.commit()
        return triennial.id


def test_the_triennial_assessment_combines_the_annual_scores_and_applies_outcomes(
        app, client, auth, csrf_token, make_application_record, make_expert_record):
    from web.services import assessments

    round_id = triennial_world(app, make_application_record, make_expert_record, closed=True)
    with app.app_context():
        rows = {row.application.ref: row for row in assessments.triennial_rows(db.session.get(Round, round_id))}
        good, poor = rows["APP-001"], rows["APP-002"]
        assert [item.year for item in good.annual] == [2021, 2022, 2023]
        assert poor.annual[2].score is None
        expected = 0.4 * good.assessment.triennial_score + 0.6 * good.assessment.annual_mean
        assert good.assessment.combined == pytest.approx(expected)
        assert poor.assessment.outcome == "rectify"
        assert {flag.code for flag in poor.assessment.flags} >= {"missing_year", "repeated_fail"}
        poor_id = application("APP-002").id
    auth.login("organizer")
    page = client.get(f"/centers/evaluations/{round_id}").get_data(as_text=True)
    assert "整改" in page and "结论最高为整改" in page
    workbook_data = client.get(f"/centers/evaluations/{round_id}/results.xlsx").data
    book = load_workbook(io.BytesIO(workbook_data))
    assert book.sheetnames == ["考核结果", "推荐申报国家级", "合格", "整改", "退出"]
    assert [row[0] for row in book["整改"].iter_rows(min_row=2, values_only=True)] == ["APP-002"]
    assert client.get(f"/centers/evaluations/{round_id}/results.pdf").data.startswith(b"%PDF")
    asked = client.post(f"/centers/evaluations/{round_id}/outcomes/{poor_id}", data={"csrf_token": csrf_token(page)})
    assert "状态将变为“整改”" in asked.get_data(as_text=True)          # the confirmation page first
    with app.app_context():
        assert centers.center_of(application("APP-002")).status == "building"
    client.post(f"/centers/evaluations/{round_id}/outcomes/{poor_id}",
                data={"csrf_token": csrf_token(page), "confirm": "yes"})
    with app.app_context():
        center = centers.center_of(application("APP-002"))
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "center.outcome")).one()
        assert center.status == "rectification"
        assert event.before == {"status": "building"}
        assert event.after["outcome"] == "rectify" and event.after["round_id"] == round_id
        assert event.after["weights"] == {"triennial": 0.4, "annual": 0.6}


def test_an_outcome_is_applied_only_to_a_closed_round_and_only_when_confirmed(
        app, client, auth, csrf_token, table_counts, make_application_record, make_expert_record):
    from web.services import assessments

    round_id = triennial_world(app, make_application_record, make_expert_record)
    poor = {"csrf_token": None, "confirm": "yes"}
    with app.app_context():
        poor_id = application("APP-002").id
    auth.login("organizer")
    before = table_counts()
    page = client.get(f"/centers/evaluations/{round_id}").get_data(as_text=True)
    poor["csrf_token"] = csrf_token(page)
    client.post(f"/centers/evaluations/{round_id}/outcomes/{poor_id}", data=poor)
    assert "结束后才能应用考核结论" in client.get(f"/centers/evaluations/{round_id}").get_data(as_text=True)
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        row = next(row for row in assessments.triennial_rows(round_) if row.application.ref == "APP-002")
        with pytest.raises(CenterError, match="结束后才能应用考核结论"):
            assessments.apply_outcome(round_, row, actor=None, confirmed=True)
        round_.state = "closed"
        with pytest.raises(CenterError, match="需要在确认页面上确认"):
            assessments.apply_outcome(round_, row, actor=None, confirmed=False)
        db.session.rollback()
        assert centers.center_of(application("APP-002")).status == "building"
    assert table_counts() == before


def weights_and_audit(round_id: int) -> tuple[tuple, int]:
    round_ = db.session.get(Round, round_id)
    audited = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.action == "round.assessment_weights"))
    return (round_.assessment_weight_triennial, round_.assessment_weight_annual), audited


@pytest.mark.parametrize("triennial, annual, reason", [
    ("1.5", "-0.5", "三年考核专家评分权重：1.5 不在 0 到 1 之间"),
    ("0.5", "0.6", "两项权重之和为 1.1，须等于 1"),
    ("", "0.6", "三年考核专家评分权重：须填写 0 到 1 之间的数"),
])
def test_weights_out_of_range_or_not_summing_to_one_are_refused(
        app, client, auth, csrf_token, make_application_record, make_expert_record, triennial, annual, reason):
    round_id = triennial_world(app, make_application_record, make_expert_record)
    auth.login("organizer")
    page = client.get(f"/centers/evaluations/{round_id}").get_data(as_text=True)
    answer = client.post(f"/centers/evaluations/{round_id}/weights", follow_redirects=True,
                         data={"csrf_token": csrf_token(page), "triennial": triennial, "annual": annual})
    assert reason in answer.get_data(as_text=True)
    with app.app_context():
        assert weights_and_audit(round_id) == ((None, None), 0)


def test_stored_weights_are_audited_and_used_by_page_exports_api_and_command_line(
        app, client, auth, csrf_token, runner, make_user, make_application_record, make_expert_record):
    from web.services import assessments
    from web.services.tokens import create_token

    round_id = triennial_world(app, make_application_record, make_expert_record)
    auth.login("organizer")
    page = client.get(f"/centers/evaluations/{round_id}").get_data(as_text=True)
    answer = client.post(f"/centers/evaluations/{round_id}/weights", follow_redirects=True,
                         data={"csrf_token": csrf_token(page), "triennial": "0.7", "annual": "0.3"})
    assert "权重已保存" in answer.get_data(as_text=True)
    with app.app_context():
        assert weights_and_audit(round_id) == ((0.7, 0.3), 1)
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "round.assessment_weights")).one()
        assert event.before == {"triennial": 0.4, "annual": 0.6} and event.after == {"triennial": 0.7, "annual": 0.3}
        good = next(row for row in assessments.triennial_rows(db.session.get(Round, round_id))
                    if row.application.ref == "APP-001").assessment
        expected = round(0.7 * good.triennial_score + 0.3 * good.annual_mean, 2)
        assert good.result == pytest.approx(expected)
        token = create_token(db.session.merge(make_user("integration", "organizer")), "test", actor=None)
        db.session.commit()
    page = client.get(f"/centers/evaluations/{round_id}").get_data(as_text=True)
    assert f"{expected:.2f}" in page and 'value="0.7"' in page
    book = load_workbook(io.BytesIO(client.get(f"/centers/evaluations/{round_id}/results.xlsx").data))
    line = next(row for row in book["考核结果"].iter_rows(min_row=2, values_only=True) if row[0] == "APP-001")
    assert line[-3] == "0.7/0.3" and line[-2] == pytest.approx(expected)
    api = client.get(f"/api/v1/rounds/{round_id}/evaluation", headers={"Authorization": f"Bearer {token}"})
    record = api.get_json()
    assert record["weights"] == {"triennial": 0.7, "annual": 0.3} and record["weights_stored"]
    assert next(item for item in record["centers"] if item["application"] == "APP-001")["result"] == expected
    shown = runner.invoke(args=["centers", "evaluation", str(round_id)])
    assert shown.exit_code == 0 and f'"result": {expected}' in shown.output
    refused = runner.invoke(args=["centers", "weights", str(round_id), "--triennial", "0.2", "--annual", "0.2"])
    assert refused.exit_code == 1 and "须等于 1" in refused.output
    stored = client.put(f"/api/v1/rounds/{round_id}/assessment-weights", headers={"Authorization": f"Bearer {token}"},
                        json={"triennial": 0.5, "annual": 0.5})
    assert stored.status_code == 200 and stored.get_json()["weights"] == {"triennial": 0.5, "annual": 0.5}
    assert runner.invoke(args=["centers", "weights", str(round_id), "--triennial", "0.4",
                               "--annual", "0.6"]).exit_code == 0
    with app.app_context():
        assert weights_and_audit(round_id) == ((0.4, 0.6), 3)


def test_weights_of_a_closed_round_do_not_change(app, make_application_record, make_expert_record):
    from web.services import assessments

    round_id = triennial_world(app, make_application_record, make_expert_record)
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        round_.state = "closed"
        with pytest.raises(CenterError, match="该轮次已结束"):
            assessments.set_weights(round_, triennial=0.5, annual=0.5, actor=None)
        assert weights_and_audit(round_id) == ((None, None), 0)


def test_a_triennial_sheet_shows_the_three_annual_evaluations(app, make_application_record, make_expert_record):
    from web.blueprints.centers.panel import indicator_panel
    from web.services.records import import_experts

    build(app, make_application_record)
    with app.app_context():
        import_experts([make_expert_record(f"EXP-{n}", declared=[]) for n in range(5)], actor=None)
        listed()
        scored_round("2021年度评估", "annual", date(2022, 3, 1), {"APP-001": 0.95})
        scored_round("2023年度评估", "annual", date(2024, 3, 1), {"APP-001": 0.7})
        triennial = create_round("三年考核", "triennial", as_of=date(2024, 4, 1), application_refs=["APP-001"],
                                 actor=None)
        with app.test_request_context():
            panel = indicator_panel(application("APP-001"), triennial)
            assert [(year, grade) for year, _score, grade in panel.annual] == [
                (2021, "优秀"), (2022, None), (2023, "合格")]


def test_the_center_history_reads_as_chinese_sentences_with_who_and_when(
        app, client, auth, make_user, make_application_record, make_expert_record):
    from web.services import assessments, rounds

    round_id = triennial_world(app, make_application_record, make_expert_record, closed=True)
    organizer = make_user("zhang", "organizer")
    with app.app_context():
        actor = db.session.merge(organizer)
        center = centers.center_of(application("APP-002"))
        centers.set_targets(center, {"contracts": "10"}, actor=actor)
        centers.save_report(center, 2021, FIGURES, actor=actor)
        centers.save_report(center, 2021, {**FIGURES, "contracts": 14}, actor=actor)
        centers.attach_document(center.reports[0], "2021年度运行发展报告.pdf", io.BytesIO(b"%PDF-1.4 report"),
                                content_type="application/pdf", actor=actor)
        annual = db.session.scalar(select(Round).where(Round.name == "2021年度评估"))
        annual.state = "scoring"
        rounds.transition(annual, "closed", actor=actor, confirmed=True)
        triennial = db.session.get(Round, round_id)
        row = next(row for row in assessments.triennial_rows(triennial) if row.application.ref == "APP-002")
        assessments.apply_outcome(triennial, row, actor=actor, confirmed=True)
        centers.set_status(center, "withdrawn", reason="整改不到位", actor=actor)
        center_id = center.id
        db.session.commit()
    auth.login("organizer")
    page = client.get(f"/centers/{center_id}").get_data(as_text=True)
    history = page.split('id="center-history"')[1].split("</tbody>")[0]
    for sentence in ("记录审核决定：列入试点计划（2020-12-01，文号 沪经信技〔2020〕1号）",
                     "列为试点创新中心（2020-12-01 列入），状态：试点建设中",
                     "年度目标调整：委托研发合同数 10",
                     "填报 2021 年度指标：委托研发合同数 12；",
                     "修改 2021 年度指标：委托研发合同数 12 → 14",
                     "上传 2021 年度运行发展报告：2021年度运行发展报告.pdf",
                     "2021年度评估 已结束：得分",
                     "2021—2023年三年考核：考核结果",
                     "结论“整改”（权重：三年考核专家评分 0.4，年度评估 0.6）；状态由“试点建设中”变更为“整改”",
                     "状态由“整改”变更为“退出”。 理由：整改不到位"):
        assert sentence in history, sentence
    assert "等级 不合格" in history.split("2021年度评估 已结束")[1]
    assert "UTC+8" in history and "zhang" in history and "命令行或系统" in history
    assert "2021—2023年三年考核 · 58.00 · 整改" in page.split('id="center-assessment">')[1].split("</td>")[0]
    grades = page.split("年度评估</th>")[1].split("</tr>")[0]
    assert "50.00 不合格" in grades
    assert "{" not in history and "outcome:" not in history and "decision.record" not in history


def test_the_center_page_ranks_each_round_once(app, client, auth, make_user, make_application_record,
                                              make_expert_record, monkeypatch):
    """The page ranks the center's rounds for its table and history; the annual grades read those rankings rather
    than ranking the annual rounds again (each was ranked twice a request), and rank no annual round the center
    took no part in (APP-002 is not in 2023年度评估)."""
    triennial_world(app, make_application_record, make_expert_record)
    with app.app_context():
        center = centers.center_of(application("APP-002"))
        for year in (2021, 2022, 2023):
            centers.save_report(center, year, FIGURES, actor=None)
        center_id = center.id
        db.session.commit()
    ranked = []

    def counted(rank):
        return lambda round_: ranked.append(round_.name) or rank(round_)

    for name in ("round_ranking", "engine_ranking"):
        monkeypatch.setattr(centers, name, counted(getattr(centers, name)))
    auth.login("organizer")
    page = client.get(f"/centers/{center_id}").get_data(as_text=True)
    assert "50.00 不合格" in page.split("年度评估</th>")[1].split("</tr>")[0]
    assert sorted(ranked) == ["2020年遴选综合评审", "2021—2023年三年考核", "2021年度评估", "2022年度评估"]


def statements_of(work) -> tuple[object, int]:
    """What ``work()`` returns and how many SQL statements it issued."""
    from sqlalchemy import event

    issued = []

    def counted(*_args) -> None:
        issued.append(1)

    event.listen(db.engine, "before_cursor_execute", counted)
    try:
        return work(), len(issued)
    finally:
        event.remove(db.engine, "before_cursor_execute", counted)


def test_annual_scores_read_the_engines_ranking_with_the_joined_rankings_scores(
        app, make_application_record, make_expert_record):
    """An annual score is the engine's, read without joining the sheets and flag reviews back: the same scores as
    the joined ranking on a round with flagged sheets under review, in fewer statements."""
    from web.models import FlagReview, ScoreSheet
    from web.services import assessments

    triennial_world(app, make_application_record, make_expert_record)
    with app.app_context():
        annual = db.session.scalar(select(Round).where(Round.name == "2021年度评估"))
        outlier = db.session.scalar(select(ScoreSheet).where(ScoreSheet.round_id == annual.id)
                                    .join(ScoreSheet.application).where(Application.ref == "APP-001")
                                    .order_by(ScoreSheet.id))
        for score in outlier.scores:
            score.value = 0.0
        db.session.add(FlagReview(sheet=outlier, code="ROBUST", message="畸低。"))
        db.session.commit()
        joined = centers.ranked(annual)
        assert any(line.result.flags for line in joined.lines)
        assert any(row.reviews for line in joined.lines for row in line.rows)
        db.session.expire_all()
        before, joined_statements = statements_of(lambda: centers.scores_by_round([centers.ranked(annual)]))
        db.session.expire_all()
        center = application("APP-001")     # the annual rounds' lookup is the one statement beside the ranking
        after, statements = statements_of(lambda: assessments.annual_scores(center, (2021,)))
        assert after == (AnnualScore(2021, before[annual.id]["APP-001"]),)
        assert statements < joined_statements


def test_evaluation_pages_and_endpoints_answer_for_annual_and_triennial_rounds_only(
        app, client, auth, runner, make_user, make_application_record):
    from web.services.tokens import create_token

    build(app, make_application_record)
    with app.app_context():
        selection_id = db.session.scalar(select(Round.id))
        token = create_token(db.session.merge(make_user("integration", "organizer")), "test", actor=None)
        db.session.commit()
    auth.login("organizer")
    for suffix in ("", "/results.xlsx", "/results.pdf"):
        assert client.get(f"/centers/evaluations/{selection_id}{suffix}").status_code == 404
    answer = client.get(f"/api/v1/rounds/{selection_id}/evaluation", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 404
    assert runner.invoke(args=["centers", "evaluation", str(selection_id)]).exit_code == 2


def test_the_api_sets_targets_lists_decisions_and_applies_outcomes(
        app, client, make_user, make_application_record, make_expert_record):
    from web.services.tokens import create_token

    round_id = triennial_world(app, make_application_record, make_expert_record, closed=True)
    with app.app_context():
        token = create_token(db.session.merge(make_user("integration", "organizer")), "test", actor=None)
        center_id = centers.center_of(application("APP-002")).id
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    refused = client.put(f"/api/v1/centers/{center_id}/targets", headers=headers,
                         json={"targets": {"contracts": -3}})
    assert refused.status_code == 422 and "不能为负数" in refused.get_json()["errors"][0]
    stored = client.put(f"/api/v1/centers/{center_id}/targets", headers=headers,
                        json={"targets": {"contracts": 10, "contract_amount": 800}})
    assert stored.get_json()["targets"] == {"contracts": 10.0, "contract_amount": 800.0}
    decisions = client.get("/api/v1/decisions", headers=headers).get_json()
    assert [(item["application"], item["outcome"]) for item in decisions] == [("APP-001", "listed"),
                                                                               ("APP-002", "listed")]
    no_report = client.post(f"/api/v1/centers/{center_id}/reports/2021/document", headers=headers,
                            data={"document": (io.BytesIO(b"%PDF-1.4"), "report.pdf")})
    assert no_report.status_code == 404
    client.put(f"/api/v1/centers/{center_id}/reports/2021", headers=headers, json={"indicators": FIGURES})
    program = client.post(f"/api/v1/centers/{center_id}/reports/2021/document", headers=headers,
                          data={"document": (io.BytesIO(b"MZ"), "report.exe")})
    assert program.status_code == 422 and program.get_json()["code"] == "refused"
    assert program.get_json()["errors"] == ["不接受 .exe 类型的文件作为附件；可以上传：.pdf .jpg .jpeg .png .ofd .doc "
                                           ".docx .xls .xlsx .zip。"]
    assert client.get(f"/api/v1/centers/{center_id}", headers=headers).get_json()["reports"][0]["document"] is None
    attached = client.post(f"/api/v1/centers/{center_id}/reports/2021/document", headers=headers,
                           data={"document": (io.BytesIO(b"%PDF-1.4"), "2021年度运行发展报告.pdf")})
    assert attached.get_json()["reports"][0]["document"] == "2021年度运行发展报告.pdf"
    applied = client.post(f"/api/v1/rounds/{round_id}/outcomes/APP-002", headers=headers)
    assert applied.status_code == 200 and applied.get_json()["status"] == "rectification"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "center.outcome")) == 1


def test_the_command_line_reports_sets_targets_exports_and_applies_outcomes(
        app, runner, tmp_path, make_application_record, make_expert_record):
    round_id = triennial_world(app, make_application_record, make_expert_record, closed=True)
    with app.app_context():
        center_id = centers.center_of(application("APP-001")).id
        annual_id = db.session.scalar(select(Round.id).where(Round.name == "2021年度评估"))
    refused = runner.invoke(args=["centers", "report", str(center_id), "2021", "contracts=0",
                                  "contract_amount=300"])
    assert refused.exit_code == 1 and "没有委托研发合同" in refused.output
    assert runner.invoke(args=["centers", "report", str(center_id), "2021", "contracts=12",
                               "contract_amount=860.5"]).exit_code == 0
    assert runner.invoke(args=["centers", "targets", str(center_id), "contracts=10"]).exit_code == 0
    document = tmp_path / "2021年度运行发展报告.pdf"
    document.write_bytes(b"%PDF-1.4 report")
    assert runner.invoke(args=["centers", "report-document", str(center_id), "2021", str(document)]).exit_code == 0
    with app.app_context():
        center = db.session.get(Center, center_id)
        assert center.reports[0].contracts == 12 and center.target("contracts") == 10
        assert center.reports[0].document.filename == "2021年度运行发展报告.pdf"
    assert "APP-002\tlisted\t2020-12-01" in runner.invoke(args=["centers", "decisions"]).output
    for name in ("publicity.xlsx", "publicity.pdf"):
        assert runner.invoke(args=["centers", "publicity", str(tmp_path / name)]).exit_code == 0
    assert (tmp_path / "publicity.pdf").read_bytes().startswith(b"%PDF")
    for round_ref, name in ((annual_id, "annual.xlsx"), (annual_id, "annual.pdf"), (round_id, "triennial.xlsx"),
                            (round_id, "triennial.pdf")):
        result = runner.invoke(args=["centers", "evaluation", str(round_ref), "--export", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    annual = list(load_workbook(tmp_path / "annual.xlsx").active.iter_rows(values_only=True))
    assert annual[0][3:5] == ("得分", "等级") and {row[4] for row in annual[1:]} == {"优秀", "不合格"}
    assert load_workbook(tmp_path / "triennial.xlsx").sheetnames[1:] == ["推荐申报国家级", "合格", "整改", "退出"]
    applied = runner.invoke(args=["centers", "apply-outcome", str(round_id), "APP-002"])
    assert applied.exit_code == 0 and "APP-002: rectify" in applied.output
    history = runner.invoke(args=["centers", "history", str(center_id)]).output
    assert "UTC+8" in history and "填报 2021 年度指标" in history and "年度目标调整" in history


def test_the_decision_page_shows_each_selection_round_score_and_rank(app, client, auth, make_application_record,
                                                                     make_expert_record, monkeypatch):
    """The page reads the engine's scores and ranks; it does not join them to the sheets and flag reviews."""
    from web.services import ranking
    from web.services.records import import_experts

    def unwanted(*args, **kwargs):
        raise AssertionError("the decisions page joined a ranking to its sheets")

    build(app, make_application_record, refs=("APP-001", "APP-002", "APP-003"))
    with app.app_context():
        import_experts([make_expert_record(f"EXP-{n}", declared=[]) for n in range(5)], actor=None)
        # experts left the bearer in mid-2018: past the three-year recusal by late 2021
        scored_round("2021年现场考察", "site_inspection", date(2021, 11, 1), {"APP-002": 0.9, "APP-003": 0.6})
        db.session.commit()
    monkeypatch.setattr(ranking, "joined_ranking", unwanted)
    auth.login("organizer")
    page = client.get("/centers/decisions").get_data(as_text=True)
    rows = {ref: page.split(f"<td>{ref}<div>")[1].split("</tr>")[0] for ref in ("APP-001", "APP-002", "APP-003")}
    assert "2021年现场考察" in page
    assert "90.00" in rows["APP-002"] and "顺位 1" in rows["APP-002"]
    assert "60.00" in rows["APP-003"] and "顺位 2" in rows["APP-003"]
    assert "顺位" not in rows["APP-001"]


# --- over the ranking's limit a round's ranking is refused (it lists every conflict of the round): the centers
# pages built on rankings render saying so, exports and outcomes are refused, and nothing changes.

MIB = 1 << 20
MEMORY_LIMIT = 100 * MIB
TOO_LARGE = "评审轮次“2021—2023年三年考核”：本轮排名须先列出全部回避冲突及其原因，约需"
OVER = "超过排名的内存上限 0.09 GB：无法排名。"


@pytest.mark.parametrize("setting", ["PANEL_MATCHING_MEMORY", "PANEL_RANKING_MEMORY"])
def test_the_centers_pages_over_the_memory_limit_say_why_and_change_nothing(
        app, client, auth, csrf_token, table_counts, make_application_record, make_expert_record, setting):
    """Over the ranking's limit, PANEL_RANKING_MEMORY or (unset) PANEL_MATCHING_MEMORY."""
    round_id = triennial_world(app, make_application_record, make_expert_record, closed=True)
    with app.app_context():
        center_id, poor_id = listed("APP-002").id, application("APP-002").id
        annual_id = db.session.scalar(select(Round.id).where(Round.name == "2021年度评估"))
    app.config.update({"PANEL_MATCHING_MEMORY": None, setting: MEMORY_LIMIT})
    auth.login("organizer")
    before = table_counts()
    for url, name in (("/centers/decisions", "2020年遴选综合评审"), (f"/centers/{center_id}", "2021—2023年三年考核"),
                      (f"/centers/evaluations/{round_id}", "2021—2023年三年考核"),
                      (f"/centers/evaluations/{annual_id}", "2021年度评估")):
        response = client.get(url)
        text = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert TOO_LARGE.replace("2021—2023年三年考核", name) in text and OVER in text, url
    page = client.get(f"/centers/evaluations/{round_id}").get_data(as_text=True)
    for url in (f"/centers/evaluations/{round_id}/results.xlsx", f"/centers/evaluations/{round_id}/results.pdf",
                f"/centers/evaluations/{annual_id}/results.xlsx", f"/centers/evaluations/{annual_id}/results.pdf"):
        response = client.get(url, follow_redirects=True)
        assert response.mimetype == "text/html" and OVER in response.get_data(as_text=True), url
    applied = client.post(f"/centers/evaluations/{round_id}/outcomes/{poor_id}",
                          data={"csrf_token": csrf_token(page), "confirm": "yes"}, follow_redirects=True)
    assert TOO_LARGE in applied.get_data(as_text=True)
    with app.app_context():
        assert centers.center_of(application("APP-002")).status == "building"
    assert table_counts() == before


def test_the_api_refuses_an_assessment_over_the_memory_limit(app, client, make_user, make_application_record,
                                                              make_expert_record):
    from web.services import assessments
    from web.services.tokens import create_token

    round_id = triennial_world(app, make_application_record, make_expert_record, closed=True)
    with app.app_context():
        token = create_token(db.session.merge(make_user("integration", "organizer")), "test", actor=None)
        db.session.commit()
    app.config["PANEL_MATCHING_MEMORY"] = MEMORY_LIMIT
    headers = {"Authorization": f"Bearer {token}"}
    for response in (client.get(f"/api/v1/rounds/{round_id}/evaluation", headers=headers),
                     client.post(f"/api/v1/rounds/{round_id}/outcomes/APP-002", headers=headers)):
        assert response.status_code == 422 and response.get_json()["errors"][0].startswith(TOO_LARGE)
    with app.app_context():
        assert centers.center_of(application("APP-002")).status == "building"
        with pytest.raises(CenterError, match="评审轮次“2021年度评估”：本轮排名须先列出全部回避冲突"):
            assessments.annual_scores(application("APP-001"), (2021,))       # not a missing year


def test_the_commands_and_the_annual_api_refuse_a_round_over_the_memory_limit(
        app, client, make_user, make_application_record, make_expert_record, table_counts, tmp_path):
    """An annual evaluation without its scores would read as centers with no score: refused with the sentence,
    exit 1 and no file (commands) or 422 (API), nothing changed."""
    from web.services.tokens import create_token

    round_id = triennial_world(app, make_application_record, make_expert_record, closed=True)
    with app.app_context():
        token = create_token(db.session.merge(make_user("integration", "organizer")), "test", actor=None)
        db.session.commit()
    app.config["PANEL_MATCHING_MEMORY"] = MEMORY_LIMIT
    before = table_counts()
    out = tmp_path / "exports"
    out.mkdir()
    runner = app.test_cli_runner()
    annual = TOO_LARGE.replace("2021—2023年三年考核", "2021年度评估")
    for args, sentence in ((["centers", "evaluation", "2021年度评估"], annual),
                           (["centers", "evaluation", "2021年度评估", "--export", str(out / "a.pdf")], annual),
                           (["centers", "evaluation", "2021年度评估", "--export", str(out / "a.xlsx")], annual),
                           (["centers", "evaluation", str(round_id)], TOO_LARGE),
                           (["centers", "evaluation", str(round_id), "--export", str(out / "t.pdf")], TOO_LARGE),
                           (["centers", "evaluation", str(round_id), "--export", str(out / "t.xlsx")], TOO_LARGE),
                           (["centers", "apply-outcome", str(round_id), "APP-002"], TOO_LARGE)):
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (args, result.exception)
        assert sentence in result.output and OVER in result.output, args
    assert not list(out.iterdir())
    with app.app_context():
        annual_id = db.session.scalar(select(Round.id).where(Round.name == "2021年度评估"))
        assert centers.center_of(application("APP-002")).status == "building"
    response = client.get(f"/api/v1/rounds/{annual_id}/evaluation", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422 and response.get_json()["errors"][0].startswith(annual)
    assert table_counts() == before


def test_a_centers_history_over_the_memory_limit_does_not_say_a_closed_round_gave_no_score(
        app, client, auth, make_user, make_application_record, make_expert_record):
    """A round too large to rank here has a score the history cannot compute, not none: the page and
    ``panel centers history`` say why instead of writing "closed without a score"."""
    from web.services import rounds

    triennial_world(app, make_application_record, make_expert_record, closed=True)
    with app.app_context():
        annual = db.session.scalar(select(Round).where(Round.name == "2021年度评估"))
        annual.state = "scoring"
        actor = db.session.merge(make_user("zhang", "organizer"))
        rounds.transition(annual, "closed", actor=actor, confirmed=True)
        center = centers.center_of(application("APP-002"))
        centers.save_report(center, 2021, FIGURES, actor=actor)        # the page grades each reported year
        center_id = center.id
        db.session.commit()
    app.config["PANEL_MATCHING_MEMORY"] = MEMORY_LIMIT
    no_score = "2021年度评估 已结束，本中心无得分。"
    annual_refused = TOO_LARGE.replace("2021—2023年三年考核", "2021年度评估")
    auth.login("organizer")
    response = client.get(f"/centers/{center_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert annual_refused in page and no_score not in page.split('id="center-history"')[1]
    result = app.test_cli_runner().invoke(args=["centers", "history", str(center_id)])
    assert result.exit_code == 0 and annual_refused in result.output and OVER in result.output
    assert no_score not in result.output


def test_a_triennial_sheet_over_the_memory_limit_says_why_its_annual_evaluations_are_missing(
        app, make_application_record, make_expert_record):
    """The expert's sheet page was a 500 when an annual round of the window was too large to rank here."""
    from flask import render_template_string

    from web.blueprints.centers.panel import indicator_panel
    from web.services.records import import_experts

    build(app, make_application_record)
    with app.app_context():
        import_experts([make_expert_record(f"EXP-{n}", declared=[]) for n in range(5)], actor=None)
        listed()
        scored_round("2021年度评估", "annual", date(2022, 3, 1), {"APP-001": 0.95})
        triennial = create_round("三年考核", "triennial", as_of=date(2024, 4, 1), application_refs=["APP-001"],
                                 actor=None)
        app.config["PANEL_MATCHING_MEMORY"] = MEMORY_LIMIT
        with app.test_request_context():
            panel = indicator_panel(application("APP-001"), triennial)
            assert panel.annual == ()
            shown = render_template_string('{% include "centers/_indicators.html" %}', panel=panel)
            assert "评审轮次“2021年度评估”：本轮排名须先列出全部回避冲突及其原因，约需" in shown and OVER in shown
