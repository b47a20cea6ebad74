"""Orders, their items, notes and status changes, with WooCommerce's stock side effects.

- Checkout (`created_via: "checkout"`) puts the translated "Backordered" meta on a line whose
  product manages stock with backorders "notify" and is short (set_backorder_meta): value =
  quantity - max(0, stock before the order). With backorders "yes" there is no such meta, and
  orders created through the REST API never get it.
- Stock is reduced once, when the order reaches processing, completed or on-hold (or payment
  completes): each line gets the hidden `_reduced_stock` meta and the order a note
  "Stock levels reduced: Name (SKU) 2&rarr;-1". Cancelling (or back to pending) restores it
  ("Stock levels increased: ..."). The REST API never checks stock: it can oversell anything.
- Every status change adds "Order status changed from X to Y." Notes never save the order
  (no date_modified, no webhook); a customer note is also emailed to the billing address.
"""
from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from .catalog import Catalog, Product
from .errors import RestError, StoreError
from .store import Memory, Meta, add_meta, delete_meta, get_meta

ORDER_STATUSES = {
    "pending": "Pending payment", "processing": "Processing", "on-hold": "On hold", "completed": "Completed",
    "cancelled": "Cancelled", "refunded": "Refunded", "failed": "Failed", "checkout-draft": "Draft",
    "trash": "Trash",
}
PAID_STATUSES = ("processing", "completed", "on-hold")
# __( 'Backordered', 'woocommerce' ) in a few locales; pass backordered_label= for others.
BACKORDERED_LABELS = {"en_US": "Backordered", "en_GB": "Backordered", "pl_PL": "Zamówione"}


@dataclass
class LineItem:
    id: int
    product_id: int
    variation_id: int
    name: str
    quantity: int
    subtotal: Decimal
    total: Decimal
    sku: str = ""
    tax_class: str = ""
    meta: list[Meta] = field(default_factory=list)


@dataclass
class Note:
    id: int
    order_id: int
    note: str
    customer_note: bool
    date_created: datetime
    author: str = "system"


@dataclass
class Order:
    id: int
    order_key: str
    created_via: str
    status: str
    currency: str
    date_created: datetime
    date_modified: datetime
    billing: dict
    shipping: dict
    payment_method: str = ""
    payment_method_title: str = ""
    transaction_id: str = ""
    customer_id: int = 0
    customer_note: str = ""
    shipping_total: Decimal = Decimal("0")
    date_paid: datetime | None = None
    date_completed: datetime | None = None
    line_items: list[LineItem] = field(default_factory=list)
    meta: list[Meta] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    refund_ids: list[int] = field(default_factory=list)
    stock_reduced: bool = False
    customer_locale: str = ""

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.line_items), Decimal("0")) + self.shipping_total


def order_key() -> str:
    alphabet = string.ascii_letters + string.digits
    return "wc_order_" + "".join(secrets.choice(alphabet) for _ in range(13))


def empty_address(shipping: bool = False) -> dict:
    keys = ["first_name", "last_name", "company", "address_1", "address_2", "city", "state", "postcode", "country"]
    address = {key: "" for key in keys}
    if not shipping:
        address.update(email="", phone="")
    else:
        address["phone"] = ""
    return address


