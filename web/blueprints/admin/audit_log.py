"""Reading the audit log: the filtered query, and its CSV and JSON exports."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Select, select

from web.extensions import db
from web.io.cells import inert
from web.models import AuditEvent

CSV_COLUMNS = ("id", "at", "actor", "action", "entity_type", "entity_id", "before", "after")


def local_midnight_in_utc(day: date, days_later: int = 0) -> datetime | None:
    """The start of ``day`` (plus ``days_later``) in the site's time zone, as naive UTC (how times are stored);
    None when that moment lies outside the calendar Python holds (0001-01-01 in Shanghai is still year 0 in UTC;
    the day after 9999-12-31 does not exist): such a filter bounds nothing."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    try:
        start = datetime.combine(day + timedelta(days=days_later), time(), tzinfo=zone)
        return start.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    except OverflowError:
        return None


def filtered(filters: dict) -> Select:
    """Audit events matching ``filters`` (actor, action, entity_type, entity_id exact; since/until local
    dates, both inclusive; none of the entity types in ``exclude``), newest first."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    for key, column in (("actor", AuditEvent.actor_name), ("action", AuditEvent.action),
                        ("entity_type", AuditEvent.entity_type), ("entity_id", AuditEvent.entity_id)):
        if filters.get(key):
            query = query.where(column == filters[key])
    if filters.get("exclude"):
        query = query.where(AuditEvent.entity_type.not_in(filters["exclude"]))
    if filters.get("since") and (start := local_midnight_in_utc(filters["since"])):
        query = query.where(AuditEvent.at >= start)
    if filters.get("until") and (end := local_midnight_in_utc(filters["until"], days_later=1)):
        query = query.where(AuditEvent.at < end)
    return query


def known_values() -> dict[str, list[str]]:
    """The actors, actions and entity types in the log, for the filter form's suggestions."""
    columns = {"actor": AuditEvent.actor_name, "action": AuditEvent.action, "entity_type": AuditEvent.entity_type}
    return {key: list(db.session.scalars(select(column).distinct().order_by(column)))
            for key, column in columns.items()}


def as_dict(event: AuditEvent) -> dict:
    """One event as exported (time in UTC, ISO 8601 with a Z)."""
    return {"id": event.id, "at": event.at.isoformat() + "Z", "actor": event.actor_name,
            "action": event.action, "entity_type": event.entity_type, "entity_id": event.entity_id,
            "before": event.before, "after": event.after}


def to_csv(events: list[AuditEvent]) -> bytes:
    """UTF-8 with a BOM (Excel opens it with the Chinese intact); before/after as JSON text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for event in events:
        row = as_dict(event)
        for key in ("before", "after"):
            row[key] = "" if row[key] is None else json.dumps(row[key], ensure_ascii=False, sort_keys=True)
        writer.writerow([inert(row[column]) for column in CSV_COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def to_json(events: list[AuditEvent]) -> bytes:
    """A JSON list of events, UTF-8."""
    return json.dumps([as_dict(event) for event in events], ensure_ascii=False, indent=1).encode("utf-8")
