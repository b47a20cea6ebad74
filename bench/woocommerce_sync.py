"""WooCommerce initial sync benchmark: a store of 20,000 products/variations and 50,000 orders.

    python bench/woocommerce_sync.py                          # 20,000 items, 50,000 orders, SQLite
    python bench/woocommerce_sync.py --db postgresql          # the app's database on PostgreSQL
    python bench/woocommerce_sync.py --items 2000 --orders 5000   # a quicker run

The issue's spec: "Initial sync of a fake store with 20,000 products/variations and 50,000
orders: print requests made, seconds, and rows stored. Goal: requests within 5 % of the minimum
that per_page=100 paging allows."

What runs: the dev store (connectors.woocommerce.devstore.FakeWooCommerce, in this process,
reached through its requests adapter exactly as in the tests) seeded with `--items` sellable
items: simple products and variable products of `--variations` variations each (`--variable-share`
of the items are variations), most stocked plenty, `--backorder-share` of them stocked low with
backorders allowed (notify or yes); then `--orders` orders placed at its checkout (1-3 lines,
mostly completed, `--open-share` processing or on hold, a few cancelled or pending), so stock
really goes below zero. The shop is connected with a REST key. Then
`connectors.woocommerce.initial_sync.import_store` is timed: the catalogue (`sync_catalog`, i.e.
connector.read_catalog: products 100 a page, each variable product's variations 100 a page), then
every order 100 a page, the open ones recorded with their backorders and ETAs.

The minimum that per_page=100 paging allows, from the store's own counts: ceil(products / 100)
+ the sum over variable products of ceil(variations / 100) + ceil(orders / 100). Requests are
the store's own count of REST calls. Writing the marks back (line ETAs and notes, three calls an
order with backorders) is not part of the sync and is off unless `--write-marks`.
The last line printed is one JSON object with every figure.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SITE = "https://bench-store.example.test"
DOMAIN = "bench-store.example.test"


def seed(fake, args, rng: random.Random) -> dict:
    """The catalogue and the orders, placed through the store's checkout rules."""
    variations_wanted = int(args.items * args.variable_share)
    variable_products = variations_wanted // args.variations
    simple_products = args.items - variable_products * args.variations
    sellable: list[int] = []
    scarce: set[int] = set()

    def stock_for() -> tuple[int, str]:
        if rng.random() < args.backorder_share:
            return rng.randint(0, 3), rng.choice(("notify", "yes"))
        return 1_000_000, "no"

    for n in range(simple_products):
        stock, backorders = stock_for()
        product = fake.add_product(f"Product {n}", sku=f"SKU-{n}", price=f"{rng.randint(5, 200)}.00", stock=stock,
                                   backorders=backorders)
        sellable.append(product["id"])
        if backorders != "no":
            scarce.add(product["id"])
    for n in range(variable_products):
        specs = []
        for v in range(args.variations):
            stock, backorders = stock_for()
            specs.append({"sku": f"VAR-{n}-{v}", "price": f"{rng.randint(5, 200)}.00", "stock": stock,
                          "backorders": backorders, "attributes": {"Size": f"S{v}"}})
        product = fake.add_product(f"Variable {n}", sku=f"VAR-{n}", variations=specs)
        for variation_id, spec in zip(product["variations"], specs):
            sellable.append(variation_id)
            if spec["backorders"] != "no":
                scarce.add(variation_id)
    scarce_list = sorted(scarce)
    statuses = []
    for _ in range(args.orders):
        roll = rng.random()
        if roll < args.open_share:
            statuses.append(rng.choice(("processing", "processing", "processing", "on-hold")))
        elif roll < args.open_share + 0.03:
            statuses.append("cancelled")
        elif roll < args.open_share + 0.05:
            statuses.append("pending")
        else:
            statuses.append("completed")
    for status in statuses:
        lines = {}
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            pool = scarce_list if scarce_list and rng.random() < 0.3 else sellable
            lines[rng.choice(pool)] = rng.randint(1, 2)
        fake.place_order(list(lines.items()), status=status, payment_method="stripe")
    return {"simple_products": simple_products, "variable_products": variable_products,
            "variations": variable_products * args.variations, "items": len(sellable), "scarce_items": len(scarce),
            "orders": args.orders, "open_orders": sum(1 for s in statuses if s in ("processing", "on-hold"))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=20_000, help="sellable products and variations")
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--variable-share", type=float, default=0.4, help="share of the items that are variations")
    parser.add_argument("--variations", type=int, default=4, help="variations per variable product")
    parser.add_argument("--backorder-share", type=float, default=0.05)
    parser.add_argument("--open-share", type=float, default=0.08)
    parser.add_argument("--concurrency", type=int, default=4, help="variation requests in flight")
    parser.add_argument("--write-marks", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-admin-url", default=os.environ.get("BENCH_POSTGRES_URL",
                                                                       "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args(argv)

    from sqlalchemy import func, select

    from bench.support.databases import throwaway_database
    from connectors.woocommerce import lifecycle
    from connectors.woocommerce.devstore import FakeWooCommerce
    from connectors.woocommerce.initial_sync import import_store
    from connectors.woocommerce.transport import ADAPTER_KEY
    from plugin.config import load_settings
    from plugin.db.models import Backorder, Notification, Order, OrderLine, Variant
    from plugin.runtime import build_runtime

    rng = random.Random(args.seed)
    started = time.monotonic()
    fake = FakeWooCommerce(SITE)
    store = seed(fake, args, rng)
    seed_seconds = time.monotonic() - started
    print(f"store seeded in {seed_seconds:.1f}s: {store}", flush=True)
    key = fake.create_key("read_write")

    with tempfile.TemporaryDirectory() as tmp, \
            throwaway_database(args.db, Path(tmp), args.postgres_admin_url) as url:
        settings = load_settings(app_url="https://bench.example.test", database_url=url, secret_key="bench",
                                 instance_path=Path(tmp) / "instance", log_level="WARNING", worker_threads=0)
        runtime = build_runtime(settings)
        runtime.extras[ADAPTER_KEY] = fake.requests_adapter()
        runtime.extras["woocommerce_concurrency"] = args.concurrency
        try:
            shop = lifecycle.store_keys(runtime, store_url=SITE, domain=DOMAIN, consumer_key=key["consumer_key"],
                                        consumer_secret=key["consumer_secret"], scopes="read_write")
            fake.reset_requests()
            t0 = time.monotonic()
            counts = import_store(runtime, shop.id, write_marks=args.write_marks,
                                  progress=lambda what, c: print(f"  {what}: {c}", flush=True))
            seconds = time.monotonic() - t0
            calls = list(fake.requests)
            with runtime.db.session() as session:
                rows = {name: session.scalar(select(func.count()).select_from(model)) for name, model in
                        (("variants", Variant), ("orders", Order), ("order_lines", OrderLine),
                         ("backorders", Backorder), ("outbox_emails", Notification))}
        finally:
            runtime.close()

    products = store["simple_products"] + store["variable_products"]
    minimum = (math.ceil(products / 100) + store["variable_products"] * math.ceil(args.variations / 100)
               + math.ceil(store["orders"] / 100))
    reads = [c for c in calls if c.method == "GET"]
    by_route: dict[str, int] = {}
    for call in calls:
        kind = "orders" if call.route.startswith("/wc/v3/orders") else \
            "variations" if "/variations" in call.route else "products" if call.route.startswith("/wc/v3/products") \
            else call.route
        by_route[f"{call.method} {kind}"] = by_route.get(f"{call.method} {kind}", 0) + 1
    sync_requests = len(reads) if args.write_marks else len(calls)
    figures = {
        "db": args.db, "store": store, "requests": len(calls), "sync_requests": sync_requests,
        "minimum_requests": minimum, "over_minimum_pct": round(100 * (sync_requests - minimum) / minimum, 2),
        "requests_by_kind": by_route, "seconds": round(seconds, 2),
        "seconds_by_step": counts["seconds"], "store_seconds": round(sum(c.seconds or 0 for c in calls), 2),
        "rows_stored": rows, "catalog": counts["catalog"], "orders_seen": counts["orders_seen"],
        "orders_recorded": counts["orders_recorded"], "orders_to_mark": counts["orders_to_mark"],
        "seed_seconds": round(seed_seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    figures["goal_met"] = sync_requests <= minimum * 1.05 and counts["orders_seen"] == store["orders"] \
        and counts["catalog"]["variants_seen"] == store["items"]
    print(f"requests {sync_requests} (minimum {minimum}, +{figures['over_minimum_pct']}%), {seconds:.1f}s; "
          f"rows stored {rows}")
    print(json.dumps(figures, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
