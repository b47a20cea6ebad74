"""A big shop for `bench/eta_recompute.py`: planned in memory from one seed, written in bulk.

What a shop with 100,000 variants looks like after 60 days of overselling (all figures scale with
the arguments):

* Suppliers (~50) of uneven size; each has a declared lead time, spread and handling days, and a
  true lateness the history was drawn from (punctual, late, heavy-tailed, early or erratic). Two
  in fifty are inactive (their SKUs fall back to a substitute or the shop's default lead time).
* Every SKU has a primary supplier, 15 % also a substitute (`supplier_skus`).
* Demand is skewed: SKU popularity follows a Zipf-like law over a random order of SKUs, so the
  top SKU has thousands of open lines, the median one a handful, and ~15 % none. Orders
  (1-3 lines) are spread over the last 60 days, ids growing with time as on the platforms; some
  lines are only partly backordered, ~1.8 % have a priority override. Every line is open with no
  ETA yet. A variant's sellable quantity is minus its backordered units; for one in ten some
  stock has come in since (the first lines of its queue are covered by stock).
* Purchase orders of 5-15 lines, each PO with one promised date and (when it came) one receipt
  date drawn from its supplier's lateness: a year of history (received, some still open and
  overdue, 3 % cancelled) and the current pipeline (ordered / shipped, due in the coming weeks,
  a few already overdue), which is sized to the SKUs' backorders and favours the SKUs in demand.

Writers: PostgreSQL with COPY (psycopg), SQLite with executemany in one transaction per table.
Ids are given explicitly (the tables are empty) and PostgreSQL's sequences are moved past them.
"""
from __future__ import annotations

import json
import random
import sqlite3
import time
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from itertools import accumulate

import psycopg

SHOP_ID = 1
KINDS = ("reliable", "late", "heavy", "early", "erratic")


@dataclass
class SupplierSpec:
    id: int
    name: str
    lead: int
    spread: int
    handling: int
    active: bool
    kind: str

    def delay(self, rng: random.Random) -> int:
        """Days late of one purchase order (receipt - promise)."""
        if self.kind == "reliable":
            return round(rng.gauss(0.5, 1.2))
        if self.kind == "late":
            return round(rng.gauss(6 + self.id % 5, 2.5))
        if self.kind == "heavy":
            return round(rng.gauss(1, 1.5)) if rng.random() < 0.8 else round(rng.expovariate(1 / 15))
        if self.kind == "early":
            return round(rng.gauss(-2, 1.5))
        return rng.randint(-4, 18)


@dataclass
class ShopPlan:
    today: date
    now: datetime
    suppliers: list[SupplierSpec]
    variants: int
    primary: list[int]  # supplier id per SKU index
    substitute: dict[int, int]  # SKU index -> substitute supplier id
    sellable: array
    # Orders (index k): placed at epoch second order_placed[k]; lines of order k are
    # order_first[k] .. order_first[k+1]-1.
    order_placed: array
    order_first: array
    # Lines (index j): SKU index, ordered quantity, backordered quantity, priority.
    line_sku: array
    line_qty: array
    line_bo: array
    line_priority: array
    # (id, supplier id, SKU index, quantity, promised, expected, received, po reference, status)
    supply: list[tuple] = field(default_factory=list)

    def sku(self, index: int) -> str:
        return f"SKU-{index:06d}"

    @property
    def orders(self) -> int:
        return len(self.order_placed)

    @property
    def lines(self) -> int:
        return len(self.line_sku)


