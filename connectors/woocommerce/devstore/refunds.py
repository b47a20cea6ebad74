"""Refunds (wc_create_refund, wc_refund_payment) and the payment gateways behind them.

`api_refund: true` asks the order's gateway to send the money back: a gateway that does not
exist, cannot refund automatically (bacs, cheque, cod) or fails makes the whole refund fail,
and nothing is recorded; the REST answer is then HTTP 500
`{"code": "woocommerce_rest_cannot_create_order_refund", "message": <why>, "data": 500}`.
`api_refund: false` records a manual refund (`refunded_payment: false`). `api_restock` (default
true) puts the refunded quantities back in stock. A refund that brings the remaining amount to
zero moves the order to "refunded". Every refund fires order.updated (woocommerce_order_refunded).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from .errors import RestError
from .orders import Order, Orders
from .store import Memory, Meta, add_meta, get_meta, update_meta


@dataclass
class Gateway:
    id: str
    title: str
    supports_refunds: bool = True
    fail_message: str | None = None  # process_refund() returns WP_Error(message); "" returns false
    refunds: list[dict] = field(default_factory=list)


DEFAULT_GATEWAYS = (
    Gateway("stripe", "Credit Card (Stripe)", True),
    Gateway("bacs", "Direct bank transfer", False),
    Gateway("cheque", "Check payments", False),
    Gateway("cod", "Cash on delivery", False),
)


@dataclass
class RefundLine:
    id: int
    product_id: int
    variation_id: int
    name: str
    quantity: int
    total: Decimal
    sku: str
    meta: list[Meta] = field(default_factory=list)


@dataclass
class Refund:
    id: int
    order_id: int
    amount: Decimal
    reason: str
    refunded_by: int
    refunded_payment: bool
    date_created: datetime
    line_items: list[RefundLine] = field(default_factory=list)
    meta: list[Meta] = field(default_factory=list)


def _decimal(value, default: Decimal = Decimal("0")) -> Decimal:
    if value in (None, ""):
        return default
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return default


def normalize_line_items(line_items) -> dict[int, dict]:
    """The REST body's line_items ([{id, quantity, refund_total}] or {id: {...}}) -> {id: {qty, refund_total}}."""
    rows = line_items.items() if isinstance(line_items, dict) else ((row.get("id"), row) for row in (line_items or []))
    result = {}
    for item_id, row in rows:
        if not isinstance(row, dict) or item_id in (None, ""):
            continue
        quantity = row.get("qty", row.get("quantity", 0)) or 0
        taxes = row.get("refund_tax") or []
        tax_total = sum(_decimal(t.get("refund_total")) for t in taxes if isinstance(t, dict)) if isinstance(taxes, list) else Decimal("0")
        result[int(item_id)] = {"qty": int(float(quantity)), "refund_total": _decimal(row.get("refund_total")),
                                "refund_tax": tax_total}
    return result


class Refunds:
    def __init__(self, memory: Memory, orders: Orders, gateways=DEFAULT_GATEWAYS):
        self.m, self.orders = memory, orders
        self.gateways: dict[str, Gateway] = {g.id: Gateway(g.id, g.title, g.supports_refunds, g.fail_message)
                                             for g in gateways}

    def refunded_total(self, order: Order) -> Decimal:
        return sum((self.m.refunds[i].amount for i in order.refund_ids if i in self.m.refunds), Decimal("0"))

    def create(self, order: Order, amount, reason: str = "", line_items=None, *, refund_payment: bool = False,
               restock_items: bool = True, meta_data=None) -> Refund:
        lines = normalize_line_items(line_items)
        if amount in (None, ""):
            amount = sum((row["refund_total"] + row["refund_tax"] for row in lines.values()), Decimal("0"))
        amount = _decimal(amount, Decimal("-1"))
        if amount < 0:
            raise RestError("woocommerce_rest_invalid_order_refund", "Refund amount must be greater than zero.",
                            bare_data=400)
        remaining = order.total - self.refunded_total(order)
        if amount > remaining:
            raise self._failed("Invalid refund amount.")
        refund = Refund(self.m.post_id(), order.id, amount, reason or "", self.m.site.admin_user_id, False, self.m.now())
        for item_id, row in lines.items():
            line = next((l for l in order.line_items if l.id == item_id), None)
            if line is None or (not row["qty"] and not row["refund_total"]):
                continue
            refund_line = RefundLine(self.m.item_id(), line.product_id, line.variation_id, line.name, -row["qty"],
                                     -row["refund_total"], line.sku)
            add_meta(refund_line.meta, "_refunded_item_id", line.id, self.m.item_meta_id)
            refund.line_items.append(refund_line)
        if refund_payment:
            self._refund_payment(order, refund)  # raises before anything is kept
        for meta in meta_data or []:
            if isinstance(meta, dict) and "key" in meta:
                update_meta(refund.meta, meta["key"], meta.get("value"), self.m.post_meta_id, meta.get("id"))
        self.m.refunds[refund.id] = refund
        order.refund_ids.insert(0, refund.id)
        if restock_items:
            self._restock(order, lines)
        self.orders.save(order)  # woocommerce_order_refunded -> order.updated
        if order.total - self.refunded_total(order) <= 0 and order.status != "refunded":
            self.orders.set_status(order, "refunded")
        self.m.changed()
        return refund

    @staticmethod
    def _failed(message: str) -> RestError:
        return RestError("woocommerce_rest_cannot_create_order_refund", message, bare_data=500)

    def _refund_payment(self, order: Order, refund: Refund) -> None:
        gateway = self.gateways.get(order.payment_method)
        if gateway is None:
            raise self._failed("The payment gateway for this order does not exist.")
        if not gateway.supports_refunds:
            raise self._failed("The payment gateway for this order does not support automatic refunds.")
        if gateway.fail_message is not None:
            raise self._failed(gateway.fail_message or
                               "An error occurred while attempting to create the refund using the payment gateway API.")
        gateway_refund_id = f"re_{order.id}_{len(gateway.refunds) + 1}"
        gateway.refunds.append({"order_id": order.id, "refund_id": refund.id, "amount": f"{refund.amount:.2f}",
                                "reason": refund.reason, "gateway_refund_id": gateway_refund_id})
        refund.refunded_payment = True
        self.orders.add_note(order, f"Refunded {self.m.site.currency_symbol}{refund.amount:.2f} via {gateway.title} "
                                    f"&ndash; Refund ID: {gateway_refund_id}")

    def _restock(self, order: Order, lines: dict[int, dict]) -> None:
        """wc_restock_refunded_items()."""
        for item_id, row in lines.items():
            line = next((l for l in order.line_items if l.id == item_id), None)
            product = self.orders.line_product(line) if line else None
            if not row["qty"] or product is None or not self.orders.catalog.managing_stock(product):
                continue
            old = self.orders.catalog.quantity(product) or 0
            new = self.orders.catalog.update_stock(product, row["qty"], "increase")
            already = int(get_meta(line.meta, "_restock_refunded_items", "0") or 0)
            update_meta(line.meta, "_restock_refunded_items", already + row["qty"], self.m.item_meta_id)
            self.orders.add_note(order, f"Item #{product.id} stock increased from {old} to {new}.")
