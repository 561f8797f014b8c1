"""SIGTERM on web/serve.py's server while a response is still leaving: the response leaves whole, then the process
exits (docs/jobs.md, "Stopping a worker": waitress finishes the requests under way)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.web.download_server import SIZE
from tests.web.queue_helpers import wait_until
from tests.web.test_jobs_stop import free_port, listening, stopped

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def read_all(connection: socket.socket, seconds: float) -> bytes:
    """Everything the server sends until it closes the connection (or ``seconds`` pass)."""
    connection.settimeout(seconds)
    received = bytearray()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = connection.recv(1 << 16)
        except TimeoutError:
            break
        if not chunk:
            break
        received += chunk
    return bytes(received)


def test_a_download_under_way_at_sigterm_leaves_whole():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.web.download_server", str(port)], cwd=ROOT,
                               env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: listening(port) or process.poll() is not None), "the server did not listen"
        with socket.socket() as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)        # a slow reader: the rest waits
            client.connect(("127.0.0.1", port))
            client.sendall(b"GET /download HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            time.sleep(1)                                                     # the request's thread has written it
            process.send_signal(signal.SIGTERM)
            assert wait_until(lambda: not listening(port)), "the port stayed open"
            head, _, body = read_all(client, 30).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and len(body) == SIZE
        assert stopped(process, 30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
