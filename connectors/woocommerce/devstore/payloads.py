"""REST representations (wc/v3), field for field as WooCommerce's controllers build them.

Dates come in pairs: `date_x` in the site's timezone and `date_x_gmt`, both without an offset.
Money is a string with the store's 2 decimals; line `price` is a number. Meta values read back
as WordPress stores them (scalars as strings). Line item meta carries display_key/display_value;
product and order meta do not. Webhook payloads are exactly these (GET as the webhook's user).
"""
from __future__ import annotations

from decimal import Decimal

from .catalog import Catalog, Product
from .orders import LineItem, Order, Orders
from .refunds import Refund, Refunds
from .store import Memory, Meta


def money(amount: Decimal, dp: int = 2) -> str:
    return f"{Decimal(amount):.{dp}f}"


def _links(base: str, path: str, collection: str, **extra) -> dict:
    links = {"self": [{"href": f"{base}/{path}"}], "collection": [{"href": f"{base}/{collection}"}]}
    for rel, href in extra.items():
        links[rel] = [{"href": href}]
    return links


class Payloads:
    def __init__(self, memory: Memory, catalog: Catalog, orders: Orders, refunds: Refunds):
        self.m, self.catalog, self.orders, self.refunds = memory, catalog, orders, refunds

    @property
    def rest_base(self) -> str:
        return f"{self.m.site.home_url}/wp-json/wc/v3"

    def permalink(self, product: Product) -> str:
        parent = self.catalog.parent(product)
        if product.type == "variation" and parent is not None:
            query = "&".join(f"attribute_{a.get('slug') or a['name'].lower()}={a.get('option', '')}" for a in product.attributes)
            return f"{self.m.site.home_url}/product/{parent.slug}/" + (f"?{query}" if query else "")
        return f"{self.m.site.home_url}/product/{product.slug}/"

    def _dates(self, prefix: str, moment) -> dict:
        return {prefix: self.m.local(moment), f"{prefix}_gmt": self.m.gmt(moment)}

    def _stock(self, product: Product) -> dict:
        return {
            "manage_stock": self.catalog.manage_stock_view(product),
            "stock_quantity": self.catalog.quantity(product),
            "stock_status": product.stock_status,
            "backorders": self.catalog.backorders_view(product),
            "backorders_allowed": self.catalog.backorders_allowed(product),
            "backordered": self.catalog.is_on_backorder(product),
            "low_stock_amount": product.low_stock_amount,
        }

    # -- products -------------------------------------------------------------------------------
    def product(self, product: Product) -> dict:
        """/products/<id> (also answers for a variation id, as WooCommerce does)."""
        on_sale = bool(product.sale_price) and product.sale_price != product.regular_price
        data = {"id": product.id, "name": self.catalog.display_name(product), "slug": product.slug,
                "permalink": self.permalink(product),
                **self._dates("date_created", product.date_created), **self._dates("date_modified", product.date_modified),
                "type": product.type, "status": product.status, "featured": False, "catalog_visibility": "visible",
                "description": product.description, "short_description": product.short_description,
                "sku": product.sku, "price": product.price, "regular_price": product.regular_price,
                "sale_price": product.sale_price, "date_on_sale_from": None, "date_on_sale_from_gmt": None,
                "date_on_sale_to": None, "date_on_sale_to_gmt": None,
                "price_html": self._price_html(product), "on_sale": on_sale,
                "purchasable": product.price != "" and product.status == "publish",
                "total_sales": product.total_sales, "virtual": False, "downloadable": False, "downloads": [],
                "download_limit": -1, "download_expiry": -1, "external_url": "", "button_text": "",
                "tax_status": "taxable", "tax_class": "" if product.type != "variation" else "parent",
                **self._stock(product), "sold_individually": False, "weight": product.weight,
                "dimensions": {"length": "", "width": "", "height": ""}, "shipping_required": True,
                "shipping_taxable": True, "shipping_class": "", "shipping_class_id": 0, "reviews_allowed": True,
                "average_rating": "0.00", "rating_count": 0, "upsell_ids": [], "cross_sell_ids": [],
                "parent_id": product.parent_id, "purchase_note": "", "categories": [], "tags": [], "images": [],
                "attributes": self._attributes(product), "default_attributes": [],
                "variations": [v for v in product.variation_ids if (c := self.catalog.get(v)) and c.status != "trash"],
                "grouped_products": [], "menu_order": product.menu_order, "related_ids": [],
                "meta_data": [m.rest() for m in product.meta], "has_options": product.type == "variable",
                "post_password": "", "global_unique_id": ""}
        data["_links"] = _links(self.rest_base, f"products/{product.id}", "products")
        if product.type == "variation":
            data["_links"]["up"] = [{"href": f"{self.rest_base}/products/{product.parent_id}"}]
        return data

    def _price_html(self, product: Product) -> str:
        if not product.price:
            return ""
        symbol = self.m.site.currency_symbol
        return (f'<span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-currencySymbol">'
                f'{symbol}</span>{Decimal(product.price):.2f}</bdi></span>')

    def _attributes(self, product: Product) -> list[dict]:
        if product.type == "variation":
            return [{"id": 0, "name": a["name"], "slug": a.get("slug") or a["name"].lower(), "option": a.get("option", "")}
                    for a in product.attributes]
        return [{"id": 0, "name": a["name"], "slug": a.get("slug") or a["name"].lower(), "position": index,
                 "visible": True, "variation": bool(a.get("variation", True)), "options": list(a.get("options", []))}
                for index, a in enumerate(product.attributes)]

    def variation(self, variation: Product) -> dict:
        """/products/<parent>/variations/<id>."""
        on_sale = bool(variation.sale_price) and variation.sale_price != variation.regular_price
        data = {"id": variation.id, "type": "variation", **self._dates("date_created", variation.date_created),
                **self._dates("date_modified", variation.date_modified), "description": variation.description,
                "permalink": self.permalink(variation), "sku": variation.sku, "global_unique_id": "",
                "price": variation.price, "regular_price": variation.regular_price, "sale_price": variation.sale_price,
                "date_on_sale_from": None, "date_on_sale_from_gmt": None, "date_on_sale_to": None,
                "date_on_sale_to_gmt": None, "on_sale": on_sale, "status": variation.status,
                "purchasable": variation.price != "" and variation.status == "publish", "virtual": False,
                "downloadable": False, "downloads": [], "download_limit": -1, "download_expiry": -1,
                "tax_status": "taxable", "tax_class": "", **self._stock(variation), "weight": variation.weight,
                "dimensions": {"length": "", "width": "", "height": ""}, "shipping_class": "", "shipping_class_id": 0,
                "image": None, "attributes": self._attributes(variation), "menu_order": variation.menu_order,
                "meta_data": [m.rest() for m in variation.meta], "name": self.catalog.display_name(variation),
                "parent_id": variation.parent_id}
        data["_links"] = _links(self.rest_base, f"products/{variation.parent_id}/variations/{variation.id}",
                                f"products/{variation.parent_id}/variations",
                                up=f"{self.rest_base}/products/{variation.parent_id}")
        return data

    # -- orders ---------------------------------------------------------------------------------
    @staticmethod
    def _meta(meta: list[Meta]) -> list[dict]:
        return [m.rest() for m in meta]

    @staticmethod
    def _item_meta(meta: list[Meta]) -> list[dict]:
        return [{"id": m.id, "key": m.key, "value": m.value, "display_key": m.display_key or m.key,
                 "display_value": m.value} for m in meta]

    def line_item(self, line: LineItem, dp: int = 2) -> dict:
        product = self.orders.line_product(line)
        parent = self.catalog.parent(product) if product is not None else None
        return {"id": line.id, "name": line.name, "product_id": line.product_id, "variation_id": line.variation_id,
                "quantity": line.quantity, "tax_class": line.tax_class, "subtotal": money(line.subtotal, dp),
                "subtotal_tax": money(Decimal("0"), dp), "total": money(line.total, dp),
                "total_tax": money(Decimal("0"), dp), "taxes": [], "meta_data": self._item_meta(line.meta),
                "sku": product.sku if product is not None else None,
                "global_unique_id": "", "price": float(line.total / line.quantity) if line.quantity else 0,
                "image": {"id": 0, "src": ""}, "parent_name": parent.name if parent is not None else None}

    def order(self, order: Order, dp: int = 2) -> dict:
        refunds = [self.m.refunds[i] for i in order.refund_ids if i in self.m.refunds]
        data = {"id": order.id, "parent_id": 0, "status": order.status, "currency": order.currency,
                "version": self.m.site.wc_version, "prices_include_tax": False,
                **self._dates("date_created", order.date_created), **self._dates("date_modified", order.date_modified),
                "discount_total": money(Decimal("0"), dp), "discount_tax": money(Decimal("0"), dp),
                "shipping_total": money(order.shipping_total, dp), "shipping_tax": money(Decimal("0"), dp),
                "cart_tax": money(Decimal("0"), dp), "total": money(order.total, dp), "total_tax": money(Decimal("0"), dp),
                "customer_id": order.customer_id, "order_key": order.order_key, "billing": dict(order.billing),
                "shipping": dict(order.shipping), "payment_method": order.payment_method,
                "payment_method_title": order.payment_method_title, "transaction_id": order.transaction_id,
                "customer_ip_address": "", "customer_user_agent": "", "created_via": order.created_via,
                "customer_note": order.customer_note, **self._dates("date_completed", order.date_completed),
                **self._dates("date_paid", order.date_paid), "cart_hash": "", "number": str(order.id),
                "meta_data": self._meta(order.meta), "line_items": [self.line_item(l, dp) for l in order.line_items],
                "tax_lines": [], "shipping_lines": self._shipping_lines(order, dp), "fee_lines": [], "coupon_lines": [],
                "refunds": [{"id": r.id, "reason": r.reason, "total": "-" + money(r.amount, dp)} for r in refunds],
                "payment_url": f"{self.m.site.home_url}/checkout/order-pay/{order.id}/?pay_for_order=true&key={order.order_key}",
                "is_editable": order.status in ("pending", "on-hold", "auto-draft", "checkout-draft"),
                "needs_payment": order.status in ("pending", "failed") and order.total > 0,
                "needs_processing": True, "currency_symbol": self.m.site.currency_symbol}
        data["_links"] = _links(self.rest_base, f"orders/{order.id}", "orders")
        return data

    def _shipping_lines(self, order: Order, dp: int) -> list[dict]:
        if not order.shipping_total:
            return []
        return [{"id": 0, "method_title": "Flat rate", "method_id": "flat_rate", "instance_id": "1",
                 "total": money(order.shipping_total, dp), "total_tax": money(Decimal("0"), dp), "taxes": [],
                 "meta_data": []}]

    def note(self, order: Order, note) -> dict:
        return {"id": note.id, "author": note.author, **self._dates("date_created", note.date_created),
                "note": note.note, "customer_note": note.customer_note,
                "_links": _links(self.rest_base, f"orders/{order.id}/notes/{note.id}", f"orders/{order.id}/notes",
                                 up=f"{self.rest_base}/orders/{order.id}")}

    def refund(self, refund: Refund, dp: int = 2) -> dict:
        return {"id": refund.id, **self._dates("date_created", refund.date_created), "amount": money(refund.amount, dp),
                "reason": refund.reason, "refunded_by": refund.refunded_by, "refunded_payment": refund.refunded_payment,
                "meta_data": self._meta(refund.meta),
                "line_items": [{"id": l.id, "name": l.name, "product_id": l.product_id, "variation_id": l.variation_id,
                                "quantity": l.quantity, "tax_class": "", "subtotal": money(l.total, dp),
                                "subtotal_tax": money(Decimal("0"), dp), "total": money(l.total, dp),
                                "total_tax": money(Decimal("0"), dp), "taxes": [], "meta_data": self._item_meta(l.meta),
                                "sku": l.sku, "price": float(l.total / l.quantity) if l.quantity else 0,
                                "image": {"id": 0, "src": ""}, "parent_name": None}
                               for l in refund.line_items],
                "shipping_lines": [], "tax_lines": [], "fee_lines": [],
                "_links": _links(self.rest_base, f"orders/{refund.order_id}/refunds/{refund.id}",
                                 f"orders/{refund.order_id}/refunds", up=f"{self.rest_base}/orders/{refund.order_id}")}
