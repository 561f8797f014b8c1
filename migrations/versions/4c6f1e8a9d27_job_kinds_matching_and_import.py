"""job kinds matching and import, job.outcome (a matching run's version, an import's refs or its errors)

Revision ID: 4c6f1e8a9d27
Revises: 4c7e1a9b2d35
Create Date: 2026-12-06 16:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '4c6f1e8a9d27'
down_revision = '4c7e1a9b2d35'
branch_labels = None
depends_on = None


OLD_KINDS = ('sheets_pdf', 'blank_pdf', 'ranking', 'records_upload')
NEW_KINDS = OLD_KINDS + ('matching', 'import')


def _kinds(kinds):
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def _set_kinds(batch_op, kinds):
    batch_op.drop_constraint(op.f('ck_job_kind_valid'), type_='check')
    batch_op.create_check_constraint(op.f('ck_job_kind_valid'), _kinds(kinds))


def upgrade():
    # 'auto': PostgreSQL changes the table in place (a rebuilt table would draw its ids from a new sequence);
    # SQLite rebuilds it, as it must.
    with op.batch_alter_table('job', schema=None, recreate='auto') as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.JSON(), nullable=True))
        _set_kinds(batch_op, NEW_KINDS)


def downgrade():
    op.execute("DELETE FROM job WHERE kind IN ('matching', 'import')")
    with op.batch_alter_table('job', schema=None, recreate='auto') as batch_op:
        _set_kinds(batch_op, OLD_KINDS)
        batch_op.drop_column('outcome')
