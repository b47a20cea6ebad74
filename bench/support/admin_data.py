"""A big shop for `bench/admin_pages.py`: 1,000,000 backorder lines as the admin pages would see them.

Planned in memory from one seed (compact arrays), written with COPY (psycopg). Unlike
`eta_data.py` (every line open, no ETA yet: the recompute's starting point) this is a shop after
months of use, so every column the admin reads has a realistic value:

* ~50 suppliers of uneven size; each of the 100,000 variants has a primary supplier
  (`supplier_skus`), a price (log-normal around 30 EUR; 1.5 % of lines have none) and, when out
  of stock and sold anyway, the storefront's next promise (`next_eta_*`).
* Demand is skewed (Zipf-like over a random order of the variants; ~1/8 have no lines). Orders of
  1-3 lines are spread over the last 240 days, most of them recent. A line keeps its order's
  fate most of the time: waiting (open ~76 %, ready ~4 %: covered by stock that came in) or
  resolved (shipped ~16 %, cancelled ~2.5 %, refunded ~1.5 %). Waiting lines are aged
  0-7 days (45 %), 8-14 (20 %), 15-30 (17 %), 31-60 (10 %), 61-90 (5 %) and older (3 %).
* Waiting lines have the engine's range (earliest / likely / latest), what covers them
  (stock / supply / lead_time), a current ETA from today on, and a promise that usually equals
  it; ~12 % slipped (current later than promised), ~5 % are overdue (promised day gone by), so
  ~17 % are "delayed". 0.5 % carry a merchant's ETA override.
* Shipped lines have a ship time (most in the last 12 weeks, so "promises kept" has figures),
  ~82 % on or before their promise.
* Supply lines (~200,000): a year of received purchase orders and the current pipeline
  (ordered / shipped, expected in the coming weeks), sized to the variants' demand.

Ids are given explicitly (the tables are empty) and PostgreSQL's sequences are moved past them.
Columns a later migration adds are filled when present (`backorders.unit_price`).
"""
from __future__ import annotations

import json
import math
import random
import time
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from itertools import accumulate

import psycopg

STATUSES = ("open", "ready", "shipped", "cancelled", "refunded")
OPEN, READY, SHIPPED, CANCELLED, REFUNDED = range(5)
COVERED = (None, "stock", "supply", "lead_time")
# Ages of waiting lines (days): (upper bound, share) of the buckets the Overview shows.
WAITING_AGES = ((7, 0.45), (14, 0.20), (30, 0.17), (60, 0.10), (90, 0.05), (240, 0.03))
DAY = 86400


@dataclass
class AdminPlan:
    shop_id: int
    today: date
    now: datetime
    suppliers: int
    supplier_lead: list[int]
    variants: int
    variant_supplier: array          # primary supplier id per variant index
    variant_price: array             # cents
    variant_sellable: array
    # orders (k): placed (epoch seconds), first line index; lines of k: first[k] .. first[k+1]-1
    order_placed: array
    order_first: array
    # lines (j)
    line_variant: array
    line_qty: array
    line_bo: array
    line_price: array                # cents, -1: no price
    line_status: array               # index into STATUSES
    line_promised: array             # date ordinal, 0: none
    line_original: array
    line_current: array
    line_earliest: array
    line_likely: array
    line_latest: array
    line_covered: array              # index into COVERED
    line_supplier: array             # 0: none
    line_shipped: array              # epoch seconds, 0: none
    line_override: array             # date ordinal, 0: none
    line_priority: array
    supply: list[tuple] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return len(self.line_variant)

    @property
    def orders(self) -> int:
        return len(self.order_placed)

    def sku(self, index: int) -> str:
        return f"SKU-{index:06d}"

    def status_counts(self) -> dict[str, int]:
        counts = [0] * len(STATUSES)
        for s in self.line_status:
            counts[s] += 1
        return dict(zip(STATUSES, counts))


