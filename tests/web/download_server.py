"""``python -m tests.web.download_server PORT [localhost]``: web/serve.py's server of an app whose one page is a
large download, to stop it while a client is still reading; with ``localhost``, served on that host name, which
resolves to 127.0.0.1 and ::1 as on most hosts (this test's ``/etc/hosts`` may list the first only), so waitress
listens on two sockets."""

from __future__ import annotations

import socket
import sys

from flask import Flask, Response

from web.serve import serve

SIZE = 32 * 1024 * 1024
"""The download's size: far more than the kernel's socket buffers hold for a client that reads slowly."""


def download_app() -> Flask:
    """An app with ``GET /download``: :data:`SIZE` bytes, written at once by the request's thread."""
    app = Flask(__name__)
    app.config.update(PANEL_QUEUE="redis://127.0.0.1:1/0", PROXY_FIX=False)    # no embedded consumer

    @app.get("/download")
    def download() -> Response:
        return Response(b"x" * SIZE, mimetype="application/octet-stream")

    return app


def localhost_on_both_families() -> None:
    """Make ``localhost`` resolve to ::1 as well as 127.0.0.1 in this process (each once)."""
    resolve = socket.getaddrinfo

    def both(host, port, family=0, *args, **kwargs):
        if host != "localhost" or family != socket.AF_UNSPEC:
            return resolve(host, port, family, *args, **kwargs)
        found = [*resolve("127.0.0.1", port, socket.AF_INET, *args, **kwargs),
                 *resolve("::1", port, socket.AF_INET6, *args, **kwargs)]
        return list(dict.fromkeys(found))

    socket.getaddrinfo = both


if __name__ == "__main__":
    host = "127.0.0.1"
    if sys.argv[2:] == ["localhost"]:
        localhost_on_both_families()
        host = "localhost"
    serve(download_app(), host, int(sys.argv[1]), threads=2, stop_seconds=1)
