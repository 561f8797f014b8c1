"""Organizer: rankings, traces to the sheets, flag reviews, combined rounds and exports."""

from flask import Blueprint

bp = Blueprint("rankings", __name__, url_prefix="/rankings")

from . import views  # noqa: E402,F401  (registers the views on bp)
