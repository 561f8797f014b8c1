"""API imports as jobs (immediate queue: the job runs right after the request's commit).

What a client relies on: the POST answers 202 with the job's URL; the job's JSON shows, at the end, the refs
imported or every error in Chinese, all or nothing; the records sent do not stay in the file store; only the
person who asked (or an admin) reads the job. The queue's own behaviour (a retried import imports once, the same
body sent twice joins one job) is tested on the real stores in tests/web/test_jobs_queue.py.
"""

from __future__ import annotations

import json
import socket

import pytest
from sqlalchemy import func, select

from tests.web.test_route_matrix import World, world_fixture  # noqa: F401  (the world fixture)
from web.extensions import db
from web.jobs import files
from web.jobs.imports import input_name
from web.models import Application, AuditEvent, Job


def finished_job(client, response, headers: dict) -> dict:
    """The job a 202 answer points to (``Location``), which the immediate queue has already finished."""
    assert response.status_code == 202 and response.headers["Location"].startswith("/api/v1/jobs/")
    body = client.get(response.headers["Location"], headers=headers).get_json()
    assert body["finished"], body
    return body


def only_the_job_was_recorded(before: dict[str, int], after: dict[str, int]) -> None:
    """Nothing changed but the job's row and its three audit events: asking for it, its claim, and its failure."""
    assert after == {**before, "job": before["job"] + 1, "audit_event": before["audit_event"] + 3}


def bearer(world: World, account: str) -> dict:
    return {"Authorization": f"Bearer {world.tokens[account]}"}


def as_json(records: list[dict]) -> str:
    return json.dumps(records, default=str, ensure_ascii=False)


def post(client, world, account: str, path: str, records: list[dict]):
    return client.post(f"/api/v1{path}", data=as_json(records), content_type="application/json",
                       headers=bearer(world, account))


def test_an_import_answers_202_and_its_job_shows_the_refs(app, client, world, make_application_record):
    response = post(client, world, "organizer", "/applications", [make_application_record("APP-301")])
    assert response.get_json()["kind"] == "import"
    job = finished_job(client, response, bearer(world, "organizer"))
    assert job["state"] == "done" and job["state_label"] == "已完成" and job["error"] is None
    assert job["result"] == {"imported": 1, "refs": ["APP-301"]} and job["done"] == job["total"] == 1
    assert job["step_label"] == "已完成"
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Application.ref == "APP-301")) == 1
        assert db.session.scalar(select(AuditEvent.actor_name).where(
            AuditEvent.action == "application.import", AuditEvent.entity_id == "APP-301")) == "organizer"
        assert not files.path_of(input_name(job["id"])).exists()          # personal data not kept


def test_a_refused_import_fails_its_job_in_chinese_and_imports_nothing(app, client, world, table_counts,
                                                                        make_expert_record):
    good = make_expert_record("EXP-301", declared=[])
    unknown_field = make_expert_record("EXP-302", declared=[], fields=["NOT-A-FIELD"])
    before = table_counts()
    response = post(client, world, "organizer", "/experts", [good, unknown_field])
    job = finished_job(client, response, bearer(world, "organizer"))
    assert job["state"] == "failed" and job["state_label"] == "失败" and job["result"] is None
    assert job["error"] == "导入被拒绝，未导入任何记录。错误逐条列出如下。"
    assert job["error_count"] == len(job["errors"]) >= 1
    assert all("EXP-302" in error for error in job["errors"])
    only_the_job_was_recorded(before, table_counts())
    with app.app_context():
        assert not files.path_of(input_name(job["id"])).exists()


def test_the_job_page_lists_a_refused_imports_errors(app, client, auth, world, make_expert_record):
    response = post(client, world, "organizer", "/experts",
                    [make_expert_record("EXP-303", declared=[], fields=["NOT-A-FIELD"])])
    job_id = response.get_json()["id"]
    auth.login(username="organizer")
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "记录导入" in page and "导入被拒绝" in page and "EXP-303" in page


def test_only_the_asker_or_an_admin_reads_an_import_job(client, world, make_expert_record):
    response = post(client, world, "organizer", "/experts", [make_expert_record("EXP-304", declared=[])])
    location = response.headers["Location"]
    assert client.get(location, headers=bearer(world, "organizer")).status_code == 200
    assert client.get(location, headers=bearer(world, "admin")).status_code == 200
    stranger = client.get(location, headers=bearer(world, "spare"))
    assert stranger.status_code == 404 and stranger.get_json()["error"]
    assert client.get(location, headers=bearer(world, "expert_a")).status_code == 403


