"""round.time_limit: seconds a site or job matching run's exact solve may take before it returns its best panels
with their gap (empty: until proven optimal), so an organizer can bound a national-scale run

Revision ID: 6d8f2b1c7e53
Revises: 5a1e3c7b9d42
Create Date: 2026-12-06 22:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '6d8f2b1c7e53'
down_revision = '5a1e3c7b9d42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_limit', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_round_time_limit_positive'), 'time_limit IS NULL OR time_limit >= 1')


def downgrade():
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_round_time_limit_positive'), type_='check')
        batch_op.drop_column('time_limit')
