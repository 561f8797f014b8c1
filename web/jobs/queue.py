"""The task queues (Huey), chosen by ``PANEL_QUEUE``, and "enqueue after commit".

``PANEL_QUEUE``:

``sqlite`` (default)
    Huey's SQLite storage at ``<instance>/jobs.sqlite3``: no server to run; ``panel serve`` and ``panel demo``
    start a consumer thread in their own process.
``redis://host:port/db``
    Huey's Redis storage, for production: any number of ``panel worker`` processes on any machine.
``immediate``
    Tasks run synchronously when enqueued (after the commit that asked for them): for unit tests of what a
    task does, not of how the queue behaves (the queue's own tests run against the two stores above).

Two queues live on that storage (:data:`QUEUES`): ``matching`` holds the matching runs and the panel contexts,
whose national-scale rounds need a machine's memory for minutes; ``general`` holds every other job, the mail and
the periodic tasks. A job goes to the queue of its kind (:func:`queue_of`) when it is first enqueued, when a dead worker's job is
queued again, and when Huey retries it (a retry goes back to the queue that ran it). ``panel worker --queue``
takes one of them; a worker without the option, and the embedded consumer, take both.

The same task code runs in all three (web/jobs/tasks.py).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, current_app
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer
from redis import ConnectionPool
from sqlalchemy import event
from sqlalchemy.orm import Session

from web.extensions import db
from web.jobs import hand_backs, runner
from web.jobs.heartbeats import Beacon

QUEUE_FILE = "jobs.sqlite3"
EXTENSION = "panel_queue"
TASKS = "panel_tasks"
PENDING = "panel_enqueue_after_commit"
IDLE_POLL_SECONDS = 1.0
"""How long an idle consumer of the SQLite queue waits between looks (Huey's default backs off to 10 s, too
long for a person watching a progress page; Redis consumers block on the queue instead)."""
STOP_SECONDS = 60.0
"""How long ``panel worker`` and ``panel serve`` wait after SIGTERM for their jobs under way before they exit
(below systemd's default TimeoutStopSec of 90 s, so the process exits before it is killed)."""
REDIS_TIMEOUTS = {"socket_connect_timeout": 5.0, "socket_timeout": 5.0}
"""Bounds (seconds) on connecting to a Redis queue and on each of its answers; the URL's own
(``?socket_timeout=…``) win. Without them a Redis that accepts connections but does not answer (paused, swapping, a
half-open network path) holds each read for ever: every poll of a waiting job's page took a web server thread.
Above Huey's blocking wait for a message (1 s), which an idle worker repeats."""
HEALTH_CHECK_SECONDS = 10.0
"""How often ``panel worker`` replaces the consumer threads that died (Huey's default)."""

GENERAL = "general"
MATCHING = "matching"
QUEUES = (GENERAL, MATCHING)
"""The queues, by the name ``panel worker --queue`` takes."""
HUEY_NAMES = {GENERAL: "panel", MATCHING: "panel-matching"}
"""Each queue's name in the storage (the general one keeps the name of the single queue before it, so messages
queued before an upgrade are still run)."""
OWN_QUEUE = {"matching": MATCHING, "panel_context": MATCHING}
"""Job kinds with a queue of their own; every other kind goes to the general queue. A round's panel context is
built on the matching queue: it is the engine's first phases (every conflict, the fit of every pair), gigabytes
at national scale."""


def queue_of(kind: str) -> str:
    """The queue a job of ``kind`` is run from."""
    return OWN_QUEUE.get(kind, GENERAL)


def build_huey(setting: str, instance_path: str, name: str = HUEY_NAMES[GENERAL]) -> Huey:
    """The Huey instance ``setting`` names (see the module docstring), for the queue stored as ``name``."""
    if setting == "immediate":
        return MemoryHuey(name, immediate=True)
    if setting.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, connection_pool=ConnectionPool.from_url(setting, **REDIS_TIMEOUTS))
    if setting == "sqlite":
        return SqliteHuey(name, filename=str(Path(instance_path) / QUEUE_FILE))
    raise ValueError(f"PANEL_QUEUE must be 'sqlite', 'immediate' or a redis:// URL, not {setting!r}")


def shown(setting: str) -> str:
    """``setting`` as a status line or a log may show it: the password of a Redis URL (``redis://:password@host``,
    as docs/jobs.md has the operator write it) replaced by ``***``."""
    parts = urlsplit(setting)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return setting
    return urlunsplit(parts._replace(netloc=f"{userinfo.partition(':')[0]}:***@{host}"))


