"""Jobs on a real queue: the embedded SQLite store by default, Redis when ``PANEL_TEST_QUEUE`` names one
(``.ci/run`` runs this file both ways). A consumer runs in threads of the test process, like ``panel serve``.

What a user relies on: asking for a PDF answers at once with a progress page; the job is done by a worker and
the file is downloaded; a job asked for before a web restart is still done after it; a job whose worker died
is run again and leaves one result; a change that rolled back starts nothing.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import signal
import threading
import time
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from tests.fonts import require_cjk_font
from tests.web.queue_helpers import (  # noqa: F401  (empty_queue: an autouse fixture)
    QUEUE,
    WAIT_SECONDS,
    ask_for,
    empty_queue,
    flush_queues,
    state_of,
    wait_until_done,
    wait_until_finished,
    worker_process,
)
from tests.web.test_ranking_service import build_design_round
from web import create_app
from web.extensions import db
from web.jobs.queue import GENERAL, IDLE_POLL_SECONDS, MATCHING, QUEUES, queue, run_worker, start_consumer
from web.jobs.runner import STALL_SECONDS
from web.models import AuditEvent, Job, utcnow

pytestmark = [pytest.mark.slow, pytest.mark.app_config(PANEL_QUEUE=QUEUE)]


@pytest.fixture
def consumer_of():
    """``consumer_of(app, names)`` starts consumers of ``app``'s queues (both by default, as ``panel serve``);
    all are stopped at the end of the test."""
    started = []

    def start(app, names=QUEUES):
        started.append(start_consumer(app, workers=1, names=names))
        return started[-1]

    yield start
    for consumer in started:
        consumer.stop(graceful=True)


@pytest.fixture
def round_id(app, make_application_record, make_expert_record):
    return build_design_round(app, make_application_record, make_expert_record)


def only_job(app) -> int:
    with app.app_context():
        return db.session.scalars(select(Job.id)).one()


def test_a_pdf_is_a_job_with_a_progress_page_then_a_download(app, client, auth, round_id, consumer_of):
    require_cjk_font()
    auth.login("organizer")
    response = client.get(f"/rankings/rounds/{round_id}/blank.pdf")
    assert response.status_code == 303 and "/jobs/" in response.headers["Location"]
    job_id = only_job(app)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<meta http-equiv="refresh"' in page and "jobs.js" in page and "<progress" in page
    assert client.get(f"/jobs/{job_id}.json").get_json()["state"] == "queued"
    assert client.get(f"/jobs/{job_id}/download").status_code == 404           # no file before it is done
    again = client.get(f"/rankings/rounds/{round_id}/blank.pdf")
    assert again.headers["Location"] == response.headers["Location"]          # joins the job under way

    consumer_of(app)
    job = wait_until_finished(app, job_id)
    assert job.state == "done" and job.done == job.total == 5 and job.error is None
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["finished"] and status["download"] == f"/jobs/{job_id}/download"
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in page and f"/jobs/{job_id}/download" in page
    download = client.get(f"/jobs/{job_id}/download")
    assert download.mimetype == "application/pdf" and len(PdfReader(io.BytesIO(download.data)).pages) == 5
    round_page = client.get(f"/jobs/rounds/{round_id}").get_data(as_text=True)
    assert f"/jobs/{job_id}/download" in round_page


def test_a_job_asked_for_before_a_web_restart_is_done_after_it(app, auth, client, round_id, consumer_of):
    auth.login("organizer")
    client.get(f"/rankings/rounds/{round_id}/blank.pdf")
    job_id = only_job(app)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    restarted = create_app({"TESTING": True, "INSTANCE_PATH": app.instance_path, "PANEL_QUEUE": QUEUE,
                            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    consumer_of(restarted)
    assert wait_until_finished(restarted, job_id).state == "done"


def test_a_job_whose_worker_died_is_run_again_and_leaves_one_result(app, round_id, consumer_of):
    from web.jobs import files
    from web.services.jobs import request_job

    with app.app_context():
        from web.models import Round

        job = request_job("blank_pdf", round_=db.session.get(Round, round_id), actor=None)
        job_id = job.id
        db.session.commit()
        flush_queues(app)                    # the worker took the message, then died mid-job:
        job = db.session.get(Job, job_id)
        job.state, job.attempts, job.done, job.total = "running", 1, 2, 5
        job.heartbeat_at = job.started_at = utcnow() - timedelta(seconds=STALL_SECONDS + 1)
        files.write(files.job_result_name(job_id, ".blank-partial"), b"%PDF half")
        db.session.commit()
    consumer_of(app)
    app.extensions["panel_tasks"]["general"]["requeue_stalled"].call_local()
    job = wait_until_finished(app, job_id)
    assert job.state == "done" and job.attempts == 2
    with app.app_context():
        folder = files.path_of(files.job_result_name(job_id, "x")).parent
        assert sorted(path.name for path in folder.iterdir() if path.suffix == ".pdf") == [f"blank-{round_id}.pdf"]


def test_a_job_running_on_a_live_worker_is_not_taken_again(app, round_id):
    from web.jobs.runner import claim, stalled_jobs
    from web.models import Round
    from web.services.jobs import request_job

    with app.app_context():
        job = request_job("blank_pdf", round_=db.session.get(Round, round_id), actor=None)
        job_id = job.id
        db.session.commit()
        flush_queues(app)
        assert claim(job_id) is not None                 # a worker has it and its heartbeat is fresh
        assert claim(job_id) is None and stalled_jobs() == []


def test_a_job_asked_for_in_a_rolled_back_transaction_is_never_queued(app, round_id):
    from web.models import Round
    from web.services.jobs import request_job

    with app.app_context():
        request_job("blank_pdf", round_=db.session.get(Round, round_id), actor=None)
        db.session.rollback()
        db.session.commit()                              # a later commit must not enqueue the forgotten job
        assert queue(app).pending_count() == 0 and db.session.scalars(select(Job)).all() == []


# ---------------------------------------------------------------- matching runs and API imports

@pytest.fixture
def assigning_round(app):
    from tests.web.test_panels_factory import build_round

    return build_round(app)


def versions_of(app, round_id: int) -> list[int]:
    from web.models import AssignmentVersion

    with app.app_context():
        return list(db.session.scalars(select(AssignmentVersion.number)
                                       .where(AssignmentVersion.round_id == round_id)))


def die_mid_job(app, job_id: int) -> None:
    """What a worker killed mid-job leaves: the queue's message taken, the row running, its heartbeat stopped."""
    flush_queues(app)
    with app.app_context():
        job = db.session.get(Job, job_id)
        job.state, job.attempts, job.step, job.done, job.total = "running", 1, "fit", 2, 6
        job.heartbeat_at = job.started_at = utcnow() - timedelta(seconds=STALL_SECONDS + 1)
        db.session.commit()


