"""Organizer pages: the applications with their formal-check flags, the experts, one application in full."""

from __future__ import annotations

from flask import abort, render_template
from sqlalchemy import select

from web.auth.roles import roles_required
from web.blueprints.organizer import bp
from web.extensions import db
from web.models import Field
from web.services.records import export_applications, export_experts

STAFF = ("organizer", "admin")


def formal_check(record: dict) -> list | None:
    """The formal-check flags of one application record, or None while the check is not installed."""
    try:
        from web.services.formal_check import check_application
    except ImportError:
        return None
    return check_application(record)


def field_names() -> dict[str, Field]:
    """Every field by code, for showing names beside codes."""
    return {field.code: field for field in db.session.scalars(select(Field))}


@bp.route("/applications")
@roles_required(*STAFF)
def applications():
    """Every application with field, bearer, member count and formal-check flags."""
    records = export_applications()
    rows = [(record, formal_check(record)) for record in records]
    return render_template("organizer/applications.html", rows=rows, fields=field_names())


@bp.route("/applications/<ref>")
@roles_required(*STAFF)
def application_detail(ref: str):
    """One application with all of its tables (personal data masked unless admin)."""
    records = export_applications(include_personal=True, refs=[ref])
    if not records:
        abort(404)
    record = records[0]
    return render_template("organizer/application.html", record=record, flags=formal_check(record),
                           fields=field_names())


@bp.route("/experts")
@roles_required(*STAFF)
def experts():
    """Every expert with pool, fields, organization and load cap (contact data masked unless admin)."""
    return render_template("organizer/experts.html", experts=export_experts(include_personal=True),
                           fields=field_names())
