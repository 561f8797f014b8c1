"""``panel init``: create or upgrade the database and load the reference data."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database to the newest migration; load the taxonomy and default templates."""
    from flask_migrate import upgrade

    from web.extensions import db
    from web.services.reference_data import seed_reference_data

    upgrade()
    added = seed_reference_data()
    db.session.commit()
    click.echo(f"database {db.engine.url.render_as_string(hide_password=True)} is at the newest migration; "
               f"added {added['sectors']} sectors, {added['fields']} fields, {added['templates']} templates")
