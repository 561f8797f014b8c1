"""Organizer: invitations, reminders, the outbox and the progress dashboard."""

from flask import Blueprint

bp = Blueprint("followup", __name__, url_prefix="/followup")

from . import labels, views  # noqa: E402,F401  (register the template filters and views on bp)
