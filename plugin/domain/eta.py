"""When each backorder line will ship, as a range, and what about it is worth telling the customer.

Pure Python: no I/O, no frameworks. Input is the allocation (allocation.allocate: what each
line's units wait for) and the suppliers' lateness (lateness.LatenessModel); output is one
`LineEta` per line with an earliest / likely / latest date (P10 / P50 / P90) and the promise, the
quantile the merchant chose (P80 by default: most promises kept, without padding every one).

- Covered by stock: it can go out after the handling days; no uncertainty left.
- Covered by supply: the lot's expected date plus the supplier's lateness, given it has not come
  yet (a lot already overdue is at least that late), plus handling. A line split over lots waits
  for its slowest one, so each quantile is the latest over its lots.
- Not covered by any known supply: a purchase order placed today, i.e. today + the supplier's
  lead time + their lateness, plus handling. The merchant can only do better by ordering sooner.
  A lot without an expected date is treated the same way: we only know that it was ordered.

Whole days: a quantile of whole-day arrivals usually falls between two days, one kept less often
than asked and one kept more often (a punctual supplier's "P80" is a day kept 69% of the time or
one kept 93%). Each line takes the lower or the upper day according to a fixed position drawn
from its key, in the proportion that keeps q of the promises on average, supplier by supplier.
Always rounding up would keep ~87% of P80 promises, a day later than needed; always taking the
nearest day is biased the other way for punctual suppliers. The position is fixed per line, so a
line's dates move only when its distribution moves, and two lines waiting for the same lot may
be a day apart.

Dates are never before today. Each (supplier, expected date) is worked out once and shared by
every line waiting for it, which keeps a million-line recompute cheap.
"""
from __future__ import annotations

import zlib
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Hashable, Iterable, Mapping, NamedTuple

from plugin.domain.allocation import (
    STOCK, SUPPLY, UNCOVERED, BackorderLine, Cover, OnHand, SupplyLot, cover_queue, sku_queues,
)
from plugin.domain.lateness import LatenessModel

EARLIEST, LIKELY, LATEST = 0.1, 0.5, 0.9
DEFAULT_PROMISE_QUANTILE = 0.8
# The storefront's date is one for every shopper: the later of two candidate days, always.
NEXT_UNIT_POSITION = 1.0 - 1e-9
LEAD_TIME = "lead_time"
_new = tuple.__new__


@dataclass(frozen=True, slots=True)
class SupplierProfile:
    """What the merchant told us about a supplier. `lead_time_spread_days` is used only until
    there is delivery history; `handling_days` is from goods in to parcel out."""

    key: Hashable
    lead_time_days: int = 14
    lead_time_spread_days: int = 0
    handling_days: int = 1


class LineEta(NamedTuple):
    key: Hashable
    earliest: date  # P10
    likely: date  # P50
    latest: date  # P90
    promise: date  # the merchant's quantile: what the customer is told
    covered_by: str  # "stock" | "supply" | "lead_time"
    supplier_key: Hashable | None


