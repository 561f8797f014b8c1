"""Every state change of a job is audited, by the system, in the transaction that makes it: its claim
(``job.claimed``), its end for good (``job.done``, or ``job.failed`` with the refusal's code or ``unexpected``), its
return to the queue for a retry after an error (``job.retry``) or after its worker died (``job.stalled``); an
attempt whose job another worker took over writes nothing (its end is not the job's)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from tests.web.queue_helpers import queued_job, run_in
from web.extensions import db
from web.jobs.runner import MAX_ATTEMPTS, STALL_SECONDS, JobFailed, claim, stalled_jobs
from web.models import AuditEvent, Job, utcnow
from web.services import audit


def job_events(app) -> list[tuple]:
    with app.app_context():
        return [(event.action, event.actor_id, event.actor_name, event.entity_type, event.entity_id, event.before,
                 event.after)
                for event in db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("job.%")))]


def ended(state: str, attempts: int, error: str | None) -> dict:
    return {"state": state, "kind": "ranking", "attempts": attempts, "error": error}


def moved(action: str, job_id: int, before: str, after: str, attempts: int) -> tuple:
    """The event of a job's move from the state ``before`` to ``after`` (not an end), by the system."""
    return (action, None, "system", "job", str(job_id), {"state": before},
            {"state": after, "kind": "ranking", "attempts": attempts})


def claimed(job_id: int, attempts: int, before: str = "queued") -> tuple:
    return moved("job.claimed", job_id, before, "running", attempts)


def dead_worker(app, job_id: int, attempts: int) -> None:
    """The job was running attempt ``attempts`` when its worker died: its heartbeat stopped ``STALL_SECONDS`` ago."""
    stopped = utcnow() - timedelta(seconds=STALL_SECONDS + 1)
    with app.app_context():
        db.session.execute(update(Job).where(Job.id == job_id).values(
            state="running", attempts=attempts, started_at=stopped, heartbeat_at=stopped))
        db.session.commit()


def database_locked(*args, **kwargs) -> None:
    raise OperationalError("INSERT INTO audit_event", {}, Exception("database is locked"))


def test_a_job_that_ends_done_has_its_claim_then_one_job_done_event(app):
    job_id = queued_job(app)
    run_in(app, job_id, lambda job, progress: None)
    assert job_events(app) == [claimed(job_id, 1), ("job.done", None, "system", "job", str(job_id),
                                                    {"state": "running"}, ended("done", 1, None))]


def test_a_refused_job_has_one_job_failed_event_with_its_code(app):
    def refused(job, progress):
        raise JobFailed("matching_too_large")

    job_id = queued_job(app)
    run_in(app, job_id, refused)
    assert job_events(app) == [claimed(job_id, 1), ("job.failed", None, "system", "job", str(job_id),
                                                    {"state": "running"}, ended("failed", 1, "matching_too_large"))]


def test_a_job_failing_on_its_last_attempt_has_one_job_failed_event_unexpected(app):
    def crashing(job, progress):
        raise RuntimeError("the solver crashed")

    job_id = queued_job(app, attempts=MAX_ATTEMPTS - 1)
    with pytest.raises(RuntimeError):
        run_in(app, job_id, crashing)
    assert job_events(app) == [claimed(job_id, MAX_ATTEMPTS), ("job.failed", None, "system", "job", str(job_id),
                                                               {"state": "running"},
                                                               ended("failed", MAX_ATTEMPTS, "unexpected"))]


def test_an_attempt_that_fails_before_its_last_is_audited_back_in_its_queue_for_a_retry(app):
    def crashing(job, progress):
        raise RuntimeError("the solver crashed")

    job_id = queued_job(app)
    with pytest.raises(RuntimeError):
        run_in(app, job_id, crashing)
    assert job_events(app) == [claimed(job_id, 1), moved("job.retry", job_id, "running", "queued", 1)]
    with app.app_context():
        assert db.session.get(Job, job_id).state == "queued"


def test_a_dead_workers_job_taken_over_by_a_claim_is_audited_from_running(app):
    job_id = queued_job(app)
    dead_worker(app, job_id, attempts=1)
    with app.app_context():
        assert claim(job_id) is not None
    assert job_events(app) == [claimed(job_id, 2, before="running")]


def test_a_claim_that_finds_the_job_alive_elsewhere_writes_nothing(app):
    job_id = queued_job(app)
    with app.app_context():
        assert claim(job_id) is not None and claim(job_id) is None
    assert job_events(app) == [claimed(job_id, 1)]


