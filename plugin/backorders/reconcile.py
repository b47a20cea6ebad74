"""Catching up with the store when webhooks did not arrive (Shopify does not guarantee delivery).

`reconcile_shop` lists the orders the store updated since a time and sends each one the app has
not stored, or stored in an older state, down the same path an order webhook takes
(`handlers.process_order`). `refresh_stock` re-reads the stock of every
variant with open or ready backorders, so a restock (or a loss of stock) reaches backorders
even when no order touches the variant. Both are idempotent: a second run changes nothing.

Platform calls stay outside transactions, as everywhere in this package. One order or batch that
fails is logged and counted in `errors`; the others still go through, and the next run retries.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from plugin.backorders import services
from plugin.backorders.handlers import process_order, write_marks
from plugin.backorders.payloads import ShopifyOrder
from plugin.db.models import Backorder, Order, Shop, Variant

log = logging.getLogger(__name__)

# Variant ids per inventory read in refresh_stock (the connector pages them further itself).
STOCK_BATCH = 100
# Order ids per lookup of what the app already stored.
LOOKUP_CHUNK = 500


def _counts() -> dict[str, int]:
    return {"orders_seen": 0, "orders_processed": 0, "variants_refreshed": 0, "errors": 0}


def reconcile_shop(runtime, shop_id: int, *, since: datetime) -> dict[str, int]:
    """Process the orders updated in the store at or after `since` that the app missed.

    An order is processed when the app has not stored it or stored an older update of it; one
    stored up to date is skipped without reading anything else from the store. Counts:
    orders_seen (listed by the store), orders_processed, variants_refreshed (stock readings
    stored while processing them), errors. Shopify's order search lags the orders by a few
    seconds: callers should let consecutive windows overlap (re-seen orders are skipped cheaply).
    The app's own tag write moves an order's updatedAt, so an order marked by one run is seen
    again by the next, which re-records it without changing anything, exactly as the
    orders/updated webhook that tag write causes would.
    """
    if since.tzinfo is None:
        raise ValueError("since must be timezone-aware")
    counts = _counts()
    shop = services.load_shop(runtime, shop_id)
    if not shop.is_installed:
        log.info("reconcile skipped: shop not installed", extra={"shop": shop.domain})
        return counts
    connector = runtime.connector(shop.platform)
    orders = connector.read_orders_updated_since(shop, since)
    counts["orders_seen"] = len(orders)
    stored = _stored_updates(runtime, shop, [str(order.id) for order in orders])
    for order in orders:
        if not _needs_processing(order, stored.get(str(order.id), _MISSING)):
            continue
        try:
            counts["variants_refreshed"] += process_order(runtime, shop, order)
        except Exception:  # one bad order must not hold back the others; the next run retries it
            counts["errors"] += 1
            log.exception("reconciling an order failed", extra={"shop": shop.domain, "order": order.id})
            continue
        counts["orders_processed"] += 1
    log.info("orders reconciled", extra={"shop": shop.domain, **counts})
    return counts


def refresh_stock(runtime, shop_id: int) -> dict[str, int]:
    """Re-read the stock of every variant with open or ready backorders and recompute them.

    Batches of at most STOCK_BATCH variants: each is read from the store, then stored and
    recomputed in one transaction, and the orders whose backorders changed get their marks
    rewritten. Counts: variants_refreshed (readings stored), orders_processed (orders whose
    backorders changed with the new stock), errors (failed batches); orders_seen stays 0.
    A variant deleted in the store returns no reading and is left as it is.
    """
    counts = _counts()
    shop = services.load_shop(runtime, shop_id)
    if not shop.is_installed:
        log.info("stock refresh skipped: shop not installed", extra={"shop": shop.domain})
        return counts
    connector = runtime.connector(shop.platform)
    variant_ids = _variants_with_open_backorders(runtime, shop)
    for start in range(0, len(variant_ids), STOCK_BATCH):
        batch = variant_ids[start:start + STOCK_BATCH]
        try:
            read_at = services.utcnow()
            stock = connector.read_inventory(shop, batch)
            changed = services.refresh_variants(runtime, shop, stock, read_at)
            write_marks(runtime, shop, changed)
        except Exception:  # the other batches still go through; the next run retries this one
            counts["errors"] += 1
            log.exception("refreshing stock failed", extra={"shop": shop.domain, "variants": len(batch)})
            continue
        counts["variants_refreshed"] += len(stock)
        counts["orders_processed"] += len(changed)
    log.info("stock refreshed", extra={"shop": shop.domain, **counts})
    return counts


# -- internals ---------------------------------------------------------------------------------

_MISSING = object()


def _needs_processing(order: ShopifyOrder, stored_update) -> bool:
    """Not stored yet, or stored from an older update than the store's."""
    if stored_update is _MISSING:
        return True
    update = order.updated_at or order.created_at
    return stored_update is None or stored_update < update


def _stored_updates(runtime, shop: Shop, platform_order_ids: list[str]) -> dict[str, datetime | None]:
    found: dict[str, datetime | None] = {}
    with runtime.db.shop_session(shop.id) as session:
        for start in range(0, len(platform_order_ids), LOOKUP_CHUNK):
            chunk = platform_order_ids[start:start + LOOKUP_CHUNK]
            rows = session.execute(
                select(Order.platform_order_id, Order.platform_updated_at).where(Order.platform_order_id.in_(chunk))
            )
            found.update({platform_id: updated for platform_id, updated in rows})
    return found


def _variants_with_open_backorders(runtime, shop: Shop) -> list[str]:
    with runtime.db.shop_session(shop.id) as session:
        return list(session.scalars(
            select(Variant.platform_variant_id)
            .join(Backorder, Backorder.variant_id == Variant.id)
            .where(Backorder.status.in_(services.OPEN_BACKORDER))
            .distinct()
            .order_by(Variant.platform_variant_id)
        ))
