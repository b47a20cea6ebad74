"""ETA recompute at scale: PostgreSQL's tally update trigger can be paused, as SQLite's can (0010)

Migration 0009's statement-level trigger tallies an UPDATE of backorders from its transition
tables: for a recompute chunk of 250,000 lines, 500,000 old and new rows split into parts and
grouped. The recompute already holds every line's old row (it read it) and its new values (it
writes them), so it sums the moves itself, as it does on SQLite (plugin/eta/bulk.py:
`_tally_moves`), and pauses the trigger for its own statement with a setting local to its
transaction (`set_config('backorder_desk.tally_paused', 'on', true)`, back to 'off' right after
the statement): no other transaction sees it, and nobody waits for it, unlike a row of
backorder_tally_pauses (its key is the shop). INSERT and DELETE are tallied as before.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 10:00:00
"""
from alembic import op

from plugin.db.migrations import siblings


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def _migration_0009():
    """0009's trigger SQL builders (this file's sibling)."""
    return siblings.load("0009_backorder_tallies.py")


def _function(paused: bool) -> str:
    m = _migration_0009()
    skip = ("        IF current_setting('backorder_desk.tally_paused', true) = 'on' THEN\n"
            "            RETURN NULL;  -- this transaction's bulk write tallies itself\n"
            "        END IF;\n") if paused else ""
    return f"""
CREATE OR REPLACE FUNCTION backorder_tally_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The shop check: a shop being deleted cascades to its backorders; nothing to count then.
    IF TG_OP = 'INSERT' THEN
        WITH rows AS (SELECT 1 AS sign, * FROM new_rows), parts AS ({m.PG_PARTS}) {m.PG_APPEND};
    ELSIF TG_OP = 'DELETE' THEN
        WITH rows AS (SELECT -1 AS sign, * FROM old_rows), parts AS ({m.PG_PARTS}) {m.PG_APPEND};
    ELSE
{skip}        WITH rows AS (SELECT 1 AS sign, * FROM new_rows UNION ALL SELECT -1, * FROM old_rows),
             parts AS ({m.PG_PARTS}) {m.PG_APPEND};
    END IF;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(paused=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(paused=False))
