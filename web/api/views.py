"""The API endpoints."""

from . import bp  # noqa: F401
