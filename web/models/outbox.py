"""The outbox: every invitation, reminder and notice the service sends, kept whether or not SMTP is set up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from web.extensions import db

from .common import one_of, utcnow
from .expert import Expert
from .round import Round

MESSAGE_KINDS = ("invitation", "reminder", "recusal_notice", "decline_notice", "reopened", "flag_review", "other",
                 "access_link", "password_reset")
TRANSPORTS = ("smtp", "file")
OUTBOX_STATES = ("queued", "retrying", "sent", "failed")


class OutboxMessage(db.Model):
    """One message: written with the change that causes it, then delivered after commit by a worker, by SMTP or
    to the instance folder (``transport``).

    ``state`` is queued, retrying (a temporary failure; tried again at ``next_attempt_at``), sent or failed (a
    permanent refusal, or too many attempts); ``error`` keeps the last SMTP reply. ``claim``/``claimed_at``
    mark the batch a worker took, so two workers never send the same message; a claim older than the lease
    belongs to a worker that died and may be taken again.
    """

    __table_args__ = (one_of("kind", MESSAGE_KINDS), one_of("transport", TRANSPORTS, nullable=True),
                      one_of("state", OUTBOX_STATES))

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("expert.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    transport: Mapped[str | None] = mapped_column(String(10))
    stored_as: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    claim: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)

    round: Mapped[Round | None] = relationship()
    expert: Mapped[Expert | None] = relationship()
