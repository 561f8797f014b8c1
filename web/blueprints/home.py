"""The start page: each role goes to where its work is."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import current_user, login_required

bp = Blueprint("home", __name__)

START_PAGES = {"organizer": "records.applications", "admin": "records.applications", "expert": "expert.index"}


@bp.route("/")
@login_required
def index():
    """Send organizers and admins to the applications, experts to their own review tasks."""
    return redirect(url_for(START_PAGES[current_user.role]))
