"""Attachments (附件) handed in with an application: metadata here, the file under the instance folder."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from web.extensions import db

from .application import Application
from .common import one_of, utcnow

ATTACHMENT_KINDS = (
    "business_licence", "audited_financials", "cooperation_agreement", "bylaws", "qualification", "other",
)


class Attachment(db.Model):
    """One attached document. ``stored_name`` is None when only the paper copy was registered (the notice asks
    for paper and electronic copies; the formal check counts either)."""

    __table_args__ = (one_of("kind", ATTACHMENT_KINDS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    stored_name: Mapped[str | None] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    application: Mapped[Application] = relationship(back_populates="attachments")
