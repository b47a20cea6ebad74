"""ETA ranges and promise events, without a database."""
import random
from datetime import date, datetime, timedelta, timezone

import pytest

from plugin.domain.allocation import BackorderLine, OnHand, SupplyLot, allocate
from plugin.domain.eta import (
    DELAY, READY, REFUND_OFFER, Event, LineEta, PromiseState, SupplierProfile, detect_events, estimate_etas,
    promise_etas,
)
from plugin.domain.lateness import LatenessModel, LatenessRecord

TODAY = date(2026, 11, 10)
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
ACME = SupplierProfile("acme", lead_time_days=20, lead_time_spread_days=0, handling_days=2)
SLOWCO = SupplierProfile("slowco", lead_time_days=10, lead_time_spread_days=0, handling_days=1)
SUPPLIERS = {"acme": ACME, "slowco": SLOWCO}


def day(n):
    return TODAY + timedelta(days=n)


def line(key, minutes=0, qty=1, sku="S"):
    return BackorderLine(key, sku, None, T0 + timedelta(minutes=minutes), qty)


def lot(key, qty, expected_in_days, supplier="acme", status="ordered", sku="S"):
    expected = None if expected_in_days is None else day(expected_in_days)
    return SupplyLot(key, sku, None, qty, expected, supplier, status)


def etas(lines, on_hand=(), lots=(), lateness=None, **kwargs):
    kwargs.setdefault("sku_suppliers", {"S": "acme"})
    return estimate_etas(lines, allocate(lines, on_hand, lots), today=TODAY, lateness=lateness,
                         suppliers=SUPPLIERS, **kwargs)


def history(supplier, lates, today=TODAY):
    promised = today - timedelta(days=60)
    return [LatenessRecord(supplier, promised, promised + timedelta(days=d)) for d in lates]


def test_stock_ships_after_handling_with_no_range():
    eta = etas([line("a")], on_hand=[OnHand("S", None, 1)])["a"]
    assert eta == LineEta("a", day(2), day(2), day(2), day(2), "stock", "acme")


def test_supply_without_history_arrives_when_expected_then_handling():
    eta = etas([line("a")], lots=[lot("po", 1, 5)])["a"]
    assert (eta.earliest, eta.likely, eta.latest, eta.promise) == (day(7),) * 4
    assert eta.covered_by == "supply" and eta.supplier_key == "acme"


def test_declared_spread_widens_the_range_until_history_exists():
    suppliers = {"acme": SupplierProfile("acme", 20, lead_time_spread_days=4, handling_days=0)}
    lines = [line(i) for i in range(400)]
    result = estimate_etas(lines, allocate(lines, [], [lot("po", 400, 10)]), today=TODAY, suppliers=suppliers)
    # Normal with P90 at +4 days, in whole days: P(<= -5) = 7.5%, P(<= -4) = 13.1%, P(<= -1) = 43.6%,
    # P(<= 0) = 56.4%, P(<= 4) = 92.5%: each quantile falls between two days.
    assert {eta.earliest for eta in result.values()} == {day(5), day(6)}
    assert {eta.likely for eta in result.values()} == {day(9), day(10)}
    assert {eta.latest for eta in result.values()} <= {day(13), day(14)}
    assert all(day(10) < eta.promise < day(14) for eta in result.values())


def test_whole_day_promises_keep_the_chosen_share_on_average():
    # Acme is punctual: 69% on the day, 24% a day late, 7% two days late. No single day is kept
    # 80% of the time: some lines get the day kept 69% of the time, the others the 93% one.
    model = LatenessModel.fit(history("acme", [0] * 69 + [1] * 24 + [2] * 7), TODAY)
    lines = [line(i, minutes=i) for i in range(2000)]
    result = etas(lines, lots=[lot("po", 2000, 5)], lateness=model)
    kept = {day(7): 0.69, day(8): 0.93}
    assert {eta.promise for eta in result.values()} == set(kept)
    coverage = sum(kept[eta.promise] for eta in result.values()) / len(lines)
    assert coverage == pytest.approx(0.80, abs=0.015)
    assert {eta.likely for eta in result.values()} == {day(7)}  # 69% >= 50%: no choice to make
    again = etas(lines, lots=[lot("po", 2000, 5)], lateness=model)
    assert again == result  # each line keeps its day from one recompute to the next


