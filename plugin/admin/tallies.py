"""The counts of backorder lines the database keeps for the admin (migration 0009), and their fold.

No writer calls this module: triggers on `backorders` append what each statement changed to
`backorder_tally_changes` (append-only, so concurrent writers never wait on each other there).
Readers sum `backorder_tallies` and those changes, which is exact at every moment; `fold` moves
a shop's changes into its tallies (one row per key), and readers do it first once a shop has
more than FOLD_AFTER of them, so what they sum stays a few tens of thousands of rows even on a
shop with a million lines. See plugin/db/models.py: _TallyColumns for the keys.
"""
from __future__ import annotations

from sqlalchemy import func, select, text, union_all
from sqlalchemy.orm import Session

from plugin.db.models import TALLY_BY_DAY, TALLY_BY_SUPPLIER, BackorderTally, BackorderTallyChange

__all__ = ["FOLD_AFTER", "TALLY_BY_DAY", "TALLY_BY_SUPPLIER", "fold", "fold_if_due", "tally_rows"]

FOLD_AFTER = 2000
_KEY = "grain, status, promised_eta, slipped, supplier_id, day"
_VALUES = "lines, units, value, priced_lines"
_NONZERO = "(lines <> 0 OR units <> 0 OR value <> 0 OR priced_lines <> 0)"
_ZERO = "lines = 0 AND units = 0 AND value = 0 AND priced_lines = 0"

# PostgreSQL: the changes taken out and added to their keys in one statement. Rows are locked in
# key order, so two readers folding at once wait for each other instead of deadlocking; writers
# append to the other table meanwhile. Keys that fell to zero are deleted right after.
_FOLD_POSTGRES = f"""
WITH moved AS (
    DELETE FROM backorder_tally_changes WHERE shop_id = :shop_id RETURNING {_KEY}, {_VALUES}
), summed AS (
    SELECT {_KEY}, sum(lines) AS lines, sum(units) AS units, sum(value) AS value, sum(priced_lines) AS priced_lines
      FROM moved GROUP BY {_KEY}
)
INSERT INTO backorder_tallies AS t (shop_id, {_KEY}, {_VALUES})
SELECT :shop_id, {_KEY}, {_VALUES} FROM summed ORDER BY {_KEY}
ON CONFLICT (shop_id, {_KEY}) DO UPDATE SET lines = t.lines + excluded.lines, units = t.units + excluded.units,
    value = t.value + excluded.value, priced_lines = t.priced_lines + excluded.priced_lines
RETURNING t.id, t.lines = 0 AND t.units = 0 AND t.value = 0 AND t.priced_lines = 0
"""
# SQLite has one writer at a time (and no NULLS NOT DISTINCT keys): the shop's rows, summed again.
_FOLD_SQLITE = (
    f"INSERT INTO backorder_tally_changes (shop_id, {_KEY}, {_VALUES}) "
    f"SELECT shop_id, {_KEY}, {_VALUES} FROM backorder_tallies WHERE shop_id = :shop_id",
    "DELETE FROM backorder_tallies WHERE shop_id = :shop_id",
    f"INSERT INTO backorder_tallies (shop_id, {_KEY}, {_VALUES}) "
    f"SELECT * FROM (SELECT shop_id, {_KEY}, sum(lines) AS lines, sum(units) AS units, sum(value) AS value, "
    f"sum(priced_lines) AS priced_lines FROM backorder_tally_changes WHERE shop_id = :shop_id "
    f"GROUP BY shop_id, {_KEY}) WHERE {_NONZERO}",
    "DELETE FROM backorder_tally_changes WHERE shop_id = :shop_id",
)


def tally_rows(shop_id: int, grain: int):
    """Both tables' rows of one grain of the shop, as one subquery (sum them: keys repeat)."""
    def rows(model):
        return (select(model.status, model.promised_eta, model.slipped, model.supplier_id, model.day, model.lines,
                       model.units, model.value, model.priced_lines)
                .where(model.shop_id == shop_id, model.grain == grain))

    return union_all(rows(BackorderTally), rows(BackorderTallyChange)).subquery("tallies")


def pending(session: Session, shop_id: int) -> int:
    return session.scalar(select(func.count()).select_from(BackorderTallyChange)
                          .where(BackorderTallyChange.shop_id == shop_id)) or 0


def fold(runtime, shop_id: int) -> int:
    """Move the shop's pending changes into its tallies (one transaction); returns the keys touched."""
    with runtime.db.shop_session(shop_id) as session:
        params = {"shop_id": shop_id}
        if session.get_bind().dialect.name == "postgresql":
            touched = session.execute(text(_FOLD_POSTGRES), params).all()
            empty = [row_id for row_id, zero in touched if zero]
            if empty:
                session.execute(text(f"DELETE FROM backorder_tallies WHERE id = ANY(:ids) AND {_ZERO}"), {"ids": empty})
            return len(touched)
        for statement in _FOLD_SQLITE:
            session.execute(text(statement), params)
        return session.scalar(select(func.count()).select_from(BackorderTally).where(BackorderTally.shop_id == shop_id))


def fold_if_due(runtime, shop_id: int, *, after: int = FOLD_AFTER) -> bool:
    with runtime.db.shop_session(shop_id) as session:
        due = pending(session, shop_id) > after
    if due:
        fold(runtime, shop_id)
    return due
