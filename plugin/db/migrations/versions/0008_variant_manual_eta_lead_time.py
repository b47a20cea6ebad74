"""Merchant admin: a variant's manual ETA and manual lead time (Products page); a shop's job runs index (Jobs page)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manual_eta', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('manual_lead_time_days', sa.Integer(), nullable=True))

    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_runs_shop_id_started_at'), ['shop_id', 'started_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_runs_shop_id_started_at'))

    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.drop_column('manual_lead_time_days')
        batch_op.drop_column('manual_eta')
