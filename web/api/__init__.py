"""The JSON API under /api/v1, with bearer-token authentication, for organizers' integrations."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import views  # noqa: E402,F401  (registers the views on bp)
