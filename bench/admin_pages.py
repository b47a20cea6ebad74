"""Admin pages benchmark: server time of the merchant's pages on a shop with 1,000,000 backorder lines.

    python bench/admin_pages.py                      # seed a throwaway PostgreSQL database, measure, drop it
    python bench/admin_pages.py --explain            # also EXPLAIN ANALYZE the slowest statements of each page
    python bench/admin_pages.py --lines 100000 --variants 10000 --supply 20000   # a quick run
    python bench/admin_pages.py --keep               # keep the seeded database (its URL is printed) ...
    python bench/admin_pages.py --url postgresql+psycopg://postgres@127.0.0.1:5432/<name>   # ... and reuse it

1. Seed (not timed): a throwaway PostgreSQL database (bench/support/databases.py, prefix
   `bench_admin`), migrated to head; the shop is installed through token exchange with the
   built-in fake Shopify, then bench/support/admin_data.py writes 1,000,000 backorder lines with
   their orders and order lines, 100,000 variants, 50 suppliers and 200,000 supply lines (COPY),
   and VACUUM ANALYZE.
2. Measure, in-process through Flask's test client (create_app on the app's own runtime; no
   HTTP server, no network: the figures are the app's server time, request to response body):
   each page is loaded as Shopify admin opens it (GET with embedded=1, shop, host and a fresh,
   valid `id_token` session token: the real verification runs on every load), 3 warm-up loads,
   then 20 timed loads. Printed: median, p95 and max wall time, the SQL time within it (sum of
   the statements' execute time), statements per load, and the body size.
   Pages: the Overview (/admin), the Backorders list filtered to open & delayed, the same with a
   supplier filter, and the Products page (its first page) once that page exists. Then the
   Overview again while lines change: before each load (not timed) one statement moves the ETA
   of --churn random waiting lines and ships a twentieth as many, as the recompute and the order
   webhooks do; the tallies' pending changes grow, and the loads that find more than
   plugin.admin.tallies.FOLD_AFTER of them fold them first (that time is in the figures).
3. --explain: each page's statements that took more than 5 ms, run again under
   EXPLAIN (ANALYZE, BUFFERS) with their parameters, plans printed.

The machine is shared: CPU seconds of this process, of its PostgreSQL backends and of everything
else (other engineers' work, and PostgreSQL's short-lived parallel query workers) during each
page's timed loads are printed.
The last line printed is one JSON object with every figure. See bench/README.md.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GOAL_P95_MS = 300.0
API_KEY = "bench-admin-api-key"
API_SECRET = "bench-admin-api-secret-0123456789abcdef"
SHOP_DOMAIN = "admin-bench.myshopify.com"
# Fixed, so that a database kept with --keep can be measured again with --url (its tokens decrypt).
ENCRYPTION_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"bench-admin-pages").digest()).decode()


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--postgres-admin-url", default=None,
                   help="server to create the throwaway database on (default $BENCH_POSTGRES_URL or "
                        "postgresql://postgres@127.0.0.1:5432/postgres)")
    p.add_argument("--url", default=None, help="measure an already seeded database (from --keep) instead")
    p.add_argument("--keep", action="store_true", help="do not drop the seeded database at the end")
    p.add_argument("--lines", type=int, default=1_000_000, help="backorder lines (default 1000000)")
    p.add_argument("--variants", type=int, default=100_000)
    p.add_argument("--suppliers", type=int, default=50)
    p.add_argument("--supply", type=int, default=200_000, help="supply (PO) lines (default 200000)")
    p.add_argument("--loads", type=int, default=20, help="timed loads per page (default 20)")
    p.add_argument("--warmup", type=int, default=3, help="untimed loads per page first (default 3)")
    p.add_argument("--seed", type=int, default=20261201)
    p.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each page's slow statements")
    p.add_argument("--pages", default=None, help="comma-separated page names to measure (default: all)")
    p.add_argument("--churn", type=int, default=1000,
                   help="waiting lines changed before each load of overview_while_lines_change (default 1000; 0: skip)")
    p.add_argument("--check", action="store_true", help="exit with status 1 unless every page meets the goal")
    args = p.parse_args(argv)
    if min(args.lines, args.variants, args.suppliers, args.supply, args.loads) < 1:
        p.error("sizes and --loads must be positive")
    return args


def say(message: str = "") -> None:
    print(message, flush=True)


# -- the app ------------------------------------------------------------------------------------------

def build(url: str, instance: Path, encryption_key: str):
    import httpx

    from connectors.shopify.devstore import FakeShopify
    from plugin.app import create_app
    from plugin.config import load_settings
    from plugin.runtime import build_runtime

    fake = FakeShopify(API_KEY, API_SECRET)
    fake.create_shop(SHOP_DOMAIN)
    settings = load_settings(app_url="https://admin-bench.example.test", shopify_api_key=API_KEY,
                             shopify_api_secret=API_SECRET, database_url=url, secret_key="bench-secret-key",
                             encryption_key=encryption_key, instance_path=instance, worker_threads=0,
                             log_level="WARNING")
    runtime = build_runtime(settings, shopify_transport=httpx.WSGITransport(app=fake.wsgi_app))
    app = create_app(runtime)
    return fake, runtime, app


def install(runtime, fake) -> int:
    from sqlalchemy import select

    from connectors.shopify.tokens import ShopifyTokens
    from plugin.db.models import Shop

    ShopifyTokens(runtime).install_with_session_token(SHOP_DOMAIN, fake.session_token(SHOP_DOMAIN))
    with runtime.db.session() as session:
        shop = session.scalars(select(Shop).where(Shop.domain == SHOP_DOMAIN)).one()
        shop.name = "Admin bench shop"
        return shop.id


def seed(url: str, runtime, fake, args) -> dict:
    from bench.support.admin_data import plan_admin_shop, write_postgres
    from bench.support.databases import _libpq

    shop_id = install(runtime, fake)
    now = datetime.now(timezone.utc)
    say(f"planning the shop (seed {args.seed})...")
    started = time.perf_counter()
    plan = plan_admin_shop(shop_id=shop_id, lines=args.lines, variants=args.variants, suppliers=args.suppliers,
                           supply=args.supply, seed=args.seed, now=now)
    say(f"  {time.perf_counter() - started:.1f}s: {plan.orders:,} orders, {plan.lines:,} lines "
        f"{plan.status_counts()}, {plan.variants:,} variants, {len(plan.supply):,} supply lines")
    say("writing (COPY)...")
    started = time.perf_counter()
    timings = write_postgres(plan, _libpq(url), say=say)
    return {"shop_id": shop_id, "seconds": round(time.perf_counter() - started, 1),
            "tables_s": {k: round(v, 1) for k, v in timings.items()}, "statuses": plan.status_counts(),
            "orders": plan.orders, "lines": plan.lines, "variants": plan.variants, "supply_lines": len(plan.supply),
            "suppliers": plan.suppliers}


# -- statements of one request --------------------------------------------------------------------------

class StatementLog:
    """Execute times of the statements run on the engine (this thread), per request."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.local = threading.local()
        self.recording = False
        self.statements: list[tuple[float, str, object]] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self.local.started = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.recording:
            self.statements.append((time.perf_counter() - self.local.started, statement, parameters))

    @contextmanager
    def record(self):
        self.statements = []
        self.recording = True
        try:
            yield self
        finally:
            self.recording = False


