"""Drain the inbox with InboxWorker threads, counting how often each handler really ran.

"Processed twice" is measured at the handler, not inferred from the inbox: every topic handler is
wrapped (through InboxWorker's `routes=` parameter, no patching), and each *successful* return is
counted per event and per order. A handler that completes twice for one event (a lease taken over
while the first run was still going, two workers claiming one row) or for one order (the same
order stored as two inbox rows) shows up as a count above one, whatever the inbox's status and
attempts columns say. Failed runs that were retried are counted separately: they are retries, not
double processing, but they repeat platform calls and are worth knowing about.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select

from bench.support.servers import busy_cpu_seconds
from plugin.db.models import Backorder, Order, WebhookEvent
from webhooks.topics import TopicRoute, routes
from webhooks.worker import InboxWorker

NOT_FINAL = ("pending", "processing", "failed")


class HandlerCounter:
    def __init__(self):
        self.lock = threading.Lock()
        self.runs: Counter = Counter()          # event id -> handler calls
        self.completed: Counter = Counter()     # event id -> successful returns
        self.orders: Counter = Counter()        # (shop, order id) -> successful returns

    def wrap(self, handler):
        def counted(runtime, event):
            with self.lock:
                self.runs[event.id] += 1
            handler(runtime, event)
            order_id = event.payload.get("id") if isinstance(event.payload, dict) else None
            with self.lock:
                self.completed[event.id] += 1
                self.orders[(event.shop_domain, order_id)] += 1

        counted.__name__ = getattr(handler, "__name__", "handler")
        return counted

    def routes(self) -> dict:
        return {key: TopicRoute(self.wrap(route.handler), allow_uninstalled=route.allow_uninstalled)
                for key, route in routes().items()}

    @property
    def events_completed_twice(self) -> int:
        return sum(1 for n in self.completed.values() if n > 1)

    @property
    def orders_completed_twice(self) -> int:
        return sum(1 for n in self.orders.values() if n > 1)

    @property
    def retried_runs(self) -> int:
        return sum(self.runs.values()) - sum(self.completed.values())


@dataclass
class DrainResult:
    seconds: float
    timed_out: bool
    workers: int
    statuses: dict[str, int]
    attempts_over_one: int
    handler_runs: int
    handler_completions: int
    events_completed_twice: int
    orders_completed_twice: int
    orders_stored: int
    backorders_stored: int
    errors: list[str] = field(default_factory=list)
    own_cpu_s: float = 0.0              # this process: worker threads and the in-process dev store
    postgres_cpu_s: float | None = None
    other_cpu_s: float = 0.0            # everything else on the machine meanwhile

    @property
    def processed(self) -> int:
        return self.statuses.get("done", 0)

    @property
    def processed_twice(self) -> int:
        return max(self.events_completed_twice, self.orders_completed_twice)


def _not_final(runtime) -> int:
    with runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.status.in_(NOT_FINAL)))


def drain(runtime, *, workers: int = 2, timeout: float = 1800.0, batch_size: int = 20,
          postgres_cpu=None) -> DrainResult:
    """Run `workers` InboxWorker threads until nothing is left to do or `timeout` passes."""
    counter = HandlerCounter()
    wrapped = counter.routes()
    deadline = time.monotonic() + timeout
    stop = threading.Event()
    errors: list[str] = []

    def loop(index: int) -> None:
        worker = InboxWorker(runtime, name=f"bench-worker-{index}", batch_size=batch_size, routes=wrapped)
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                if worker.run_once():
                    continue
                # Nothing due: finished, or only retries waiting for their backoff (bounded by deadline).
                if _not_final(runtime) == 0:
                    return
                stop.wait(0.2)
        except Exception as exc:  # reported, and the other worker carries on
            errors.append(f"worker {index}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=loop, args=(n,), name=f"bench-drain-{n}", daemon=True) for n in range(workers)]
    busy0, own0 = busy_cpu_seconds(), time.process_time()
    pg0 = postgres_cpu() if postgres_cpu else None
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()) + 30)
    seconds = time.monotonic() - started
    own_cpu = time.process_time() - own0
    pg_cpu = (postgres_cpu() - pg0) if postgres_cpu and pg0 is not None else None
    other_cpu = max(0.0, busy_cpu_seconds() - busy0 - own_cpu - (pg_cpu or 0.0))
    stop.set()
    timed_out = any(t.is_alive() for t in threads) or _not_final(runtime) > 0

    with runtime.db.session() as session:
        statuses = dict(session.execute(
            select(WebhookEvent.status, func.count()).group_by(WebhookEvent.status)).all())
        attempts_over_one = session.scalar(
            select(func.count()).select_from(WebhookEvent).where(WebhookEvent.attempts > 1))
        orders_stored = session.scalar(select(func.count()).select_from(Order))
        backorders_stored = session.scalar(select(func.count()).select_from(Backorder))
    return DrainResult(
        seconds=seconds, timed_out=timed_out, workers=workers, statuses=statuses,
        attempts_over_one=attempts_over_one, handler_runs=sum(counter.runs.values()),
        handler_completions=sum(counter.completed.values()),
        events_completed_twice=counter.events_completed_twice,
        orders_completed_twice=counter.orders_completed_twice,
        orders_stored=orders_stored, backorders_stored=backorders_stored, errors=errors,
        own_cpu_s=own_cpu, postgres_cpu_s=pg_cpu, other_cpu_s=other_cpu,
    )


def count_stored(runtime) -> int:
    with runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(WebhookEvent))