def test_a_late_supplier_moves_the_range_and_quantiles_are_ordered():
    rng = random.Random(1)
    model = LatenessModel.fit(history("slowco", [round(rng.gauss(8, 3)) for _ in range(200)])
                              + history("acme", [0] * 200), TODAY)
    result = etas([line("a"), line("b", sku="T")], lots=[lot("po", 1, 5), lot("po-t", 1, 5, "slowco", sku="T")],
                  lateness=model, sku_suppliers={"S": "acme", "T": "slowco"})
    punctual, late = result["a"], result["b"]
    assert punctual.likely == day(7)
    assert late.earliest <= late.likely <= late.promise <= late.latest
    assert late.likely >= day(5 + 7 + 1)
    assert late.latest - late.earliest >= timedelta(days=5)


def test_the_promise_is_the_chosen_quantile():
    rng = random.Random(2)
    model = LatenessModel.fit(history("acme", [round(rng.expovariate(0.2)) for _ in range(300)]), TODAY)
    p80 = etas([line("a")], lots=[lot("po", 1, 5)], lateness=model)["a"]
    p95 = etas([line("a")], lots=[lot("po", 1, 5)], lateness=model, promise_quantile=0.95)["a"]
    assert p80.likely <= p80.promise <= p80.latest <= p95.promise
    with pytest.raises(ValueError):
        etas([line("a")], promise_quantile=1.0)


def test_an_overdue_lot_is_never_promised_in_the_past():
    eta = etas([line("a")], lots=[lot("po", 1, -9)])["a"]
    assert eta.earliest == day(2) and eta.covered_by == "supply"


def test_uncovered_lines_wait_for_a_new_order_from_the_skus_supplier():
    eta = etas([line("a")])["a"]
    assert eta.covered_by == "lead_time" and eta.supplier_key == "acme"
    assert eta.likely == day(20 + 2)
    default = etas([line("a", sku="X")], default_supplier=SupplierProfile(None, 14, 0, 1))["a"]
    assert default.likely == day(15) and default.supplier_key is None


def test_a_lot_with_no_expected_date_counts_as_ordered_today():
    eta = etas([line("a")], lots=[lot("po", 1, None)])["a"]
    assert eta.covered_by == "supply" and eta.likely == day(22)


def test_a_split_line_waits_for_its_slowest_part():
    lines = [line("a", qty=3)]
    both = etas(lines, on_hand=[OnHand("S", None, 1)], lots=[lot("p1", 1, 3), lot("p2", 1, 9)])["a"]
    assert both.likely == day(11) and both.covered_by == "supply"
    short = etas(lines, lots=[lot("p1", 2, 3)])["a"]
    assert short.covered_by == "lead_time" and short.likely == day(22)


def test_received_lot_is_stock_with_its_suppliers_handling():
    eta = etas([line("a")], lots=[lot("in", 1, -1, supplier="slowco", status="received")])["a"]
    assert eta.covered_by == "stock" and eta.promise == day(1) and eta.supplier_key == "slowco"


# --- events -------------------------------------------------------------------------------------

def eta(key, promise, covered_by="supply"):
    return LineEta(key, promise, promise, promise, promise, covered_by, "acme")


def events(previous, current):
    return detect_events(previous, current, grace_days=2, refund_threshold_days=14)


def test_delay_only_beyond_the_grace_period():
    previous = {"a": PromiseState(day(10)), "b": PromiseState(day(10)), "c": PromiseState(day(10))}
    found = events(previous, [eta("a", day(12)), eta("b", day(13)), eta("c", day(5))])
    assert found == [Event(DELAY, "b", day(10), day(13))]


def test_refund_offer_once_the_promise_is_past_the_original_by_the_threshold():
    at_threshold = events({"a": PromiseState(day(20), original=day(6))}, [eta("a", day(20))])
    assert at_threshold == []
    past = events({"a": PromiseState(day(20), original=day(6))}, [eta("a", day(21))])
    assert past == [Event(REFUND_OFFER, "a", day(6), day(21))]
    offered = events({"a": PromiseState(day(20), original=day(6), refund_offered=True)}, [eta("a", day(21))])
    assert offered == []


def test_a_big_slip_is_both_a_delay_and_a_refund_offer():
    found = events({"a": PromiseState(day(5))}, [eta("a", day(30))])
    assert found == [Event(DELAY, "a", day(5), day(30)), Event(REFUND_OFFER, "a", day(5), day(30))]


def test_ready_when_newly_covered_by_stock_and_only_once():
    assert events({"a": PromiseState(day(3))}, [eta("a", day(1), "stock")]) == [Event(READY, "a", day(3), day(1))]
    assert events({"a": PromiseState(day(3), ready=True)}, [eta("a", day(1), "stock")]) == []
    assert events({}, [eta("new", day(1), "stock")]) == [Event(READY, "new", None, day(1))]


