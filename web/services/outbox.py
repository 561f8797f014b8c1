"""The outbox: every message is stored, then sent by SMTP when configured or written as an .eml file.

Settings (app config first, then the environment): ``PANEL_SMTP_HOST``, ``PANEL_SMTP_PORT`` (default 25),
``PANEL_SMTP_USER``, ``PANEL_SMTP_PASSWORD`` (STARTTLS and login when a user is set), ``PANEL_MAIL_FROM``
(default ``panel@localhost``) and ``PANEL_ORGANIZER_EMAIL`` (where notices for the organizer go; without it they
are only kept in the outbox). Without ``PANEL_SMTP_HOST`` every message goes to ``<instance>/outbox/``, which is
how intranet installs without a mail server and the tests work.
"""

from __future__ import annotations

import os
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app, has_request_context
from flask_babel import gettext
from sqlalchemy import select

from web.extensions import db
from web.models import Expert, OutboxMessage, Round, utcnow

OUTBOX_FOLDER = "outbox"
DEFAULT_SENDER = "panel@localhost"
ORGANIZERS = "organizers"
SMTP_TIMEOUT_SECONDS = 20


def setting(name: str) -> str | None:
    """A mail setting from the app config, else from the environment, else None."""
    value = current_app.config.get(name)
    if value in (None, ""):
        value = os.environ.get(name)
    return None if value in (None, "") else str(value)


def translate(message: str, **params: object) -> str:
    """``gettext`` in a request (the user's language); the English text outside one (CLI, demo, tests)."""
    if has_request_context():
        return gettext(message, **params)
    return message % params if params else message


def organizer_address() -> str:
    """Where notices for the organizer go: ``PANEL_ORGANIZER_EMAIL``, else the outbox page only."""
    return setting("PANEL_ORGANIZER_EMAIL") or ORGANIZERS


def expert_address(expert: Expert) -> str:
    """The expert's e-mail address, or their ref when none is on file (the message then stays in the folder)."""
    return expert.email or expert.ref


def send(recipient: str, kind: str, subject: str, body: str, *, round_: Round | None = None,
         expert: Expert | None = None) -> OutboxMessage:
    """Store a message and deliver it (SMTP or file); the caller commits it with the change it reports."""
    message = OutboxMessage(recipient=recipient, kind=kind, subject=subject, body=body, round=round_,
                            expert=expert, created_at=utcnow())
    db.session.add(message)
    db.session.flush()
    email = _email(message)
    if setting("PANEL_SMTP_HOST") and "@" in recipient:
        _deliver_smtp(message, email)
    else:
        _write_file(message, email)
    return message


def _email(message: OutboxMessage) -> EmailMessage:
    """The RFC 5322 form of a stored message (UTF-8, so Chinese subjects and bodies survive)."""
    email = EmailMessage()
    email["From"] = setting("PANEL_MAIL_FROM") or DEFAULT_SENDER
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(idstring=f"panel-{message.id}")
    email.set_content(message.body, charset="utf-8")
    return email


def _deliver_smtp(message: OutboxMessage, email: EmailMessage) -> None:
    """Hand the message to the SMTP server; a failure is kept on the message, never raised to the user."""
    message.transport = "smtp"
    host = setting("PANEL_SMTP_HOST")
    port = int(setting("PANEL_SMTP_PORT") or 25)
    user = setting("PANEL_SMTP_USER")
    try:
        with smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS) as server:
            if user:
                server.starttls()
                server.login(user, setting("PANEL_SMTP_PASSWORD") or "")
            server.send_message(email)
    except (OSError, smtplib.SMTPException) as error:
        message.error = f"{type(error).__name__}: {error}"
        message.state, message.attempts = "failed", 1
        return
    message.state, message.attempts, message.sent_at = "sent", 1, utcnow()


def outbox_folder() -> Path:
    """``<instance>/outbox``, created on first use."""
    folder = Path(current_app.instance_path) / OUTBOX_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_file(message: OutboxMessage, email: EmailMessage) -> None:
    """Write the message as ``<id>-<kind>.eml`` in the instance's outbox folder."""
    name = f"{message.id:06d}-{message.kind}.eml"
    (outbox_folder() / name).write_bytes(bytes(email))
    message.transport = "file"
    message.stored_as = name
    message.state, message.attempts, message.sent_at = "sent", 1, utcnow()


def messages(*, round_id: int | None = None, limit: int = 500) -> list[OutboxMessage]:
    """The newest messages first, of one round or of all."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if round_id is not None:
        query = query.where(OutboxMessage.round_id == round_id)
    return list(db.session.scalars(query))