def test_a_body_that_is_no_list_is_refused_at_once_and_starts_no_job(app, client, world, table_counts):
    before = table_counts()
    response = client.post("/api/v1/experts", json={"ref": "EXP-1"}, headers=bearer(world, "organizer"))
    assert response.status_code == 422 and response.get_json()["errors"]
    assert table_counts() == before
    with app.app_context():
        assert db.session.scalars(select(Job).where(Job.kind == "import")).all() == []


def failing_after_its_work(monkeypatch, kind: str) -> None:
    """The work of ``kind`` (web/jobs/work.py ``WORK``, which the worker's ``run_job`` task runs) followed by an
    error: the worker gone before the commit."""
    from web.jobs.work import WORK

    work = WORK[kind]

    def work_then_fail(job, progress):
        work(job, progress)
        raise RuntimeError("the worker is gone before the commit")

    monkeypatch.setitem(WORK, kind, work_then_fail)


def scheduled_retry(app):
    """The retry Huey scheduled after a ``run_job`` message failed on the immediate queue (the only message there),
    taken off the schedule; None when it scheduled none."""
    from web.jobs.queue import GENERAL, queue

    huey = queue(app, GENERAL)
    retries = huey.scheduled()
    huey.storage.flush_schedule()
    assert [retry.name for retry in retries] in ([], ["run_job"])
    return retries[0] if retries else None


def run_retry(app, retry) -> None:
    """Run the retry ``retry`` as a worker does once its delay has passed."""
    from web.jobs.queue import GENERAL, queue

    queue(app, GENERAL).execute(retry, timestamp=retry.eta)


def test_an_import_whose_first_attempt_failed_after_its_work_imports_on_the_retry(app, monkeypatch,
                                                                                   make_application_record):
    """The records sent stay in the file store until the job's end is committed: a first attempt that fails after
    its work (a killed worker, a refused commit) leaves them to Huey's retry, which imports them and forgets them."""
    from web.jobs.queue import run
    from web.models import utcnow

    with app.app_context():
        job = Job(kind="import", state="queued", step="waiting", params={"records": "applications"},
                  created_at=utcnow())
        db.session.add(job)
        db.session.commit()
        job_id = job.id
        files.write(input_name(job_id), as_json([make_application_record("APP-311")]).encode())
    with monkeypatch.context() as patched:
        failing_after_its_work(patched, "import")
        run(app, "run_job", job_id)
    retry = scheduled_retry(app)
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.state, job.attempts, db.session.scalar(select(func.count(Application.id)))) == ("queued", 1, 0)
        assert files.path_of(input_name(job_id)).exists()
    run_retry(app, retry)
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.state, job.attempts, job.outcome) == ("done", 2, {"imported": 1, "refs": ["APP-311"]})
        assert not files.path_of(input_name(job_id)).exists()


def test_an_import_failing_on_every_attempt_fails_on_its_last_in_chinese_and_forgets_what_it_was_sent(
        app, client, world, monkeypatch, table_counts, make_application_record):
    """Each attempt ends in an unexpected error: Huey retries the message while the job has attempts left by the
    database's count; the last one fails the job with the catalog's sentence, schedules no retry, and deletes the
    records sent; nothing was imported."""
    from web.jobs.runner import MAX_ATTEMPTS

    failing_after_its_work(monkeypatch, "import")
    before = table_counts()
    response = post(client, world, "organizer", "/applications", [make_application_record("APP-312")])
    job_id = response.get_json()["id"]
    for _ in range(MAX_ATTEMPTS - 1):
        run_retry(app, scheduled_retry(app))
    assert scheduled_retry(app) is None
    job = finished_job(client, response, bearer(world, "organizer"))
    assert (job["state"], job["error"]) == ("failed", "任务多次尝试后仍失败，错误详情记录在后台处理进程的日志中。"
                                                      "请重新发起，或联系管理员。")
    assert table_counts()["application"] == before["application"]
    with app.app_context():
        assert db.session.get(Job, job_id).attempts == MAX_ATTEMPTS
        assert not files.path_of(input_name(job_id)).exists()


