"""assignment_version.status 'feasible': a run whose panels keep every rule but are not proven optimal (a meeting
or fair run with a gap, a solve stopped at a limit) was stored as 'optimal'

Revision ID: 5a1e3c7b9d42
Revises: 4c7d2e9a1f36
Create Date: 2026-12-06 20:40:00
"""
from alembic import op


revision = '5a1e3c7b9d42'
down_revision = '4c7d2e9a1f36'
branch_labels = None
depends_on = None


OLD_STATUSES = ('optimal', 'infeasible', 'manual')
NEW_STATUSES = OLD_STATUSES + ('feasible',)


def _set_statuses(statuses):
    # 'auto': PostgreSQL changes the constraint in place; SQLite rebuilds the table, as it must.
    with op.batch_alter_table('assignment_version', schema=None, recreate='auto') as batch_op:
        batch_op.drop_constraint(op.f('ck_assignment_version_status_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_assignment_version_status_valid'),
                                         "status IN (" + ", ".join(f"'{status}'" for status in statuses) + ")")


def upgrade():
    _set_statuses(NEW_STATUSES)


def downgrade():
    op.execute("UPDATE assignment_version SET status = 'optimal' WHERE status = 'feasible'")
    _set_statuses(OLD_STATUSES)
