"""The tasks a worker runs, registered on the app's Huey instance; each runs inside that app's context.

``run_job(job_id)``
    Does the job's work (web/jobs/work.py). Huey retries it after an unexpected error (:data:`RETRIES`
    times, :data:`RETRY_DELAY_SECONDS` apart); a refusal fails the job at once.
``requeue_stalled``
    Every minute: jobs whose worker died are queued again.
``deliver_outbox``
    Sends the outbox's due messages (web/jobs/mail.py); enqueued after every commit that queued a message, and
    every minute for retries and for claims whose worker died.
"""

from __future__ import annotations

from flask import Flask
from huey import Huey, crontab

from web.jobs import mail, runner
from web.jobs.work import WORK

RETRIES = 2
RETRY_DELAY_SECONDS = 10


def register(huey: Huey, app: Flask) -> dict:
    """Register the tasks on ``huey``; returns them by name (for :func:`web.jobs.queue.run`)."""

    @huey.task(retries=RETRIES, retry_delay=RETRY_DELAY_SECONDS, context=True, name="run_job")
    def run_job(job_id: int, task=None) -> None:
        with app.app_context():
            kind = _kind(job_id)
            if kind is not None:
                runner.run(job_id, WORK[kind], last_attempt=task is None or not task.retries)

    @huey.periodic_task(crontab(minute="*"), name="requeue_stalled")
    def requeue_stalled() -> None:
        with app.app_context():
            for job_id in runner.stalled_jobs():
                run_job(job_id)

    @huey.task(name="deliver_outbox")
    def deliver_outbox() -> None:
        with app.app_context():
            mail.deliver_outbox(app.config["OUTBOX_CLAIM_LEASE_SECONDS"])

    @huey.periodic_task(crontab(minute="*"), name="deliver_due")
    def deliver_due() -> None:
        deliver_outbox.call_local()

    return {"run_job": run_job, "requeue_stalled": requeue_stalled, "deliver_outbox": deliver_outbox,
            "deliver_due": deliver_due}


def _kind(job_id: int) -> str | None:
    from web.extensions import db
    from web.models import Job

    job = db.session.get(Job, job_id)
    return job.kind if job is not None and job.kind in WORK else None
