"""job kind records_upload (an organizer's confirmed upload of applications or experts)

Revision ID: 4c7e1a9b2d35
Revises: 3f6a1c8e5b27
Create Date: 2026-12-06 16:10:00
"""
from alembic import op


revision = '4c7e1a9b2d35'
down_revision = '3f6a1c8e5b27'
branch_labels = None
depends_on = None


OLD_KINDS = ('sheets_pdf', 'blank_pdf', 'ranking')
NEW_KINDS = OLD_KINDS + ('records_upload',)


def _set_kinds(kinds):
    # 'auto': PostgreSQL changes the constraint in place (a rebuilt table would restart its id sequence);
    # SQLite rebuilds the table, as it must.
    with op.batch_alter_table('job', schema=None, recreate='auto') as batch_op:
        batch_op.drop_constraint(op.f('ck_job_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_job_kind_valid'),
                                         "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")")


def upgrade():
    _set_kinds(NEW_KINDS)


def downgrade():
    op.execute("DELETE FROM job WHERE kind = 'records_upload'")
    _set_kinds(OLD_KINDS)
