"""The append-only audit log: who did what, when, with the state before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from web.extensions import db

from .common import utcnow


class AuditEvent(db.Model):
    """One state change. ``actor_id`` None means the command line or the system acted.

    Append-only is enforced in the ORM (see :func:`refuse_audit_changes`) and in the database: a trigger refuses
    UPDATE and DELETE on this table, on PostgreSQL and on SQLite (migration 8393dbb4f97e).
    """

    __table_args__ = (Index("ix_audit_event_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_name: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60), index=True)
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[Any | None] = mapped_column(JSON)
    after: Mapped[Any | None] = mapped_column(JSON)


class AuditLogIsAppendOnly(Exception):
    """Raised when code tries to change or delete an audit event."""


@event.listens_for(Session, "before_flush")
def refuse_audit_changes(session: Session, flush_context, instances) -> None:
    """Refuse any flush that would update or delete an audit event."""
    for instance in session.deleted:
        if isinstance(instance, AuditEvent):
            raise AuditLogIsAppendOnly(f"audit event {instance.id} cannot be deleted")
    for instance in session.dirty:
        if isinstance(instance, AuditEvent) and session.is_modified(instance):
            raise AuditLogIsAppendOnly(f"audit event {instance.id} cannot be changed")
