"""A stopping process hands back the jobs it still runs (web/jobs/runner.py ``hand_back_under_way``), in the
process, with the attempts on threads of the test: of a job's own end and the hand-back, exactly one is recorded
(docs/jobs.md, "Stopping a worker")."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from tests.web.queue_helpers import QUEUE, empty_queue, queued_job, run_in  # noqa: F401  (empty_queue: autouse)
from web.extensions import db
from web.jobs import hand_backs, runner
from web.jobs.queue import GENERAL, Consumers, Stopping, jobs_waiting, queue
from web.models import AuditEvent, Job, utcnow
from web.services import audit

SECONDS = 10
"""The most any step here waits for another thread."""


def attempt(app, job_id: int, work) -> threading.Thread:
    """An attempt at the job on a thread of its own, as a consumer's worker thread runs its message
    (web/jobs/tasks.py ``run_job``): claimed, then run."""
    thread = threading.Thread(target=run_in, args=(app, job_id, work), daemon=True)
    thread.start()
    return thread


class Held:
    """A job's work that writes a row (flushed by the runner at its end) and holds until released."""

    def __init__(self):
        self.started, self.released = threading.Event(), threading.Event()

    def __call__(self, job, progress) -> None:
        db.session.add(AuditEvent(actor_name="work", action="work.written", entity_type="job", entity_id=str(job.id)))
        self.started.set()
        self.released.wait(SECONDS)


def handed_back_while_held(app, work: Held) -> tuple[int, threading.Thread]:
    """A job whose attempt holds in ``work`` as the stop hands it back: the job and the attempt's thread."""
    job_id = queued_job(app)
    thread = attempt(app, job_id, work)
    assert work.started.wait(SECONDS)
    with app.app_context():
        assert runner.hand_back_under_way(runner.take_under_way()) == [(job_id, "ranking")]
    return job_id, thread


def job_and_events(app, job_id: int) -> tuple:
    with app.app_context():
        job = db.session.get(Job, job_id)
        return job.state, job.attempts, sorted(db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_id == str(job_id))))


def test_a_job_handed_back_while_its_work_runs_drops_its_work_when_the_work_ends(app):
    """Its flushed rows are rolled back and its end is not recorded, even once the next worker has claimed the job
    (the row then carries the same attempt number again): the job is that worker's, with one
    ``job.interrupted``."""
    work = Held()
    job_id, thread = handed_back_while_held(app, work)
    assert job_and_events(app, job_id) == ("queued", 0, ["job.claimed", "job.interrupted"])
    with app.app_context():
        assert runner.claim(job_id) is not None                     # the next worker, before this one exits
    work.released.set()
    thread.join(SECONDS)
    assert not thread.is_alive()
    assert job_and_events(app, job_id) == ("running", 1, ["job.claimed", "job.claimed", "job.interrupted"])


def test_a_job_ending_as_the_stop_hands_back_has_its_end_recorded_before_the_stop_returns(app, monkeypatch):
    """The attempt took itself off the list first, so the stop leaves it to end on its own, and waits for that end:
    the process exits just after the stop returns, and an end not yet committed then was lost (the job ran again
    two minutes later, its attempt spent)."""
    ending = threading.Event()
    audit_ends = runner._audit_ends

    def slow_audit_ends(ended) -> None:                         # between the attempt's last check and its commit
        ending.set()
        time.sleep(1)
        audit_ends(ended)

    monkeypatch.setattr(runner, "_audit_ends", slow_audit_ends)
    job_id = queued_job(app)
    thread = attempt(app, job_id, lambda job, progress: None)
    assert ending.wait(SECONDS)
    with app.app_context():
        assert runner.hand_back_under_way(runner.take_under_way()) == []
    assert job_and_events(app, job_id) == ("done", 1, ["job.claimed", "job.done"])
    thread.join(SECONDS)


