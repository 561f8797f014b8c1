"""Accounts: users with a role, and hashed API tokens for organizers' integrations."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from web.extensions import db

from .common import one_of, utcnow
from .expert import Expert

ROLES = ("admin", "organizer", "expert")
# A stored hash starting with this never matches: werkzeug hashes start with the method name.
UNUSABLE_PASSWORD_PREFIX = "!"


class User(UserMixin, db.Model):
    """A login; an expert account is linked to its :class:`Expert`. Passwords are stored only as hashes."""

    __tablename__ = "users"
    __table_args__ = (one_of("role", ROLES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("expert.id"), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Part of every session's identity: raising it (at logout) ends every session and remember-cookie at once.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Set by an admin's forced reset: the next login leads to the password page and nowhere else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    expert: Mapped[Expert | None] = relationship()

    @property
    def is_active(self) -> bool:
        """Flask-Login refuses inactive accounts."""
        return self.active

    def get_id(self) -> str:
        """Flask-Login's session identity: the id and the session version, so a logout ends old cookies too."""
        return f"{self.id}:{self.session_version}"

    def set_password(self, password: str) -> None:
        """Store a salted hash of ``password``."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """True when ``password`` matches the stored hash (never for an unusable password)."""
        return self.has_usable_password and check_password_hash(self.password_hash, password)

    def set_unusable_password(self) -> None:
        """No password opens the account until one is set through a personal link (an invited expert's)."""
        self.password_hash = UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(24)

    @property
    def has_usable_password(self) -> bool:
        """False for an account that still waits for its first password."""
        return not self.password_hash.startswith(UNUSABLE_PASSWORD_PREFIX)

    def is_locked(self, now: datetime) -> bool:
        """True while a lock from repeated failed logins lasts."""
        return self.locked_until is not None and self.locked_until > now


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 is stored, so a leaked database leaks no token."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()
