"""The ``panel`` console script: a Flask CLI group bound to :func:`web.create_app` (DESIGN §8)."""

from __future__ import annotations

from flask.cli import FlaskGroup

from web import create_app
from web.commands import COMMANDS


def build_cli() -> FlaskGroup:
    """The ``panel`` group with every command registered."""
    group = FlaskGroup(create_app=lambda: create_app(), help="Panel: expert review for innovation-center calls.")
    for command in COMMANDS:
        group.add_command(command)
    return group


def main() -> None:
    """Entry point of the ``panel`` console script."""
    build_cli()(prog_name="panel")
