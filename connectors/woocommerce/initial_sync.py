"""The first import of a newly connected WooCommerce store: its catalogue, then its open orders.

Webhooks bring what happens from now on and reconciliation what they missed; the orders already
waiting in the store when it connects come from here. Requests stay at what paging allows:
* the catalogue through `sync_catalog` (products 100 a page, each variable product's variations
  100 a page: connector.read_catalog);
* the orders 100 a page (`status` any, or the statuses asked for), nothing else per order: the
  stock of their items is the catalogue just read, not one stock call per order as an order
  webhook makes. Orders with nothing left to ship (completed, cancelled, pending payment) hold
  no backorder and are only counted.
The open orders are recorded through `services.record_order`, the path every order takes, newest
first: a variant's shortfall falls on its newest lines, so recording from the newest never
moves a backorder from one order to another half way (no churn, no email sent twice). Writing
the marks back (line ETAs and notes: three requests an order) is separate and optional.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

from sqlalchemy import select

from connectors.base import VariantStock
from connectors.woocommerce.manifest import PLATFORM
from connectors.woocommerce.orders import woo_order

log = logging.getLogger(__name__)


def import_store(runtime, shop_id: int, *, statuses: tuple[str, ...] | None = None, write_marks: bool = True,
                 progress=None) -> dict:
    """Catalogue and open orders of the shop; returns counts and timings."""
    from plugin.backorders import services
    from plugin.backorders.handlers import write_marks as write_order_marks
    from plugin.catalog.services import sync_catalog

    shop = services.load_shop(runtime, shop_id)
    connector = runtime.connector(PLATFORM)
    started = time.monotonic()
    catalog = sync_catalog(runtime, shop_id, bulk=False)
    catalog_seconds = time.monotonic() - started
    if progress:
        progress("catalogue", catalog)

    read_started = time.monotonic()
    params = {"status": ",".join(statuses)} if statuses else {}
    open_orders = []
    seen = 0
    for payload in connector.iter_orders(shop, params):
        seen += 1
        order = woo_order(payload)
        connector.remember_parents(shop, payload)
        if order.cancelled_at is None and any(line.open_quantity > 0 for line in order.line_items):
            open_orders.append(order)
    read_seconds = time.monotonic() - read_started
    if progress:
        progress("orders read", {"orders_seen": seen, "open": len(open_orders)})

    record_started = time.monotonic()
    stock, read_at = _catalogue_stock(runtime, shop_id)
    open_orders.sort(key=lambda o: (o.created_at, o.id), reverse=True)
    to_mark: set[int] = set()
    backordered_units = 0
    for order in open_orders:
        snaps = [stock[str(item.variant_id)] for item in order.line_items
                 if item.variant_id and str(item.variant_id) in stock]
        outcome = services.record_order(runtime, shop, order, snaps, read_at)
        to_mark |= outcome.orders_to_mark
        backordered_units += outcome.backordered_units
    record_seconds = time.monotonic() - record_started

    marks_seconds = 0.0
    if write_marks and to_mark:
        marks_started = time.monotonic()
        write_order_marks(runtime, shop, to_mark)
        marks_seconds = time.monotonic() - marks_started
    counts = {"catalog": catalog, "orders_seen": seen, "orders_recorded": len(open_orders),
              "orders_to_mark": len(to_mark), "marks_written": bool(write_marks and to_mark),
              "seconds": {"catalog": round(catalog_seconds, 2), "orders_read": round(read_seconds, 2),
                          "orders_recorded": round(record_seconds, 2), "marks": round(marks_seconds, 2)}}
    log.info("woocommerce store imported", extra={"shop": shop.domain, "import": counts})
    return counts


def _catalogue_stock(runtime, shop_id: int) -> tuple[dict[str, VariantStock], datetime]:
    """The readings the catalogue sync stored, as VariantStock, and the oldest reading's time."""
    from plugin.db.models import Variant

    stock: dict[str, VariantStock] = {}
    oldest: datetime | None = None
    with runtime.db.shop_session(shop_id) as session:
        rows = session.execute(select(
            Variant.platform_variant_id, Variant.platform_product_id, Variant.sku, Variant.title,
            Variant.inventory_tracked, Variant.continue_selling, Variant.location_quantities,
            Variant.inventory_read_at))
        for row in rows:
            stock[row.platform_variant_id] = VariantStock(
                platform_variant_id=row.platform_variant_id, platform_product_id=row.platform_product_id,
                sku=row.sku, title=row.title, tracked=bool(row.inventory_tracked),
                continue_selling=bool(row.continue_selling), by_location=dict(row.location_quantities or {}))
            if row.inventory_read_at is not None and (oldest is None or row.inventory_read_at < oldest):
                oldest = row.inventory_read_at
    return stock, oldest or datetime.now(timezone.utc)
