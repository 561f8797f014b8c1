"""The record codes' labels live in :mod:`web.labels`, with every other code family."""

from web.labels import LABELS, label, plain

__all__ = ["LABELS", "label", "plain"]
