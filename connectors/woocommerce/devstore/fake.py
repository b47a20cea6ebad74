"""FakeWooCommerce: one WordPress + WooCommerce site, its HTTP face and the tests' handles on it.

One RLock guards all state; outgoing HTTP (webhooks, pings, the /wc-auth callback) is always
sent outside it, because the receiving app may call back into the fake. Events caused by the
store-manipulation helpers (place_order, set_stock, ...) are delivered before the helper returns
(`store_webhooks="queue"` holds them too); events caused by REST calls are queued like Action
Scheduler actions until `flush_webhooks()`, or sent from a background thread after each request
with `api_webhooks="thread"`.
"""
from __future__ import annotations

import collections
import json
import threading
from datetime import datetime, timezone
from decimal import Decimal
from typing import Callable

from .auth import KeyRing
from .catalog import Catalog, Product
from .deliveries import WebhookService
from .errors import RestError, StoreError, invalid_id
from .orders import Orders
from .payloads import Payloads
from .refunds import DEFAULT_GATEWAYS, Gateway, Refunds
from .store import Memory, Site, get_meta, update_meta
from .helpers import Call, SiteHelpers
from .wc_auth import WcAuthError
from .webhooks import Delivery

CACHE_IGNORES = ("page", "per_page", "offset", "context", "_fields", "dp")


