"""A WooCommerce order (REST v3 / webhook payload) in the model the backorder service reads.

`plugin.backorders.payloads.ShopifyOrder` is the app's platform-neutral order in all but name;
WooCommerce's fields map onto it like this:

* the line's "variant" is the variation when there is one, else the product (variation_id 0);
* times are the `*_gmt` fields (WooCommerce's others are in the site's time zone, unmarked);
* the status says what is still owed. Stock is taken when an order is paid or put on hold
  (processing, on-hold): those lines are open. pending, failed and checkout-draft orders have
  taken no stock yet: nothing is owed (a line that had a backorder is taken off, not shipped).
  completed: everything shipped. cancelled, refunded and trash: cancelled. A status a plugin added
  is read as open (the order has not been closed).
* `customer_locale` from the language plugins' order meta (WPML, Polylang), else unknown.

WooCommerce marks a line sold beyond stock with a visible meta, "Backordered: 2", whose key is
translated with the site's language (and filterable). `native_backordered_units` finds it by its
shape instead of its words; it is a hint only: the stock reading decides (products with backorders
"yes" get no such meta at all).
"""
from __future__ import annotations

from datetime import datetime, timezone

from plugin.backorders.payloads import PayloadError, ShopifyOrder, parse_shopify_order

OPEN_STATUSES = ("processing", "on-hold")
NOT_YET_STATUSES = ("pending", "failed", "checkout-draft", "draft", "auto-draft")
SHIPPED_STATUSES = ("completed",)
CANCELLED_STATUSES = ("cancelled", "refunded", "trash")
_LOCALE_META_KEYS = ("wpml_language", "pll_language", "_locale", "locale", "language")


def parse_time(value) -> datetime | None:
    """A `*_gmt` field ("2026-12-01T10:00:00", no offset) as an aware UTC datetime."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def order_modified(payload: dict) -> datetime | None:
    return parse_time(payload.get("date_modified_gmt")) or parse_time(payload.get("date_created_gmt"))


def woo_order(payload: dict) -> ShopifyOrder:
    """The order in the app's model; PayloadError (not retryable) when it cannot be read."""
    if not isinstance(payload, dict) or not payload.get("id"):
        raise PayloadError("order payload invalid: no id")
    created = parse_time(payload.get("date_created_gmt"))
    if created is None:
        raise PayloadError("order payload invalid: date_created_gmt missing")
    modified = order_modified(payload) or created
    status = str(payload.get("status") or "").lower()
    billing = payload.get("billing") or {}
    lines = []
    for item in payload.get("line_items") or []:
        if not isinstance(item, dict) or not item.get("id"):
            continue
        quantity = max(0, int(_number(item.get("quantity"))))
        product_id = int(_number(item.get("product_id"))) or None
        variation_id = int(_number(item.get("variation_id"))) or None
        line = {
            "id": int(item["id"]),
            "variant_id": variation_id or product_id,
            "product_id": product_id,
            "sku": item.get("sku") or None,
            "name": item.get("name") or None,
            "title": item.get("parent_name") or item.get("name") or None,
            "quantity": quantity,
            # One unit before discounts (the line's subtotal over its quantity), as Shopify's price.
            "price": _unit_price(item.get("subtotal"), quantity),
        }
        if status in NOT_YET_STATUSES:
            line.update(current_quantity=0, fulfillable_quantity=0)
        elif status in SHIPPED_STATUSES:
            line.update(current_quantity=quantity, fulfillable_quantity=0, fulfillment_status="fulfilled")
        else:
            line.update(current_quantity=quantity, fulfillable_quantity=quantity)
        lines.append(line)
    number = payload.get("number") or payload.get("id")
    return parse_shopify_order({
        "id": int(payload["id"]),
        "name": f"#{number}",
        "email": billing.get("email") or None,
        "created_at": created,
        "updated_at": modified,
        "cancelled_at": modified if status in CANCELLED_STATUSES else None,
        "customer_locale": _locale(payload),
        "currency": payload.get("currency") or None,
        "customer": {"first_name": billing.get("first_name") or None, "last_name": billing.get("last_name") or None,
                     "email": billing.get("email") or None},
        "line_items": lines,
    })


def deleted_order(order_id: int, when: datetime) -> ShopifyOrder:
    """An order that is gone from the store (deleted for good): cancelled, as of `when`."""
    return ShopifyOrder(id=int(order_id), created_at=when, updated_at=when, cancelled_at=when, line_items=[])


def variation_parents(payload: dict) -> dict[str, str]:
    """{variation id: product id} of the order's lines (the REST API reads a variation under its product)."""
    found = {}
    for item in payload.get("line_items") or []:
        if isinstance(item, dict) and int(_number(item.get("variation_id"))) and int(_number(item.get("product_id"))):
            found[str(int(item["variation_id"]))] = str(int(item["product_id"]))
    return found


def native_backordered_units(item: dict, ignore_keys: set[str] = frozenset()) -> int | None:
    """The units WooCommerce itself marked as backordered on this line, whatever the language.

    WooCommerce adds one visible meta per backordered line: key = the translated word
    ("Backordered", "Nachbestellt", "Zamówione"), value = a whole number of units from 1 to the
    line's quantity, and no display label of its own (display_key is the key itself, unlike a
    variation attribute such as pa_size, whose display_key is the attribute's label). Exactly one
    such candidate: its number; none or several (ambiguous): None.
    """
    quantity = int(_number(item.get("quantity")))
    candidates = []
    for meta in item.get("meta_data") or []:
        if not isinstance(meta, dict):
            continue
        key = meta.get("key")
        if not isinstance(key, str) or not key or key.startswith("_") or key.startswith("pa_") or key in ignore_keys:
            continue
        display_key = meta.get("display_key")
        if display_key is not None and str(display_key).strip() != key.strip():
            continue
        value = meta.get("value")
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            units = value
        elif isinstance(value, str) and value.strip().isdigit():
            units = int(value.strip())
        else:
            continue
        if 1 <= units <= max(quantity, 0):
            candidates.append(units)
    return candidates[0] if len(candidates) == 1 else None


def _locale(payload: dict) -> str | None:
    for meta in payload.get("meta_data") or []:
        if isinstance(meta, dict) and meta.get("key") in _LOCALE_META_KEYS and isinstance(meta.get("value"), str):
            value = meta["value"].strip().replace("_", "-")
            if 2 <= len(value) <= 20:
                return value
    return None


def _unit_price(subtotal, quantity: int):
    from decimal import Decimal, InvalidOperation

    try:
        return (Decimal(str(subtotal)) / quantity).quantize(Decimal("0.0001")) if subtotal not in (None, "") \
            and quantity else None
    except (InvalidOperation, ArithmeticError):
        return None


def _number(value) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0
