"""The ``panel`` console script: a Flask CLI group bound to :func:`web.create_app` (DESIGN §8).

The commands themselves live in web/commands/ and are put on the app's CLI by the factory.
"""

from __future__ import annotations

from flask.cli import FlaskGroup

from web import create_app


def build_cli() -> FlaskGroup:
    """The ``panel`` group: Flask's commands plus the app's own."""
    return FlaskGroup(create_app=lambda: create_app(), help="Panel: expert review for innovation-center calls.")


def main() -> None:
    """Entry point of the ``panel`` console script."""
    build_cli()(prog_name="panel")