@pytest.mark.app_config(PANEL_QUEUE=QUEUE, PANEL_MATCHING_INLINE_PAIRS=0)
def test_a_matching_run_is_a_job_with_steps_then_a_link_to_its_version(app, client, auth, csrf_token,
                                                                       assigning_round, consumer_of, monkeypatch):
    from web.jobs import runner

    monkeypatch.setattr(runner, "REPORT_EVERY_SECONDS", 0.0)   # every step written, none after the version
    auth.login("organizer")
    overview = client.get(f"/rounds/{assigning_round}").get_data(as_text=True)
    response = client.post(f"/rounds/{assigning_round}/match",
                           data={"seed": "", "max_probability": "", "csrf_token": csrf_token(overview)})
    assert response.status_code == 303 and "/jobs/" in response.headers["Location"]
    job_id = only_job(app)
    assert client.get(f"/jobs/{job_id}.json").get_json()["state"] == "queued" and versions_of(app, assigning_round) == []
    consumer_of(app)
    job = wait_until_finished(app, job_id)
    assert (job.state, job.done, job.total, job.outcome["version"]) == ("done", 6, 6, 1)
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["result_url"] == f"/rounds/{assigning_round}/versions/1" and status["step_label"]
    assert versions_of(app, assigning_round) == [1]


@pytest.mark.app_config(PANEL_QUEUE=QUEUE)
def test_a_matching_run_whose_worker_died_is_run_again_and_stores_one_version(app, assigning_round, consumer_of):
    from web.models import Round
    from web.services.jobs import request_job

    with app.app_context():
        job = request_job("matching", round_=db.session.get(Round, assigning_round), actor=None,
                          params={"seed": None, "max_probability": None, "drawn_seed": None})
        job_id = job.id
        db.session.commit()
    die_mid_job(app, job_id)
    app.extensions["panel_tasks"]["general"]["requeue_stalled"].call_local()
    assert (queue(app, MATCHING).pending_count(), queue(app, GENERAL).pending_count()) == (1, 0)
    consumer_of(app, names=(MATCHING,))
    job = wait_until_finished(app, job_id)
    assert job.state == "done" and job.attempts == 2
    assert versions_of(app, assigning_round) == [1]


