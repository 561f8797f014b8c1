"""Gunicorn settings for production behind nginx: ``gunicorn -c python:web.gunicorn_conf 'web:create_app()'``.

``gthread`` workers: each process serves many threads, and idle keep-alive connections wait in the worker's
poller instead of holding a thread, so hundreds of open browsers cost sockets, not threads. One process per core
keeps both cores busy with Python (the GIL lets one thread per process compute at a time). Every value can be
overridden by gunicorn's own ``GUNICORN_CMD_ARGS`` or command-line options; the address by ``PANEL_BIND``.
"""

from __future__ import annotations

import os

bind = os.environ.get("PANEL_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("PANEL_WORKERS", os.cpu_count() or 2))
threads = int(os.environ.get("PANEL_THREADS", 8))
worker_connections = 1000
keepalive = 30
timeout = 120
graceful_timeout = 30
# Restart workers now and then, so a slow leak in a long-running install cannot grow without bound.
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
forwarded_allow_ips = os.environ.get("PANEL_FORWARDED_ALLOW_IPS", "127.0.0.1")
