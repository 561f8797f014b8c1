"""`panel rank`: aggregate a round's sheets and print the ranking."""

from __future__ import annotations

import click

commands: list[click.Command] = []