class EtaEstimator:
    """Ship-date quantiles for lines, given lateness, suppliers and today. Caches per lot date;
    make one per recompute (its caches assume `today` and the model do not change)."""

    def __init__(self, *, today: date, lateness: LatenessModel | None = None,
                 suppliers: Mapping[Hashable, SupplierProfile] | None = None,
                 sku_suppliers: Mapping[str, Hashable] | None = None,
                 default_supplier: SupplierProfile = SupplierProfile(None),
                 promise_quantile: float = DEFAULT_PROMISE_QUANTILE):
        if not 0.0 < promise_quantile < 1.0:
            raise ValueError("promise_quantile must be between 0 and 1")
        self.today = today
        self.lateness = lateness or LatenessModel.empty()
        self.suppliers = suppliers or {}
        self.sku_suppliers = sku_suppliers or {}
        self.default_supplier = default_supplier
        self.levels = (EARLIEST, LIKELY, LATEST, promise_quantile)
        self._choices: dict[tuple, tuple] = {}
        self._outcomes: dict[tuple, tuple] = {}

    def profile(self, supplier_key: Hashable | None) -> SupplierProfile:
        return self.suppliers.get(supplier_key) or self.default_supplier

    def supply_choices(self, supplier_key: Hashable | None, expected: date | None) -> tuple:
        """Per level (P10, P50, P90, promise): (lower ship date, upper ship date, share on the
        lower) for units arriving on a lot expected on `expected` (None: ordered today)."""
        cache_key = (supplier_key, expected)
        found = self._choices.get(cache_key)
        if found is not None:
            return found
        profile = self.profile(supplier_key)
        today = self.today
        if expected is None:
            expected = today + timedelta(days=max(0, profile.lead_time_days))
        # Not here yet, so it arrives today at the earliest (an overdue lot is at least that late).
        late = self.lateness.distribution(supplier_key, due_in_days=(expected - today).days,
                                          declared_spread_days=profile.lead_time_spread_days)
        base, ready_from = expected.toordinal(), today.toordinal()
        handling = max(0, profile.handling_days)
        choices = []
        for q in self.levels:
            lower, upper, share = late.bracket(q)
            lower = date.fromordinal(max(base + lower, ready_from) + handling)
            upper = date.fromordinal(max(base + upper, ready_from) + handling)
            choices.append((lower, upper, share if lower != upper else 0.0))
        found = self._choices[cache_key] = tuple(choices)
        return found

    def stock_choices(self, supplier_key: Hashable | None) -> tuple:
        ready = self.today + timedelta(days=max(0, self.profile(supplier_key).handling_days))
        return ((ready, ready, 0.0),) * len(self.levels)

    def line_eta(self, line: BackorderLine, covers: tuple[Cover, ...]) -> LineEta:
        """A line's range: the latest, quantile by quantile, over what its units wait for."""
        sku_supplier = self.sku_suppliers.get(line.sku)
        position = line_position(line.key)
        latest: tuple[date, ...] | None = None
        covered_by = STOCK
        supplier_key = None
        for source, _, _, expected, lot_supplier in covers:
            if source == STOCK:
                supplier = lot_supplier if lot_supplier is not None else sku_supplier
                choices = self.stock_choices(supplier)
                if supplier_key is None:
                    supplier_key = supplier
            elif source == SUPPLY:
                choices = self.supply_choices(lot_supplier, expected)
                covered_by, supplier_key = SUPPLY, lot_supplier
            else:  # UNCOVERED, always last: reordered from the SKU's supplier
                supplier_key = sku_supplier if sku_supplier is not None else supplier_key
                choices = self.supply_choices(supplier_key, None)
                covered_by = LEAD_TIME
            dates = _pick(choices, position)
            latest = dates if latest is None else tuple(map(max, latest, dates))
        if latest is None:  # no covers: nothing left to wait for
            latest = _pick(self.stock_choices(sku_supplier), 0.0)
        return LineEta(line.key, latest[0], latest[1], latest[2], latest[3], covered_by, supplier_key)

    def estimate(self, lines: Iterable[BackorderLine],
                 allocation: Mapping[Hashable, tuple[Cover, ...]]) -> dict[Hashable, LineEta]:
        """One LineEta per line that has covers in `allocation` (from allocation.allocate)."""
        result: dict[Hashable, LineEta] = {}
        covers_of = allocation.get
        supplier_of = self.sku_suppliers.get
        outcomes_for = self.outcomes
        for line in lines:
            covers = covers_of(line.key)
            if covers is None:
                continue
            if len(covers) != 1:
                result[line.key] = self.line_eta(line, covers)
                continue
            source, _, _, expected, supplier = covers[0]
            if source != SUPPLY and supplier is None:
                supplier = supplier_of(line.sku)
            cuts, outcomes = outcomes_for(source, supplier, expected)
            outcome = outcomes[bisect_right(cuts, line_position(line.key))] if cuts else outcomes[0]
            result[line.key] = _new(LineEta, (line.key,) + outcome)
        return result

    def promise(self, lines: Iterable[BackorderLine], on_hand: Iterable[OnHand] = (),
                lots: Iterable[SupplyLot] = ()) -> dict[Hashable, LineEta]:
        """estimate(lines, allocate(lines, on_hand, lots)) in one walk, without building covers:
        the same answer at about half the cost, for a full recompute."""
        result: dict[Hashable, LineEta] = {}
        supplier_of = self.sku_suppliers.get
        outcomes_for = self.outcomes
        for sku, group, sources, one_location in sku_queues(lines, on_hand, lots):
            if not one_location:  # several locations: rare, take the long way
                covers = cover_queue(group, sources, one_location)
                for line in group:
                    if line.quantity > 0:
                        result[line.key] = self.line_eta(line, covers[line.key])
                continue
            sku_supplier = supplier_of(sku)
            pending = iter(sources)
            source = next(pending, None)
            left = 0 if source is None else source[1]
            if source is not None:
                found = outcomes_for(source[2], source[5] if source[5] is not None else sku_supplier, source[4])
            waiting = iter(group)
            for line in waiting if source is not None else ():
                need = line.quantity
                if need <= 0:
                    continue
                if need > left:  # spans sources, or supply runs out: build its covers
                    parts = []
                    while source is not None and need > left:
                        parts.append(Cover(source[2], left, source[3], source[4], source[5]))
                        need -= left
                        source = next(pending, None)
                        left = 0 if source is None else source[1]
                    parts.append(Cover(source[2], need, source[3], source[4], source[5]) if source is not None
                                 else Cover(UNCOVERED, need))
                    result[line.key] = self.line_eta(line, tuple(parts))
                    left -= need if source is not None else 0
                else:
                    left -= need
                    cuts, outcomes = found
                    outcome = outcomes[bisect_right(cuts, line_position(line.key))] if cuts else outcomes[0]
                    result[line.key] = _new(LineEta, (line.key,) + outcome)
                if source is not None and not left:
                    source = next(pending, None)
                    left = 0 if source is None else source[1]
                if source is None:
                    break
                found = outcomes_for(source[2], source[5] if source[5] is not None else sku_supplier, source[4])
            if source is None:  # the rest wait for a purchase order not placed yet
                cuts, outcomes = outcomes_for(UNCOVERED, sku_supplier, None)
                for line in waiting:
                    if line.quantity > 0:
                        outcome = outcomes[bisect_right(cuts, line_position(line.key))] if cuts else outcomes[0]
                        result[line.key] = _new(LineEta, (line.key,) + outcome)
        return result

    def next_unit(self, sku: str, waiting_units: int, free_stock: int, lots: Iterable[SupplyLot]) -> LineEta:
        """What one more unit of `sku` ordered now would be promised (the storefront's date).

        Everyone already waiting (`waiting_units` units of open lines) is ahead of it in the
        queue, so it gets the first unit of stock or supply they leave: stock first, then lots by
        expected date, as sku_queues serves them. Past every known lot it waits for a purchase
        order not placed yet (the SKU's supplier's lead time from today). A storefront shows one
        date to every shopper, so each quantile takes the later of its two candidate days.
        """
        position = NEXT_UNIT_POSITION
        left = waiting_units - max(0, free_stock)
        if left < 0:
            return self._single(sku, STOCK, self.sku_suppliers.get(sku), None, position)
        queue = []
        for lot in lots:
            if lot.sku != sku or lot.quantity <= 0 or lot.status == "cancelled":
                continue
            if lot.status == "received":
                queue.append(((0, 1, lot.key), lot))
            else:
                when = lot.expected_date.toordinal() if lot.expected_date is not None else 10**8
                queue.append(((1, when, lot.key), lot))
        queue.sort(key=lambda item: item[0])
        for _, lot in queue:
            if left < lot.quantity:
                if lot.status == "received":
                    return self._single(sku, STOCK, lot.supplier_key, None, position)
                return self._single(sku, SUPPLY, lot.supplier_key, lot.expected_date, position)
            left -= lot.quantity
        return self._single(sku, UNCOVERED, self.sku_suppliers.get(sku), None, position)

    def _single(self, key, source: str, supplier, expected, position: float) -> LineEta:
        if source != SUPPLY and supplier is None:
            supplier = self.sku_suppliers.get(key)
        cuts, outcomes = self.outcomes(source, supplier, expected)
        outcome = outcomes[bisect_right(cuts, position)] if cuts else outcomes[0]
        return _new(LineEta, (key,) + outcome)

    def outcomes(self, source: str, supplier: Hashable | None, expected: date | None) -> tuple:
        """For a line waiting only for this: (cuts, outcomes), where a line at position u gets
        outcomes[bisect_right(cuts, u)]: four two-way choices give at most five outcomes."""
        cache_key = (source, supplier, expected)
        found = self._outcomes.get(cache_key)
        if found is not None:
            return found
        if source == STOCK:
            choices, kind = self.stock_choices(supplier), STOCK
        elif source == SUPPLY:
            choices, kind = self.supply_choices(supplier, expected), SUPPLY
        else:
            choices, kind = self.supply_choices(supplier, None), LEAD_TIME
        cuts = sorted(share for _, _, share in choices if share > 0.0)
        outcomes = [tuple(lower if share > cut else upper for lower, upper, share in choices) + (kind, supplier)
                    for cut in [0.0, *cuts]]
        found = self._outcomes[cache_key] = (cuts, outcomes)
        return found