@pytest.mark.app_config(PANEL_QUEUE=QUEUE)
def test_a_matching_run_that_killed_its_worker_on_every_attempt_fails_instead_of_running_for_ever(app):
    """A run that takes its worker down each time (a national round out of the machine's memory) is queued
    again after a death only while it has attempts left: on its last, it fails with a sentence, queued nowhere,
    and the failure is audited (by the system: no one asked for it)."""
    from web.jobs.runner import MAX_ATTEMPTS

    job_id = ask_for(app, "matching")
    die_mid_job(app, job_id)
    with app.app_context():
        db.session.get(Job, job_id).attempts = MAX_ATTEMPTS
        db.session.commit()
    app.extensions["panel_tasks"]["general"]["requeue_stalled"].call_local()
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.state, job.error, job.finished) == ("failed", "unexpected", True)
        failed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "job.failed")).one()
        assert (failed.actor_id, failed.actor_name, failed.entity_type, failed.entity_id) == (
            None, "system", "job", str(job_id))
        assert failed.after == {"state": "failed", "kind": "matching", "attempts": MAX_ATTEMPTS, "error": "unexpected"}
    assert [queue(app, name).pending_count() for name in QUEUES] == [0, 0]


@pytest.mark.app_config(PANEL_QUEUE=QUEUE)
def test_a_job_that_fails_on_its_last_attempt_is_not_retried_whichever_message_ran_it(app, monkeypatch):
    """A message queued again by ``requeue_stalled`` carries Huey's full retries: the job's own count of attempts
    still ends it (here: a worker's death, then an error, then this one)."""
    from web.jobs.runner import MAX_ATTEMPTS
    from web.jobs.work import WORK

    monkeypatch.setitem(WORK, "matching", crashing)
    job_id = ask_for(app, "matching")
    with app.app_context():
        db.session.get(Job, job_id).attempts = MAX_ATTEMPTS - 1
        db.session.commit()
    matching = queue(app, MATCHING)
    message = matching.dequeue()
    assert message.retries > 0                           # Huey's own count would retry it
    matching.execute(message)
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.state, job.error, job.attempts) == ("failed", "unexpected", MAX_ATTEMPTS)
    assert matching.scheduled() == [] and matching.pending() == []


@pytest.mark.app_config(PANEL_QUEUE=QUEUE)
def test_a_job_with_attempts_left_is_retried_even_when_its_message_has_no_retries_left(app, monkeypatch):
    """Huey's count of a message's retries can be spent without the job's (a claim that failed, the database lost):
    the job's own count decides, and Huey's retry carries it to the next attempt."""
    from web.jobs.runner import MAX_ATTEMPTS
    from web.jobs.work import WORK

    monkeypatch.setitem(WORK, "matching", crashing)
    job_id = ask_for(app, "matching")
    matching = queue(app, MATCHING)
    message = matching.dequeue()
    message.retries = 0                                  # Huey's own count: the last
    matching.execute(message)
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.state, job.error, job.attempts) == ("queued", None, 1)
    [retry] = matching.scheduled()
    assert (retry.name, retry.args[0], retry.retries) == ("run_job", job_id, MAX_ATTEMPTS - 2)