class CutShort:
    """Consumers whose wait a second signal cuts short, with nothing left to hand back by then."""

    def stop(self, graceful: bool = False, seconds: float | None = None) -> None:
        raise KeyboardInterrupt

    def hand_back(self) -> int:
        return 0


def test_a_wait_a_second_signal_cut_short_is_not_a_finished_stop():
    """``panel worker`` restarts after SIGHUP only when its stop ran its course: a SIGTERM or a Ctrl+C during
    SIGHUP's wait means stop, even when the last job ended just as it came."""
    assert Stopping().wait(CutShort()) is False


def test_an_attempt_taken_over_in_the_same_process_leaves_the_next_attempts_end_to_it(app):
    """Two attempts at one job can run in one process: the first one's heartbeat stopped (its writes failed for two
    minutes), a second message brought the job to another of the process's threads, which took it over. The first
    one's end is dropped; the second one's is recorded (the list of jobs under way holds each attempt, not only
    the job)."""
    first_work, second_work = Held(), Held()
    job_id = queued_job(app)
    first = attempt(app, job_id, first_work)
    assert first_work.started.wait(SECONDS)
    with app.app_context():
        db.session.execute(update(Job).where(Job.id == job_id).values(
            heartbeat_at=utcnow() - timedelta(seconds=runner.STALL_SECONDS + 1)))
        db.session.commit()
    second = attempt(app, job_id, second_work)
    assert second_work.started.wait(SECONDS)
    first_work.released.set()
    first.join(SECONDS)
    second_work.released.set()
    second.join(SECONDS)
    assert job_and_events(app, job_id) == ("done", 2, ["job.claimed", "job.claimed", "job.done", "work.written"])


def test_a_handed_back_attempt_still_running_reports_no_progress_on_the_queued_job(app):
    """Its thread runs until the process exits: a progress report it makes meanwhile must not show on the job,
    which waits in the queue ("waiting", 0 of 0) for its next worker."""
    reported = threading.Event()

    class Reporting(Held):
        def __call__(self, job, progress) -> None:
            super().__call__(job, progress)
            progress.start("pages", 5)
            reported.set()

    work = Reporting()
    job_id, thread = handed_back_while_held(app, work)
    work.released.set()
    assert reported.wait(SECONDS)
    thread.join(SECONDS)
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.state, job.step, job.done, job.total) == ("queued", "waiting", 0, 0)


def test_a_handed_back_attempts_progress_does_not_land_on_the_next_attempt(app):
    """The next worker may claim the job while the handed-back attempt's thread still runs (until its process
    exits): the row then carries the same attempt number again, and a progress report or heartbeat of the old
    attempt must change nothing on it (it showed the old attempt's step and counts, and kept its heartbeat fresh)."""
    kept: list[runner.Progress] = []

    class Keeping(Held):
        def __call__(self, job, progress) -> None:
            kept.append(progress)
            super().__call__(job, progress)

    work = Keeping()
    job_id, thread = handed_back_while_held(app, work)
    with app.app_context():
        assert runner.claim(job_id) is not None                     # the next worker, before this one exits
        db.session.execute(update(Job).where(Job.id == job_id).values(
            heartbeat_at=utcnow() - timedelta(seconds=60)))          # its last beat, a while ago
        db.session.commit()
        before = db.session.execute(select(Job.step, Job.done, Job.total, Job.heartbeat_at, Job.attempts)
                                    .where(Job.id == job_id)).one()
        [old] = kept
        old.start("pages", 5)
        after = db.session.execute(select(Job.step, Job.done, Job.total, Job.heartbeat_at, Job.attempts)
                                   .where(Job.id == job_id)).one()
    work.released.set()
    thread.join(SECONDS)
    assert after == before and before.attempts == 1


def database_locked(*args, **kwargs) -> None:
    raise OperationalError("INSERT INTO audit_event", {}, Exception("database is locked"))


