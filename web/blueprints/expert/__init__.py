"""Experts: their own assignments, conflict declarations, application material and score sheets."""

from flask import Blueprint

bp = Blueprint("expert", __name__, url_prefix="/expert")

from . import views  # noqa: E402,F401  (registers the views on bp)