def test_a_job_whose_worker_died_on_its_last_attempt_fails_and_forgets_what_it_was_sent(
        app, make_user, make_application_record):
    """A job whose worker died on every attempt is failed by ``requeue_stalled``, not by its work: the records an
    import was sent and the file an upload kept must still leave the file store (nothing else deletes the first;
    the second waits for its uploader's next upload)."""
    from datetime import timedelta

    from web.jobs.runner import MAX_ATTEMPTS, STALL_SECONDS
    from web.models import utcnow
    from web.services import uploads

    uploader = make_user("uploader", "organizer")
    stopped = utcnow() - timedelta(seconds=STALL_SECONDS + 1)
    with app.app_context():
        token = uploads.keep(db.session.get(type(uploader), uploader.id), "experts.xlsx", b"PK")
        jobs = [Job(kind=kind, state="running", step="checking", params=params, attempts=MAX_ATTEMPTS,
                    requested_by_id=uploader.id, created_at=stopped, started_at=stopped, heartbeat_at=stopped)
                for kind, params in (("import", {"records": "applications"}),
                                     ("records_upload", {"kind": "experts", "token": token, "update": False}))]
        db.session.add_all(jobs)
        db.session.commit()
        import_id, upload_id = (job.id for job in jobs)
        files.write(input_name(import_id), as_json([make_application_record("APP-312")]).encode())
    app.extensions["panel_tasks"]["general"]["requeue_stalled"].call_local()
    with app.app_context():
        assert [(db.session.get(Job, job_id).state, db.session.get(Job, job_id).error)
                for job_id in (import_id, upload_id)] == [("failed", "unexpected")] * 2
        assert not files.path_of(input_name(import_id)).exists()
        assert uploads.kept(uploader.id, token) is None


def test_a_waiting_import_is_still_read_while_the_queue_storage_is_down(app, client, auth, world,
                                                                          make_expert_record):
    """Redis restarting (the queue's storage refusing connections) turns no read of a waiting job into an error:
    the job is safe in the database (``requeue_stalled`` enqueues it once the storage is back), so its API JSON,
    its page and the page's JSON answer with its state; only the queues' heartbeats are unknown meanwhile."""
    from web.jobs.queue import install

    with socket.socket() as refusing:                      # bound, never listening: a connection is refused
        refusing.bind(("127.0.0.1", 0))
        app.config["PANEL_QUEUE"] = f"redis://127.0.0.1:{refusing.getsockname()[1]}/0"
        install(app, app.config["PANEL_QUEUE"])
        response = post(client, world, "organizer", "/experts", [make_expert_record("EXP-305", declared=[])])
        assert response.status_code == 202                 # the enqueue after the commit failed, and was logged
        job = client.get(response.headers["Location"], headers=bearer(world, "organizer"))
        assert job.status_code == 200 and job.get_json()["state"] == "queued"
        auth.login(username="organizer")
        job_id = response.get_json()["id"]
        page = client.get(f"/jobs/{job_id}")
        assert page.status_code == 200 and "排队" in page.get_data(as_text=True)
        status = client.get(f"/jobs/{job_id}.json")
        assert status.status_code == 200
        assert (status.get_json()["state"], status.get_json()["notice"], status.get_json()["queue_heartbeats"]) == (
            "queued", None, None)


def test_the_input_of_an_import_that_ended_without_deleting_it_is_deleted_within_a_minute(
        app, make_application_record):
    """The process that commits a job's end deletes its input just after; one that stops in between (a SIGTERM
    whose bounded wait ran out as the job committed, a kill) left it in the file store for ever. ``requeue_stalled``
    deletes the input of a job that ended, and keeps the one of a job not yet run."""
    from web.models import utcnow

    with app.app_context():
        ended, waiting = (Job(kind="import", state=state, step="waiting", params={"records": "applications"},
                              created_at=utcnow(), finished_at=finished)
                          for state, finished in (("done", utcnow()), ("queued", None)))
        db.session.add_all([ended, waiting])
        db.session.commit()
        ended_id, waiting_id = ended.id, waiting.id
        for job_id in (ended_id, waiting_id):
            files.write(input_name(job_id), as_json([make_application_record(f"APP-32{job_id}")]).encode())
    app.extensions["panel_tasks"]["general"]["requeue_stalled"].call_local()
    with app.app_context():
        assert not files.path_of(input_name(ended_id)).exists()
        assert files.path_of(input_name(waiting_id)).exists()


@pytest.mark.slow                                    # the queue's socket timeout: 5 s at least
def test_a_read_of_a_redis_queue_that_never_answers_fails_instead_of_holding_its_thread(app):
    """A Redis that accepts connections but does not answer (paused, swapping, a half-open network path) held
    every read of the queue for ever: each poll of a waiting job's page, a web server thread. It now fails after
    the queue's timeout, and the page answers without the notice (the test above)."""
    import threading

    import redis

    from web.jobs.heartbeats import last_beat
    from web.jobs.queue import build_huey

    outcome = []
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)                               # the kernel completes each connection; nothing ever answers
        huey = build_huey(f"redis://127.0.0.1:{mute.getsockname()[1]}/0", app.instance_path)
        reading = threading.Thread(target=lambda: outcome.append(_raised(lambda: last_beat(huey))), daemon=True)
        reading.start()
        reading.join(60)
    assert not reading.is_alive() and isinstance(outcome[0], redis.TimeoutError)


def _raised(call) -> Exception | None:
    """What ``call()`` raised (None if nothing)."""
    try:
        call()
    except Exception as error:
        return error
    return None
