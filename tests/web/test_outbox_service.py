"""The outbox: messages are rows of the change that causes them, delivered after commit by a worker, over one
SMTP connection per batch, retried with backoff, never twice, never for a change that rolled back.

The SMTP tests talk to a real server on 127.0.0.1 (aiosmtpd, tests/web/smtp_server.py). Jobs run in the
immediate queue here: the delivery runs right after the commit; the worker-killed test is in
tests/web/test_outbox_worker.py.
"""

from __future__ import annotations

import email
from collections import Counter
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.web.smtp_server import SMTPServer, free_port
from web.extensions import db
from web.jobs import mail
from web.models import AuditEvent, OutboxMessage, utcnow
from web.services import outbox


@pytest.fixture
def smtp(app):
    server = SMTPServer()
    app.config.update(PANEL_SMTP_HOST="127.0.0.1", PANEL_SMTP_PORT=str(server.port), PANEL_MAIL_FROM="review@example.gov")
    yield server
    server.stop()


def state_of(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


def queue_three(round_=None) -> list[int]:
    ids = [outbox.send(f"{name}@example.com", "invitation", f"【评审邀请】{name}", "请登录。", round_=round_).id
           for name in ("zhou", "wu", "zheng")]
    return ids


def test_without_smtp_the_message_is_written_as_an_eml_file_after_commit(app):
    with app.app_context():
        message = outbox.send("zhou@example.com", "invitation", "【评审邀请】2020年遴选", "周专家：您好！\n请登录。")
        assert message.state == "queued" and not (Path(app.instance_path) / "outbox").exists()
        db.session.commit()
        message = state_of(message.id)
        assert (message.state, message.transport, message.error, message.attempts) == ("sent", "file", None, 1)
        path = Path(app.instance_path) / "outbox" / message.stored_as
        parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert parsed["To"] == "zhou@example.com" and parsed["Subject"] == "【评审邀请】2020年遴选"
        assert parsed.get_content().strip() == "周专家：您好！\n请登录。"
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_messages_go_out_after_commit_over_one_connection(app, smtp):
    with app.app_context():
        ids = queue_three()
        assert smtp.delivered == []                                   # nothing leaves before the commit
        db.session.commit()
        assert sorted(recipient for _, recipient in smtp.delivered) == ["wu@example.com", "zheng@example.com",
                                                                        "zhou@example.com"]
        assert smtp.sessions == 1
        assert [(state_of(i).state, state_of(i).transport, state_of(i).attempts) for i in ids] == [("sent", "smtp", 1)] * 3
        assert not (Path(app.instance_path) / "outbox").exists()


def test_a_change_that_rolled_back_sends_nothing(app, smtp):
    with app.app_context():
        queue_three()
        db.session.rollback()
        db.session.commit()
        mail.deliver_outbox()
        assert smtp.delivered == [] and db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_a_refused_recipient_fails_with_the_reply_and_the_batch_goes_on(app, smtp):
    smtp.refuse["wu@example.com"] = (550, "5.1.1 no such mailbox")
    with app.app_context():
        zhou, wu, zheng = queue_three()
        db.session.commit()
        assert sorted(recipient for _, recipient in smtp.delivered) == ["zheng@example.com", "zhou@example.com"]
        refused = state_of(wu)
        assert (refused.state, refused.attempts, refused.sent_at) == ("failed", 1, None)
        assert refused.error == "550 5.1.1 no such mailbox"
        mail.deliver_outbox()                                      # a failed message is not tried again by itself
        assert len(smtp.delivered) == 2 and smtp.sessions == 1


def test_a_temporary_refusal_is_retried_later_and_delivered_once(app, smtp):
    smtp.refuse["wu@example.com"] = (451, "4.7.1 greylisted, try later")
    with app.app_context():
        zhou, wu, zheng = queue_three()
        db.session.commit()
        waiting = state_of(wu)
        assert (waiting.state, waiting.attempts) == ("retrying", 1) and waiting.error.startswith("451 4.7.1")
        assert waiting.next_attempt_at > utcnow() + timedelta(seconds=mail.RETRY_DELAYS[0] - 5)
        mail.deliver_outbox()                                     # not due yet: nothing happens
        assert len(smtp.delivered) == 2
        del smtp.refuse["wu@example.com"]
        waiting.next_attempt_at = utcnow() - timedelta(seconds=1)   # the retry time has come
        db.session.commit()
        assert mail.deliver_outbox() == 1
        assert Counter(recipient for _, recipient in smtp.delivered) == {
            "zhou@example.com": 1, "wu@example.com": 1, "zheng@example.com": 1}
        assert (state_of(wu).state, state_of(wu).attempts, state_of(wu).error) == ("sent", 2, None)


def test_a_server_that_is_down_loses_nothing(app, smtp):
    with app.app_context():
        app.config["PANEL_SMTP_PORT"] = str(free_port())           # nobody listens there
        ids = queue_three()
        db.session.commit()
        assert all(state_of(i).state == "retrying" and "ConnectionRefusedError" in state_of(i).error for i in ids)
        app.config["PANEL_SMTP_PORT"] = str(smtp.port)
        db.session.execute(OutboxMessage.__table__.update().values(next_attempt_at=utcnow()))
        db.session.commit()
        assert mail.deliver_outbox() == 3
        assert sorted(Counter(smtp.delivered).values()) == [1, 1, 1]


def test_a_message_refused_every_time_fails_after_the_last_attempt(app, smtp):
    smtp.down = True
    with app.app_context():
        message_id = outbox.send("zhou@example.com", "reminder", "【评审提醒】", "正文").id
        db.session.commit()
        for _ in range(mail.MAX_ATTEMPTS - 1):
            db.session.execute(OutboxMessage.__table__.update().values(next_attempt_at=utcnow()))
            db.session.commit()
            mail.deliver_outbox()
        message = state_of(message_id)
        assert (message.state, message.attempts) == ("failed", mail.MAX_ATTEMPTS) and message.error.startswith("421")
        assert smtp.delivered == []


def test_two_workers_never_claim_the_same_message(app):
    with app.app_context():
        queue_three()
        db.session.flush()
        db.session.info.clear()                                    # queued, but keep the immediate worker out
        db.session.commit()
        first = mail.claim_batch()
        assert len(first) == 3 and mail.claim_batch() == []
        assert sorted(mail.claim_batch(lease_seconds=0)) == sorted(first)   # only a lapsed claim is taken again


def test_the_outbox_page_shows_state_and_reply_and_a_failed_message_can_be_resent(app, client, auth, smtp,
                                                                                   csrf_token):
    smtp.refuse["wu@example.com"] = (550, "5.1.1 no such mailbox")
    with app.app_context():
        zhou, wu, zheng = queue_three()
        db.session.commit()
    auth.login("organizer")
    page = client.get("/invitations/outbox?state=failed").get_data(as_text=True)
    assert "550 5.1.1 no such mailbox" in page and "w***@example.com" in page and "wu@example.com" not in page
    assert "z***@example.com" not in page                            # the filter keeps only the failed one
    token = csrf_token(client.get(f"/invitations/outbox/{wu}").get_data(as_text=True))
    refused = client.post(f"/invitations/outbox/{zhou}/resend", data={"csrf_token": token}, follow_redirects=True)
    assert "只有发送失败的邮件才能重新发送" in refused.get_data(as_text=True)          # a sent one is not sent again
    del smtp.refuse["wu@example.com"]
    client.post(f"/invitations/outbox/{wu}/resend", data={"csrf_token": token})
    with app.app_context():
        assert (state_of(wu).state, state_of(wu).attempts) == ("sent", 2)
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "outbox.resend")) == 1
    assert Counter(recipient for _, recipient in smtp.delivered)["wu@example.com"] == 1
    assert Counter(recipient for _, recipient in smtp.delivered)["zhou@example.com"] == 1
