"""Admin GraphQL orders mapped onto the model the order webhooks produce (`ShopifyOrder`).

Reconciliation reads orders through GraphQL, webhooks deliver them as REST-shaped JSON; both must
reach the backorder service as the same thing, so that a missed webhook and a delivered one are
processed identically.
"""
from __future__ import annotations

from plugin.backorders.payloads import ShopifyOrder, parse_shopify_order


def legacy_id(gid: str | None) -> int | None:
    """The numeric id at the end of a global id (gid://shopify/LineItem/123 -> 123)."""
    if not gid:
        return None
    return int(gid.rsplit("/", 1)[-1].split("?", 1)[0])


def shopify_order(node: dict, line_items: list[dict]) -> ShopifyOrder:
    """One `Order` node (OrdersUpdatedSince) and all its line items, as a webhook would carry them.

    A webhook's `fulfillable_quantity` is what is still to ship; GraphQL gives the units not yet
    fulfilled (`unfulfilledQuantity`) and the units still on the order (`currentQuantity`, without
    removed and refunded ones): what is owed is the smaller of the two.
    """
    customer = node.get("customer") or None
    return parse_shopify_order({
        "id": int(node["legacyResourceId"]),
        "name": node.get("name"),
        "email": node.get("email"),
        "created_at": node["createdAt"],
        "updated_at": node.get("updatedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "customer_locale": node.get("customerLocale"),
        "currency": node.get("currencyCode"),
        "customer": {"first_name": customer.get("firstName"), "last_name": customer.get("lastName"),
                     "email": node.get("email")} if customer else None,
        "line_items": [_line_item(item) for item in line_items],
    })


def _line_item(item: dict) -> dict:
    current = int(item["currentQuantity"])
    return {
        "id": legacy_id(item["id"]),
        "variant_id": legacy_id((item.get("variant") or {}).get("id")),
        "sku": item.get("sku") or None,
        "name": item.get("name"),
        "title": item.get("title"),
        "quantity": int(item["quantity"]),
        "current_quantity": current,
        "fulfillable_quantity": min(current, int(item["unfulfilledQuantity"])),
        "price": ((item.get("originalUnitPriceSet") or {}).get("shopMoney") or {}).get("amount"),
    }
