"""Score templates (评分表模板) and their criteria; each round scores against its own copy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from web.extensions import db

from .common import one_of, utcnow

ROUND_KINDS = ("selection_review", "site_inspection", "annual", "triennial")


class ScoreTemplate(db.Model):
    """A set of criteria; ``is_default`` marks the kind's starting point, copied into every new round."""

    __table_args__ = (one_of("kind", ROUND_KINDS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    copied_from_id: Mapped[int | None] = mapped_column(ForeignKey("score_template.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    criteria: Mapped[list[TemplateCriterion]] = relationship(
        back_populates="template", cascade="all, delete-orphan", order_by="TemplateCriterion.position"
    )
    indicators: Mapped[list[TemplateIndicator]] = relationship(
        cascade="all, delete-orphan", order_by="TemplateIndicator.position"
    )

    @property
    def total(self) -> float:
        """The most points a sheet can give."""
        return sum(criterion.max for criterion in self.criteria)


class TemplateCriterion(db.Model):
    """One line of a score sheet: at most ``max`` points in multiples of ``step`` (DESIGN §7)."""

    __table_args__ = (
        UniqueConstraint("template_id", "code"),
        CheckConstraint("max > 0", name="max_positive"),
        CheckConstraint("step > 0", name="step_positive"),
        CheckConstraint("priority >= 0", name="priority_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("score_template.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    max: Mapped[float] = mapped_column(Float)
    step: Mapped[float] = mapped_column(Float, default=0.5)
    group: Mapped[str] = mapped_column(String(40), default="")
    guidance: Mapped[str] = mapped_column(Text, default="")
    veto: Mapped[bool] = mapped_column(Boolean, default=False)
    comment_required: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer, default=0)

    template: Mapped[ScoreTemplate] = relationship(back_populates="criteria")


class TemplateIndicator(db.Model):
    """A quantitative figure the reviewed center reports (annual/triennial), shown beside the scores."""

    __table_args__ = (UniqueConstraint("template_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("score_template.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20), default="")
