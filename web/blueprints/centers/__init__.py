"""Organizer: decisions after selection, the publicity list, the centers, their status and annual reports."""

from flask import Blueprint

bp = Blueprint("centers", __name__, url_prefix="/centers")

from . import views  # noqa: E402,F401  (registers the views on bp)
