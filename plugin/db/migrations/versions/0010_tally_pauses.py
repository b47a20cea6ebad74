"""ETA recompute at scale: SQLite's tally update triggers can be paused for one shop inside a transaction

SQLite has no statement-level triggers, so migration 0009 tallies an UPDATE of backorders row by
row: up to four INSERTs into backorder_tally_changes for every line whose counted key moves. An
ETA recompute that writes a million lines (a shop's first recompute: every line gets its first
promise) spent half of its time there. Now such a bulk write inserts a row here for its shop,
tallies the lines it updates itself, set-based (plugin/eta/bulk.py: the old and new parts of
exactly those lines, grouped by key, one INSERT), and deletes the row again before it commits.
SQLite has one writer at a time and readers see only committed rows, so no other statement
ever sees a pause. The update triggers skip their shop's rows while one is there; insert and
delete triggers are untouched.

PostgreSQL's tally triggers are statement-level (one set-based INSERT per statement already) and
do not look at this table; it exists on both so the schemas stay the same.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""
from alembic import op
import sqlalchemy as sa

from plugin.db.migrations import siblings


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

PAUSED = "EXISTS (SELECT 1 FROM backorder_tally_pauses WHERE shop_id = NEW.shop_id)"


def _sqlite_triggers(migration, paused: bool) -> list[str]:
    """0009's two update triggers, with (paused=True) or without the pause check."""
    check = f"NOT {PAUSED} AND " if paused else ""
    return [
        f"CREATE TRIGGER backorders_tally_update_day AFTER UPDATE ON backorders WHEN {check}({migration._moved(1)}) "
        f"BEGIN {migration._sqlite_part('OLD', -1, 1)} {migration._sqlite_part('NEW', 1, 1)} END",
        f"CREATE TRIGGER backorders_tally_update_supplier AFTER UPDATE ON backorders WHEN {check}({migration._moved(2)}) "
        f"BEGIN {migration._sqlite_part('OLD', -1, 2)} {migration._sqlite_part('NEW', 1, 2)} END",
    ]


def _migration_0009():
    """0009's trigger SQL builders (this file's sibling)."""
    return siblings.load("0009_backorder_tallies.py")


def _replace_sqlite_update_triggers(paused: bool) -> None:
    op.execute("DROP TRIGGER IF EXISTS backorders_tally_update_day")
    op.execute("DROP TRIGGER IF EXISTS backorders_tally_update_supplier")
    for statement in _sqlite_triggers(_migration_0009(), paused):
        op.execute(statement)


def upgrade() -> None:
    op.create_table('backorder_tally_pauses',
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_backorder_tally_pauses_shop_id_shops'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', name=op.f('pk_backorder_tally_pauses'))
    )
    if op.get_bind().dialect.name == "sqlite":
        _replace_sqlite_update_triggers(paused=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _replace_sqlite_update_triggers(paused=False)
    op.drop_table('backorder_tally_pauses')
