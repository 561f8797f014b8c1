"""Delivering the outbox: after commit, a worker sends the queued messages, one SMTP connection per batch.

Guarantees (docs/jobs.md, "The outbox"):

- **never for a change that rolled back**: messages are rows of the change's own transaction, and the delivery
  task is enqueued only after it commits;
- **never twice**: a worker first *claims* a batch with one atomic UPDATE (a claim token and time), then marks
  each message sent in its own commit right after the server accepted it. Another worker skips claimed rows
  until the claim's lease (:data:`CLAIM_LEASE_SECONDS`) runs out, which only happens when the claiming worker
  died. The one window left: a worker dying after the server accepted a message and before that message's
  commit; the message is then sent again when the lease runs out (at least once, never lost);
- **retried with backoff**: a temporary failure (4xx reply, a lost connection) sets ``retrying`` and the next
  attempt after :data:`RETRY_DELAYS`; a permanent refusal (5xx) or the last attempt sets ``failed``. Every
  attempt is counted and the server's last reply kept.

Without ``PANEL_SMTP_HOST`` (intranets, tests), and for recipients without an address (the organizers' notices,
experts without e-mail), messages are written as .eml files to ``<instance>/outbox/`` instead.
"""

from __future__ import annotations

import smtplib
import uuid
from datetime import timedelta

from sqlalchemy import and_, or_, select, update

from web.extensions import db
from web.models import OutboxMessage, utcnow
from web.services.outbox import SMTP_TIMEOUT_SECONDS, email_of, setting, write_file

BATCH_SIZE = 100
CLAIM_LEASE_SECONDS = 300
RETRY_DELAYS = (60, 300, 1800, 7200)
"""Seconds before the 2nd, 3rd, 4th and 5th attempt; after the 5th a message has failed."""
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


class Unreachable(Exception):
    """The connection to the SMTP server failed or was lost: every message not yet sent is retried."""


def deliver_outbox(lease_seconds: int = CLAIM_LEASE_SECONDS) -> int:
    """Send every message that is due, batch by batch; returns how many were sent."""
    sent = 0
    while True:
        batch = claim_batch(lease_seconds)
        if not batch:
            return sent
        sent += deliver_batch(batch)


def claim_batch(lease_seconds: int = CLAIM_LEASE_SECONDS, limit: int = BATCH_SIZE) -> list[int]:
    """Claim up to ``limit`` due messages for this worker (committed); their ids, oldest first."""
    now = utcnow()
    token = uuid.uuid4().hex
    due = and_(OutboxMessage.state.in_(("queued", "retrying")),
               or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
               or_(OutboxMessage.claim.is_(None),
                   OutboxMessage.claimed_at < now - timedelta(seconds=lease_seconds)))
    candidates = select(OutboxMessage.id).where(due).order_by(OutboxMessage.id).limit(limit).scalar_subquery()
    # The condition is repeated on the UPDATE: a row another worker claimed meanwhile no longer matches it.
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(candidates), due)
                       .values(claim=token, claimed_at=now).execution_options(synchronize_session=False))
    db.session.commit()
    return list(db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.claim == token)
                                   .order_by(OutboxMessage.id)))


def deliver_batch(ids: list[int]) -> int:
    """Send the claimed messages ``ids``: files first, then everything else over one SMTP connection."""
    messages = [db.session.get(OutboxMessage, message_id) for message_id in ids]
    by_smtp = setting("PANEL_SMTP_HOST") is not None
    for message in messages:
        if not (by_smtp and "@" in message.recipient):
            email = _email_or_failed(message)
            if email is not None:
                write_file(message, email)
                _sent(message, "file")
    mailed = [message for message in messages if message.state not in ("sent", "failed")]
    return len(messages) - len(mailed) + (_deliver_smtp(mailed) if mailed else 0)


def _deliver_smtp(messages: list[OutboxMessage]) -> int:
    """Send ``messages`` over one connection; each outcome is committed as soon as it is known."""
    sent = 0
    try:
        with _connection() as server:
            for message in messages:
                if _transmit(server, message):
                    sent += 1
    except Unreachable as error:
        for message in messages:
            if message.state != "sent" and message.claim is not None:
                _failed(message, str(error), permanent=False)
    return sent


def _connection() -> smtplib.SMTP:
    """An open connection to the configured server (STARTTLS and login when a user is set)."""
    user = setting("PANEL_SMTP_USER")
    try:
        server = smtplib.SMTP(setting("PANEL_SMTP_HOST"), int(setting("PANEL_SMTP_PORT") or 25),
                              timeout=SMTP_TIMEOUT_SECONDS)
        if user:
            server.starttls()
            server.login(user, setting("PANEL_SMTP_PASSWORD") or "")
    except (OSError, smtplib.SMTPException) as error:
        raise Unreachable(_reply_of(error)) from error
    return server


def _email_or_failed(message: OutboxMessage):
    """The message as an e-mail, or None after marking it failed for good: one message that cannot be written
    (a header the e-mail library refuses) must not stop the ones queued after it."""
    try:
        return email_of(message)
    except (ValueError, TypeError) as error:
        _failed(message, f"{type(error).__name__}: {error}", permanent=True)
        return None


def _still_claimed(message: OutboxMessage) -> bool:
    """Renew this worker's claim on ``message`` just before sending it (committed); False when the lease ran out
    and another worker took the message meanwhile, which then sends it instead of this one."""
    renewed = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message.id, OutboxMessage.claim == message.claim)
        .values(claimed_at=utcnow()).execution_options(synchronize_session=False))
    db.session.commit()
    return renewed.rowcount == 1


def _transmit(server: smtplib.SMTP, message: OutboxMessage) -> bool:
    """Hand one message to the server and record the outcome; True when the server accepted it."""
    email = _email_or_failed(message)
    if email is None or not _still_claimed(message):
        return False
    try:
        refused = server.send_message(email)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
        _failed(message, _reply_of(error), permanent=_permanent(error))
        _reset(server)
        return False
    except (OSError, smtplib.SMTPException) as error:
        raise Unreachable(_reply_of(error)) from error
    if refused:
        _failed(message, _reply_of(smtplib.SMTPRecipientsRefused(refused)), permanent=True)
        return False
    _sent(message, "smtp")
    return True


def _reset(server: smtplib.SMTP) -> None:
    """RSET after a refused message, so the next one starts a clean transaction on the same connection."""
    try:
        server.rset()
    except (OSError, smtplib.SMTPException) as error:
        raise Unreachable(_reply_of(error)) from error


def _permanent(error: smtplib.SMTPException) -> bool:
    """A 5xx reply (for every recipient) is permanent; 4xx replies are worth another attempt."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return getattr(error, "smtp_code", 500) >= 500


def _reply_of(error: BaseException) -> str:
    """The server's reply as a person can read it (code and text), or the connection error."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {_text(reply)}" for code, reply in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return f"{type(error).__name__}: {error}"


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _sent(message: OutboxMessage, transport: str) -> None:
    message.state, message.transport, message.sent_at = "sent", transport, utcnow()
    message.attempts += 1
    message.error = message.next_attempt_at = message.claim = message.claimed_at = None
    db.session.commit()


def _failed(message: OutboxMessage, reply: str, *, permanent: bool) -> None:
    message.attempts += 1
    message.transport, message.error = "smtp", reply
    if permanent or message.attempts >= MAX_ATTEMPTS:
        message.state, message.next_attempt_at = "failed", None
    else:
        message.state = "retrying"
        message.next_attempt_at = utcnow() + timedelta(seconds=RETRY_DELAYS[message.attempts - 1])
    message.claim = message.claimed_at = None
    db.session.commit()
