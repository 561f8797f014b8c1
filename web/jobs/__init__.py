"""Slow work off the request: a Huey queue, the tasks a worker runs, and the store their files go to.

The view (or CLI command) writes a :class:`~web.models.Job` row and commits; only then is the job's task put on
the queue (:mod:`web.jobs.queue`), so a rolled-back request starts nothing. A worker runs the task
(:mod:`web.jobs.tasks`), reporting progress on the row; every web process reads the row to show it.
See docs/jobs.md.
"""

from web.jobs.queue import init_app, queue

__all__ = ["init_app", "queue"]
