"""Assignment versions: each matcher run (or manual edit) is kept, exactly one per round is active."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from web.extensions import db

from .application import Application
from .common import POOLS, one_of, utcnow
from .expert import Expert
from .round import Round

VERSION_STATUSES = ("optimal", "feasible", "infeasible", "manual")
ASSIGNMENT_STATES = ("proposed", "invited", "accepted", "declined", "recused", "replaced")


class AssignmentVersion(db.Model):
    """One stored result of the matcher with the settings and seed that produced it (auditable, reproducible)."""

    __table_args__ = (UniqueConstraint("round_id", "number"), one_of("status", VERSION_STATUSES))

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int | None] = mapped_column(Integer)
    # The settings exactly as sent to the matcher: a snapshot, never queried.
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    objective: Mapped[float | None] = mapped_column(Float)
    bound: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    diagnostics: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    round: Mapped[Round] = relationship()
    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="Assignment.id"
    )
    reserves: Mapped[list[Reserve]] = relationship(cascade="all, delete-orphan", order_by="Reserve.rank")


class Assignment(db.Model):
    """An expert on an application's panel, with the fit and its components the organizer sees.

    ``state`` follows the invitation (DESIGN §5 step 3); a declined or recused expert's row is kept and the
    reserve taking the seat gets a new row. ``manual`` marks a hand edit; ``override_reason`` is the admin's
    written reason for keeping a pair a conflict rule forbids (DESIGN §6).
    """

    __table_args__ = (
        UniqueConstraint("version_id", "application_id", "expert_id"),
        one_of("pool", POOLS),
        one_of("state", ASSIGNMENT_STATES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("assignment_version.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    pool: Mapped[str] = mapped_column(String(20))
    fit: Mapped[float | None] = mapped_column(Float)
    field_fit: Mapped[float | None] = mapped_column(Float)
    text_fit: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(20), default="proposed")
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    override_reason: Mapped[str | None] = mapped_column(Text)
    # Meeting mode: the panel (会评小组) this seat belongs to; None in individual mode.
    panel: Mapped[int | None] = mapped_column(Integer)
    # Why the state changed last: the decline or recusal reason, or the conflict rule behind a meeting recusal.
    state_reason: Mapped[str | None] = mapped_column(Text)
    invited_at: Mapped[datetime | None] = mapped_column(DateTime)
    responded_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The seat this one took over (a reserve replacing a declined or recused expert).
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("assignment.id"))

    version: Mapped[AssignmentVersion] = relationship(back_populates="assignments")
    application: Mapped[Application] = relationship()
    expert: Mapped[Expert] = relationship()


class Reserve(db.Model):
    """A ranked backup expert for an application, taken when a panel member declines or recuses."""

    __table_args__ = (UniqueConstraint("version_id", "application_id", "expert_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("assignment_version.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    fit: Mapped[float | None] = mapped_column(Float)

    application: Mapped[Application] = relationship()
    expert: Mapped[Expert] = relationship()
