"""The issue's test: send invitations for a round, kill the worker mid-batch, start another: every message is
delivered exactly once to the local SMTP server.

The worker is a real ``panel worker`` process on the test's instance (SQLite database, the queue of
``PANEL_TEST_QUEUE`` or the embedded SQLite one), killed with SIGKILL while the server holds the second
message unanswered (so it was never accepted); the claim's lease is cut to 2 s so the next worker may take the
dead one's batch.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.web.queue_helpers import flush_queues, worker_process
from tests.web.smtp_server import SMTPServer
from tests.web.test_sheets_fixtures import world_fixture  # noqa: F401  (the world fixture)
from web.extensions import db
from web.models import OutboxMessage
from web.services import invitations

QUEUE = os.environ.get("PANEL_TEST_QUEUE") or "sqlite"
LEASE_SECONDS = 2
WAIT_SECONDS = 120
pytestmark = [pytest.mark.slow, pytest.mark.app_config(PANEL_QUEUE=QUEUE)]


def start_worker(app, smtp) -> subprocess.Popen:
    return worker_process(app, PANEL_SMTP_HOST="127.0.0.1", PANEL_SMTP_PORT=str(smtp.port),
                          PANEL_OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS))


def messages(app) -> list[OutboxMessage]:
    """The outbox as the database holds it now (detached)."""
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return rows


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {WAIT_SECONDS} s for {what}")
        time.sleep(0.1)


def test_a_worker_killed_mid_batch_loses_and_repeats_nothing(app, world):
    smtp = SMTPServer()
    workers = []
    try:
        flush_queues(app)
        first_batch = threading.Event()                       # released once the first worker is dead
        with app.app_context():
            invitations.invite(world.round(), actor=None)
            ids = list(db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.kind == "invitation")))
        assert len(ids) == 3
        # the first mailed message goes through, then the gate holds the second one
        original = smtp.handle_DATA

        async def arm_after_first(server, session, envelope):
            reply = await original(server, session, envelope)
            if len(smtp.delivered) == 1 and smtp.gate is None and not first_batch.is_set():
                smtp.gate = first_batch
            return reply

        smtp.handle_DATA = arm_after_first
        workers.append(start_worker(app, smtp))
        wait_for(smtp.waiting.is_set, "the worker to hand over its second message")
        workers[0].kill()                                     # dies waiting for the server's answer
        workers[0].wait()
        first_batch.set()
        assert len(smtp.delivered) == 1
        time.sleep(LEASE_SECONDS + 0.5)                       # the dead worker's claim lapses
        workers.append(start_worker(app, smtp))
        wait_for(lambda: {message.state for message in messages(app)} == {"sent"}, "every message marked sent")
        mailed = [message.id for message in messages(app) if message.transport == "smtp"]
        filed = [message.stored_as for message in messages(app) if message.transport == "file"]
        assert len(mailed) == 2 and len(filed) == 1            # 丁专家 has no address: his is kept as a file
        message_ids = Counter(message_id for message_id, _ in smtp.delivered)
        assert message_ids == Counter({f"<panel-outbox-{i}@panel.invalid>": 1 for i in mailed})
        assert [path.name for path in (Path(app.instance_path) / "outbox").iterdir()] == filed
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait()
        smtp.stop()
        flush_queues(app)
