"""eta revisions on variants, original promise and refund offer on backorders, marks to push on orders

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 14:40:00
"""
from alembic import op
import sqlalchemy as sa
import plugin.db.types


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('eta_revision', sa.Integer(), nullable=False, server_default='0'))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('marks_dirty', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_orders_marks_dirty'), ['marks_dirty'], unique=False)

    with op.batch_alter_table('backorders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('original_eta', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('refund_offered_at', plugin.db.types.UTCDateTime(), nullable=True))

    # Existing promises become the original ones: refund offers measure from what was first told.
    op.execute("UPDATE backorders SET original_eta = promised_eta WHERE original_eta IS NULL")


def downgrade() -> None:
    with op.batch_alter_table('backorders', schema=None) as batch_op:
        batch_op.drop_column('refund_offered_at')
        batch_op.drop_column('original_eta')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_marks_dirty'))
        batch_op.drop_column('marks_dirty')

    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.drop_column('eta_revision')
