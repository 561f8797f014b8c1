"""``panel worker``: a Huey consumer process that runs Panel's jobs; ``panel queues``: whether each queue has one
(docs/jobs.md)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _

from web.jobs.queue import QUEUES, STOP_SECONDS, run_worker, shown
from web.models import utcnow


@click.command("worker")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Jobs run at once by this process, per queue it takes (threads).")
@click.option("--queue", "names", multiple=True, metavar="general|matching",
              help="Take only this queue: 'matching' (matching runs and panel contexts), 'general' (every other "
                   "job, the mail and the periodic tasks). Without it: both.")
@click.option("--stop-seconds", type=click.FloatRange(min=0), default=STOP_SECONDS, show_default=True,
              help="After SIGTERM, how long to wait for the jobs under way before exiting (those still running "
                   "go back to their queue).")
@with_appcontext
def worker_command(workers: int, names: tuple[str, ...], stop_seconds: float) -> None:
    """Run jobs from the queue (PANEL_QUEUE) until stopped; start as many as you like, on any machine that
    shares the database, the queue and the file store."""
    app = current_app._get_current_object()
    unknown = [name for name in names if name not in QUEUES]
    if unknown:
        raise click.UsageError(_("There is no queue %(name)s: --queue takes matching (matching runs and panel "
                                 "contexts) or general (every other job, the mail and the periodic tasks); "
                                 "without it the worker takes both.", name=unknown[0]))
    if app.config["PANEL_QUEUE"] == "immediate":
        raise click.UsageError(_("PANEL_QUEUE=immediate runs the jobs in the web process: there is nothing for a "
                                 "worker to do."))
    taken = [name for name in QUEUES if name in names] or list(QUEUES)
    click.echo(_("worker: %(workers)s thread(s) per queue on %(store)s, queues %(queues)s (Ctrl+C to stop)",
                 workers=workers, store=shown(app.config["PANEL_QUEUE"]), queues=", ".join(taken)))
    run_worker(app, taken, workers, stop_seconds)


@click.command("queues")
@with_appcontext
def queues_command() -> None:
    """Each queue's last worker heartbeat, its messages and its waiting jobs; exits with status 1 when jobs wait
    on a queue no worker has taken for a minute (for monitoring)."""
    from web.local_time import local_time
    from web.services.jobs import queue_states

    now, unattended = utcnow(), False
    for state in queue_states():
        if state.last_beat is None:
            click.echo(_("%(queue)s: no worker heartbeat recorded; %(messages)s message(s) in the queue, %(jobs)s "
                         "job(s) waiting", queue=state.name, messages=state.messages, jobs=state.waiting_jobs))
        else:
            click.echo(_("%(queue)s: last worker heartbeat %(when)s (%(seconds)s s ago); %(messages)s message(s) "
                         "in the queue, %(jobs)s job(s) waiting", queue=state.name,
                         when=local_time(state.last_beat, seconds=True),
                         seconds=int((now - state.last_beat).total_seconds()), messages=state.messages,
                         jobs=state.waiting_jobs))
        if state.unattended(now):
            unattended = True
            click.echo(_("Jobs wait on the %(queue)s queue and no worker takes it: start panel worker --queue "
                         "%(queue)s", queue=state.name), err=True)
    if unattended:
        sys.exit(1)
