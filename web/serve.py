"""Serving the application with waitress, a production WSGI server (not Flask's debug server).

With the embedded queue (``PANEL_QUEUE=sqlite``) the serving process also runs the jobs, on worker threads
beside waitress's, so ``panel demo`` and ``panel serve`` need nothing else; with Redis, ``panel worker``
processes run them (docs/jobs.md).
"""

from __future__ import annotations

import click
from flask import Flask

THREADS = 8
JOB_THREADS = 2


def serve(app: Flask, host: str = "127.0.0.1", port: int = 5000) -> None:
    """Serve ``app`` on ``host``:``port`` until interrupted (and run its jobs when the queue is embedded)."""
    from waitress import serve as waitress_serve

    from web.jobs.queue import is_embedded, start_consumer

    if is_embedded(app):
        start_consumer(app, workers=JOB_THREADS)
        click.echo(f"jobs: {JOB_THREADS} worker threads in this process (PANEL_QUEUE=sqlite)")
    waitress_serve(app, host=host, port=port, threads=THREADS, ident="Panel")
