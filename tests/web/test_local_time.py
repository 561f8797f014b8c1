"""Times are stored in UTC and shown in Beijing time with the zone, through one helper everywhere."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from web.extensions import db
from web.local_time import local_time, local_today
from web.models import AuditEvent

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"


def test_a_stored_utc_time_reads_as_beijing_time_with_its_zone():
    assert local_time(datetime(2020, 10, 12, 9, 30)) == "2020-10-12 17:30 UTC+8"
    assert local_time(datetime(2020, 10, 30, 16, 5, 9), seconds=True) == "2020-10-31 00:05:09 UTC+8"
    assert local_time(datetime(2020, 10, 12, 9, 30, tzinfo=UTC)) == "2020-10-12 17:30 UTC+8"
    assert local_time(None) == "—" and local_time(None, empty="") == ""


def test_the_deadline_day_is_the_day_in_shanghai():
    assert local_today(datetime(2020, 10, 30, 15, 59)) == date(2020, 10, 30)
    assert local_today(datetime(2020, 10, 30, 16, 0)) == date(2020, 10, 31)     # midnight in Shanghai


def test_pages_show_the_local_time_with_the_zone(app, client, auth):
    with app.app_context():
        db.session.add(AuditEvent(at=datetime(2026, 1, 1, 17, 0), actor_name="organizer", action="round.create",
                                  entity_type="round", entity_id="7", after={}))
        db.session.commit()
    auth.login("admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "2026-01-02 01:00 UTC+8" in page and "2026-01-01 17:00" not in page.replace('datetime="', "")


def test_no_template_formats_a_time_any_other_way():
    offenders = [path.relative_to(TEMPLATES).as_posix() for path in TEMPLATES.rglob("*")
                 if path.is_file() and any(way in path.read_text(encoding="utf-8")
                                           for way in ("strftime(", "datetimeformat", "format_datetime"))]
    assert not offenders
