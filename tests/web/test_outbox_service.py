"""The outbox: every message stored; written as .eml without SMTP, handed to SMTP when configured."""

from __future__ import annotations

import email
import smtplib
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from web.extensions import db
from web.models import OutboxMessage
from web.services import outbox


def test_without_smtp_the_message_is_stored_and_written_as_an_eml_file(app):
    with app.app_context():
        message = outbox.send("zhou@example.com", "invitation", "【评审邀请】2020年遴选", "周专家：您好！\n请登录。")
        db.session.commit()
        assert (message.transport, message.error) == ("file", None) and message.sent_at is not None
        path = Path(app.instance_path) / "outbox" / message.stored_as
        parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert parsed["To"] == "zhou@example.com" and parsed["Subject"] == "【评审邀请】2020年遴选"
        assert parsed.get_content().strip() == "周专家：您好！\n请登录。"
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


class FakeSMTP:
    """Records what smtplib.SMTP would have sent."""

    sent: list = []
    fail = False

    def __init__(self, host, port, timeout):
        self.address = (host, port)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self):
        FakeSMTP.sent.append("starttls")

    def login(self, user, password):
        FakeSMTP.sent.append(("login", user, password))

    def send_message(self, message):
        if FakeSMTP.fail:
            raise smtplib.SMTPRecipientsRefused({message["To"]: (550, b"no such user")})
        FakeSMTP.sent.append((self.address, message["To"], message["Subject"]))


@pytest.fixture
def fake_smtp(monkeypatch):
    FakeSMTP.sent, FakeSMTP.fail = [], False
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    return FakeSMTP


@pytest.mark.app_config(PANEL_SMTP_HOST="mail.example.gov", PANEL_SMTP_PORT="587", PANEL_SMTP_USER="panel",
                        PANEL_SMTP_PASSWORD="secret", PANEL_MAIL_FROM="review@example.gov")
def test_with_smtp_configured_the_message_goes_to_the_server(app, fake_smtp):
    with app.app_context():
        message = outbox.send("zhou@example.com", "reminder", "【评审提醒】", "正文")
        assert (message.transport, message.error, message.stored_as) == ("smtp", None, None)
        assert fake_smtp.sent == ["starttls", ("login", "panel", "secret"),
                                  (("mail.example.gov", 587), "zhou@example.com", "【评审提醒】")]
        assert not (Path(app.instance_path) / "outbox").exists()


@pytest.mark.app_config(PANEL_SMTP_HOST="mail.example.gov")
def test_an_smtp_failure_is_kept_on_the_message_not_raised(app, fake_smtp):
    fake_smtp.fail = True
    with app.app_context():
        message = outbox.send("nobody@example.com", "reminder", "s", "b")
        assert message.transport == "smtp" and message.sent_at is None and "SMTPRecipientsRefused" in message.error


@pytest.mark.app_config(PANEL_SMTP_HOST="mail.example.gov")
def test_a_recipient_without_an_address_stays_in_the_folder_even_with_smtp(app, fake_smtp):
    with app.app_context():
        message = outbox.send(outbox.organizer_address(), "decline_notice", "s", "b")
        assert (message.recipient, message.transport) == ("organizers", "file") and fake_smtp.sent == []


def test_settings_fall_back_to_the_environment(app, monkeypatch):
    monkeypatch.setenv("PANEL_ORGANIZER_EMAIL", "office@example.gov")
    with app.app_context():
        assert outbox.organizer_address() == "office@example.gov"
