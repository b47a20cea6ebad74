"""ShopifyConnector: the Connector protocol spoken in Shopify's terms (HMAC webhooks, Admin GraphQL)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Mapping, Sequence

from shopify_app import ShopifyApp

from connectors.base import ConnectorError, IncomingLine, IncomingShipment, LineEta, VariantStock, WebhookEnvelope
from connectors.shopify import operations as ops
from connectors.shopify.graphql import ShopifyGraphQL
from connectors.shopify.manifest import api_version, shopify_manifest
from connectors.shopify.orders import shopify_order
from connectors.shopify.throttle import BucketModel
from connectors.shopify.verification import install as defer_verification_log

if TYPE_CHECKING:
    from plugin.backorders.payloads import ShopifyOrder

# Shopify accepts 250 ids in one nodes() lookup, but each variant with its inventory levels costs
# about 20 points and a single query may cost at most 1000: 40 variants keep a call near 800.
NODES_PAGE = 40
# An inventory shipment with its first 250 lines costs about 26 points: 25 per page stays near 650.
SHIPMENTS_PAGE = 25
INCOMING_QUERY = "status:in_transit OR status:partially_received"
SHIPMENT_STATUSES = {"IN_TRANSIT": "in_transit", "PARTIALLY_RECEIVED": "partially_received",
                     "RECEIVED": "received", "DRAFT": "withdrawn"}
# An order with its first 250 line items costs about 26 points: 25 per page stays near 650.
ORDERS_PAGE = 25
ORDER_LINES_PAGE = 250


# metafieldsSet and metafieldsDelete take at most 25 inputs a call.
STOREFRONT_BATCH = 25


def _gid(variant_id) -> str:
    return str(variant_id) if str(variant_id).startswith("gid://") else variant_gid(variant_id)


def variant_gid(numeric_id) -> str:
    return f"gid://shopify/ProductVariant/{numeric_id}"


def order_gid(numeric_id) -> str:
    return f"gid://shopify/Order/{numeric_id}"


class ShopifyConnector:
    platform = "shopify"

    def __init__(self, runtime):
        self.runtime = runtime
        settings = runtime.settings
        self._verifier = ShopifyApp(
            client_id=settings.shopify_api_key or "unconfigured",
            client_secret=settings.shopify_api_secret or "unconfigured",
            old_client_secret=settings.shopify_api_secret_old or None,
        ) if settings.shopify_api_secret else None
        defer_verification_log()  # the verifier's log copy of each body is built only if read
        self._buckets: dict[str, BucketModel] = {}
        self._buckets_lock = threading.Lock()
        self._http = None
        self._tokens = None

    # -- webhooks ---------------------------------------------------------------------------
    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """HMAC-SHA256 of the raw body, base64, compared in constant time (current and old secret)."""
        if self._verifier is None:
            return False
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            # shopify_app verifies str bodies only; Shopify always sends UTF-8, so anything else is
            # checked over the raw bytes here and then rejected as unparsable by the worker.
            return self._verify_raw(headers, body)
        # shopify_app wants a plain dict and lower-cases the names itself.
        plain = headers if type(headers) is dict else dict(headers.items())
        result = self._verifier.verify_webhook_req({"method": "POST", "headers": plain, "url": "", "body": text})
        return bool(result.ok)

    def _verify_raw(self, headers: Mapping[str, str], body: bytes) -> bool:
        received = headers.get("X-Shopify-Hmac-Sha256", "")
        settings = self.runtime.settings
        for secret in filter(None, (settings.shopify_api_secret, settings.shopify_api_secret_old)):
            digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
            if hmac.compare_digest(received, digest):
                return True
        return False

    def webhook_envelope(self, headers: Mapping[str, str], body: bytes = b"") -> WebhookEnvelope:
        # The event id is the same on every redelivery of one event; the webhook id is per delivery.
        dedupe = headers.get("X-Shopify-Event-Id") or headers.get("X-Shopify-Webhook-Id")
        return WebhookEnvelope(
            topic=(headers.get("X-Shopify-Topic") or "").strip().lower(),
            shop_domain=(headers.get("X-Shopify-Shop-Domain") or "").strip().lower(),
            dedupe_key=dedupe.strip() if dedupe else None,
        )

    # -- Admin API --------------------------------------------------------------------------
    def graphql(self, shop) -> ShopifyGraphQL:
        """A client for this shop and its token; pacing state is shared per shop in this process."""
        from connectors.shopify.http import shopify_http_client
        from connectors.shopify.tokens import ShopifyTokens

        if self._http is None:
            self._http = shopify_http_client(self.runtime)
            self._tokens = ShopifyTokens(self.runtime)
        with self._buckets_lock:
            bucket = self._buckets.setdefault(shop.domain, BucketModel())
        shop_id = shop.id
        return ShopifyGraphQL(
            self._http, shop.domain, api_version(),
            lambda force: self._tokens.access_token(shop_id, force_refresh=force), bucket,
        )

    def read_inventory(self, shop, platform_variant_ids: Sequence[str]) -> list[VariantStock]:
        client = self.graphql(shop)
        found: list[VariantStock] = []
        ids = [variant_gid(v) if not str(v).startswith("gid://") else str(v) for v in platform_variant_ids]
        for start in range(0, len(ids), NODES_PAGE):
            data = client.execute(ops.VARIANT_INVENTORY, {"ids": ids[start:start + NODES_PAGE]})
            for node in data.get("nodes") or []:
                if node:  # deleted variants come back as null
                    found.append(_variant_stock(node))
        return found

    def read_catalog(self, shop, *, bulk: bool | None = None):
        """Every variant of the shop: cursor paging, or a bulk export for a large catalogue
        (connectors/shopify/catalog.py). Returns a CatalogRead; iterate it outside transactions."""
        from connectors.shopify.catalog import ShopifyCatalogRead  # late import: it imports this module

        return ShopifyCatalogRead(self, shop, bulk)

    def write_backorder_marks(self, shop, platform_order_id: str, tag: str, etas: Sequence[LineEta]) -> None:
        client = self.graphql(shop)
        gid = order_gid(platform_order_id)
        tagged = client.execute(ops.ORDER_TAGS_ADD, {"id": gid, "tags": [tag]})["tagsAdd"]
        _raise_user_errors("tagsAdd", tagged)
        field = shopify_manifest()["order_metafield"]
        value = json.dumps(
            [{"line_id": e.platform_line_id, "sku": e.sku, "quantity": e.quantity, "eta": e.eta.isoformat()} for e in etas],
            separators=(",", ":"),
        )
        saved = client.execute(ops.ORDER_METAFIELDS_SET, {"metafields": [{
            "ownerId": gid, "namespace": field["namespace"], "key": field["key"], "type": field["type"], "value": value,
        }]})["metafieldsSet"]
        _raise_user_errors("metafieldsSet", saved)

    def read_incoming_supply(self, shop, also_ids: Sequence[str] = ()) -> list[IncomingShipment]:
        client = self.graphql(shop)
        found: dict[str, IncomingShipment] = {}
        for node in client.paginate(ops.INCOMING_SHIPMENTS, {"query": INCOMING_QUERY}, ["inventoryShipments"],
                                    page_size=SHIPMENTS_PAGE):
            found[node["id"]] = _incoming_shipment(client, node)
        missing = [i for i in dict.fromkeys(also_ids) if i not in found]
        for start in range(0, len(missing), SHIPMENTS_PAGE):
            wanted = missing[start:start + SHIPMENTS_PAGE]
            nodes = client.execute(ops.INVENTORY_SHIPMENTS_BY_ID, {"ids": wanted}).get("nodes") or []
            for shipment_id, node in zip(wanted, nodes):
                found[shipment_id] = (_incoming_shipment(client, node) if node else
                                      IncomingShipment(shipment_id, shipment_id, "withdrawn", None, None, None, None))
        return list(found.values())

    def read_orders_updated_since(self, shop, since: datetime) -> list[ShopifyOrder]:
        """Every order updated at or after `since`, oldest update first, with all its line items.

        The whole listing is read before anything is returned: the app's own writes (tagging an
        order moves its updatedAt) would otherwise move orders behind the cursor mid-walk. An order
        seen twice (updated again while paging) is kept once, in its newest state.
        """
        client = self.graphql(shop)
        query = f"updated_at:>='{_search_time(since)}'"
        found: dict[str, ShopifyOrder] = {}
        for node in client.paginate(ops.ORDERS_UPDATED_SINCE, {"query": query}, ["orders"], page_size=ORDERS_PAGE):
            connection = node.get("lineItems") or {}
            items = connection.get("nodes") or []
            if (connection.get("pageInfo") or {}).get("hasNextPage"):
                items = list(client.paginate(ops.ORDER_LINE_ITEMS, {"id": node["id"]}, ["order", "lineItems"],
                                             page_size=ORDER_LINES_PAGE))
            order = shopify_order(node, items)
            known = found.get(node["id"])
            if known is None or _updated(order) >= _updated(known):
                found[node["id"]] = order
        return sorted(found.values(), key=lambda o: (_updated(o), o.id))

    def set_variant_etas(self, shop, items: Sequence[tuple[str, str]]) -> None:
        """Store the storefront ETA (a JSON string) on each (variant id, value): one call, <= 25."""
        if len(items) > STOREFRONT_BATCH:
            raise ValueError(f"at most {STOREFRONT_BATCH} variants per call")
        field = shopify_manifest()["variant_metafield"]
        saved = self.graphql(shop).execute(ops.VARIANT_ETAS_SET, {"metafields": [
            {"ownerId": _gid(variant_id), "namespace": field["namespace"], "key": field["key"],
             "type": field["type"], "value": value} for variant_id, value in items]})["metafieldsSet"]
        _raise_user_errors("metafieldsSet", saved)

    def clear_variant_etas(self, shop, platform_variant_ids: Sequence[str]) -> None:
        """Remove the storefront ETA of variants back in stock (a missing one is not an error)."""
        if len(platform_variant_ids) > STOREFRONT_BATCH:
            raise ValueError(f"at most {STOREFRONT_BATCH} variants per call")
        field = shopify_manifest()["variant_metafield"]
        deleted = self.graphql(shop).execute(ops.VARIANT_ETAS_DELETE, {"metafields": [
            {"ownerId": _gid(variant_id), "namespace": field["namespace"], "key": field["key"]}
            for variant_id in platform_variant_ids]})["metafieldsDelete"]
        _raise_user_errors("metafieldsDelete", deleted)

    def refund_line(self, shop, platform_order_id: str, platform_line_id: str, quantity: int, *,
                    idempotency_key: str) -> str:
        """Refund units of one line, restocking off, shipping too when nothing else is left to ship
        (connectors/shopify/refunds.py); the refund's id. The same key never refunds twice."""
        from connectors.shopify.refunds import refund_line

        return refund_line(self, shop, platform_order_id, platform_line_id, quantity, idempotency_key=idempotency_key)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()


