"""Organizer: rounds, conflict pre-check, matching runs, assignment versions and panels."""

from flask import Blueprint

bp = Blueprint("rounds", __name__, url_prefix="/rounds")

from . import views  # noqa: E402,F401  (registers the views on bp)