def test_ready_replaces_a_delay():
    assert [e.kind for e in events({"a": PromiseState(day(-10))}, [eta("a", day(1), "stock")])] == [READY]


def test_a_first_promise_is_not_an_event_and_running_twice_changes_nothing():
    previous = {"a": PromiseState(day(1)), "b": PromiseState(day(1), original=day(-20))}
    current = [eta("new", day(40)), eta("a", day(9)), eta("b", day(2))]
    first = events(previous, current)
    assert first == events(previous, current)
    assert [(e.kind, e.key) for e in first] == [(DELAY, "a"), (REFUND_OFFER, "b")]


def test_the_one_pass_recompute_gives_the_same_answer_as_allocate_then_estimate():
    rng = random.Random(21)
    model = LatenessModel.fit(history("acme", [rng.choice([0, 0, 1, 2, 5, 9]) for _ in range(80)])
                              + history("slowco", [rng.randint(-2, 12) for _ in range(40)]), TODAY)
    skus = {"S": "acme", "T": "slowco", "U": "acme", "V": None}
    for shape in range(6):
        locations = [None] if shape % 2 else ["E", "W", None]
        lines = [BackorderLine(i, rng.choice(list(skus)), rng.choice(locations), T0 + timedelta(minutes=rng.randrange(500)),
                               rng.choice([0, 1, 1, 1, 2, 3, 7]), rng.choice([0, 0, 0, 0, 2])) for i in range(300)]
        lots = [SupplyLot(f"p{i}", rng.choice(list(skus)), rng.choice(locations), rng.randint(1, 12),
                          rng.choice([None, *(day(d) for d in range(-8, 40))]), rng.choice(["acme", "slowco", "nobody"]),
                          rng.choice(["ordered", "ordered", "shipped", "received", "cancelled"])) for i in range(rng.randint(0, 60))]
        stock = [OnHand(sku, location, rng.randint(0, 4)) for sku in skus for location in locations]
        kwargs = dict(today=TODAY, lateness=model, suppliers=SUPPLIERS,
                      sku_suppliers={k: v for k, v in skus.items() if v}, promise_quantile=0.7 + shape / 50)
        two_steps = estimate_etas(lines, allocate(lines, stock, lots), **kwargs)
        assert promise_etas(lines, stock, lots, **kwargs) == two_steps
        assert len(two_steps) == sum(1 for x in lines if x.quantity > 0)
        for eta in two_steps.values():
            assert TODAY <= eta.earliest <= eta.likely <= eta.latest


# -- the storefront's date: one more unit ordered now ------------------------------------------------
def test_one_more_unit_waits_behind_everyone_already_waiting():
    from plugin.domain.eta import EtaEstimator

    est = EtaEstimator(today=TODAY, suppliers=SUPPLIERS, sku_suppliers={"S": "acme"})
    lots = [lot("late", 10, 30), lot("soon", 4, 5)]
    # 3 units waiting, the soon lot has 4: the next unit is its fourth.
    assert est.next_unit("S", 3, 0, lots).promise == day(5 + 2)
    # 4 waiting: the soon lot is taken; the next unit comes with the late one.
    assert est.next_unit("S", 4, 0, lots).promise == day(30 + 2)
    # 14 waiting: every known unit is spoken for; it waits for a purchase order placed today.
    beyond = est.next_unit("S", 14, 0, lots)
    assert (beyond.promise, beyond.covered_by) == (day(20 + 2), "lead_time")
    # Free stock ahead of the lots: with 2 free and 1 waiting, the next unit is on the shelf.
    assert est.next_unit("S", 1, 2, lots).covered_by == "stock"
    # Cancelled lots and other SKUs' lots do not count.
    assert est.next_unit("S", 0, 0, [lot("x", 5, 3, status="cancelled"), lot("y", 5, 3, sku="T")]).covered_by == "lead_time"


def test_the_storefront_date_is_the_later_candidate_day():
    from plugin.domain.eta import EtaEstimator

    # A supplier late 0 or 1 day, half and half: every quantile falls between two days.
    model = LatenessModel.fit([LatenessRecord("acme", day(-100 + i), day(-100 + i + (i % 2))) for i in range(40)],
                              TODAY)
    est = EtaEstimator(today=TODAY, lateness=model, suppliers=SUPPLIERS, sku_suppliers={"S": "acme"})
    shown = est.next_unit("S", 0, 0, [lot("a", 5, 10)])
    lines = [line(k, minutes=k) for k in range(200)]
    many = est.promise(lines, (), [lot("a", 1000, 10)])
    assert shown.promise == max(e.promise for e in many.values())
    assert shown.latest == max(e.latest for e in many.values())
