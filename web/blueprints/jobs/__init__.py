"""Organizer: the jobs of a round, each job's progress (a page that refreshes, a JSON view for the script) and
its result file."""

from flask import Blueprint

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

from . import views  # noqa: E402,F401  (registers the views on bp)
