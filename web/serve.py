"""Serving the application with waitress, a production WSGI server (not Flask's debug server)."""

from __future__ import annotations

from flask import Flask

THREADS = 8


def serve(app: Flask, host: str = "127.0.0.1", port: int = 5000) -> None:
    """Serve ``app`` on ``host``:``port`` until interrupted."""
    from waitress import serve as waitress_serve

    waitress_serve(app, host=host, port=port, threads=THREADS, ident="Panel")
