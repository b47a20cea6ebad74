"""FakeShopify: the dev store's public face (store-manipulation API, inspection, webhooks).

One RLock guards all state. Webhooks are always sent *outside* it, because the receiving app may
call back into the fake (GraphQL) while handling them. Events caused by the store-manipulation
API (place_order, cancel_order, uninstall…) are delivered before the call returns; events caused
by the app's own API calls (tagsAdd on an order -> orders/updated) are queued, as Shopify delivers
them asynchronously: `flush_webhooks()` sends them, or `api_webhooks="thread"` sends each from a
background thread. Like Shopify, the store only sends events to an app installed on the shop
(token exchange, authorization code, or `issue_access_token`); `app/uninstalled` and `shop/redact`
are the exceptions. `deliver_webhook()` itself always sends: it is the tool for arbitrary payloads.
"""
from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import httpx

from . import data
from . import refunds, shipments
from .resolvers import Context
from .store import Store, StoreError, normalize_domain
from .throttle import LeakyBucket
from .tokens import TokenService, session_token
from .webhooks import Delivery, compliance_payload, headers_for, order_payload, serialize, shop_payload, triggered_at

# What the app asks for in manifest.json (write_products: the storefront ETA metafield on variants).
DEFAULT_SCOPES = ("read_products", "write_products", "read_inventory", "read_inventory_shipments", "read_orders",
                  "write_orders", "read_customers", "write_app_proxy")
DEFAULT_WEBHOOK_URL = "http://localhost/webhooks/shopify"  # path of manifest.json urls.webhooks
WEBHOOK_TIMEOUT = 5.0  # Shopify gives a webhook endpoint five seconds
# Shopify only sends events to apps installed on the shop; these two still reach an uninstalled app.
SENT_WHEN_UNINSTALLED = frozenset({"app/uninstalled", "shop/redact"})


@dataclass
class Call:
    """One Admin GraphQL request, for assertions (`fake.calls`); also readable as call["operation"]."""
    shop: str
    operation: str | None
    requested_cost: int | None
    actual_cost: int | None
    throttled: bool
    status: int

    def __getitem__(self, key: str):
        return getattr(self, key)


