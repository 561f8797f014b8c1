"""Jobs as the rest of the application sees them: ask for one, find one, list a round's; whether their queues
have workers.

Services flush, the caller commits: :func:`request_job` adds the row and asks for its task to be enqueued once
the caller's transaction commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g
from sqlalchemy import func, select

from web.database import lock_row
from web.extensions import db
from web.jobs import heartbeats
from web.jobs.queue import QUEUES, enqueue_after_commit, queue, queue_of
from web.models import Job, Round, User, utcnow
from web.services import audit

RUN_JOB = "run_job"
UNFINISHED = ("queued", "running")


def request_job(kind: str, *, round_: Round | None, actor: User | None, params: dict | None = None) -> Job:
    """A job of ``kind`` for ``round_``: the one already queued or running with the same parameters, else a new
    one (audited), enqueued on the queue of its kind when the caller commits.

    Asking for a round's job first locks the round's row until the caller commits, so two people asking at the
    same moment are served one after the other and the second joins the first one's job.
    """
    params = params or {}
    if round_ is not None:
        lock_row(Round, round_.id)
    for job in unfinished_jobs(kind, round_):
        if job.params == params:
            return job
    job = Job(kind=kind, round=round_, requested_by=actor, params=params, state="queued", step="waiting",
              created_at=utcnow())
    db.session.add(job)
    db.session.flush()
    audit.record("job.requested", "job", job.id, actor=actor, after={"kind": kind, "round_id": job.round_id,
                                                                      "params": params})
    enqueue_after_commit(RUN_JOB, job.id, on=queue_of(kind))
    return job


def unfinished_jobs(kind: str, round_: Round | None) -> list[Job]:
    """The queued or running jobs of ``kind`` for ``round_`` (or for no round), newest first."""
    return list(db.session.scalars(
        select(Job).where(Job.kind == kind, Job.round_id == (round_.id if round_ else None),
                          Job.state.in_(UNFINISHED)).order_by(Job.id.desc())))


def round_jobs(round_id: int, limit: int = 100) -> list[Job]:
    """The round's jobs, newest first."""
    return list(db.session.scalars(select(Job).where(Job.round_id == round_id).order_by(Job.id.desc())
                                   .limit(limit)))


HEARTBEATS_READ = "panel_queue_heartbeats"
"""Where :func:`readable_heartbeats` keeps the request's reading (on ``flask.g``)."""


@dataclass(frozen=True)
class QueueSilence:
    """A waiting job's queue has had no worker for ``minutes`` whole minutes since its last heartbeat, or
    (``minutes`` None) never had one recorded."""

    queue: str
    minutes: int | None


def queue_heartbeats() -> dict[str, datetime | None]:
    """Each queue's last consumer heartbeat (naive UTC; None: none recorded); raises when the queue's storage
    cannot be read."""
    return {name: heartbeats.last_beat(queue(name=name)) for name in QUEUES}


def readable_heartbeats() -> dict[str, datetime | None] | None:
    """Every queue's :func:`queue_heartbeats`, read once per request (a round's page asks for each waiting job's
    queue), or None (logged) while the queue's storage cannot be read (Redis restarting): a job's page, its JSON
    and the API's answer about it must still show the job, which is safe in the database (``requeue_stalled``
    enqueues it once the storage is back)."""
    if HEARTBEATS_READ not in g:
        try:
            beats = queue_heartbeats()
        except Exception:  # the storage's errors (redis.ConnectionError, sqlite3.OperationalError) share no base
            current_app.logger.warning("the queues' heartbeats could not be read", exc_info=True)
            beats = None
        setattr(g, HEARTBEATS_READ, beats)
    return g.get(HEARTBEATS_READ)


@dataclass(frozen=True)
class QueueState:
    """A queue as an operator checks it: its last consumer heartbeat (naive UTC, None: none recorded), the
    messages in it, and the jobs of its kinds waiting for a worker."""

    name: str
    last_beat: datetime | None
    messages: int
    waiting_jobs: int

    def unattended(self, now: datetime) -> bool:
        """Jobs wait on it and no worker has taken it for :data:`heartbeats.SILENT_SECONDS`."""
        return bool(self.waiting_jobs) and (
            self.last_beat is None or (now - self.last_beat).total_seconds() >= heartbeats.SILENT_SECONDS)


def queue_states() -> list[QueueState]:
    """Every queue's state (:class:`QueueState`), in the order of :data:`QUEUES`."""
    waiting = dict.fromkeys(QUEUES, 0)
    for kind, number in db.session.execute(select(Job.kind, func.count()).where(Job.state == "queued")
                                           .group_by(Job.kind)):
        waiting[queue_of(kind)] += number
    return [QueueState(name, beat, queue(name=name).pending_count(), waiting[name])
            for name, beat in queue_heartbeats().items()]


def queue_silence(job: Job) -> QueueSilence | None:
    """For a job waiting on a queue that no worker has taken for :data:`heartbeats.SILENT_SECONDS`, or that never
    had a heartbeat recorded once the job has waited :data:`heartbeats.FIRST_BEAT_SECONDS`: the queue and for how
    long; None for any other job (running, finished, or its queue alive), and in immediate mode (a job runs as it
    is asked for), and while the queue's storage cannot be read (:func:`readable_heartbeats`)."""
    if job.state != "queued" or current_app.config["PANEL_QUEUE"] == "immediate":
        return None
    name = queue_of(job.kind)
    beats = readable_heartbeats()
    if beats is None:
        return None
    now = utcnow()
    if beats[name] is None:
        waited = (now - job.created_at).total_seconds()
        return QueueSilence(name, None) if waited >= heartbeats.FIRST_BEAT_SECONDS else None
    silent = (now - beats[name]).total_seconds()
    return QueueSilence(name, int(silent // 60)) if silent >= heartbeats.SILENT_SECONDS else None
