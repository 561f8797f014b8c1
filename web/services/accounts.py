"""Accounts: creating users and checking passwords, with the failed-login lock (audited)."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from web.extensions import db
from web.models import ROLES, Expert, User, utcnow

from . import audit

MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    """A refused account operation, with a message for the user."""


def create_user(username: str, role: str, password: str, *, expert_ref: str | None = None,
                actor: User | None) -> User:
    """Create an account (flushed); an expert account must name the expert's ref."""
    username = username.strip()
    if not username:
        raise AccountError("username: must not be empty")
    if role not in ROLES:
        raise AccountError(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password: must have at least {MIN_PASSWORD_LENGTH} characters")
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"username: {username!r} is taken")
    expert = _expert_for(role, expert_ref)
    user = User(username=username, role=role, expert=expert, active=True, failed_logins=0)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", "user", user.id, actor=actor,
                 after={"username": username, "role": role, "expert": expert_ref})
    db.session.flush()
    return user


def _expert_for(role: str, expert_ref: str | None) -> Expert | None:
    """The expert an account of ``role`` links to (required for experts, refused for others)."""
    if role != "expert":
        if expert_ref:
            raise AccountError("expert: only expert accounts link to an expert")
        return None
    if not expert_ref:
        raise AccountError("expert: an expert account needs --expert REF")
    expert = db.session.scalar(select(Expert).where(Expert.ref == expert_ref))
    if expert is None:
        raise AccountError(f"expert: no expert with ref {expert_ref!r}")
    if db.session.scalar(select(User.id).where(User.expert_id == expert.id)) is not None:
        raise AccountError(f"expert: {expert_ref!r} already has an account")
    return expert


def authenticate(username: str, password: str) -> User | None:
    """The user when the password is right and the account usable; counts failures and locks (flushed; the login request commits)."""
    user = db.session.scalar(select(User).where(User.username == username))
    now = utcnow()
    if user is None or not user.active:
        # Spend the time of a password check anyway, so response times do not tell which usernames exist.
        check_password_hash(_dummy_hash(), password)
        return None
    if user.is_locked(now):
        audit.record("login.refused_locked", "user", user.id, actor=None, after={"username": username})
        db.session.flush()
        return None
    if not user.check_password(password):
        _count_failure(user, now)
        db.session.flush()
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record("login.success", "user", user.id, actor=user)
    db.session.flush()
    return user


@cache
def _dummy_hash() -> str:
    """A password hash to check against when there is no account."""
    return generate_password_hash("no such account")


def _count_failure(user: User, now) -> None:
    """Record a failed login; the n-th consecutive failure locks the account for a while."""
    user.failed_logins = (user.failed_logins or 0) + 1
    audit.record("login.failure", "user", user.id, actor=None,
                 after={"username": user.username, "failed_logins": user.failed_logins})
    if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
        user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
        user.failed_logins = 0
        audit.record("user.lock", "user", user.id, actor=None,
                     after={"username": user.username, "locked_until": user.locked_until})


def set_active(user: User, active: bool, *, actor: User) -> None:
    """Deactivate (no login, no API) or reactivate an account; an admin cannot deactivate themselves."""
    if user.id == actor.id and not active:
        raise AccountError("you cannot deactivate your own account")
    if user.active == active:
        raise AccountError(f"{user.username!r} is already {'active' if active else 'deactivated'}")
    audit.record("user.activate" if active else "user.deactivate", "user", user.id, actor=actor,
                 before={"active": user.active}, after={"active": active})
    user.active = active
    db.session.flush()


def unlock(user: User, *, actor: User) -> None:
    """Lift a lock from repeated failed logins before it runs out."""
    if user.locked_until is None and not user.failed_logins:
        raise AccountError(f"{user.username!r} is not locked")
    audit.record("user.unlock", "user", user.id, actor=actor,
                 before={"locked_until": user.locked_until, "failed_logins": user.failed_logins},
                 after={"locked_until": None, "failed_logins": 0})
    user.locked_until = None
    user.failed_logins = 0
    db.session.flush()
