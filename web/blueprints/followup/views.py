"""The views of the followup area."""

from . import bp  # noqa: F401
