"""Score sheets (评分表): one expert's scores for one application in one round."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from web.extensions import db

from .application import Application
from .common import one_of, utcnow
from .expert import Expert
from .round import Round
from .template import TemplateCriterion, TemplateIndicator

SHEET_STATES = ("draft", "submitted", "reopened")
OPINIONS = ("recommend", "conditional", "reject")


class ScoreSheet(db.Model):
    """A sheet: drafted, submitted (locked), or reopened by the organizer with a reason.

    ``conflict_declared`` is None until the expert answers the conflict declaration (回避声明), then False (no
    conflict) or True. ``excluded_reason`` set means the sheet is kept but left out of the aggregation.
    """

    __table_args__ = (
        UniqueConstraint("round_id", "application_id", "expert_id"),
        one_of("state", SHEET_STATES),
        one_of("opinion", OPINIONS, nullable=True),
        CheckConstraint("confidence > 0 AND confidence <= 1", name="confidence_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="draft")
    opinion: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    conflict_declared: Mapped[bool | None] = mapped_column(Boolean)
    conflict_note: Mapped[str | None] = mapped_column(Text)
    excluded_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    reopened_at: Mapped[datetime | None] = mapped_column(DateTime)
    reopen_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    round: Mapped[Round] = relationship()
    application: Mapped[Application] = relationship()
    expert: Mapped[Expert] = relationship()
    scores: Mapped[list[Score]] = relationship(
        back_populates="sheet", cascade="all, delete-orphan", order_by="Score.id"
    )

    @property
    def total(self) -> float:
        """The sum of the criteria entered so far (the expert total T of DESIGN §7.1)."""
        return sum(score.value for score in self.scores if score.value is not None)


class Score(db.Model):
    """The points one criterion got on one sheet (range and step are checked by scoring.validate), with the
    expert's comment where the criterion asks for one."""

    __table_args__ = (
        UniqueConstraint("sheet_id", "criterion_id"),
        CheckConstraint("value IS NULL OR value >= 0", name="value_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("score_sheet.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("template_criterion.id"), index=True)
    value: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)

    sheet: Mapped[ScoreSheet] = relationship(back_populates="scores")
    criterion: Mapped[TemplateCriterion] = relationship()


class IndicatorValue(db.Model):
    """A quantitative figure a center reported for an annual or triennial round (e.g. incubated companies)."""

    __table_args__ = (UniqueConstraint("round_id", "application_id", "indicator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("template_indicator.id"), index=True)
    value: Mapped[float | None] = mapped_column(Float)

    indicator: Mapped[TemplateIndicator] = relationship()
