"""The inbox worker on SQLite and PostgreSQL: outcomes, retries, leases, concurrency, crashes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from connectors.base import ConnectorError, WebhookEnvelope
from plugin.background import start_background
from plugin.db.models import Shop, WebhookEvent
from plugin.runtime import build_runtime
from tests.support import kill_worker
from webhooks.inbox import store_event
from webhooks.topics import TopicRoute
from webhooks.worker import InboxWorker

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHOP = "alpha.myshopify.com"
ORDERS_CREATE = ("shopify", "orders/create")


@pytest.fixture
def runtime(database_url, settings_factory):
    """No platform traffic here, so none of conftest's fake Shopify wiring."""
    rt = build_runtime(settings_factory(database_url))
    yield rt
    rt.close()


class FakeClock:
    def __init__(self):
        # A little ahead of the real clock: events stored "now" are already due.
        self.now = datetime.now(timezone.utc) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Recorder:
    """A handler that remembers the events it saw (thread-safe) and can be told to fail."""

    def __init__(self, error: Exception | None = None):
        self.events = []
        self.error = error
        self._lock = threading.Lock()

    def __call__(self, runtime, event) -> None:
        with self._lock:
            self.events.append(event)
        if self.error is not None:
            raise self.error


def add_shop(runtime, domain: str = SHOP, status: str = "installed") -> int:
    with runtime.db.session() as session:
        shop = Shop(platform="shopify", domain=domain, status=status)
        session.add(shop)
        session.flush()
        return shop.id


_keys = iter(range(10**9))


