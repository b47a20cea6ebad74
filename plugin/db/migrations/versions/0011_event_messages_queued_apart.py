"""ETA events get their emails queued by the outbox job, not inside the recompute's write

The recompute used to put the emails its events call for into the outbox in its own write
transaction: for a supplier moving a thousand SKUs' dates that was ~13,000 messages (their
contexts, signed refund links, one big INSERT) holding the write lock, about half of the
incremental recompute. Now the recompute stores the events only, and
plugin/notifications/event_messages.py turns the events not yet handled into outbox rows at the
start of each outbox run, marking them `handled_at` in the same transaction (the column existed,
unused, since 0002). A partial index finds the unhandled ones. The events stored before this
migration had their emails queued already: they are marked handled when they were created.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE backorder_events SET handled_at = created_at WHERE handled_at IS NULL")
    op.create_index('ix_backorder_events_unhandled', 'backorder_events', ['shop_id', 'id'], unique=False,
                    postgresql_where=sa.text('handled_at IS NULL'), sqlite_where=sa.text('handled_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_backorder_events_unhandled', table_name='backorder_events')
