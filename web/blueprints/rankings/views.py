"""The views of the rankings area."""

from . import bp  # noqa: F401
