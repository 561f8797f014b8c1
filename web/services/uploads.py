"""Registering applications and experts from an uploaded file (keep it, check it, write it) or a form.

The organizer uploads a file and sees a preview: every error (by sheet, row and column, web/io/problems.py), or
what would be added and replaced. The file waits in the job file store (``uploads/<user id>/<token>/``), so that
only its uploader can confirm it; the confirmation runs :func:`write` in a job (web/jobs/uploads.py), which checks
the file again first: the registered records may have changed since the preview. The checks are those of
``panel import`` and the API (same readers, limits and validator).
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from web.extensions import db
from web.io import read_bytes
from web.io.limits import ImportLimits
from web.io.problems import Problem, problems_of
from web.jobs import files
from web.models import Field, User
from web.records import validate_records
from web.services import records as record_service
from web.services.record_updates import update_records

KINDS = ("applications", "experts")
FOLDER = "uploads"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
STALE_SECONDS = 24 * 3600
"""A previewed upload not confirmed within a day is forgotten (when its uploader next uploads)."""


@dataclass
class Check:
    """What checking an upload found: the valid records (when there is no problem), which refs are new and
    which replace registered records, and every problem."""

    records: list[dict] = field(default_factory=list)
    new_refs: list[str] = field(default_factory=list)
    updated_refs: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def taxonomy() -> dict[str, str]:
    """The database's field taxonomy (code → name) the validator checks field codes against."""
    return {row.code: row.name for row in db.session.scalars(select(Field))}


def check(kind: str, filename: str, data: bytes, *, update: bool, limits: ImportLimits,
          progress: Callable[[int, int], None] | None = None) -> Check:
    """Read and validate an upload of ``kind``; without ``update`` a registered ref is an error.

    ``progress(done, total)`` is called as each record is validated (the slow part of an upload).
    """
    read = read_bytes(filename, data, kind, limits)
    if read.errors:
        return Check(problems=problems_of(read.errors, kind, read, filename))
    registered = record_service.existing_refs(kind)
    counted = itertools.count(1)
    on_record = (lambda: progress(next(counted), len(read.records))) if progress is not None else None
    records, errors = validate_records(kind, read.records, source_refs=read.source_refs, taxonomy=taxonomy(),
                                       existing_refs=() if update else registered, origins=read.origins,
                                       on_record=on_record)
    if not errors:
        errors = record_service.refusals(kind, records)
    if errors:
        return Check(problems=problems_of(errors, kind, read, filename))
    return Check(records=records, new_refs=[r["ref"] for r in records if r["ref"] not in registered],
                 updated_refs=[r["ref"] for r in records if r["ref"] in registered])


def check_record(kind: str, raw: dict, *, replacing: str | None = None) -> tuple[dict | None, list[str]]:
    """One record typed into a form, checked as an upload's are: (record, []) or (None, error lines). Its ref must
    be new, unless it is ``replacing``'s (an edit)."""
    existing = record_service.existing_refs(kind) - {replacing}
    records, errors = validate_records(kind, [raw], source_refs=["[1]"], taxonomy=taxonomy(), existing_refs=existing)
    errors = errors or record_service.refusals(kind, records)
    return (None, errors) if errors else (records[0], [])


def write(kind: str, checked: Check, *, actor: User | None) -> None:
    """Add the new records and replace the registered ones (flushed, audited per record; the caller commits)."""
    new = [record for record in checked.records if record["ref"] in set(checked.new_refs)]
    replaced = [record for record in checked.records if record["ref"] in set(checked.updated_refs)]
    if new:
        record_service.import_records(kind, new, actor=actor)
    if replaced:
        update_records(kind, replaced, actor=actor)


# ---------------------------------------------------------------- the file between preview and confirmation

def keep(user: User, filename: str, data: bytes) -> str:
    """Keep an upload of ``user`` in the file store until it is confirmed; its token."""
    forget_stale(user.id)
    token = secrets.token_urlsafe(18)
    files.write(f"{FOLDER}/{user.id}/{token}/{safe_name(filename)}", data)
    return token


def forget_stale(user_id: int, now: float | None = None) -> None:
    """Remove the uploads ``user_id`` previewed more than :data:`STALE_SECONDS` ago and never confirmed."""
    folder = files.path_of(f"{FOLDER}/{user_id}")
    oldest = (time.time() if now is None else now) - STALE_SECONDS
    for upload in folder.iterdir() if folder.is_dir() else ():
        if upload.is_dir() and upload.stat().st_mtime < oldest:
            shutil.rmtree(upload, ignore_errors=True)


def safe_name(filename: str) -> str:
    """The file's own name without any folder, never empty or hidden."""
    name = os.path.basename(filename.replace("\\", "/")).strip().lstrip(".")
    return name or "upload"


def kept(user_id: int, token: str) -> Path | None:
    """The file ``user_id`` uploaded under ``token``, or None (another user's token finds nothing)."""
    if not TOKEN.match(token or ""):
        return None
    folder = files.path_of(f"{FOLDER}/{user_id}/{token}")
    found = [path for path in folder.iterdir() if path.is_file() and not path.name.startswith(".")] \
        if folder.is_dir() else []
    return found[0] if len(found) == 1 else None


def discard(user_id: int, token: str) -> None:
    """Forget a kept upload (after it was written, or refused)."""
    if TOKEN.match(token or ""):
        shutil.rmtree(files.path_of(f"{FOLDER}/{user_id}/{token}"), ignore_errors=True)
