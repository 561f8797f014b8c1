"""Helpers of the tests that run jobs on a real queue (tests/web/test_jobs_*.py, test_outbox_worker.py): the
store under test, emptying it, asking for a job, reading a row's state, waiting, a real ``panel worker`` process.

The store is the embedded SQLite one, or Redis when ``PANEL_TEST_QUEUE`` names one (``.ci/run`` runs the queue's
tests both ways). A test module takes :func:`empty_queue` by importing it (an autouse fixture).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from web.extensions import db
from web.jobs.queue import QUEUES, queue
from web.jobs.runner import claim, run_claimed
from web.models import Job

QUEUE = os.environ.get("PANEL_TEST_QUEUE") or "sqlite"
WAIT_SECONDS = 120
"""A generous bound on any wait, so a loaded machine does not fail a test."""
ROOT = Path(__file__).resolve().parents[2]
PANEL_COMMAND = ("flask", "--app", "web:create_app")


def flush_queues(app) -> None:
    """Empty both queues (a Redis server is shared between tests; a worker killed mid-job took its message)."""
    for name in QUEUES:
        queue(app, name).flush()


@pytest.fixture(autouse=True)
def empty_queue(app):
    """A Redis queue is shared between tests: start and end each one empty."""
    flush_queues(app)
    yield
    flush_queues(app)


def queued_job(app, attempts: int = 0) -> int:
    """A ranking job in the database at ``attempts``, with no message on any queue; returns its id."""
    with app.app_context():
        job = Job(kind="ranking", params={}, attempts=attempts)
        db.session.add(job)
        db.session.commit()
        return job.id


def run_in(app, job_id: int, work) -> None:
    """An attempt at the job, as a worker runs its message (web/jobs/tasks.py ``run_job``): claimed, then run."""
    with app.app_context():
        job = claim(job_id)
        if job is not None:
            run_claimed(job, work)


def ask_for(app, kind: str, round_id: int | None = None, **params) -> int:
    """A job of ``kind`` (for round ``round_id``, with ``params``) asked for by nobody and committed, so enqueued
    on its queue; returns its id."""
    from web.models import Round
    from web.services.jobs import request_job

    with app.app_context():
        round_ = db.session.get(Round, round_id) if round_id is not None else None
        job = request_job(kind, round_=round_, actor=None, params=params)
        db.session.commit()
        return job.id


def state_of(app, row_id: int, model=Job) -> str:
    """The state of the row ``row_id`` of ``model`` (a job by default), read afresh."""
    with app.app_context():
        return db.session.get(model, row_id).state


def wait_until(condition: Callable[[], bool], seconds: float = WAIT_SECONDS) -> bool:
    """Poll ``condition`` every 0.1 s until it holds (True) or ``seconds`` have passed (False)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def wait_until_finished(app, job_id: int) -> Job:
    """The job once done or failed (detached); fails the test after :data:`WAIT_SECONDS`."""
    assert wait_until(lambda: state_of(app, job_id) in ("done", "failed")), \
        f"job {job_id} did not finish in {WAIT_SECONDS} s"
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job


def wait_until_done(app, job_ids: Iterable[int], seconds: float = 20) -> None:
    """Until every job is done, for at most ``seconds`` (the caller asserts the states)."""
    job_ids = list(job_ids)
    wait_until(lambda: {state_of(app, job_id) for job_id in job_ids} == {"done"}, seconds)


def worker_process(app, *options: str, command: tuple[str, ...] = PANEL_COMMAND,
                   **environment: str) -> subprocess.Popen:
    """A real ``panel worker`` process (one thread per queue) on the test's instance, database and queue;
    ``command`` is the module run with ``python -m`` and its first arguments."""
    return panel_process(app, "worker", "--workers", "1", *options, command=command, **environment)


def panel_process(app, *arguments: str, command: tuple[str, ...] = PANEL_COMMAND,
                  **environment: str) -> subprocess.Popen:
    """A real ``panel`` process running ``arguments`` (``worker …``, ``serve …``) on the test's instance, database
    and queue; ``command`` is the module run with ``python -m`` and its first arguments."""
    environment = dict(os.environ, PYTHONPATH=str(ROOT), PANEL_INSTANCE_PATH=app.instance_path,
                       PANEL_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], PANEL_QUEUE=QUEUE, **environment)
    return subprocess.Popen([sys.executable, "-m", *command, *arguments],
                            env=environment, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
