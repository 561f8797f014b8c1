"""The attempts a stopping process is handing back, recorded in the queue's storage, so that a hand-back that
fails costs no attempt either.

A stop puts the jobs still under way back in their queues, their attempt not spent (web/jobs/runner.py
``hand_back_under_way``). When that write fails (the database lost; on SQLite, a job's own transaction holding the
write lock past the busy timeout, 15 s) or the process is killed during it (a supervisor's stop timeout), the job
stays ``running`` and its heartbeat stops with the process: ``requeue_stalled`` queues it again after
``STALL_SECONDS`` and, without this record, counted the attempt as a worker's death. So the stop records each
attempt before it writes (:func:`record`) and forgets the records once the writes are committed; ``requeue_stalled``
gives back each attempt whose worker stopped beating and whose record it finds (:func:`recorded`), then forgets
the records.

Kept in the general queue's storage (Huey's key-value store: a row of ``jobs.sqlite3``, or a field of a Redis
hash), as the queues' heartbeats are: not the database whose write may be what fails, and no migration. One key per
attempt (job, number, claim time), so a record names one attempt only: one left behind (the process killed after
the commit, before forgetting) never matches a later attempt, whose claim time differs (Huey's store has no expiry:
it stays, a few dozen bytes).
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from huey import Huey

from web.jobs.runner import Attempt

LOG = logging.getLogger(__name__)


def _key(attempt: Attempt) -> str:
    return f"panel:hand-back:{attempt.job_id}:{attempt.number}:{attempt.started_at.isoformat()}"


def record(huey: Huey, attempts: Collection[Attempt]) -> bool:
    """Record that this process's stop is handing ``attempts`` back; False when the storage failed, which is logged
    (a hand-back that then fails too spends the attempts, as before), so that the stop does not wait on it again to
    :func:`forget` (a Redis that does not answer holds each request for its socket timeout, 5 s)."""
    try:
        for attempt in attempts:
            huey.put(_key(attempt), True)
    except Exception:
        LOG.warning("the jobs %s about to be handed back could not be recorded in the queue's storage",
                    [attempt.job_id for attempt in attempts], exc_info=True)
        return False
    return True


def forget(huey: Huey, attempts: Collection[Attempt]) -> bool:
    """The hand-back of ``attempts`` is committed: their records are no longer needed (one left behind matches no
    later attempt). False when the storage failed, which is logged, so that a stop does not ask it again to enqueue
    the jobs (:func:`record`)."""
    try:
        for attempt in attempts:
            huey.delete(_key(attempt))
    except Exception:
        LOG.warning("the records of the jobs %s handed back were not deleted", [a.job_id for a in attempts],
                    exc_info=True)
        return False
    return True


def recorded(huey: Huey, attempt: Attempt) -> bool:
    """Whether a stop was handing ``attempt`` back. The record stays until :func:`forget`, once the attempt is given
    back: the give-back may fail as the hand-back did (the database still busy), and the next ``requeue_stalled``
    needs the record then."""
    return huey.get(_key(attempt), peek=True) is not None
