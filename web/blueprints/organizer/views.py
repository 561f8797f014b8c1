"""Organizer views (filled in below)."""

from __future__ import annotations

from web.auth.roles import roles_required

from . import bp


@bp.route("/applications")
@roles_required("organizer", "admin")
def applications():
    """List the applications."""
    return "applications"
