"""Attachment pages: organizers upload (size and type refused in Chinese, nothing kept) and download; an expert
downloads the attachments of the application on their own seat once they declared no conflict, nobody else."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.web.test_route_matrix import build_world
from web.extensions import db
from web.models import Attachment, AuditEvent, ScoreSheet

CONTENT = b"%PDF-1.4 bylaws of the center"


@pytest.fixture
def world(app, make_user, make_application_record, make_expert_record):
    return build_world(app, make_user, make_application_record, make_expert_record)


def post_attachment(client, csrf_token, ref: str, filename: str, data: bytes, kind: str = "bylaws"):
    """Upload through the attachments page, with its CSRF token; the page it redirects to."""
    page = client.get(f"/records/applications/{ref}/attachments")
    return client.post(f"/records/applications/{ref}/attachments", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "kind": kind,
        "file": (io.BytesIO(data), filename)}, content_type="multipart/form-data", follow_redirects=True)


def test_an_organizer_uploads_and_downloads_an_attachment(app, client, auth, csrf_token, world):
    auth.login(username="organizer")
    page = post_attachment(client, csrf_token, "APP-002", "合作协议.pdf", CONTENT, kind="cooperation_agreement")
    assert "已上传附件 合作协议.pdf。" in page.get_data(as_text=True)
    with app.app_context():
        attachment = db.session.scalar(select(Attachment).where(Attachment.filename == "合作协议.pdf",
                                                                Attachment.stored_name.is_not(None)))
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "attachment.add",
                                                           AuditEvent.entity_id == str(attachment.id)))
        assert event.actor_name == "organizer"
    download = client.get(f"/records/attachments/{attachment.id}")
    assert download.status_code == 200 and download.data == CONTENT
    assert "attachment" in download.headers["Content-Disposition"]


@pytest.mark.app_config(MAX_ATTACHMENT_BYTES=1024)
@pytest.mark.parametrize(("filename", "size", "sentence"), [
    ("扫描件.exe", 10, "不接受 .exe 类型的文件作为附件"),
    ("章程.pdf", 1025, "文件超过了附件允许的最大大小 1 KiB。"),
])
def test_a_wrong_type_or_a_file_too_large_is_refused_in_chinese_and_nothing_kept(
        app, client, auth, csrf_token, world, table_counts, filename, size, sentence):
    auth.login(username="organizer")
    before = table_counts()
    files_before = sorted(Path(app.config["ATTACHMENT_FOLDER"]).iterdir())
    page = post_attachment(client, csrf_token, "APP-001", filename, b"x" * size)
    assert sentence in page.get_data(as_text=True)
    assert table_counts() == before
    assert sorted(Path(app.config["ATTACHMENT_FOLDER"]).iterdir()) == files_before


@pytest.mark.parametrize(("filename", "content_type"), [("章程\x00.pdf", "application/pdf"),
                                                      ("章程.pdf", "application/pdf\x00x")])
def test_a_nul_in_a_files_name_or_type_is_refused_in_chinese_and_nothing_kept(
        app, client, auth, csrf_token, world, table_counts, filename, content_type):
    auth.login(username="organizer")
    before = table_counts()
    files_before = sorted(Path(app.config["ATTACHMENT_FOLDER"]).iterdir())
    page = client.get("/records/applications/APP-001/attachments").get_data(as_text=True)
    answer = client.post("/records/applications/APP-001/attachments", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page), "kind": "bylaws",
        "file": (io.BytesIO(CONTENT), filename, content_type)})    # PostgreSQL refused the NUL: a 500
    assert answer.status_code == 400 and "不能包含控制字符" in answer.get_data(as_text=True)
    assert table_counts() == before
    assert sorted(Path(app.config["ATTACHMENT_FOLDER"]).iterdir()) == files_before


def test_only_the_seated_expert_who_declared_downloads_the_attachment(app, client, auth, world):
    target = f"/records/seats/{world.seats['expert_a']}/attachments/{world.attachment_id}"
    auth.login(username="expert_a")
    answer = client.get(target)
    assert answer.status_code == 200 and answer.data == b"%PDF-1.4 bylaws"
    assert f'href="{target}"' in client.get(f"/expert/seats/{world.seats['expert_a']}/application").get_data(
        as_text=True)
    assert f'href="{target}"' in client.get(f"/expert/seats/{world.seats['expert_a']}/sheet").get_data(
        as_text=True)                                           # beside the sheet too, where experts read
    with app.app_context():                                    # before declaring, the file stays closed
        db.session.get(ScoreSheet, world.sheets["expert_a"]).conflict_declared = None
        db.session.commit()
    assert client.get(target).status_code == 404
    auth.logout()
    auth.login(username="expert_b")                             # seated on APP-002 only
    assert client.get(target).status_code == 404
    own_seat = f"/records/seats/{world.seats['expert_b']}/attachments/{world.attachment_id}"
    assert client.get(own_seat).status_code == 404              # APP-001's file through B's own seat
    assert client.get(f"/records/attachments/{world.attachment_id}").status_code == 403


def test_an_expert_who_recused_cannot_download(app, client, auth, world):
    with app.app_context():
        db.session.get(ScoreSheet, world.sheets["expert_a"]).conflict_declared = True
        db.session.commit()
    auth.login(username="expert_a")
    assert client.get(f"/records/seats/{world.seats['expert_a']}/attachments/{world.attachment_id}"
                      ).status_code == 404