def init_app(app: Flask) -> None:
    """Build the app's queues and register the tasks on them (they run inside this app's context)."""
    install(app, app.config["PANEL_QUEUE"])


def install(app: Flask, setting: str) -> None:
    """Give ``app`` the queues of ``setting``, each with its tasks."""
    from web.jobs.tasks import register

    hueys = {name: build_huey(setting, app.instance_path, HUEY_NAMES[name]) for name in QUEUES}
    app.extensions[EXTENSION] = hueys
    app.extensions[TASKS] = {name: register(huey, app, name) for name, huey in hueys.items()}


def queue(app: Flask | None = None, name: str = GENERAL) -> Huey:
    """The queue ``name`` of ``app`` (the current app by default)."""
    return (app or current_app).extensions[EXTENSION][name]


def is_embedded(app: Flask) -> bool:
    """True when the queue lives in the instance folder and this process should run its consumer."""
    return app.config["PANEL_QUEUE"] == "sqlite"


def enqueue_after_commit(task_name: str, *args: object, on: str = GENERAL) -> None:
    """Put ``task_name(*args)`` on the queue ``on`` once the current transaction commits; nothing if it rolls
    back."""
    db.session.info.setdefault(PENDING, []).append((current_app._get_current_object(), on, task_name, args))


@event.listens_for(Session, "after_commit")
def _enqueue_pending(session: Session) -> None:
    """After a commit: enqueue what the transaction asked for (each task at most once per commit)."""
    pending = session.info.pop(PENDING, [])
    for app, name, task_name, args in dict.fromkeys(pending):
        try:
            run(app, task_name, *args, on=name)
        except Exception:  # the change is committed: a queue that is down must not turn it into a 500
            # deliver_due and requeue_stalled, run every minute, take up what was not enqueued here.
            app.logger.exception("could not enqueue %s%r after commit", task_name, args)


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, previous_transaction) -> None:
    """After the outermost transaction rolled back: the change did not happen, so neither does the work it asked
    for (a savepoint rolled back inside it changes nothing here)."""
    if previous_transaction.parent is None:
        session.info.pop(PENDING, None)


def run(app: Flask, task_name: str, *args: object, on: str = GENERAL) -> None:
    """Enqueue the task ``task_name`` registered on the queue ``on`` now (in immediate mode: run it now)."""
    app.extensions[TASKS][on][task_name](*args)


def jobs_waiting(app: Flask, name: str) -> set[int]:
    """The jobs with a message on the queue ``name``: waiting to be taken, or scheduled for a retry."""
    huey = queue(app, name)
    return {task.args[0] for task in (*huey.pending(), *huey.scheduled()) if task.name == "run_job" and task.args}


def catch_up(app: Flask, names: Collection[str] = QUEUES) -> None:
    """At a consumer's start: requeue jobs whose worker died and, when it takes the general queue, deliver the
    mail that is due, without waiting for the first minute of the periodic tasks.

    A matching-only consumer requeues the stalled jobs itself (the task's body, run here, sends each job to
    its own queue) and never starts mail delivery.
    """
    if GENERAL in names:
        for task_name in ("deliver_outbox", "requeue_stalled"):
            run(app, task_name)
    else:
        app.extensions[TASKS][GENERAL]["requeue_stalled"].call_local()


