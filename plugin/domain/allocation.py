"""Who gets which incoming unit: stock and supplier lots handed to backorder lines, first come first served.

Pure Python: no I/O, no frameworks. Every (SKU, location) is a queue. Lines line up by priority
(an override jumps the queue), then by when they were ordered; supply lines up as on-hand stock
first, then purchase-order lots by the date they are expected (lots with no date last, because a
date we do not know cannot be promised). The first line takes the first units, and so on: a line
may be split over several sources, and what it waits for is its last unit.

Locations: a line is served only from stock and lots at its own location, because shipping from
another warehouse is a decision for the merchant, not a guess for us. `None` means "any": a lot
with no location (the supplier's feed does not say) can serve a line at any location, and a line
with no location (single-location shops pass None everywhere) can take from any location.

Speed matters: a full recompute hands us a million lines. The work is one grouping pass, one sort
per SKU, and a two-pointer walk; outputs are NamedTuples (several times cheaper to build than
dataclasses) and the cover of an uncovered remainder is shared between lines of equal quantity.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from operator import attrgetter
from typing import Hashable, Iterable, NamedTuple

STOCK = "stock"  # on hand now (including a lot the supplier marked received)
SUPPLY = "supply"  # on its way: an ordered or shipped purchase-order lot
UNCOVERED = "uncovered"  # no known stock or supply: waits for a purchase order not placed yet

LOT_STATUSES = ("ordered", "shipped", "received", "cancelled")


@dataclass(frozen=True, slots=True)
class BackorderLine:
    """Units of one order line that the shop sold without having them."""

    key: Hashable
    sku: str
    location: Hashable | None
    ordered_at: datetime
    quantity: int
    priority: int = 0  # > 0 jumps the first-come queue (e.g. a VIP, or a replacement)
    # Breaks ties between lines ordered in the same second (see backorders.Demand.sequence).
    sequence: tuple = ()


@dataclass(frozen=True, slots=True)
class SupplyLot:
    """A purchase-order line: `quantity` units of a SKU expected at a location on a date."""

    key: Hashable
    sku: str
    location: Hashable | None
    quantity: int
    expected_date: date | None
    supplier_key: Hashable | None
    status: str = "ordered"  # ordered | shipped | received (counts as stock) | cancelled (ignored)


@dataclass(frozen=True, slots=True)
class OnHand:
    """Units at a location that no earlier order has claimed: free for backorder lines.

    A lot marked received is on hand too; pass it as a lot or count it here, never both.
    """

    sku: str
    location: Hashable | None
    quantity: int


class Cover(NamedTuple):
    """Some units of a line and what they wait for. `source` is STOCK, SUPPLY or UNCOVERED."""

    source: str
    quantity: int
    lot_key: Hashable | None = None  # None for stock counted in OnHand, and for UNCOVERED
    expected_date: date | None = None  # the lot's expected date (SUPPLY only; may be None)
    supplier_key: Hashable | None = None


def allocate(
    lines: Iterable[BackorderLine],
    on_hand: Iterable[OnHand] = (),
    lots: Iterable[SupplyLot] = (),
) -> dict[Hashable, tuple[Cover, ...]]:
    """Covers for every line with a positive quantity, in the order its units are served.

    The covers of a line add up to its quantity; an UNCOVERED cover, if any, is last. A line's
    ETA is its last cover's. Only the SKUs that have lines are looked at, so a caller that
    recomputes just the changed SKUs passes just their lines, stock and lots. Equal cover tuples
    may be one shared object (they are immutable).

    Keys of one call must be comparable with each other (all ints or all strings): ties are broken
    by key so the answer never depends on the order of the input.
    """
    result: dict[Hashable, tuple[Cover, ...]] = {}
    uncovered: dict[int, tuple[Cover, ...]] = {}  # quantity -> shared one-cover tuple
    for _, group, sources, one_location in sku_queues(lines, on_hand, lots):
        if not sources:
            for line in group:
                if line.quantity > 0:
                    result[line.key] = _uncovered(uncovered, line.quantity)
        elif one_location:
            _walk_one_queue(group, sources, result, uncovered)
        else:
            _walk_locations(group, sources, result, uncovered)
    return result


def sku_queues(lines: Iterable[BackorderLine], on_hand: Iterable[OnHand] = (), lots: Iterable[SupplyLot] = ()):
    """Per SKU with lines: (sku, lines in queue order, sources in serving order, one location?).

    The building block of allocate() (and of eta.promise_etas, which walks the same queues
    without building covers). A source is a small mutable list:
    [sort key, units left, STOCK or SUPPLY, lot key, expected date, supplier key, location].
    """
    lines_by_sku: dict[str, list[BackorderLine]] = {}
    get = lines_by_sku.get
    for line in lines:
        group = get(line.sku)
        if group is None:
            lines_by_sku[line.sku] = [line]
        else:
            group.append(line)

    sources_by_sku: dict[str, list[list]] = {}
    for stock in on_hand:
        if stock.quantity > 0 and stock.sku in lines_by_sku:
            sources_by_sku.setdefault(stock.sku, []).append(
                [(0, 0, 0), stock.quantity, STOCK, None, None, None, stock.location])
    for lot in lots:
        if lot.quantity <= 0 or lot.sku not in lines_by_sku or lot.status == "cancelled":
            continue
        if lot.status == "received":
            key, source = (0, 1, lot.key), STOCK
        else:
            # Unknown dates after every known one: they are the least promisable.
            when = lot.expected_date.toordinal() if lot.expected_date is not None else 10**8
            key, source = (1, when, lot.key), SUPPLY
        sources_by_sku.setdefault(lot.sku, []).append(
            [key, lot.quantity, source, lot.key, lot.expected_date, lot.supplier_key, lot.location])

    for sku, group in lines_by_sku.items():
        if len(group) > 1:
            _queue(group)
        sources = sources_by_sku.get(sku)
        if not sources:
            yield sku, group, [], True
            continue
        sources.sort(key=_first)
        locations = set(map(_location, group))
        locations.update(source[6] for source in sources)
        yield sku, group, sources, len(locations) == 1


def cover_queue(group: list[BackorderLine], sources: list[list], one_location: bool) -> dict[Hashable, tuple[Cover, ...]]:
    """allocate() for one queue from sku_queues()."""
    result: dict[Hashable, tuple[Cover, ...]] = {}
    if not sources:
        for line in group:
            if line.quantity > 0:
                result[line.key] = (Cover(UNCOVERED, line.quantity),)
    elif one_location:
        _walk_one_queue(group, sources, result, {})
    else:
        _walk_locations(group, sources, result, {})
    return result


def queue_order(lines: Iterable[BackorderLine]) -> list[BackorderLine]:
    """Lines in the order they are served: priority first, then first come, then platform order."""
    ordered = list(lines)
    _queue(ordered)
    return ordered


_by_arrival = attrgetter("ordered_at", "sequence", "key")
_by_priority = attrgetter("priority")
_location = attrgetter("location")
_new = tuple.__new__  # builds a Cover without the Python-level __new__ of a NamedTuple


def _first(source: list):
    return source[0]


def _queue(group: list[BackorderLine]) -> None:
    # Two stable sorts (C-level keys) instead of one with a Python tuple per line: same order as
    # (-priority, ordered_at, sequence, key), several times faster on a million lines.
    group.sort(key=_by_arrival)
    if any(map(_by_priority, group)):
        group.sort(key=_by_priority, reverse=True)  # reverse keeps equal keys in order


def _uncovered(cache: dict[int, tuple[Cover, ...]], quantity: int) -> tuple[Cover, ...]:
    covers = cache.get(quantity)
    if covers is None:
        covers = cache[quantity] = (Cover(UNCOVERED, quantity),)
    return covers


def _walk_one_queue(group, sources, result, uncovered) -> None:
    """The common case: every line and source of the SKU at one location. Two pointers."""
    pending = iter(sources)
    source = next(pending)
    left = source[1]
    shared: dict[int, tuple[Cover, ...]] = {}  # lines taking the same quantity of one source
    waiting = iter(group)
    for line in waiting:
        need = line.quantity
        if need <= left:
            if need <= 0:
                continue
            covers = shared.get(need)
            if covers is None:
                covers = shared[need] = (_new(Cover, (source[2], need, source[3], source[4], source[5])),)
            result[line.key] = covers
            left -= need
            if left:
                continue
            source = next(pending, None)
            if source is None:
                break
            left, shared = source[1], {}
            continue
        parts = []  # the line spans sources
        while need > left:
            parts.append(_new(Cover, (source[2], left, source[3], source[4], source[5])))
            need -= left
            source = next(pending, None)
            if source is None:
                parts.append(Cover(UNCOVERED, need))
                break
            left, shared = source[1], {}
        else:
            parts.append(_new(Cover, (source[2], need, source[3], source[4], source[5])))
            left -= need
            if not left:
                source = next(pending, None)
                if source is not None:
                    left, shared = source[1], {}
        result[line.key] = tuple(parts)
        if source is None:
            break
    for line in waiting:  # supply ran out: the rest wait for orders not placed yet
        if line.quantity > 0:
            result[line.key] = _uncovered(uncovered, line.quantity)


def _walk_locations(group, sources, result, uncovered) -> None:
    """Several locations in one SKU: each line takes the earliest source it may use.

    Sources are split into one queue per location (None: the "any location" queue); a line looks
    at the heads of its own location's queue and the "any" queue (a line without a location looks
    at every head). A shop has a handful of locations, so this stays linear in practice.
    """
    queues: dict = {}
    for source in sources:  # already sorted, so each queue is too
        queues.setdefault(source[6], []).append(source)
    heads = {location: 0 for location in queues}
    # Equal heads (stock at two locations) go to the first queue in a fixed order: "any", then by name.
    everywhere = sorted(queues, key=lambda location: (location is not None, str(location)))
    for line in group:
        need = line.quantity
        if need <= 0:
            continue
        if line.location is None:
            usable = everywhere
        else:
            usable = [location for location in (line.location, None) if location in queues]
        covers = []
        while need:
            best = None
            for location in usable:
                position = heads[location]
                queue = queues[location]
                if position < len(queue) and (best is None or queue[position][0] < best[0]):
                    best, best_location = queue[position], location
            if best is None:
                covers.append(Cover(UNCOVERED, need))
                break
            take = best[1] if best[1] < need else need
            covers.append(_new(Cover, (best[2], take, best[3], best[4], best[5])))
            need -= take
            best[1] -= take
            if not best[1]:
                heads[best_location] += 1
        result[line.key] = tuple(covers)
