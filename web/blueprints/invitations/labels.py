"""The words for the outbox's message kinds and delivery states, as template filters of the invitations area."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from . import bp

MESSAGE_KIND_LABELS = {
    "invitation": _l("Invitation"), "reminder": _l("Reminder"), "recusal_notice": _l("Recusal notice"),
    "decline_notice": _l("Decline notice"), "reopened": _l("Sheet reopened"), "flag_review": _l("Score review"),
    "other": _l("Other"), "access_link": _l("Personal link"), "password_reset": _l("Password reset"),
}
OUTBOX_STATE_LABELS = {"queued": _l("queued"), "retrying": _l("retrying"), "sent": _l("sent"),
                       "failed": _l("failed")}

bp.add_app_template_filter(lambda code: str(MESSAGE_KIND_LABELS.get(code, code)), "message_kind")
bp.add_app_template_filter(lambda code: str(OUTBOX_STATE_LABELS.get(code, code)), "outbox_state")
