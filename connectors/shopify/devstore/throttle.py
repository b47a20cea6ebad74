"""Shopify's leaky bucket for the Admin GraphQL API, one per (shop, app).

Shopify deducts a query's *requested* cost before running it, refuses the query (THROTTLED,
nothing executed) when the bucket holds less than that, and refunds the difference between the
requested and the *actual* cost afterwards. The bucket refills continuously at `restore_rate`
points per second up to `maximum`. Time comes from an injected clock so tests can move it.
"""
from __future__ import annotations

from collections.abc import Callable


class LeakyBucket:
    def __init__(self, maximum: float, restore_rate: float, clock: Callable[[], float]):
        self.maximum = float(maximum)
        self.restore_rate = float(restore_rate)
        self._clock = clock
        self._level = float(maximum)
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._at)
        self._level = min(self.maximum, self._level + elapsed * self.restore_rate)
        self._at = now

    def available(self) -> float:
        self._refill()
        return self._level

    def try_take(self, cost: float) -> bool:
        """Take `cost` points if the bucket holds them; False (and nothing taken) otherwise."""
        self._refill()
        if cost > self._level:
            return False
        self._level -= cost
        return True

    def refund(self, points: float) -> None:
        self._refill()
        self._level = min(self.maximum, self._level + max(0.0, points))

    def status(self) -> dict:
        """The `throttleStatus` object Shopify puts in every answer's `extensions.cost`."""
        return {
            "maximumAvailable": self.maximum,
            # Shopify reports whole points here (it only ever deducts integers).
            "currentlyAvailable": int(self.available()),
            "restoreRate": self.restore_rate,
        }
