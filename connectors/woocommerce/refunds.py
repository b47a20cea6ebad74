"""Refunding one backordered line in WooCommerce (the customer's "cancel and refund" choice).

1. The order's refunds are read first: one whose reason carries this call's reference was made by
   an earlier attempt (WooCommerce has no idempotency keys), and its id is the answer.
2. POST orders/<id>/refunds for that line and quantity, its share of the line's total and taxes
   (and the shipping when nothing else on the order is left to ship), with `api_refund: true`:
   WooCommerce asks the payment gateway to pay the money back.
3. A gateway that cannot refund automatically (no refund support, or it refused) makes
   WooCommerce answer woocommerce_rest_cannot_create_order_refund and keep nothing. The refund is
   then recorded as a manual one (`api_refund: false`: the order shows it, no money moves), a
   private order note tells the merchant to pay the customer back by hand, and the reference
   returned is "manual:<refund id>" so the app's records and the merchant's digest say so too.

Restocking: `api_restock: true`. A backordered unit was never on the shelf; the order only pushed
the stock below zero. WooCommerce restocks a refunded line by exactly the units the order took
(`_reduced_stock`), which undoes the oversell (-1 -> 0) and adds nothing that does not exist; not
restocking would leave the stock one below reality (the next delivery of ten would show nine), as
restockType CANCEL does on Shopify for the same reason.

Errors: WooCommerceError (ConnectorError). An order or line that is not there, or more units asked
than are left to refund, are not retryable; a store that did not answer is, and is safe to retry
(step 1 finds a refund that was made after all).
"""
from __future__ import annotations

import logging
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from connectors.woocommerce.client import WooClient, WooCommerceError

log = logging.getLogger(__name__)

MANUAL_PREFIX = "manual:"
RESTOCK = True
REFUSED_CODE = "woocommerce_rest_cannot_create_order_refund"


def refund_reason(idempotency_key: str) -> str:
    """Readable by the merchant, and how a retry recognises its own refund."""
    return f"Cancelled by the customer from a Backorder Desk delay email (ref {idempotency_key})"


def _marker(idempotency_key: str) -> str:
    return f"(ref {idempotency_key})"


def refund_line(client: WooClient, order_id: str, line_id: str, quantity: int, *, idempotency_key: str) -> str:
    if quantity <= 0:
        raise WooCommerceError("refund quantity must be positive", retryable=False)
    if not idempotency_key or not idempotency_key.strip():
        raise WooCommerceError("an idempotency key is required", retryable=False)
    marker = _marker(idempotency_key)
    refunds = list(client.paginate(f"orders/{order_id}/refunds"))
    for refund in refunds:
        if marker in (refund.get("reason") or ""):
            reference = _reference(refund)
            if reference.startswith(MANUAL_PREFIX):
                _ensure_manual_note(client, order_id, refund, marker)
            return reference

    order = _order(client, order_id)
    item = next((li for li in order.get("line_items") or [] if str(li.get("id")) == str(line_id)), None)
    if item is None:
        raise WooCommerceError(f"line {line_id} is not on order {order_id}", retryable=False)
    refunded = _refunded_quantities(refunds)
    ordered = int(float(item.get("quantity") or 0))
    left = ordered - refunded.get(str(line_id), 0)
    if quantity > left:
        raise WooCommerceError(f"only {max(left, 0)} of line {line_id} are left to refund, not {quantity}",
                               retryable=False)
    places = _decimals(order)
    line = _line_share(item, quantity, ordered, places)
    entries = [line]
    amount = Decimal(line["refund_total"]) + sum((Decimal(t["refund_total"]) for t in line["refund_tax"]), Decimal(0))
    if _nothing_else_to_ship(order, refunded, str(line_id), quantity, refunds):
        for shipping in order.get("shipping_lines") or []:
            share = _shipping_share(shipping, places)
            if share is not None:
                entries.append(share)
                amount += Decimal(share["refund_total"]) + sum((Decimal(t["refund_total"]) for t in share["refund_tax"]),
                                                               Decimal(0))
    body = {"amount": _money(amount, places), "reason": refund_reason(idempotency_key), "api_refund": True,
            "api_restock": RESTOCK, "line_items": entries}
    try:
        refund = client.post(f"orders/{order_id}/refunds", body)
        return _reference(refund)
    except WooCommerceError as exc:
        if exc.code != REFUSED_CODE:
            raise
        gateway_error = exc
    # The gateway could not pay it back: record the refund for the merchant to pay by hand.
    refund = client.post(f"orders/{order_id}/refunds", {**body, "api_refund": False})
    log.warning("woocommerce refund recorded as manual: the gateway could not refund", extra={
        "store": client.store_url, "order": order_id, "refund": refund.get("id"), "error": str(gateway_error)[:300]})
    _add_manual_note(client, order_id, refund, marker, str(getattr(gateway_error, "args", [""])[0]))
    return _reference(refund)


