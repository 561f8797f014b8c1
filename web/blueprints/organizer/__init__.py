"""The organizer's pages: applications, experts, application detail."""

from flask import Blueprint

bp = Blueprint("organizer", __name__, url_prefix="/organizer")

from . import views  # noqa: E402,F401  (registers the views on bp)
