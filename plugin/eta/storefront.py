"""The storefront's date, kept by the ETA recompute: what one more unit ordered now would be promised.

For every variant out of stock and sold anyway (tracked, continue selling, "available" <= 0) the
recompute of its SKU also asks the engine for the next unit's promise (EtaEstimator.next_unit:
behind every line already waiting) and stores it on the variant (`next_eta_*`) with the digest of
the metafield value the store should show (plugin/storefront/push.py). A variant back in stock,
or no longer sold beyond stock, gets nothing, and its digest None. Only a changed digest is
written, and it sets `storefront_dirty` for the push job. Reads and writes go through the
recompute's BulkSql, in its snapshot and its write transaction.
"""
from __future__ import annotations

from datetime import date, datetime

from plugin.storefront.push import storefront_digest

# (variant id, continue selling, tracked, sellable, digest now) of the batch's variants.
_STATE = ("SELECT id, continue_selling, inventory_tracked, sellable_quantity, storefront_digest "
          "FROM variants WHERE shop_id = {p} AND {ids}")


def read_state(sql, variant_ids: list[int]) -> dict[int, tuple]:
    if not variant_ids:
        return {}
    rows = sql._all(_STATE.format(p=sql.p, ids=sql._in("id")), (sql.shop_id, sql._list(variant_ids)))
    return {row[0]: (bool(row[1]), bool(row[2]), row[3], row[4]) for row in rows}


def storefront_targets(sql) -> list[tuple]:
    """(id, sku) of variants the storefront speaks of, or spoke of: for a full recompute."""
    p = sql.p
    return sql._all(
        f"SELECT id, sku FROM variants WHERE shop_id = {p} AND (({sql._true('continue_selling')} AND "
        f"{sql._true('inventory_tracked')} AND sellable_quantity <= 0) OR storefront_digest IS NOT NULL)",
        (sql.shop_id,))


def plan_storefront(variants: list[tuple], state: dict[int, tuple], waiting: dict[str, int], free: dict[str, int],
                    estimator, lots) -> list[tuple]:
    """Rows (variant id, promise, earliest, likely, latest, covered by, digest) whose digest changes.

    `variants`: the batch's (id, sku key, sellable, revision); `waiting`: units of open lines per
    SKU key; `free`: stock per SKU key not yet claimed by them (as _plan counts it).
    """
    rows = []
    answers: dict[str, object] = {}
    lots_of: dict[str, list] | None = None  # built on first need: next_unit reads one SKU's lots
    for variant_id, key, _sellable, _revision in variants:
        found = state.get(variant_id)
        if found is None:
            continue
        continue_selling, tracked, sellable, old_digest = found
        eta = None
        if continue_selling and tracked and sellable <= 0:
            eta = answers.get(key)
            if eta is None:
                if lots_of is None:
                    lots_of = {}
                    for lot in lots:
                        lots_of.setdefault(lot.sku, []).append(lot)
                eta = answers[key] = estimator.next_unit(key, waiting.get(key, 0), free.get(key, 0),
                                                         lots_of.get(key, ()))
            if eta.covered_by == "stock":
                eta = None  # the unit is on the shelf after all: nothing to say
        if eta is None:
            values = (None, None, None, None, None)
        else:
            values = (eta.promise, eta.earliest, eta.likely, eta.latest, eta.covered_by)
        digest = storefront_digest(*values[:4])
        if digest != old_digest:
            rows.append((variant_id, *values, digest))
    return rows


def write_storefront(sql, rows: list[tuple], now: datetime) -> None:
    if not rows:
        return
    true = "true" if sql.postgres else "1"
    p = sql.p
    statement = (f"UPDATE variants SET next_eta_promise = {p}, next_eta_earliest = {p}, next_eta_likely = {p}, "
                 f"next_eta_latest = {p}, next_eta_covered_by = {p}, storefront_digest = {p}, "
                 f"storefront_dirty = {true}, updated_at = {p} WHERE id = {p} AND shop_id = {p}")
    stamp = sql._ts_out(now)
    day = (lambda d: d) if sql.postgres else (lambda d: d.isoformat() if isinstance(d, date) else d)
    cursor = sql.dbapi.cursor()
    try:
        cursor.executemany(statement, [(day(a), day(b), day(c), day(d), covered, digest, stamp, variant_id,
                                        sql.shop_id) for variant_id, a, b, c, d, covered, digest in rows])
    finally:
        cursor.close()