@pytest.mark.parametrize("dead", [False, True], ids=["queued", "dead_worker"])
def test_workers_claiming_a_job_at_once_leave_one_claim_and_one_event(app, dead):
    """Each of the two guarded UPDATEs (a queued job, a dead worker's) keeps one winner when several workers race
    (SQLite: one writer; PostgreSQL: a waiting UPDATE checks its condition again on the row the winner committed),
    and only the winner is audited."""
    job_id = queued_job(app)
    if dead:
        dead_worker(app, job_id, attempts=1)
    start, won = threading.Barrier(4), []

    def worker() -> None:
        with app.app_context():
            start.wait()
            won.append(claim(job_id) is not None)

    threads = [threading.Thread(target=worker) for _ in range(start.parties)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(won) == [False, False, False, True]
    assert job_events(app) == [claimed(job_id, 1 + dead, before="running" if dead else "queued")]


def test_a_dead_workers_job_queued_again_is_audited_job_stalled_its_attempt_spent(app):
    """``requeue_stalled`` (``runner.stalled_jobs``) queues it again; one on its last attempt is failed instead
    (``job.failed``, tests/web/test_jobs_queue.py)."""
    job_id = queued_job(app)
    dead_worker(app, job_id, attempts=1)
    with app.app_context():
        assert stalled_jobs() == [(job_id, "ranking")]
    assert job_events(app) == [moved("job.stalled", job_id, "running", "queued", 1)]


def test_a_claim_whose_audit_event_cannot_be_written_claims_nothing(app, monkeypatch):
    """The event is written in the claim's transaction: no claim without it."""
    job_id = queued_job(app)
    monkeypatch.setattr(audit, "record", database_locked)
    with pytest.raises(OperationalError), app.app_context():           # out of the worker's unit of work
        claim(job_id)
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.state, job.attempts) == ("queued", 0)


def test_a_stalled_job_whose_audit_event_cannot_be_written_stays_running(app, monkeypatch):
    job_id = queued_job(app)
    dead_worker(app, job_id, attempts=1)
    monkeypatch.setattr(audit, "record", database_locked)
    with pytest.raises(OperationalError), app.app_context():           # out of the worker's unit of work
        stalled_jobs()
    with app.app_context():
        assert db.session.get(Job, job_id).state == "running"


TAKEOVERS = {
    "next_attempt": (0, lambda: {"attempts": Job.attempts + 1}),
    "after_a_hand_back": (MAX_ATTEMPTS - 1, lambda: {"started_at": utcnow() + timedelta(seconds=1)}),
}
"""How another worker takes the job over while an attempt runs, with the job's attempts before the claim: a claim of
a dead-looking job (the next attempt, while it has attempts left), or, on the last attempt (none can follow it), a
claim after this process's stop handed the attempt back (the same number, a later start)."""


@pytest.mark.parametrize("takeover", TAKEOVERS)
@pytest.mark.parametrize("outcome", ["done", "refused", "crashed"])
def test_an_attempt_whose_job_was_taken_over_writes_nothing(app, outcome, takeover):
    """Whether the attempt would retry its crash or, on the last attempt, fail the job, its end is not the job's."""
    attempts, taken_over = TAKEOVERS[takeover]

    def taken_over_meanwhile(job, progress):
        with db.engine.begin() as connection:
            connection.execute(update(Job).where(Job.id == job.id).values(**taken_over()))
        if outcome == "refused":
            raise JobFailed("import_refused")
        if outcome == "crashed":
            raise RuntimeError("the solver crashed")

    job_id = queued_job(app, attempts=attempts)
    if outcome == "crashed":
        with pytest.raises(RuntimeError):
            run_in(app, job_id, taken_over_meanwhile)
    else:
        run_in(app, job_id, taken_over_meanwhile)
    assert job_events(app) == [claimed(job_id, attempts + 1)]
    with app.app_context():
        assert db.session.get(Job, job_id).state == "running"


def test_a_crashed_attempt_with_attempts_left_whose_job_was_taken_over_writes_no_retry(app):
    """Its requeue finds the job another worker's: nothing is put back in the queue, so nothing is audited."""
    def taken_over_then_crashed(job, progress):
        with db.engine.begin() as connection:     # another worker claims the job: attempt 2
            connection.execute(update(Job).where(Job.id == job.id).values(attempts=Job.attempts + 1))
        raise RuntimeError("the solver crashed")

    job_id = queued_job(app)
    with pytest.raises(RuntimeError):
        run_in(app, job_id, taken_over_then_crashed)
    assert job_events(app) == [claimed(job_id, 1)]
    with app.app_context():
        assert (db.session.get(Job, job_id).state, db.session.get(Job, job_id).attempts) == ("running", 2)
