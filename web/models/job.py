"""Jobs: slow work (PDFs, recomputations) done by a worker, recorded so any web process can show it; and the
stored results some of them keep (a round's ranking, its panels' engine context)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from web.extensions import db

from .common import one_of, utcnow
from .round import Round
from .user import User

JOB_KINDS = ("sheets_pdf", "blank_pdf", "ranking", "records_upload", "matching", "import", "panel_context")
JOB_STATES = ("queued", "running", "done", "failed")


class Job(db.Model):
    """One piece of slow work: who asked for what, how far it got (``done`` of ``total`` at ``step``), its file.

    ``step`` is a code with a Chinese label (web/blueprints/jobs/labels.py); ``error`` is a code too, so the
    sentence a person reads comes from the catalog in their language. ``outcome`` holds what a job without a
    file produced (a matching run's version, an import's refs) or the itemized errors of a refusal. ``heartbeat_at`` is touched with every
    progress report: a running job whose heartbeat stopped belongs to a worker that died and is queued again.
    """

    __table_args__ = (one_of("kind", JOB_KINDS), one_of("state", JOB_STATES))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    step: Mapped[str] = mapped_column(String(20), default="waiting")
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    error: Mapped[str | None] = mapped_column(String(40))
    result_path: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[dict | None] = mapped_column(JSON)

    round: Mapped[Round | None] = relationship()
    requested_by: Mapped[User | None] = relationship()

    @property
    def finished(self) -> bool:
        """Done or failed: nothing more will happen to this job."""
        return self.state in ("done", "failed")


class StoredRanking(db.Model):
    """A round's ranking as the scoring engine computed it, kept until its inputs change.

    ``data_version`` is the SHA-256 of the engine's input (sheets, exclusions, settings): the result stands for
    exactly that input. ``input_stamp`` is a cheap fingerprint of what the input is built from (the newest
    relevant audit event, the round's sheets); a page compares it to decide, without rebuilding the input,
    that nothing changed. ``payload`` is the engine's result, pickled (it is written and read only by Panel).
    """

    __table_args__ = (db.UniqueConstraint("round_id", "options_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    options_key: Mapped[str] = mapped_column(String(60))
    data_version: Mapped[str] = mapped_column(String(64))
    input_stamp: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class StoredPanelContext(db.Model):
    """The matching engine's context of a round (conflicts, fit, permission masks, caps), kept until its inputs
    change, so the panel pages explain a panel without a conflict scan and a fit computation per view.

    ``data_version`` is the SHA-256 of the engine's problem (experts, applications, settings, past reviews);
    ``input_stamp`` the cheap fingerprint a page compares first (web/services/stored_context.py); ``payload``
    the context, pickled (written and read only by Panel).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), unique=True)
    data_version: Mapped[str] = mapped_column(String(64))
    input_stamp: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
