"""The views of the rounds area."""

from . import bp  # noqa: F401
