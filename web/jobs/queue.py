"""The task queue (Huey), chosen by ``PANEL_QUEUE``, and "enqueue after commit".

``PANEL_QUEUE``:

``sqlite`` (default)
    Huey's SQLite storage at ``<instance>/jobs.sqlite3``: no server to run; ``panel serve`` and ``panel demo``
    start a consumer thread in their own process.
``redis://host:port/db``
    Huey's Redis storage, for production: any number of ``panel worker`` processes on any machine.
``immediate``
    Tasks run synchronously when enqueued (after the commit that asked for them): for unit tests of what a
    task does, not of how the queue behaves (the queue's own tests run against the two stores above).

The same task code runs in all three (web/jobs/tasks.py).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer
from sqlalchemy import event
from sqlalchemy.orm import Session

from web.extensions import db

QUEUE_FILE = "jobs.sqlite3"
EXTENSION = "panel_queue"
TASKS = "panel_tasks"
PENDING = "panel_enqueue_after_commit"
IDLE_POLL_SECONDS = 1.0
"""How long an idle consumer of the SQLite queue waits between looks (Huey's default backs off to 10 s, too
long for a person watching a progress page; Redis consumers block on the queue instead)."""


def build_huey(setting: str, instance_path: str) -> Huey:
    """The Huey instance ``setting`` names (see the module docstring)."""
    if setting == "immediate":
        return MemoryHuey("panel", immediate=True)
    if setting.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("panel", url=setting)
    if setting == "sqlite":
        return SqliteHuey("panel", filename=str(Path(instance_path) / QUEUE_FILE))
    raise ValueError(f"PANEL_QUEUE must be 'sqlite', 'immediate' or a redis:// URL, not {setting!r}")


def init_app(app: Flask) -> None:
    """Build the app's queue and register the tasks on it (they run inside this app's context)."""
    from web.jobs.tasks import register

    huey = build_huey(app.config["PANEL_QUEUE"], app.instance_path)
    app.extensions[TASKS] = register(huey, app)
    app.extensions[EXTENSION] = huey


def queue(app: Flask | None = None) -> Huey:
    """The queue of ``app`` (the current app by default)."""
    return (app or current_app).extensions[EXTENSION]


def is_embedded(app: Flask) -> bool:
    """True when the queue lives in the instance folder and this process should run its consumer."""
    return app.config["PANEL_QUEUE"] == "sqlite"


def enqueue_after_commit(task_name: str, *args: object) -> None:
    """Put ``task_name(*args)`` on the queue once the current transaction commits; nothing if it rolls back."""
    db.session.info.setdefault(PENDING, []).append((current_app._get_current_object(), task_name, args))


@event.listens_for(Session, "after_commit")
def _enqueue_pending(session: Session) -> None:
    """After a commit: enqueue what the transaction asked for (each task at most once per commit)."""
    pending = session.info.pop(PENDING, [])
    for app, task_name, args in dict.fromkeys(pending):
        try:
            run(app, task_name, *args)
        except Exception:  # the change is committed: a queue that is down must not turn it into a 500
            # deliver_due and requeue_stalled, run every minute, take up what was not enqueued here.
            app.logger.exception("could not enqueue %s%r after commit", task_name, args)


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, previous_transaction) -> None:
    """After the outermost transaction rolled back: the change did not happen, so neither does the work it asked
    for (a savepoint rolled back inside it changes nothing here)."""
    if previous_transaction.parent is None:
        session.info.pop(PENDING, None)


def run(app: Flask, task_name: str, *args: object) -> None:
    """Enqueue the registered task ``task_name`` now (in immediate mode: run it now)."""
    app.extensions[TASKS][task_name](*args)


def catch_up(app: Flask) -> None:
    """At a consumer's start: deliver the mail that is due and requeue jobs whose worker died, without waiting
    for the first minute of the periodic tasks."""
    for task_name in ("deliver_outbox", "requeue_stalled"):
        run(app, task_name)


def start_consumer(app: Flask, workers: int = 1) -> Consumer:
    """Start a consumer on worker threads of this process (for the embedded queue, or tests); returns it so
    the caller can ``stop()`` it."""
    consumer = queue(app).create_consumer(workers=workers, worker_type="thread", periodic=True,
                                          check_worker_health=False, max_delay=IDLE_POLL_SECONDS)
    consumer._set_signal_handlers = lambda: None  # the web server (or the test) owns this process's signals
    catch_up(app)
    consumer.start()
    return consumer