class Consumers:
    """The consumers of one process (of ``app``'s queues), one per queue it takes, stopped together."""

    def __init__(self, app: Flask, consumers: list[Consumer]):
        self.app = app
        self.consumers = consumers

    def start(self) -> Consumers:
        """Start every consumer's threads (the caller owns the process's signals), one that replaces those that
        die, and each queue's heartbeat."""
        for consumer in self.consumers:
            consumer._set_signal_handlers = lambda: None
            consumer.start()
            Beacon(consumer).start()
        if self.consumers:
            threading.Thread(target=self._replace_dead_threads, name="consumers-health", daemon=True).start()
        return self

    def _replace_dead_threads(self) -> None:
        """Every :data:`HEALTH_CHECK_SECONDS` until stopped, Huey's health check of each consumer (its main loop,
        which would run it, is not used here: the web server or a :class:`Leader` has the main thread)."""
        while not self.consumers[0].stop_flag.wait(HEALTH_CHECK_SECONDS):
            for consumer in self.consumers:
                consumer.check_worker_health()

    def stop(self, graceful: bool = False, seconds: float | None = None) -> None:
        """Stop taking work everywhere at once, then (``graceful``) wait for the jobs under way: for at most
        ``seconds`` in all (None: until they are done). A KeyboardInterrupt while waiting reaches the caller."""
        for consumer in self.consumers:
            consumer.stop_flag.set()
        if not graceful:
            return
        deadline = None if seconds is None else time.monotonic() + seconds
        for consumer in self.consumers:
            for thread in [*(thread for _, thread in consumer.worker_threads), consumer.scheduler]:
                thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def hand_back(self) -> int:
        """Once stopped and done waiting: put the jobs still under way back on their queues, their attempt not
        spent (:func:`runner.hand_back_under_way`); returns how many. The attempts are recorded in the queue's
        storage first (web/jobs/hand_backs.py): a job that could not be handed back (the database lost, its row
        held past SQLite's busy timeout, the process killed meanwhile) is left running, its heartbeat stops, and
        ``requeue_stalled`` finds the record and queues it again after :data:`runner.STALL_SECONDS`, its attempt
        given back all the same when recorded.

        The queue's storage is asked until it first fails (:meth:`_enqueue`): a Redis that does not answer holds
        each request for its socket timeout, 5 s, which the stop's time would pay per job.

        The runner's own list of the jobs under way decides, not the threads: a join that a signal interrupted can
        leave a running thread reported as ended."""
        with self.app.app_context():
            attempts = runner.take_under_way()
            recorded = bool(attempts) and hand_backs.record(queue(self.app), attempts)   # most stops: none
            try:
                handed = runner.hand_back_under_way(attempts)
            except Exception:
                self.app.logger.exception("the jobs under way could not be handed back: they go back to their "
                                          "queues, %s, once their heartbeat has stopped for %s s",
                                          "their attempt not spent" if recorded else
                                          "their attempt spent (the hand-back could not be recorded)",
                                          runner.STALL_SECONDS)
                return 0
            if recorded and hand_backs.forget(queue(self.app), attempts):
                self._enqueue(handed)
            elif handed:
                self.app.logger.warning("job(s) %s were handed back but not enqueued, the queue's storage not "
                                        "answering: requeue_stalled enqueues them", [job_id for job_id, _ in handed])
        if handed:
            self.app.logger.warning("stopping with job(s) %s under way: handed back to their queues, their "
                                    "attempt not spent", [job_id for job_id, _ in handed])
        return len(handed)

    def _enqueue(self, handed: list[tuple[int, str]]) -> None:
        """Enqueue the jobs ``handed`` back (id, kind), each on the queue of its kind, until an enqueue fails: the
        rest are left to ``requeue_stalled``, queued in the database with their attempt not spent, as the failed
        one is (within :data:`runner.STALL_SECONDS` and a minute)."""
        for position, (job_id, kind) in enumerate(handed):
            try:
                run(self.app, "run_job", job_id, on=queue_of(kind))
            except Exception:
                self.app.logger.exception("job(s) %s were handed back but not enqueued: requeue_stalled enqueues "
                                          "them", [job_id for job_id, _ in handed[position:]])
                return