class Orders:
    def __init__(self, memory: Memory, catalog: Catalog, backordered_label: str | None = None):
        self.m, self.catalog = memory, catalog
        self.backordered_label = backordered_label or BACKORDERED_LABELS.get(memory.site.locale, "Backordered")

    def get(self, order_id: int) -> Order | None:
        return self.m.orders.get(int(order_id))

    def require(self, order_id: int) -> Order:
        order = self.get(order_id)
        if order is None:
            raise StoreError(f"no order {order_id}")
        return order

    # -- creation -------------------------------------------------------------------------------
    def new_order(self, *, created_via: str, billing: dict | None = None, shipping: dict | None = None,
                  payment_method: str = "", payment_method_title: str = "", customer_note: str = "",
                  customer_id: int = 0, currency: str | None = None, shipping_total=Decimal("0")) -> Order:
        now = self.m.now()
        order = Order(self.m.post_id(), order_key(), created_via, "pending", currency or self.m.site.currency,
                      now, now, {**empty_address(), **(billing or {})}, {**empty_address(True), **(shipping or {})},
                      payment_method=payment_method, payment_method_title=payment_method_title,
                      customer_note=customer_note, customer_id=customer_id, shipping_total=Decimal(str(shipping_total)))
        self.m.orders[order.id] = order
        return order

    def add_line(self, order: Order, product: Product, quantity: int, *, total=None, name: str | None = None,
                 backorder_meta: bool = False) -> LineItem:
        if quantity <= 0:
            raise RestError("order_item_product_invalid_quantity", "Quantity must be positive", 400)
        unit = Decimal(product.price or "0")
        amount = Decimal(str(total)) if total not in (None, "") else unit * quantity
        is_variation = product.type == "variation"
        line = LineItem(self.m.item_id(), product.parent_id if is_variation else product.id,
                        product.id if is_variation else 0, name or self.catalog.display_name(product),
                        quantity, amount, amount, sku=product.sku)
        if is_variation:
            for attribute in product.attributes:
                row = add_meta(line.meta, attribute.get("slug") or attribute["name"].lower(), attribute.get("option", ""),
                               self.m.item_meta_id)
                row.display_key = attribute["name"]
        if backorder_meta:
            self.set_backorder_meta(line, product)
        order.line_items.append(line)
        return line

    def set_backorder_meta(self, line: LineItem, product: Product) -> None:
        """WC_Order_Item_Product::set_backorder_meta(), at checkout, before stock is reduced."""
        if self.catalog.backorders_require_notification(product) and self.catalog.is_on_backorder(product, line.quantity):
            short = line.quantity - max(0, self.catalog.quantity(product) or 0)
            add_meta(line.meta, self.backordered_label, short, self.m.item_meta_id)

    def line_product(self, line: LineItem) -> Product | None:
        return self.catalog.get(line.variation_id or line.product_id)

    # -- saving and status ----------------------------------------------------------------------
    def save(self, order: Order, *, created: bool = False) -> None:
        order.date_modified = self.m.now()
        self.m.emit("order", "created" if created else "updated", order.id)
        self.m.changed()

    def set_status(self, order: Order, status: str, note: str = "", *, manual: bool = False) -> None:
        """WC_Order::update_status(): the transition note, then the stock actions of the new status."""
        status = status.removeprefix("wc-")
        if status not in ORDER_STATUSES:
            raise RestError("woocommerce_rest_invalid_order_status", "Invalid order status.", 400)
        old = order.status
        if old == status:
            return
        order.status = status
        now = self.m.now()
        if status in ("processing", "completed") and order.date_paid is None:
            order.date_paid = now
        if status == "completed":
            order.date_completed = now
        text = f"Order status changed from {ORDER_STATUSES[old]} to {ORDER_STATUSES[status]}."
        self.add_note(order, f"{note} {text}".strip() if note else text, added_by_user=manual)
        if status in PAID_STATUSES:
            self.reduce_stock(order)
        elif status in ("cancelled", "pending"):
            self.increase_stock(order)

    def payment_complete(self, order: Order, transaction_id: str = "") -> None:
        if transaction_id:
            order.transaction_id = transaction_id
        order.date_paid = order.date_paid or self.m.now()
        self.set_status(order, "processing")
        self.reduce_stock(order)

    # -- stock ----------------------------------------------------------------------------------
    def reduce_stock(self, order: Order) -> None:
        """wc_reduce_stock_levels(): once per order, lines of products that manage stock."""
        if order.stock_reduced:
            return
        changes = []
        for line in order.line_items:
            product = self.line_product(line)
            if product is None or get_meta(line.meta, "_reduced_stock") or not self.catalog.managing_stock(product):
                continue
            new = self.catalog.update_stock(product, line.quantity, "decrease")
            add_meta(line.meta, "_reduced_stock", line.quantity, self.m.item_meta_id)
            changes.append(f"{self.catalog.formatted_name(product)} {new + line.quantity}&rarr;{new}")
        order.stock_reduced = True
        for line in order.line_items:
            product = self.line_product(line)
            if product is not None:
                product.total_sales += line.quantity
        if changes:
            self.add_note(order, "Stock levels reduced: " + ", ".join(changes))

    def increase_stock(self, order: Order) -> None:
        """wc_increase_stock_levels(): gives back what `_reduced_stock` says was taken."""
        if not order.stock_reduced:
            return
        changes = []
        for line in order.line_items:
            reduced = get_meta(line.meta, "_reduced_stock")
            product = self.line_product(line)
            if not reduced or product is None or not self.catalog.managing_stock(product):
                continue
            new = self.catalog.update_stock(product, int(reduced), "increase")
            delete_meta(line.meta, "_reduced_stock")
            changes.append(f"{self.catalog.formatted_name(product)} {new - int(reduced)}&rarr;{new}")
        order.stock_reduced = False
        if changes:
            self.add_note(order, "Stock levels increased: " + ", ".join(changes))

    # -- notes ----------------------------------------------------------------------------------
    def add_note(self, order: Order, text: str, customer_note: bool = False, added_by_user: bool = False) -> Note:
        note = Note(self.m.comment_id(), order.id, text, bool(customer_note), self.m.now(),
                    self.m.site.admin_login if added_by_user else "system")
        order.notes.append(note)
        if customer_note:
            self.m.emails.append({"type": "customer_note", "to": order.billing.get("email", ""), "order_id": order.id,
                                  "note": text})
        self.m.changed()
        return note