class FakeWooCommerce(SiteHelpers):
    def __init__(self, site_url: str = "https://shop.example.com", *,
                 deliver: Callable[[str, dict[str, str], bytes], int] | None = None,
                 name: str = "Oak & Linen", timezone_name: str = "UTC", locale: str = "en_US", currency: str = "USD",
                 currency_symbol: str = "$", backordered_label: str | None = None,
                 now: Callable[[], datetime] | None = None, allow_local_urls: bool = False,
                 allow_insecure_callback: bool = False, auto_approve: bool | str = False,
                 api_webhooks: str = "queue", store_webhooks: str = "immediate", max_delivery_failures: int = 5,
                 wc_version: str = "9.8.5", wp_version: str = "6.8.1", gateways=DEFAULT_GATEWAYS,
                 admin_password: str = "password"):
        if api_webhooks not in ("queue", "thread"):
            raise ValueError("api_webhooks must be 'queue' or 'thread'")
        if store_webhooks not in ("immediate", "queue"):
            raise ValueError("store_webhooks must be 'immediate' or 'queue'")
        self.site_url = site_url.rstrip("/")
        self.deliver = deliver
        self.allow_local_urls, self.allow_insecure_callback = allow_local_urls, allow_insecure_callback
        self.auto_approve = auto_approve
        self.api_webhooks, self.store_webhooks = api_webhooks, store_webhooks
        self.max_delivery_failures = max_delivery_failures
        self.lock = threading.RLock()
        site = Site(self.site_url, name=name, timezone=timezone_name, locale=locale, currency=currency,
                    currency_symbol=currency_symbol, wc_version=wc_version, wp_version=wp_version,
                    admin_password=admin_password)
        self.memory = Memory(site, now or (lambda: datetime.now(timezone.utc)))
        self.catalog = Catalog(self.memory)
        self.orders = Orders(self.memory, self.catalog, backordered_label)
        self.refunds = Refunds(self.memory, self.orders, gateways)
        self.payloads = Payloads(self.memory, self.catalog, self.orders, self.refunds)
        self.keys = KeyRing()
        self.webhook_service = WebhookService(self)
        self.deliveries: list[Delivery] = []
        self.requests: list[Call] = []
        self.authorizations: list[dict] = []
        self._failures: collections.deque = collections.deque()
        self._delivery_failures: collections.deque = collections.deque()
        self._deferred: list[Callable[[], object]] = []
        self._cache: dict = {}
        self._cache_version = -1
        from .app import create_app  # late import: the app reads this object's attributes

        self.wsgi_app = create_app(self)

    # -- API keys -------------------------------------------------------------------------------
    def create_key(self, permissions: str = "read_write", description: str = "Backorder Desk", *,
                   consumer_key: str | None = None, consumer_secret: str | None = None) -> dict:
        """A REST API key of the admin user: {key_id, consumer_key, consumer_secret, permissions, ...}."""
        with self.lock:
            key = self.keys.create(self.memory.site.admin_user_id, description, permissions, consumer_key, consumer_secret)
            return key.public()

    def revoke_key(self, key_id: int) -> bool:
        with self.lock:
            return self.keys.revoke(key_id)

    def api_keys(self) -> list[dict]:
        with self.lock:
            return [k.public() for k in self.keys.keys.values()]

    # -- catalogue ------------------------------------------------------------------------------
    def add_product(self, name: str, *, sku: str = "", price: str = "10.00", stock: int | None = None,
                    backorders: str = "no", stock_status: str = "instock", status: str = "publish",
                    meta: dict | None = None, variations: list[dict] | None = None) -> dict:
        """A simple product, or a variable one when `variations` is given.

        stock=None: stock not managed. For a variable product, `stock` manages stock at the parent
        (variations without their own `stock` then show manage_stock "parent"). A variation:
        {"sku", "price", "stock", "backorders", "stock_status", "attributes": {"Size": "S"}, "meta"}.
        Returns the product as GET /products/<id> answers it."""
        with self.lock:
            kind = "variable" if variations else "simple"
            product = self.catalog.add(kind, name, sku=sku or None, regular_price="" if variations else str(price),
                                       status=status, manage_stock=stock is not None,
                                       stock_quantity=stock, backorders=backorders, stock_status=stock_status)
            self._set_meta(product, meta)
            if variations:
                names = {}
                for variation in variations:
                    for attribute, option in (variation.get("attributes") or {}).items():
                        names.setdefault(attribute, []).append(option)
                product.attributes = [{"name": n, "slug": n.lower(), "options": list(dict.fromkeys(o)),
                                       "variation": True} for n, o in names.items()]
                for variation in variations:
                    own = variation.get("stock")
                    child = self.catalog.add(
                        "variation", name, parent=product, sku=variation.get("sku") or None,
                        regular_price=str(variation.get("price", price)), manage_stock=own is not None,
                        stock_quantity=own, backorders=variation.get("backorders", backorders),
                        stock_status=variation.get("stock_status", "instock"),
                        attributes=[{"name": n, "slug": n.lower(), "option": o}
                                    for n, o in (variation.get("attributes") or {}).items()])
                    self._set_meta(child, variation.get("meta"))
                    self.catalog.validate(child)
                self.catalog.validate(product)
            data = self.payloads.product(product)
        self._after_store_change()
        return data

    def _set_meta(self, product: Product, meta: dict | None) -> None:
        from .store import update_meta

        for key, value in (meta or {}).items():
            update_meta(product.meta, key, value, self.memory.post_meta_id)

    def product(self, product_id: int) -> dict:
        """Inspection: GET /products/<id> (variations included, as type "variation")."""
        with self.lock:
            return self.payloads.product(self.catalog.require(product_id))

    def variation(self, variation_id: int) -> dict:
        with self.lock:
            return self.payloads.variation(self.catalog.require(variation_id))

    def product_meta(self, product_id: int) -> dict:
        """Inspection: a product's or variation's meta as {key: value} (the last row wins)."""
        with self.lock:
            return {m.key: m.value for m in self.catalog.require(product_id).meta}

    def product_id_by_sku(self, sku: str) -> int:
        with self.lock:
            product = self.catalog.by_sku(sku)
            if product is None:
                raise StoreError(f"no product with SKU {sku!r}")
            return product.id

    def set_stock(self, product_id: int, quantity: int, *, backorders: str | None = None) -> dict:
        """The merchant edits stock in wp-admin (the product is saved: product.updated)."""
        with self.lock:
            product = self.catalog.require(product_id)
            owner = self.catalog.stock_owner(product)
            owner.manage_stock = True
            owner.stock_quantity = int(quantity)
            if backorders is not None:
                owner.backorders = backorders
            self.catalog.save(owner)
            data = self.payloads.product(product)
        self._after_store_change()
        return data

    def restock(self, product_id: int, quantity: int) -> dict:
        """Stock arrives: +quantity through wc_update_product_stock (as a stock-management plugin does)."""
        with self.lock:
            product = self.catalog.require(product_id)
            self.catalog.update_stock(product, int(quantity), "increase")
            data = self.payloads.product(product)
        self._after_store_change()
        return data

    def update_product(self, product_id: int, **props) -> dict:
        """Set Product fields (name, backorders, stock_status, sale_price, status, ...) and save."""
        with self.lock:
            product = self.catalog.require(product_id)
            for key, value in props.items():
                if not hasattr(product, key):
                    raise StoreError(f"products have no field {key!r}")
                setattr(product, key, value)
            self.catalog.save(product)
            data = self.payloads.product(product)
        self._after_store_change()
        return data

    # -- orders ---------------------------------------------------------------------------------
    def place_order(self, lines, *, status: str = "processing", payment_method: str = "stripe",
                    email: str = "jon@example.com", first_name: str = "Jon", last_name: str = "Snow",
                    customer_note: str = "", shipping_total: str = "0", created_via: str = "checkout",
                    transaction_id: str | None = None) -> dict:
        """A shopper checks out. lines: [(product or variation id, quantity)] or [{"sku"|"product_id", "quantity"}].

        As WooCommerce's checkout: a product that manages stock without backorders cannot be
        ordered beyond stock (StoreError); lines short of stock with backorders "notify" get the
        translated "Backordered" meta; status processing/completed/on-hold reduces stock
        (negative when backorders are allowed); pending or failed does not."""
        with self.lock:
            gateway = self.refunds.gateways.get(payment_method)
            order = self.orders.new_order(created_via=created_via, payment_method=payment_method,
                                          payment_method_title=gateway.title if gateway else payment_method,
                                          billing={"first_name": first_name, "last_name": last_name, "email": email},
                                          shipping={"first_name": first_name, "last_name": last_name},
                                          customer_note=customer_note, shipping_total=Decimal(str(shipping_total)))
            try:
                for product, quantity in self._resolve_lines(lines):
                    if created_via == "checkout" and self.catalog.managing_stock(product) \
                            and not self.catalog.backorders_allowed(product) \
                            and (self.catalog.quantity(product) or 0) < quantity:
                        raise StoreError(f'Sorry, we do not have enough "{self.catalog.display_name(product)}" in stock '
                                         f"to fulfill your order ({self.catalog.quantity(product)} available).")
                    self.orders.add_line(order, product, quantity, backorder_meta=created_via == "checkout")
            except (StoreError, RestError):
                del self.memory.orders[order.id]
                raise
            if created_via == "checkout":  # what a classic checkout of WooCommerce 9 leaves on the order
                for meta_key, meta_value in (("is_vat_exempt", "no"), ("_wc_order_attribution_source_type", "typein"),
                                             ("_wc_order_attribution_device_type", "Desktop")):
                    update_meta(order.meta, meta_key, meta_value, self.memory.post_meta_id)
            self.orders.save(order, created=True)
            if status in ("processing", "completed"):
                self.orders.payment_complete(order, transaction_id or (f"txn_{order.id}" if gateway else ""))
                if status == "completed":
                    self.orders.set_status(order, "completed")
                self.orders.save(order)
            elif status != "pending":
                self.orders.set_status(order, status)
                self.orders.save(order)
            data = self.payloads.order(order)
        self._after_store_change()
        return data

    def _resolve_lines(self, lines) -> list[tuple[Product, int]]:
        resolved = []
        for line in lines:
            if isinstance(line, dict):
                product = (self.catalog.by_sku(line["sku"]) if line.get("sku") else
                           self.catalog.get(line.get("variation_id") or line.get("product_id") or 0))
                quantity = int(line.get("quantity", 1))
            else:
                product, quantity = self.catalog.get(line[0]), int(line[1])
            if product is None or product.type == "variable":
                raise StoreError(f"cannot order {line!r}: no such product or variation (a variable product needs a variation)")
            resolved.append((product, quantity))
        return resolved

    def set_order_status(self, order_id: int, status: str, note: str = "") -> dict:
        """The merchant changes the status in wp-admin (cancelled restores stock)."""
        with self.lock:
            order = self.orders.require(order_id)
            self.orders.set_status(order, status, note, manual=True)
            self.orders.save(order)
            data = self.payloads.order(order)
        self._after_store_change()
        return data

    def cancel_order(self, order_id: int) -> dict:
        return self.set_order_status(order_id, "cancelled")

    def trash_order(self, order_id: int) -> dict:
        with self.lock:
            order = self.orders.require(order_id)
            order.status = "trash"
            order.date_modified = self.memory.now()
            self.memory.emit("order", "deleted", order.id)
            self.memory.changed()
            data = self.payloads.order(order)
        self._after_store_change()
        return data

    def order(self, order_id: int) -> dict:
        """Inspection: GET /orders/<id>."""
        with self.lock:
            return self.payloads.order(self.orders.require(order_id))

    def order_meta(self, order_id: int) -> dict:
        with self.lock:
            return {m.key: m.value for m in self.orders.require(order_id).meta}

    def line_meta(self, order_id: int, line: int = 0) -> dict:
        """A line's meta as {key: value}; `line` is the line item id, or its index when small."""
        with self.lock:
            order = self.orders.require(order_id)
            item = next((l for l in order.line_items if l.id == line), None)
            if item is None:
                item = order.line_items[line]
            return {m.key: m.value for m in item.meta}

    def order_notes(self, order_id: int, customer: bool | None = None) -> list[dict]:
        """Inspection: the notes, oldest first ({id, note, customer_note, author, date_created...})."""
        with self.lock:
            order = self.orders.require(order_id)
            return [self.payloads.note(order, n) for n in order.notes
                    if customer is None or n.customer_note == customer]

    def order_refunds(self, order_id: int) -> list[dict]:
        with self.lock:
            order = self.orders.require(order_id)
            return [self.payloads.refund(self.memory.refunds[i]) for i in order.refund_ids if i in self.memory.refunds]

    @property
    def emails(self) -> list[dict]:
        """Emails WooCommerce sent (customer notes): [{type, to, order_id, note}]."""
        return self.memory.emails

    # -- payment gateways -----------------------------------------------------------------------
    def set_gateway(self, gateway_id: str, *, title: str | None = None, supports_refunds: bool = True,
                    fail_message: str | None = None) -> None:
        """Add or change a gateway; fail_message makes process_refund fail ("" = it returns false)."""
        with self.lock:
            old = self.refunds.gateways.get(gateway_id)
            self.refunds.gateways[gateway_id] = Gateway(gateway_id, title or (old.title if old else gateway_id),
                                                        supports_refunds, fail_message, old.refunds if old else [])

    def gateway_refunds(self, gateway_id: str = "stripe") -> list[dict]:
        with self.lock:
            return list(self.refunds.gateways[gateway_id].refunds)

    # -- plumbing used by the app ---------------------------------------------------------------
    def defer(self, action: Callable[[], object]) -> None:
        self._deferred.append(action)

    def take_deferred(self) -> list[Callable[[], object]]:
        actions, self._deferred = self._deferred, []
        return actions

    def schedule_events(self, from_api: bool) -> None:
        with self.lock:
            self.webhook_service.schedule(self.memory.take_events())

    def after_api_request(self) -> None:
        if self.api_webhooks == "thread" and self.webhook_service.queue.pending:
            threading.Thread(target=self.flush_webhooks, name="wc-devstore-webhooks", daemon=True).start()

    def _after_store_change(self) -> None:
        self.schedule_events(from_api=False)
        if self.store_webhooks == "immediate":
            self.flush_webhooks()

    def cached_list(self, key, compute: Callable[[], list]) -> list:
        kind, clean = key
        if self._cache_version != self.memory.version:
            self._cache, self._cache_version = {}, self.memory.version
        cache_key = (kind, json.dumps({k: v for k, v in clean.items() if k not in CACHE_IGNORES}, sort_keys=True,
                                      default=str))
        if cache_key not in self._cache:
            self._cache[cache_key] = compute()
        return self._cache[cache_key]

    def endpoint_data(self, resource: str, resource_id: int):
        """RestApiUtil::get_endpoint_data('/wc/v3/<resource>s/<id>'): the body GET would answer."""
        with self.lock:
            try:
                if resource == "product":
                    product = self.catalog.get(resource_id)
                    if product is None:
                        raise invalid_id("product")
                    return self.payloads.product(product)
                if resource == "order":
                    order = self.orders.get(resource_id)
                    if order is None:
                        raise invalid_id("shop_order")
                    return self.payloads.order(order)
            except RestError as error:
                return error.body()
            return {"id": resource_id}

    def index(self) -> dict:
        site = self.memory.site
        return {"name": site.name, "description": "", "url": site.home_url, "home": site.home_url,
                "gmt_offset": "0", "timezone_string": site.timezone,
                "namespaces": ["oembed/1.0", "wc/v1", "wc/v2", "wc/v3", "wc/store/v1", "wc-analytics", "wp/v2"],
                "authentication": [], "routes": {}}

    @property
    def user_agent(self) -> str:
        site = self.memory.site
        return f"WooCommerce/{site.wc_version} Hookshot (WordPress/{site.wp_version})"


__all__ = ["Call", "FakeWooCommerce", "StoreError", "WcAuthError", "get_meta"]