def plan_shop(*, variants: int, lines: int, supply: int, suppliers: int, seed: int, today: date,
              now: datetime | None = None) -> ShopPlan:
    """`now`: when the seeded rows were written (default: 09:00 UTC on `today`); orders are before it."""
    rng = random.Random(seed)
    now = now or datetime.combine(today, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=9)
    specs = [SupplierSpec(i + 1, f"Supplier {i + 1:02d}", rng.randint(7, 45), rng.randint(1, 8), rng.randint(0, 3),
                          active=(i % 25 != 24), kind=KINDS[i % len(KINDS)]) for i in range(suppliers)]
    ids = [s.id for s in specs]
    size = [1.0 / (i + 1) ** 0.7 for i in range(suppliers)]
    primary = rng.choices(ids, weights=size, k=variants)
    substitute = {}
    for index in range(variants):
        if rng.random() < 0.15:
            other = rng.choice(ids)
            if other != primary[index]:
                substitute[index] = other

    # Demand: Zipf-like popularity over a random order of the SKUs.
    order = list(range(variants))
    rng.shuffle(order)
    popularity = [0.0] * variants
    for rank, index in enumerate(order):
        popularity[index] = 1.0 / (rank + 10) ** 0.9
    line_sku = array("i", rng.choices(range(variants), cum_weights=list(accumulate(popularity)), k=lines))

    # Orders of 1-3 lines over the last 60 days, in time order (platform ids grow with time).
    start = int(now.timestamp()) - 60 * 86400
    order_first = array("i")
    j = 0
    while j < lines:
        order_first.append(j)
        r = rng.random()
        j += 1 if r < 0.7 else 2 if r < 0.92 else 3
    order_placed = array("q", sorted(start + rng.randrange(60 * 86400) for _ in range(len(order_first))))
    order_first.append(lines)

    line_qty, line_bo, line_priority = array("i"), array("i"), array("i")
    units = [0] * variants
    for j in range(lines):
        r = rng.random()
        qty = 1 if r < 0.8 else 2 if r < 0.92 else rng.randint(3, 5)
        bo = rng.randint(1, qty - 1) if qty > 1 and rng.random() < 0.05 else qty
        p = rng.random()
        line_qty.append(qty)
        line_bo.append(bo)
        line_priority.append(1 if p < 0.015 else 2 if p < 0.018 else 0)
        units[line_sku[j]] += bo
    sellable = array("i")
    for index in range(variants):
        q = units[index]
        if q == 0:
            sellable.append(rng.randint(0, 40))
        elif rng.random() < 0.1:
            sellable.append(-q + rng.randint(1, max(1, q // 3)))  # some stock came in since
        else:
            sellable.append(-q)
    plan = ShopPlan(today, now, specs, variants, primary, substitute, sellable, order_placed, order_first,
                    line_sku, line_qty, line_bo, line_priority)
    plan.supply = _plan_supply(rng, plan, supply, units, popularity)
    return plan


def _plan_supply(rng: random.Random, plan: ShopPlan, total: int, units: list[int], popularity: list[float]) -> list[tuple]:
    by_supplier: dict[int, list[int]] = {s.id: [] for s in plan.suppliers}
    for index, supplier in enumerate(plan.primary):
        by_supplier[supplier].append(index)
    for index, supplier in plan.substitute.items():
        by_supplier[supplier].append(index)
    specs = [s for s in plan.suppliers if by_supplier[s.id]]
    weights = [len(by_supplier[s.id]) for s in specs]
    demand_cum = {s.id: list(accumulate(popularity[i] for i in by_supplier[s.id])) for s in specs}
    today = plan.today
    rows: list[tuple] = []
    seen: dict[int, int] = {s.id: 0 for s in specs}
    while len(rows) < total:
        spec = rng.choices(specs, weights=weights)[0]
        skus = by_supplier[spec.id]
        current = rng.random() < 0.42  # the pipeline; else a year of history
        k = rng.randint(5, 15)
        if current:  # favour SKUs in demand; sized to their backorders
            cum = demand_cum[spec.id]
            picked = {skus[min(bisect_left(cum, rng.random() * cum[-1]), len(skus) - 1)] for _ in range(k)}
            created = today - timedelta(days=rng.randint(0, spec.lead + 5))
        else:
            picked = set(rng.sample(skus, min(k, len(skus))))
            created = today - timedelta(days=rng.randint(spec.lead + 10, 380))
        seen[spec.id] += 1
        po = f"PO-{spec.id:02d}-{seen[spec.id]:05d}"
        promised = created + timedelta(days=spec.lead + rng.randint(-2, 2))
        late = spec.delay(rng)
        arrives = promised + timedelta(days=late)
        cancelled = rng.random() < 0.03
        for index in sorted(picked):
            if len(rows) >= total:
                break
            if current:
                quantity = max(1, round(units[index] * rng.uniform(0.15, 0.7))) if units[index] else rng.randint(5, 50)
            else:
                quantity = rng.randint(5, 100)
            received = None
            if cancelled:
                status, expected = "cancelled", promised
            elif arrives < today:
                status, received = "received", arrives + timedelta(days=rng.choice((0, 0, 0, 0, 1)))
                received = min(received, today - timedelta(days=1))
                expected = promised if rng.random() < 0.5 else received
            else:
                # Still out. Some suppliers said it would be late (not always by enough).
                status = "shipped" if (today - created).days > spec.lead // 2 else "ordered"
                expected = promised if late <= 0 or rng.random() < 0.5 else promised + timedelta(days=rng.randint(0, late))
            rows.append((len(rows) + 1, spec.id, index, quantity, promised, expected, received, po, status))
    return rows


# -- writing ---------------------------------------------------------------------------------------

TABLE_COLUMNS = {
    "suppliers": ("id", "shop_id", "name", "email", "lead_time_days", "lead_time_spread_days", "handling_days",
                  "active", "feed_kind", "feed_url", "feed_format", "sync_interval_minutes", "last_synced_at",
                  "created_at"),
    "variants": ("id", "shop_id", "platform_variant_id", "platform_product_id", "sku", "title", "inventory_tracked",
                 "continue_selling", "sellable_quantity", "location_quantities", "inventory_read_at", "eta_dirty",
                 "eta_revision", "updated_at"),
    "supplier_skus": ("id", "shop_id", "supplier_id", "sku", "role"),
    "supply_lines": ("id", "shop_id", "supplier_id", "variant_id", "sku", "location", "quantity", "promised_date",
                     "expected_date", "received_date", "po_reference", "status", "tracking", "source", "created_at",
                     "updated_at"),
    "sync_runs": ("id", "shop_id", "supplier_id", "source", "status", "rows_total", "rows_applied", "rows_rejected",
                  "rows_unchanged", "errors", "message", "started_at", "finished_at"),
    "orders": ("id", "shop_id", "platform_order_id", "name", "email", "customer_name", "status", "placed_at",
               "created_at", "updated_at"),
    "order_lines": ("id", "shop_id", "order_id", "platform_line_id", "variant_id", "sku", "title", "quantity",
                    "open_quantity"),
    "backorders": ("id", "shop_id", "order_line_id", "variant_id", "quantity", "promise_version", "priority",
                   "status", "ordered_at", "created_at", "updated_at"),
}


class _Postgres:
    def __init__(self):
        self.ts = lambda value: value
        self.day = lambda value: value
        self.flag = bool
        self.json = json.dumps


class _Sqlite:
    def __init__(self):
        # SQLAlchemy's storage formats on SQLite (naive UTC, microseconds; ISO dates; 0/1).
        self.ts = lambda value: value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")
        self.day = lambda value: None if value is None else value.isoformat()
        self.flag = int
        self.json = json.dumps


def table_rows(plan: ShopPlan, table: str, fmt):
    """The rows of one table, as the database driver takes them."""
    shop, now = SHOP_ID, fmt.ts(plan.now)
    if table == "suppliers":
        for s in plan.suppliers:
            yield (s.id, shop, s.name, f"po@supplier{s.id}.example", s.lead, s.spread, s.handling, fmt.flag(s.active),
                   "url", f"https://supplier{s.id}.example/feed.csv", "csv", 360, now, now)
    elif table == "variants":
        for i in range(plan.variants):
            yield (i + 1, shop, str(40_000_000_000 + i), str(8_000_000_000 + i // 3), plan.sku(i), f"Product {i // 3} / {i % 3}",
                   fmt.flag(True), fmt.flag(True), plan.sellable[i], "{}", now, fmt.flag(True), 1, now)
    elif table == "supplier_skus":
        n = 0
        for i, supplier in enumerate(plan.primary):
            n += 1
            yield (n, shop, supplier, plan.sku(i), "primary")
        for i, supplier in sorted(plan.substitute.items()):
            n += 1
            yield (n, shop, supplier, plan.sku(i), "substitute")
    elif table == "supply_lines":
        day = fmt.day
        for lot_id, supplier, index, quantity, promised, expected, received, po, status in plan.supply:
            created = fmt.ts(datetime.combine(promised, datetime.min.time(), tzinfo=timezone.utc) - timedelta(days=20))
            yield (lot_id, shop, supplier, index + 1, plan.sku(index), None, quantity, day(promised), day(expected),
                   day(received), po, status, None, "url", created, now)
    elif table == "sync_runs":
        for s in plan.suppliers:
            yield (s.id, shop, s.id, "url", "ok", 0, 0, 0, 0, "[]", "initial import", now, now)
    elif table == "orders":
        placed = plan.order_placed
        for k in range(plan.orders):
            at = fmt.ts(datetime.fromtimestamp(placed[k], timezone.utc))
            yield (k + 1, shop, str(5_000_000_000 + k), f"#{1001 + k}", f"customer{k % 50_000}@example.com",
                   f"Customer {k % 50_000}", "open", at, at, at)
    elif table == "order_lines":
        first = plan.order_first
        for k in range(plan.orders):
            for j in range(first[k], first[k + 1]):
                index = plan.line_sku[j]
                yield (j + 1, shop, k + 1, str(14_000_000_000 + j), index + 1, plan.sku(index), f"Product {index // 3}",
                       plan.line_qty[j], plan.line_qty[j])
    elif table == "backorders":
        first, placed = plan.order_first, plan.order_placed
        for k in range(plan.orders):
            at = fmt.ts(datetime.fromtimestamp(placed[k], timezone.utc))
            for j in range(first[k], first[k + 1]):
                yield (j + 1, shop, j + 1, plan.line_sku[j] + 1, plan.line_bo[j], 1, plan.line_priority[j], "open",
                       at, at, at)
    else:
        raise ValueError(table)


def write_postgres(plan: ShopPlan, libpq_url: str, say=print) -> dict[str, float]:
    timings = {}
    fmt = _Postgres()
    with psycopg.connect(libpq_url) as conn:
        for table, columns in TABLE_COLUMNS.items():
            started = time.perf_counter()
            with conn.cursor() as cur:
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in table_rows(plan, table, fmt):
                        copy.write_row(row)
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            conn.commit()
            timings[table] = time.perf_counter() - started
            say(f"    {table:<14} {timings[table]:6.1f}s")
    with psycopg.connect(libpq_url, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE")  # what autovacuum does for a table that grew over weeks
        timings["vacuum_analyze"] = time.perf_counter() - started
    return timings


def write_sqlite(plan: ShopPlan, path: str, say=print) -> dict[str, float]:
    timings = {}
    fmt = _Sqlite()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        for table, columns in TABLE_COLUMNS.items():
            started = time.perf_counter()
            conn.execute("BEGIN")
            conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                             table_rows(plan, table, fmt))
            conn.execute("COMMIT")
            timings[table] = time.perf_counter() - started
            say(f"    {table:<14} {timings[table]:6.1f}s")
        started = time.perf_counter()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        timings["checkpoint"] = time.perf_counter() - started
    finally:
        conn.close()
    return timings
