"""Bearer-token authentication for every API request, and the role check of API views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import g, request
from flask_babel import gettext as _

from web.extensions import db
from web.labels import label
from web.models import User
from web.services.tokens import user_for_token

from . import bp
from .errors import ApiError

PUBLIC_ENDPOINTS = {"api.openapi_document"}
STAFF = ("organizer", "admin")


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


@bp.before_request
def authenticate():
    """Refuse (401) every request but the public ones unless it carries a live token; remember its user."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    token = bearer_token()
    if token is None:
        raise ApiError(401, "authentication_required",
                       _("Authentication required: send the header “Authorization: Bearer <token>”."))
    user = user_for_token(token)
    db.session.commit()                 # the token's last use, kept even when the request is refused later
    if user is None:
        raise ApiError(401, "invalid_token",
                       _("Invalid token: it is unknown, revoked or expired, or its account is deactivated."))
    g.api_user = user


def api_user() -> User:
    """The user the request's token belongs to."""
    return g.api_user


def roles(*allowed: str) -> Callable:
    """Decorate an API view so only tokens of users holding one of ``allowed`` reach it (403 otherwise)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = api_user()
            if user.role not in allowed:
                raise ApiError(403, "role_not_allowed", _(
                    "This endpoint is for %(roles)s accounts, not %(role)s accounts.",
                    roles="、".join(label(role, "role") for role in allowed), role=label(user.role, "role")))
            return view(*args, **kwargs)

        return wrapped

    return decorator