@pytest.mark.app_config(PANEL_QUEUE=QUEUE)
def test_a_claim_that_fails_on_the_messages_last_retry_spends_no_attempt_and_requeue_stalled_runs_the_job(
        app, monkeypatch):
    """The database lost as the claim writes (here: its audit event): the claim is rolled back, Huey's last retry is
    spent, the job waits in the database with its attempts whole; ``requeue_stalled`` enqueues it again once it has
    waited the stall time, and its next claim is its first attempt, with the retries the job's count allows."""
    from sqlalchemy import update
    from sqlalchemy.exc import OperationalError

    from web.jobs.runner import MAX_ATTEMPTS
    from web.jobs.work import WORK
    from web.services import audit

    def database_lost(*args, **kwargs) -> None:
        raise OperationalError("INSERT INTO audit_event", {}, Exception("server closed the connection"))

    monkeypatch.setitem(WORK, "matching", crashing)
    job_id = ask_for(app, "matching")
    matching = queue(app, MATCHING)
    message = matching.dequeue()
    message.retries = 0
    with monkeypatch.context() as patched:
        patched.setattr(audit, "record", database_lost)
        matching.execute(message)
    assert matching.scheduled() == [] and matching.pending() == []
    with app.app_context():
        assert (db.session.get(Job, job_id).state, db.session.get(Job, job_id).attempts) == ("queued", 0)
        db.session.execute(update(Job).where(Job.id == job_id).values(
            created_at=utcnow() - timedelta(seconds=STALL_SECONDS + 1)))
        db.session.commit()
    app.extensions["panel_tasks"]["general"]["requeue_stalled"].call_local()
    matching.execute(matching.dequeue())
    with app.app_context():
        assert (db.session.get(Job, job_id).state, db.session.get(Job, job_id).attempts) == ("queued", 1)
    [retry] = matching.scheduled()
    assert (retry.args[0], retry.retries) == (job_id, MAX_ATTEMPTS - 2)


@pytest.mark.app_config(PANEL_QUEUE=QUEUE)
def test_each_queue_is_taken_only_by_its_own_workers(app, assigning_round, consumer_of):
    """A worker of the general queue runs a PDF and leaves the matching run queued; a ``panel worker --queue
    matching`` process runs it and leaves a PDF and the mail on the general queue, untaken (it never starts mail
    delivery)."""
    from web.models import OutboxMessage
    from web.services import outbox

    def waiting(name: str) -> list[tuple[str, tuple]]:
        return [(task.name, tuple(task.args)) for task in queue(app, name).pending()]

    matching = ask_for(app, "matching", assigning_round, seed=None, max_probability=None, drawn_seed=None)
    first_pdf = ask_for(app, "blank_pdf", assigning_round)
    general = consumer_of(app, names=(GENERAL,))
    assert wait_until_finished(app, first_pdf).state == "done"
    general.stop(graceful=True)
    assert state_of(app, matching) == "queued" and waiting(MATCHING) == [("run_job", (matching,))]

    second_pdf = ask_for(app, "blank_pdf", assigning_round)
    with app.app_context():
        message_id = outbox.send("organizers", "other", "主题", "正文").id
        db.session.commit()
    worker = worker_process(app, "--queue", "matching")          # as started on the matching machine
    try:
        assert wait_until_finished(app, matching).state == "done"
    finally:
        worker.terminate()
        worker.wait()
    assert state_of(app, second_pdf) == "queued" and state_of(app, message_id, OutboxMessage) == "queued"
    assert {("run_job", (second_pdf,)), ("deliver_outbox", ())} <= set(waiting(GENERAL))


@pytest.mark.app_config(PANEL_QUEUE=QUEUE)
def test_a_matching_run_that_failed_is_retried_on_the_matching_queue(app, monkeypatch):
    """Huey schedules a retry on the queue that ran the task, so only a matching worker takes it."""
    from web.jobs.work import WORK

    monkeypatch.setitem(WORK, "matching", crashing)
    job_id = ask_for(app, "matching")
    matching = queue(app, MATCHING)
    matching.execute(matching.dequeue())
    assert [(task.name, tuple(task.args)) for task in matching.scheduled()] == [("run_job", (job_id,))]
    assert queue(app, GENERAL).scheduled() == [] and queue(app, GENERAL).pending_count() == 0
    with app.app_context():
        assert (db.session.get(Job, job_id).state, db.session.get(Job, job_id).attempts) == ("queued", 1)


def run_worker_beside(app, drive) -> None:
    """Run ``panel worker``'s loop over both queues (``run_worker``) in this thread, the one Python gives the
    signals, while ``drive()`` runs in another thread and ends the loop with a real signal (SIGTERM if it fails);
    the test process's signal handlers are restored after."""
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    failure = []

    def driver():
        try:
            drive()
        except BaseException as error:
            failure.append(error)
            os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=driver)
    thread.start()
    try:
        run_worker(app, QUEUES, 1)
    finally:
        thread.join()
        for number, handler in handlers.items():
            signal.signal(number, handler)
    if failure:
        raise failure[0]


def crashing(job, progress) -> None:
    """A job's work that fails with an unexpected error."""
    raise RuntimeError("the solver crashed")


