"""Products, variations and stock, with WooCommerce's rules (WC_Product, wc_update_product_stock).

- A product that does not manage stock has no quantity and `backorders: "no"`; its
  stock_status is whatever was set.
- One that manages stock gets its status from the quantity on every save (validate_props):
  above `woocommerce_notify_no_stock_amount` (0) -> instock; else onbackorder when backorders
  are "notify" or "yes"; else outofstock.
- A variation that does not manage stock while its parent does shows `manage_stock: "parent"`
  and uses the parent's quantity and backorders (orders then reduce the parent).
- A variable product that does not manage stock takes its status from its variations: instock
  if any is, else onbackorder if any is, else outofstock.
- `backordered` (is_on_backorder) is true when the status is onbackorder, or stock is managed,
  backorders are allowed and the quantity is below zero.
- Every stock change saves the product: date_modified moves, product.updated fires (for a
  variation, with the variation's id).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from .errors import RestError, StoreError
from .store import Memory, Meta

STOCK_STATUSES = ("instock", "outofstock", "onbackorder")
BACKORDERS = ("no", "notify", "yes")
PRODUCT_TYPES = ("simple", "variable", "grouped", "external")
PRODUCT_STATUSES = ("draft", "pending", "private", "publish", "future", "trash")


@dataclass
class Product:
    id: int
    type: str
    name: str
    slug: str
    date_created: datetime
    date_modified: datetime
    sku: str = ""
    status: str = "publish"
    parent_id: int = 0
    regular_price: str = ""
    sale_price: str = ""
    manage_stock: bool = False
    stock_quantity: int | None = None
    stock_status: str = "instock"
    backorders: str = "no"
    low_stock_amount: int | None = None
    attributes: list[dict] = field(default_factory=list)
    variation_ids: list[int] = field(default_factory=list)
    meta: list[Meta] = field(default_factory=list)
    description: str = ""
    short_description: str = ""
    total_sales: int = 0
    menu_order: int = 0
    weight: str = ""

    @property
    def price(self) -> str:
        return self.sale_price or self.regular_price


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "product"


class Catalog:
    def __init__(self, memory: Memory):
        self.m = memory

    # -- lookups --------------------------------------------------------------------------------
    def get(self, product_id: int) -> Product | None:
        return self.m.products.get(int(product_id))

    def require(self, product_id: int) -> Product:
        product = self.get(product_id)
        if product is None:
            raise StoreError(f"no product {product_id}")
        return product

    def by_sku(self, sku: str) -> Product | None:
        return next((p for p in self.m.products.values() if sku and p.sku == sku and p.status != "trash"), None)

    def parent(self, product: Product) -> Product | None:
        return self.get(product.parent_id) if product.type == "variation" else None

    # -- the stock view WooCommerce computes ("view" context) -----------------------------------
    def inherits_stock(self, product: Product) -> bool:
        parent = self.parent(product)
        return product.type == "variation" and not product.manage_stock and parent is not None and parent.manage_stock

    def stock_owner(self, product: Product) -> Product:
        return self.parent(product) if self.inherits_stock(product) else product

    def manage_stock_view(self, product: Product):
        return "parent" if self.inherits_stock(product) else product.manage_stock

    def managing_stock(self, product: Product) -> bool:
        return bool(self.manage_stock_view(product))

    def quantity(self, product: Product) -> int | None:
        return self.stock_owner(product).stock_quantity

    def backorders_view(self, product: Product) -> str:
        return self.stock_owner(product).backorders

    def backorders_allowed(self, product: Product) -> bool:
        return self.backorders_view(product) in ("notify", "yes")

    def backorders_require_notification(self, product: Product) -> bool:
        return self.managing_stock(product) and self.backorders_view(product) == "notify"

    def is_on_backorder(self, product: Product, qty_in_cart: int = 0) -> bool:
        if product.stock_status == "onbackorder":
            return True
        quantity = self.quantity(product)
        return (self.managing_stock(product) and self.backorders_allowed(product) and quantity is not None
                and quantity - qty_in_cart < 0)

    # -- writes ---------------------------------------------------------------------------------
    def add(self, type_: str, name: str, *, parent: Product | None = None, **props) -> Product:
        now = self.m.now()
        product = Product(self.m.post_id(), type_, name, props.pop("slug", None) or slugify(name), now, now)
        if parent is not None:
            product.parent_id = parent.id
            parent.variation_ids.append(product.id)
        for key, value in props.items():
            if value is not None:
                setattr(product, key, value)
        sku = product.sku
        if sku and any(p.sku == sku and p.id != product.id for p in self.m.products.values()):
            raise RestError("product_invalid_sku", "Invalid or duplicated SKU.", 400)
        self.m.products[product.id] = product
        self.validate(product)
        self.m.emit("product", "created", product.id)
        if parent is not None:
            self.sync_parent(parent)
        self.m.changed()
        return product

    def validate(self, product: Product) -> None:
        """validate_props(): align stock fields before a save."""
        if product.stock_status not in STOCK_STATUSES:
            product.stock_status = "instock"
        if not product.manage_stock:
            product.stock_quantity = None
            product.backorders = "no"
            product.low_stock_amount = None
            if self.inherits_stock(product):
                product.stock_status = self._status_for(self.stock_owner(product))
            elif product.type == "variable":
                product.stock_status = self._children_status(product)
            return
        product.stock_quantity = int(product.stock_quantity or 0)
        product.stock_status = self._status_for(product)

    @staticmethod
    def _status_for(owner: Product) -> str:
        if (owner.stock_quantity or 0) > 0:
            return "instock"
        return "onbackorder" if owner.backorders != "no" else "outofstock"

    def _children_status(self, parent: Product) -> str:
        statuses = [c.stock_status for c in (self.get(i) for i in parent.variation_ids) if c and c.status != "trash"]
        if "instock" in statuses:
            return "instock"
        return "onbackorder" if "onbackorder" in statuses else "outofstock"

    def save(self, product: Product, *, event: bool = True) -> None:
        """WC_Product::save(): validate, date_modified = now, product.updated, parent sync."""
        self.validate(product)
        product.date_modified = self.m.now()
        if event:
            self.m.emit("product", "updated", product.id)
        if product.type == "variation":
            parent = self.parent(product)
            if parent is not None:
                self.sync_parent(parent)
        elif product.type == "variable" and product.manage_stock:
            for child in (self.get(i) for i in product.variation_ids):
                if child is not None and self.inherits_stock(child):
                    child.stock_status = self._status_for(product)
        self.m.changed()

    def sync_parent(self, parent: Product) -> None:
        """WC_Product_Variable::sync(): a stock status that changed saves the parent too."""
        if parent.manage_stock:
            return
        status = self._children_status(parent)
        if status != parent.stock_status:
            parent.stock_status = status
            parent.date_modified = self.m.now()
            self.m.emit("product", "updated", parent.id)

    def update_stock(self, product: Product, amount: int, operation: str = "set") -> int | None:
        """wc_update_product_stock(): on the product that holds the stock; returns the new level."""
        if not self.managing_stock(product):
            return self.quantity(product)
        owner = self.stock_owner(product)
        current = owner.stock_quantity or 0
        if operation == "increase":
            owner.stock_quantity = current + int(amount)
        elif operation == "decrease":
            owner.stock_quantity = current - int(amount)
        else:
            owner.stock_quantity = int(amount)
        self.save(owner)
        return owner.stock_quantity

    def formatted_name(self, product: Product) -> str:
        """WC_Product::get_formatted_name(): "Name (SKU)" or "#id"."""
        identifier = product.sku or f"#{product.id}"
        return f"{self.display_name(product)} ({identifier})"

    def display_name(self, product: Product) -> str:
        if product.type != "variation":
            return product.name
        parent = self.parent(product)
        options = ", ".join(a.get("option", "") for a in product.attributes if a.get("option"))
        base = parent.name if parent else product.name
        return f"{base} - {options}" if options else base
