"""Writing audit events: one call per state change, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from web.extensions import db
from web.models import AuditEvent, User

SYSTEM_ACTOR = "system"


def record(action: str, entity_type: str, entity_id: Any, *, actor: User | None,
           before: Any = None, after: Any = None) -> AuditEvent:
    """Add an audit event to the session (committed with the change it describes)."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.username if actor is not None else SYSTEM_ACTOR,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        before=_jsonable(before),
        after=_jsonable(after),
    )
    db.session.add(event)
    return event


def _jsonable(value: Any) -> Any:
    """``value`` with dates turned into ISO strings, so any record dict can go into a JSON column."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
