"""The audit log viewer and its exports: admins only, filters, pages, CSV with BOM for Excel, JSON."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta

import pytest

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