def _variant_stock(node: dict) -> VariantStock:
    item = node.get("inventoryItem") or {}
    by_location: dict[str, int] = {}
    for edge in ((item.get("inventoryLevels") or {}).get("edges") or []):
        level = edge["node"]
        available = sum(q["quantity"] for q in level.get("quantities") or [] if q["name"] == "available")
        by_location[level["location"]["id"]] = available
    return VariantStock(
        platform_variant_id=node["id"].rsplit("/", 1)[-1],
        platform_product_id=((node.get("product") or {}).get("id") or "").rsplit("/", 1)[-1] or None,
        sku=node.get("sku") or None,
        title=node.get("displayName"),
        tracked=bool(item.get("tracked")),
        continue_selling=node.get("inventoryPolicy") == "CONTINUE",
        by_location=by_location,
    )


def _incoming_shipment(client: ShopifyGraphQL, node: dict) -> IncomingShipment:
    connection = node.get("lineItems") or {}
    items = connection.get("nodes") or []
    if (connection.get("pageInfo") or {}).get("hasNextPage"):
        items = list(client.paginate(ops.INVENTORY_SHIPMENT_LINE_ITEMS, {"id": node["id"]},
                                     ["inventoryShipment", "lineItems"], page_size=250))
    tracking = node.get("tracking") or {}
    return IncomingShipment(
        platform_shipment_id=node["id"],
        name=node.get("name") or node["id"],
        status=SHIPMENT_STATUSES.get(node.get("status"), "unknown"),
        arrives_at=_day(tracking.get("arrivesAt")),
        shipped_at=_day(node.get("dateShipped")),
        received_at=_day(node.get("dateReceived")),
        tracking=tracking.get("trackingNumber") or None,
        lines=tuple(IncomingLine(
            sku=((item.get("inventoryItem") or {}).get("sku") or "").strip() or None,
            inventory_item_id=(item.get("inventoryItem") or {}).get("id") or "",
            quantity=int(item.get("quantity") or 0),
            unreceived=int(item.get("unreceivedQuantity") or 0),
            accepted=int(item.get("acceptedQuantity") or 0),
            rejected=int(item.get("rejectedQuantity") or 0),
        ) for item in items),
    )


def _updated(order: ShopifyOrder) -> datetime:
    return order.updated_at or order.created_at


def _search_time(moment: datetime) -> str:
    """A UTC timestamp for Shopify's search syntax, floored to the second (its precision)."""
    if moment.tzinfo is None:
        raise ValueError("since must be timezone-aware")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(value: str | None):
    """The UTC calendar day of a Shopify DateTime ("2026-12-01T00:00:00Z")."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (moment.astimezone(timezone.utc) if moment.tzinfo else moment).date()


def _raise_user_errors(what: str, payload: dict) -> None:
    errors = payload.get("userErrors") or []
    if errors:
        # A userError will not go away by retrying the same input.
        raise ConnectorError(f"{what}: " + "; ".join(e.get("message", "?") for e in errors), retryable=False)
