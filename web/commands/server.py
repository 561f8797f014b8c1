"""``panel serve``: the web application behind waitress."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _

from web.jobs.queue import STOP_SECONDS
from web.serve import THREADS


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=THREADS, show_default=True,
              help="Requests handled at once (open connections are not limited by this).")
@click.option("--stop-seconds", type=click.FloatRange(min=0), default=STOP_SECONDS, show_default=True,
              help="After SIGTERM, how long to wait for the jobs under way (PANEL_QUEUE=sqlite) before exiting "
                   "(those still running go back to their queue).")
@with_appcontext
def serve_command(host: str, port: int, threads: int, stop_seconds: float) -> None:
    """Serve the web application with a production WSGI server."""
    from web.serve import serve

    click.echo(_("serving on %(url)s (Ctrl+C to stop)", url=f"http://{host}:{port}/"))
    serve(current_app._get_current_object(), host, port, threads, stop_seconds)
