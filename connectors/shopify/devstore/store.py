"""The dev store's data: shops, locations, products, inventory and orders.

Objects are dicts shaped like the Admin GraphQL types (camelCase keys, `__typename`), so
graphql-core's resolvers read them directly; keys starting with "_" are the store's own
bookkeeping and are invisible to GraphQL. Not thread-safe on its own: FakeShopify holds a lock
around every call.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable

GID_RE = re.compile(r"^gid://shopify/([A-Za-z]+)/(\d+)(\?.*)?$")
SHOP_DOMAIN_RE = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
QUANTITY_NAMES = ("available", "committed", "damaged", "incoming", "on_hand", "quality_control",
                  "reserved", "safety_stock")


class StoreError(ValueError):
    """A store-manipulation call that Shopify would refuse (unknown shop, DENY policy, ...)."""


def gid(type_name: str, number: int) -> str:
    return f"gid://shopify/{type_name}/{number}"


def parse_gid(value: str) -> tuple[str, int] | None:
    match = GID_RE.match(value or "")
    return (match.group(1), int(match.group(2))) if match else None


def iso(moment: datetime) -> str:
    """Shopify's DateTime scalar: UTC, second precision, trailing Z."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize_domain(domain: str) -> str:
    domain = domain.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    if "." not in domain:
        domain = f"{domain}.myshopify.com"
    if not SHOP_DOMAIN_RE.match(domain):
        raise StoreError(f"{domain!r} is not a shop domain like 'name.myshopify.com'")
    return domain


def money(amount: Decimal, currency: str) -> dict:
    text = f"{amount:.2f}"
    return {"amount": text, "currencyCode": currency}


def money_bag(amount: Decimal, currency: str) -> dict:
    return {"__typename": "MoneyBag", "shopMoney": money(amount, currency), "presentmentMoney": money(amount, currency)}


@dataclass
class Shop:
    domain: str
    number: int
    gql: dict[str, Any]
    locations: list[dict] = field(default_factory=list)
    products: dict[str, dict] = field(default_factory=dict)
    variants: dict[str, dict] = field(default_factory=dict)
    levels: dict[tuple[str, str], dict] = field(default_factory=dict)
    orders: dict[str, dict] = field(default_factory=dict)
    customers: dict[str, dict] = field(default_factory=dict)
    definitions: dict[tuple[str, str, str], str] = field(default_factory=dict)
    shipments: dict[str, dict] = field(default_factory=dict)  # inventory shipments (shipments.py)
    order_count: int = 0


