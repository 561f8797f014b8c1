"""A queue that no worker takes: each consumer's heartbeat per queue, the waiting job's page saying what to start,
and ``requeue_stalled`` not piling up messages for a job already waiting (on the store of
tests/web/test_jobs_queue.py: SQLite, or Redis with ``PANEL_TEST_QUEUE``).

What an organizer relies on: a matching run asked for while no ``panel worker --queue matching`` runs does not sit
as "waiting" with nothing said; the operator sees when each queue was last taken.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from tests.web.queue_helpers import QUEUE, ask_for, empty_queue, wait_until, worker_process  # noqa: F401
from web.extensions import db
from web.jobs.heartbeats import FIRST_BEAT_SECONDS, SILENT_SECONDS, beat, last_beat
from web.jobs.queue import GENERAL, MATCHING, queue, start_consumer
from web.jobs.runner import STALL_SECONDS
from web.models import Job, utcnow

pytestmark = [pytest.mark.slow, pytest.mark.app_config(PANEL_QUEUE=QUEUE)]
NO_WORKER = "没有后台进程处理 matching 队列"


def asked_minutes_ago(app, kind: str, minutes: int) -> int:
    """A job of ``kind`` asked for ``minutes`` ago and still waiting on its queue."""
    job_id = ask_for(app, kind)
    with app.app_context():
        db.session.get(Job, job_id).created_at = utcnow() - timedelta(minutes=minutes)
        db.session.commit()
    return job_id


def test_a_job_waiting_on_a_queue_no_worker_takes_says_so_and_names_the_command(app, client, auth):
    auth.login("organizer")
    job_id = asked_minutes_ago(app, "matching", 3)
    beat(queue(app, MATCHING), time.time() - SILENT_SECONDS - 121)       # a worker that stopped 3 minutes ago
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert f"已有 3 分钟{NO_WORKER}" in page and "panel worker --queue matching" in page
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["state"] == "queued" and NO_WORKER in status["notice"]
    assert status["queue"] == MATCHING and status["queue_heartbeats"][GENERAL] is None

    beat(queue(app, MATCHING), time.time() - SILENT_SECONDS - 61)        # a worker that stopped 2 minutes ago
    assert "已有 2 分钟" in client.get(f"/jobs/{job_id}.json").get_json()["notice"]
    beat(queue(app, MATCHING))                                            # one that is alive
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["notice"] is None and status["queue_heartbeats"][MATCHING] is not None
    assert NO_WORKER not in client.get(f"/jobs/{job_id}").get_data(as_text=True)


def test_a_job_on_a_queue_never_taken_says_so_within_seconds_not_after_a_minute(app, client, auth):
    """docs/jobs.md: a queue with no heartbeat ever recorded has no worker (one beats as it starts); the job asked
    for :data:`FIRST_BEAT_SECONDS` ago says so, not only once a minute has passed."""
    auth.login("organizer")
    job_id = ask_for(app, "matching")
    with app.app_context():
        db.session.get(Job, job_id).created_at = utcnow() - timedelta(seconds=FIRST_BEAT_SECONDS + 1)
        db.session.commit()
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["queue_heartbeats"] == {GENERAL: None, MATCHING: None}
    assert status["notice"] == ("matching 队列从未记录到后台进程的心跳：本任务会一直等待，直到有进程接手。"
                                "请运维人员启动：panel worker --queue matching")
    assert "从未记录到后台进程的心跳" in client.get(f"/jobs/{job_id}").get_data(as_text=True)


def test_a_job_just_asked_for_or_on_a_queue_with_a_worker_has_no_notice(app, client, auth):
    auth.login("organizer")
    job_id = ask_for(app, "matching")
    assert client.get(f"/jobs/{job_id}.json").get_json()["notice"] is None
    pdf = asked_minutes_ago(app, "blank_pdf", 5)
    beat(queue(app, GENERAL))
    assert client.get(f"/jobs/{pdf}.json").get_json()["notice"] is None


def test_the_embedded_consumer_beats_for_each_queue_it_takes(app):
    consumers = start_consumer(app, workers=1, names=(MATCHING,))
    try:
        wait_until(lambda: last_beat(queue(app, MATCHING)) is not None, 30)
    finally:
        consumers.stop(graceful=True, seconds=30)
    assert last_beat(queue(app, MATCHING)) is not None and last_beat(queue(app, GENERAL)) is None


def test_a_matching_worker_process_beats_for_the_matching_queue_only(app):
    worker = worker_process(app, "--queue", "matching")
    try:
        wait_until(lambda: last_beat(queue(app, MATCHING)) is not None, 60)
    finally:
        worker.terminate()
        worker.wait(60)
    assert last_beat(queue(app, MATCHING)) is not None and last_beat(queue(app, GENERAL)) is None


def test_requeue_stalled_adds_no_message_for_a_job_already_waiting_on_its_queue(app):
    job_id = ask_for(app, "matching")
    with app.app_context():
        db.session.get(Job, job_id).created_at = utcnow() - timedelta(seconds=STALL_SECONDS + 1)
        db.session.commit()
    requeue_stalled = app.extensions["panel_tasks"][GENERAL]["requeue_stalled"]
    for _minute in range(3):
        requeue_stalled.call_local()
    assert queue(app, MATCHING).pending_count() == 1

    queue(app, MATCHING).flush()                                 # the message was lost: queued again, once
    for _minute in range(2):
        requeue_stalled.call_local()
    assert [tuple(task.args) for task in queue(app, MATCHING).pending()] == [(job_id,)]


def test_panel_queues_shows_each_queues_heartbeat_and_fails_while_jobs_wait_on_one_no_worker_takes(app, runner):
    ask_for(app, "matching")
    beat(queue(app, GENERAL))
    result = runner.invoke(args=["queues"])
    general, matching, advice = result.output.splitlines()
    assert result.exit_code == 1 and general.startswith("general 队列：后台进程最近一次心跳 ")
    assert matching == "matching 队列：没有后台进程心跳记录；队列中 1 条消息，1 个任务在等待"
    assert advice == "matching 队列有任务在等待，但没有后台进程处理：请启动 panel worker --queue matching"

    beat(queue(app, MATCHING))
    result = runner.invoke(args=["queues"])
    assert result.exit_code == 0 and "秒前）；队列中 1 条消息，1 个任务在等待" in result.output.splitlines()[1]


def test_a_rounds_waiting_jobs_and_a_jobs_json_read_each_queues_heartbeat_once(app, client, auth, monkeypatch):
    """The queues' storage is read once per queue and request, not once per waiting job: a round's page of many
    waiting jobs would otherwise wait for Redis once a job (up to its timeout each while it does not answer)."""
    from tests.web.test_panels_factory import build_round
    from web.jobs import heartbeats

    round_id = build_round(app)
    job_ids = [ask_for(app, "matching", round_id) for _ in range(4)]
    reads = []
    read = heartbeats.last_beat
    monkeypatch.setattr(heartbeats, "last_beat", lambda huey: reads.append(huey.name) or read(huey))
    auth.login("organizer")
    assert client.get(f"/jobs/rounds/{round_id}").status_code == 200
    assert len(reads) == len(set(reads)) == 2
    reads.clear()
    assert client.get(f"/jobs/{job_ids[0]}.json").get_json()["queue_heartbeats"] == {GENERAL: None, MATCHING: None}
    assert len(reads) == len(set(reads)) == 2