def _pick(choices: tuple, position: float) -> tuple[date, ...]:
    p10, p50, p90, promise = choices  # unrolled: this runs for most of a million lines
    return (p10[0] if position < p10[2] else p10[1], p50[0] if position < p50[2] else p50[1],
            p90[0] if position < p90[2] else p90[1], promise[0] if position < promise[2] else promise[1])


def line_position(key: Hashable) -> float:
    """A number in [0, 1) fixed for a key, spread evenly over keys (stable across processes,
    unlike hash() of a string): which lines take the lower of two candidate days."""
    h = (key ^ (key >> 32)) & 0xFFFFFFFF if type(key) is int else zlib.crc32(repr(key).encode())
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF  # murmur3's finaliser: crc32 of neighbouring keys is correlated
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    return (h ^ (h >> 16)) / 4294967296.0


def estimate_etas(lines: Iterable[BackorderLine], allocation: Mapping[Hashable, tuple[Cover, ...]], *, today: date,
                  lateness: LatenessModel | None = None,
                  suppliers: Mapping[Hashable, SupplierProfile] | None = None,
                  sku_suppliers: Mapping[str, Hashable] | None = None,
                  default_supplier: SupplierProfile = SupplierProfile(None),
                  promise_quantile: float = DEFAULT_PROMISE_QUANTILE) -> dict[Hashable, LineEta]:
    """One LineEta per allocated line. `sku_suppliers` names the supplier a SKU is reordered
    from (for lines no lot covers); unknown suppliers get `default_supplier` (the shop's default
    lead time)."""
    estimator = EtaEstimator(today=today, lateness=lateness, suppliers=suppliers, sku_suppliers=sku_suppliers,
                             default_supplier=default_supplier, promise_quantile=promise_quantile)
    return estimator.estimate(lines, allocation)


