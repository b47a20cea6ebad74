"""WooCommerce deliveries: the ping, signature checks, the inbox identity, and the topic handlers.

* Ping: when a webhook is saved active, WooCommerce posts `webhook_id=<id>` (form encoded, no
  X-WC-Webhook-* headers, no signature) and keeps the webhook only if it gets a 2xx. It is
  answered 200 and stored nowhere.
* Signature: X-WC-Webhook-Signature is base64(HMAC-SHA256(raw body, the webhook's secret)). The
  secret is per shop (we set it when subscribing), so the shop is found from
  X-WC-Webhook-Source (WordPress's home URL); unknown shop, no secret, or a mismatch: 401.
* Identity: the delivery id is a hash of the webhook id and the second it was sent, so it is not
  unique; WooCommerce fires order.updated several times for one save. The dedupe key is the
  webhook id + resource id + the resource's date_modified (+ a digest of the body, since
  date_modified has whole seconds and two states may share one): the same state of the same
  resource from the same webhook is stored once. (A deletion has no date: its delivery id stands in.)
* Topics are normalised to the Shopify style every platform uses here (order.updated ->
  orders/updated) and wired in webhooks/topics.py.
* Handlers: a payload is the resource's state when it was sent, so they upsert. Orders go down
  the path every order takes (`handlers.process_order`), whose staleness rule ignores an update
  older than the one stored. Products: an update older than our latest stock reading changes
  nothing; a newer one is the reading; one from the same second as our reading (date_modified
  has whole seconds) cannot be ordered, so the store is asked.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from datetime import datetime, timedelta, timezone
from typing import Mapping

from sqlalchemy import select

from connectors.base import WebhookEnvelope
from connectors.woocommerce.manifest import PLATFORM
from connectors.woocommerce.orders import deleted_order, native_backordered_units, order_modified, parse_time, woo_order
from connectors.woocommerce.stock import variant_stock
from connectors.woocommerce.store_url import domain_of_source

log = logging.getLogger(__name__)

_PING = re.compile(rb"^webhook_id=\d{1,20}$")
TOPICS = {
    "order.created": "orders/create",
    "order.updated": "orders/updated",
    "order.deleted": "orders/delete",
    "order.restored": "orders/restore",
    "product.created": "products/create",
    "product.updated": "products/update",
    "product.deleted": "products/delete",
    "product.restored": "products/restore",
}
# WooCommerce's date_modified has whole seconds; a reading taken within the same second as the
# change it reports must not make the change look older than the reading.
_CLOCK_SLACK = timedelta(seconds=1)


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    return not headers.get("X-WC-Webhook-Signature") and not headers.get("X-WC-Webhook-Topic") \
        and bool(_PING.match(body.strip()))


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def verify(headers: Mapping[str, str], body: bytes, secret_of) -> bool:
    received = (headers.get("X-WC-Webhook-Signature") or "").strip()
    domain = domain_of_source(headers.get("X-WC-Webhook-Source"))
    if not received or not domain:
        return False
    secret = secret_of(domain)
    if not secret:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), received.encode("ascii", "replace"))


def normalise_topic(topic: str | None) -> str:
    value = (topic or "").strip().lower()
    if value in TOPICS:
        return TOPICS[value]
    resource, _, event = value.partition(".")
    return f"{resource}s/{event}" if resource and event else value


def envelope(headers: Mapping[str, str], body: bytes) -> WebhookEnvelope:
    return WebhookEnvelope(topic=normalise_topic(headers.get("X-WC-Webhook-Topic")),
                           shop_domain=domain_of_source(headers.get("X-WC-Webhook-Source")) or "",
                           dedupe_key=dedupe_key(headers, body))


def dedupe_key(headers: Mapping[str, str], body: bytes) -> str | None:
    webhook_id = (headers.get("X-WC-Webhook-ID") or "").strip()
    try:
        payload = json.loads(body)
    except ValueError:
        return None  # the inbox keys it by the body's hash; the worker rejects it as unparsable
    if not isinstance(payload, dict) or payload.get("id") in (None, ""):
        return None
    modified = payload.get("date_modified_gmt") or payload.get("date_modified")
    if not modified:
        delivery = (headers.get("X-WC-Webhook-Delivery-ID") or "").strip()
        modified = f"delivery:{delivery}" if delivery else None
    if not modified:
        return None
    # date_modified has whole seconds, and two changes within one second (a payment and the
    # status change it causes, our own write and the merchant's) are two states under one date:
    # the body's digest tells them apart, while the same state sent twice keeps one key.
    digest = hashlib.sha256(body).hexdigest()[:16]
    return f"wc:{webhook_id or '-'}:{payload['id']}:{modified}:{digest}"


# -- handlers (wired in webhooks/topics.py) -------------------------------------------------------

def on_order(runtime, event) -> None:
    """order.created / order.updated / order.restored: the order as the store shows it."""
    from plugin.backorders import services
    from plugin.backorders.handlers import process_order

    payload = event.payload
    order = woo_order(payload)
    shop = services.load_shop(runtime, event.shop_id)
    connector = runtime.connector(PLATFORM)
    connector.remember_parents(shop, payload)
    process_order(runtime, shop, order)
    _compare_native_backorders(runtime, shop, payload)


def _compare_native_backorders(runtime, shop, payload: dict) -> None:
    """WooCommerce's own "Backordered: N" line meta (notify products only) against what the stock
    reading made of the line. The reading decides (the meta is what checkout saw, before any
    restock or later order); a difference is logged, so a store whose stock and meta disagree
    can be looked into."""
    from plugin.db.models import Backorder, OrderLine

    hints = {str(item.get("id")): units for item in payload.get("line_items") or []
             if (units := native_backordered_units(item)) is not None}
    if not hints or str(payload.get("status")) not in ("processing", "on-hold"):
        return
    with runtime.db.shop_session(shop.id) as session:
        recorded = dict(session.execute(
            select(OrderLine.platform_line_id, Backorder.quantity).join(Backorder, Backorder.order_line_id == OrderLine.id)
            .where(OrderLine.platform_line_id.in_(list(hints)), Backorder.status.in_(("open", "ready")))).all())
    differ = {line: {"woocommerce": units, "app": recorded.get(line, 0)}
              for line, units in hints.items() if recorded.get(line, 0) != units}
    if differ:
        log.info("woocommerce's backordered meta differs from the stock reading", extra={
            "shop": shop.domain, "order": payload.get("id"), "lines": differ})


def on_order_deleted(runtime, event) -> None:
    """order.deleted (moved to the trash, or deleted for good): its backorders are cancelled.

    The payload is only {"id": N}. The store is asked for the order: a trashed one is still there
    (status trash: cancelled); a deleted one answers 404 and is cancelled as of now. An order the
    app never stored has nothing to cancel."""
    from plugin.backorders import services
    from plugin.backorders.handlers import process_order
    from plugin.db.models import Order

    order_id = int((event.payload or {}).get("id") or 0)
    if not order_id:
        return
    shop = services.load_shop(runtime, event.shop_id)
    with runtime.db.shop_session(shop.id) as session:
        known = session.scalar(select(Order.id).where(Order.platform_order_id == str(order_id)))
    if known is None:
        return
    connector = runtime.connector(PLATFORM)
    payload = connector.read_order(shop, order_id)
    order = woo_order(payload) if payload else deleted_order(order_id, datetime.now(timezone.utc))
    process_order(runtime, shop, order)


def on_product(runtime, event) -> None:
    """product.updated (and created/restored): the product's or variation's stock, as a reading."""
    from plugin.backorders import services
    from plugin.backorders.handlers import write_marks
    from plugin.db.models import Variant

    payload = event.payload if isinstance(event.payload, dict) else {}
    if not payload.get("id"):
        return
    shop = services.load_shop(runtime, event.shop_id)
    connector = runtime.connector(PLATFORM)
    modified = order_modified(payload)
    kind = payload.get("type")
    now = datetime.now(timezone.utc)
    if kind == "variable":
        # The parent's own stock settings may be its variations' (manage_stock "parent"): re-read
        # the variations of it the app knows.
        with runtime.db.shop_session(shop.id) as session:
            ids = list(session.scalars(select(Variant.platform_variant_id).where(
                Variant.platform_product_id == str(payload["id"]), Variant.platform_variant_id != str(payload["id"]))))
        stock = connector.read_inventory(shop, ids) if ids else []
    elif kind in ("simple", "variation"):
        with runtime.db.shop_session(shop.id) as session:
            last_read = session.scalar(select(Variant.inventory_read_at).where(
                Variant.platform_variant_id == str(payload["id"])))
        if kind == "variation" and payload.get("parent_id"):
            connector.remember_parent(shop, str(payload["id"]), str(payload["parent_id"]))
        if last_read is not None and modified is not None and modified + _CLOCK_SLACK <= last_read:
            log.info("stale product update ignored", extra={"shop": shop.domain, "product": payload["id"]})
            return
        if last_read is not None and (modified is None or modified <= last_read):
            # Changed within the second of our last reading: which came first cannot be told, so
            # the store is asked (one call) instead of trusting either.
            stock = connector.read_inventory(shop, [str(payload["id"])])
        else:
            stock = [variant_stock(payload)]
    else:
        return  # grouped and external products hold no stock
    if not stock:
        return
    changed = services.refresh_variants(runtime, shop, stock, now)
    write_marks(runtime, shop, changed)


def on_product_deleted(runtime, event) -> None:
    """product.deleted: nothing to read. The daily catalogue sync retires variants gone from the
    store; the backorders already sold stay owed."""
    log.info("woocommerce product deleted", extra={"shop_id": event.shop_id, "product": (event.payload or {}).get("id")})


__all__ = ["is_ping", "verify", "envelope", "dedupe_key", "signature", "normalise_topic", "on_order",
           "on_order_deleted", "on_product", "on_product_deleted", "parse_time"]
