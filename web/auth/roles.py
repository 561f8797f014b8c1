"""The role check: anonymous users go to the login page, users of another role get 403."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user

from web.extensions import login_manager


def roles_required(*roles: str) -> Callable:
    """Decorate a view so only logged-in users holding one of ``roles`` reach it."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