def left_running_by_a_failed_hand_back(app, monkeypatch, spent: int) -> int:
    """A job that had ``spent`` attempts, whose next one the stop could not hand back (SQLite busy past its timeout):
    the job stays running, its heartbeat stopped with the process ``STALL_SECONDS`` ago."""
    job_id = queued_job(app)
    with app.app_context():
        db.session.execute(update(Job).where(Job.id == job_id).values(attempts=spent))
        db.session.commit()
    work = Held()
    thread = attempt(app, job_id, work)
    assert work.started.wait(SECONDS)
    with monkeypatch.context() as patched:
        patched.setattr(audit, "record", database_locked)
        assert Consumers(app, []).hand_back() == 0
    work.released.set()
    thread.join(SECONDS)
    assert job_and_events(app, job_id) == ("running", spent + 1, ["job.claimed"])
    with app.app_context():
        db.session.execute(update(Job).where(Job.id == job_id).values(
            heartbeat_at=utcnow() - timedelta(seconds=runner.STALL_SECONDS + 1)))
        db.session.commit()
    return job_id


def requeue_stalled(app) -> None:
    app.extensions["panel_tasks"][GENERAL]["requeue_stalled"].call_local()


@pytest.mark.app_config(PANEL_QUEUE=QUEUE)
@pytest.mark.parametrize("spent", [0, runner.MAX_ATTEMPTS - 1])
def test_a_hand_back_that_failed_costs_no_attempt_when_requeue_stalled_takes_the_job(app, monkeypatch, spent):
    """The stop could not write the hand-back: ``requeue_stalled`` queues the job again with the attempt given back,
    as the hand-back would have, also on its last attempt (a worker's death would spend it, or fail the job)."""
    job_id = left_running_by_a_failed_hand_back(app, monkeypatch, spent)
    requeue_stalled(app)
    assert job_and_events(app, job_id) == ("queued", spent, ["job.claimed", "job.interrupted"])
    assert job_id in jobs_waiting(app, GENERAL)


@pytest.mark.app_config(PANEL_QUEUE=QUEUE)
def test_a_give_back_that_failed_too_is_given_back_by_the_next_requeue_stalled(app, monkeypatch):
    """The database may still be busy a minute later: ``requeue_stalled``'s own give-back failing must leave the
    stop's record for the next run (it was taken before the write, and the attempt then failed the job)."""
    job_id = left_running_by_a_failed_hand_back(app, monkeypatch, runner.MAX_ATTEMPTS - 1)
    with monkeypatch.context() as patched:
        patched.setattr(audit, "record", database_locked)
        with pytest.raises(OperationalError):
            requeue_stalled(app)
    assert job_and_events(app, job_id) == ("running", runner.MAX_ATTEMPTS, ["job.claimed"])
    requeue_stalled(app)
    assert job_and_events(app, job_id) == ("queued", runner.MAX_ATTEMPTS - 1, ["job.claimed", "job.interrupted"])


@pytest.mark.app_config(PANEL_QUEUE=QUEUE)
def test_a_stop_that_could_not_record_its_hand_back_does_not_ask_the_queues_storage_again(app, monkeypatch):
    """The queue's storage not answering (a Redis request waits its 5 s socket timeout): the hand-back goes on
    without its record, and does not wait once more, neither to delete a record that was never written nor to enqueue
    the job (the stop's time is bounded, docs/jobs.md "Stopping a worker")."""
    asked = []

    def unreachable(*args) -> None:
        asked.append(args)
        raise ConnectionError("the queue's storage does not answer")

    for method in ("put", "delete", "enqueue"):
        monkeypatch.setattr(queue(app), method, unreachable)
    work = Held()
    job_id = queued_job(app)
    thread = attempt(app, job_id, work)
    assert work.started.wait(SECONDS)
    assert Consumers(app, []).hand_back() == 1
    work.released.set()
    thread.join(SECONDS)
    assert job_and_events(app, job_id) == ("queued", 0, ["job.claimed", "job.interrupted"])
    assert len(asked) == 1


