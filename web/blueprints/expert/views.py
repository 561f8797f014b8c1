"""The views of the expert area."""

from . import bp  # noqa: F401
