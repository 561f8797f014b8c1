"""``panel worker``: a Huey consumer process that runs Panel's jobs (docs/jobs.md)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _


@click.command("worker")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Jobs run at once by this process (threads).")
@with_appcontext
def worker_command(workers: int) -> None:
    """Run jobs from the queue (PANEL_QUEUE) until stopped; start as many as you like, on any machine that
    shares the database, the queue and the file store."""
    from web.jobs.queue import IDLE_POLL_SECONDS, catch_up, queue

    app = current_app._get_current_object()
    if app.config["PANEL_QUEUE"] == "immediate":
        raise click.UsageError(_("PANEL_QUEUE=immediate runs the jobs in the web process: there is nothing for a "
                                 "worker to do."))
    click.echo(f"worker: {workers} thread(s) on {app.config['PANEL_QUEUE']} (Ctrl+C to stop)")
    catch_up(app)
    queue(app).create_consumer(workers=workers, worker_type="thread", max_delay=IDLE_POLL_SECONDS).run()