# -- pages --------------------------------------------------------------------------------------------

def pages(runtime, shop_id: int, app) -> list[dict]:
    """(name, path, query, must-contain): the issue's pages, the Products page once it exists."""
    from sqlalchemy import func, select

    from plugin.db.models import Backorder, Supplier

    with runtime.db.shop_session(shop_id) as session:
        # The supplier with the most waiting lines: its filter returns the most rows.
        supplier_id, supplier_name = session.execute(
            select(Supplier.id, Supplier.name).join(Backorder, Backorder.supplier_id == Supplier.id)
            .where(Backorder.status.in_(("open", "ready"))).group_by(Supplier.id, Supplier.name)
            .order_by(func.count().desc()).limit(1)).one()
    found = [
        {"name": "overview", "path": "/admin", "query": {}, "marker": 'data-figure="open_lines"'},
        {"name": "backorders_open_delayed", "path": "/admin/backorders",
         "query": {"status": "open", "delayed": "1"}, "marker": 'id="backorders-table"'},
        {"name": "backorders_open_delayed_supplier", "path": "/admin/backorders",
         "query": {"status": "open", "delayed": "1", "supplier_id": str(supplier_id)}, "marker": 'id="backorders-table"',
         "note": f"supplier {supplier_id} ({supplier_name}), the one with the most waiting lines"},
    ]
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    if "/admin/products" in rules:
        found.append({"name": "products", "path": "/admin/products", "query": {}, "marker": "<table"})
    else:
        say("(no /admin/products route in this tree yet: the Products page is not measured)")
    found.append({"name": "overview_while_lines_change", "path": "/admin", "query": {}, "marker": 'data-figure="open_lines"',
                  "churn": True, "note": "before each load: --churn waiting lines' ETAs moved, 1/20 as many shipped"})
    return found


