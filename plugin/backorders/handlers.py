"""Inbox handlers for order topics: read stock, record backorders, then mark the order in the store."""
from __future__ import annotations

import logging

from plugin.backorders import services
from plugin.backorders.payloads import parse_shopify_order

log = logging.getLogger(__name__)


def on_order_upsert(runtime, event) -> None:
    """orders/create, orders/updated and orders/cancelled."""
    order = parse_shopify_order(event.payload)
    process_order(runtime, services.load_shop(runtime, event.shop_id), order)


def process_order(runtime, shop, order) -> int:
    """An order as the store shows it now, from a webhook or from reconciliation: read the
    stock of its variants, record it with its backorders, mark the orders in the store.
    Returns the number of stock readings stored (0 for a stale update)."""
    connector = runtime.connector(shop.platform)
    variant_ids = sorted({str(item.variant_id) for item in order.line_items if item.variant_id})
    # Stock is read at processing time, outside any transaction; the snapshot carries its time.
    read_at = services.utcnow()
    stock = connector.read_inventory(shop, variant_ids) if variant_ids else []
    outcome = services.record_order(runtime, shop, order, stock, read_at)
    if outcome.stale:
        log.info("stale order update ignored", extra={"shop": shop.domain, "order": order.id})
        return 0
    write_marks(runtime, shop, outcome.orders_to_mark)
    log.info("order processed", extra={"shop": shop.domain, "order": order.id,
                                       "backordered_units": outcome.backordered_units})
    return len(stock)


def on_order_cancelled(runtime, event) -> None:
    """orders/cancelled carries the whole order with cancelled_at set: the same path cancels its
    backorders and, with the restocked units now in the stock reading, covers later orders."""
    on_order_upsert(runtime, event)


def write_marks(runtime, shop, order_ids) -> None:
    """Tag each order and store its line ETAs; skipped when the store already shows the same."""
    connector = runtime.connector(shop.platform)
    for order_id in sorted(order_ids):
        marks = services.marks_for_order(runtime, shop, order_id)
        if marks is None:
            continue
        platform_order_id, tag, etas = marks
        connector.write_backorder_marks(shop, platform_order_id, tag, etas)
        services.remember_marks(runtime, shop, platform_order_id, tag, etas)
