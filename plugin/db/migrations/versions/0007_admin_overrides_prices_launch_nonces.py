"""Merchant admin: ETA overrides and ship dates on backorders, line prices, launch nonces, list indexes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:00:00
"""
from alembic import op
import sqlalchemy as sa
import plugin.db.types


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('launch_nonces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('used_at', plugin.db.types.UTCDateTime(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_launch_nonces_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_launch_nonces')),
    sa.UniqueConstraint('shop_id', 'nonce', name=op.f('uq_launch_nonces_shop_id_nonce'))
    )
    with op.batch_alter_table('launch_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_launch_nonces_shop_id'), ['shop_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_launch_nonces_used_at'), ['used_at'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('currency', sa.String(length=3), nullable=True))

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_price', sa.Numeric(precision=14, scale=4), nullable=True))

    with op.batch_alter_table('backorders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('eta_override', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('eta_override_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('eta_override_at', plugin.db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('shipped_at', plugin.db.types.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_backorders_shop_id_status_promised_eta'),
                              ['shop_id', 'status', 'promised_eta'], unique=False)
        batch_op.create_index(batch_op.f('ix_backorders_shop_id_status_ordered_at'),
                              ['shop_id', 'status', 'ordered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_backorders_shop_id_supplier_id_status'),
                              ['shop_id', 'supplier_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_backorders_shop_id_shipped_at'), ['shop_id', 'shipped_at'], unique=False)
        batch_op.create_index('ix_backorders_overridden', ['shop_id', 'variant_id'], unique=False,
                              postgresql_where=sa.text('eta_override IS NOT NULL'),
                              sqlite_where=sa.text('eta_override IS NOT NULL'))

    # Lines shipped before ship dates were kept: their last change is the best date there is.
    op.execute("UPDATE backorders SET shipped_at = updated_at WHERE status = 'shipped' AND shipped_at IS NULL")


def downgrade() -> None:
    with op.batch_alter_table('backorders', schema=None) as batch_op:
        batch_op.drop_index('ix_backorders_overridden')
        batch_op.drop_index(batch_op.f('ix_backorders_shop_id_shipped_at'))
        batch_op.drop_index(batch_op.f('ix_backorders_shop_id_supplier_id_status'))
        batch_op.drop_index(batch_op.f('ix_backorders_shop_id_status_ordered_at'))
        batch_op.drop_index(batch_op.f('ix_backorders_shop_id_status_promised_eta'))
        batch_op.drop_column('shipped_at')
        batch_op.drop_column('eta_override_at')
        batch_op.drop_column('eta_override_reason')
        batch_op.drop_column('eta_override')

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_column('unit_price')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('currency')

    with op.batch_alter_table('launch_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_launch_nonces_used_at'))
        batch_op.drop_index(batch_op.f('ix_launch_nonces_shop_id'))

    op.drop_table('launch_nonces')
