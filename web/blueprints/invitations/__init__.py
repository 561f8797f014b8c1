"""Invitations and what follows them: reminders, accounts and personal links for invited experts, the outbox,
seat replacement, sheet reopening and the progress dashboard."""

from flask import Blueprint

bp = Blueprint("invitations", __name__, url_prefix="/invitations")

from . import labels, views  # noqa: E402,F401  (register the template filters and views on bp)