@pytest.mark.app_config(PANEL_QUEUE=QUEUE)
def test_ctrl_c_on_a_worker_of_both_queues_finishes_the_jobs_under_way_and_takes_no_new_one(app, monkeypatch):
    """Ctrl+C while a matching run is under way: the run ends done, and neither queue's consumer takes a job
    asked for while the worker waits for it."""
    from web.jobs.work import WORK

    release = threading.Event()
    monkeypatch.setitem(WORK, "matching", lambda job, progress: release.wait(WAIT_SECONDS) and None)
    monkeypatch.setitem(WORK, "blank_pdf", lambda job, progress: None)
    jobs = {}

    def drive():
        jobs["matching"] = ask_for(app, "matching")
        deadline = time.monotonic() + WAIT_SECONDS
        while state_of(app, jobs["matching"]) != "running" and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(2)                    # a consumer blocked on Redis's queue when it came reads for 1 s more
        jobs["pdf"] = ask_for(app, "blank_pdf")
        time.sleep(3 * IDLE_POLL_SECONDS)                # an idle consumer looks at its queue every second
        release.set()

    run_worker_beside(app, drive)
    assert (state_of(app, jobs["matching"]), state_of(app, jobs["pdf"])) == ("done", "queued")


@pytest.mark.app_config(PANEL_QUEUE=QUEUE)
def test_a_worker_of_both_queues_replaces_a_dead_thread_of_each(app, monkeypatch):
    """A consumer thread that died (an exception Huey's loop does not catch) is replaced on each queue, as Huey's
    health check does for a worker of one queue, so both queues' jobs still run."""
    jobs = {}

    def drive():
        jobs.update(ask_after_a_thread_of_each_queue_died(app, monkeypatch))
        wait_until_done(app, jobs.values())
        os.kill(os.getpid(), signal.SIGINT)          # waits for every thread: none takes the next test's jobs

    run_worker_beside(app, drive)
    assert {kind: state_of(app, job_id) for kind, job_id in jobs.items()} == {"pdf": "done", "matching": "done"}


@pytest.mark.app_config(PANEL_QUEUE=QUEUE)
def test_the_embedded_consumer_replaces_a_dead_thread_of_each_queue(app, monkeypatch, consumer_of):
    """The same in ``panel serve`` (its consumers run beside the web server, with no main loop of their own)."""
    jobs = ask_after_a_thread_of_each_queue_died(app, monkeypatch)
    consumer_of(app)
    wait_until_done(app, jobs.values())
    assert {kind: state_of(app, job_id) for kind, job_id in jobs.items()} == {"pdf": "done", "matching": "done"}


def ask_after_a_thread_of_each_queue_died(app, monkeypatch) -> dict[str, int]:
    """A PDF and a matching job (each a no-op), asked for once each queue's consumer thread will die on its first
    look at the queue; health checks every 0.2 s."""
    from web.jobs.work import WORK

    for kind in ("blank_pdf", "matching"):
        monkeypatch.setitem(WORK, kind, lambda job, progress: None)
    monkeypatch.setattr(importlib.import_module("web.jobs.queue"), "HEALTH_CHECK_SECONDS", 0.2)
    for name in QUEUES:
        huey = queue(app, name)
        monkeypatch.setattr(huey, "dequeue", dying_once(monkeypatch, huey))
    return {"pdf": ask_for(app, "blank_pdf"), "matching": ask_for(app, "matching")}


def dying_once(monkeypatch, huey):
    """A ``dequeue`` that ends the consumer thread calling it, then gives ``huey`` its own back."""
    dequeue = huey.dequeue

    def dies():
        monkeypatch.setattr(huey, "dequeue", dequeue)
        raise SystemExit

    return dies



def test_a_rounds_panel_context_is_built_on_the_matching_queue(app):
    """A ``panel_context`` job builds the engine's context of a round (every conflict, the fit of every pair:
    gigabytes and minutes at national scale, as a matching run's first phases), so it needs the matching
    machine's memory, not a general worker's."""
    ask_for(app, "panel_context")
    assert [queue(app, name).pending_count() for name in (GENERAL, MATCHING)] == [0, 1]

def test_a_worker_refuses_a_queue_that_does_not_exist(runner):
    result = runner.invoke(args=["worker", "--queue", "mail"])
    assert result.exit_code == 2 and "没有名为 mail 的队列" in result.output


