"""Accounts: creating users, logging in with the failed-login lock, ending sessions, setting passwords (audited).

Services here flush and never commit; the caller commits. A login is two units of work (see :func:`start_login`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from web.extensions import db
from web.models import ROLES, Expert, User, utcnow

from . import access_links, audit, outbox, passwords


class AccountError(ValueError):
    """A refused account operation, with a message for the user."""


def create_user(username: str, role: str, password: str, *, expert_ref: str | None = None,
                actor: User | None) -> User:
    """Create an account (flushed); an expert account must name the expert's ref."""
    username = username.strip()
    if not username:
        raise AccountError(_("The username must not be empty."))
    if role not in ROLES:
        raise AccountError(_("Unknown role “%(role)s”.", role=role))
    check_password_rules(password, username)
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(_("The username “%(username)s” is taken.", username=username))
    expert = _expert_for(role, expert_ref)
    user = User(username=username, role=role, expert=expert, active=True, failed_logins=0, session_version=0)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", "user", user.id, actor=actor,
                 after={"username": username, "role": role, "expert": expert_ref})
    return user


def _expert_for(role: str, expert_ref: str | None) -> Expert | None:
    """The expert an account of ``role`` links to (required for experts, refused for others)."""
    if role != "expert":
        if expert_ref:
            raise AccountError(_("Only expert accounts link to an expert."))
        return None
    if not expert_ref:
        raise AccountError(_("An expert account needs the expert's ref."))
    expert = db.session.scalar(select(Expert).where(Expert.ref == expert_ref))
    if expert is None:
        raise AccountError(_("No expert has the ref “%(ref)s”.", ref=expert_ref))
    if db.session.scalar(select(User.id).where(User.expert_id == expert.id)) is not None:
        raise AccountError(_("Expert %(ref)s already has an account.", ref=expert_ref))
    return expert


# ---------------------------------------------------------------- logging in

@dataclass(frozen=True)
class LoginAttempt:
    """A login attempt after it was counted: the account (None if unknown or inactive), its place in line, when.

    ``attempt`` is the account's failure count including this attempt, as the database returned it; 0 when the
    account is locked (the attempt was not counted) or unknown.
    """

    user_id: int | None
    attempt: int
    at: datetime


def start_login(username: str) -> LoginAttempt:
    """Count the attempt as a failure until the password proves it right (flushed; commit before checking).

    ``UPDATE … SET failed_logins = failed_logins + 1 … RETURNING`` runs in one statement on PostgreSQL and
    SQLite, so parallel attempts each get their own number and none is lost. The caller commits at once, before
    the slow password check, so that attempts running in parallel see each other's counts.
    """
    now = utcnow()
    user_id = db.session.scalar(select(User.id).where(User.username == username, User.active.is_(True)))
    if user_id is None:
        return LoginAttempt(None, 0, now)
    counted = db.session.scalar(
        update(User)
        .where(User.id == user_id, _unlocked(now))
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False))
    return LoginAttempt(user_id, counted or 0, now)


def finish_login(attempt: LoginAttempt, password: str) -> User | None:
    """The user when the password is right and the account was not locked meanwhile, else None (flushed).

    Every path checks one password hash — the account's, or a dummy one for unknown, inactive and locked
    accounts — so the response time does not tell them apart.
    """
    user = db.session.get(User, attempt.user_id) if attempt.user_id is not None else None
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    if attempt.attempt == 0 or attempt.attempt > limit:
        # Locked, or at least `limit` attempts already counted ahead of this one: refused without a look.
        check_password_hash(_dummy_hash(), password)
        if attempt.attempt > limit:
            _lock(user, attempt.at)
        audit.record("login.refused_locked", "user", user.id, actor=None, after={"username": user.username})
        return None
    if not _password_matches(user, password):
        audit.record("login.failure", "user", user.id, actor=None,
                     after={"username": user.username, "failed_logins": attempt.attempt})
        if attempt.attempt == limit:
            _lock(user, attempt.at)
        return None
    return _succeed(user, attempt.at)


def _password_matches(user: User, password: str) -> bool:
    """The password check of a login; an account still waiting for its first password costs one dummy check, so
    the response time does not tell it apart."""
    if not user.has_usable_password:
        check_password_hash(_dummy_hash(), password)
        return False
    return user.check_password(password)


