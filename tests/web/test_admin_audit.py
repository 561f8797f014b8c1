"""The audit log viewer and its exports: admins only, filters, pages, CSV with BOM for Excel, JSON."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from web.extensions import db
from web.models import AuditEvent

ROW = re.compile(r'<td title="([a-z_]+\.[a-z_.]+)">')


@pytest.fixture
def events(app):
    """Three known events (Shanghai is UTC+8: 2026-01-01 17:00 UTC is 2 January there), then 60 filler ones."""
    with app.app_context():
        db.session.add_all([
            AuditEvent(at=datetime(2026, 1, 1, 17, 0), actor_name="organizer", action="round.create",
                       entity_type="round", entity_id="7", after={"name": "2020年遴选综合评审"}),
            AuditEvent(at=datetime(2026, 1, 5, 9, 0), actor_name="organizer", action="sheet.reopen",
                       entity_type="score_sheet", entity_id="12", before={"state": "submitted"},
                       after={"state": "reopened", "reopen_reason": "第3项评分依据不足"}),
            AuditEvent(at=datetime(2026, 1, 6, 9, 0), actor_name="system", action="user.lock",
                       entity_type="user", entity_id="3", after={"username": "expert_a"}),
        ])
        start = datetime(2025, 6, 1)
        db.session.add_all([AuditEvent(at=start + timedelta(minutes=number), actor_name="importer",
                                       action="expert.import", entity_type="expert", entity_id=f"EXP-{number:03d}")
                            for number in range(60)])
        db.session.commit()


def actions(response) -> list[str]:
    return ROW.findall(response.get_data(as_text=True))


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit.csv", "/admin/audit.json"])
def test_the_audit_log_is_for_admins_only(client, auth, path):
    assert client.get(path).status_code == 302
    auth.login("organizer")
    assert client.get(path).status_code == 403


def test_filters_by_actor_action_entity_and_local_dates(client, auth, events):
    auth.login("admin")
    assert actions(client.get("/admin/audit?actor=organizer")) == ["sheet.reopen", "round.create"]
    assert actions(client.get("/admin/audit?action=user.lock")) == ["user.lock"]
    assert actions(client.get("/admin/audit?entity_type=score_sheet&entity_id=12")) == ["sheet.reopen"]
    assert actions(client.get("/admin/audit?since=2026-01-02&until=2026-01-02")) == ["round.create"]
    assert actions(client.get("/admin/audit?since=2026-01-03&until=2026-01-05")) == ["sheet.reopen"]
    page = client.get("/admin/audit?action=sheet.reopen").get_data(as_text=True)
    # the form suggests every action and entity type in the log, whatever the current filter
    assert '<option value="user.lock">' in page and '<option value="score_sheet">' in page
    assert "第3项评分依据不足" in page and "&#34;state&#34;: &#34;submitted&#34;" in page


def test_a_bad_date_is_named_and_ignored(client, auth, events):
    auth.login("admin")
    response = client.get("/admin/audit?since=yesterday&action=user.lock")
    assert response.status_code == 200
    assert actions(response) == ["user.lock"]
    assert 'class="error"' in response.get_data(as_text=True)


def test_pages_of_fifty_newest_first_keeping_the_filters(client, auth, events):
    auth.login("admin")
    first = client.get("/admin/audit?actor=importer")
    assert len(actions(first)) == 50
    html = first.get_data(as_text=True)
    assert "EXP-059" in html and "EXP-009" not in html
    assert 'href="/admin/audit?page=2&amp;actor=importer"' in html
    second = client.get("/admin/audit?actor=importer&page=2")
    assert len(actions(second)) == 10 and "EXP-000" in second.get_data(as_text=True)


def test_csv_export_is_utf8_with_bom_and_follows_the_filters(client, auth, events):
    auth.login("admin")
    response = client.get("/admin/audit.csv?actor=organizer")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [row["action"] for row in rows] == ["sheet.reopen", "round.create"]
    assert rows[1]["at"] == "2026-01-01T17:00:00Z"
    assert json.loads(rows[0]["after"]) == {"state": "reopened", "reopen_reason": "第3项评分依据不足"}
    assert rows[1]["before"] == ""


def test_json_export(client, auth, events):
    auth.login("admin")
    response = client.get("/admin/audit.json?entity_type=user&entity_id=3")
    assert response.mimetype == "application/json"
    exported = [(event["actor"], event["action"], event["entity_id"], event["after"])
                for event in response.get_json()]
    assert exported == [("system", "user.lock", "3", {"username": "expert_a"})]


def test_each_job_event_has_a_chinese_label_on_the_audit_page(client, auth, app):
    """The job events the runner writes (docs/jobs.md, "A job's life") read as words, not as their codes."""
    with app.app_context():
        db.session.add_all([AuditEvent(at=datetime(2026, 1, 1, 9, minute), actor_name="system", action=action,
                                       entity_type="job", entity_id="5", after={"state": state})
                            for minute, (action, state) in enumerate(
                                [("job.done", "done"), ("job.failed", "failed"), ("job.interrupted", "queued"),
                                 ("job.claimed", "running"), ("job.retry", "queued"), ("job.stalled", "queued")])])
        db.session.commit()
    auth.login("admin")
    page = client.get("/admin/audit?entity_type=job").get_data(as_text=True)
    cells = dict(re.findall(r'<td title="(job\.[a-z]+)">([^<]*)</td>', page))
    assert cells == {"job.done": "任务完成", "job.failed": "任务失败", "job.interrupted": "任务中断（已放回队列）",
                     "job.claimed": "任务开始运行", "job.retry": "任务意外出错（已放回队列再次尝试）",
                     "job.stalled": "任务的后台进程已无响应（已放回队列）"}


DAYS = "since=2026-01-01&until=2026-01-10"
"""The days of the known events (logging in adds events of its own, today)."""


@pytest.fixture
def job_events(app, events):
    """The known events, with a job asked for by the organizer and the system's record of its life, on 2 January
    (site time)."""
    with app.app_context():
        db.session.add(AuditEvent(at=datetime(2026, 1, 2, 1, 0), actor_name="organizer", action="job.requested",
                                  entity_type="job", entity_id="5", after={"kind": "ranking"}))
        db.session.add_all([AuditEvent(at=datetime(2026, 1, 2, 1, minute), actor_name="system", action=action,
                                       entity_type="job", entity_id="5", after={"state": state})
                            for minute, (action, state) in enumerate(
                                [("job.claimed", "running"), ("job.retry", "queued"), ("job.stalled", "queued"),
                                 ("job.done", "done")], start=1)])
        db.session.commit()


def test_leaving_out_the_jobs_hides_every_job_event_and_keeps_the_others(client, auth, job_events):
    auth.login("admin")
    everything = actions(client.get(f"/admin/audit?{DAYS}"))
    assert everything == ["user.lock", "sheet.reopen", "job.done", "job.stalled", "job.retry", "job.claimed",
                          "job.requested", "round.create"]
    response = client.get(f"/admin/audit?{DAYS}&exclude=job")
    assert actions(response) == ["user.lock", "sheet.reopen", "round.create"]
    page = response.get_data(as_text=True)
    assert re.search(r'<legend>不显示</legend>.*<input checked id="exclude-\d+" name="exclude" type="checkbox" '
                     r'value="job"> <label for="exclude-\d+">任务</label>', page, re.S)
    assert actions(client.get(f"/admin/audit?{DAYS}&exclude=job&exclude=user")) == ["sheet.reopen",
                                                                                            "round.create"]
    assert actions(client.get("/admin/audit?exclude=job&exclude=expert&exclude=user")) == ["sheet.reopen",
                                                                                            "round.create"]


def test_the_exports_and_the_next_page_leave_out_what_the_page_leaves_out(client, auth, job_events):
    auth.login("admin")
    page = client.get("/admin/audit?exclude=job&exclude=round").get_data(as_text=True)
    assert 'href="/admin/audit.csv?exclude=job&amp;exclude=round"' in page
    assert 'href="/admin/audit?page=2&amp;exclude=job&amp;exclude=round"' in page
    rows = list(csv.DictReader(io.StringIO(client.get(f"/admin/audit.csv?{DAYS}&exclude=job")
                                           .get_data().decode("utf-8-sig"))))
    assert [row["action"] for row in rows] == ["user.lock", "sheet.reopen", "round.create"]
    assert [event["action"] for event in client.get(f"/admin/audit.json?{DAYS}&exclude=job").get_json()] == [
        "user.lock", "sheet.reopen", "round.create"]


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit.csv"])
def test_an_unknown_entity_type_to_leave_out_is_named_and_hides_nothing(app, client, auth, job_events, path):
    """A mistyped type must not look applied: the page names it and shows what the other filters select, the jobs
    included; the exports leave out nothing either; nothing is written."""
    auth.login("admin")
    with app.app_context():
        before = db.session.scalar(select(func.count(AuditEvent.id)))
    response = client.get(f"{path}?{DAYS}&exclude=jobs&exclude=job")
    assert response.status_code == 200
    if path.endswith(".csv"):
        rows = csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig")))
        assert "job.claimed" in [row["action"] for row in rows]
    else:
        assert "job.claimed" in actions(response) and "round.create" in actions(response)
        assert '<span class="error">没有这种对象类型：jobs</span>' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id))) == before


def test_an_empty_entity_type_to_leave_out_is_no_filter_as_an_empty_actor_is(client, auth, job_events):
    """``exclude=`` (a script's empty variable) names nothing: no error naming nothing, and the types given beside
    it are left out, on the page, its links and the exports alike."""
    auth.login("admin")
    response = client.get(f"/admin/audit?{DAYS}&exclude=")
    assert actions(response) == actions(client.get(f"/admin/audit?{DAYS}"))
    assert '<span class="error">' not in response.get_data(as_text=True)
    response = client.get(f"/admin/audit?{DAYS}&exclude=&exclude=job")
    page = response.get_data(as_text=True)
    assert actions(response) == ["user.lock", "sheet.reopen", "round.create"]
    assert '<span class="error">' not in page
    [csv_link] = re.findall(r'href="(/admin/audit\.csv[^"]*)"', page)
    rows = csv.DictReader(io.StringIO(client.get(csv_link.replace("&amp;", "&")).get_data().decode("utf-8-sig")))
    assert [row["action"] for row in rows] == ["user.lock", "sheet.reopen", "round.create"]