@pytest.mark.app_config(PANEL_QUEUE=QUEUE)
def test_a_worker_that_died_after_a_successful_hand_back_spends_the_next_attempt(app):
    """The record of a hand-back names its attempt: one left behind (the stop killed between the hand-back's commit
    and the record's deletion) does not give back the next attempt, claimed with the same number, whose worker then
    dies (a job that kills every worker still ends)."""
    work = Held()
    job_id, thread = handed_back_while_held(app, work)
    work.released.set()
    thread.join(SECONDS)
    with app.app_context():
        first = runner.Attempt(job_id, 1, db.session.scalar(select(Job.started_at).where(Job.id == job_id)))
        assert hand_backs.record(queue(app), [first])     # left behind: killed between the commit and the deletion
        assert runner.claim(job_id) is not None
        db.session.execute(update(Job).where(Job.id == job_id).values(
            heartbeat_at=utcnow() - timedelta(seconds=runner.STALL_SECONDS + 1)))
        db.session.commit()
    requeue_stalled(app)
    assert job_and_events(app, job_id) == ("queued", 1, ["job.claimed", "job.claimed", "job.interrupted",
                                                          "job.stalled"])


def test_a_claimed_job_carries_its_claims_start_even_when_the_session_held_it(app):
    """The attempt is named by the claim's ``started_at`` (every write of the attempt matches on it): a job the
    session still holds from before the claim, in a session that does not expire on commit, must not keep the start
    it had then (its progress and its end would match no row)."""
    job_id = queued_job(app)
    with app.app_context():
        db.session().expire_on_commit = False
        held = db.session.get(Job, job_id)
        assert held.started_at is None
        job = runner.claim(job_id)
        stored = db.session.scalar(select(Job.started_at).where(Job.id == job_id))
        assert job is held and job.started_at == stored is not None


@pytest.mark.parametrize("microsecond", [0, 999_999])
def test_an_attempt_named_by_its_claims_start_matches_its_own_row_on_this_database(app, microsecond):
    """Every write of an attempt matches ``started_at`` against the value read back from the claim: the database
    must keep it whole (microseconds included, no time zone added; SQLite stores text, PostgreSQL a timestamp), or a
    running attempt would silently stop reporting and never record its end."""
    job_id = queued_job(app)
    with app.app_context():
        job = runner.claim(job_id)
        claimed = job.started_at.replace(microsecond=microsecond)
        db.session.execute(update(Job).where(Job.id == job_id).values(started_at=claimed))
        db.session.commit()
        attempt = runner.Attempt(job_id, 1, db.session.scalar(select(Job.started_at).where(Job.id == job_id)))
        assert attempt.started_at == claimed and attempt.started_at.tzinfo is None
        runner.Progress(attempt).start("pages", 5)
        assert db.session.execute(select(Job.step, Job.total).where(Job.id == job_id)).one() == ("pages", 5)
        assert runner.dead_attempts() == [] and runner.finish(attempt, "failed", error="unexpected")
    assert job_and_events(app, job_id) == ("failed", 1, ["job.claimed", "job.failed"])


def asked_long_ago(app, job_ids: list[int]) -> None:
    """The jobs were asked for longer than ``STALL_SECONDS`` ago (as a job whose worker's heartbeat stopped that long
    ago was): ``requeue_stalled`` takes them for waiting ones too."""
    with app.app_context():
        db.session.execute(update(Job).where(Job.id.in_(job_ids)).values(
            created_at=utcnow() - timedelta(seconds=runner.STALL_SECONDS + 2)))
        db.session.commit()


def run_job_messages(app) -> list[int]:
    """The jobs of the ``run_job`` messages on the general queue, in the order they will be taken."""
    return [task.args[0] for task in queue(app, GENERAL).pending() if task.name == "run_job"]