class Stopping:
    """How a process that runs consumers stops on a signal, ``panel worker`` (:class:`Leader`) and ``panel serve``
    alike: SIGTERM asks for a stop whose wait for the jobs under way lasts ``stop_seconds`` at most, Ctrl+C (or
    SIGHUP's restart) for one that waits until they are done; while waiting, a second SIGTERM or Ctrl+C stops the
    wait at once; between the two (the main loop or the web server finishing) it is ignored. Then the jobs still
    under way go back to their queues (:meth:`Consumers.hand_back`)."""

    def __init__(self, stop_seconds: float = STOP_SECONDS):
        self.stop_seconds = stop_seconds
        self.seconds: float | None = None
        self.asked = False
        self.waiting = False

    def ask(self, bounded: bool) -> bool:
        """A stop signal arrived (``bounded``: SIGTERM): True when it is the first, which the caller acts on;
        while waiting, stops the wait (raises KeyboardInterrupt); otherwise ignored (False)."""
        if self.waiting:
            raise KeyboardInterrupt
        if self.asked:
            return False
        self.asked, self.seconds = True, self.stop_seconds if bounded else None
        return True

    def wait(self, everyone: Consumers, graceful: bool = True) -> bool:
        """Stop ``everyone`` taking work, wait (``graceful``) for the jobs under way as asked, then hand back those
        still under way; True when the stop ran its course: no second signal cut the wait short and no job was
        left (a SIGHUP's restart needs both: a second signal means stop)."""
        cut_short = False
        try:
            self.waiting = graceful
            everyone.stop(graceful=graceful, seconds=self.seconds)
        except KeyboardInterrupt:                                   # a second Ctrl+C or SIGTERM: stop waiting
            cut_short = True
        finally:
            self.waiting = False
        return not everyone.hand_back() and not cut_short

    @contextmanager
    def signals(self) -> Iterator[Stopping]:
        """While the body runs (``panel serve``'s web server, then its wait): SIGTERM and Ctrl+C raise
        KeyboardInterrupt in the main thread when they ask for the stop or stop the wait (the web server returns
        on it); the previous handlers are restored after."""
        def handler(number: int, frame) -> None:
            if self.ask(bounded=number == signal.SIGTERM):
                raise KeyboardInterrupt

        previous = {number: signal.signal(number, handler) for number in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield self
        finally:
            for number, old in previous.items():
                signal.signal(number, old)


class Leader(Consumer):
    """The consumer whose main loop (:meth:`run`) runs a ``panel worker`` process, for the consumers of the
    process's other queues (``others``) too: Huey's main loop handles the signals and checks worker health for
    its own consumer only (the others' are checked by :meth:`Consumers.start`'s thread).

    The signals stop the process as :class:`Stopping` says (Ctrl+C waits for the jobs under way, SIGTERM for
    ``stop_seconds`` at most, a second one stops the wait; the jobs still under way are handed back to their
    queues); SIGHUP restarts the process once every job under way is done. Every :data:`HEALTH_CHECK_SECONDS`, a
    thread of any consumer that died is replaced. Each consumer beats for its queue (web/jobs/heartbeats.py).
    """

    def __init__(self, app: Flask, huey: Huey, others: list[Consumer], stop_seconds: float = STOP_SECONDS,
                 **options):
        super().__init__(huey, **options)
        self.app = app
        self.others = others
        self.stopping = Stopping(stop_seconds)

    def start(self) -> None:
        super().start()                     # the signal handlers first: a job of another queue may start at once
        Beacon(self).start()
        Consumers(self.app, self.others).start()

    def _handle_stop_signal(self, sig_num, frame) -> None:
        """SIGTERM: a graceful stop bounded by ``stop_seconds`` (:meth:`Stopping.ask`)."""
        self._ask_stop(bounded=True)

    def _handle_interrupt_signal_gevent(self, sig_num, frame) -> None:
        """Ctrl+C (Huey's handler for thread workers): a graceful stop that waits until the jobs are done
        (:meth:`Stopping.ask`); Huey's own would leave the next Ctrl+C to the default handler, at any point."""
        self._ask_stop(bounded=False)

    def _ask_stop(self, bounded: bool) -> None:
        if self.stopping.ask(bounded):
            self._logger.info("Received a stop signal: waiting %s for the jobs under way",
                              f"{self.stopping.seconds} s at most" if bounded else "until they are done")
            self._received_signal, self._restart, self._graceful = True, False, True

    def stop(self, graceful: bool = False) -> None:
        finished = self.stopping.wait(Consumers(self.app, [self, *self.others]), graceful)
        self._restart = self._restart and finished


def consumers(app: Flask, names: Collection[str], workers: int) -> Consumers:
    """A consumer of ``workers`` threads for each queue in ``names``; only the general one runs the periodic
    tasks (they are registered there)."""
    return Consumers(app, [Consumer(queue(app, name), **consumer_options(name, workers))
                           for name in QUEUES if name in names])


def consumer_options(name: str, workers: int) -> dict:
    """The options of a consumer of ``workers`` threads on the queue ``name``."""
    return {"workers": workers, "worker_type": "thread", "periodic": name == GENERAL, "max_delay": IDLE_POLL_SECONDS,
            "health_check_interval": HEALTH_CHECK_SECONDS}


def start_consumer(app: Flask, workers: int = 1, names: Collection[str] = QUEUES) -> Consumers:
    """Start consumers of the queues ``names`` (both by default) on worker threads of this process (for the
    embedded queue, or tests); returns them so the caller can ``stop()`` them."""
    started = consumers(app, names, workers)
    catch_up(app, names)
    return started.start()


def run_worker(app: Flask, names: Collection[str], workers: int, stop_seconds: float = STOP_SECONDS) -> None:
    """Consume the queues ``names`` in this process until a signal stops it (``panel worker``), one
    :class:`Leader` running the main loop for all (after SIGTERM, waiting ``stop_seconds`` at most for the jobs
    under way)."""
    first, *others = [name for name in QUEUES if name in names]
    leader = Leader(app, queue(app, first), consumers(app, others, workers).consumers, stop_seconds,
                    **consumer_options(first, workers))
    catch_up(app, names)
    leader.run()
