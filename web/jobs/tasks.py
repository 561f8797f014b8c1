"""The tasks a worker runs, registered on the app's Huey instances; each runs inside that app's context.

``run_job(job_id)`` (on every queue)
    Claims the job (``runner.claim``) and does its work (web/jobs/work.py, ``runner.run_claimed``); Huey passes
    the message as ``task`` (``context=True``: a consumer's run and immediate mode's alike). Huey retries it after
    an unexpected error, :data:`RETRY_DELAY_SECONDS` later, on the queue that ran it, as often as the job has
    attempts left by the database's count (``runner.attempts_left``), which hand-backs refund and dead workers
    spend, not by Huey's own count, which a message queued again starts afresh: the claim sets the message's
    retries from the job's row (:data:`RETRIES` until then: a claim that fails, the database lost, is retried too),
    and the runner fails the job on the attempt that has none left; a refusal fails the job at once.
``requeue_stalled`` (general queue)
    Every minute: jobs whose worker died are queued again, each on the queue of its kind, or failed when that was
    their last attempt, except those a stop was handing back when its hand-back failed (web/jobs/hand_backs.py):
    queued again with their attempt given back; the stored input of the jobs that ended in the last day is deleted
    (again: the process that ended one may have stopped before it could, and a job failed here never ran its end);
    a job waiting for longer than the stall time is queued again only when its queue holds no message for it (a
    lost message), so a queue no worker takes does not grow by a message per waiting job every minute. Each job is
    enqueued once (one given back is also among the jobs waiting for longer than the stall time), in the order the
    jobs were asked for (by id).
``deliver_outbox`` (general queue)
    Sends the outbox's due messages (web/jobs/mail.py); enqueued after every commit that queued a message, and
    every minute for retries and for claims whose worker died.

The periodic tasks and the mail are registered on the general queue only, so a worker of the matching queue
never sends mail nor runs a periodic task.
"""

from __future__ import annotations

from flask import Flask
from huey import Huey, crontab
from huey.api import Task

from web.jobs import hand_backs, mail, runner
from web.jobs.queue import GENERAL, jobs_waiting, queue_of, run
from web.jobs.work import FORGET_INPUT, WORK

RETRIES = runner.MAX_ATTEMPTS - 1
RETRY_DELAY_SECONDS = 10


def register(huey: Huey, app: Flask, queue_name: str) -> dict:
    """Register the tasks of the queue ``queue_name`` on ``huey``; returns them by name (for
    :func:`web.jobs.queue.run`)."""
    @huey.task(retries=RETRIES, retry_delay=RETRY_DELAY_SECONDS, context=True, name="run_job")
    def run_job(job_id: int, task: Task) -> None:
        with app.app_context():
            kind = _kind(job_id)
            job = runner.claim(job_id) if kind is not None else None
            if job is None:
                return
            task.retries = runner.attempts_left(job)         # Huey retries as often as the database's count allows
            runner.run_claimed(job, WORK[kind])

    if queue_name != GENERAL:
        return {"run_job": run_job}

    @huey.periodic_task(crontab(minute="*"), name="requeue_stalled")
    def requeue_stalled() -> None:
        with app.app_context():
            handed_back = [attempt for attempt in runner.dead_attempts() if hand_backs.recorded(huey, attempt)]
            stopped = runner.give_back(handed_back)
            hand_backs.forget(huey, handed_back)        # only once given back: a give-back that fails tries again
            runner.give_up_dead_jobs()
            for job in runner.recently_ended(FORGET_INPUT):
                runner.forget_input(job)
            stalled = [(job_id, queue_of(kind)) for job_id, kind in sorted({*stopped, *runner.stalled_jobs()})
                       if kind in WORK]                 # each once, by id: one given back is also waiting long
            waiting = {name: jobs_waiting(app, name) for name in {name for _, name in stalled}}
            for job_id, name in stalled:
                if job_id not in waiting[name]:
                    run(app, "run_job", job_id, on=name)

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
