"""Account operations of the admin area (deactivate, reactivate, unlock), each audited.

They sit here because web/services/accounts.py belongs to the foundation; they are meant to move there.
"""

from __future__ import annotations

from web.extensions import db
from web.models import User
from web.services import audit
from web.services.accounts import AccountError


def set_active(user: User, active: bool, *, actor: User) -> None:
    """Deactivate (no login, no API) or reactivate an account; an admin cannot deactivate themselves."""
    if user.id == actor.id and not active:
        raise AccountError("you cannot deactivate your own account")
    if user.active == active:
        raise AccountError(f"{user.username!r} is already {'active' if active else 'deactivated'}")
    audit.record("user.activate" if active else "user.deactivate", "user", user.id, actor=actor,
                 before={"active": user.active}, after={"active": active})
    user.active = active
    db.session.commit()


def unlock(user: User, *, actor: User) -> None:
    """Lift a lock from repeated failed logins before it runs out."""
    if user.locked_until is None and not user.failed_logins:
        raise AccountError(f"{user.username!r} is not locked")
    audit.record("user.unlock", "user", user.id, actor=actor,
                 before={"locked_until": user.locked_until, "failed_logins": user.failed_logins},
                 after={"locked_until": None, "failed_logins": 0})
    user.locked_until = None
    user.failed_logins = 0
    db.session.commit()
