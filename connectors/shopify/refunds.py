"""Refunding one backordered line on Shopify: refundCreate for that line and quantity, exactly once.

1. Read the order (RefundOrderState). A refund whose note carries this call's reference was made
   by an earlier attempt (a crash after Shopify answered, or a retry after Shopify's idempotency
   window): its id is the answer, nothing is sent again.
2. Ask Shopify what to refund (suggestedRefund): the line's amount and, when the line was the last
   thing left to ship on the order, the shipping not yet refunded; it also says through which of
   the order's payments (suggestedTransactions, each with its parent transaction and gateway).
3. refundCreate with restockType CANCEL, `notify: false` (the app sends its
   own refund confirmation), and the @idempotent directive keyed by the caller's idempotency key,
   which Shopify requires for refundCreate since 2026-04: the GraphQL client's own retries (5xx,
   network errors) and any later retry with the same key answer the first refund instead of
   making a second one.

Errors: ConnectorError. A user error, an order or line that is not there, or more units asked
than are left to refund are not retryable; Shopify unreachable is.
"""
from __future__ import annotations

from decimal import Decimal

from connectors.base import ConnectorError
from connectors.shopify import operations as ops

# "Restocking off" in the sense that matters: no unit is added to the shelf. A backordered unit
# was never there: the order only pushed "available" below zero and committed it. NO_RESTOCK would
# release the commitment and leave "available" negative (on hand one below reality: the next
# restock of ten would show nine); CANCEL releases the unfulfilled unit back, which undoes exactly
# the oversell (-1 -> 0) and adds nothing that does not exist.
RESTOCK_TYPE = "CANCEL"
LINE_PAGE = 250


def line_gid(numeric_id) -> str:
    value = str(numeric_id)
    return value if value.startswith("gid://") else f"gid://shopify/LineItem/{value}"


def refund_note(idempotency_key: str) -> str:
    """The refund's note: readable by the merchant, and how a retry recognises its own refund."""
    return f"Cancelled by the customer from a Backorder Desk delay email (ref {idempotency_key})"


def refund_line(connector, shop, platform_order_id: str, platform_line_id: str, quantity: int, *,
                idempotency_key: str) -> str:
    """Refund `quantity` units of the line; the refund's id (gid). Safe to call again with the same key."""
    from connectors.shopify.connector import order_gid  # late import: the connector imports this module

    if quantity <= 0:
        raise ConnectorError("refund quantity must be positive", retryable=False)
    if not idempotency_key or not idempotency_key.strip():
        raise ConnectorError("an idempotency key is required", retryable=False)
    client = connector.graphql(shop)
    order_id = order_gid(platform_order_id)
    target_id = line_gid(platform_line_id)

    order = client.execute(ops.REFUND_ORDER_STATE, {"id": order_id}).get("order")
    if order is None:
        raise ConnectorError(f"order {platform_order_id} not found on {shop.domain}", retryable=False)
    note = refund_note(idempotency_key)
    for refund in order.get("refunds") or []:
        if refund.get("note") and f"(ref {idempotency_key})" in refund["note"]:
            return refund["id"]  # an earlier attempt got through

    lines = _all_lines(client, order)
    target = next((line for line in lines if line["id"] == target_id), None)
    if target is None:
        raise ConnectorError(f"line {platform_line_id} is not on order {platform_order_id}", retryable=False)
    refundable = _to_ship(target)
    if quantity > refundable:
        raise ConnectorError(f"only {refundable} unit(s) of line {platform_line_id} can still be refunded, "
                             f"not {quantity}", retryable=False)
    # Units still to ship on the order once this refund is made (lines that need no shipping aside).
    left_to_ship = sum(_to_ship(line) for line in lines if line.get("requiresShipping", True))
    if target.get("requiresShipping", True):
        left_to_ship -= quantity
    refund_shipping = left_to_ship <= 0

    refund_lines = [{"lineItemId": target_id, "quantity": int(quantity), "restockType": RESTOCK_TYPE}]
    suggested = (client.execute(ops.SUGGESTED_LINE_REFUND, {
        "id": order_id, "refundLineItems": refund_lines, "refundShipping": refund_shipping,
    }).get("order") or {}).get("suggestedRefund")
    if suggested is None:
        raise ConnectorError(f"Shopify suggested no refund for order {platform_order_id}", retryable=False)

    refund_input: dict = {"orderId": order_id, "note": note, "notify": False, "refundLineItems": refund_lines,
                          "currency": order["presentmentCurrencyCode"]}
    shipping = _amount((suggested.get("shipping") or {}).get("amountSet"))
    if refund_shipping and shipping > 0:
        refund_input["shipping"] = {"amount": f"{shipping:.2f}"}
    transactions = []
    for suggestion in suggested.get("suggestedTransactions") or []:
        amount = _amount(suggestion.get("amountSet"))
        if amount <= 0:
            continue
        transaction = {"orderId": order_id, "kind": "REFUND", "gateway": suggestion.get("gateway") or "manual",
                       "amount": f"{amount:.2f}"}
        parent = (suggestion.get("parentTransaction") or {}).get("id")
        if parent:
            transaction["parentId"] = parent
        transactions.append(transaction)
    if transactions:
        refund_input["transactions"] = transactions

    created = client.execute(ops.REFUND_LINE_CREATE, {"input": refund_input,
                                                      "idempotencyKey": idempotency_key})["refundCreate"]
    errors = (created or {}).get("userErrors") or []
    if errors:
        raise ConnectorError("refundCreate: " + "; ".join(e.get("message", "?") for e in errors), retryable=False)
    refund = (created or {}).get("refund")
    if not refund or not refund.get("id"):
        raise ConnectorError("refundCreate answered without a refund", retryable=False)
    return refund["id"]


def _all_lines(client, order: dict) -> list[dict]:
    connection = order.get("lineItems") or {}
    lines = list(connection.get("nodes") or [])
    if (connection.get("pageInfo") or {}).get("hasNextPage"):
        lines = list(client.paginate(ops.REFUND_ORDER_LINE_ITEMS, {"id": order["id"]}, ["order", "lineItems"],
                                     page_size=LINE_PAGE))
    return lines


def _to_ship(line: dict) -> int:
    """Units of a line still owed: on the order (not removed or refunded) and not yet fulfilled."""
    return max(0, min(int(line.get("currentQuantity") or 0), int(line.get("unfulfilledQuantity") or 0)))


def _amount(money_bag: dict | None) -> Decimal:
    try:
        return Decimal(str(((money_bag or {}).get("presentmentMoney") or {}).get("amount") or "0"))
    except ArithmeticError:
        return Decimal("0")
