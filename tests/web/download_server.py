"""``python -m tests.web.download_server PORT``: web/serve.py's server of an app whose one page is a large
download, to stop it while a client is still reading."""

from __future__ import annotations

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


if __name__ == "__main__":
    serve(download_app(), "127.0.0.1", int(sys.argv[1]), threads=2, stop_seconds=1)
