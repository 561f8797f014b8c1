"""Each queue's consumer heartbeat: when a worker last took the queue, kept in the queue's own storage.

A job waits on its queue until a consumer of that queue takes it; with no consumer (no ``panel worker --queue
matching`` running) it would wait, silently, for ever. So every consumer (``panel worker``, its :class:`Leader`,
the embedded consumer of ``panel serve``) writes the time to its queue's storage every :data:`BEAT_SECONDS`
while one of its worker threads is alive, and the job page of a waiting job reads it.

Kept in the queue's storage (Huey's key-value store: a row of the SQLite file, a key of Redis) rather than the
database: it describes the queue, lives where the queue lives, and needs no migration. Several workers of a queue
overwrite one another: the newest beat is the queue's. The time is the worker's clock (seconds since the epoch):
hosts of one deployment keep their clocks in step (NTP), and a skew of seconds does not matter against
:data:`SILENT_SECONDS`.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from huey import Huey
from huey.consumer import Consumer

LOG = logging.getLogger(__name__)
KEY = "panel:consumer-heartbeat"
BEAT_SECONDS = 10.0
"""How often a consumer writes its heartbeat."""
SILENT_SECONDS = 60.0
"""A queue without a heartbeat for this long has no worker (six beats missed): its waiting jobs say so."""
FIRST_BEAT_SECONDS = BEAT_SECONDS
"""A job waiting this long on a queue that never had a heartbeat recorded says so at once: a consumer beats as it
starts, so no worker has taken the queue (rather than waiting :data:`SILENT_SECONDS` for a worker that never was)."""


def beat(huey: Huey, now: float | None = None) -> None:
    """Record that a consumer of ``huey``'s queue is alive now."""
    huey.put(KEY, time.time() if now is None else now)


def last_beat(huey: Huey) -> datetime | None:
    """When a consumer of ``huey``'s queue last beat (naive UTC, as every stored time), or None if none ever did
    (or the queue was flushed)."""
    seconds = huey.get(KEY, peek=True)
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


class Beacon:
    """A thread that beats for ``consumer``'s queue at once and every :data:`BEAT_SECONDS`, while one of the
    consumer's worker threads is alive, until the consumer is stopped."""

    def __init__(self, consumer: Consumer):
        self.consumer = consumer

    def start(self) -> Beacon:
        threading.Thread(target=self._run, name=f"heartbeat-{self.consumer.huey.name}", daemon=True).start()
        return self

    def _run(self) -> None:
        while True:
            if any(thread.is_alive() for _, thread in self.consumer.worker_threads):
                try:
                    beat(self.consumer.huey)
                except Exception:  # the storage restarting: the next beat tries again
                    LOG.warning("queue %s: heartbeat not written", self.consumer.huey.name, exc_info=True)
            if self.consumer.stop_flag.wait(BEAT_SECONDS):
                return