def _succeed(user: User, now: datetime) -> User | None:
    """Reset the count and note the login, unless a parallel attempt locked the account meanwhile."""
    result = db.session.execute(
        update(User).where(User.id == user.id, _unlocked(now))
        .values(failed_logins=0, last_login_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        audit.record("login.refused_locked", "user", user.id, actor=None, after={"username": user.username})
        return None
    audit.record("login.success", "user", user.id, actor=user)
    return user


def _lock(user: User, now: datetime) -> None:
    """Lock the account for LOGIN_LOCK_MINUTES and start counting afresh (one statement, audited)."""
    until = now + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
    db.session.execute(update(User).where(User.id == user.id)
                       .values(locked_until=until, failed_logins=0).execution_options(synchronize_session=False))
    audit.record("user.lock", "user", user.id, actor=None, after={"username": user.username, "locked_until": until})


def _unlocked(now: datetime):
    """SQL condition: the account carries no lock that lasts beyond ``now``."""
    return or_(User.locked_until.is_(None), User.locked_until <= now)


@cache
def _dummy_hash() -> str:
    """A password hash, made like every account's, to check against when no account's hash may be checked."""
    return generate_password_hash("no such account")


def end_sessions(user: User, *, actor: User) -> None:
    """Log ``user`` out everywhere: raising the session version voids every session and remember-cookie."""
    db.session.execute(update(User).where(User.id == user.id)
                       .values(session_version=User.session_version + 1)
                       .execution_options(synchronize_session=False))
    audit.record("user.logout", "user", user.id, actor=actor)


# ---------------------------------------------------------------- admin changes

def set_active(user: User, active: bool, *, actor: User) -> None:
    """Deactivate (no login, no API) or reactivate an account; an admin cannot deactivate themselves."""
    if user.id == actor.id and not active:
        raise AccountError(_("You cannot deactivate your own account."))
    if user.active == active:
        raise AccountError(_("The account “%(username)s” is already active.", username=user.username) if active else
                           _("The account “%(username)s” is already deactivated.", username=user.username))
    audit.record("user.activate" if active else "user.deactivate", "user", user.id, actor=actor,
                 before={"active": user.active}, after={"active": active})
    user.active = active
    db.session.flush()


def unlock(user: User, *, actor: User) -> None:
    """Lift a lock from repeated failed logins before it runs out."""
    if user.locked_until is None and not user.failed_logins:
        raise AccountError(_("The account “%(username)s” is not locked.", username=user.username))
    audit.record("user.unlock", "user", user.id, actor=actor,
                 before={"locked_until": user.locked_until, "failed_logins": user.failed_logins},
                 after={"locked_until": None, "failed_logins": 0})
    user.locked_until = None
    user.failed_logins = 0
    db.session.flush()


# ---------------------------------------------------------------- passwords

def check_password_rules(password: str, username: str) -> None:
    """Raise :class:`AccountError` with every rule ``password`` breaks (web.services.passwords)."""
    reasons = passwords.refusals(password, username)
    if reasons:
        raise AccountError(" ".join(reasons))


def set_password(user: User, password: str, *, actor: User | None, action: str = "user.password_set") -> None:
    """Give ``user`` a new password that keeps the rules (flushed, audited as ``action``).

    Every other session of the account ends (the session version rises; the caller logs the current one in
    again), every personal link sent before dies (its fingerprint no longer matches), a forced reset is
    satisfied, and a lock from failed logins is lifted — whoever sets a password has proved who they are.
    """
    check_password_rules(password, user.username)
    audit.record(action, "user", user.id, actor=actor,
                 before={"must_change_password": user.must_change_password},
                 after={"must_change_password": False})
    user.set_password(password)
    user.must_change_password = False
    user.failed_logins = 0
    user.locked_until = None
    user.session_version = (user.session_version or 0) + 1
    db.session.flush()


def change_password(user: User, current: str, new: str, *, actor: User) -> None:
    """The account holder's own change: the current password first, then the rules (flushed, audited)."""
    if not user.check_password(current):
        raise AccountError(_("The current password is wrong."))
    if current == new:
        raise AccountError(_("The new password must differ from the current one."))
    set_password(user, new, actor=actor, action="user.password_change")


def force_reset(user: User, *, actor: User) -> None:
    """An admin makes ``user`` choose a new password at the next login; their open sessions end now."""
    if user.must_change_password:
        raise AccountError(_("%(name)s must already set a new password at the next login.", name=user.username))
    audit.record("user.force_reset", "user", user.id, actor=actor,
                 before={"must_change_password": False}, after={"must_change_password": True})
    user.must_change_password = True
    user.session_version = (user.session_version or 0) + 1
    db.session.flush()


def request_reset(username: str) -> None:
    """Mail the active account ``username`` names a personal link to set a new password (flushed, audited);
    nothing when there is no such account. The caller answers the same either way: no account probing.

    Only to an e-mail address on file, that is an expert's: a staff account has none, and a link left in the
    outbox would be readable by every organizer — a way for one to take over an admin's account. Staff ask an
    admin to force a reset, or the operator runs ``panel users set-password``.
    """
    user = db.session.scalar(select(User).where(User.username == username.strip(), User.active.is_(True)))
    if user is None:
        return
    address = user.expert.email if user.expert is not None else None
    if address:
        body = outbox.mail_body("auth/mail/reset.txt", user=user, access_link=access_links.link(user),
                                link_days=access_links.max_age_days())
        outbox.send(address, "password_reset", outbox.mail_text("[Review system] Reset your password"), body,
                    expert=user.expert)
    audit.record("user.reset_requested", "user", user.id, actor=None, after={"mailed": bool(address)})


# ---------------------------------------------------------------- invited experts

def expert_account(expert: Expert) -> User | None:
    """The account linked to ``expert``, if any."""
    return db.session.scalar(select(User).where(User.expert_id == expert.id))


def expert_accounts(expert_ids: set[int]) -> dict[int, User]:
    """The accounts linked to these experts, by expert id (one query)."""
    if not expert_ids:
        return {}
    return {user.expert_id: user for user in db.session.scalars(select(User).where(User.expert_id.in_(expert_ids)))}


def ensure_expert_account(expert: Expert, *, actor: User | None) -> tuple[User, bool]:
    """The expert's account, created when missing (flushed, audited) with no usable password: the expert sets
    one through their personal link. Returns the account and whether it was created now.

    The username is the expert's ref in lower case (``-2``, ``-3`` … when an unrelated account has it).
    """
    user = expert_account(expert)
    if user is not None:
        return user, False
    username = _free_username(expert.ref.lower())
    user = User(username=username, role="expert", expert=expert, active=True, failed_logins=0, session_version=0,
                must_change_password=False)
    user.set_unusable_password()
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", "user", user.id, actor=actor,
                 after={"username": username, "role": "expert", "expert": expert.ref, "password": "by link"})
    return user, True


def _free_username(wanted: str) -> str:
    """``wanted``, or the first ``wanted-N`` no account holds."""
    taken = set(db.session.scalars(select(User.username).where(User.username.like(f"{wanted}%"))))
    candidate, number = wanted, 1
    while candidate in taken:
        number += 1
        candidate = f"{wanted}-{number}"
    return candidate
