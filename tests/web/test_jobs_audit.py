"""Every end for good of a job is audited, by the system, in the transaction that records it: ``job.done``, or
``job.failed`` with the refusal's code or ``unexpected``; an attempt whose job another worker took over writes
nothing (its end is not the job's)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from web.extensions import db
from web.jobs.runner import MAX_ATTEMPTS, JobFailed, run
from web.models import AuditEvent, Job


def queued_job(app, attempts: int = 0) -> int:
    with app.app_context():
        job = Job(kind="ranking", params={}, attempts=attempts)
        db.session.add(job)
        db.session.commit()
        return job.id


def job_events(app) -> list[tuple]:
    with app.app_context():
        return [(event.action, event.actor_id, event.actor_name, event.entity_type, event.entity_id, event.before,
                 event.after)
                for event in db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("job.%")))]


def run_in(app, job_id: int, work, *, last_attempt: bool = False) -> None:
    with app.app_context():
        run(job_id, work, last_attempt=last_attempt)


def ended(state: str, attempts: int, error: str | None) -> dict:
    return {"state": state, "kind": "ranking", "attempts": attempts, "error": error}


def test_a_job_that_ends_done_has_one_job_done_event(app):
    job_id = queued_job(app)
    run_in(app, job_id, lambda job, progress: None)
    assert job_events(app) == [("job.done", None, "system", "job", str(job_id), {"state": "running"},
                                ended("done", 1, None))]


def test_a_refused_job_has_one_job_failed_event_with_its_code(app):
    def refused(job, progress):
        raise JobFailed("matching_too_large")

    job_id = queued_job(app)
    run_in(app, job_id, refused)
    assert job_events(app) == [("job.failed", None, "system", "job", str(job_id), {"state": "running"},
                                ended("failed", 1, "matching_too_large"))]


def test_a_job_failing_on_its_last_attempt_has_one_job_failed_event_unexpected(app):
    def crashing(job, progress):
        raise RuntimeError("the solver crashed")

    job_id = queued_job(app, attempts=MAX_ATTEMPTS - 1)
    with pytest.raises(RuntimeError):
        run_in(app, job_id, crashing)
    assert job_events(app) == [("job.failed", None, "system", "job", str(job_id), {"state": "running"},
                                ended("failed", MAX_ATTEMPTS, "unexpected"))]


def test_an_attempt_that_fails_before_its_last_writes_nothing(app):
    def crashing(job, progress):
        raise RuntimeError("the solver crashed")

    job_id = queued_job(app)
    with pytest.raises(RuntimeError):
        run_in(app, job_id, crashing)
    assert job_events(app) == []


@pytest.mark.parametrize("outcome", ["done", "refused", "crashed"])
def test_an_attempt_whose_job_was_taken_over_writes_nothing(app, outcome):
    def taken_over_meanwhile(job, progress):
        with db.engine.begin() as connection:     # another worker claims the job: attempt 2
            connection.execute(update(Job).where(Job.id == job.id).values(attempts=Job.attempts + 1))
        if outcome == "refused":
            raise JobFailed("import_refused")
        if outcome == "crashed":
            raise RuntimeError("the solver crashed")

    job_id = queued_job(app)
    if outcome == "crashed":
        with pytest.raises(RuntimeError):
            run_in(app, job_id, taken_over_meanwhile, last_attempt=True)
    else:
        run_in(app, job_id, taken_over_meanwhile, last_attempt=True)
    assert job_events(app) == []
    with app.app_context():
        assert db.session.get(Job, job_id).state == "running"
