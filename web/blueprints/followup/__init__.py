"""Organizer: invitations, reminders, the outbox and the progress dashboard."""

from flask import Blueprint

bp = Blueprint("followup", __name__, url_prefix="/followup")

from . import views  # noqa: E402,F401  (registers the views on bp)
