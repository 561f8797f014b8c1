"""One Alembic history builds the schema the models describe, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from web import create_app
from web.extensions import db

TEST_DATABASE_URL = os.environ.get("PANEL_TEST_DATABASE_URL")


def schema_differences(engine) -> list:
    """What Alembic's autogenerate would change to make the database match the models."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_an_empty_sqlite_database_upgrades_to_exactly_the_models(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/m.db"})
    with app.app_context():
        upgrade()
        assert schema_differences(db.engine) == []
        assert set(inspect(db.engine).get_table_names()) == set(db.metadata.tables) | {"alembic_version"}
        downgrade(revision="base")
        assert inspect(db.engine).get_table_names() == ["alembic_version"]
        db.engine.dispose()


def test_flask_db_check_finds_nothing_to_generate(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/m.db"})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PANEL_TEST_DATABASE_URL (PostgreSQL) not set")
def test_an_empty_postgresql_database_upgrades_to_exactly_the_models(tmp_path):
    url = make_url(TEST_DATABASE_URL)
    scratch = f"panel_migration_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{scratch}"'))
    except Exception as error:  # no CREATE DATABASE privilege: the session database was migrated from empty
        admin.dispose()
        pytest.skip(f"cannot create a scratch database: {error}")
    try:
        scratch_url = url.set(database=scratch).render_as_string(hide_password=False)
        app = create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": scratch_url})
        with app.app_context():
            upgrade()
            assert schema_differences(db.engine) == []
            downgrade(revision="base")
            assert inspect(db.engine).get_table_names() == ["alembic_version"]
            db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch}"'))
        admin.dispose()
