"""WooCommerce credentials on shops: store URL, consumer secret and webhook secret (encrypted)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 15:40:00
"""
from alembic import op
import sqlalchemy as sa
import plugin.db.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('store_url', sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column('api_secret', plugin.db.types.EncryptedText(), nullable=True))
        batch_op.add_column(sa.Column('webhook_secret', plugin.db.types.EncryptedText(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.drop_column('webhook_secret')
        batch_op.drop_column('api_secret')
        batch_op.drop_column('store_url')