class Store:
    def __init__(self, now: Callable[[], datetime]):
        self.now = now
        self.shops: dict[str, Shop] = {}
        self.nodes: dict[str, tuple[str, dict]] = {}  # gid -> (shop domain, object)
        self._ids = itertools.count(7_300_000_000_001)

    # -- helpers ------------------------------------------------------------------------------
    def _new(self, shop: Shop | None, type_name: str, **fields) -> dict:
        number = next(self._ids)
        obj = {"__typename": type_name, "id": gid(type_name, number), "legacyResourceId": str(number), **fields}
        if shop is not None:
            self.nodes[obj["id"]] = (shop.domain, obj)
        return obj

    def touch(self, obj: dict, created: bool = False) -> None:
        moment = self.now()
        obj["_updated"] = moment
        obj["updatedAt"] = iso(moment)
        if created:
            obj["_created"] = moment
            obj["createdAt"] = iso(moment)

    def shop(self, domain: str) -> Shop:
        shop = self.shops.get(normalize_domain(domain))
        if shop is None:
            raise StoreError(f"no shop {domain!r} in the dev store; call create_shop first")
        return shop

    def node(self, shop: Shop, node_id: str) -> dict | None:
        """The object `node_id` names, if it belongs to `shop` (other shops' ids resolve to null)."""
        found = self.nodes.get(node_id)
        return found[1] if found and found[0] == shop.domain else None

    def location(self, shop: Shop, location: str | None) -> dict:
        if location is None:
            return shop.locations[0]
        for loc in shop.locations:
            if location in (loc["id"], loc["name"]):
                return loc
        raise StoreError(f"{shop.domain} has no location {location!r}")

    def variant(self, shop: Shop, variant_id: str) -> dict:
        found = shop.variants.get(variant_id)
        if found is None:
            raise StoreError(f"{shop.domain} has no variant {variant_id!r}")
        return found

    def variant_by_sku(self, shop: Shop, sku: str) -> dict:
        for variant in shop.variants.values():
            if variant["sku"] == sku:
                return variant
        raise StoreError(f"{shop.domain} has no variant with SKU {sku!r}")

    # -- shops, products, inventory -----------------------------------------------------------
    def create_shop(self, domain: str, name: str | None, locations, email: str | None,
                    currency: str, timezone: str) -> Shop:
        domain = normalize_domain(domain)
        if domain in self.shops:
            raise StoreError(f"shop {domain} already exists")
        handle = domain.split(".")[0]
        number = next(self._ids)
        gql = {"__typename": "Shop", "id": gid("Shop", number), "name": name or handle.replace("-", " ").title(),
               "myshopifyDomain": domain, "email": email or f"owner@{handle}.example",
               "contactEmail": email or f"owner@{handle}.example", "currencyCode": currency,
               "ianaTimezone": timezone, "url": f"https://{domain}",
               "primaryDomain": {"__typename": "Domain", "id": gid("Domain", number), "host": domain,
                                 "url": f"https://{domain}", "sslEnabled": True},
               "_metafields": {}}
        shop = Shop(domain=domain, number=number, gql=gql)
        self.shops[domain] = shop
        self.nodes[gql["id"]] = (domain, gql)
        for loc_name in locations:
            loc = self._new(shop, "Location", name=loc_name, isActive=True, fulfillsOnlineOrders=True)
            shop.locations.append(loc)
        if not shop.locations:
            raise StoreError("a shop needs at least one location")
        return shop

    def add_product(self, shop: Shop, title: str, variants: list[dict]) -> dict:
        handle = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        product = self._new(shop, "Product", title=title, handle=handle, status="ACTIVE", tags=[],
                            vendor=shop.gql["name"], _metafields={}, _variants=[])
        self.touch(product, created=True)
        shop.products[product["id"]] = product
        for spec in variants or [{"title": "Default Title"}]:
            policy = spec.get("policy", "DENY").upper()
            if policy not in ("CONTINUE", "DENY"):
                raise StoreError(f"inventory policy must be CONTINUE or DENY, not {policy!r}")
            variant_title = spec.get("title", "Default Title")
            item = self._new(shop, "InventoryItem", sku=spec.get("sku"), tracked=bool(spec.get("tracked", True)),
                             requiresShipping=True)
            variant = self._new(shop, "ProductVariant", sku=spec.get("sku"), title=variant_title,
                                displayName=f"{title} - {variant_title}", price=str(spec.get("price", "10.00")),
                                inventoryPolicy=policy, barcode=None, product=product, inventoryItem=item,
                                _metafields={})
            item["variant"] = variant
            self.touch(item, created=True)
            self.touch(variant, created=True)
            shop.variants[variant["id"]] = variant
            product["_variants"].append(variant)
            for loc in shop.locations:
                level = self._new(None, "InventoryLevel", location=loc, item=item, isActive=True,
                                  canDeactivate=True, deactivationAlert=None,
                                  _q={name: 0 for name in QUANTITY_NAMES if name != "on_hand"})
                level["id"] = f"gid://shopify/InventoryLevel/{level['legacyResourceId']}?inventory_item_id={item['legacyResourceId']}"
                self.touch(level, created=True)
                shop.levels[(item["id"], loc["id"])] = level
            available = spec.get("available", 0)
            if isinstance(available, dict):
                for where, qty in available.items():
                    self.set_available(shop, variant["id"], int(qty), where)
            else:
                self.set_available(shop, variant["id"], int(available), None)
        return product

    def level(self, shop: Shop, variant: dict, location: str | None) -> dict:
        loc = self.location(shop, location)
        return shop.levels[(variant["inventoryItem"]["id"], loc["id"])]

    def set_available(self, shop: Shop, variant_id: str, qty: int, location: str | None) -> None:
        level = self.level(shop, self.variant(shop, variant_id), location)
        level["_q"]["available"] = qty
        self.touch(level)

    def items_levels(self, shop: Shop, item: dict) -> list[dict]:
        return [shop.levels[(item["id"], loc["id"])] for loc in shop.locations]

    # -- orders -------------------------------------------------------------------------------
    def customer(self, shop: Shop, email: str, name: str) -> dict:
        found = shop.customers.get(email.lower())
        if found is None:
            first, _, last = name.partition(" ")
            found = self._new(shop, "Customer", email=email, firstName=first or None, lastName=last or None,
                              displayName=name, locale="en", tags=[], _metafields={})
            self.touch(found, created=True)
            shop.customers[email.lower()] = found
        return found

    def place_order(self, shop: Shop, lines: list[tuple[str, int]], email: str, locale: str,
                    customer_name: str) -> dict:
        if not lines:
            raise StoreError("an order needs at least one line")
        variants = [(self.variant(shop, variant_id), int(qty)) for variant_id, qty in lines]
        for variant, qty in variants:
            if qty <= 0:
                raise StoreError(f"quantity must be positive, got {qty}")
        # Checkout refuses the whole order when a DENY variant lacks stock, before touching any level.
        needed: dict[str, int] = {}
        for variant, qty in variants:
            needed[variant["id"]] = needed.get(variant["id"], 0) + qty
        for variant, _ in variants:
            level = self.level(shop, variant, None)
            tracked = variant["inventoryItem"]["tracked"]
            if tracked and variant["inventoryPolicy"] == "DENY" and level["_q"]["available"] < needed[variant["id"]]:
                raise StoreError(f"{variant['sku'] or variant['id']} is out of stock "
                                 f"({level['_q']['available']} available, policy DENY)")
        currency = shop.gql["currencyCode"]
        shop.order_count += 1
        number = shop.order_count
        customer = self.customer(shop, email, customer_name)
        order = self._new(shop, "Order", name=f"#{1000 + number}", number=number, email=email, phone=None,
                          note=None, tags=[], test=False, confirmed=True, closed=False, closedAt=None,
                          cancelledAt=None, cancelReason=None, customerLocale=locale, currencyCode=currency,
                          presentmentCurrencyCode=currency, displayFinancialStatus="PAID",
                          displayFulfillmentStatus="UNFULFILLED", sourceName="web", customer=customer,
                          _metafields={}, _lines=[], _token=uuid.uuid4().hex, _customer_name=customer_name)
        self.touch(order, created=True)
        order["processedAt"] = order["createdAt"]
        total = Decimal("0")
        for variant, qty in variants:
            price = Decimal(variant["price"])
            total += price * qty
            product = variant["product"]
            name = product["title"] if variant["title"] == "Default Title" else f"{product['title']} - {variant['title']}"
            line = self._new(shop, "LineItem", name=name, title=product["title"], sku=variant["sku"], quantity=qty,
                             currentQuantity=qty, unfulfilledQuantity=qty, variant=variant, product=product,
                             variantTitle=None if variant["title"] == "Default Title" else variant["title"],
                             vendor=product["vendor"], requiresShipping=True,
                             originalUnitPriceSet=money_bag(price, currency), _price=price)
            order["_lines"].append(line)
            if variant["inventoryItem"]["tracked"]:
                level = self.level(shop, variant, None)
                level["_q"]["available"] -= qty  # may go negative: that is what a backorder is
                level["_q"]["committed"] += qty
                self.touch(level)
        for key in ("subtotalPriceSet", "totalPriceSet", "currentTotalPriceSet"):
            order[key] = money_bag(total, currency)
        order["_total"] = total
        shop.orders[order["id"]] = order
        return order

    def order(self, shop: Shop, order_id: str) -> dict:
        found = shop.orders.get(order_id)
        if found is None:
            raise StoreError(f"{shop.domain} has no order {order_id!r}")
        return found

    def cancel_order(self, shop: Shop, order: dict, reason: str, restock: bool) -> None:
        if order["cancelledAt"]:
            raise StoreError(f"{order['name']} is already cancelled")
        self.touch(order)
        order["cancelledAt"] = order["updatedAt"]
        order["cancelReason"] = reason.upper()
        order["displayFinancialStatus"] = "VOIDED"
        order["closed"], order["closedAt"] = True, order["updatedAt"]
        for line in order["_lines"]:
            variant = line["variant"]
            if restock and variant["inventoryItem"]["tracked"]:
                level = self.level(shop, variant, None)
                level["_q"]["available"] += line["currentQuantity"]
                level["_q"]["committed"] -= line["currentQuantity"]
                self.touch(level)
            line["currentQuantity"] = line["unfulfilledQuantity"] = 0

    def add_tags(self, order: dict, tags: list[str]) -> bool:
        """Shopify keeps tags unique (case-insensitively); True when something was added."""
        known = {tag.lower() for tag in order["tags"]}
        added = False
        for tag in tags:
            if tag.lower() not in known:
                order["tags"].append(tag)
                known.add(tag.lower())
                added = True
        if added:
            self.touch(order)
        return added

    # -- metafields ---------------------------------------------------------------------------
    def set_metafield(self, shop: Shop, owner: dict, namespace: str, key: str, type_: str, value: str) -> dict:
        existing = owner["_metafields"].get((namespace, key))
        if existing is None:
            existing = self._new(shop, "Metafield", namespace=namespace, key=key, description=None,
                                 ownerType=owner["__typename"].upper(), owner=owner)
            self.touch(existing, created=True)
            owner["_metafields"][(namespace, key)] = existing
        else:
            self.touch(existing)
        existing.update(type=type_, value=value, jsonValue=json_value(type_, value),
                        compareDigest=hashlib.sha256(f"{namespace}.{key}:{value}".encode()).hexdigest())
        return existing


    def delete_metafield(self, owner: dict, namespace: str, key: str) -> bool:
        return owner["_metafields"].pop((namespace, key), None) is not None


def json_value(type_: str, value: str) -> Any:
    """What Shopify returns in Metafield.jsonValue for the stored string."""
    try:
        if type_ == "json" or type_.startswith("list.") or type_ in ("money", "rating", "link", "dimension",
                                                                   "volume", "weight"):
            return json.loads(value)
        if type_ == "number_integer":
            return int(value)
        if type_ == "boolean":
            return value == "true"
    except ValueError:
        pass
    return value
