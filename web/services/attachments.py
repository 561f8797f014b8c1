"""Attachment files: stored under the instance folder's ``attachments/`` by a random name, hashed as written."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import gettext as _

from web.extensions import db
from web.io.limits import size_text
from web.models import ATTACHMENT_KINDS, Application, Attachment, User
from web.services import audit

CHUNK = 1 << 16
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
ALLOWED_SUFFIXES = (".pdf", ".jpg", ".jpeg", ".png", ".ofd", ".doc", ".docx", ".xls", ".xlsx", ".zip")
"""The documents the notice asks for, as people scan or save them: PDF and OFD, images, Office files, a zip."""


class AttachmentError(ValueError):
    """A refused attachment, with the rule it breaks; ``code`` and ``params`` name the rule for the catalog."""

    def __init__(self, message: str, code: str = "", **params: object):
        super().__init__(message)
        self.code, self.params = code, params


def attachment_refusal(error: AttachmentError) -> str:
    """The sentence of a refused attachment, in the reader's language."""
    if error.code == "size":
        return _("The file is larger than %(limit)s, the most an attachment may have.",
                 limit=size_text(int(error.params["limit"])))
    if error.code == "type":
        return _("Files of type %(suffix)s are not accepted as attachments; accepted: %(allowed)s.",
                 suffix=error.params["suffix"], allowed=error.params["allowed"])
    if error.code == "kind":
        return _("Choose the kind of document.")
    return _("Choose a file to upload.")


def attachment_folder() -> Path:
    """The folder attachment files live in (created on first use)."""
    folder = Path(current_app.config["ATTACHMENT_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def store_attachment(application: Application, kind: str, filename: str, stream: BinaryIO, *,
                     content_type: str | None, actor: User | None) -> Attachment:
    """Write ``stream`` to the attachment folder and register it on ``application`` (flushed, audited).

    The file is stored under a random name (the filename as given is only metadata, so no path in it can
    escape the folder); a file over the size limit is removed again and nothing is registered.
    """
    if kind not in ATTACHMENT_KINDS:
        raise AttachmentError(f"kind: must be one of {', '.join(ATTACHMENT_KINDS)}, got {kind!r}", "kind")
    display_name = os.path.basename(filename.replace("\\", "/")).strip()
    if not display_name:
        raise AttachmentError("filename: must not be empty", "filename")
    suffix = Path(display_name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise AttachmentError(f"file: type {suffix or '(none)'} not accepted (one of {', '.join(ALLOWED_SUFFIXES)})",
                              "type", suffix=suffix or "—", allowed=" ".join(ALLOWED_SUFFIXES))
    stored_name = uuid.uuid4().hex + Path(display_name).suffix.lower()[:10]
    path = attachment_folder() / stored_name
    try:
        size, sha256 = _write(stream, path, current_app.config.get("MAX_ATTACHMENT_BYTES", DEFAULT_MAX_BYTES))
        attachment = Attachment(application=application, kind=kind, filename=display_name,
                                content_type=content_type, size=size, sha256=sha256, stored_name=stored_name)
        db.session.add(attachment)
        db.session.flush()
        audit.record("attachment.add", "attachment", attachment.id, actor=actor, after={
            "application": application.ref, "kind": kind, "filename": display_name, "size": size, "sha256": sha256})
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return attachment


def _write(stream: BinaryIO, path: Path, limit: int) -> tuple[int, str]:
    """Copy ``stream`` to ``path`` (mode 0600); return its size and SHA-256; refuse more than ``limit`` bytes."""
    digest, size = hashlib.sha256(), 0
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise AttachmentError(f"file: larger than the limit of {limit} bytes", "size", limit=limit)
            digest.update(chunk)
            handle.write(chunk)
    return size, digest.hexdigest()


def attachment_path(attachment: Attachment) -> Path | None:
    """Where the file of ``attachment`` is stored, or None when only the paper copy was registered."""
    if attachment.stored_name is None:
        return None
    return attachment_folder() / attachment.stored_name
