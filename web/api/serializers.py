"""Rows and records to the JSON shapes the OpenAPI document describes (dates as ISO strings)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from web.blueprints.jobs.labels import describe
from web.io.problems import record_line
from web.masking import MASK, MASKERS, mask
from web.models import Assignment, AssignmentVersion, Job, Reserve, Round, ScoreSheet
from web.records.schema import PERSONAL_KEYS

ROUND_SETTINGS = (
    "mode", "panel_size", "max_per_organization", "max_load", "objective", "max_probability", "seed",
    "reserves", "weight_field", "weight_text", "window_years", "repeat_review_years",
    "meeting_max_applications", "time_limit", "auto_replace",
)


def plain(value: Any) -> Any:
    """``value`` with dates and times as ISO strings, recursively."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def masked(value: Any) -> Any:
    """A record with its personal data masked (138****5678, a***@example.com), as non-admins see it."""
    if isinstance(value, dict):
        return {key: _mask_leaf(key, item) if key in PERSONAL_KEYS else masked(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def _mask_leaf(key: str, value: Any) -> Any:
    """One personal value masked by its kind; kinds without a masker (the ID type) are hidden entirely."""
    if value is None or value == "":
        return value
    return mask(value, key) if key in MASKERS else MASK


def record_for(record: dict, *, admin: bool) -> dict:
    """An application or expert record as the caller may see it: in full for admins, masked for others."""
    return plain(record if admin else masked(record))


def application_summary(record: dict) -> dict:
    """The list view of an application record."""
    return {"ref": record["ref"], "center_name": record["center_name"], "field": record["field"],
            "submitted_on": plain(record["submitted_on"]), "bearer": record["bearer"]["name"],
            "members": len(record["members"])}


def expert_summary(record: dict) -> dict:
    """The list view of an expert record (no contact data)."""
    return {"ref": record["ref"], "name": record["name"], "pool": record["pool"], "title": record["title"],
            "organization": record["organization"]["name"], "fields": record["fields"],
            "max_load": record["max_load"], "available": record["available"]}


def round_summary(round_: Round) -> dict:
    """A round with its state and panel settings."""
    return {
        "id": round_.id, "name": round_.name, "kind": round_.kind, "state": round_.state,
        "as_of": round_.as_of.isoformat(),
        "deadline": round_.deadline.isoformat() if round_.deadline else None,
        "applications": len(round_.round_applications),
        "settings": {name: getattr(round_, name) for name in ROUND_SETTINGS},
    }


def round_detail(round_: Round) -> dict:
    """A round in full: settings, pool quotas, template criteria and application refs."""
    template = round_.template
    return {
        **round_summary(round_),
        "pool_quotas": [{"pool": quota.pool, "minimum": quota.minimum, "maximum": quota.maximum}
                        for quota in round_.pool_quotas],
        "template": {
            "name": template.name, "name_en": template.name_en, "total": template.total,
            "criteria": [{"code": criterion.code, "name": criterion.name, "name_en": criterion.name_en,
                          "max": criterion.max, "step": criterion.step, "veto": criterion.veto,
                          "comment_required": criterion.comment_required} for criterion in template.criteria],
        },
        "application_refs": [application.ref for application in round_.applications],
    }


def version_summary(version: AssignmentVersion) -> dict:
    """An assignment version: how it was made and how good it is."""
    return {"number": version.number, "status": version.status, "seed": version.seed,
            "objective": version.objective, "bound": version.bound,
            "diagnostics": list(version.diagnostics or []),
            "created_at": version.created_at.isoformat()}


def seat(assignment: Assignment) -> dict:
    """One expert's seat on a panel, with fit and invitation state."""
    return {"id": assignment.id, "expert": assignment.expert.ref, "name": assignment.expert.name,
            "pool": assignment.pool, "fit": assignment.fit, "field_fit": assignment.field_fit,
            "text_fit": assignment.text_fit, "state": assignment.state,
            "state_reason": assignment.state_reason,
            "manual": assignment.manual, "panel": assignment.panel}


def reserve(row: Reserve) -> dict:
    """One ranked reserve expert of an application."""
    return {"application": row.application.ref, "expert": row.expert.ref, "name": row.expert.name,
            "rank": row.rank, "fit": row.fit}


def panels(version: AssignmentVersion) -> list[dict]:
    """The version's seats grouped by application, in the round's order of first appearance."""
    grouped: dict[str, list[dict]] = {}
    for assignment in version.assignments:
        grouped.setdefault(assignment.application.ref, []).append(seat(assignment))
    return [{"application": ref, "seats": seats} for ref, seats in grouped.items()]


def sheet(row: ScoreSheet) -> dict:
    """A score sheet with its scores by criterion code."""
    return {
        "id": row.id, "round": row.round_id, "application": row.application.ref, "expert": row.expert.ref,
        "state": row.state, "opinion": row.opinion, "comment": row.comment, "confidence": row.confidence,
        "conflict_declared": row.conflict_declared, "total": row.total,
        "submitted_at": row.submitted_at.isoformat() if row.submitted_at else None,
        "reopened_at": row.reopened_at.isoformat() if row.reopened_at else None,
        "reopen_reason": row.reopen_reason,
        "scores": [{"criterion": score.criterion.code, "value": score.value, "comment": score.comment}
                   for score in row.scores],
    }



def job(row: Job) -> dict:
    """A job's state and progress in the reader's language; once finished, its ``result`` (an import's
    ``imported`` and ``refs``, a matching run's ``version``) or its ``error`` with the itemized ``errors`` (worded
    like the job page's: the record and the key as sent, the rule in the reader's language)."""
    info = describe(row)
    outcome = row.outcome or {}
    body = {key: info[key] for key in ("id", "kind", "kind_label", "state", "state_label", "step_label", "done",
                                       "total", "progress_text", "finished", "error")}
    body.update(round=row.round_id, created_at=plain(row.created_at), finished_at=plain(row.finished_at),
                errors=[record_line(line) for line in outcome.get("errors", [])],
                error_count=outcome.get("error_count", 0),
                result=None if row.state != "done" else {key: value for key, value in outcome.items()
                                                         if key not in ("errors", "error_count")})
    return body
