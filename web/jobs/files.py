"""The file store of job results: ``PANEL_FILE_STORE`` (``<instance>/files`` by default).

Every web process and worker must see the same folder: on several hosts it is a shared volume (NFS, a mounted
S3-compatible bucket); see docs/jobs.md. A result is written to a temporary name and renamed into place, so a
reader never sees half a file and a retried job replaces its own result instead of adding a second one.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import current_app


def store_root() -> Path:
    """The store's folder, created on first use."""
    root = Path(current_app.config["PANEL_FILE_STORE"])
    root.mkdir(parents=True, exist_ok=True)
    return root


def job_result_name(job_id: int, filename: str) -> str:
    """Where the result of job ``job_id`` lives, relative to the store (one name per job: retries overwrite)."""
    return f"jobs/{job_id}/{filename}"


def write(name: str, content: bytes) -> None:
    """Store ``content`` under ``name`` atomically."""
    path = store_root() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(content)
    os.replace(partial, path)


def path_of(name: str) -> Path:
    """The absolute path of a stored file."""
    return store_root() / name
