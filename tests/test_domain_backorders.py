"""The backorder allocation rules, without a database."""
from datetime import date, datetime, timedelta, timezone

from plugin.domain.backorders import Demand, allocate_shortfall, default_eta, is_backorderable, platform_sequence

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def demand(key, minutes, qty):
    return Demand(key, T0 + timedelta(minutes=minutes), qty)


def test_nothing_backordered_while_stock_remains():
    assert allocate_shortfall(3, [demand("a", 0, 2)]) == {"a": 0}
    assert allocate_shortfall(0, [demand("a", 0, 2)]) == {"a": 0}


def test_shortfall_falls_on_the_newest_lines():
    # Stock 2; A ordered 3, then B ordered 2: available is now 2 - 5 = -3.
    result = allocate_shortfall(-3, [demand("a", 0, 3), demand("b", 5, 2)])
    assert result == {"b": 2, "a": 1}


def test_total_never_exceeds_shortfall_whatever_the_processing_order():
    lines = [demand(k, i, q) for i, (k, q) in enumerate([("a", 1), ("b", 4), ("c", 2), ("d", 3)])]
    for perm in (lines, list(reversed(lines)), lines[1:] + lines[:1]):
        result = allocate_shortfall(-5, perm)
        assert sum(result.values()) == 5
        assert result == {"d": 3, "c": 2, "b": 0, "a": 0}


def test_unknown_orders_push_the_shortfall_onto_known_ones_until_they_arrive():
    # Only A is known but available counts an unseen newer order too.
    assert allocate_shortfall(-4, [demand("a", 0, 3)]) == {"a": 3}
    # Once B arrives the same shortfall is split first-come-first-served.
    assert allocate_shortfall(-4, [demand("a", 0, 3), demand("b", 1, 2)]) == {"b": 2, "a": 2}


def test_ties_are_deterministic():
    one = allocate_shortfall(-1, [demand("x", 0, 1), demand("y", 0, 1)])
    two = allocate_shortfall(-1, [demand("y", 0, 1), demand("x", 0, 1)])
    assert one == two and sum(one.values()) == 1


def test_orders_placed_in_the_same_second_are_ordered_by_platform_number():
    same = T0
    older = Demand("row-2", same, 3, platform_sequence("99", "1"))
    newer = Demand("row-1", same, 2, platform_sequence("100", "1"))
    assert allocate_shortfall(-3, [older, newer]) == {"row-1": 2, "row-2": 1}


def test_default_eta_and_backorderable():
    assert default_eta(date(2026, 11, 25), 14) == date(2026, 12, 9)
    assert default_eta(date(2026, 11, 25), -3) == date(2026, 11, 25)
    assert is_backorderable(True, True)
    assert not is_backorderable(False, True)
    assert not is_backorderable(True, False)
