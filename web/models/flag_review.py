"""Flag reviews: an expert whose score was flagged as an outlier confirms or revises it with a written reason.

The habit of 财政部令第87号 Art. 64: 畸高畸低 scores are put back to the expert, never silently dropped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from web.extensions import db

from .common import one_of, utcnow
from .sheet import ScoreSheet

FLAG_RESPONSES = ("confirm", "revise")


class FlagReview(db.Model):
    """The organizer's request to review one flagged sheet, and the expert's answer (None until answered)."""

    __table_args__ = (
        UniqueConstraint("sheet_id", "code"),
        one_of("response", FLAG_RESPONSES, nullable=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("score_sheet.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    response: Mapped[str | None] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)

    sheet: Mapped[ScoreSheet] = relationship()
