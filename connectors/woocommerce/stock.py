"""Stock of WooCommerce products and variations, read as `VariantStock`.

A sellable item ("variant") is a simple product, or a variation of a variable product. It is
"tracked" when it manages stock (itself, or through its parent: manage_stock "parent"), and sold
on backorder ("continue selling") when backorders are "notify" or "yes". Its one stock figure
(WooCommerce has no locations) goes negative when it is oversold.

The REST API reads a variation only under its product (products/<parent>/variations), and order
lines, catalogue reads and earlier readings tell us the parent; `read_stock` asks for a variation
whose parent is unknown by its own id (products/<id>, which WooCommerce answers for variations too).
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Iterator, Mapping, Sequence

from connectors.base import VariantStock
from connectors.woocommerce.client import PER_PAGE, WooClient, WooCommerceError, chunks

log = logging.getLogger(__name__)

STOCK_KEY = "woocommerce"  # the one "location"
SELLABLE_TYPES = ("simple", "variation")
PRODUCT_FIELDS = "id,type,parent_id,name,slug,sku,manage_stock,stock_quantity,backorders,variations,date_modified_gmt"
VARIATION_FIELDS = "id,type,parent_id,name,sku,manage_stock,stock_quantity,backorders,attributes,date_modified_gmt"


def is_variation(item: Mapping) -> bool:
    return item.get("type") == "variation"


def variant_stock(item: Mapping, parent: Mapping | None = None) -> VariantStock:
    manage = item.get("manage_stock")
    tracked = manage is True or manage == "parent" or (isinstance(manage, str) and manage.lower() in ("yes", "true"))
    quantity = item.get("stock_quantity")
    by_location = {}
    if tracked and quantity is not None:
        try:
            by_location = {STOCK_KEY: int(float(quantity))}
        except (TypeError, ValueError):
            by_location = {}
    variation = is_variation(item) or parent is not None
    product_id = (parent or {}).get("id") or (item.get("parent_id") if variation else item.get("id"))
    name = item.get("name") or None
    if variation and parent is not None and parent.get("name") and not name:
        name = parent.get("name")
    return VariantStock(
        platform_variant_id=str(item["id"]),
        platform_product_id=str(product_id) if product_id else None,
        sku=(item.get("sku") or "").strip() or None,
        title=name,
        tracked=tracked,
        continue_selling=str(item.get("backorders") or "no") in ("notify", "yes"),
        by_location=by_location,
        product_title=(parent or {}).get("name") or (None if variation else item.get("name")),
        product_handle=(parent or {}).get("slug") or (None if variation else item.get("slug")),
    )


def read_stock(client: WooClient, ids: Sequence[str], parents: Mapping[str, str]) -> list[VariantStock]:
    """Current stock of these variant ids. `parents` maps known variation ids to their product id
    (a simple product maps to itself or is absent). Ids gone from the store are left out."""
    wanted = list(dict.fromkeys(str(i) for i in ids))
    found: dict[str, VariantStock] = {}
    by_parent: dict[str, list[str]] = {}
    unknown: list[str] = []
    for variant_id in wanted:
        parent = parents.get(variant_id)
        if parent and parent != variant_id:
            by_parent.setdefault(parent, []).append(variant_id)
        else:
            unknown.append(variant_id)
    # Simple products (and ids we know nothing about) in pages of 100 by id.
    for chunk in chunks(unknown, PER_PAGE):
        for item in client.get("products", {"include": ",".join(chunk), "per_page": PER_PAGE,
                                            "_fields": PRODUCT_FIELDS}) or []:
            if str(item.get("id")) in chunk and item.get("type") != "variable":
                found[str(item["id"])] = variant_stock(item)
    # Variations, by product.
    for parent, members in by_parent.items():
        for chunk in chunks(members, PER_PAGE):
            try:
                items = client.get(f"products/{parent}/variations",
                                   {"include": ",".join(chunk), "per_page": PER_PAGE, "_fields": VARIATION_FIELDS})
            except WooCommerceError as exc:
                if exc.status == 404:  # the product is gone, and its variations with it
                    continue
                raise
            for item in items or []:
                item = {**item, "type": "variation", "parent_id": item.get("parent_id") or int(parent)}
                found[str(item["id"])] = variant_stock(item)
    # Whatever is still missing may be a variation we did not know the parent of.
    for variant_id in wanted:
        if variant_id in found or (parents.get(variant_id) and parents.get(variant_id) != variant_id):
            continue
        try:
            item = client.get(f"products/{variant_id}", {"_fields": PRODUCT_FIELDS})
        except WooCommerceError as exc:
            if exc.status == 404:
                continue
            raise
        if isinstance(item, dict) and item.get("type") in SELLABLE_TYPES:
            found[variant_id] = variant_stock(item)
    return [found[v] for v in wanted if v in found]


class WooCatalogRead:
    """Every sellable item of the store: products paged 100 at a time, then each variable product's
    variations (one request per 100 variations, `concurrency` at a time). Satisfies CatalogRead."""

    bulk = False

    def __init__(self, client: WooClient, *, concurrency: int = 4):
        self.client = client
        self.concurrency = max(1, concurrency)
        self.read_at: datetime | None = None

    def __iter__(self) -> Iterator[VariantStock]:
        self.read_at = datetime.now(timezone.utc)
        variable: list[dict] = []
        for product in self.client.paginate("products", {"_fields": PRODUCT_FIELDS, "orderby": "id", "order": "asc"}):
            kind = product.get("type")
            if kind == "variable":
                variable.append(product)
            elif kind == "simple":
                yield variant_stock(product)
            # grouped and external products are not sold from stock
        if not variable:
            return
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="wc-catalog") as pool:
            for stocks in pool.map(self._variations, variable):
                yield from stocks

    def _variations(self, product: dict) -> list[VariantStock]:
        if not product.get("variations") and "variations" in product:
            return []
        parent = {"id": product["id"], "name": product.get("name"), "slug": product.get("slug")}
        return [variant_stock({**item, "type": "variation", "parent_id": product["id"]}, parent)
                for item in self.client.paginate(f"products/{product['id']}/variations",
                                                 {"_fields": VARIATION_FIELDS, "orderby": "id", "order": "asc"})]