@pytest.mark.app_config(PANEL_QUEUE=QUEUE)
def test_a_worker_that_lost_its_job_to_another_drops_its_work(app, assigning_round):
    """A worker thought dead (its heartbeat stopped) whose job another worker took over: when the first one
    finishes after all, its version is not stored; the job stays the other attempt's."""
    from sqlalchemy import update

    from web.jobs.runner import claim, run_claimed
    from web.jobs.work import matching_job
    from web.models import Round
    from web.services.jobs import request_job

    with app.app_context():
        job = request_job("matching", round_=db.session.get(Round, assigning_round), actor=None,
                          params={"seed": None, "max_probability": None, "drawn_seed": None})
        job_id = job.id
        db.session.commit()
        flush_queues(app)

        def taken_over_meanwhile(job, progress):
            with db.engine.begin() as connection:     # another worker claims the job: attempt 2
                connection.execute(update(Job).where(Job.id == job.id).values(attempts=Job.attempts + 1))
            return matching_job(job, progress)

        run_claimed(claim(job_id), taken_over_meanwhile)
        db.session.expire_all()
        job = db.session.get(Job, job_id)
        assert (job.state, job.attempts, job.outcome) == ("running", 2, None)
    assert versions_of(app, assigning_round) == []


@pytest.fixture
def organizer_token(app, make_user) -> str:
    from web.models import User
    from web.services.tokens import create_token

    make_user("organizer", "organizer")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "organizer"))
        token = create_token(user, "imports", actor=user)
        db.session.commit()
    return token


def imported(app, ref: str) -> int:
    from sqlalchemy import func

    from web.models import Application

    with app.app_context():
        return db.session.scalar(select(func.count()).where(Application.ref == ref))


def test_an_api_import_is_queued_joined_by_the_same_body_and_done_by_a_worker(
        app, client, organizer_token, make_application_record, consumer_of):
    headers = {"Authorization": f"Bearer {organizer_token}"}
    body = json.dumps([make_application_record("APP-Q01")], default=str)
    first = client.post("/api/v1/applications", data=body, content_type="application/json", headers=headers)
    assert first.status_code == 202 and first.get_json()["state"] == "queued"
    again = client.post("/api/v1/applications", data=body, content_type="application/json", headers=headers)
    assert again.status_code == 202 and again.headers["Location"] == first.headers["Location"]
    consumer_of(app)
    job = wait_until_finished(app, only_job(app))
    assert job.state == "done" and job.outcome == {"imported": 1, "refs": ["APP-Q01"]}
    status = client.get(first.headers["Location"], headers=headers).get_json()
    assert status["result"] == {"imported": 1, "refs": ["APP-Q01"]} and status["done"] == status["total"] == 1
    assert imported(app, "APP-Q01") == 1


def test_an_api_import_whose_worker_died_imports_once(app, client, organizer_token, make_application_record,
                                                       consumer_of):
    headers = {"Authorization": f"Bearer {organizer_token}"}
    body = json.dumps([make_application_record("APP-Q02")], default=str)
    client.post("/api/v1/applications", data=body, content_type="application/json", headers=headers)
    job_id = only_job(app)
    die_mid_job(app, job_id)
    consumer_of(app)
    app.extensions["panel_tasks"]["general"]["requeue_stalled"].call_local()
    job = wait_until_finished(app, job_id)
    assert job.state == "done" and job.attempts == 2 and imported(app, "APP-Q02") == 1


def test_an_api_import_of_several_chunks_reports_its_records_and_commits_once(
        app, client, organizer_token, make_expert_record, consumer_of, monkeypatch):
    """More records than one chunk of writes, every progress report written: the progress of the write phase
    never waits on the job's own transaction (SQLite has one writer), and the records are all there at the end."""
    from sqlalchemy import func

    from web.jobs import runner

    monkeypatch.setattr(runner, "REPORT_EVERY_SECONDS", 0.0)

    from web.models import Expert
    from web.services.records import CHUNK

    count = 2 * CHUNK + 100
    records = [make_expert_record(f"EXP-Q{number:04d}", declared=[]) for number in range(count)]
    headers = {"Authorization": f"Bearer {organizer_token}"}
    response = client.post("/api/v1/experts", data=json.dumps(records, default=str),
                           content_type="application/json", headers=headers)
    consumer_of(app)
    job = wait_until_finished(app, response.get_json()["id"])
    assert job.state == "done" and job.error is None and job.done == job.total == count
    with app.app_context():
        assert db.session.scalar(select(func.count(Expert.id)).where(Expert.ref.like("EXP-Q%"))) == count
