"""The import job: records sent through the API, validated and imported all or nothing by a worker.

The request stores the body it received under the job's name in the file store (web/services/import_jobs.py);
the worker reads it, validates every record (progress: records checked), and imports them through the records
service (progress: records written, where the database allows it). Nothing is committed before the job's end:
the runner commits the rows with it. A refusal keeps the errors on the job's outcome, in the language of the
catalog, cut like the CLI's (PANEL_IMPORT_MAX_ERRORS, then a count).
"""

from __future__ import annotations

import json
from itertools import count

from flask import current_app

from web.io.limits import capped_errors
from web.jobs import files
from web.jobs.runner import JobFailed, Progress, progress_while_writing
from web.models import Job
from web.records import validate_records
from web.services import records as record_service
from web.services.uploads import taxonomy

INPUT = "input.json"


def input_name(job_id: int) -> str:
    """Where the records of import job ``job_id`` wait in the file store."""
    return files.job_result_name(job_id, INPUT)


def import_job(job: Job, progress: Progress) -> None:
    """Validate and import the job's records; the refs imported go on the job's outcome."""
    kind = job.params["records"]
    raw = _records(job)
    progress.start("validating", len(raw))
    checked = count(1)
    records, errors = validate_records(kind, raw, source_refs=[f"[{number}]" for number in range(1, len(raw) + 1)],
                                       taxonomy=taxonomy(), existing_refs=record_service.existing_refs(kind),
                                       on_record=lambda: progress.advance(next(checked)))
    if errors:
        _refuse(job, errors)
    progress.start("writing", len(records))
    written = (lambda done, total: progress.advance(done)) if progress_while_writing() else None
    try:
        refs = record_service.import_records(kind, records, actor=job.requested_by, progress=written)
    except record_service.RecordError as error:
        _refuse(job, str(error).splitlines())
    job.outcome = {"imported": len(refs), "refs": refs}
    return None


def _records(job: Job) -> list:
    path = files.path_of(input_name(job.id))
    if not path.is_file():
        raise JobFailed("input_gone")
    return json.loads(path.read_bytes())


def _refuse(job: Job, errors: list[str]) -> None:
    raise JobFailed("import_refused", {
        "errors": capped_errors(errors, current_app.config["IMPORT_MAX_ERRORS"]), "error_count": len(errors)})


def forget_input(job: Job) -> None:
    """Delete the records the import ``job`` was sent (personal data leaves the file store once the job has ended
    for good, however it ended: the runner calls this after that end's commit, so a retry before it still reads
    them)."""
    files.path_of(input_name(job.id)).unlink(missing_ok=True)
