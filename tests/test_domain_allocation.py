"""Stock and incoming supply handed to backorder lines, first come first served, without a database."""
import random
from datetime import date, datetime, timedelta, timezone

from plugin.domain.allocation import (
    STOCK, SUPPLY, UNCOVERED, BackorderLine, Cover, OnHand, SupplyLot, allocate, queue_order,
)
from plugin.domain.backorders import platform_sequence

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
D0 = date(2026, 11, 1)


def line(key, minutes, qty, sku="S", location=None, priority=0, sequence=()):
    return BackorderLine(key, sku, location, T0 + timedelta(minutes=minutes), qty, priority, sequence)


def lot(key, qty, days, sku="S", location=None, supplier="acme", status="ordered"):
    expected = None if days is None else D0 + timedelta(days=days)
    return SupplyLot(key, sku, location, qty, expected, supplier, status)


def sources(covers):
    return [(c.source, c.quantity, c.lot_key) for c in covers]


def test_first_come_first_served_by_order_time_not_input_order():
    lines = [line("late", 10, 1), line("early", 0, 1)]
    result = allocate(lines, [], [lot("po-1", 1, 5), lot("po-2", 1, 9)])
    assert sources(result["early"]) == [(SUPPLY, 1, "po-1")]
    assert sources(result["late"]) == [(SUPPLY, 1, "po-2")]


def test_on_hand_stock_is_served_before_any_lot():
    result = allocate([line("a", 0, 1), line("b", 1, 1)], [OnHand("S", None, 1)], [lot("po", 5, 1)])
    assert result["a"] == (Cover(STOCK, 1),)
    assert sources(result["b"]) == [(SUPPLY, 1, "po")]


def test_lots_are_used_by_expected_date_and_unknown_dates_last():
    lots = [lot("undated", 1, None), lot("later", 1, 20), lot("sooner", 1, 3)]
    result = allocate([line(k, i, 1) for i, k in enumerate("abc")], [], lots)
    assert [result[k][0].lot_key for k in "abc"] == ["sooner", "later", "undated"]


def test_priority_jumps_the_queue():
    lines = [line("first", 0, 1), line("vip", 50, 1, priority=1)]
    result = allocate(lines, [], [lot("po-1", 1, 2), lot("po-2", 1, 30)])
    assert result["vip"][0].lot_key == "po-1"
    assert result["first"][0].lot_key == "po-2"
    assert [x.key for x in queue_order(lines)] == ["vip", "first"]


def test_same_second_orders_follow_platform_numbers():
    older = line("row-2", 0, 1, sequence=platform_sequence("99"))
    newer = line("row-1", 0, 1, sequence=platform_sequence("100"))
    result = allocate([newer, older], [], [lot("po", 1, 1)])
    assert result["row-2"][0].source == SUPPLY and result["row-1"][0].source == UNCOVERED


def test_a_line_is_split_over_lots_and_waits_for_its_last_unit():
    result = allocate([line("a", 0, 2), line("b", 1, 4)], [OnHand("S", None, 1)], [lot("p1", 2, 3), lot("p2", 2, 8)])
    assert sources(result["a"]) == [(STOCK, 1, None), (SUPPLY, 1, "p1")]
    assert sources(result["b"]) == [(SUPPLY, 1, "p1"), (SUPPLY, 2, "p2"), (UNCOVERED, 1, None)]
    assert sum(c.quantity for c in result["b"]) == 4


def test_lines_beyond_all_supply_are_uncovered():
    result = allocate([line("a", 0, 3), line("b", 1, 1)], [], [])
    assert result == {"a": (Cover(UNCOVERED, 3),), "b": (Cover(UNCOVERED, 1),)}


def test_cancelled_lots_are_ignored_and_received_lots_are_stock():
    lots = [lot("gone", 5, 1, status="cancelled"), lot("in", 1, 30, status="received"), lot("po", 1, 2)]
    result = allocate([line("a", 0, 1), line("b", 1, 1), line("c", 2, 1)], [], lots)
    assert result["a"] == (Cover(STOCK, 1, "in", D0 + timedelta(days=30), "acme"),)
    assert result["b"][0].lot_key == "po"
    assert result["c"][0].source == UNCOVERED


def test_each_location_is_its_own_queue():
    lines = [line("east", 0, 1, location="E"), line("west", 5, 1, location="W")]
    result = allocate(lines, [OnHand("S", "W", 1)], [lot("po-e", 1, 4, location="E")])
    assert sources(result["east"]) == [(SUPPLY, 1, "po-e")]  # not the stock in the west
    assert sources(result["west"]) == [(STOCK, 1, None)]


def test_stock_elsewhere_is_not_used():
    result = allocate([line("east", 0, 1, location="E")], [OnHand("S", "W", 5)], [lot("po-w", 5, 1, location="W")])
    assert result["east"] == (Cover(UNCOVERED, 1),)


def test_a_lot_without_location_serves_any_location_and_a_line_without_one_takes_from_any():
    lines = [line("east", 0, 1, location="E"), line("anywhere", 1, 2), line("west", 2, 1, location="W")]
    lots = [lot("po-any", 1, 10), lot("po-w", 1, 3, location="W"), lot("po-e", 1, 20, location="E")]
    result = allocate(lines, [], lots)
    assert sources(result["east"]) == [(SUPPLY, 1, "po-any")]  # day 10 beats its own day 20
    assert sources(result["anywhere"]) == [(SUPPLY, 1, "po-w"), (SUPPLY, 1, "po-e")]
    assert result["west"] == (Cover(UNCOVERED, 1),)


def test_skus_do_not_share_supply():
    result = allocate([line("a", 0, 1, sku="A")], [OnHand("B", None, 9)], [lot("po", 9, 1, sku="B")])
    assert result["a"][0].source == UNCOVERED


def test_zero_quantity_lines_are_left_out():
    assert allocate([line("a", 0, 0)], [], [lot("po", 1, 1)]) == {}


def test_same_answer_whatever_the_input_order_and_conservation_of_units():
    rng = random.Random(7)
    lines = [line(i, rng.randrange(100), rng.randint(1, 4), sku=f"S{i % 3}", location=rng.choice(["E", "W", None]),
                  priority=rng.choice([0, 0, 0, 1])) for i in range(200)]
    lots = [lot(f"p{i}", rng.randint(1, 9), rng.choice([None, *range(30)]), sku=f"S{i % 3}",
                location=rng.choice(["E", "W", None]), status=rng.choice(["ordered", "shipped", "received", "cancelled"]))
            for i in range(40)]
    stock = [OnHand(f"S{i}", loc, 3) for i in range(3) for loc in ("E", "W")]
    first = allocate(lines, stock, lots)
    shuffled_lines, shuffled_lots = lines[:], lots[:]
    rng.shuffle(shuffled_lines)
    rng.shuffle(shuffled_lots)
    assert allocate(shuffled_lines, stock[::-1], shuffled_lots) == first
    for each in lines:
        covers = first[each.key]
        assert sum(c.quantity for c in covers) == each.quantity
        assert all(c.source != UNCOVERED for c in covers[:-1])
    used: dict = {}
    for covers in first.values():
        for c in covers:
            if c.lot_key is not None:
                used[c.lot_key] = used.get(c.lot_key, 0) + c.quantity
    available = {x.key: x.quantity for x in lots if x.status != "cancelled"}
    assert all(used[k] <= available[k] for k in used)
