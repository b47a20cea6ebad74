"""Client-side model of Shopify's leaky bucket, fed by every answer's extensions.cost.throttleStatus.

Before a call we wait until the bucket (as last reported, plus what it restored since) holds the
points the call is expected to cost, so the app never overdraws it and THROTTLED stays rare.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field


SAFETY_SECONDS = 0.02


@dataclass
class BucketModel:
    # Shopify's Standard plan until the first answer tells us the shop's real bucket.
    maximum: float = 2000.0
    restore_rate: float = 100.0
    available: float = 2000.0
    # None until the first reading: the model may be driven by any clock, so it invents no time.
    observed_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Last requested cost seen per operation: the best estimate of what the next call will cost.
    expected_cost: dict[str, float] = field(default_factory=dict)

    def available_at(self, now: float) -> float:
        if self.observed_at is None:
            return self.available
        return min(self.maximum, self.available + max(0.0, now - self.observed_at) * self.restore_rate)

    def reserve(self, operation: str, now: float, default_cost: float = 50.0) -> float:
        """Take the expected cost out of the model; returns seconds to wait before sending."""
        with self.lock:
            cost = min(self.expected_cost.get(operation, default_cost), self.maximum)
            level = self.available_at(now)
            # A hair more than the exact refill time: the server's float arithmetic must not come up
            # 0.0001 points short and answer THROTTLED.
            wait = 0.0 if level >= cost else (cost - level) / self.restore_rate + SAFETY_SECONDS
            # Book the points now so concurrent callers in this process queue behind each other.
            self.available = level - cost
            self.observed_at = now
            return wait

    def observe(self, operation: str, cost: dict | None, now: float) -> None:
        if not cost:
            return
        status = cost.get("throttleStatus") or {}
        with self.lock:
            if cost.get("requestedQueryCost") is not None:
                self.expected_cost[operation] = float(cost["requestedQueryCost"])
            if status:
                self.maximum = float(status.get("maximumAvailable", self.maximum))
                self.restore_rate = float(status.get("restoreRate", self.restore_rate)) or self.restore_rate
                self.available = float(status.get("currentlyAvailable", self.available))
                self.observed_at = now

    def seconds_until(self, points: float, now: float) -> float:
        with self.lock:
            level = self.available_at(now)
            return 0.0 if level >= points else (points - level) / self.restore_rate + SAFETY_SECONDS
