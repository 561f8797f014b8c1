"""Logging in and out, and the role check every view uses."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import login, passwords  # noqa: E402,F401  (register the views on bp)
from .roles import roles_required  # noqa: E402

__all__ = ["bp", "roles_required"]
