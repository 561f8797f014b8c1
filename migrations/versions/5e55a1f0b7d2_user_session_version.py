"""users.session_version: raised at logout, so every earlier session of the account ends for good

Revision ID: 5e55a1f0b7d2
Revises: c42335cf7cf2
Create Date: 2026-12-06 12:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '5e55a1f0b7d2'
down_revision = 'c42335cf7cf2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
