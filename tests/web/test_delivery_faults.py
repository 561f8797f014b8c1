"""Faults after the work is done: a crash after keep(), a message the mail library refuses, a queue that is down.

Each must leave exactly what a user would expect: a crash stores nothing, one bad message fails alone and the
others go out, and a change already committed is answered as done even when its follow-up work cannot be queued.
"""

from __future__ import annotations

from sqlalchemy import select

from web.extensions import db
from web.jobs import mail
from web.jobs.queue import install
from web.models import OutboxMessage, User
from web.services import accounts, outbox
from web.unit_of_work import keep


def test_a_crash_after_keep_stores_nothing(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/_test/keep-then-crash")
    def keep_then_crash():
        accounts.create_user("halfdone", "organizer", "a-long-enough-passphrase", actor=None)
        keep()                                   # a refusal would keep this; a crash must not
        raise RuntimeError("boom")

    assert app.test_client().get("/_test/keep-then-crash").status_code == 500
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "halfdone")) is None


def test_a_subject_with_a_line_break_is_stored_on_one_line_and_delivered(app):
    with app.app_context():
        message = outbox.send("organizers", "decline_notice", "【谢绝邀请】轮次：张\n三 谢绝 APP-1", "正文")
        db.session.commit()                      # the immediate queue delivers right after the commit
        db.session.refresh(message)
        assert message.subject == "【谢绝邀请】轮次：张 三 谢绝 APP-1" and message.state == "sent"


def test_one_message_the_mail_library_refuses_fails_alone(app):
    with app.app_context():
        bad = outbox.send("organizers", "other", "fine", "正文")
        good = outbox.send("organizers", "other", "also fine", "正文")
        bad.subject = "broken\nheader"          # written around send(), as a row from an older version could be
        db.session.flush()
        bad_id, good_id = bad.id, good.id
        db.session.commit()
        mail.deliver_outbox(lease_seconds=0)
        states = {row.id: (row.state, row.attempts) for row in db.session.scalars(select(OutboxMessage))}
        assert states[bad_id] == ("failed", 1) and states[good_id] == ("sent", 1)


def test_a_change_stands_and_answers_when_the_queue_is_down(app):
    install(app, "redis://127.0.0.1:9/0")          # nothing listens on port 9
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/_test/send")
    def send_one():
        outbox.send("organizers", "other", "subject", "正文")
        return "queued"

    response = app.test_client().get("/_test/send")
    with app.app_context():
        stored = db.session.scalars(select(OutboxMessage)).all()
    assert response.status_code == 200 and [row.state for row in stored] == ["queued"]
