"""Server-Timing: how long Panel took to answer, on every response, when PANEL_SERVER_TIMING is set.

A load generator on the server's machine sees round trips: the server's time plus the wait in the WSGI server's
queue and in the generator's own threads. The header gives the app's part alone, from the moment the WSGI server
hands Panel the request to the moment Panel starts its answer (status and headers, after the request's commit),
in milliseconds, and the processor time the request's thread used meanwhile:
``Server-Timing: app;dur=12.34, cpu;dur=8.10`` (the W3C format browsers show in their developer tools). On a
machine shared with other work the two differ by the time the request waited for a core (and for the
database); benchmarks/load.py reads both.

Off by default: it tells anyone the server's time to the millisecond, which a deployment may not want to
publish (docs/security.md).
"""

from __future__ import annotations

import time

from flask import Flask

HEADER = "Server-Timing"
METRIC = "app"
CPU_METRIC = "cpu"


class ServerTiming:
    """WSGI middleware adding ``Server-Timing: app;dur=<ms>`` to every response of the app it wraps."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started, started_cpu = time.perf_counter(), time.thread_time()

        def timed_start_response(status, headers, exc_info=None):
            elapsed = (time.perf_counter() - started) * 1000
            cpu = (time.thread_time() - started_cpu) * 1000
            headers.append((HEADER, f"{METRIC};dur={elapsed:.2f}, {CPU_METRIC};dur={cpu:.2f}"))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, timed_start_response)


def init_app(app: Flask) -> None:
    """Wrap the app (outermost, so that the proxy fix and every hook are inside the time) when SERVER_TIMING."""
    if app.config["SERVER_TIMING"]:
        app.wsgi_app = ServerTiming(app.wsgi_app)


def duration(header: str | None, metric_name: str = METRIC) -> float | None:
    """The milliseconds of ``metric_name`` (the app's time by default) in a ``Server-Timing`` header value, or
    None when it names none."""
    for metric in (header or "").split(","):
        name, *parameters = (part.strip() for part in metric.split(";"))
        if name == metric_name:
            for parameter in parameters:
                key, _, value = parameter.partition("=")
                if key == "dur":
                    return float(value)
    return None