def _waiting_age(rng: random.Random) -> float:
    r, low = rng.random(), 0
    for high, share in WAITING_AGES:
        if r < share:
            return rng.uniform(low, high)
        r -= share
        low = high
    return rng.uniform(low, WAITING_AGES[-1][0])


def plan_admin_shop(*, shop_id: int, lines: int, variants: int, suppliers: int, supply: int, seed: int,
                    now: datetime) -> AdminPlan:
    rng = random.Random(seed)
    today = now.date()
    t_now = int(now.timestamp())
    today_ord = today.toordinal()
    lead = [0] + [rng.randint(7, 45) for _ in range(suppliers)]
    sizes = [1.0 / (i + 1) ** 0.7 for i in range(suppliers)]
    variant_supplier = array("i", rng.choices(range(1, suppliers + 1), weights=sizes, k=variants))
    variant_price = array("i", (max(99, round(math.exp(rng.gauss(3.4, 0.8)) * 100)) for _ in range(variants)))

    order = list(range(variants))
    rng.shuffle(order)
    popularity = [0.0] * variants
    for rank, index in enumerate(order):
        popularity[index] = 1.0 / (rank + 10) ** 0.9
    line_variant = array("i", rng.choices(range(variants), cum_weights=list(accumulate(popularity)), k=lines))

    order_first, order_placed = array("i"), array("q")
    line_qty, line_bo, line_price, line_status = array("i"), array("i"), array("i"), array("b")
    line_promised, line_original, line_current = array("i"), array("i"), array("i")
    line_earliest, line_likely, line_latest = array("i"), array("i"), array("i")
    line_covered, line_supplier, line_shipped = array("b"), array("i"), array("q")
    line_override, line_priority = array("i"), array("b")
    waiting_units = [0] * variants

    j = 0
    while j < lines:
        r = rng.random()
        size = min(lines - j, 1 if r < 0.7 else 2 if r < 0.92 else 3)
        r = rng.random()
        fate = OPEN if r < 0.76 else READY if r < 0.80 else SHIPPED if r < 0.96 else CANCELLED if r < 0.985 else REFUNDED
        if fate in (OPEN, READY):
            age = _waiting_age(rng)
        else:  # resolved: mostly shipped in the last 12 weeks, some long ago
            age = rng.uniform(6, 90) if rng.random() < 0.8 else rng.uniform(90, 240)
        placed = t_now - int(age * DAY) - rng.randrange(3600)
        order_first.append(j)
        order_placed.append(placed)
        placed_ord = datetime.fromtimestamp(placed, timezone.utc).date().toordinal()
        for _ in range(size):
            v = line_variant[j]
            status = fate
            if rng.random() < 0.08:  # lines of one order part ways now and then
                status = rng.choice((OPEN, OPEN, READY, SHIPPED, CANCELLED))
            if status in (SHIPPED, CANCELLED, REFUNDED) and age < 6:
                status = OPEN
            r = rng.random()
            qty = 1 if r < 0.8 else 2 if r < 0.92 else rng.randint(3, 5)
            bo = rng.randint(1, qty - 1) if qty > 1 and rng.random() < 0.05 else qty
            price = -1 if rng.random() < 0.015 else variant_price[v]
            supplier = variant_supplier[v] if rng.random() > 0.03 else 0
            override = 0
            shipped = 0
            if status in (OPEN, READY):
                if status == READY:
                    current = today_ord + rng.randint(0, 2)
                    covered = 1
                else:
                    covered = 2 if rng.random() < 0.7 else 3
                    current = today_ord + (rng.randint(1, 45) if covered == 2 else lead[supplier or 1] + rng.randint(1, 5))
                r = rng.random()
                if r < 0.12:
                    promised = current - rng.randint(1, 14)      # slipped: a delay not announced yet
                elif r < 0.17:
                    promised = today_ord - rng.randint(1, 20)    # overdue: the promised day went by
                    current = max(current, today_ord)
                else:
                    promised = current
                promised = max(promised, placed_ord + 1)
                original = promised if rng.random() < 0.8 else max(placed_ord + 1, promised - rng.randint(1, 21))
                if rng.random() < 0.005:
                    override = current + rng.randint(-3, 10)
                    current = override
                waiting_units[v] += bo
            else:
                promised = placed_ord + lead[supplier or 1] + rng.randint(-2, 4)
                original = promised
                current = promised
                covered = 2
                if status == SHIPPED:
                    on_time = rng.random() < 0.82
                    ship_ord = promised - rng.randint(0, 5) if on_time else promised + rng.randint(1, 15)
                    ship_ord = max(placed_ord + 1, ship_ord)
                    shipped = min(t_now - 3600, (ship_ord - 719163) * DAY + rng.randrange(9 * 3600, 18 * 3600))
            line_qty.append(qty)
            line_bo.append(bo)
            line_price.append(price)
            line_status.append(status)
            line_promised.append(promised)
            line_original.append(original)
            line_current.append(current)
            line_earliest.append(current - rng.randint(1, 6))
            line_likely.append(current - rng.randint(0, 2))
            line_latest.append(current + rng.randint(2, 12))
            line_covered.append(covered)
            line_supplier.append(supplier)
            line_shipped.append(shipped)
            line_override.append(override)
            p = rng.random()
            line_priority.append(1 if p < 0.015 else 0)
            j += 1
    order_first.append(lines)

    sellable = array("i")
    for index in range(variants):
        units = waiting_units[index]
        if units == 0:
            sellable.append(rng.randint(0, 40))
        elif rng.random() < 0.1:
            sellable.append(-units + rng.randint(1, max(1, units // 3)))
        else:
            sellable.append(-units)
    plan = AdminPlan(shop_id, today, now, suppliers, lead, variants, variant_supplier, variant_price, sellable,
                     order_placed, order_first, line_variant, line_qty, line_bo, line_price, line_status,
                     line_promised, line_original, line_current, line_earliest, line_likely, line_latest,
                     line_covered, line_supplier, line_shipped, line_override, line_priority)
    plan.supply = _plan_supply(rng, plan, supply, waiting_units, popularity)
    return plan


def _plan_supply(rng: random.Random, plan: AdminPlan, total: int, units: list[int], popularity: list[float]) -> list[tuple]:
    """(supplier, variant index, quantity, promised, expected, received, po, status) per PO line."""
    by_supplier: dict[int, list[int]] = {s: [] for s in range(1, plan.suppliers + 1)}
    for index, supplier in enumerate(plan.variant_supplier):
        by_supplier[supplier].append(index)
    ids = [s for s, skus in by_supplier.items() if skus]
    weights = [len(by_supplier[s]) for s in ids]
    demand = {s: list(accumulate(popularity[i] for i in by_supplier[s])) for s in ids}
    rows: list[tuple] = []
    seen = dict.fromkeys(ids, 0)
    today = plan.today
    while len(rows) < total:
        supplier = rng.choices(ids, weights=weights)[0]
        skus, lead = by_supplier[supplier], plan.supplier_lead[supplier]
        current = rng.random() < 0.4
        k = rng.randint(5, 15)
        if current:
            cum = demand[supplier]
            picked = {skus[min(bisect_left(cum, rng.random() * cum[-1]), len(skus) - 1)] for _ in range(k)}
            created = today - timedelta(days=rng.randint(0, lead + 5))
        else:
            picked = set(rng.sample(skus, min(k, len(skus))))
            created = today - timedelta(days=rng.randint(lead + 10, 380))
        seen[supplier] += 1
        po = f"PO-{supplier:02d}-{seen[supplier]:05d}"
        promised = created + timedelta(days=lead + rng.randint(-2, 2))
        arrives = promised + timedelta(days=round(rng.gauss(2, 4)))
        for index in sorted(picked):
            if len(rows) >= total:
                break
            received = None
            if rng.random() < 0.03:
                status, expected = "cancelled", promised
            elif arrives < today:
                status, received = "received", min(arrives, today - timedelta(days=1))
                expected = received
            else:
                status = "shipped" if (today - created).days > lead // 2 else "ordered"
                expected = max(arrives, today)
            quantity = max(1, round(units[index] * rng.uniform(0.2, 0.8))) if current and units[index] else rng.randint(5, 100)
            rows.append((supplier, index, quantity, promised, expected, received, po, status))
    return rows


# -- writing ---------------------------------------------------------------------------------------

def _ts(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def _day(ordinal: int) -> date | None:
    return date.fromordinal(ordinal) if ordinal else None


def table_rows(plan: AdminPlan, table: str, backorder_columns: set[str]):
    shop, now = plan.shop_id, plan.now
    if table == "suppliers":
        for s in range(1, plan.suppliers + 1):
            kind = "url" if s % 3 else "upload"
            yield {"id": s, "shop_id": shop, "name": f"Supplier {s:02d}", "email": f"po@supplier{s}.example",
                   "lead_time_days": plan.supplier_lead[s], "lead_time_spread_days": 1 + s % 6,
                   "handling_days": s % 3, "active": s % 25 != 0, "feed_kind": kind,
                   "feed_url": f"https://supplier{s}.example/feed.csv" if kind == "url" else None,
                   "feed_format": "csv", "sync_interval_minutes": 360, "last_synced_at": now, "created_at": now}
    elif table == "variants":
        for i in range(plan.variants):
            out_of_stock = plan.variant_sellable[i] <= 0
            lead = plan.supplier_lead[plan.variant_supplier[i]]
            promise = plan.today + timedelta(days=lead + 3) if out_of_stock else None
            yield {"id": i + 1, "shop_id": shop, "platform_variant_id": str(40_000_000_000 + i),
                   "platform_product_id": str(8_000_000_000 + i // 3), "sku": plan.sku(i),
                   "title": ("Small", "Medium", "Large")[i % 3], "product_title": f"Product {i // 3:05d}",
                   "product_handle": f"product-{i // 3:05d}", "inventory_tracked": True, "continue_selling": True,
                   "sellable_quantity": plan.variant_sellable[i], "location_quantities": json.dumps({}),
                   "inventory_read_at": now, "eta_dirty": False, "eta_revision": 3,
                   "next_eta_promise": promise,
                   "next_eta_earliest": promise - timedelta(days=4) if promise else None,
                   "next_eta_likely": promise - timedelta(days=1) if promise else None,
                   "next_eta_latest": promise + timedelta(days=6) if promise else None,
                   "next_eta_covered_by": ("supply" if i % 4 else "lead_time") if promise else None,
                   "storefront_dirty": False, "updated_at": now}
    elif table == "supplier_skus":
        for i, supplier in enumerate(plan.variant_supplier):
            yield {"id": i + 1, "shop_id": shop, "supplier_id": supplier, "sku": plan.sku(i), "role": "primary"}
    elif table == "supply_lines":
        for n, (supplier, index, quantity, promised, expected, received, po, status) in enumerate(plan.supply, 1):
            created = datetime.combine(promised, datetime.min.time(), tzinfo=timezone.utc) - timedelta(days=20)
            yield {"id": n, "shop_id": shop, "supplier_id": supplier, "variant_id": index + 1, "sku": plan.sku(index),
                   "quantity": quantity, "promised_date": promised, "expected_date": expected,
                   "received_date": received, "po_reference": po, "status": status, "source": "url",
                   "created_at": created, "updated_at": now}
    elif table == "sync_runs":
        for s in range(1, plan.suppliers + 1):
            yield {"id": s, "shop_id": shop, "supplier_id": s, "source": "url", "status": "ok", "rows_total": 120,
                   "rows_applied": 118, "rows_rejected": 2,
                   "errors": json.dumps([{"line": 7, "reason": "quantity is not a whole number"},
                                         {"line": 42, "reason": "unknown SKU"}]),
                   "rows_unchanged": 0, "message": "feed synced", "started_at": now, "finished_at": now}
    elif table == "orders":
        for k in range(plan.orders):
            at = _ts(plan.order_placed[k])
            yield {"id": k + 1, "shop_id": shop, "platform_order_id": str(5_000_000_000 + k), "name": f"#{1001 + k}",
                   "email": f"customer{k % 60_000}@example.com", "customer_name": f"Customer {k % 60_000}",
                   "customer_locale": "pl" if k % 5 == 0 else "en", "status": "open", "placed_at": at,
                   "currency": "EUR", "created_at": at, "updated_at": at}
    elif table == "order_lines":
        first = plan.order_first
        for k in range(plan.orders):
            for j in range(first[k], first[k + 1]):
                v = plan.line_variant[j]
                price = plan.line_price[j]
                waiting = plan.line_status[j] in (OPEN, READY)
                yield {"id": j + 1, "shop_id": shop, "order_id": k + 1, "platform_line_id": str(14_000_000_000 + j),
                       "variant_id": v + 1, "sku": plan.sku(v),
                       "title": f"Product {v // 3:05d} - {('Small', 'Medium', 'Large')[v % 3]}",
                       "quantity": plan.line_qty[j], "open_quantity": plan.line_qty[j] if waiting else 0,
                       "unit_price": None if price < 0 else price / 100}
    elif table == "backorders":
        first = plan.order_first
        with_price = "unit_price" in backorder_columns
        for k in range(plan.orders):
            at = _ts(plan.order_placed[k])
            for j in range(first[k], first[k + 1]):
                status = plan.line_status[j]
                override = plan.line_override[j]
                row = {"id": j + 1, "shop_id": shop, "order_line_id": j + 1, "variant_id": plan.line_variant[j] + 1,
                       "quantity": plan.line_bo[j], "promised_eta": _day(plan.line_promised[j]),
                       "original_eta": _day(plan.line_original[j]), "current_eta": _day(plan.line_current[j]),
                       "eta_earliest": _day(plan.line_earliest[j]), "eta_likely": _day(plan.line_likely[j]),
                       "eta_latest": _day(plan.line_latest[j]), "covered_by": COVERED[plan.line_covered[j]],
                       "supplier_id": plan.line_supplier[j] or None,
                       "promise_version": 1 if plan.line_promised[j] == plan.line_original[j] else 2,
                       "priority": plan.line_priority[j], "eta_computed_at": now,
                       "eta_override": _day(override), "eta_override_reason": "supplier called" if override else None,
                       "eta_override_at": now if override else None, "status": STATUSES[status], "ordered_at": at,
                       "shipped_at": _ts(plan.line_shipped[j]) if plan.line_shipped[j] else None,
                       "created_at": at, "updated_at": now}
                if with_price:
                    price = plan.line_price[j]
                    row["unit_price"] = None if price < 0 else price / 100
                yield row
    else:
        raise ValueError(table)


TABLES = ("suppliers", "variants", "supplier_skus", "supply_lines", "sync_runs", "orders", "order_lines", "backorders")


def write_postgres(plan: AdminPlan, libpq_url: str, say=print) -> dict[str, float]:
    timings = {}
    with psycopg.connect(libpq_url) as conn:
        columns_of = {}
        for table in TABLES:
            columns_of[table] = {name for (name,) in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,))}
        for table in TABLES:
            started = time.perf_counter()
            rows = table_rows(plan, table, columns_of["backorders"])
            first = next(rows)
            columns = list(first)
            missing = set(columns) - columns_of[table]
            if missing:
                raise RuntimeError(f"{table}: the schema has no {sorted(missing)}")
            with conn.cursor() as cur:
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    copy.write_row([first[c] for c in columns])
                    for row in rows:
                        copy.write_row([row[c] for c in columns])
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            conn.commit()
            timings[table] = time.perf_counter() - started
            say(f"    {table:<14} {timings[table]:6.1f}s")
    with psycopg.connect(libpq_url, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE")  # what autovacuum does for tables that grew over months
        timings["vacuum_analyze"] = time.perf_counter() - started
    return timings
