"""Personal access links: signed, expiring and single-use, without a table.

A link carries ``{"u": user id, "f": fingerprint}`` signed with the app's secret key (itsdangerous, timestamped).
The fingerprint is a hash of the account's current password hash, so the link dies the moment a password is set
through it — or any other way: single use needs no stored token. Links expire after ``ACCESS_LINK_MAX_AGE_DAYS``
(default 14). The same link serves an invitation (first password), a resend and a forgotten password.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from web.database import lock_row
from web.extensions import db
from web.models import User

from .outbox import setting

SALT = "panel.access-link"
DEFAULT_MAX_AGE_DAYS = 14


class LinkError(ValueError):
    """A link that opens nothing: ``reason`` is ``invalid``, ``expired`` or ``used``; the message says so."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def max_age_days() -> int:
    """How many days a link stays valid (``ACCESS_LINK_MAX_AGE_DAYS``)."""
    return int(current_app.config.get("ACCESS_LINK_MAX_AGE_DAYS") or DEFAULT_MAX_AGE_DAYS)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)


def fingerprint(user: User) -> str:
    """A short hash of the account's password hash: it changes whenever the password does."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:20]


def make_token(user: User) -> str:
    """A fresh signed token for ``user``."""
    return _serializer().dumps({"u": user.id, "f": fingerprint(user)})


def link(user: User) -> str:
    """The full address of a fresh link for ``user``: ``PANEL_BASE_URL`` when set, else this request's host."""
    token = make_token(user)
    base = setting("PANEL_BASE_URL")
    if base:
        return f"{base.rstrip('/')}/access/{token}"
    if has_request_context():
        return url_for("auth.access", token=token, _external=True)
    return f"/access/{token}"


def user_of(token: str) -> User:
    """The active account a token opens, or :class:`LinkError` saying why not."""
    try:
        payload = _serializer().loads(token, max_age=max_age_days() * 86400)
    except SignatureExpired as error:
        raise LinkError("expired", _("This link has expired. Ask the organizer for a new one, or use "
                                     "\"Forgot password\" on the login page.")) from error
    except BadSignature as error:
        raise LinkError("invalid", _("This link is not valid. Copy the whole address from the message, or ask "
                                     "the organizer for a new one.")) from error
    user = db.session.get(User, payload.get("u")) if isinstance(payload, dict) else None
    if user is None or not user.active:
        raise LinkError("invalid", _("This link is not valid. Copy the whole address from the message, or ask "
                                     "the organizer for a new one."))
    if not hmac.compare_digest(str(payload.get("f")), fingerprint(user)):
        raise LinkError("used", _("This link has been used already: a password was set with it. Log in with "
                                  "your password, or use \"Forgot password\" on the login page."))
    return user


def redeem(token: str) -> User:
    """The account a token opens, checked again with the account's row held (:func:`user_of` otherwise): two
    submissions of one link at once cannot both set a password, the second finds the link used."""
    lock_row(User, user_of(token).id)
    return user_of(token)
