"""API endpoints of the centers: decisions on applications, center status, annual reports and indicators."""

from __future__ import annotations

from datetime import date

from flask import jsonify
from sqlalchemy import select

from web.extensions import db
from web.models import Application, Center
from web.services import centers
from web.services.centers import CenterError

from . import bp
from .auth import STAFF, api_user, roles
from .errors import ApiError
from .views import json_body


def center_or_404(center_id: int) -> Center:
    """The center with ``center_id``, or 404."""
    center = db.session.get(Center, center_id)
    if center is None:
        raise ApiError(404, f"no center with id {center_id}")
    return center


def json_object() -> dict:
    """The body, which must be a JSON object."""
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(422, "the body must be a JSON object", [f"(body): must be an object, got {type(body).__name__}"])
    return body


def refused(error: CenterError) -> ApiError:
    """A 422 with every reason of the refusal (nothing was changed)."""
    return ApiError(422, f"refused: {len(error.reasons)} error(s); nothing was changed", error.reasons)


@bp.get("/centers")
@roles(*STAFF)
def list_centers():
    """Every center with status, targets and reports."""
    rows = db.session.scalars(select(Center).join(Application).order_by(Application.ref))
    return jsonify([centers.center_record(center) for center in rows])


@bp.get("/centers/<int:center_id>")
@roles(*STAFF)
def get_center(center_id: int):
    """One center with status, targets and reports."""
    return jsonify(centers.center_record(center_or_404(center_id)))


@bp.put("/centers/<int:center_id>/reports/<int:year>")
@roles(*STAFF)
def save_center_report(center_id: int, year: int):
    """Store (or replace) one year's indicators; 422 lists every value refused."""
    center = center_or_404(center_id)
    body = json_object()
    try:
        centers.save_report(center, year, body.get("indicators") or {}, actor=api_user())
    except CenterError as error:
        raise refused(error) from None
    return jsonify(centers.center_record(center))


@bp.put("/centers/<int:center_id>/status")
@roles(*STAFF)
def set_center_status(center_id: int):
    """Change the center's status with a reason; 422 when refused."""
    center = center_or_404(center_id)
    body = json_object()
    try:
        centers.set_status(center, str(body.get("status") or ""), reason=body.get("reason"), actor=api_user())
    except CenterError as error:
        raise refused(error) from None
    return jsonify(centers.center_record(center))


@bp.put("/applications/<ref>/decision")
@roles(*STAFF)
def record_decision(ref: str):
    """Record the decision on an application (listed ones become centers); 422 when refused."""
    application = db.session.scalar(select(Application).where(Application.ref == ref))
    if application is None:
        raise ApiError(404, f"no application with ref {ref!r}")
    body = json_object()
    try:
        decided_on = date.fromisoformat(str(body.get("decided_on") or ""))
    except ValueError:
        decided_on = None
    try:
        decision = centers.record_decision(application, outcome=str(body.get("outcome") or ""), decided_on=decided_on,
                                           document_no=str(body.get("document_no") or ""), reason=body.get("reason"),
                                           actor=api_user())
    except CenterError as error:
        raise refused(error) from None
    center = centers.center_of(application)
    return jsonify({**centers.decision_record(decision), "decided_on": decision.decided_on.isoformat(),
                    "center": None if center is None else center.id})
