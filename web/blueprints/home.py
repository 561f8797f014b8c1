"""The start page: organizers go to the applications; experts see their assignments."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from web.extensions import db
from web.models import Assignment, AssignmentVersion

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    """Send staff to their work list; show an expert the panels they sit on."""
    if current_user.role in ("organizer", "admin"):
        return redirect(url_for("organizer.applications"))
    assignments = []
    if current_user.expert_id is not None:
        assignments = db.session.scalars(
            select(Assignment).join(AssignmentVersion)
            .where(AssignmentVersion.active, Assignment.expert_id == current_user.expert_id)
            .order_by(Assignment.id)
        ).all()
    return render_template("home.html", assignments=assignments)