class Churn:
    """Changes to waiting lines between loads, as the recompute and order webhooks make them."""

    def __init__(self, url: str, shop_id: int, lines: int, per_load: int, seed: int):
        import random

        import psycopg

        from bench.support.databases import _libpq

        self.conn = psycopg.connect(_libpq(url), autocommit=True)
        self.shop_id, self.lines, self.per_load = shop_id, lines, per_load
        self.rng = random.Random(seed)
        self.statements = 0

    def __call__(self) -> None:
        ids = self.rng.sample(range(1, self.lines + 1), self.per_load)
        self.conn.execute(
            "UPDATE backorders SET current_eta = current_eta + (%s * (id %% 7) - 3), updated_at = now() "
            "WHERE shop_id = %s AND id = ANY(%s) AND status IN ('open', 'ready') AND current_eta IS NOT NULL",
            (self.rng.choice((1, -1)), self.shop_id, ids))
        shipped = ids[: max(1, self.per_load // 20)]
        self.conn.execute("UPDATE backorders SET status = 'shipped', shipped_at = now(), updated_at = now() "
                          "WHERE shop_id = %s AND id = ANY(%s) AND status IN ('open', 'ready')",
                          (self.shop_id, shipped))
        self.statements += 2

    def pending(self) -> int:
        return self.conn.execute("SELECT count(*) FROM backorder_tally_changes WHERE shop_id = %s",
                                 (self.shop_id,)).fetchone()[0]

    def close(self) -> None:
        self.conn.close()


def page_url(page: dict, token: str) -> str:
    host = base64.urlsafe_b64encode(f"admin.shopify.com/store/{SHOP_DOMAIN.split('.')[0]}".encode()).decode().rstrip("=")
    query = {"embedded": "1", "host": host, "shop": SHOP_DOMAIN, "timestamp": str(int(time.time())), **page["query"],
             "id_token": token}
    return page["path"] + "?" + urlencode(query)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p95 of 20 loads is the 19th fastest)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def postgres_cpu(database: str) -> dict[int, float]:
    from bench.support.servers import cpu_seconds, postgres_pids

    return {pid: cpu_seconds(pid) for pid in postgres_pids(database)}


def measure(client, fake, page: dict, log: StatementLog, args, database: str, churn=None) -> dict:
    from bench.support.servers import busy_cpu_seconds

    pending_seen = []

    def load():
        if churn is not None:
            churn()
            pending_seen.append(churn.pending())
        url = page_url(page, fake.session_token(SHOP_DOMAIN))
        with log.record():
            started = time.perf_counter()
            response = client.get(url)
            body = response.get_data()
            seconds = time.perf_counter() - started
        if response.status_code != 200 or page["marker"].encode() not in body:
            raise RuntimeError(f"{page['name']}: HTTP {response.status_code}, marker {page['marker']!r} "
                               f"{'found' if page['marker'].encode() in body else 'missing'}:\n{body[:2000]!r}")
        return seconds, sum(s for s, _, _ in log.statements), len(log.statements), len(body), list(log.statements)

    for _ in range(args.warmup):
        load()
    walls, sqls, counts, sizes = [], [], [], []
    slowest_statements = None
    busy0, own0, load0, pg0 = busy_cpu_seconds(), time.process_time(), os.getloadavg()[0], postgres_cpu(database)
    for _ in range(args.loads):
        wall, sql, count, size, statements = load()
        walls.append(wall * 1000)
        sqls.append(sql * 1000)
        counts.append(count)
        sizes.append(size)
        if slowest_statements is None or wall * 1000 >= max(walls):
            slowest_statements = statements
    own = time.process_time() - own0
    pg1 = postgres_cpu(database)
    pg = sum(pg1[pid] - pg0[pid] for pid in pg1 if pid in pg0)  # our backends (parallel workers come and go)
    other = max(0.0, busy_cpu_seconds() - busy0 - own - pg)
    r = lambda v: round(v, 1)  # noqa: E731
    return {
        "name": page["name"], "path": page["path"], "query": page["query"], "note": page.get("note"),
        "median_ms": r(statistics.median(walls)), "p95_ms": r(percentile(walls, 0.95)), "max_ms": r(max(walls)),
        "min_ms": r(min(walls)), "sql_median_ms": r(statistics.median(sqls)), "sql_p95_ms": r(percentile(sqls, 0.95)),
        "statements": max(counts), "body_kb": r(statistics.median(sizes) / 1024),
        "goal_met": percentile(walls, 0.95) < GOAL_P95_MS, "loads": args.loads,
        "own_cpu_s": round(own, 2), "postgres_cpu_s": round(pg, 2), "other_cpu_s": round(other, 2), "loadavg_1m": [round(load0, 2), round(os.getloadavg()[0], 2)],
        "_statements": slowest_statements,
        **({"churn_per_load": args.churn, "pending_changes_before_loads": {
            "median": statistics.median(pending_seen), "max": max(pending_seen)}} if churn is not None else {}),
    }


def explain(runtime, result: dict, threshold_ms: float = 5.0) -> list[dict]:
    """EXPLAIN (ANALYZE, BUFFERS) of the page's statements slower than the threshold."""
    plans = []
    with runtime.db.engine.connect() as conn:
        for seconds, statement, parameters in result["_statements"]:
            if seconds * 1000 < threshold_ms or not statement.lstrip().upper().startswith("SELECT"):
                continue
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
            text = "\n".join(row[0] for row in rows)
            execution = next((line for line in reversed(text.splitlines()) if "Execution Time" in line), "")
            plans.append({"ms_in_page": round(seconds * 1000, 1), "execution": execution.strip(),
                          "statement": " ".join(statement.split())[:400], "plan": text})
        conn.rollback()
    return plans


def print_page(result: dict) -> None:
    ok = "ok" if result["goal_met"] else "MISSED"
    query = "&".join(f"{k}={v}" for k, v in result["query"].items())
    say(f"{result['name']:<34} median {result['median_ms']:7.1f} ms  p95 {result['p95_ms']:7.1f} ms  "
        f"max {result['max_ms']:7.1f}  (SQL median {result['sql_median_ms']:6.1f} ms, {result['statements']} statements, "
        f"{result['body_kb']:.0f} KB)  goal p95 < {GOAL_P95_MS:.0f} ms: {ok}")
    say(f"{'':<34} {result['path']}{'?' + query if query else ''}{'  — ' + result['note'] if result['note'] else ''}; "
        f"CPU-s: this process {result['own_cpu_s']}, its PostgreSQL backends {result['postgres_cpu_s']}, "
        f"everything else {result['other_cpu_s']} (parallel query workers included); "
        f"load {result['loadavg_1m'][0]}->{result['loadavg_1m'][1]}")
    if "pending_changes_before_loads" in result:
        from plugin.admin.tallies import FOLD_AFTER

        seen = result["pending_changes_before_loads"]
        say(f"{'':<34} tally changes pending before a load: median {seen['median']:.0f}, max {seen['max']} "
            f"(folded first above {FOLD_AFTER})")


def run(url: str, args, workdir: Path, seeded: dict | None) -> dict:
    from sqlalchemy import func, select

    from bench.support.databases import postgres_facts
    from plugin.db.models import Backorder, Shop

    fake, runtime, app = build(url, workdir / "instance", ENCRYPTION_KEY)
    try:
        if seeded is None:
            seeded = seed(url, runtime, fake, args)
        else:  # a kept database, seeded by an earlier run (same encryption key: the shop's tokens read)
            with runtime.db.session() as session:
                shop_id = session.scalar(select(Shop.id).where(Shop.domain == SHOP_DOMAIN))
            seeded = {"shop_id": shop_id, "reused": url}
        shop_id = seeded["shop_id"]
        with runtime.db.shop_session(shop_id) as session:
            lines = session.scalar(select(func.count()).select_from(Backorder))
            waiting = session.scalar(select(func.count()).select_from(Backorder)
                                     .where(Backorder.status.in_(("open", "ready"))))
        say(f"\nshop {shop_id}: {lines:,} backorder lines, {waiting:,} waiting (open or ready)")
        log = StatementLog(runtime.db.engine)
        client = app.test_client()
        wanted = set(args.pages.split(",")) if args.pages else None
        results = []
        say(f"\nserver time, in-process (Flask test client), {args.warmup} warm-up + {args.loads} timed loads each, "
            f"a fresh session token per load:")
        for page in pages(runtime, shop_id, app):
            if wanted and page["name"] not in wanted or page.get("churn") and args.churn <= 0:
                continue
            churn = Churn(url, shop_id, lines, args.churn, args.seed + 1) if page.get("churn") else None
            try:
                result = measure(client, fake, page, log, args, url.rsplit("/", 1)[-1], churn)
            finally:
                if churn is not None:
                    churn.close()
            print_page(result)
            if args.explain:
                result["explain"] = explain(runtime, result)
                for plan in result["explain"]:
                    say(f"\n  --- {page['name']}: {plan['ms_in_page']} ms in the page; {plan['execution']}\n"
                        f"  {plan['statement']}\n" + "\n".join("    " + line for line in plan["plan"].splitlines()))
                say("")
            result.pop("_statements")
            results.append(result)
        facts = postgres_facts(url)
        with runtime.db.engine.connect() as conn:
            for name in ("work_mem", "jit", "max_parallel_workers_per_gather", "effective_cache_size", "random_page_cost"):
                facts[name] = conn.exec_driver_sql(f"SHOW {name}").scalar()
            facts["backorders_size"] = conn.exec_driver_sql(
                "SELECT pg_size_pretty(pg_total_relation_size('backorders'))").scalar()
            facts["alembic_head"] = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    finally:
        runtime.close()
    return {"seed": seeded, "pages": results, "db_facts": facts, "lines": lines, "waiting": waiting}


def main(argv=None) -> int:
    args = parse_args(argv)
    from bench.support.databases import throwaway_database

    workdir = Path(tempfile.mkdtemp(prefix="bench-admin-"))
    try:
        if args.url:
            report = run(args.url, args, workdir, seeded={})
        else:
            if args.keep:
                ctx = _kept_database(args.postgres_admin_url)
            else:
                ctx = throwaway_database("postgresql", workdir, args.postgres_admin_url, prefix="bench_admin")
            with ctx as url:
                say(f"database: {url}{' (kept)' if args.keep else ' (dropped at the end)'}")
                report = run(url, args, workdir, seeded=None)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    goals = {page["name"]: page["goal_met"] for page in report["pages"]}
    summary = {
        "bench": "admin_pages", "measured": "in-process, Flask test client (server time: request to response body)",
        "goal_p95_ms": GOAL_P95_MS, "goals_met": dict(goals, all=all(goals.values())),
        "pages": {page["name"]: {k: v for k, v in page.items() if k not in ("name", "explain")} for page in report["pages"]},
        "lines": report["lines"], "waiting": report["waiting"], "seed": report["seed"], "db_facts": report["db_facts"],
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {os.cpu_count()} CPUs, {_memory_gib()} GiB", "python": platform.python_version(),
    }
    say("")
    for page in report["pages"]:
        say(f"{page['name']:<34} median {page['median_ms']:7.1f} ms   p95 {page['p95_ms']:7.1f} ms   "
            f"{'ok' if page['goal_met'] else 'MISSED'}")
    say(json.dumps(summary, separators=(",", ":"), default=str))
    return 1 if args.check and not summary["goals_met"]["all"] else 0


@contextmanager
def _kept_database(admin_url: str | None):
    """Like throwaway_database, but left in place (drop it yourself: DROP DATABASE <name>)."""
    import uuid

    import psycopg

    from bench.support.databases import DEFAULT_POSTGRES_ADMIN_URL, _libpq
    from plugin.db.migrate import upgrade

    admin_url = _libpq(admin_url or os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_ADMIN_URL))
    name = f"bench_admin_kept_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    url = f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    upgrade(url)
    yield url


def _memory_gib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024)
    return 0


if __name__ == "__main__":
    sys.exit(main())
