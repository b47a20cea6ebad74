"""The inbox worker: claim due webhook events, run their topic handler, record the outcome.

Delivery is at-least-once. A claim is a lease (locked_by + locked_until); a worker killed mid-event
leaves a lease that expires, and the event is claimed again. Handlers are therefore idempotent
(webhooks/topics.py), and the worker only records an outcome while it still holds the lease, so a
slow worker cannot overwrite the result of the worker that took its expired event over.
"""
from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping

from sqlalchemy import and_, or_, select, update

from plugin.db.models import Shop, WebhookEvent
from plugin.logs import scrub
from webhooks.topics import InboxEvent, TopicRoute

log = logging.getLogger(__name__)

_events = WebhookEvent.__table__
# Enough of an error to act on; the rest belongs in the logs.
REASON_MAX_CHARS = 2000


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def default_worker_name() -> str:
    # The random tail keeps names unique across restarts: in containers every process may be pid 1.
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"[-100:]


@dataclass(frozen=True)
class Claim:
    """One lease. `attempts` (after this claim's increment) tells our lease from a later one."""

    id: int
    attempts: int


@dataclass(frozen=True)
class _Final:
    status: str  # rejected | ignored | dead
    reason: str


class InboxWorker:
    def __init__(self, runtime, *, name: str | None = None, batch_size: int = 20, lease_seconds: float = 120,
                 max_attempts: int = 8, backoff_base: float = 2.0, backoff_cap: float = 3600,
                 routes: Mapping[tuple[str, str], TopicRoute] | None = None,
                 clock: Callable[[], datetime] = utcnow, jitter: float = 0.25, rng: random.Random | None = None):
        self.runtime = runtime
        self.name = (name or default_worker_name())[-100:]  # the tail is the unique part
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        # Spread retries of events that failed together (a platform outage) so they do not return in
        # lockstep: each delay is shortened by up to this fraction.
        self.jitter = jitter
        self.clock = clock
        self._routes = routes
        self._random = rng or random.Random()
        self._wake = threading.Event()
        self._stop: threading.Event | None = None

    # -- public -------------------------------------------------------------------------------

    def wake(self) -> None:
        """Ask a worker idling in run_forever to poll now (a webhook was just stored)."""
        self._wake.set()

    def run_once(self) -> int:
        """Claim up to batch_size due events and process them one by one. Returns how many ran."""
        claims = self._claim()
        done = 0
        for index, claim in enumerate(claims):
            if self._stop is not None and self._stop.is_set():
                # Shutting down: hand the untouched rest back now rather than after the lease expires.
                self._release(claims[index:])
                break
            try:
                self._process(claim)
            except Exception:
                # A worker-side failure (database gone, a bug): the lease expires and the event is
                # claimed again; the attempts cap in _triage stops an event that always crashes us.
                log.exception("inbox event could not be processed",
                              extra={"worker": self.name, "event_id": claim.id, "attempt": claim.attempts})
            done += 1
        return done

    def run_forever(self, stop: threading.Event, poll_interval: float = 0.5) -> None:
        """Poll until `stop` is set; wake() cuts the wait short. Stopping also needs a wake() to be instant."""
        self._stop = stop
        errors_in_a_row = 0
        log.info("inbox worker started", extra={"worker": self.name})
        while not stop.is_set():
            self._wake.clear()  # before polling, so a wake during run_once is not lost
            try:
                processed = self.run_once()
                errors_in_a_row = 0
            except Exception:
                errors_in_a_row += 1
                log.exception("inbox poll failed", extra={"worker": self.name, "errors_in_a_row": errors_in_a_row})
                # The database is likely down: back off instead of spinning, but keep the thread alive.
                stop.wait(min(30.0, poll_interval * 2 ** min(errors_in_a_row, 10)))
                continue
            if processed == 0:
                self._wake.wait(poll_interval)
        log.info("inbox worker stopped", extra={"worker": self.name})

    def backoff_seconds(self, attempts: int) -> float:
        """Delay before retry number attempts+1: exponential, capped, shortened by jitter."""
        delay = min(self.backoff_cap, self.backoff_base ** min(attempts, 64))
        return delay * (1 - self.jitter * self._random.random())

    @property
    def routes(self) -> Mapping[tuple[str, str], TopicRoute]:
        if self._routes is None:
            from webhooks.topics import routes

            self._routes = routes()
        return self._routes

    # -- claiming ------------------------------------------------------------------------------

    def _claim(self) -> list[Claim]:
        now = self.clock()
        c = _events.c
        due = or_(
            and_(c.status.in_(("pending", "failed")), c.next_attempt_at <= now),
            # A lease that ran out: its worker died or hung; the event is fair game again.
            and_(c.status == "processing", c.locked_until < now),
        )
        pick = select(c.id).where(due).order_by(c.id).limit(self.batch_size)
        if not self.runtime.db.is_sqlite:
            # Concurrent workers skip each other's rows instead of queueing on them. SQLite has no
            # row locks; BEGIN IMMEDIATE (plugin/db) makes the whole statement a single writer.
            pick = pick.with_for_update(skip_locked=True)
        stmt = (
            update(_events)
            .where(c.id.in_(pick.scalar_subquery()))
            .values(status="processing", locked_by=self.name, locked_until=now + self.lease,
                    attempts=c.attempts + 1)
            .returning(c.id, c.attempts)
        )
        with self.runtime.db.session() as session:
            rows = session.execute(stmt).all()
        return sorted((Claim(row.id, row.attempts) for row in rows), key=lambda claim: claim.id)

    def _owned(self, claim: Claim):
        c = _events.c
        return and_(c.id == claim.id, c.status == "processing", c.locked_by == self.name,
                    c.attempts == claim.attempts)

    def _finish(self, claim: Claim, **values: Any) -> bool:
        """Write an outcome if the lease is still ours. False: another worker owns the event now."""
        with self.runtime.db.session() as session:
            result = session.execute(update(_events).where(self._owned(claim)).values(locked_until=None, **values))
            return result.rowcount == 1

    def _release(self, claims: list[Claim]) -> None:
        with self.runtime.db.session() as session:
            for claim in claims:
                session.execute(update(_events).where(self._owned(claim)).values(
                    status="pending", locked_by=None, locked_until=None, attempts=_events.c.attempts - 1))
        log.info("inbox events released on shutdown", extra={"worker": self.name, "count": len(claims)})

    # -- processing ----------------------------------------------------------------------------

    def _process(self, claim: Claim) -> None:
        extra = {"worker": self.name, "event_id": claim.id, "attempt": claim.attempts}
        with self.runtime.db.session() as session:
            row = session.execute(select(_events).where(self._owned(claim))).mappings().first()
            if row is None:
                log.warning("inbox lease lost before processing", extra=extra)
                return
            shop = None
            if row["shop_domain"]:
                shop = session.execute(
                    select(Shop.id, Shop.status).where(Shop.platform == row["platform"], Shop.domain == row["shop_domain"])
                ).first()
            if shop is not None and row["shop_id"] != shop.id:
                session.execute(update(_events).where(self._owned(claim)).values(shop_id=shop.id))
        extra.update(platform=row["platform"], topic=row["topic"], shop_id=shop.id if shop else None)

        outcome = self._triage(claim, row, shop)
        if isinstance(outcome, _Final):
            if self._finish(claim, status=outcome.status, reason=outcome.reason, processed_at=self.clock()):
                level = logging.ERROR if outcome.status == "dead" else logging.INFO
                log.log(level, f"inbox event {outcome.status}", extra={**extra, "reason": outcome.reason})
            return

        route, event = outcome
        started = time.monotonic()
        try:
            route.handler(self.runtime, event)
        except Exception as exc:
            self._record_failure(claim, exc, extra)
            return
        extra["duration_ms"] = round((time.monotonic() - started) * 1000)
        if self._finish(claim, status="done", reason=None, processed_at=self.clock()):
            log.info("inbox event done", extra=extra)
        else:
            # Our lease expired mid-handler and another worker took the event; its outcome stands.
            log.warning("inbox lease lost; outcome left to the new owner", extra=extra)

    def _triage(self, claim: Claim, row, shop) -> _Final | tuple[TopicRoute, InboxEvent]:
        if claim.attempts > self.max_attempts:
            # Handler failures go dead at max_attempts, so only leases that expired every time get here:
            # an event that kills or hangs its worker must not be retried forever.
            return _Final("dead", f"gave up after {claim.attempts - 1} attempts (lease expired each time)")
        try:
            payload = json.loads(row["body"])
        except ValueError as exc:
            return _Final("rejected", f"unparsable JSON body: {exc}")
        route = self.routes.get((row["platform"], row["topic"]))
        if route is None:
            return _Final("ignored", f"no handler for {row['platform']} topic {row['topic']!r}")
        if shop is None:
            return _Final("ignored", f"unknown shop {row['shop_domain']!r}")
        if shop.status != "installed" and not route.allow_uninstalled:
            return _Final("ignored", f"shop is {shop.status}")
        event = InboxEvent(id=row["id"], platform=row["platform"], topic=row["topic"], shop_id=shop.id,
                           shop_domain=row["shop_domain"], headers=dict(row["headers"] or {}), payload=payload,
                           received_at=row["received_at"])
        return route, event

    def _record_failure(self, claim: Claim, exc: Exception, extra: dict) -> None:
        reason = scrub(f"{type(exc).__name__}: {exc}")[:REASON_MAX_CHARS]
        now = self.clock()
        # Errors that say retrying cannot help (a userError, a payload we cannot read) go dead at once.
        permanent = getattr(exc, "retryable", True) is False
        if permanent or claim.attempts >= self.max_attempts:
            if self._finish(claim, status="dead", reason=reason, processed_at=now):
                log.error("inbox event dead", exc_info=exc, extra={**extra, "reason": reason, "permanent": permanent})
            return
        delay = self.backoff_seconds(claim.attempts)
        if self._finish(claim, status="failed", reason=reason, next_attempt_at=now + timedelta(seconds=delay)):
            log.warning("inbox event failed; will retry", exc_info=exc,
                        extra={**extra, "reason": reason, "retry_in_s": round(delay, 1)})
