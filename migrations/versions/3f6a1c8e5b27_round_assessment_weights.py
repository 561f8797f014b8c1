"""round.assessment_weight_triennial / assessment_weight_annual: a triennial round's stored combination weights

Revision ID: 3f6a1c8e5b27
Revises: 7b3e9d2c41a8
Create Date: 2026-12-06 16:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '3f6a1c8e5b27'
down_revision = '7b3e9d2c41a8'
branch_labels = None
depends_on = None


RULE = ("(assessment_weight_triennial IS NULL AND assessment_weight_annual IS NULL) OR "
        "(assessment_weight_triennial BETWEEN 0 AND 1 AND assessment_weight_annual BETWEEN 0 AND 1)")


def upgrade():
    # 'auto': PostgreSQL adds the columns in place (a rebuilt table would restart the id sequence at 1)
    with op.batch_alter_table('round', schema=None, recreate='auto') as batch_op:
        batch_op.add_column(sa.Column('assessment_weight_triennial', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('assessment_weight_annual', sa.Float(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_round_assessment_weights_range'), RULE)


def downgrade():
    with op.batch_alter_table('round', schema=None, recreate='auto') as batch_op:
        batch_op.drop_constraint(op.f('ck_round_assessment_weights_range'), type_='check')
        batch_op.drop_column('assessment_weight_annual')
        batch_op.drop_column('assessment_weight_triennial')
