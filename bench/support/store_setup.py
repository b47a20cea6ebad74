"""The dev store side of the benchmark: shops, a catalogue, and orders placed at checkout.

Every webhook the benchmark sends is one the dev store produced when an order was placed
(`FakeShopify.place_order`): a real exemplar payload with the store's ids, signed with the app
secret, with its own event and webhook ids. They are captured instead of delivered, and replayed
later by the load generator. Because the orders really exist in the store, the worker later reads
real stock levels (already reduced by every order, as Shopify's are) and can tag the orders.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator

from connectors.shopify.devstore.fake import FakeShopify

QUANTITIES = (1, 1, 1, 2, 3)  # mostly single units, as web orders are


@dataclass
class Catalogue:
    shop: str
    variant_gids: list[str] = field(default_factory=list)


@dataclass
class CapturedWebhook:
    shop: str
    headers: dict[str, str]
    body: bytes


def shop_domains(count: int) -> list[str]:
    return [f"bench-shop-{n + 1}.myshopify.com" for n in range(count)]


def plan_orders(requests: int, shops: list[str], variants_per_shop: int, seed: int) -> list[tuple[str, int, int]]:
    """(shop, variant index, quantity) per order: shops round-robin, variants uniformly at random."""
    rng = random.Random(seed)
    return [(shops[i % len(shops)], rng.randrange(variants_per_shop), rng.choice(QUANTITIES)) for i in range(requests)]


def seed_catalogues(fake: FakeShopify, plan: list[tuple[str, int, int]], shops: list[str], variants_per_shop: int,
                    backorder_share: float, variants_per_product: int = 4) -> dict[str, Catalogue]:
    """Create shops and products; each variant starts with enough stock for (1 - share) of its demand.

    Variants are tracked and keep selling when out of stock (policy CONTINUE), so the units beyond
    stock become backorders, which is the work the app exists for.
    """
    demand: Counter = Counter()
    for shop, variant, qty in plan:
        demand[(shop, variant)] += qty
    catalogues = {}
    for shop in shops:
        fake.create_shop(shop)
        catalogue = Catalogue(shop)
        for first in range(0, variants_per_shop, variants_per_product):
            specs = []
            for v in range(first, min(first + variants_per_product, variants_per_shop)):
                wanted = demand[(shop, v)]
                specs.append({"sku": f"BENCH-{v:05d}", "title": f"Size {v - first + 1}", "price": "24.90",
                              "tracked": True, "policy": "CONTINUE",
                              "available": int(round(wanted * (1 - backorder_share)))})
            product = fake.add_product(shop, f"Bench product {first // variants_per_product + 1}", variants=specs)
            catalogue.variant_gids.extend(v["id"] for v in product["variants"])
        catalogues[shop] = catalogue
    return catalogues


def place_orders(fake: FakeShopify, plan: list[tuple[str, int, int]],
                 catalogues: dict[str, Catalogue]) -> Iterator[CapturedWebhook]:
    """Place every planned order; yield the orders/create webhook each one produced (not sent)."""
    captured: list[tuple[dict, bytes]] = []

    def capture(_url: str, headers: dict, body: bytes) -> int:
        captured.append((headers, body))
        return 200

    previous = fake.deliver
    fake.deliver = capture
    try:
        for n, (shop, variant, qty) in enumerate(plan):
            fake.place_order(shop, [(catalogues[shop].variant_gids[variant], qty)],
                             email=f"customer{n}@example.com", customer_name=f"Customer {n}")
            headers, body = captured.pop()
            assert headers["X-Shopify-Topic"] == "orders/create"
            yield CapturedWebhook(shop, headers, body)
    finally:
        fake.deliver = previous


def raw_request(path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "content-length"]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
