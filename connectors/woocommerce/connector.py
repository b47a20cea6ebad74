"""WooCommerceConnector: the Connector protocol spoken in WooCommerce's terms (REST v3, signed webhooks).

All HTTP goes through `WooClient` (connectors/woocommerce/client.py) with one requests session
per thread; `runtime.extras["woocommerce_adapter"]` (a requests adapter) replaces the internet
in tests, the demo and benchmarks, as `runtime.shopify_transport` does for Shopify.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Mapping, Sequence

from sqlalchemy import select

from connectors.base import ConnectorError, IncomingShipment, LineEta, VariantStock, WebhookEnvelope
from connectors.woocommerce import webhooks
from connectors.woocommerce.client import PER_PAGE, WooClient, WooCommerceError
from connectors.woocommerce.manifest import PLATFORM
from connectors.woocommerce.orders import variation_parents, woo_order
from connectors.woocommerce.stock import WooCatalogRead, read_stock
from connectors.woocommerce.transport import ADAPTER_KEY, Sessions

if TYPE_CHECKING:
    from plugin.backorders.payloads import ShopifyOrder

log = logging.getLogger(__name__)

STOREFRONT_BATCH = 100  # products/batch takes 100 items; the push job sends 25 at a time
PARENT_CACHE_SIZE = 200_000


class WooCommerceConnector:
    platform = PLATFORM

    def __init__(self, runtime):
        self.runtime = runtime
        self._sessions: Sessions | None = None
        self._sessions_lock = threading.Lock()
        # variation id -> product id, learnt from order lines and readings (the REST API reads a
        # variation under its product). Bounded; the variants table is the durable copy.
        self._parents: OrderedDict[tuple[int, str], str] = OrderedDict()
        self._parents_lock = threading.Lock()

    # -- HTTP ---------------------------------------------------------------------------------
    def sessions(self) -> Sessions:
        with self._sessions_lock:
            if self._sessions is None:
                self._sessions = Sessions(self.runtime.extras.get(ADAPTER_KEY))
            return self._sessions

    def client_for(self, store_url: str, consumer_key: str, consumer_secret: str, **kwargs) -> WooClient:
        return WooClient(store_url, consumer_key, consumer_secret, session_source=self.sessions().get,
                         **{**self.runtime.extras.get("woocommerce_client_options", {}), **kwargs})

    def client(self, shop, **kwargs) -> WooClient:
        if not shop.store_url or not shop.access_token or not shop.api_secret:
            raise WooCommerceError(f"{shop.domain} has no API keys; connect the store again", retryable=False)
        return self.client_for(shop.store_url, shop.access_token, shop.api_secret, **kwargs)

    def close(self) -> None:
        if self._sessions is not None:
            self._sessions.close()

    # -- webhooks -----------------------------------------------------------------------------
    def is_ping(self, headers: Mapping[str, str], body: bytes) -> bool:
        """WooCommerce's ping on webhook creation: answered 200, stored nowhere (webhooks/blueprint.py)."""
        return webhooks.is_ping(headers, body)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        return webhooks.verify(headers, body, self._webhook_secret)

    def webhook_envelope(self, headers: Mapping[str, str], body: bytes = b"") -> WebhookEnvelope:
        return webhooks.envelope(headers, body)

    def _webhook_secret(self, domain: str) -> str | None:
        from plugin.db.models import Shop

        with self.runtime.db.session() as session:
            return session.scalar(select(Shop.webhook_secret).where(
                Shop.platform == PLATFORM, Shop.domain == domain, Shop.status == "installed"))

    # -- parents of variations ----------------------------------------------------------------
    def remember_parent(self, shop, variant_id: str, product_id: str) -> None:
        with self._parents_lock:
            self._parents[(shop.id, str(variant_id))] = str(product_id)
            self._parents.move_to_end((shop.id, str(variant_id)))
            while len(self._parents) > PARENT_CACHE_SIZE:
                self._parents.popitem(last=False)

    def remember_parents(self, shop, order_payload: dict) -> None:
        for variant_id, product_id in variation_parents(order_payload).items():
            self.remember_parent(shop, variant_id, product_id)

    def _parents_of(self, shop, ids: Sequence[str]) -> dict[str, str]:
        from plugin.db.models import Variant

        wanted = [str(i) for i in ids]
        found: dict[str, str] = {}
        with self._parents_lock:
            for variant_id in wanted:
                parent = self._parents.get((shop.id, variant_id))
                if parent:
                    found[variant_id] = parent
        missing = [v for v in wanted if v not in found]
        if missing:
            with self.runtime.db.shop_session(shop.id) as session:
                for start in range(0, len(missing), 500):
                    rows = session.execute(select(Variant.platform_variant_id, Variant.platform_product_id).where(
                        Variant.platform_variant_id.in_(missing[start:start + 500])))
                    found.update({v: p for v, p in rows if p})
        return found

    # -- reading ------------------------------------------------------------------------------
    def read_inventory(self, shop, platform_variant_ids: Sequence[str]) -> list[VariantStock]:
        ids = [str(i) for i in platform_variant_ids]
        stock = read_stock(self.client(shop), ids, self._parents_of(shop, ids))
        for snap in stock:
            if snap.platform_product_id and snap.platform_product_id != snap.platform_variant_id:
                self.remember_parent(shop, snap.platform_variant_id, snap.platform_product_id)
        return stock

    def read_catalog(self, shop, *, bulk: bool | None = None) -> WooCatalogRead:
        """Every simple product and variation; WooCommerce has no bulk export, so `bulk` is ignored."""
        return WooCatalogRead(self.client(shop), concurrency=int(self.runtime.extras.get("woocommerce_concurrency", 4)))

    def read_order(self, shop, order_id) -> dict | None:
        """The order's REST representation, or None when the store no longer has it."""
        try:
            return self.client(shop).get(f"orders/{order_id}")
        except WooCommerceError as exc:
            if exc.status == 404:
                return None
            raise

    def iter_orders(self, shop, params: dict | None = None):
        """Every order matching `params`, oldest id first, as REST payloads (100 a request)."""
        return self.client(shop).paginate("orders", {"orderby": "id", "order": "asc", **(params or {})},
                                          per_page=PER_PAGE)

    def read_orders_updated_since(self, shop, since: datetime) -> list[ShopifyOrder]:
        """Orders modified at or after `since` (modified_after, GMT), oldest update first.

        Paged by id: orders modified while we page only join the set (at its end when new, or
        earlier, which re-shows one we already have), so none is skipped. Reconciliation calls
        this every run; it is also where disabled webhooks are found and re-enabled, since
        WooCommerce disables a webhook after failed deliveries and never retries them.
        """
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        self.repair_subscriptions(shop)
        # modified_after is strict and to the second: a second earlier includes `since` itself.
        earlier = since.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0) - timedelta(seconds=1)
        stamp = earlier.isoformat(timespec="seconds")
        found: dict[int, ShopifyOrder] = {}
        for payload in self.iter_orders(shop, {"modified_after": stamp, "dates_are_gmt": "true"}):
            order = woo_order(payload)
            self.remember_parents(shop, payload)
            known = found.get(order.id)
            if known is None or (order.updated_at or order.created_at) >= (known.updated_at or known.created_at):
                found[order.id] = order
        return sorted(found.values(), key=lambda o: (o.updated_at or o.created_at, o.id))

    def repair_subscriptions(self, shop):
        """Re-enable disabled webhooks and recreate missing ones. Failures are logged, not raised:
        the orders are still read."""
        from connectors.woocommerce.subscriptions import delivery_url, ensure_subscriptions

        if not shop.webhook_secret:
            return None
        try:
            return ensure_subscriptions(self.client(shop), delivery_url(self.runtime), shop.webhook_secret)
        except ConnectorError as exc:
            log.warning("woocommerce webhooks not checked", extra={"shop": shop.domain, "error": str(exc)[:300]})
            return None

    def read_incoming_supply(self, shop, also_ids: Sequence[str] = ()) -> list[IncomingShipment]:
        return []  # WooCommerce core tracks no incoming shipments

    # -- writing ------------------------------------------------------------------------------
    def write_backorder_marks(self, shop, platform_order_id: str, tag: str, etas: Sequence[LineEta]) -> None:
        from connectors.woocommerce.marks import write_order_marks

        write_order_marks(self.client(shop), platform_order_id, etas,
                          fallback_locale=str(shop.setting("merchant_locale") or "en"),
                          note_to_customer=bool(shop.setting("woocommerce_note_to_customer")))

    def set_variant_etas(self, shop, items: Sequence[tuple[str, str]]) -> None:
        self._write_product_etas(shop, list(items))

    def clear_variant_etas(self, shop, platform_variant_ids: Sequence[str]) -> None:
        self._write_product_etas(shop, [(variant_id, None) for variant_id in platform_variant_ids])

    def _write_product_etas(self, shop, items: list[tuple[str, str | None]]) -> None:
        from connectors.woocommerce.marks import write_product_etas

        if len(items) > STOREFRONT_BATCH:
            raise ValueError(f"at most {STOREFRONT_BATCH} variants per call")
        ids = [str(variant_id) for variant_id, _ in items]
        parents = self._parents_of(shop, ids)
        unknown = [v for v in ids if v not in parents]
        if unknown:  # never read yet: one stock read tells which are variations, and of what
            for snap in self.read_inventory(shop, unknown):
                if snap.platform_product_id:
                    parents[snap.platform_variant_id] = snap.platform_product_id
        write_product_etas(self.client(shop), items, parents)

    def refund_line(self, shop, platform_order_id: str, platform_line_id: str, quantity: int, *,
                    idempotency_key: str) -> str:
        from connectors.woocommerce.refunds import refund_line

        return refund_line(self.client(shop), platform_order_id, platform_line_id, quantity,
                           idempotency_key=idempotency_key)
