"""Review rounds (评审轮次): one evaluation, one template, its panel settings and its applications."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from web.extensions import db

from .application import Application
from .common import POOLS, one_of, utcnow
from .template import ROUND_KINDS, ScoreTemplate

ROUND_STATES = ("draft", "assigning", "scoring", "closed")
PANEL_MODES = ("individual", "meeting")
OBJECTIVES = ("total", "fair")
ASSESSMENT_WEIGHTS_RULE = (
    "(assessment_weight_triennial IS NULL AND assessment_weight_annual IS NULL) OR "
    "(assessment_weight_triennial BETWEEN 0 AND 1 AND assessment_weight_annual BETWEEN 0 AND 1)")


class Round(db.Model):
    """A round and its panel settings (DESIGN §10 matching settings), each a column so queries can use it."""

    __table_args__ = (
        one_of("kind", ROUND_KINDS),
        one_of("state", ROUND_STATES),
        one_of("mode", PANEL_MODES),
        one_of("objective", OBJECTIVES),
        CheckConstraint("panel_size > 0", name="panel_size_positive"),
        CheckConstraint(
            "max_probability IS NULL OR (max_probability > 0 AND max_probability <= 1)", name="max_probability_range"
        ),
        CheckConstraint("weight_field >= 0 AND weight_text >= 0", name="weights_not_negative"),
        CheckConstraint("time_limit IS NULL OR time_limit >= 1", name="time_limit_positive"),
        CheckConstraint(ASSESSMENT_WEIGHTS_RULE, name="assessment_weights_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    template_id: Mapped[int] = mapped_column(ForeignKey("score_template.id"))
    as_of: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), default="draft")
    mode: Mapped[str] = mapped_column(String(20), default="individual")
    panel_size: Mapped[int] = mapped_column(Integer, default=7)
    max_per_organization: Mapped[int] = mapped_column(Integer, default=1)
    max_load: Mapped[int] = mapped_column(Integer, default=5)
    objective: Mapped[str] = mapped_column(String(10), default="total")
    max_probability: Mapped[float | None] = mapped_column(Float)
    seed: Mapped[int | None] = mapped_column(Integer)
    reserves: Mapped[int] = mapped_column(Integer, default=3)
    weight_field: Mapped[float] = mapped_column(Float, default=0.6)
    weight_text: Mapped[float] = mapped_column(Float, default=0.4)
    window_years: Mapped[int] = mapped_column(Integer, default=3)
    repeat_review_years: Mapped[int | None] = mapped_column(Integer)
    meeting_max_applications: Mapped[int | None] = mapped_column(Integer)
    # Seconds the exact solve may take before it returns its best panels with their gap (None: until proven
    # optimal; docs/matching.md, "A time limit").
    time_limit: Mapped[int | None] = mapped_column(Integer)
    # Take the first reserve automatically when an expert declines or recuses (otherwise one click).
    auto_replace: Mapped[bool] = mapped_column(Boolean, default=False)
    # A triennial round's combination weights (docs/scoring.md, "The triennial assessment"); None until the
    # organizer sets them: the engine's default applies.
    assessment_weight_triennial: Mapped[float | None] = mapped_column(Float)
    assessment_weight_annual: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    template: Mapped[ScoreTemplate] = relationship()
    pool_quotas: Mapped[list[PoolQuota]] = relationship(cascade="all, delete-orphan", order_by="PoolQuota.id")
    round_applications: Mapped[list[RoundApplication]] = relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="RoundApplication.id"
    )

    @property
    def applications(self) -> list[Application]:
        """The applications under review in this round, in the order they were added."""
        return [link.application for link in self.round_applications]


class PoolQuota(db.Model):
    """Minimum and maximum experts of one pool per panel in a round."""

    __table_args__ = (
        UniqueConstraint("round_id", "pool"),
        one_of("pool", POOLS),
        CheckConstraint("minimum >= 0 AND maximum >= minimum", name="range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    pool: Mapped[str] = mapped_column(String(20))
    minimum: Mapped[int] = mapped_column(Integer)
    maximum: Mapped[int] = mapped_column(Integer)


class RoundApplication(db.Model):
    """An application taking part in a round."""

    __table_args__ = (UniqueConstraint("round_id", "application_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)

    round: Mapped[Round] = relationship(back_populates="round_applications")
    application: Mapped[Application] = relationship()