def add_event(runtime, topic: str = "orders/create", domain: str | None = SHOP, body: bytes | None = None) -> int:
    key = f"evt-{next(_keys)}"
    body = json.dumps({"id": key, "line_items": []}).encode() if body is None else body
    # store_event's True/False is not relied on: only the row matters to the worker.
    store_event(runtime.db, "shopify", WebhookEnvelope(topic, domain, key),
                {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": "sig"}, body)
    with runtime.db.session() as session:
        event_id = session.query(WebhookEvent.id).filter_by(dedupe_key=key).scalar()
    assert event_id is not None
    return event_id


def row(runtime, event_id: int) -> WebhookEvent:
    with runtime.db.session() as session:
        return session.get(WebhookEvent, event_id)


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


# -- outcomes ------------------------------------------------------------------------------------


def test_pending_event_runs_its_handler_and_is_done(runtime):
    shop_id = add_shop(runtime)
    event_id = add_event(runtime, body=b'{"id": 42, "line_items": [{"id": 1}]}')
    handler = Recorder()
    worker = InboxWorker(runtime, name="w1", routes={ORDERS_CREATE: TopicRoute(handler)})

    assert worker.run_once() == 1

    [event] = handler.events
    assert (event.id, event.platform, event.topic, event.shop_id, event.shop_domain) == (
        event_id, "shopify", "orders/create", shop_id, SHOP)
    assert event.payload == {"id": 42, "line_items": [{"id": 1}]}
    assert event.headers == {"x-shopify-topic": "orders/create"}  # the signature is never kept
    stored = row(runtime, event_id)
    assert (stored.status, stored.attempts, stored.locked_by, stored.shop_id, stored.reason) == (
        "done", 1, "w1", shop_id, None)
    assert stored.processed_at is not None and stored.locked_until is None
    assert worker.run_once() == 0  # done is final


def test_handler_failure_backs_off_then_goes_dead(runtime):
    add_shop(runtime)
    event_id = add_event(runtime)
    clock = FakeClock()
    handler = Recorder(RuntimeError("store refused access_token=shpat_0123456789abcdef"))
    worker = InboxWorker(runtime, name="w1", max_attempts=3, backoff_base=2.0, clock=clock,
                         routes={ORDERS_CREATE: TopicRoute(handler)})

    for attempt in (1, 2):
        assert worker.run_once() == 1
        stored = row(runtime, event_id)
        assert (stored.status, stored.attempts) == ("failed", attempt)
        assert "RuntimeError: store refused" in stored.reason
        assert "shpat_0123456789abcdef" not in stored.reason  # secrets never reach the inbox
        delay = (stored.next_attempt_at - clock.now).total_seconds()
        assert 0.75 * 2 ** attempt <= delay <= 2 ** attempt  # exponential, jitter only shortens
        assert worker.run_once() == 0  # not due before its time
        clock.now = stored.next_attempt_at

    assert worker.run_once() == 1
    stored = row(runtime, event_id)
    assert (stored.status, stored.attempts) == ("dead", 3)
    assert "store refused" in stored.reason and stored.processed_at is not None
    clock.advance(10**6)
    assert worker.run_once() == 0  # dead is final
    assert len(handler.events) == 3


@pytest.mark.parametrize("retryable, expected", [(False, "dead"), (True, "failed")])
def test_connector_error_retryable_flag_decides(runtime, retryable, expected):
    add_shop(runtime)
    event_id = add_event(runtime)
    worker = InboxWorker(runtime, name="w1", routes={
        ORDERS_CREATE: TopicRoute(Recorder(ConnectorError("shop plan does not allow this", retryable=retryable)))})

    assert worker.run_once() == 1

    stored = row(runtime, event_id)
    assert (stored.status, stored.attempts) == (expected, 1)
    assert stored.reason == "ConnectorError: shop plan does not allow this"


def test_backoff_is_capped_and_jitter_only_shortens():
    worker = InboxWorker(None, backoff_base=10, backoff_cap=50, jitter=0)
    assert [worker.backoff_seconds(n) for n in (1, 2, 3, 5000)] == [10, 50, 50, 50]
    jittery = InboxWorker(None, backoff_base=2, backoff_cap=3600, jitter=0.25)
    delays = [jittery.backoff_seconds(4) for _ in range(200)]
    assert all(12 <= d <= 16 for d in delays) and len(set(delays)) > 1


def test_unparsable_body_is_rejected_for_good(runtime):
    add_shop(runtime)
    event_id = add_event(runtime, body=b'{"id": 1, "line_items": [')
    handler = Recorder()
    clock = FakeClock()
    worker = InboxWorker(runtime, name="w1", clock=clock, routes={ORDERS_CREATE: TopicRoute(handler)})

    assert worker.run_once() == 1

    stored = row(runtime, event_id)
    assert stored.status == "rejected" and stored.reason.startswith("unparsable JSON body")
    assert stored.processed_at is not None and handler.events == []
    clock.advance(10**6)
    assert worker.run_once() == 0


def test_unknown_topic_is_ignored(runtime):
    add_shop(runtime)
    event_id = add_event(runtime, topic="products/update")
    handler = Recorder()
    worker = InboxWorker(runtime, name="w1", routes={ORDERS_CREATE: TopicRoute(handler)})

    assert worker.run_once() == 1

    stored = row(runtime, event_id)
    assert stored.status == "ignored" and "products/update" in stored.reason
    assert handler.events == []


def test_unknown_shop_is_ignored(runtime):
    add_shop(runtime, domain="someone-else.myshopify.com")
    event_id = add_event(runtime, domain=SHOP)
    handler = Recorder()
    worker = InboxWorker(runtime, name="w1", routes={ORDERS_CREATE: TopicRoute(handler)})

    assert worker.run_once() == 1

    stored = row(runtime, event_id)
    assert (stored.status, stored.shop_id) == ("ignored", None)
    assert SHOP in stored.reason and handler.events == []


def test_uninstalled_shop_runs_only_routes_that_allow_it(runtime):
    shop_id = add_shop(runtime, status="uninstalled")
    order_event = add_event(runtime, topic="orders/create")
    redact_event = add_event(runtime, topic="shop/redact")
    on_order, on_redact = Recorder(), Recorder()
    worker = InboxWorker(runtime, name="w1", routes={
        ORDERS_CREATE: TopicRoute(on_order),
        ("shopify", "shop/redact"): TopicRoute(on_redact, allow_uninstalled=True),
    })

    assert worker.run_once() == 2

    ignored = row(runtime, order_event)
    assert (ignored.status, ignored.reason, ignored.shop_id) == ("ignored", "shop is uninstalled", shop_id)
    assert on_order.events == []
    assert row(runtime, redact_event).status == "done"
    assert [e.shop_id for e in on_redact.events] == [shop_id]


# -- leases --------------------------------------------------------------------------------------


@pytest.mark.parametrize("slow_outcome", ["returns", "raises"])
def test_stolen_lease_is_not_overwritten_by_the_slow_worker(runtime, slow_outcome):
    add_shop(runtime)
    event_id = add_event(runtime)
    clock = FakeClock()
    fast_handler = Recorder()
    thief = InboxWorker(runtime, name="thief", lease_seconds=60, clock=clock,
                        routes={ORDERS_CREATE: TopicRoute(fast_handler)})

    taken_over_at = []

    def slow_handler(rt, event):
        clock.advance(61)  # the slow worker's lease runs out while it is still busy...
        assert thief.run_once() == 1  # ...and another worker takes the event over and finishes it
        taken_over_at.append(clock.now)
        clock.advance(5)  # the slow worker finishes later still
        if slow_outcome == "raises":
            raise RuntimeError("too late anyway")

    slow = InboxWorker(runtime, name="slow", lease_seconds=60, clock=clock,
                       routes={ORDERS_CREATE: TopicRoute(slow_handler)})
    assert slow.run_once() == 1

    stored = row(runtime, event_id)
    assert (stored.status, stored.locked_by, stored.attempts, stored.reason) == ("done", "thief", 2, None)
    assert stored.processed_at == taken_over_at[0]  # the thief's outcome, not rewritten by the slow worker
    assert [e.id for e in fast_handler.events] == [event_id]


def test_live_lease_is_respected_and_endless_crashes_end_dead(runtime):
    add_shop(runtime)
    event_id = add_event(runtime)
    clock = FakeClock()
    with runtime.db.session() as session:  # as if 3 workers in a row died holding this event
        session.query(WebhookEvent).filter_by(id=event_id).update(dict(
            status="processing", attempts=3, locked_by="dead-worker", locked_until=clock.now + timedelta(seconds=30)))
    handler = Recorder()
    worker = InboxWorker(runtime, name="w1", max_attempts=3, clock=clock, routes={ORDERS_CREATE: TopicRoute(handler)})

    assert worker.run_once() == 0  # the lease has not expired yet
    clock.advance(31)
    assert worker.run_once() == 1

    stored = row(runtime, event_id)
    assert (stored.status, stored.attempts) == ("dead", 4)
    assert "lease expired" in stored.reason and handler.events == []


def test_stopping_mid_batch_hands_unstarted_events_back(runtime):
    add_shop(runtime)
    ids = [add_event(runtime) for _ in range(3)]
    stop = threading.Event()
    worker = InboxWorker(runtime, name="w1", routes={ORDERS_CREATE: TopicRoute(lambda rt, ev: stop.set())})
    worker._stop = stop  # as run_forever(stop) does

    assert worker.run_once() == 1

    states = [(r.status, r.attempts, r.locked_by) for r in map(lambda i: row(runtime, i), ids)]
    assert states == [("done", 1, "w1"), ("pending", 0, None), ("pending", 0, None)]


# -- concurrency and crashes ----------------------------------------------------------------------


def test_concurrent_workers_never_process_an_event_twice(runtime):
    add_shop(runtime)
    ids = [add_event(runtime) for _ in range(120)]
    seen: Counter = Counter()
    by_worker: Counter = Counter()
    lock = threading.Lock()

    def handler(rt, event):
        with lock:
            seen[event.id] += 1
            by_worker[threading.current_thread().name] += 1
        time.sleep(0.001)  # give the others a chance to race for the same rows

    workers = [InboxWorker(runtime, name=f"w{i}", batch_size=5, routes={ORDERS_CREATE: TopicRoute(handler)})
               for i in range(4)]
    barrier = threading.Barrier(len(workers))

    def drain(worker):
        barrier.wait()
        while worker.run_once():
            pass

    threads = [threading.Thread(target=drain, args=(w,), name=w.name) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert seen == Counter({i: 1 for i in ids})
    assert len(by_worker) >= 2  # the workers really did run side by side
    with runtime.db.session() as session:
        statuses = Counter(s for (s,) in session.query(WebhookEvent.status))
    assert statuses == Counter({"done": len(ids)})


@pytest.fixture
def effects(runtime):
    kill_worker.EFFECTS.create(runtime.db.engine, checkfirst=True)
    with runtime.db.engine.begin() as conn:  # PostgreSQL keeps the table between tests
        conn.execute(kill_worker.EFFECTS.delete())
    yield kill_worker.EFFECTS
    kill_worker.EFFECTS.drop(runtime.db.engine)


@pytest.mark.slow
@pytest.mark.parametrize("kill_point", ["before_effect", "after_effect"])
def test_killed_worker_event_is_processed_again_with_one_effect(runtime, database_url, effects, tmp_path, kill_point):
    add_shop(runtime)
    event_id = add_event(runtime)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    log = open(tmp_path / "worker.log", "wb")
    proc = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "tests/support/kill_worker.py"),
                             database_url, str(tmp_path), kill_point],
                            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        blocked = wait_for(lambda: (tmp_path / "blocked").exists() or proc.poll() is not None, timeout=20)
        assert blocked and proc.poll() is None, (tmp_path / "worker.log").read_text()
        os.kill(proc.pid, signal.SIGKILL)  # between claim and the worker's final commit
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()

    stored = row(runtime, event_id)
    assert (stored.status, stored.locked_by, stored.attempts) == ("processing", kill_worker.DOOMED_WORKER, 1)
    expected_before = [kill_worker.DOOMED_WORKER] if kill_point == "after_effect" else []
    assert kill_worker.effects_of(runtime, event_id) == expected_before

    def handler(rt, event):
        kill_worker.apply_effect(rt, event.id, "fresh-worker")

    routes = {kill_worker.TOPIC: TopicRoute(handler)}
    assert InboxWorker(runtime, name="fresh-worker", routes=routes).run_once() == 0  # lease still live
    later = lambda: datetime.now(timezone.utc) + timedelta(minutes=3)  # noqa: E731 - past the 120 s lease
    assert InboxWorker(runtime, name="fresh-worker", routes=routes, clock=later).run_once() == 1

    stored = row(runtime, event_id)
    assert (stored.status, stored.locked_by, stored.attempts) == ("done", "fresh-worker", 2)
    assert kill_worker.effects_of(runtime, event_id) == (expected_before or ["fresh-worker"])
    assert kill_worker.count_effects(runtime) == 1


# -- running in the background ----------------------------------------------------------------------


def test_background_workers_wake_on_demand_and_stop_cleanly(runtime):
    add_shop(runtime)
    handler = Recorder()
    first = add_event(runtime)
    # A long poll interval: only wake_worker can explain a prompt pickup of the second event.
    bg = start_background(runtime, worker_threads=2, scheduler=False, poll_interval=30,
                          routes={ORDERS_CREATE: TopicRoute(handler)})
    try:
        assert wait_for(lambda: row(runtime, first).status == "done")
        second = add_event(runtime)
        runtime.extras["wake_worker"]()
        assert wait_for(lambda: row(runtime, second).status == "done", timeout=3)
    finally:
        assert bg.stop(timeout=5)
    assert "wake_worker" not in runtime.extras
    assert not any(t.is_alive() for t in bg.threads)
    assert sorted(e.id for e in handler.events) == [first, second]
