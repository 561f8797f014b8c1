"""`panel match`: run the matcher for a round and store the result as a new assignment version."""

from __future__ import annotations

import click

commands: list[click.Command] = []
