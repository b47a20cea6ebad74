"""Which open order lines are backordered, and by how much. Pure Python: no I/O, no frameworks.

The platform's "available" quantity already has every open order subtracted, so when it is
negative the shop has sold that many units it does not have. Stock goes to whoever ordered first;
the shortfall therefore falls on the newest lines. Recomputing the whole variant each time (rather
than adding up per-order guesses) is what keeps several orders for one variant from being counted
twice, and lets an earlier guess be corrected when an order we had not seen yet arrives.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Hashable, Iterable


@dataclass(frozen=True)
class Demand:
    """An open (not yet fulfilled) order line for one variant."""

    key: Hashable
    ordered_at: datetime
    quantity: int
    # Breaks ties between orders placed in the same second: the platform's own order and line
    # numbers, which grow with time (our row ids follow processing order, not placing order).
    sequence: tuple = ()


def allocate_shortfall(available: int, demands: Iterable[Demand]) -> dict[Hashable, int]:
    """Units backordered per line, newest lines first, never more than a line's quantity.

    `available` is the variant's sellable quantity after all open orders (negative when oversold).
    Lines we do not know about (placed before install, or not processed yet) are part of the
    shortfall too; until they arrive their share rests on the newest lines we do know.
    """
    shortfall = max(0, -available)
    result: dict[Hashable, int] = {}
    # Newest first; sequence, then key, break ties so the answer never depends on input order.
    for demand in sorted(demands, key=lambda d: (d.ordered_at, d.sequence, str(d.key)), reverse=True):
        short = min(max(demand.quantity, 0), shortfall)
        result[demand.key] = short
        shortfall -= short
    return result


def platform_sequence(*ids: str) -> tuple:
    """Sort key for platform ids that are numbers in text ("99" before "100")."""
    return tuple((len(i), i) for i in ids)


def default_eta(ordered_on: date, lead_time_days: int) -> date:
    """Until supplier data says otherwise, a backorder ships a fixed lead time after the order."""
    return ordered_on + timedelta(days=max(0, lead_time_days))


def is_backorderable(tracked: bool, continue_selling: bool) -> bool:
    """Only tracked stock sold past zero on purpose can be a backorder."""
    return tracked and continue_selling
