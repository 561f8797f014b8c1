"""SIGTERM on web/serve.py's server while a response is still leaving: the response leaves whole, then the process
exits (docs/jobs.md, "Stopping a worker": waitress finishes the requests under way); on one listening socket, and
on a host name that resolves to two addresses (``--host localhost``: waitress's MultiSocketServer)."""

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
from tests.web.test_jobs_stop import free_port, stopped

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


def listening_on(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False


def ipv6_loopback() -> bool:
    """Whether this host has ::1 (a container may run without IPv6: there ``localhost`` gives one socket)."""
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.parametrize("host, addresses", [
    ("127.0.0.1", ["127.0.0.1"]),
    pytest.param("localhost", ["127.0.0.1", "::1"],
                 marks=pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback (::1) on this host")),
])
def test_a_download_under_way_at_sigterm_leaves_whole(host, addresses):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.web.download_server", str(port), host], cwd=ROOT,
                               env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: all(listening_on(address, port) for address in addresses)
                          or process.poll() is not None), "the server did not listen"
        assert process.poll() is None
        with socket.socket() as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)        # a slow reader: the rest waits
            client.connect(("127.0.0.1", port))
            client.sendall(b"GET /download HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            time.sleep(1)                                                     # the request's thread has written it
            process.send_signal(signal.SIGTERM)
            assert wait_until(lambda: not any(listening_on(address, port) for address in addresses)), \
                "a port stayed open"
            head, _, body = read_all(client, 30).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and len(body) == SIZE
        assert stopped(process, 30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
