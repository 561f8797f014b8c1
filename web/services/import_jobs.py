"""Asking for an import job: the records a client sent, kept in the file store for the worker (web/jobs/imports.py).

The same body sent again by the same person while its job is unfinished joins that job instead of importing
twice (the second would be refused anyway: its refs would exist).
"""

from __future__ import annotations

import hashlib

from web.jobs import files
from web.jobs.imports import input_name
from web.models import Job, User
from web.services.jobs import request_job

KIND = "import"


def request_import(kind: str, body: bytes, *, actor: User) -> Job:
    """An import job of ``kind`` ('applications' or 'experts') for ``body`` (a JSON list of records), enqueued
    when the caller commits."""
    params = {"records": kind, "by": actor.id, "digest": hashlib.sha256(body).hexdigest()}
    job = request_job(KIND, round_=None, actor=actor, params=params)
    name = input_name(job.id)
    if not files.path_of(name).is_file():
        files.write(name, body)
    return job
