"""Running one job: claim its row, report progress on it, record the outcome.

A job is claimed by a guarded UPDATE (queued → running; failing that, a second one: running with a stopped
heartbeat → running), each atomic, which also counts the attempt, so two workers never run the same job at once
(a second worker's UPDATE finds the row no longer matching its guard). Progress goes through its own short
transaction, throttled; a heartbeat thread touches the row while the work runs, even through a long solver call
that reports nothing. A job whose worker died (no heartbeat for :data:`STALL_SECONDS`) is queued again by
:func:`stalled_jobs`.

**One result per job.** The work flushes what it builds (a new assignment version, imported rows) and the
runner commits it together with the job's ``done`` and its audit event, in one transaction, and only if the row
still carries this worker's attempt: a worker killed mid-job has committed nothing, and one that lost its job to
another worker (its heartbeat stopped) rolls its work back and audits nothing. A task that writes a file writes it
under one name per job, so a rerun replaces, never adds.

**Inputs outlive every attempt but the last.** A job that consumes a stored file (an upload, an API import's
body) has it deleted by its kind's clean-up (web/jobs/work.py ``FORGET_INPUT``), only once the job's end (done,
or failed for good) is committed. A worker killed mid-job, or a commit that fails, leaves the file for
the retry; one killed between the end's commit and the deletion leaves it to ``requeue_stalled``
(:func:`recently_ended`).

**A stop is not a failure.** The jobs a process still runs when its own stop gives up waiting for them (SIGTERM
past ``--stop-seconds``, a second signal) go back to their queue at once, their attempt not spent
(:func:`hand_back_under_way`, audited ``job.interrupted``): three deploys during one long run must not fail it; a
hand-back that fails is given back later by ``requeue_stalled`` (web/jobs/hand_backs.py). A worker that dies
(SIGKILL, out of memory) hands nothing back, so its attempt counts, and a job that kills every worker that runs it
still ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import Row, select, update
from sqlalchemy.orm import load_only

from web.extensions import db
from web.models import Job, utcnow
from web.services import audit

STALL_SECONDS = 120
REPORT_EVERY_SECONDS = 0.5
MAX_ATTEMPTS = 3
"""Attempts a job gets, whether an attempt ended in an unexpected error (Huey's retries) or with its worker's death
(a job that kills every worker that runs it, out of memory, is not run again for ever)."""
HEARTBEAT_SECONDS = 30
"""How often a running job's row is touched while its work reports nothing (well under :data:`STALL_SECONDS`)."""
FORGET_AGAIN_SECONDS = 24 * 3600
"""For how long after a job's end ``requeue_stalled`` deletes its stored input again (:func:`recently_ended`)."""


class JobFailed(Exception):
    """A refusal the person who asked must read (``code`` names a catalog sentence); not retried.

    ``outcome`` keeps the itemized problems on the job (an import's ``errors``, one sentence each, and their
    ``error_count``).
    """

    def __init__(self, code: str, outcome: dict | None = None):
        super().__init__(code)
        self.code = code
        self.outcome = outcome


@dataclass(frozen=True)
class Attempt:
    """One claim of a job: its number (the row's ``attempts`` once claimed) and when it was claimed (the row's
    ``started_at``). The number alone does not tell two attempts apart: a stop's hand-back gives the attempt back,
    so the next claim carries the same number again while the handed-back attempt's thread still runs."""

    job_id: int
    number: int
    started_at: datetime


def _this_attempt(attempt: Attempt):
    """An UPDATE of the job that matches only while it is running ``attempt`` (and no other)."""
    return update(Job).where(Job.id == attempt.job_id, Job.state == "running", Job.attempts == attempt.number,
                             Job.started_at == attempt.started_at)


def _touch(attempt: Attempt, **values: object) -> None:
    """Mark ``attempt`` alive (and write ``values``: its progress) in a short transaction of its own; nothing once
    the row is not running this attempt: ended, back in the queue, or claimed again by the next attempt."""
    with db.engine.begin() as connection:
        connection.execute(_this_attempt(attempt).values(heartbeat_at=utcnow(), **values))


class Progress:
    """``done`` of ``total`` at ``step``, written to the job's row at most every half second (and always at a
    new step), so a 415-page PDF costs a few dozen small updates, not 415."""

    def __init__(self, attempt: Attempt):
        self.attempt = attempt
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

    def report(self, step: str, done: int, total: int) -> None:
        """At ``step`` with ``done`` of ``total``: written at once when the step's code (before a ``:``) changes,
        else throttled like :meth:`advance`."""
        new_code = step.split(":")[0] != self.step.split(":")[0]
        self.step, self.done, self.total = step, done, max(total, done)
        if new_code or time.monotonic() - self._written_at >= REPORT_EVERY_SECONDS:
            self._write()

    def _write(self) -> None:
        """Write the progress on the job's row while it runs this attempt (a row back in the queue, ended, or claimed
        by the next attempt keeps its own: an attempt its process's stop handed back still runs until the process
        exits, and the next worker may claim the job meanwhile)."""
        self._written_at = time.monotonic()
        _touch(self.attempt, step=self.step, done=self.done, total=self.total)


def progress_while_writing() -> bool:
    """Whether progress may be written while the job's own transaction holds written rows.

    SQLite has one writer at a time: once the job's transaction has written, a progress write from another
    connection would wait for that transaction to end. PostgreSQL locks rows, and the job's row is not among them.
    """
    return db.engine.dialect.name != "sqlite"


class Heartbeat:
    """A thread that touches the job's ``heartbeat_at`` every :data:`HEARTBEAT_SECONDS` until stopped, so a
    long step that reports no progress (a solver call) is not mistaken for a dead worker."""

    def __init__(self, app: Flask, attempt: Attempt):
        self.app, self.attempt = app, attempt
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"job-{attempt.job_id}-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stopped.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stopped.wait(HEARTBEAT_SECONDS):
            try:
                with self.app.app_context():
                    _touch(self.attempt)
            except Exception:  # a busy database skips one beat; the next one, 30 s later, tries again
                self.app.logger.warning("job %s: heartbeat not written", self.attempt.job_id, exc_info=True)


ENDING_SECONDS = 5.0
"""How long a stop's hand-back waits for the attempts that are recording their own end (:data:`_ENDING`): a commit
takes milliseconds; the bound keeps a stuck one from holding the stop."""
_UNDER_WAY: dict[int, Attempt] = {}
"""The jobs this process is running, each with its attempt, for :func:`hand_back_under_way`."""
_ENDING: set[Attempt] = set()
"""The attempts that took themselves off :data:`_UNDER_WAY` to record their end and have not finished doing so."""
_REGISTRY = threading.Condition()
"""Guards :data:`_UNDER_WAY` and :data:`_ENDING`; notified as an attempt finishes."""


def _still_ours(attempt: Attempt) -> bool:
    """Whether this process's ``attempt`` may record its end: False once the process's stop handed
    the job back (the attempt's work is then dropped; its successor does it again), or once another of the
    process's threads took the job over. Taken out of :data:`_UNDER_WAY` either way, so the attempt and the stop
    never both record an end; when it is ours, the attempt is :data:`_ENDING` until :func:`_finished`."""
    with _REGISTRY:
        ours = _UNDER_WAY.get(attempt.job_id) == attempt
        if ours:
            del _UNDER_WAY[attempt.job_id]
            _ENDING.add(attempt)
        return ours


def _finished(attempt: Attempt) -> None:
    """``attempt`` is over, its end recorded or dropped: off both lists (a later attempt's entry stays)."""
    with _REGISTRY:
        if _UNDER_WAY.get(attempt.job_id) == attempt:
            del _UNDER_WAY[attempt.job_id]
        _ENDING.discard(attempt)
        _REGISTRY.notify_all()


def take_under_way() -> list[Attempt]:
    """Take the attempts this process is running off its list, for its stop to hand them back
    (:func:`hand_back_under_way`): one that ends from now on finds it is no longer ours (:func:`_still_ours`) and
    drops its work."""
    with _REGISTRY:
        attempts = list(_UNDER_WAY.values())
        _UNDER_WAY.clear()
    return attempts


def hand_back_under_way(attempts: Collection[Attempt]) -> list[tuple[int, str]]:
    """Put the jobs of ``attempts`` (:func:`take_under_way`'s) back in the queue state, their attempt not counted
    (:func:`give_back`); returns them with their kind, for the caller to enqueue.

    Called by a stopping process once it gave up waiting for them (web/jobs/queue.py, ``Consumers.hand_back``):
    their threads die with the process, and the stop was the process's own, not the job's doing. A job whose
    attempt took itself out of :data:`_UNDER_WAY` first (:func:`_still_ours`) is ending on its own and is left to
    it, and waited for (:data:`ENDING_SECONDS` at most, also when the writes fail: the process exits next, and an
    end not yet committed would be lost); one taken finds itself handed back when it ends and rolls its work back
    (the lock is not held while writing: an attempt's own transaction may hold the job's row, or SQLite's write
    lock, until it rolls back).
    """
    try:
        return give_back(attempts)
    finally:
        with _REGISTRY:
            if not _REGISTRY.wait_for(lambda: not _ENDING, ENDING_SECONDS):
                current_app.logger.warning("job(s) %s did not record their end within %s s of the stop",
                                           sorted(attempt.job_id for attempt in _ENDING), ENDING_SECONDS)


def give_back(attempts: Collection[Attempt]) -> list[tuple[int, str]]:
    """Put the job of each of ``attempts`` still running it back in the queue state, the attempt not counted, each
    audited ``job.interrupted`` by the system, in one transaction (rolled back when it fails); returns them with
    their kind, for the caller to enqueue.

    A stop's hand-back (:func:`hand_back_under_way`), and ``requeue_stalled``'s for the attempts a stop recorded
    before a hand-back that failed (web/jobs/hand_backs.py)."""
    if not attempts:
        return []
    try:
        handed = []
        for attempt in attempts:
            handed += db.session.execute(
                _this_attempt(attempt).values(state="queued", attempts=attempt.number - 1, step="waiting", done=0,
                                              total=0)
                .returning(Job.id, Job.kind, Job.attempts).execution_options(synchronize_session=False)).all()
        _audit_moves("job.interrupted", handed, "running", "queued")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return [(job_id, kind) for job_id, kind, _ in handed]


def dead_attempts() -> list[Attempt]:
    """The attempts whose worker died (their heartbeat stopped :data:`STALL_SECONDS` ago), for ``requeue_stalled``
    to give back those a stop was handing back (web/jobs/hand_backs.py)."""
    return [Attempt(job_id, number, started_at) for job_id, number, started_at in
            db.session.execute(select(Job.id, Job.attempts, Job.started_at).where(_dead_worker()))]


def claim(job_id: int) -> Job | None:
    """Mark the job running for this worker, audited ``job.claimed`` by the system (its kind, the attempt's number,
    the state it left: ``queued``, or ``running`` when a dead worker's job is taken over), in the transaction of the
    claim, and return it; None when it is finished, alive elsewhere, or dead on its last attempt
    (:func:`give_up_dead_jobs` fails it)."""
    now = utcnow()
    for before, condition in (("queued", Job.state == "queued"),
                              ("running", _dead_worker() & (Job.attempts < MAX_ATTEMPTS))):
        claimed = db.session.execute(
            update(Job).where(Job.id == job_id, condition)
            .values(state="running", started_at=now, heartbeat_at=now, attempts=Job.attempts + 1, error=None)
            .returning(Job.kind, Job.attempts).execution_options(synchronize_session=False)).one_or_none()
        if claimed is not None:
            _audit_moves("job.claimed", [(job_id, *claimed)], before, "running")
            break
    db.session.commit()
    return db.session.get(Job, job_id, populate_existing=True) if claimed else None   # its started_at, this claim's


def _audit_moves(action: str, moved: Sequence[tuple[int, str, int]], before: str, after: str) -> None:
    """Audit ``action`` by the system for each of the jobs ``moved`` (id, kind, attempts) from the state ``before`` to
    ``after`` (not an end: :func:`_audit_ends`), in the transaction that moves them."""
    for job_id, kind, attempts in moved:
        audit.record(action, "job", job_id, actor=None, before={"state": before},
                     after={"state": after, "kind": kind, "attempts": attempts})


def attempts_left(job: Job) -> int:
    """How many attempts the claimed ``job`` has after this one, by its own count (:data:`MAX_ATTEMPTS` in all):
    an error, a worker's death and a message queued again spend one; a stop's hand-back gives it back."""
    return max(0, MAX_ATTEMPTS - job.attempts)


def run_claimed(job: Job, work: Callable[[Job, Progress], str | None]) -> None:
    """Do the claimed job's ``work`` (which returns the stored result's name, or None; it may set ``job.outcome``)
    and record its end. What the work flushed is committed with the job's end, or not at all; the clean-up of the
    kind's stored input is done once an end for good is committed (:func:`forget_input`), never when the job goes
    back to the queue or another worker took it over, so a retry still finds what it would remove.

    A :class:`JobFailed` fails the job with its sentence. Any other error fails it on its last attempt by the
    database's count (:func:`attempts_left`, which the worker also gives Huey as the message's retries:
    web/jobs/tasks.py) and otherwise puts it back in the queue state and re-raises, for the queue to retry it.
    """
    attempt = Attempt(job.id, job.attempts, job.started_at)
    with _REGISTRY:
        _UNDER_WAY[attempt.job_id] = attempt
    try:
        _work_and_end(job, attempt, work)
    finally:
        _finished(attempt)


def _work_and_end(job: Job, attempt: Attempt, work: Callable[[Job, Progress], str | None]) -> None:
    """:func:`run_claimed`'s work and its end, recorded only while the process has not handed the job back
    (:func:`_still_ours`)."""
    job_id = job.id
    last_attempt = not attempts_left(job)       # read before the work: a rollback expires the job
    progress = Progress(attempt)
    try:
        with Heartbeat(current_app._get_current_object(), attempt):
            result = work(job, progress)
            db.session.flush()
    except JobFailed as refusal:
        db.session.rollback()
        if _still_ours(attempt) and finish(attempt, "failed", error=refusal.code, outcome=refusal.outcome):
            forget_input(job)
        return
    except Exception:
        db.session.rollback()
        if not _still_ours(attempt):
            return
        if last_attempt:
            if finish(attempt, "failed", error="unexpected"):
                forget_input(job)
        else:
            _requeue(attempt)
        raise
    ended = _still_ours(attempt) and db.session.execute(
        _this_attempt(attempt).values(state="done", result_path=result, finished_at=utcnow(),
                                      step="finished", done=progress.total, total=progress.total)
        .returning(*_ENDED).execution_options(synchronize_session=False)).all()
    if ended:
        _audit_ends(ended)
        db.session.commit()
        forget_input(job)
        return
    # another worker took the job over (this one's heartbeat had stopped), or this process's stop handed it back
    db.session.rollback()
    current_app.logger.warning("job %s: attempt %s was taken over or handed back; its work is dropped", job_id,
                               attempt.number)


def forget_input(job: Job) -> None:
    """Delete the stored input of ``job``, whose end for good was committed, if its kind consumes one
    (web/jobs/work.py ``FORGET_INPUT``); a deletion that fails is logged (the end stands)."""
    from web.jobs.work import FORGET_INPUT  # work.py imports this module (JobFailed, Progress)

    try:
        if job.kind in FORGET_INPUT:
            FORGET_INPUT[job.kind](job)
    except Exception:
        current_app.logger.warning("job %s: its input was not deleted", job.id, exc_info=True)


def finish(attempt: Attempt, state: str, *, error: str | None = None, outcome: dict | None = None) -> bool:
    """Record the end of ``attempt``, audited, in its own transaction; False when the job is no longer this
    attempt's (then nothing is written)."""
    recorded = db.session.execute(_this_attempt(attempt).values(state=state, error=error, outcome=outcome,
                                                                 finished_at=utcnow())
                                  .returning(*_ENDED).execution_options(synchronize_session=False)).all()
    _audit_ends(recorded)
    db.session.commit()
    return bool(recorded)


_ENDED = (Job.id, Job.state, Job.kind, Job.attempts, Job.error)
"""The columns an UPDATE that ends jobs returns, for :func:`_audit_ends`."""


def _audit_ends(ended: Sequence[Row]) -> None:
    """Audit each job an UPDATE just ended for good (its :data:`_ENDED` row), by the system, in the transaction
    that ends it: ``job.done`` or ``job.failed``, with the job's kind, attempts and error."""
    for job_id, state, kind, attempts, error in ended:
        audit.record(f"job.{state}", "job", job_id, actor=None, before={"state": "running"},
                     after={"state": state, "kind": kind, "attempts": attempts, "error": error})


def _requeue(attempt: Attempt) -> None:
    """Put the job of ``attempt``, which ended in an unexpected error with attempts left, back in the queue state for
    its retry, audited ``job.retry`` by the system, in the transaction that does it; nothing once the job is no
    longer this attempt's."""
    requeued = db.session.execute(_this_attempt(attempt).values(state="queued")
                                  .returning(Job.id, Job.kind, Job.attempts)
                                  .execution_options(synchronize_session=False)).all()
    _audit_moves("job.retry", requeued, "running", "queued")
    db.session.commit()


def give_up_dead_jobs() -> None:
    """Fail the running jobs whose worker died on their last attempt (:data:`MAX_ATTEMPTS`), each only while it is
    still so (a worker may claim it meanwhile). Each is audited, by the system, in the transaction that fails it;
    the input its work would have deleted at its end goes with the other ended jobs' (:func:`recently_ended`)."""
    ended = db.session.execute(update(Job).where(_dead_worker() & (Job.attempts >= MAX_ATTEMPTS))
                               .values(state="failed", error="unexpected", finished_at=utcnow())
                               .returning(*_ENDED).execution_options(synchronize_session=False)).all()
    _audit_ends(ended)
    db.session.commit()
    if ended:
        current_app.logger.error("job(s) %s failed: their worker died on each of %s attempts",
                                 [row.id for row in ended], MAX_ATTEMPTS)


def recently_ended(kinds: Collection[str]) -> list[Job]:
    """The jobs of ``kinds`` that ended for good (done or failed) in the last :data:`FORGET_AGAIN_SECONDS`, for
    ``requeue_stalled`` to delete their stored input (:func:`forget_input`; deleting it again does nothing).

    The process that commits a job's end deletes the input just after; one that stops in between (a SIGTERM whose
    bounded wait ran out as the job committed, a kill, the database lost just after the commit) left it, personal
    data, in the file store for ever; and :func:`give_up_dead_jobs` ends jobs without running them. A finished job
    never runs again, so its input is never needed again.
    """
    since = utcnow() - timedelta(seconds=FORGET_AGAIN_SECONDS)
    return list(db.session.scalars(select(Job).options(load_only(Job.kind, Job.params, Job.requested_by_id))
                                   .where(Job.kind.in_(kinds), Job.state.in_(("done", "failed")),
                                          Job.finished_at >= since)))


def stalled_jobs() -> list[tuple[int, str]]:
    """Jobs to enqueue again, each once, in no particular order (``requeue_stalled`` merges them with the jobs it
    gave back and orders the whole by id, the order they were asked for): running ones whose heartbeat stopped
    (their worker died) with attempts left, queued again, each audited ``job.stalled`` by the system in the
    transaction that queues it (those without attempts left are failed by :func:`give_up_dead_jobs`); and queued
    ones waiting longer than :data:`STALL_SECONDS` (in case their queue message was lost). Enqueuing a job twice is
    harmless: only one worker can claim it. Each job comes with its kind, which picks its queue."""
    stalled_before = utcnow() - timedelta(seconds=STALL_SECONDS)
    dead = db.session.execute(update(Job).where(_dead_worker() & (Job.attempts < MAX_ATTEMPTS)).values(state="queued")
                              .returning(Job.id, Job.kind, Job.attempts)
                              .execution_options(synchronize_session=False)).all()
    _audit_moves("job.stalled", dead, "running", "queued")
    db.session.commit()
    dead_ids = [job_id for job_id, _, _ in dead]
    waiting = db.session.execute(select(Job.id, Job.kind).where(Job.state == "queued", Job.created_at < stalled_before,
                                                                Job.id.not_in(dead_ids or [0])))
    return [(job_id, kind) for job_id, kind, _ in dead] + [(job_id, kind) for job_id, kind in waiting]


def _dead_worker():
    """Running jobs whose heartbeat stopped :data:`STALL_SECONDS` ago: their worker died."""
    return (Job.state == "running") & (Job.heartbeat_at < utcnow() - timedelta(seconds=STALL_SECONDS))
