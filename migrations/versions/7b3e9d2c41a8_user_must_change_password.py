"""users.must_change_password (an admin's forced reset), outbox kinds access_link and password_reset

Revision ID: 7b3e9d2c41a8
Revises: 1b58427b1c0f
Create Date: 2026-12-06 13:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '7b3e9d2c41a8'
down_revision = '1b58427b1c0f'
branch_labels = None
depends_on = None


OLD_KINDS = ('invitation', 'reminder', 'recusal_notice', 'decline_notice', 'reopened', 'flag_review', 'other')
NEW_KINDS = OLD_KINDS + ('access_link', 'password_reset')


def _kinds(kinds):
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def _set_kinds(kinds):
    # 'auto': PostgreSQL changes the constraint in place; a rebuilt table would draw its ids from a new sequence
    # starting at 1 and collide with the rows it copied. SQLite rebuilds the table, as it must.
    with op.batch_alter_table('outbox_message', schema=None, recreate='auto') as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_message_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_message_kind_valid'), _kinds(kinds))


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    _set_kinds(NEW_KINDS)


def downgrade():
    op.execute("DELETE FROM outbox_message WHERE kind IN ('access_link', 'password_reset')")
    _set_kinds(OLD_KINDS)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