def _order(client: WooClient, order_id: str) -> dict:
    try:
        return client.get(f"orders/{order_id}")
    except WooCommerceError as exc:
        if exc.status == 404:
            raise WooCommerceError(f"order {order_id} not found in {client.store_url}", code=exc.code, status=404,
                                   retryable=False) from None
        raise


def _reference(refund: dict) -> str:
    refund_id = str(refund.get("id"))
    # refunded_payment: whether the gateway moved the money (WooCommerce's own record of it).
    return refund_id if refund.get("refunded_payment", True) else f"{MANUAL_PREFIX}{refund_id}"


def _refunded_quantities(refunds) -> dict[str, int]:
    """Units already refunded per order line, from the refunds' own line items (negative quantities)."""
    done: dict[str, int] = {}
    for refund in refunds:
        for item in refund.get("line_items") or []:
            original = None
            for meta in item.get("meta_data") or []:
                if meta.get("key") == "_refunded_item_id":
                    original = str(meta.get("value"))
            if original is None:
                continue
            done[original] = done.get(original, 0) + abs(int(float(item.get("quantity") or 0)))
    return done


def _nothing_else_to_ship(order: dict, refunded: dict[str, int], line_id: str, quantity: int, refunds) -> bool:
    """True when, after this refund, no unit of the order is left to ship and no shipping was refunded yet."""
    if str(order.get("status")) not in ("processing", "on-hold", "pending"):
        return False
    for item in order.get("line_items") or []:
        left = int(float(item.get("quantity") or 0)) - refunded.get(str(item.get("id")), 0)
        if str(item.get("id")) == line_id:
            left -= quantity
        if left > 0:
            return False
    # An earlier refund that took shipping (or money beyond its lines) is left alone: no double refund.
    return not any(refund.get("shipping_lines") for refund in refunds)


def _decimals(order: dict) -> int:
    text = str(order.get("total") or "0.00")
    return len(text.split(".", 1)[1]) if "." in text else 0


def _money(value: Decimal, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    return str(value.quantize(quantum, rounding=ROUND_HALF_UP))


def _dec(value) -> Decimal:
    try:
        return Decimal(str(value or "0"))
    except InvalidOperation:
        return Decimal(0)


def _line_share(item: dict, quantity: int, ordered: int, places: int) -> dict:
    share = Decimal(quantity) / Decimal(max(ordered, 1))
    taxes = [{"id": int(tax["id"]), "refund_total": _money(_dec(tax.get("total")) * share, places)}
             for tax in item.get("taxes") or [] if tax.get("id") and _dec(tax.get("total"))]
    return {"id": int(item["id"]), "quantity": quantity, "refund_total": _money(_dec(item.get("total")) * share, places),
            "refund_tax": taxes}


def _shipping_share(shipping: dict, places: int) -> dict | None:
    total = _dec(shipping.get("total"))
    taxes = [{"id": int(tax["id"]), "refund_total": _money(_dec(tax.get("total")), places)}
             for tax in shipping.get("taxes") or [] if tax.get("id") and _dec(tax.get("total"))]
    if not total and not taxes:
        return None
    return {"id": int(shipping["id"]), "refund_total": _money(total, places), "refund_tax": taxes}


def _manual_note(refund: dict, marker: str, why: str) -> str:
    return (f"Backorder Desk recorded refund #{refund.get('id')} of {refund.get('amount')} as a manual refund "
            f"{marker}: the payment gateway could not refund it automatically"
            + (f" ({why})" if why else "") + ". No money has moved: please pay the customer back yourself.")


def _add_manual_note(client: WooClient, order_id: str, refund: dict, marker: str, why: str) -> None:
    try:
        client.post(f"orders/{order_id}/notes", {"note": _manual_note(refund, marker, why), "customer_note": False})
    except WooCommerceError:
        # The refund is recorded and the reference says manual; the note is a courtesy, added on a retry.
        log.warning("could not add the manual refund note", exc_info=True, extra={"order": order_id})


def _ensure_manual_note(client: WooClient, order_id: str, refund: dict, marker: str) -> None:
    try:
        notes = client.get(f"orders/{order_id}/notes", {"type": "internal"}) or []
    except WooCommerceError:
        return
    if not any(marker in (note.get("note") or "") and "manual" in (note.get("note") or "") for note in notes):
        _add_manual_note(client, order_id, refund, marker, "")
