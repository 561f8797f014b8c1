"""Running one job: claim its row, report progress on it, record the outcome.

A job is claimed by one atomic UPDATE (queued → running, or running with a stopped heartbeat → running), so
two workers never run the same job. Progress goes through its own short transaction, throttled, and doubles
as the heartbeat. A job whose worker died (no heartbeat for :data:`STALL_SECONDS`) is queued again by
:func:`stalled_jobs`; since every task writes its result under one name per job, a rerun replaces, never adds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import or_, select, update

from web.extensions import db
from web.models import Job, utcnow

STALL_SECONDS = 120
REPORT_EVERY_SECONDS = 0.5


class JobFailed(Exception):
    """A refusal the person who asked must read (``code`` names a catalog sentence); not retried."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class Progress:
    """``done`` of ``total`` at ``step``, written to the job's row at most every half second (and always at a
    new step), so a 415-page PDF costs a few dozen small updates, not 415."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.step = "waiting"
        self.done = 0
        self.total = 0
        self._written_at = 0.0

    def start(self, step: str, total: int) -> None:
        """Begin ``step`` with ``total`` units of work."""
        self.step, self.done, self.total = step, 0, total
        self._write()

    def advance(self, done: int) -> None:
        """``done`` units of the current step are finished (never goes backwards; a total grows if exceeded)."""
        self.done = max(self.done, done)
        self.total = max(self.total, self.done)
        if time.monotonic() - self._written_at >= REPORT_EVERY_SECONDS:
            self._write()

    def _write(self) -> None:
        self._written_at = time.monotonic()
        with db.engine.begin() as connection:
            connection.execute(update(Job).where(Job.id == self.job_id).values(
                step=self.step, done=self.done, total=self.total, heartbeat_at=utcnow()))


def claim(job_id: int) -> Job | None:
    """Mark the job running for this worker and return it; None when it is finished or alive elsewhere."""
    now = utcnow()
    stalled_before = now - timedelta(seconds=STALL_SECONDS)
    claimed = db.session.execute(
        update(Job).where(Job.id == job_id, or_(Job.state == "queued",
                                                 (Job.state == "running") & (Job.heartbeat_at < stalled_before)))
        .values(state="running", started_at=now, heartbeat_at=now, attempts=Job.attempts + 1, error=None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return db.session.get(Job, job_id) if claimed else None


def run(job_id: int, work: Callable[[Job, Progress], str | None], *, last_attempt: bool) -> None:
    """Claim job ``job_id`` and do ``work`` (which returns the stored result's name, or None).

    A :class:`JobFailed` fails the job with its sentence. Any other error fails it on the last attempt and
    otherwise puts it back in the queue state and re-raises, so Huey retries it.
    """
    job = claim(job_id)
    if job is None:
        return
    progress = Progress(job_id)
    try:
        result = work(job, progress)
    except JobFailed as refusal:
        db.session.rollback()
        finish(job_id, "failed", error=refusal.code)
        return
    except Exception:
        db.session.rollback()
        if last_attempt:
            finish(job_id, "failed", error="unexpected")
        else:
            _requeue(job_id)
        raise
    job.state, job.result_path, job.finished_at, job.step = "done", result, utcnow(), "finished"
    job.done = job.total = progress.total
    db.session.commit()


def finish(job_id: int, state: str, *, error: str | None = None) -> None:
    """Record the job's end in its own transaction."""
    job = db.session.get(Job, job_id)
    job.state, job.error, job.finished_at = state, error, utcnow()
    db.session.commit()


def _requeue(job_id: int) -> None:
    job = db.session.get(Job, job_id)
    job.state = "queued"
    db.session.commit()


def stalled_jobs() -> list[int]:
    """Jobs to enqueue again: running ones whose heartbeat stopped (their worker died), queued again; and queued
    ones waiting longer than :data:`STALL_SECONDS` (in case their queue message was lost). Enqueuing a job
    twice is harmless: only one worker can claim it."""
    stalled_before = utcnow() - timedelta(seconds=STALL_SECONDS)
    dead = list(db.session.scalars(select(Job.id).where(Job.state == "running", Job.heartbeat_at < stalled_before)))
    if dead:
        db.session.execute(update(Job).where(Job.id.in_(dead), Job.state == "running",
                                             Job.heartbeat_at < stalled_before)
                           .values(state="queued").execution_options(synchronize_session=False))
        db.session.commit()
    waiting = list(db.session.scalars(select(Job.id).where(Job.state == "queued", Job.created_at < stalled_before,
                                                           Job.id.not_in(dead or [0]))))
    return dead + waiting