class FakeShopify:
    def __init__(self, api_key: str, api_secret: str, *, api_version: str = "2026-10",
                 webhook_url: str | None = None, deliver: Callable[[str, dict[str, str], bytes], int] | None = None,
                 bucket_size: float = 2000, restore_rate: float = 100.0, clock: Callable[[], float] = time.monotonic,
                 access_token_ttl: int = 3600, refresh_token_ttl: int = 90 * 86400, data_dir: str | Path | None = None,
                 webhook_api_version: str = "2026-07", scopes=DEFAULT_SCOPES, api_client_id: int | None = None,
                 now: Callable[[], datetime] | None = None, api_webhooks: str = "queue"):
        if not api_key or not api_secret:
            raise ValueError("api_key and api_secret are required")
        if api_webhooks not in ("queue", "thread"):
            raise ValueError("api_webhooks must be 'queue' or 'thread'")
        self.api_key, self.api_secret = api_key, api_secret
        self.api_version, self.webhook_api_version = api_version, webhook_api_version
        self.data_dir = Path(data_dir) if data_dir else data.default_data_dir()
        data.check_data(self.data_dir, api_version, webhook_api_version)
        self.schema = data.load_schema(str(data.schema_path(self.data_dir, api_version)))
        self.webhook_url, self.deliver, self.api_webhooks = webhook_url, deliver, api_webhooks
        self.bucket_size, self.restore_rate, self.clock = bucket_size, restore_rate, clock
        # Shopify identifies an app by a numeric API client id as well as its client id (API key).
        self.api_client_id = api_client_id or int(hashlib.sha256(api_key.encode()).hexdigest()[:10], 16) % 10**12
        self.lock = threading.RLock()
        self.store = Store(now or (lambda: datetime.now(timezone.utc)))
        self.tokens = TokenService(api_key, api_secret, clock, access_token_ttl, refresh_token_ttl,
                                   frozenset(scopes))
        self.installed: set[str] = set()
        self.buckets: dict[str, LeakyBucket] = {}
        self.calls: list[Call] = []
        self.deliveries: list[Delivery] = []
        self.pending_webhooks: list[tuple[str, str, str]] = []  # (shop, topic, object gid)
        self.hold_webhooks = False  # True: store events wait in `held_webhooks` for release_webhooks()
        self.held_webhooks: list[Delivery] = []
        self._failures: deque[tuple[int, str]] = deque()
        self._shop_created: dict[str, datetime] = {}
        from .app import create_app  # late import: app imports this module

        self.wsgi_app = create_app(self)

    # -- shops, catalogue, inventory ----------------------------------------------------------
    def create_shop(self, domain: str, name: str | None = None, locations=("Main warehouse",), *,
                    email: str | None = None, currency: str = "USD", timezone_name: str = "America/New_York") -> dict:
        with self.lock:
            shop = self.store.create_shop(domain, name, locations, email, currency, timezone_name)
            self._shop_created[shop.domain] = self.store.now()
            return {"domain": shop.domain, "id": shop.gql["id"], "name": shop.gql["name"],
                    "locations": [{"id": loc["id"], "name": loc["name"]} for loc in shop.locations]}

    def add_product(self, domain: str, title: str, variants: list[dict] | None = None) -> dict:
        """variants: [{"sku", "title", "price", "tracked", "policy": "CONTINUE"|"DENY",
        "available": qty at the first location | {location name or gid: qty}}]."""
        with self.lock:
            product = self.store.add_product(self.store.shop(domain), title, variants or [])
            return {"id": product["id"], "title": title, "variants": [
                {"id": v["id"], "sku": v["sku"], "title": v["title"], "inventory_item_id": v["inventoryItem"]["id"]}
                for v in product["_variants"]]}

    def set_available(self, domain: str, variant_gid: str, qty: int, location: str | None = None) -> None:
        with self.lock:
            self.store.set_available(self.store.shop(domain), variant_gid, qty, location)

    def available(self, domain: str, variant_gid: str, location: str | None = None) -> int:
        with self.lock:
            shop = self.store.shop(domain)
            return self.store.level(shop, self.store.variant(shop, variant_gid), location)["_q"]["available"]

    def variant_by_sku(self, domain: str, sku: str) -> str:
        with self.lock:
            return self.store.variant_by_sku(self.store.shop(domain), sku)["id"]

    def add_metafield_definition(self, domain: str, owner_type: str, namespace: str, key: str, type_: str) -> None:
        """A definition lets metafieldsSet omit `type` (namespace `$app` resolves as on Shopify)."""
        from .metafields import app_namespace

        with self.lock:
            shop = self.store.shop(domain)
            shop.definitions[(owner_type.upper(), app_namespace(self.api_client_id, namespace), key)] = type_

    # -- inventory shipments (incoming stock, see shipments.py) --------------------------------
    def add_inventory_shipment(self, domain: str, lines: list[tuple[str, int]], *, location: str | None = None,
                               status: str = "IN_TRANSIT", arrives_at=None, tracking_number: str | None = None,
                               company: str | None = None, name: str | None = None) -> dict:
        """lines: [(variant gid, units)] to `location` (default: the first). IN_TRANSIT counts the units
        in the destination's "incoming" quantity; `arrives_at` (date or datetime) is the tracking's ETA."""
        with self.lock:
            shop = self.store.shop(domain)
            found = shipments.add_shipment(self.store, shop, lines, location=location, status=status.upper(),
                                           arrives_at=arrives_at, tracking_number=tracking_number, company=company,
                                           name=name)
            return self._shipment_view(found)

    def mark_inventory_shipment_in_transit(self, domain: str, shipment_gid: str) -> dict:
        with self.lock:
            shop = self.store.shop(domain)
            found = shipments.find_shipment(self.store, shop, shipment_gid)
            shipments.mark_in_transit(self.store, shop, found)
            return self._shipment_view(found)

    def set_inventory_shipment_tracking(self, domain: str, shipment_gid: str, **tracking) -> dict:
        """arrives_at=, tracking_number=, company= (only those given change)."""
        with self.lock:
            found = shipments.find_shipment(self.store, self.store.shop(domain), shipment_gid)
            shipments.set_tracking(found, **tracking)
            return self._shipment_view(found)

    def receive_inventory_shipment(self, domain: str, shipment_gid: str, accepted: dict[str, int] | None = None,
                                   rejected: dict[str, int] | None = None) -> dict:
        """accepted/rejected: {variant gid: units}; by default every unreceived unit is accepted."""
        with self.lock:
            shop = self.store.shop(domain)
            found = shipments.find_shipment(self.store, shop, shipment_gid)
            shipments.receive(self.store, shop, found, accepted, rejected)
            return self._shipment_view(found)

    def remove_inventory_shipment_items(self, domain: str, shipment_gid: str, variant_gids: list[str]) -> dict:
        with self.lock:
            shop = self.store.shop(domain)
            found = shipments.find_shipment(self.store, shop, shipment_gid)
            shipments.remove_items(self.store, shop, found, list(variant_gids))
            return self._shipment_view(found)

    def delete_inventory_shipment(self, domain: str, shipment_gid: str) -> None:
        with self.lock:
            shop = self.store.shop(domain)
            shipments.delete(self.store, shop, shipments.find_shipment(self.store, shop, shipment_gid))

    def inventory_shipment(self, domain: str, shipment_gid: str) -> dict:
        with self.lock:
            return self._shipment_view(shipments.find_shipment(self.store, self.store.shop(domain), shipment_gid))

    def incoming(self, domain: str, variant_gid: str, location: str | None = None) -> int:
        with self.lock:
            shop = self.store.shop(domain)
            return self.store.level(shop, self.store.variant(shop, variant_gid), location)["_q"]["incoming"]

    @staticmethod
    def _shipment_view(found: dict) -> dict:
        return {"id": found["id"], "name": found["name"], "status": found["status"],
                "tracking": shipments.tracking(found),
                "lines": [{"id": line["id"], "variantId": line["inventoryItem"]["variant"]["id"],
                           "sku": line["inventoryItem"]["sku"], "quantity": line["quantity"],
                           "accepted": line["acceptedQuantity"], "rejected": line["rejectedQuantity"]}
                          for line in found["_lines"]]}

    # -- orders -------------------------------------------------------------------------------
    def place_order(self, domain: str, lines: list[tuple[str, int]], email: str = "jon@example.com",
                    locale: str = "en", customer_name: str = "Jon Snow", shipping: str | None = None) -> dict:
        """Checkout: decrements `available` at the first location (negative for CONTINUE variants,
        refused with StoreError for DENY ones), charges the total (plus `shipping`, a price, when
        given: refunds.py), then delivers orders/create."""
        with self.lock:
            shop = self.store.shop(domain)
            order = self.store.place_order(shop, lines, email, locale, customer_name)
            refunds.charge(self.store, shop, order, shipping)
            payload = self._order_payload(shop.domain, "orders/create", order)
        status = self._emit(shop.domain, "orders/create", payload)
        return dict(self.order(shop.domain, order["id"]), webhookStatus=status)

    def update_order(self, domain: str, order_gid: str, *, email: str | None = None, note: str | None = None,
                     tags: list[str] | None = None) -> dict:
        with self.lock:
            shop = self.store.shop(domain)
            order = self.store.order(shop, order_gid)
            if email is not None:
                order["email"] = email
            if note is not None:
                order["note"] = note
            if tags is not None:
                order["tags"] = list(dict.fromkeys(tags))
            self.store.touch(order)
            payload = self._order_payload(shop.domain, "orders/updated", order)
        status = self._emit(shop.domain, "orders/updated", payload)
        return dict(self.order(shop.domain, order_gid), webhookStatus=status)

    def cancel_order(self, domain: str, order_gid: str, reason: str = "customer", restock: bool = True) -> dict:
        """Cancels (restocking by default) and delivers orders/cancelled, then orders/updated."""
        with self.lock:
            shop = self.store.shop(domain)
            order = self.store.order(shop, order_gid)
            self.store.cancel_order(shop, order, reason, restock)
            cancelled = self._order_payload(shop.domain, "orders/cancelled", order)
            updated = self._order_payload(shop.domain, "orders/updated", order)
        status = self._emit(shop.domain, "orders/cancelled", cancelled)
        self._emit(shop.domain, "orders/updated", updated)
        return dict(self.order(shop.domain, order_gid), webhookStatus=status)

    def order(self, domain: str, gid: str) -> dict:
        """Inspection: the order as the store holds it, including what the app wrote (tags, metafields)."""
        with self.lock:
            order = self.store.order(self.store.shop(domain), gid)
            return {
                "id": order["id"], "legacyResourceId": order["legacyResourceId"], "name": order["name"],
                "email": order["email"], "createdAt": order["createdAt"], "updatedAt": order["updatedAt"],
                "cancelledAt": order["cancelledAt"], "tags": list(order["tags"]),
                "lineItems": [{"id": line["id"], "variantId": line["variant"]["id"], "sku": line["sku"],
                               "quantity": line["quantity"], "currentQuantity": line["currentQuantity"]}
                              for line in order["_lines"]],
                "metafields": [{"namespace": m["namespace"], "key": m["key"], "type": m["type"], "value": m["value"]}
                               for m in order["_metafields"].values()],
            }

    def variant_metafields(self, domain: str, variant_gid: str) -> dict[tuple[str, str], dict]:
        """Inspection: a variant's metafields as the store holds them, by (namespace, key)."""
        with self.lock:
            variant = self.store.variant(self.store.shop(domain), variant_gid)
            return {(m["namespace"], m["key"]): {"type": m["type"], "value": m["value"]}
                    for m in variant["_metafields"].values()}

    def order_by_number(self, domain: str, legacy_id: int) -> dict:
        return self.order(domain, f"gid://shopify/Order/{int(legacy_id)}")

    def order_payload(self, domain: str, order_gid: str, topic: str = "orders/updated") -> dict:
        """The webhook payload Shopify would send for the order now (e.g. to replay a stale one)."""
        with self.lock:
            shop = self.store.shop(domain)
            return self._order_payload(shop.domain, topic, self.store.order(shop, order_gid))

    def _order_payload(self, domain: str, topic: str, order: dict) -> dict:
        template = data.webhook_template(self.data_dir, self.webhook_api_version, topic)
        return order_payload(template, self.store.shop(domain), order)

    # -- app lifecycle and compliance ---------------------------------------------------------
    def issue_access_token(self, domain: str, *, expiring: bool = True, scopes=None) -> dict:
        """Install without HTTP: the token endpoint's answer for an offline token."""
        with self.lock:
            shop = self.store.shop(domain).domain
            self.installed.add(shop)
            return self.tokens.issue_offline(shop, expiring, frozenset(scopes) if scopes else None)

    def uninstall(self, domain: str) -> int:
        """Revokes every token of the shop and delivers app/uninstalled."""
        with self.lock:
            shop = self.store.shop(domain)
            if shop.domain not in self.installed:
                raise StoreError(f"the app is not installed on {shop.domain}")
            self.installed.discard(shop.domain)
            self.tokens.revoke_shop(shop.domain)
            template = data.webhook_template(self.data_dir, self.webhook_api_version, "app/uninstalled")
            payload = shop_payload(template, shop, self._shop_created[shop.domain])
        return self._emit(shop.domain, "app/uninstalled", payload)

    def _compliance(self, domain: str, topic: str, email: str | None) -> int:
        with self.lock:
            shop = self.store.shop(domain)
            customer = shop.customers.get(email.lower()) if email else None
            if email and customer is None:
                raise StoreError(f"{shop.domain} has no customer {email!r}")
            order_ids = [int(o["legacyResourceId"]) for o in shop.orders.values()
                         if customer is not None and o["customer"] is customer]
            template = data.webhook_template(self.data_dir, self.webhook_api_version, topic)
            payload = compliance_payload(template, shop, customer, order_ids, request_id=len(self.deliveries) + 1)
        return self._emit(shop.domain, topic, payload)

    def request_customer_data(self, domain: str, email: str) -> int:
        return self._compliance(domain, "customers/data_request", email)

    def redact_customer(self, domain: str, email: str) -> int:
        return self._compliance(domain, "customers/redact", email)

    def redact_shop(self, domain: str) -> int:
        return self._compliance(domain, "shop/redact", None)

    def session_token(self, domain: str, user_id: int = 1, *, exp_in: int = 60, secret: str | None = None,
                      claims: dict | None = None) -> str:
        """An App Bridge session token; `secret`/`claims` forge bad ones for negative tests."""
        shop = normalize_domain(domain)
        return session_token(self.api_key, secret or self.api_secret, shop, user_id, exp_in, claims)

    # -- webhooks -----------------------------------------------------------------------------
    def deliver_webhook(self, domain: str, topic: str, payload: dict) -> int:
        """Sign and send one event; the HTTP status (0 when unreachable or nowhere to send)."""
        delivery = self._new_delivery(domain, topic, payload)
        return self._send(delivery)

    def _new_delivery(self, domain: str, topic: str, payload: dict) -> Delivery:
        shop = normalize_domain(domain)
        body = serialize(payload)
        event_id = str(uuid.uuid4())
        headers = headers_for(self.api_secret, shop, topic, self.webhook_api_version, body, event_id,
                              triggered_at(self.store.now()))
        with self.lock:
            delivery = Delivery(len(self.deliveries), shop, topic, self.webhook_url or DEFAULT_WEBHOOK_URL, headers,
                                body, event_id, payload=payload)
            self.deliveries.append(delivery)
        return delivery

    def deliver_raw(self, headers: dict[str, str], body: bytes) -> int:
        """Send exactly these headers and body (replays with doctored headers); logged as a delivery."""
        with self.lock:
            delivery = Delivery(len(self.deliveries), headers.get("X-Shopify-Shop-Domain", ""),
                                headers.get("X-Shopify-Topic", ""), self.webhook_url or DEFAULT_WEBHOOK_URL,
                                dict(headers), body, headers.get("X-Shopify-Event-Id", ""))
            self.deliveries.append(delivery)
        return self._send(delivery)

    def release_webhooks(self, reverse: bool = False) -> list[int]:
        """Send the events held while `hold_webhooks` was True (in reverse: out-of-order delivery)."""
        with self.lock:
            held, self.held_webhooks = self.held_webhooks, []
        return [self._send(delivery) for delivery in (reversed(held) if reverse else held)]

    def _emit(self, domain: str, topic: str, payload: dict) -> int:
        """An event of the store: sent only if the app is installed (as on Shopify), else logged."""
        shop = normalize_domain(domain)
        with self.lock:
            if shop not in self.installed and topic not in SENT_WHEN_UNINSTALLED:
                body = serialize(payload)
                self.deliveries.append(Delivery(len(self.deliveries), shop, topic, self.webhook_url or DEFAULT_WEBHOOK_URL,
                                                {}, body, str(uuid.uuid4()), error="app not installed on the shop: not sent",
                                                payload=payload))
                return 0
        delivery = self._new_delivery(shop, topic, payload)
        with self.lock:
            if self.hold_webhooks:
                delivery.error = "held: call release_webhooks()"
                self.held_webhooks.append(delivery)
                return 0
        return self._send(delivery)

    def redeliver(self, delivery_index: int) -> int:
        """Shopify's retry: the same event (same body, event id and trigger time), a new webhook id."""
        with self.lock:
            original = self.deliveries[delivery_index]
            headers = dict(original.headers, **{"X-Shopify-Webhook-Id": str(uuid.uuid4())})
            delivery = Delivery(len(self.deliveries), original.shop, original.topic, original.url, headers,
                                original.body, original.event_id, payload=original.payload)
            self.deliveries.append(delivery)
        return self._send(delivery)

    def _send(self, delivery: Delivery) -> int:
        deliver, url = self.deliver, self.webhook_url
        try:
            if deliver is not None:
                delivery.status = int(deliver(delivery.url, dict(delivery.headers), delivery.body))
            elif url is not None:
                delivery.status = httpx.post(url, content=delivery.body, headers=delivery.headers,
                                             timeout=WEBHOOK_TIMEOUT).status_code
            else:
                delivery.error = "no webhook_url or deliver configured"
                return 0
            delivery.error = None
        except httpx.HTTPError as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
        return delivery.status or 0

    def _queue_events(self, shop: str, events: list[tuple[str, str]]) -> None:
        with self.lock:
            self.pending_webhooks.extend((shop, topic, gid) for topic, gid in events)
        if self.api_webhooks == "thread" and events:
            threading.Thread(target=self.flush_webhooks, name="devstore-webhooks", daemon=True).start()

    def flush_webhooks(self) -> list[int]:
        """Deliver the events the app's API calls caused (e.g. orders/updated after tagsAdd)."""
        sent = []
        while True:
            with self.lock:
                if not self.pending_webhooks:
                    return sent
                shop, topic, gid = self.pending_webhooks.pop(0)
                order = self.store.order(self.store.shop(shop), gid)
                payload = self._order_payload(shop, topic, order)
            sent.append(self._emit(shop, topic, payload))

    # -- app proxy (app_proxy.py) ---------------------------------------------------------------
    # The app's proxy URL (default: from webhook_url and manifest.json) and the httpx transport
    # that reaches it (None: the network); set on the instance.
    app_proxy_url: str | None = None
    app_proxy_transport: httpx.BaseTransport | None = None

    def app_proxy(self, domain: str, path: str = "/", params=(), **options) -> httpx.Response:
        """A shopper's request to https://<shop>/apps/<subpath><path>, forwarded to the app the way
        Shopify forwards it (signed query, forwarded headers): the app's answer, Liquid unrendered."""
        from .app_proxy import call_app_proxy

        return call_app_proxy(self, domain, path, params, **options)

    # -- API plumbing used by the WSGI app ----------------------------------------------------
    def fail_next(self, n: int = 1, status: int = 500, retry_after: str = "1") -> None:
        """The next `n` GraphQL calls answer `status` (429 carries Retry-After) without running."""
        if status not in (429, 500, 502, 503, 504):
            raise ValueError("fail_next status must be 429 or a 5xx")
        with self.lock:
            self._failures.extend([(status, retry_after)] * n)

    def take_failure(self) -> tuple[int, str] | None:
        with self.lock:
            return self._failures.popleft() if self._failures else None

    def bucket(self, domain: str) -> LeakyBucket:
        with self.lock:
            if domain not in self.buckets:
                self.buckets[domain] = LeakyBucket(self.bucket_size, self.restore_rate, self.clock)
            return self.buckets[domain]

    def context(self, domain: str, scopes: frozenset[str]) -> Context:
        return Context(self.store, self.store.shop(domain), scopes, self.api_client_id)
