"""Registering records in the browser: uploads of applications and experts with a preview, the form of one
record, and attachments."""

from flask import Blueprint

bp = Blueprint("records", __name__, url_prefix="/records")

from . import views  # noqa: E402,F401  (registers the views on bp)
