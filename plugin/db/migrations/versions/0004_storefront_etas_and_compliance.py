"""storefront ETAs on variants (next-unit promise, metafield digests) and compliance requests

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 14:35:00
"""
from alembic import op
import sqlalchemy as sa
import plugin.db.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('compliance_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=50), nullable=False),
    sa.Column('request_key', sa.String(length=255), nullable=False),
    sa.Column('customer_ref', sa.String(length=64), nullable=True),
    sa.Column('export', sa.JSON(), nullable=False),
    sa.Column('received_at', plugin.db.types.UTCDateTime(), nullable=False),
    sa.Column('completed_at', plugin.db.types.UTCDateTime(), nullable=True),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_compliance_requests_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_requests')),
    sa.UniqueConstraint('shop_id', 'topic', 'request_key', name=op.f('uq_compliance_requests_shop_id_topic_request_key'))
    )
    with op.batch_alter_table('compliance_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_requests_shop_id'), ['shop_id'], unique=False)

    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('product_title', sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column('product_handle', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('next_eta_promise', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('next_eta_earliest', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('next_eta_likely', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('next_eta_latest', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('next_eta_covered_by', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('storefront_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('storefront_pushed_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('storefront_dirty', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_variants_storefront_dirty'), ['storefront_dirty'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_variants_storefront_dirty'))
        for column in ('storefront_dirty', 'storefront_pushed_digest', 'storefront_digest', 'next_eta_covered_by',
                       'next_eta_latest', 'next_eta_likely', 'next_eta_earliest', 'next_eta_promise',
                       'product_handle', 'product_title'):
            batch_op.drop_column(column)

    with op.batch_alter_table('compliance_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_requests_shop_id'))

    op.drop_table('compliance_requests')
