"""The job of a confirmed upload: check the kept file again, then add and replace its records in one commit.

The runner (web/jobs/runner.py) commits the records together with the job's "done", so a failure anywhere leaves
nothing written. A file that no longer passes (the registered records changed since the preview) fails the job
with a sentence asking for a new upload, and nothing is written either. The kept file is deleted
(:func:`forget_upload`) only once the job's end is committed: a worker killed mid-job, or a commit that failed,
leaves it for the retry.
"""

from __future__ import annotations

from flask import current_app

from web.io.limits import ImportLimits
from web.jobs.runner import JobFailed, Progress
from web.models import Job
from web.services import uploads


def checking(progress: Progress):
    """A callback reporting ``done`` of ``total`` records validated as the step ``checking``."""
    def report(done: int, total: int) -> None:
        if progress.step != "checking" or progress.total != total:
            progress.start("checking", total)
        progress.advance(done)
    return report


def records_upload(job: Job, progress: Progress) -> None:
    """Write the records of the upload ``job.params`` names (kind, token, update), as its uploader."""
    params = job.params or {}
    path = uploads.kept(job.requested_by_id, params.get("token", ""))
    if path is None or params.get("kind") not in uploads.KINDS:
        raise JobFailed("upload_gone")
    progress.start("checking", 1)
    checked = uploads.check(params["kind"], path.name, path.read_bytes(), update=bool(params.get("update")),
                            limits=ImportLimits.from_config(current_app.config), progress=checking(progress))
    if checked.problems:
        raise JobFailed("upload_changed")
    # No progress while writing: the records go in one transaction, and on SQLite a progress report (its own
    # short transaction, web/jobs/runner.py) would wait for that transaction's lock. Writing is the quick part.
    progress.start("records", len(checked.records))
    uploads.write(params["kind"], checked, actor=job.requested_by)
    return None


def forget_upload(job: Job) -> None:
    """Delete the kept upload ``job`` was to write (the runner calls this once the job's end is committed: written,
    or refused)."""
    uploads.discard(job.requested_by_id, (job.params or {}).get("token", ""))
