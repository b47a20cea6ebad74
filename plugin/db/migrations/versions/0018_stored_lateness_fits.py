"""The fitted supplier-lateness model is stored, and kept while the PO history it learnt from stands

Every recompute after a feed sync read the shop's whole purchase-order history and fitted
lateness again (0.16 s of an incremental recompute at 200,000 supply lines, SQLite), though most
syncs only move expected dates, which the fit does not read (it learns from promised and received
dates of lines that are not cancelled). A sync run now records whether it changed that history
(`sync_runs.history_changed`; runs before this migration count as having changed it), and the
last fit is kept per shop (`lateness_fits`) with the latest such run and the day it was fitted
for: a recompute in any process uses it while both still hold.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import plugin.db.types


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('history_changed', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.create_index('ix_sync_runs_history', ['shop_id', 'id'], unique=False,
                              postgresql_where=sa.text('history_changed'), sqlite_where=sa.text('history_changed'))
    op.create_table('lateness_fits',
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('history_run_id', sa.Integer(), nullable=False),
    sa.Column('fitted_for', sa.Date(), nullable=False),
    sa.Column('fit_version', sa.Integer(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('created_at', plugin.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_lateness_fits_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', name=op.f('pk_lateness_fits'))
    )


def downgrade() -> None:
    op.drop_table('lateness_fits')
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_runs_history')
        batch_op.drop_column('history_changed')
