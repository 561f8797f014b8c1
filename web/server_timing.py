"""Server-Timing: how long Panel took to answer, on every response, when PANEL_SERVER_TIMING is set.

A load generator on the server's machine sees round trips: the server's time plus the wait in the WSGI server's
queue and in the generator's own threads. The header gives the app's part alone, from the moment the WSGI server
hands Panel the request to the moment Panel starts its answer (status and headers, after the request's commit),
in milliseconds: ``Server-Timing: app;dur=12.34`` (the W3C format browsers show in their developer tools).
benchmarks/load.py reads it.

Off by default: it tells anyone the server's time to the millisecond, which a deployment may not want to
publish (docs/security.md).
"""

from __future__ import annotations

import time

from flask import Flask

HEADER = "Server-Timing"
METRIC = "app"


class ServerTiming:
    """WSGI middleware adding ``Server-Timing: app;dur=<ms>`` to every response of the app it wraps."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started = time.perf_counter()

        def timed_start_response(status, headers, exc_info=None):
            elapsed = (time.perf_counter() - started) * 1000
            headers.append((HEADER, f"{METRIC};dur={elapsed:.2f}"))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, timed_start_response)


def init_app(app: Flask) -> None:
    """Wrap the app (outermost, so that the proxy fix and every hook are inside the time) when SERVER_TIMING."""
    if app.config["SERVER_TIMING"]:
        app.wsgi_app = ServerTiming(app.wsgi_app)


def duration(header: str | None) -> float | None:
    """The app's milliseconds from a ``Server-Timing`` header value, or None when it names none."""
    for metric in (header or "").split(","):
        name, *parameters = (part.strip() for part in metric.split(";"))
        if name == METRIC:
            for parameter in parameters:
                key, _, value = parameter.partition("=")
                if key == "dur":
                    return float(value)
    return None
