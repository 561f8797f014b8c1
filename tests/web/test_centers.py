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
from web.models import AnnualReport, Application, AuditEvent, Center, Decision
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


def test_listing_makes_a_center_with_the_plan_targets(app, make_application_record):
    build(app, make_application_record)
    with app.app_context():
        center = listed()
        expected = (application("APP-001").expected_domestic_invention or 0) + \
            (application("APP-001").expected_foreign_invention or 0)
        assert center.status == "building" and center.listed_on == date(2020, 12, 1)
        if expected:
            assert center.target("patents_applied") == -(-expected // 3)
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
