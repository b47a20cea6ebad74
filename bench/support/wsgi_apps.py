"""The two WSGI apps the ingest benchmark serves with identical gunicorn settings.

    gunicorn ... 'bench.support.wsgi_apps:backorder_app()'   the real app (verify -> inbox -> 200)
    gunicorn ... 'bench.support.wsgi_apps:bare_app()'        Flask that reads the body and says 200

Both read their settings from the environment exactly as plugin.wsgi does (DATABASE_URL,
SHOPIFY_API_SECRET, ...), with WORKER_THREADS forced to 0: no in-process inbox worker competes with
the requests while the benchmark measures ingest; the benchmark drains the inbox afterwards.
"""
from __future__ import annotations

import os

from flask import Flask, jsonify, request

from bench.support.profiling import maybe_profiled
from plugin.config import load_settings
from plugin.heap import settle_startup_heap


def _warm_pool(runtime) -> None:
    """Open as many database connections as there are request threads, once, before serving.

    A long-running web process has a warm pool; without this, the first requests of the measured
    run would pay connection set-up (PostgreSQL forks a backend per connection) and skew p99.
    """
    threads = max(1, int(os.environ.get("BENCH_THREADS", "1")))
    conns = [runtime.db.engine.connect() for _ in range(threads)]
    try:
        for conn in conns:
            conn.exec_driver_sql("SELECT 1")
            conn.rollback()
    finally:
        for conn in conns:
            conn.close()


def backorder_app():
    from plugin.app import create_app
    from plugin.runtime import build_runtime

    runtime = build_runtime(load_settings(worker_threads=0))
    runtime.connector("shopify")  # built lazily on the first webhook otherwise
    _warm_pool(runtime)
    app = create_app(runtime)
    settle_startup_heap()  # as plugin/wsgi.py does
    return maybe_profiled(app)


def bare_app():
    """Flask with the same settings-derived config, one route, no signature check, no database.

    It reads the body the way the real endpoint does (HTTP keep-alive needs the body consumed
    anyway) and answers the same small JSON, so the difference between the two runs is exactly
    verify + store.
    """
    settings = load_settings(worker_threads=0)
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key or "bench",
        MAX_CONTENT_LENGTH=settings.webhook_max_bytes + 1024,
        JSON_SORT_KEYS=False,
    )
    limit = settings.webhook_max_bytes

    @app.post("/webhooks/<platform>")
    def receive(platform: str):
        request.stream.read(limit + 1)
        return jsonify(ok=True, duplicate=False), 200

    settle_startup_heap()  # the same treatment as ours, so the runs differ only by verify + store
    return maybe_profiled(app)
