"""stored_panel_context (a round's matching context kept until its inputs change), job kind panel_context

Revision ID: 4c7d2e9a1f36
Revises: 4c6f1e8a9d27
Create Date: 2026-12-06 16:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '4c7d2e9a1f36'
down_revision = '4c6f1e8a9d27'
branch_labels = None
depends_on = None


OLD_KINDS = ('sheets_pdf', 'blank_pdf', 'ranking', 'records_upload', 'matching', 'import')
NEW_KINDS = OLD_KINDS + ('panel_context',)


def _set_kinds(kinds):
    # 'auto': PostgreSQL changes the constraint in place (a rebuilt table would restart its id sequence);
    # SQLite rebuilds the table, as it must.
    rule = "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"
    with op.batch_alter_table('job', schema=None, recreate='auto') as batch_op:
        batch_op.drop_constraint(op.f('ck_job_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_job_kind_valid'), rule)


def upgrade():
    op.create_table('stored_panel_context',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('data_version', sa.String(length=64), nullable=False),
    sa.Column('input_stamp', sa.String(length=64), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_stored_panel_context_round_id_round'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_panel_context')),
    sa.UniqueConstraint('round_id', name=op.f('uq_stored_panel_context_round_id'))
    )
    _set_kinds(NEW_KINDS)


def downgrade():
    op.execute("DELETE FROM job WHERE kind = 'panel_context'")
    _set_kinds(OLD_KINDS)
    op.drop_table('stored_panel_context')
