"""Drop the single-column shop_id indexes of backorders and orders

Every other index of `backorders`, and the unique key of `orders`, starts with shop_id, so these two
answered no query the others do not. They were not free: on PostgreSQL an update that cannot be
HOT (an ETA recompute moves a line's promise, status or supplier, all indexed; marking an order
for the push changes an indexed flag) writes an entry in every index of the table, and a full
recompute of a big shop updates a million lines and most of their orders.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 14:00:00
"""
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_backorders_shop_id', table_name='backorders')
    op.drop_index('ix_orders_shop_id', table_name='orders')


def downgrade() -> None:
    op.create_index('ix_orders_shop_id', 'orders', ['shop_id'], unique=False)
    op.create_index('ix_backorders_shop_id', 'backorders', ['shop_id'], unique=False)
