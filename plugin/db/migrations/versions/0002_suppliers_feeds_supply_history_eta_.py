"""suppliers, feeds, supply history, eta range and events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 07:23:26.669262
"""
from alembic import op
import sqlalchemy as sa
import plugin.db.types


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # New NOT NULL columns get server defaults so databases that already hold rows upgrade cleanly.
    op.create_table('supplier_skus',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_supplier_skus_shop_id_shops'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_supplier_skus_supplier_id_suppliers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supplier_skus')),
    sa.UniqueConstraint('supplier_id', 'sku', name=op.f('uq_supplier_skus_supplier_id_sku'))
    )
    with op.batch_alter_table('supplier_skus', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supplier_skus_shop_id'), ['shop_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supplier_skus_shop_id_sku'), ['shop_id', 'sku'], unique=False)

    op.create_table('sync_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=30), nullable=False, server_default='manual'),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_applied', sa.Integer(), nullable=False),
    sa.Column('rows_rejected', sa.Integer(), nullable=False),
    sa.Column('rows_unchanged', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('started_at', plugin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', plugin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_sync_runs_shop_id_shops'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_sync_runs_supplier_id_suppliers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_runs'))
    )
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_runs_shop_id'), ['shop_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_runs_supplier_id_started_at'), ['supplier_id', 'started_at'], unique=False)

    op.create_table('supply_line_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supply_line_id', sa.Integer(), nullable=False),
    sa.Column('changed_at', plugin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('old_expected_date', sa.Date(), nullable=True),
    sa.Column('new_expected_date', sa.Date(), nullable=True),
    sa.Column('old_status', sa.String(length=20), nullable=True),
    sa.Column('new_status', sa.String(length=20), nullable=True),
    sa.Column('sync_run_id', sa.Integer(), nullable=True),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_supply_line_changes_shop_id_shops'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supply_line_id'], ['supply_lines.id'], name=op.f('fk_supply_line_changes_supply_line_id_supply_lines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sync_run_id'], ['sync_runs.id'], name=op.f('fk_supply_line_changes_sync_run_id_sync_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supply_line_changes'))
    )
    with op.batch_alter_table('supply_line_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supply_line_changes_shop_id'), ['shop_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supply_line_changes_supply_line_id_changed_at'), ['supply_line_id', 'changed_at'], unique=False)

    op.create_table('backorder_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('backorder_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('promise_version', sa.Integer(), nullable=False, server_default='1'),
    sa.Column('old_date', sa.Date(), nullable=True),
    sa.Column('new_date', sa.Date(), nullable=True),
    sa.Column('created_at', plugin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('handled_at', plugin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['backorder_id'], ['backorders.id'], name=op.f('fk_backorder_events_backorder_id_backorders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_backorder_events_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backorder_events')),
    sa.UniqueConstraint('backorder_id', 'kind', 'promise_version', name=op.f('uq_backorder_events_backorder_id_kind_promise_version'))
    )
    with op.batch_alter_table('backorder_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_backorder_events_backorder_id'), ['backorder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_backorder_events_shop_id'), ['shop_id'], unique=False)

    with op.batch_alter_table('backorders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('eta_earliest', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('eta_likely', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('eta_latest', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('covered_by', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('supplier_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('promise_version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('eta_computed_at', plugin.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_backorders_supplier_id_suppliers'), 'suppliers', ['supplier_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('suppliers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('feed_kind', sa.String(length=30), nullable=False, server_default='manual'))
        batch_op.add_column(sa.Column('feed_url', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('feed_format', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('feed_auth_header', plugin.db.types.EncryptedText(), nullable=True))
        batch_op.add_column(sa.Column('feed_etag', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('feed_last_modified', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('sync_interval_minutes', sa.Integer(), nullable=False, server_default='360'))
        batch_op.add_column(sa.Column('sync_cron', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('last_synced_at', plugin.db.types.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('supply_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('promised_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('received_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('tracking', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('source', sa.String(length=30), nullable=False, server_default='manual'))
        batch_op.alter_column('po_reference',
               existing_type=sa.VARCHAR(length=255),
               nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_supply_lines_supplier_id_po_reference_sku'), ['supplier_id', 'po_reference', 'sku'])

    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('eta_dirty', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.create_index(batch_op.f('ix_variants_eta_dirty'), ['eta_dirty'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_variants_eta_dirty'))
        batch_op.drop_column('eta_dirty')

    with op.batch_alter_table('supply_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_supply_lines_supplier_id_po_reference_sku'), type_='unique')
        batch_op.alter_column('po_reference',
               existing_type=sa.VARCHAR(length=255),
               nullable=True)
        batch_op.drop_column('source')
        batch_op.drop_column('tracking')
        batch_op.drop_column('received_date')
        batch_op.drop_column('promised_date')
        batch_op.drop_column('location')

    with op.batch_alter_table('suppliers', schema=None) as batch_op:
        batch_op.drop_column('last_synced_at')
        batch_op.drop_column('sync_cron')
        batch_op.drop_column('sync_interval_minutes')
        batch_op.drop_column('feed_last_modified')
        batch_op.drop_column('feed_etag')
        batch_op.drop_column('feed_auth_header')
        batch_op.drop_column('feed_format')
        batch_op.drop_column('feed_url')
        batch_op.drop_column('feed_kind')
        batch_op.drop_column('active')

    with op.batch_alter_table('backorders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_backorders_supplier_id_suppliers'), type_='foreignkey')
        batch_op.drop_column('eta_computed_at')
        batch_op.drop_column('priority')
        batch_op.drop_column('promise_version')
        batch_op.drop_column('supplier_id')
        batch_op.drop_column('covered_by')
        batch_op.drop_column('eta_latest')
        batch_op.drop_column('eta_likely')
        batch_op.drop_column('eta_earliest')

    with op.batch_alter_table('backorder_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_backorder_events_shop_id'))
        batch_op.drop_index(batch_op.f('ix_backorder_events_backorder_id'))

    op.drop_table('backorder_events')
    with op.batch_alter_table('supply_line_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supply_line_changes_supply_line_id_changed_at'))
        batch_op.drop_index(batch_op.f('ix_supply_line_changes_shop_id'))

    op.drop_table('supply_line_changes')
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_runs_supplier_id_started_at'))
        batch_op.drop_index(batch_op.f('ix_sync_runs_shop_id'))

    op.drop_table('sync_runs')
    with op.batch_alter_table('supplier_skus', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supplier_skus_shop_id_sku'))
        batch_op.drop_index(batch_op.f('ix_supplier_skus_shop_id'))

    op.drop_table('supplier_skus')
