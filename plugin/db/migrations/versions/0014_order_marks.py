"""Orders to tell the store about are rows of order_marks, not a flag on orders

`orders.marks_dirty` was set for every order whose lines' ETAs a recompute changed: hundreds of
thousands of wide rows rewritten for one flag, and on PostgreSQL, since the flag was indexed,
a new row version with an entry in every index of orders each time. A row of a narrow table
(shop, order, marked at; WITHOUT ROWID on SQLite) is inserted instead, and the push job deletes
it once the store shows the marks. Marks set now move over.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 12:00:00
"""
from alembic import op
import sqlalchemy as sa
import plugin.db.types


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('order_marks',
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('marked_at', plugin.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_marks_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_order_marks_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'order_id', name=op.f('pk_order_marks')),
    sqlite_with_rowid=False,
    )
    true = "true" if op.get_bind().dialect.name == "postgresql" else "1"
    op.execute(f"INSERT INTO order_marks (shop_id, order_id, marked_at) "
               f"SELECT shop_id, id, updated_at FROM orders WHERE marks_dirty = {true}")
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_marks_dirty'))
        batch_op.drop_column('marks_dirty')


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('marks_dirty', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_orders_marks_dirty'), ['marks_dirty'], unique=False)
    true = "true" if op.get_bind().dialect.name == "postgresql" else "1"
    op.execute(f"UPDATE orders SET marks_dirty = {true} WHERE id IN (SELECT order_id FROM order_marks)")
    op.drop_table('order_marks')
