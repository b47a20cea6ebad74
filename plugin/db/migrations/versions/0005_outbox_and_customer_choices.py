"""email outbox columns (lease, context, links to the order and line) and customer choices

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 15:10:00
"""
from alembic import op
import sqlalchemy as sa
import plugin.db.types


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customer_choices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('backorder_id', sa.Integer(), nullable=False),
    sa.Column('promise_version', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.String(length=64), nullable=False),
    sa.Column('choice', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('accepted_eta', sa.Date(), nullable=True),
    sa.Column('refund_reference', sa.String(length=255), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', plugin.db.types.UTCDateTime(), nullable=False),
    sa.Column('decided_at', plugin.db.types.UTCDateTime(), nullable=True),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['backorder_id'], ['backorders.id'], name=op.f('fk_customer_choices_backorder_id_backorders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_customer_choices_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_choices')),
    sa.UniqueConstraint('backorder_id', 'promise_version', name=op.f('uq_customer_choices_backorder_id_promise_version')),
    sa.UniqueConstraint('token_id', name=op.f('uq_customer_choices_token_id'))
    )
    with op.batch_alter_table('customer_choices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_choices_backorder_id'), ['backorder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_choices_shop_id'), ['shop_id'], unique=False)

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('backorder_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('context', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('locked_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('locked_until', plugin.db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('message_id', sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f('ix_notifications_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_status_next_attempt_at'), ['status', 'next_attempt_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_notifications_order_id_orders'), 'orders', ['order_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_notifications_backorder_id_backorders'), 'backorders', ['backorder_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notifications_backorder_id_backorders'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_notifications_order_id_orders'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_notifications_status_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_notifications_order_id'))
        for column in ('message_id', 'locked_until', 'locked_by', 'reason', 'context', 'backorder_id', 'order_id'):
            batch_op.drop_column(column)

    with op.batch_alter_table('customer_choices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_choices_shop_id'))
        batch_op.drop_index(batch_op.f('ix_customer_choices_backorder_id'))

    op.drop_table('customer_choices')
