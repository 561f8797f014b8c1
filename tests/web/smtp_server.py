"""A real SMTP server on 127.0.0.1 for the outbox tests (aiosmtpd), with the refusals a test needs.

``server.delivered`` lists (Message-ID, recipient) of every message the server accepted, ``server.sessions``
counts connections. ``refuse[address] = (code, text)`` refuses that recipient; ``down = True`` answers every
message with 421; ``gate`` (a threading.Event) holds the next message until it is set, then refuses it with 451
(the sender died waiting: the message was never accepted).
"""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from email import policy

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RecordingHandler:
    """aiosmtpd handler: records accepted messages, refuses on demand."""

    def __init__(self):
        self.delivered: list[tuple[str, str]] = []
        self.sessions = 0
        self.refuse: dict[str, tuple[int, str]] = {}
        self.down = False
        self.gate: threading.Event | None = None
        self.waiting = threading.Event()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            code, text = self.refuse[address]
            return f"{code} {text}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.down:
            return "421 4.3.2 service not available"
        if self.gate is not None:
            gate, self.gate = self.gate, None
            self.waiting.set()
            while not gate.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 sender went away"
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        for recipient in envelope.rcpt_tos:
            self.delivered.append((message["Message-ID"], recipient))
        return "250 2.0.0 queued"


class SMTPServer(RecordingHandler):
    """The handler, served on a free port; ``stop()`` at the end."""

    def __init__(self):
        super().__init__()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
