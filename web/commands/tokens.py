"""`panel tokens`: API tokens for organizers' integrations."""

from __future__ import annotations

import click

commands: list[click.Command] = []
