"""Webhook ingest benchmark: how fast do we acknowledge signed orders/create webhooks, and does
every one of them get processed exactly once?

    python bench/webhook_ingest.py                       # 20,000 webhooks, concurrency 32, PostgreSQL
    python bench/webhook_ingest.py --db sqlite
    python bench/webhook_ingest.py --requests 2000       # a quick run

1. A dev store (FakeShopify, in this process) gets shops, a catalogue and N orders placed at its
   checkout; each order's orders/create webhook (Shopify's exemplar payload, ~6 KB, signed, own
   event id) is captured, not delivered. All requests are written to a file before any timing.
2. The same gunicorn command (2 workers, gthread) serves a bare Flask endpoint that only reads the
   body and answers 200, then the real app (verify HMAC -> INSERT .. ON CONFLICT DO NOTHING -> 200)
   with WORKER_THREADS=0. wrk replays every request exactly once to each at the given concurrency.
3. Inbox worker threads in this process drain the inbox against the dev store (GraphQL through
   httpx.WSGITransport), with the shops installed by token exchange.
4. Counts: sent (2xx answers), stored (inbox rows), processed (status done), and processed twice
   (handler completions per order above one; see bench/support/drain.py).

The last line printed is one JSON object with every figure. See bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

API_KEY = "bench-api-key"
# Long enough for PyJWT's HS256 key-length check (session tokens are signed with it).
API_SECRET = "bench-api-secret-3f9a1c7e5b2d4a6c8e0f1a3b5c7d9e1f"
WEBHOOK_PATH = "/webhooks/shopify"
UNTHROTTLED = 1e9  # bucket size and restore rate of the dev store unless --restore-rate is given


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=20_000, help="webhooks sent to each target (default 20000)")
    p.add_argument("--concurrency", type=int, default=32, help="open connections of the load generator (default 32)")
    p.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql", help="default postgresql")
    p.add_argument("--postgres-admin-url", default=None,
                   help="server to create the throwaway database on (default $BENCH_POSTGRES_URL or "
                        "postgresql://postgres@127.0.0.1:5432/postgres)")
    p.add_argument("--gunicorn-workers", type=int, default=2)
    p.add_argument("--worker-class", choices=("gthread", "sync"), default="gthread")
    p.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker (gthread; default 8)")
    p.add_argument("--keep-alive", type=int, default=0,
                   help="gunicorn --keep-alive seconds; 0 (default) closes each connection after its answer, "
                        "so connections spread evenly over the workers (see bench/README.md)")
    p.add_argument("--wrk-threads", type=int, default=1, help="load generator threads (default 1: it needs little CPU)")
    p.add_argument("--warmup", type=int, default=2000, help="requests per target before measuring (stored nothing)")
    p.add_argument("--shops", type=int, default=1, help="shops the orders are spread over (default 1)")
    p.add_argument("--variants", type=int, default=1000, help="variants per shop (default 1000)")
    p.add_argument("--backorder-share", type=float, default=0.25,
                   help="share of each variant's ordered units beyond its stock (default 0.25)")
    p.add_argument("--restore-rate", type=float, default=None,
                   help="dev store GraphQL restore rate in points/s, e.g. 100 (Standard) or 1000 (Plus); "
                        "default: unthrottled, so the drain measures our code, not Shopify's rate limit")
    p.add_argument("--bucket-size", type=float, default=1000.0, help="dev store bucket size with --restore-rate")
    p.add_argument("--drain-workers", type=int, default=2, help="InboxWorker threads (default 2)")
    p.add_argument("--drain-timeout", type=float, default=3600.0, help="seconds before the drain gives up")
    p.add_argument("--skip-drain", action="store_true", help="measure ingest only")
    p.add_argument("--time-limit", type=float, default=None,
                   help="upper bound in seconds of each load run (default max(120, requests/20))")
    p.add_argument("--seed", type=int, default=20261125)
    p.add_argument("--log-level", default="WARNING", help="app log level, in gunicorn and in the drain")
    p.add_argument("--profile", action="store_true",
                   help="cProfile the app's gunicorn workers and print the hot spots (slows the app run down)")
    p.add_argument("--profile-clock", choices=("wall", "cpu"), default="wall",
                   help="with --profile: wall time (includes waits for the database and the GIL) or each "
                        "thread's CPU time")
    p.add_argument("--check", action="store_true", help="exit with status 1 unless every goal is met")
    p.add_argument("--keep-workdir", action="store_true", help="keep the temporary directory (logs, requests)")
    args = p.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1:
        p.error("--requests and --concurrency must be positive")
    if args.concurrency > args.requests // max(1, args.wrk_threads):
        p.error("--concurrency must not exceed the requests per wrk thread")
    if args.warmup and args.concurrency > args.warmup // max(1, args.wrk_threads):
        p.error("--warmup must give every connection at least one request (or be 0)")
    if not 0 <= args.backorder_share <= 1:
        p.error("--backorder-share must be between 0 and 1")
    return args


def say(message: str = "") -> None:
    print(message, flush=True)


class FakeTimer:
    """WSGI wrapper that adds up the wall time spent inside the dev store (all threads)."""

    def __init__(self, app):
        self.app = app
        self.seconds = 0.0
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        try:
            # The dev store's answers are small JSON bodies: materialise them inside the timing.
            return list(self.app(environ, start_response))
        finally:
            elapsed = time.perf_counter() - started
            with self._lock:
                self.seconds += elapsed
                self.calls += 1


def build_requests(fake, runtime, args, workdir: Path):
    """Seed and install the shops, place the orders, write the measured and warm-up request files."""
    from bench.support.loadgen import write_requests
    from bench.support.store_setup import place_orders, plan_orders, raw_request, seed_catalogues, shop_domains
    from connectors.shopify.tokens import ShopifyTokens

    shops = shop_domains(args.shops)
    plan = plan_orders(args.requests, shops, args.variants, args.seed)
    catalogues = seed_catalogues(fake, plan, shops, args.variants, args.backorder_share)
    # Installed first, as on Shopify: the store only sends webhooks to apps installed on the shop.
    for shop in shops:
        ShopifyTokens(runtime).install_with_session_token(shop, fake.session_token(shop))
    sizes: list[int] = []
    first_body: list[bytes] = []

    def measured():
        for webhook in place_orders(fake, plan, catalogues):
            sizes.append(len(webhook.body))
            if not first_body:
                first_body.append(webhook.body)
            yield raw_request(WEBHOOK_PATH, webhook.headers, webhook.body)

    requests_file = workdir / "requests.bin"
    count = write_requests(requests_file, measured())

    # Warm-up: the first order's body under a wrong signature. The app answers 401 and stores
    # nothing; the bare endpoint answers 200. Both run their routing, body reading and JSON
    # answer through every gunicorn thread before the measured run.
    warmup_file = workdir / "warmup.bin"
    if args.warmup:
        from tests.shopify_samples import webhook_headers

        body = first_body[0]
        write_requests(warmup_file, (
            raw_request(WEBHOOK_PATH, webhook_headers("orders/create", shops[0], body, "not-the-app-secret"), body)
            for _ in range(args.warmup)))
    return shops, requests_file, count, warmup_file, sizes


def run_target(name: str, app_spec: str, env: dict, args, workdir: Path, requests_file: Path, warmup_file: Path,
               postgres_cpu):
    from bench.support.databases import settle_disk
    from bench.support.loadgen import run_wrk
    from bench.support.servers import Gunicorn

    server = Gunicorn(app_spec, env, workdir / f"gunicorn-{name}.log", workers=args.gunicorn_workers,
                      worker_class=args.worker_class, threads=args.threads, keep_alive=args.keep_alive)
    time_limit = args.time_limit or max(120.0, args.requests / 20)
    try:
        server.start()
        url = f"http://127.0.0.1:{server.port}{WEBHOOK_PATH}"
        if args.warmup:
            run_wrk(f"{name}-warmup", url, warmup_file, args.warmup, connections=args.concurrency,
                    threads=args.wrk_threads, time_limit=time_limit)
        settle_disk(env["DATABASE_URL"])
        result = run_wrk(name, url, requests_file, args.requests, connections=args.concurrency,
                         threads=args.wrk_threads, time_limit=time_limit, cpu_probe=server.workers_cpu,
                         postgres_probe=postgres_cpu)
        return result
    except Exception:
        say(f"--- gunicorn log ({name}) ---\n{server.log_tail()}")
        raise
    finally:
        server.stop()


def main(argv=None) -> int:
    args = parse_args(argv)
    import httpx
    from cryptography.fernet import Fernet

    from bench.support.databases import postgres_facts, throwaway_database
    from bench.support.drain import count_stored, drain
    from bench.support.loadgen import find_wrk
    from bench.support.servers import cpu_seconds, postgres_pids
    from connectors.shopify.devstore.fake import FakeShopify
    from plugin.config import load_settings
    from plugin.runtime import build_runtime

    find_wrk()  # fail before any set-up when the load generator is missing
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    started = time.monotonic()
    runtime = None
    try:
        with throwaway_database(args.db, workdir, args.postgres_admin_url) as url:
            encryption_key = Fernet.generate_key().decode()
            values = dict(app_url="http://127.0.0.1:8000", shopify_api_key=API_KEY, shopify_api_secret=API_SECRET,
                          database_url=url, secret_key="bench-secret-key", encryption_key=encryption_key,
                          instance_path=workdir / "instance", worker_threads=0, log_level=args.log_level.upper())
            settings = load_settings(**values)
            env = {"APP_URL": "http://127.0.0.1:8000", "SHOPIFY_API_KEY": API_KEY, "SHOPIFY_API_SECRET": API_SECRET,
                   "SHOPIFY_API_SECRET_OLD": "", "DATABASE_URL": url, "SECRET_KEY": "bench-secret-key",
                   "ENCRYPTION_KEY": encryption_key, "INSTANCE_PATH": str(workdir / "instance"),
                   "WORKER_THREADS": "0", "LOG_LEVEL": args.log_level.upper(), "SHOPIFY_FAKE_URL": ""}

            throttled = args.restore_rate is not None
            fake = FakeShopify(API_KEY, API_SECRET, bucket_size=args.bucket_size if throttled else UNTHROTTLED,
                               restore_rate=args.restore_rate if throttled else UNTHROTTLED)
            fake_timer = FakeTimer(fake.wsgi_app)
            runtime = build_runtime(settings, shopify_transport=httpx.WSGITransport(app=fake_timer))

            say(f"preparing {args.requests} orders in the dev store ({args.shops} shop(s), {args.variants} variants each)...")
            t0 = time.monotonic()
            shops, requests_file, count, warmup_file, sizes = build_requests(fake, runtime, args, workdir)
            say(f"  {count} signed webhooks written in {time.monotonic() - t0:.1f}s; body {min(sizes)}-{max(sizes)} "
                f"bytes (mean {statistics.fmean(sizes):.0f})")

            postgres_cpu = None
            if args.db == "postgresql":
                database = url.rsplit("/", 1)[-1]
                if postgres_pids(database):  # visible only when the server runs on this machine
                    postgres_cpu = lambda: sum(cpu_seconds(pid) for pid in postgres_pids(database))  # noqa: E731

            say(f"bare endpoint: gunicorn -w {args.gunicorn_workers} -k {args.worker_class} --threads {args.threads} "
                f"--keep-alive {args.keep_alive}, wrk -c {args.concurrency} -t {args.wrk_threads}...")
            bare = run_target("bare", "bench.support.wsgi_apps:bare_app()", env, args, workdir, requests_file,
                              warmup_file, postgres_cpu)
            say(f"  {bare.acks_per_s:,.0f} acks/s, p50 {bare.p50_ms:.1f} ms, p99 {bare.p99_ms:.1f} ms")
            say("backorder desk endpoint (same gunicorn settings)...")
            app_env = dict(env, BENCH_PROFILE_DIR=str(workdir / "profile"),
                           BENCH_PROFILE_CLOCK=args.profile_clock) if args.profile else env
            ours = run_target("app", "bench.support.wsgi_apps:backorder_app()", app_env, args, workdir, requests_file,
                              warmup_file, postgres_cpu)
            say(f"  {ours.acks_per_s:,.0f} acks/s, p50 {ours.p50_ms:.1f} ms, p99 {ours.p99_ms:.1f} ms")
            stored = count_stored(runtime)
            if args.profile:
                from bench.support.profiling import merged_report

                say("--- cProfile of the app's gunicorn workers (warm-up and measured run; figures above are "
                    "slowed down by profiling) ---")
                say(merged_report(workdir / "profile"))

            drained = None
            if not args.skip_drain:
                say(f"draining the inbox with {args.drain_workers} InboxWorker thread(s)...")
                drained = drain(runtime, workers=args.drain_workers, timeout=args.drain_timeout,
                                postgres_cpu=postgres_cpu)
            facts = postgres_facts(url) if args.db == "postgresql" else {"journal_mode": "wal", "synchronous": "normal"}
            report = build_report(args, bare, ours, stored, drained, sizes, facts, fake, fake_timer)
            print_summary(report, bare, ours, drained)
            say(f"(total bench time {time.monotonic() - started:.0f}s)")
            say(json.dumps(report, separators=(",", ":")))
            return 1 if args.check and not report["goals_met"]["all"] else 0
    finally:
        if runtime is not None:
            runtime.close()
        if args.keep_workdir:
            say(f"(work directory kept: {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def build_report(args, bare, ours, stored, drained, sizes, facts, fake, fake_timer) -> dict:
    ratio = ours.acks_per_s / bare.acks_per_s if bare.acks_per_s else 0.0
    sent = ours.ok2xx
    processed = drained.processed if drained else None
    processed_twice = drained.processed_twice if drained else None
    goals = {
        "ratio_ge_0_5": ratio >= 0.5,
        "p99_lt_50ms": ours.p99_ms < 50.0,
        "stored_eq_processed_eq_sent": bool(drained) and sent == args.requests and stored == sent and processed == sent,
        "nothing_processed_twice": bool(drained) and processed_twice == 0 and drained.orders_stored == sent,
    }
    goals["all"] = all(goals.values())
    # Shopify deducts the requested cost up front and refunds the difference to the actual cost, so
    # sustained throughput is bounded by the actual points.
    requested = sum(c.requested_cost or 0 for c in fake.calls)
    actual = sum(c.actual_cost if c.actual_cost is not None else (c.requested_cost or 0) for c in fake.calls)
    report = {
        "acks_per_s": round(ours.acks_per_s, 1),
        "bare_acks_per_s": round(bare.acks_per_s, 1),
        "ratio": round(ratio, 3),
        "p50_ms": round(ours.p50_ms, 2),
        "p99_ms": round(ours.p99_ms, 2),
        "p999_ms": round(ours.p999_ms, 2),
        "max_ms": round(ours.max_ms, 2),
        "bare_p50_ms": round(bare.p50_ms, 2),
        "bare_p99_ms": round(bare.p99_ms, 2),
        "drain_seconds": round(drained.seconds, 2) if drained else None,
        "drain_events_per_s": round(drained.processed / drained.seconds, 1) if drained and drained.seconds else None,
        "drain_timed_out": drained.timed_out if drained else None,
        "sent": sent,
        "stored": stored,
        "processed": processed,
        "processed_twice": processed_twice,
        "db": args.db,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "goals_met": goals,
        "non2xx": ours.non2xx - ours.extra,
        "socket_errors": ours.socket_errors,
        "bare_non2xx": bare.non2xx - bare.extra,
        "statuses": drained.statuses if drained else None,
        "events_attempted_more_than_once": drained.attempts_over_one if drained else None,
        "handler_retried_runs": (drained.handler_runs - drained.handler_completions) if drained else None,
        "orders_stored": drained.orders_stored if drained else None,
        "backorders_stored": drained.backorders_stored if drained else None,
        "drain_errors": drained.errors if drained else None,
        "fake_shopify_seconds": round(fake_timer.seconds, 2),
        "fake_shopify_calls": fake_timer.calls,
        "graphql_requested_points": requested,
        "graphql_actual_points": actual,
        "shopify_floor_seconds": {"standard_100pts": round(actual / 100 / max(1, args.shops), 1),
                                  "plus_1000pts": round(actual / 1000 / max(1, args.shops), 1)},
        "body_bytes_mean": round(statistics.fmean(sizes)),
        "ingest_seconds": round(ours.duration_s, 3),
        "bare_seconds": round(bare.duration_s, 3),
        "wrk_cpu_s": round(ours.wrk_cpu_s, 2),
        "bare_wrk_cpu_s": round(bare.wrk_cpu_s, 2),
        "server_cpu_s": round(ours.server_cpu_s, 2),
        "bare_server_cpu_s": round(bare.server_cpu_s, 2),
        "postgres_cpu_s": round(ours.postgres_cpu_s, 2) if ours.postgres_cpu_s is not None else None,
        "other_cpu_s": round(ours.other_cpu_s, 2),
        "bare_other_cpu_s": round(bare.other_cpu_s, 2),
        "drain_own_cpu_s": round(drained.own_cpu_s, 1) if drained else None,
        "drain_postgres_cpu_s": round(drained.postgres_cpu_s, 1) if drained and drained.postgres_cpu_s is not None else None,
        "drain_other_cpu_s": round(drained.other_cpu_s, 1) if drained else None,
        "gunicorn": {"workers": args.gunicorn_workers, "worker_class": args.worker_class, "threads": args.threads,
                     "keep_alive": args.keep_alive},
        "worker_cpu_split_s": ours.worker_cpu_split,
        "bare_worker_cpu_split_s": bare.worker_cpu_split,
        "extra_parked_requests": ours.extra + bare.extra,
        "wrk_threads": args.wrk_threads,
        "shops": args.shops,
        "variants_per_shop": args.variants,
        "drain_workers": args.drain_workers,
        "restore_rate": args.restore_rate,
        "db_facts": facts,
        "cpus": os.cpu_count(),
    }
    return report


def print_summary(r: dict, bare, ours, drained) -> None:
    ok = lambda flag: "ok" if flag else "MISSED"  # noqa: E731
    g = r["goals_met"]
    say("")
    say(f"=== webhook ingest: {r['requests']} orders/create webhooks (~{r['body_bytes_mean']} B), "
        f"concurrency {r['concurrency']}, {r['db']} ===")
    say(f"bare Flask endpoint : {r['bare_acks_per_s']:>9,.1f} acks/s   p50 {r['bare_p50_ms']:6.2f} ms   "
        f"p99 {r['bare_p99_ms']:6.2f} ms   ({r['bare_seconds']:.2f}s, server CPU {r['bare_server_cpu_s']:.1f}s "
        f"{r['bare_worker_cpu_split_s']}, wrk CPU {r['bare_wrk_cpu_s']:.2f}s)")
    pg = f", postgres CPU {r['postgres_cpu_s']:.1f}s" if r["postgres_cpu_s"] is not None else ""
    say(f"backorder desk      : {r['acks_per_s']:>9,.1f} acks/s   p50 {r['p50_ms']:6.2f} ms   "
        f"p99 {r['p99_ms']:6.2f} ms   ({r['ingest_seconds']:.2f}s, server CPU {r['server_cpu_s']:.1f}s "
        f"{r['worker_cpu_split_s']}, wrk CPU {r['wrk_cpu_s']:.2f}s{pg})")
    say(f"                      p99.9 {r['p999_ms']:.2f} ms, max {r['max_ms']:.2f} ms, non-2xx {r['non2xx']}, "
        f"socket errors {r['socket_errors']}")
    say(f"other processes     : {r['bare_other_cpu_s']:.1f} / {r['other_cpu_s']:.1f} CPU-s during the bare / our run "
        f"(not ours: other benchmarks or test suites on the machine make the figures noisy)")
    say(f"ratio ours/bare     : {r['ratio']:.3f}   (goal >= 0.5: {ok(g['ratio_ge_0_5'])})")
    say(f"p99 ack latency     : {r['p99_ms']:.2f} ms   (goal < 50 ms: {ok(g['p99_lt_50ms'])})")
    if drained:
        say(f"drain               : {r['drain_seconds']:.1f}s with {r['drain_workers']} worker thread(s) "
            f"({r['drain_events_per_s']} events/s{', TIMED OUT' if r['drain_timed_out'] else ''}); "
            f"{r['fake_shopify_seconds']:.1f}s of it (summed over threads) inside the in-process dev store, "
            f"{r['fake_shopify_calls']} GraphQL/OAuth calls")
        pg_drain = f", postgres {r['drain_postgres_cpu_s']} CPU-s" if r["drain_postgres_cpu_s"] is not None else ""
        say(f"                      CPU: this process {r['drain_own_cpu_s']} CPU-s{pg_drain}, "
            f"other processes {r['drain_other_cpu_s']} CPU-s")
        say(f"                      Shopify's rate limit alone would need >= {r['shopify_floor_seconds']['standard_100pts']}s "
            f"(Standard, 100 pts/s) or {r['shopify_floor_seconds']['plus_1000pts']}s (Plus, 1000 pts/s) per shop "
            f"for {r['graphql_actual_points']} points (actual cost; {r['graphql_requested_points']} requested)")
        say(f"counts              : sent {r['sent']}  stored {r['stored']}  processed {r['processed']}  "
            f"processed twice {r['processed_twice']}   (goals: {ok(g['stored_eq_processed_eq_sent'])}, "
            f"{ok(g['nothing_processed_twice'])})")
        say(f"                      statuses {r['statuses']}; events attempted more than once "
            f"{r['events_attempted_more_than_once']}; handler runs retried {r['handler_retried_runs']}; "
            f"orders {r['orders_stored']}, backorders {r['backorders_stored']}")
        if r["drain_errors"]:
            say(f"                      drain errors: {r['drain_errors']}")
    else:
        say(f"counts              : sent {r['sent']}  stored {r['stored']}  (drain skipped)")
    say(f"all goals met       : {'yes' if g['all'] else 'no'}")


if __name__ == "__main__":
    sys.exit(main())
