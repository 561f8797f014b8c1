"""The outbox: every message is a row written in the transaction of the change that causes it; after commit a
worker sends it by SMTP when configured or writes it as an .eml file (delivery: web/jobs/mail.py).

Settings (app config first, then the environment): ``PANEL_SMTP_HOST``, ``PANEL_SMTP_PORT`` (default 25),
``PANEL_SMTP_USER``, ``PANEL_SMTP_PASSWORD`` (STARTTLS and login when a user is set), ``PANEL_MAIL_FROM``
(default ``panel@localhost``) and ``PANEL_ORGANIZER_EMAIL`` (where notices for the organizer go; without it they
are only kept in the outbox). Without ``PANEL_SMTP_HOST`` every message goes to ``<instance>/outbox/``, which is
how intranet installs without a mail server and the tests work.
"""

from __future__ import annotations

import os
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale, gettext
from sqlalchemy import select

from web.extensions import db
from web.jobs.queue import enqueue_after_commit
from web.models import Expert, OutboxMessage, Round, User, utcnow
from web.services import audit

OUTBOX_FOLDER = "outbox"
DEFAULT_SENDER = "panel@localhost"
ORGANIZERS = "organizers"
SMTP_TIMEOUT_SECONDS = 20
MESSAGE_ID_DOMAIN = "panel.invalid"
DELIVER = "deliver_outbox"
MAIL_LOCALE = "zh_Hans_CN"
"""Mail is written in the service's language (the first of web.LOCALES): its readers have no language on record,
and an organizer who reads the site in English still writes to Chinese experts."""


def setting(name: str) -> str | None:
    """A mail setting from the app config, else from the environment, else None."""
    value = current_app.config.get(name)
    if value in (None, ""):
        value = os.environ.get(name)
    return None if value in (None, "") else str(value)


def mail_text(message: str, **params: object) -> str:
    """A catalog sentence (a subject line) in the mail's language."""
    with force_locale(MAIL_LOCALE):
        return gettext(message, **params)


def mail_body(template: str, **context: object) -> str:
    """A mail template rendered in the mail's language (its sentences come from the catalog)."""
    with force_locale(MAIL_LOCALE):
        return render_template(template, **context)


def organizer_address() -> str:
    """Where notices for the organizer go: ``PANEL_ORGANIZER_EMAIL``, else the outbox page only."""
    return setting("PANEL_ORGANIZER_EMAIL") or ORGANIZERS


def expert_address(expert: Expert) -> str:
    """The expert's e-mail address, or their ref when none is on file (the message then stays in the folder)."""
    return expert.email or expert.ref


def send(recipient: str, kind: str, subject: str, body: str, *, round_: Round | None = None,
         expert: Expert | None = None) -> OutboxMessage:
    """Queue a message in the caller's transaction; a worker delivers it once the caller commits (a change that
    rolls back takes its messages with it). See web/jobs/mail.py."""
    subject = " ".join(subject.split())      # a header holds one line: a name imported with a line break must not
    message = OutboxMessage(recipient=recipient, kind=kind, subject=subject, body=body, round=round_,
                            expert=expert, created_at=utcnow(), state="queued", attempts=0)
    db.session.add(message)
    db.session.flush()
    enqueue_after_commit(DELIVER)
    return message


def resend(message: OutboxMessage, *, actor: User | None) -> OutboxMessage:
    """Queue a failed message again (audited); it goes out once the caller commits."""
    if message.state != "failed":
        raise OutboxError(gettext("Only a failed message can be sent again (this one is %(state)s).",
                                  state=message.state))
    audit.record("outbox.resend", "outbox_message", message.id, actor=actor,
                 before={"state": message.state, "attempts": message.attempts, "error": message.error},
                 after={"state": "queued"})
    message.state, message.next_attempt_at = "queued", None
    enqueue_after_commit(DELIVER)
    return message


class OutboxError(Exception):
    """A refused outbox action; the message is a translated sentence."""


def email_of(message: OutboxMessage) -> EmailMessage:
    """The RFC 5322 form of a stored message (UTF-8, so Chinese subjects and bodies survive). The Message-ID
    names the row, so a receiving server (or a test) can tell a message sent twice from two messages."""
    email = EmailMessage()
    email["From"] = setting("PANEL_MAIL_FROM") or DEFAULT_SENDER
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = f"<panel-outbox-{message.id}@{MESSAGE_ID_DOMAIN}>"
    email.set_content(message.body, charset="utf-8")
    return email


def outbox_folder() -> Path:
    """``<instance>/outbox``, created on first use."""
    folder = Path(current_app.instance_path) / OUTBOX_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_file(message: OutboxMessage, email: EmailMessage) -> None:
    """Write the message as ``<id>-<kind>.eml`` in the instance's outbox folder (a rewrite replaces it)."""
    name = f"{message.id:06d}-{message.kind}.eml"
    (outbox_folder() / name).write_bytes(bytes(email))
    message.stored_as = name


def messages(*, round_id: int | None = None, kind: str | None = None, state: str | None = None,
             limit: int = 500) -> list[OutboxMessage]:
    """The newest messages first, of one round, kind and state or of all."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if round_id is not None:
        query = query.where(OutboxMessage.round_id == round_id)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    if state is not None:
        query = query.where(OutboxMessage.state == state)
    return list(db.session.scalars(query))