def promise_etas(lines: Iterable[BackorderLine], on_hand: Iterable[OnHand] = (), lots: Iterable[SupplyLot] = (), *,
                 today: date, lateness: LatenessModel | None = None,
                 suppliers: Mapping[Hashable, SupplierProfile] | None = None,
                 sku_suppliers: Mapping[str, Hashable] | None = None,
                 default_supplier: SupplierProfile = SupplierProfile(None),
                 promise_quantile: float = DEFAULT_PROMISE_QUANTILE) -> dict[Hashable, LineEta]:
    """allocate() then estimate_etas(), in one pass (what a recompute needs: no covers kept)."""
    estimator = EtaEstimator(today=today, lateness=lateness, suppliers=suppliers, sku_suppliers=sku_suppliers,
                             default_supplier=default_supplier, promise_quantile=promise_quantile)
    return estimator.promise(lines, on_hand, lots)


# --- events -------------------------------------------------------------------------------------

DELAY, REFUND_OFFER, READY = "delay", "refund_offer", "ready"


@dataclass(frozen=True, slots=True)
class PromiseState:
    """What the customer was last told about a line, as stored after the previous recompute.

    `promised`: the promise last communicated (keep it until an event replaces it, so a slow
    creep adds up and is reported once it exceeds the grace period). `original`: the first
    promise (defaults to `promised`). `ready`/`refund_offered`: those were already announced.
    """

    promised: date | None
    original: date | None = None
    ready: bool = False
    refund_offered: bool = False


@dataclass(frozen=True, slots=True)
class Event:
    kind: str  # delay | refund_offer | ready
    key: Hashable
    old: date | None
    new: date | None


def detect_events(previous: Mapping[Hashable, PromiseState], current: Iterable[LineEta], *,
                  grace_days: int, refund_threshold_days: int) -> list[Event]:
    """What changed for the customer, one event per fact, in the order of `current`.

    - ready: the line is covered by stock and that was not announced yet (also for a line
      seen for the first time). It replaces any delay: "it is ready" is the news.
    - delay: the new promise is more than `grace_days` later than the promise last told.
    - refund_offer: the new promise is more than `refund_threshold_days` after the original
      promise, and no offer was made yet. Measured on the promise (the date we would tell the
      customer now), not on P50: the offer is about what the customer will be told.
    A line without a previous state gets its first promise: nothing to compare, no event.
    Pure function of its inputs, so running it twice gives the same events; storing them under
    (line, kind, promise version) makes acting on them idempotent.
    """
    events: list[Event] = []
    for eta in current:
        state = previous.get(eta.key)
        if eta.covered_by == STOCK:
            if state is None or not state.ready:
                events.append(Event(READY, eta.key, state.promised if state else None, eta.promise))
            continue
        if state is None or state.promised is None:
            continue
        if (eta.promise - state.promised).days > grace_days:
            events.append(Event(DELAY, eta.key, state.promised, eta.promise))
        original = state.original or state.promised
        if not state.refund_offered and (eta.promise - original).days > refund_threshold_days:
            events.append(Event(REFUND_OFFER, eta.key, original, eta.promise))
    return events
