"""SIGTERM on a real ``panel worker`` process, and on a real ``panel serve`` running the embedded consumer (SQLite,
or Redis with ``PANEL_TEST_QUEUE`` for the worker): it stops taking work, waits a bounded time for the job under
way, then exits; a job still running then goes back to its queue without spending an attempt, while a worker
killed outright spends it.

What an operator relies on: ``systemctl stop`` or a redeploy does not throw away a job that was about to finish,
does not hang for ever on one that was not, and three deploys during one long matching run do not fail it.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from tests.web.queue_helpers import (  # noqa: F401  (empty_queue: an autouse fixture)
    QUEUE,
    WAIT_SECONDS,
    ask_for,
    empty_queue,
    panel_process,
    state_of,
    wait_until,
    worker_process,
)
from web.extensions import db
from web.jobs.queue import GENERAL, IDLE_POLL_SECONDS, jobs_waiting
from web.models import AuditEvent, Job

pytestmark = [pytest.mark.slow, pytest.mark.app_config(PANEL_QUEUE=QUEUE)]
SLOW = ("tests.web.slow_worker",)
COMMANDS = ["worker", pytest.param("serve", marks=pytest.mark.skipif(
    QUEUE != "sqlite", reason="panel serve runs jobs only on the embedded queue"))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def slow_process(app, command: str, stop_seconds: float,
                 job_seconds: float) -> Iterator[tuple[subprocess.Popen, int | None]]:
    """A real ``panel worker`` or ``panel serve`` (embedded consumer) whose PDF jobs take ``job_seconds``, waiting
    ``stop_seconds`` after SIGTERM, with the port it serves on (None for a worker); killed at the end if it is still
    running."""
    environment = {"PANEL_TEST_JOB_SECONDS": str(job_seconds)}
    port = None
    if command == "worker":
        process = worker_process(app, "--stop-seconds", str(stop_seconds), command=SLOW, **environment)
    else:
        port = free_port()
        process = panel_process(app, "serve", "--port", str(port), "--stop-seconds", str(stop_seconds),
                                command=SLOW, **environment)
        assert wait_until(lambda: listening(port) or process.poll() is not None), "panel serve did not listen"
    try:
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def running_under(process: subprocess.Popen, app, job_id: int) -> None:
    """Until the process has started the job (the test fails if it exits or takes too long)."""
    assert wait_until(lambda: state_of(app, job_id) == "running" or process.poll() is not None)
    assert process.poll() is None, "the process exited before it started the job"


def stopped(process: subprocess.Popen, seconds: float) -> int:
    """The process's exit code once it exited, within ``seconds`` (killed, and the test failed, otherwise)."""
    try:
        return process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"the process did not exit within {seconds} s of SIGTERM") from None


def handed_back(app, job_id: int) -> tuple:
    """The job's state and attempts, whether a message waits for it on its queue, and its ``job.interrupted``
    events (by whom, what they say)."""
    with app.app_context():
        job = db.session.get(Job, job_id)
        events = [(event.actor_name, event.after) for event in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "job.interrupted", AuditEvent.entity_id == str(job_id)))]
        return job.state, job.attempts, job_id in jobs_waiting(app, GENERAL), events


INTERRUPTED = ("system", {"state": "queued", "kind": "blank_pdf", "attempts": 0})


@pytest.mark.parametrize("command", COMMANDS)
def test_sigterm_lets_the_job_under_way_finish_and_takes_no_new_one(app, command):
    with slow_process(app, command, WAIT_SECONDS, 4) as (process, _):
        first = ask_for(app, "blank_pdf")
        running_under(process, app, first)
        process.send_signal(signal.SIGTERM)
        time.sleep(2 * IDLE_POLL_SECONDS)
        second = ask_for(app, "sheets_pdf")                # another kind: a second PDF would join the first
        assert stopped(process, WAIT_SECONDS) == 0
    assert (state_of(app, first), state_of(app, second)) == ("done", "queued")


@pytest.mark.parametrize("command", COMMANDS)
def test_sigterm_past_its_bound_hands_the_job_back_without_spending_an_attempt(app, command):
    with slow_process(app, command, 1, 600) as (process, _):
        job_id = ask_for(app, "blank_pdf")
        running_under(process, app, job_id)
        process.send_signal(signal.SIGTERM)
        assert stopped(process, 30) == 0
    assert handed_back(app, job_id) == ("queued", 0, True, [INTERRUPTED])


@pytest.mark.parametrize("command", COMMANDS)
def test_ctrl_c_waits_past_the_bound_until_the_job_is_done(app, command):
    """docs/jobs.md: Ctrl+C keeps its unbounded wait (the person who pressed it sees the process wait); only SIGTERM
    is bounded by ``--stop-seconds``."""
    with slow_process(app, command, 0.5, 4) as (process, _):
        job_id = ask_for(app, "blank_pdf")
        running_under(process, app, job_id)
        process.send_signal(signal.SIGINT)
        assert stopped(process, WAIT_SECONDS) == 0
    assert handed_back(app, job_id) == ("done", 1, False, [])


@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl_c"])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_second_sigterm_or_a_ctrl_c_stops_the_wait(app, command, second):
    """docs/jobs.md: a second SIGTERM or a Ctrl+C stops the wait at once (an operator at the terminal of a process
    that a supervisor asked to stop); the job goes back to its queue."""
    with slow_process(app, command, 600, 600) as (process, port):
        job_id = ask_for(app, "blank_pdf")
        running_under(process, app, job_id)
        process.send_signal(signal.SIGTERM)
        time.sleep(1)
        assert process.poll() is None and not (port and listening(port))    # waiting: panel serve takes no request
        process.send_signal(second)
        assert stopped(process, 30) == 0
    assert handed_back(app, job_id) == ("queued", 0, True, [INTERRUPTED])


def test_three_deploys_during_one_long_run_do_not_fail_it(app):
    """Each stop hands the job back with its attempts unspent; the worker after the third deploy finishes it, on
    its first attempt."""
    job_id = ask_for(app, "blank_pdf")
    for _ in range(3):
        with slow_process(app, "worker", 0.5, 600) as (process, _):
            running_under(process, app, job_id)
            process.send_signal(signal.SIGTERM)
            assert stopped(process, 30) == 0
    assert handed_back(app, job_id)[:2] == ("queued", 0)
    with slow_process(app, "worker", WAIT_SECONDS, 0) as (process, _):
        assert wait_until(lambda: state_of(app, job_id) == "done")
    with app.app_context():
        assert db.session.get(Job, job_id).attempts == 1


def test_a_worker_killed_outright_spends_its_attempt(app):
    """A worker that dies (SIGKILL, out of memory) hands nothing back: its attempt counts, so a job that kills
    every worker that runs it still ends (``requeue_stalled`` fails it on its third)."""
    with slow_process(app, "worker", WAIT_SECONDS, 600) as (process, _):
        job_id = ask_for(app, "blank_pdf")
        running_under(process, app, job_id)
        process.send_signal(signal.SIGKILL)
        assert stopped(process, 30) == -signal.SIGKILL
    assert handed_back(app, job_id) == ("running", 1, False, [])
