"""Serving the application with waitress, the embedded production WSGI server (not Flask's debug server).

Waitress counts every open connection, idle keep-alive ones included, against ``connection_limit``; a browser
keeps its connection open between an expert's autosaves. So the limit is far above the number of experts of a
round, idle connections are closed after ``channel_timeout`` seconds (the browser reopens one when it next saves),
and ``poll()`` replaces ``select()``, which cannot watch more than 1,024 sockets.

Behind a reverse proxy (PROXY_FIX set), waitress passes the ``X-Forwarded-*`` headers on instead of dropping them
as untrusted, so that the app's ProxyFix, the one place that decides how many proxies to trust, can read them.

With the embedded queue (``PANEL_QUEUE=sqlite``) the serving process also runs the jobs, on worker threads
beside waitress's, so ``panel demo`` and ``panel serve`` need nothing else; with Redis, ``panel worker``
processes run them (docs/jobs.md). It stops as ``panel worker`` does (web/jobs/queue.py ``Stopping``): SIGTERM
ends the web server, then waits ``stop_seconds`` at most for the jobs under way, Ctrl+C until they are done, a
second signal stops the wait; the jobs still under way go back to their queues.
"""

from __future__ import annotations

import logging
import time

import click
from flask import Flask
from flask_babel import gettext as _

THREADS = 16
JOB_THREADS = 2
CONNECTION_LIMIT = 1000
CHANNEL_TIMEOUT = 30
BACKLOG = 2048
DRAIN_SECONDS = 5.0
"""Once stopped (its request threads done, or waitress's 5 s past): how long the responses already written may
take to leave before the connections are closed (a download a client is still reading)."""


def waitress_settings(app: Flask, threads: int = THREADS) -> dict:
    """The waitress settings Panel serves ``app`` with (see the module docstring for why)."""
    return {
        "threads": threads,
        "connection_limit": CONNECTION_LIMIT,
        "channel_timeout": CHANNEL_TIMEOUT,
        "cleanup_interval": 10,
        "backlog": BACKLOG,
        "asyncore_use_poll": True,
        "clear_untrusted_proxy_headers": not app.config["PROXY_FIX"],
        "ident": "Panel",
    }


def serve(app: Flask, host: str = "127.0.0.1", port: int = 5000, threads: int = THREADS,
          stop_seconds: float | None = None) -> None:
    """Serve ``app`` on ``host``:``port`` until stopped (and run its jobs when the queue is embedded; after
    SIGTERM, waiting ``stop_seconds`` at most for those under way: web/jobs/queue.py ``STOP_SECONDS`` by
    default)."""
    from waitress import create_server

    from web.jobs.queue import STOP_SECONDS, Consumers, Stopping, is_embedded, start_consumer

    jobs = Consumers(app, [])
    if is_embedded(app):
        jobs = start_consumer(app, workers=JOB_THREADS)
        click.echo(_("jobs: %(threads)s worker threads per queue (general, matching) in this process "
                     "(PANEL_QUEUE=sqlite)", threads=JOB_THREADS))
    logging.basicConfig()
    connections: dict = {}
    server = create_server(app, map=connections, host=host, port=port, **waitress_settings(app, threads))
    server.print_listen("Serving on http://{}:{}")
    stopping = Stopping(STOP_SECONDS if stop_seconds is None else stop_seconds)
    with stopping.signals():
        run_until_stopped(server, connections)
        drain(connections)              # no request while waiting for the jobs
        stopping.wait(jobs)


def run_until_stopped(server, connections: dict) -> None:
    """Waitress's loop over ``connections`` until a stop signal, then the end of its request threads (waitress's 5 s
    at most), leaving every connection open for :func:`drain`.

    This is what waitress's own ``run`` does for one listening socket; for several (``--host localhost``, which
    resolves to 127.0.0.1 and ::1) ``create_server`` returns a ``MultiSocketServer``, whose ``run`` closes every
    connection itself: a download under way was cut short, whatever the drain.

    Written against waitress 3.0.2 (setup.cfg pins ``>=3.0,<4``), whose ``BaseWSGIServer.run`` is this loop and
    this shutdown; it uses what both server classes expose (``adj``, ``task_dispatcher``) and ``wasyncore.loop``, as
    :func:`drain` does. Any other exception ends the loop as it ends waitress's own ``run``: raised, nothing drained.
    tests/web/test_serve_stop.py runs the real server on one socket and on two."""
    from waitress.wasyncore import loop

    try:
        loop(timeout=server.adj.asyncore_loop_timeout, map=connections, use_poll=server.adj.asyncore_use_poll)
    except (SystemExit, KeyboardInterrupt):
        server.task_dispatcher.shutdown()


def drain(connections: dict, seconds: float = DRAIN_SECONDS) -> None:
    """After waitress's loop has ended: close its listening socket, send what the connections still hold for at most
    ``seconds``, then close them.

    Waitress's request threads write into each connection's buffer and send only what the socket takes at once;
    its loop sends the rest. Closed as soon as the loop ended, a download a client was still reading was cut
    short (2.8 of 32 MB in tests/web/test_serve_stop.py)."""
    from waitress.server import BaseWSGIServer
    from waitress.wasyncore import close_all, loop

    for dispatcher in list(connections.values()):
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.close()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(getattr(channel, "total_outbufs_len", 0)
                                              for channel in list(connections.values())):
        loop(timeout=0.1, use_poll=True, map=connections, count=1)
    close_all(connections)
