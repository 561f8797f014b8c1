"""Attachment files: stored in the instance folder under a random name, hashed, audited, size-limited."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from web.extensions import db
from web.models import Application, AuditEvent
from web.services.attachments import AttachmentError, attachment_path, store_attachment
from web.services.records import import_applications


@pytest.fixture
def application_id(app, make_application_record):
    with app.app_context():
        [application] = import_applications([make_application_record(attachments=[])], actor=None)
        db.session.commit()
        return application.id


def test_a_stored_file_is_hashed_kept_private_and_audited(app, application_id):
    content = "营业执照扫描件".encode() * 1000
    with app.app_context():
        application = db.session.get(Application, application_id)
        attachment = store_attachment(application, "business_licence", "../../etc/营业执照.PDF",
                                      io.BytesIO(content), content_type="application/pdf", actor=None)
        path = attachment_path(attachment)
        assert path.parent == Path(app.instance_path) / "attachments"
        assert path.read_bytes() == content and oct(path.stat().st_mode & 0o777) == "0o600"
        assert attachment.filename == "营业执照.PDF" and path.suffix == ".pdf"
        assert (attachment.size, attachment.sha256) == (len(content), hashlib.sha256(content).hexdigest())
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "attachment.add"))
        assert event.after["application"] == "APP-001" and event.after["sha256"] == attachment.sha256


def test_a_file_over_the_limit_leaves_nothing_behind(app, application_id, table_counts):
    app.config["MAX_ATTACHMENT_BYTES"] = 1000
    before = table_counts()
    with app.app_context():
        application = db.session.get(Application, application_id)
        with pytest.raises(AttachmentError, match="larger than the limit of 1000 bytes"):
            store_attachment(application, "other", "big.pdf", io.BytesIO(b"x" * 1001), content_type=None,
                             actor=None)
        folder = app.config["ATTACHMENT_FOLDER"]
    assert table_counts() == before
    assert list(Path(folder).iterdir()) == []


def test_unknown_kinds_and_empty_names_are_refused(app, application_id):
    with app.app_context():
        application = db.session.get(Application, application_id)
        with pytest.raises(AttachmentError, match="kind: must be one of"):
            store_attachment(application, "photo", "a.jpg", io.BytesIO(b"x"), content_type=None, actor=None)
        with pytest.raises(AttachmentError, match="filename: must not be empty"):
            store_attachment(application, "other", "dir/", io.BytesIO(b"x"), content_type=None, actor=None)


def test_a_paper_only_attachment_has_no_file(app, make_application_record):
    with app.app_context():
        [application] = import_applications([make_application_record()], actor=None)
        db.session.commit()
        assert attachment_path(application.attachments[0]) is None
