"""SIGTERM on a real ``panel worker`` process (SQLite, or Redis with ``PANEL_TEST_QUEUE``): it stops taking work,
waits a bounded time for the job under way, then exits; a job still running then is left for ``requeue_stalled``.

What an operator relies on: ``systemctl stop`` or a redeploy does not throw away a job that was about to finish,
and does not hang for ever on one that was not.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.web.queue_helpers import (  # noqa: F401  (empty_queue: an autouse fixture)
    QUEUE,
    WAIT_SECONDS,
    ask_for,
    empty_queue,
    state_of,
    wait_until,
    worker_process,
)
from web.jobs.queue import IDLE_POLL_SECONDS

pytestmark = [pytest.mark.slow, pytest.mark.app_config(PANEL_QUEUE=QUEUE)]


@contextmanager
def slow_worker(app, stop_seconds: float, job_seconds: float) -> Iterator[subprocess.Popen]:
    """A real ``panel worker`` whose PDF jobs take ``job_seconds``, waiting ``stop_seconds`` after SIGTERM; killed
    at the end if it is still running."""
    worker = worker_process(app, "--stop-seconds", str(stop_seconds), command=("tests.web.slow_worker",),
                            PANEL_TEST_JOB_SECONDS=str(job_seconds))
    try:
        yield worker
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def running_under(worker: subprocess.Popen, app, job_id: int) -> None:
    """Until the worker has started the job (the test fails if it exits or takes too long)."""
    assert wait_until(lambda: state_of(app, job_id) == "running" or worker.poll() is not None)
    assert worker.poll() is None, "the worker exited before it started the job"


def stopped(worker: subprocess.Popen, seconds: float) -> int:
    """The worker's exit code once it exited, within ``seconds`` (killed, and the test failed, otherwise)."""
    try:
        return worker.wait(seconds)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
        raise AssertionError(f"the worker did not exit within {seconds} s of SIGTERM") from None


def test_sigterm_lets_the_job_under_way_finish_and_takes_no_new_one(app):
    with slow_worker(app, WAIT_SECONDS, 4) as worker:
        first = ask_for(app, "blank_pdf")
        running_under(worker, app, first)
        worker.send_signal(signal.SIGTERM)
        time.sleep(2 * IDLE_POLL_SECONDS)
        second = ask_for(app, "sheets_pdf")                # another kind: a second PDF would join the first
        assert stopped(worker, WAIT_SECONDS) == 0
    assert (state_of(app, first), state_of(app, second)) == ("done", "queued")


def test_sigterm_waits_no_longer_than_its_bound_and_leaves_the_job_for_requeue(app):
    with slow_worker(app, 1, 600) as worker:
        job_id = ask_for(app, "blank_pdf")
        running_under(worker, app, job_id)
        worker.send_signal(signal.SIGTERM)
        assert stopped(worker, 30) == 0
    assert state_of(app, job_id) == "running"            # its heartbeat stops: requeue_stalled reruns it


@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl_c"])
def test_a_second_sigterm_or_a_ctrl_c_stops_the_wait(app, second):
    """docs/jobs.md: a second SIGTERM or a Ctrl+C stops the wait at once (an operator at the terminal of a worker
    that a supervisor asked to stop)."""
    with slow_worker(app, 600, 600) as worker:
        job_id = ask_for(app, "blank_pdf")
        running_under(worker, app, job_id)
        worker.send_signal(signal.SIGTERM)
        time.sleep(1)
        worker.send_signal(second)
        assert stopped(worker, 30) == 0
    assert state_of(app, job_id) == "running"
