"""API tokens: created once and shown once, stored only as their SHA-256, refused once revoked or expired.

A token acts only as its own user. An expert's token is made by the expert or by the server's operator (the
``panel tokens`` command), never by an admin on the site: whoever holds a token scores as its expert, and the audit
would name the expert for what the admin did.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from web.extensions import db
from web.models import ApiToken, User, utcnow

from . import audit

TOKEN_BYTES = 32
NAME_LIMIT = 100


class TokenError(ValueError):
    """A refused token operation, with a message for the user."""


def hash_token(raw: str) -> str:
    """The SHA-256 hex digest stored in place of the token (fast is fine: tokens are 256 random bits)."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_token(user: User, name: str, *, actor: User | None, expires_at: datetime | None = None) -> str:
    """Create a token for ``user`` (flushed); return the raw token, which is never stored or shown again."""
    name = (name or "").strip()
    if not name:
        raise TokenError(_("The token's name must not be empty."))
    if len(name) > NAME_LIMIT:
        raise TokenError(_("The token's name has %(length)s characters; at most %(limit)s are allowed.",
                           length=len(name), limit=NAME_LIMIT))
    if not user.active:
        raise TokenError(_("The account “%(username)s” is deactivated.", username=user.username))
    if user.role == "expert" and actor is not None and actor.id != user.id:
        raise TokenError(_("Only the expert may hold a token for an expert account: "
                           "nobody else may score in an expert's name."))
    if expires_at is not None and expires_at <= utcnow():
        raise TokenError(_("The expiry date must lie in the future."))
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken(user=user, name=name, token_hash=hash_token(raw), expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    audit.record("token.create", "api_token", token.id, actor=actor,
                 after={"user": user.username, "name": name, "expires_at": expires_at})
    return raw


def user_for_token(raw: str | None) -> User | None:
    """The active user a live token belongs to (and note when it was used, flushed), or None."""
    if not raw:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    now = utcnow()
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    token.last_used_at = now
    db.session.flush()
    return token.user


def revoke_token(token: ApiToken, *, actor: User | None) -> None:
    """Revoke ``token`` for good (audited); revoking twice is refused."""
    if token.revoked_at is not None:
        raise TokenError(_("The token “%(name)s” is already revoked.", name=token.name))
    token.revoked_at = utcnow()
    audit.record("token.revoke", "api_token", token.id, actor=actor,
                 before={"user": token.user.username, "name": token.name, "revoked_at": None},
                 after={"revoked_at": token.revoked_at})
    db.session.flush()


def tokens_of(user: User | None) -> list[ApiToken]:
    """The tokens of ``user``, or every token when ``user`` is None, newest first."""
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return list(db.session.scalars(query))