@pytest.mark.app_config(PANEL_QUEUE=QUEUE)
def test_requeue_stalled_enqueues_each_job_once_in_the_order_they_were_asked_for(app, monkeypatch):
    """A job it gives back (its stop's hand-back failed) is also among the jobs waiting longer than the stall time:
    one message for it. A job waiting with its message lost, a dead worker's and a given-back one are enqueued by
    id, whichever way each came back."""
    waiting = queued_job(app)
    dead = queued_job(app)
    with app.app_context():
        stopped = utcnow() - timedelta(seconds=runner.STALL_SECONDS + 1)
        db.session.execute(update(Job).where(Job.id == dead).values(state="running", attempts=1, started_at=stopped,
                                                                    heartbeat_at=stopped))
        db.session.commit()
    given_back = left_running_by_a_failed_hand_back(app, monkeypatch, 0)
    asked_long_ago(app, [waiting, dead, given_back])
    requeue_stalled(app)
    assert run_job_messages(app) == [waiting, dead, given_back]
    assert job_and_events(app, given_back) == ("queued", 0, ["job.claimed", "job.interrupted"])


@pytest.mark.app_config(PANEL_QUEUE=QUEUE)
def test_a_stop_whose_queue_does_not_answer_asks_it_once_and_leaves_the_jobs_to_requeue_stalled(app, monkeypatch):
    """The storage fails after the hand-back's commit (Redis down: each request waits its 5 s socket timeout). The stop
    tried every job in turn, 5 s each, beyond its budget (docs/jobs.md, "Stopping a worker"); now it stops at the
    first failure. The jobs are queued in the database, their attempt not spent, and ``requeue_stalled`` enqueues
    them."""
    asked = []

    def unreachable(task) -> None:
        asked.append(task.args)
        raise ConnectionError("the queue's storage does not answer")

    works = [Held(), Held()]
    job_ids = [queued_job(app) for _ in works]
    threads = [attempt(app, job_id, work) for job_id, work in zip(job_ids, works, strict=True)]
    assert all(work.started.wait(SECONDS) for work in works)
    with monkeypatch.context() as patched:
        patched.setattr(queue(app), "enqueue", unreachable)
        assert Consumers(app, []).hand_back() == 2
    for work, thread in zip(works, threads, strict=True):
        work.released.set()
        thread.join(SECONDS)
    assert len(asked) == 1
    assert [job_and_events(app, job_id) for job_id in job_ids] == [
        ("queued", 0, ["job.claimed", "job.interrupted"])] * 2
    assert run_job_messages(app) == []
    asked_long_ago(app, job_ids)
    requeue_stalled(app)
    assert run_job_messages(app) == job_ids


@pytest.mark.app_config(PANEL_QUEUE=QUEUE)
def test_a_stop_whose_records_deletion_fails_enqueues_nothing_and_requeue_stalled_enqueues_the_job(app, monkeypatch):
    """The storage answered the record, then stopped answering: the stop does not wait on it again to enqueue the
    job, which is queued in the database, its attempt not spent, and enqueued by ``requeue_stalled``."""
    asked = []

    def unreachable(*args) -> None:
        asked.append(args)
        raise ConnectionError("the queue's storage does not answer")

    work = Held()
    job_id = queued_job(app)
    thread = attempt(app, job_id, work)
    assert work.started.wait(SECONDS)
    with monkeypatch.context() as patched:
        for method in ("delete", "enqueue"):
            patched.setattr(queue(app), method, unreachable)
        assert Consumers(app, []).hand_back() == 1
    work.released.set()
    thread.join(SECONDS)
    assert len(asked) == 1
    assert job_and_events(app, job_id) == ("queued", 0, ["job.claimed", "job.interrupted"])
    assert run_job_messages(app) == []
    asked_long_ago(app, [job_id])
    requeue_stalled(app)
    assert run_job_messages(app) == [job_id]
