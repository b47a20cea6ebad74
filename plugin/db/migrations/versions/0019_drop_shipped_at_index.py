"""No index on backorders.shipped_at: nothing reads lines by it since the tallies (0009)

Migration 0007 indexed (shop_id, shipped_at) for the admin's "promises kept", which the tallies
now count by ship day. No query filters or sorts backorder lines by shipped_at, and on
PostgreSQL every line an ETA recompute moves (a new row version: it changes indexed columns) got
an entry in it too: one of the eight index entries per line.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 12:00:00
"""
from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('backorders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_backorders_shop_id_shipped_at'))


def downgrade() -> None:
    with op.batch_alter_table('backorders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_backorders_shop_id_shipped_at'), ['shop_id', 'shipped_at'], unique=False)
