"""Supplier lateness learnt from receipts and open purchase-order lines, without a database."""
import random
from datetime import date, timedelta

import pytest

from plugin.domain.lateness import KaplanMeier, LatenessModel, LatenessRecord

TODAY = date(2026, 6, 1)


def receipt(supplier, days_late, promised_days_ago=30):
    promised = TODAY - timedelta(days=promised_days_ago)
    return LatenessRecord(supplier, promised, promised + timedelta(days=days_late))


def still_open(supplier, overdue_days):
    return LatenessRecord(supplier, TODAY - timedelta(days=overdue_days), None)


def test_kaplan_meier_by_hand():
    # Received 0, 1 and 2 days late; one line still open 1 day after its promise.
    km = KaplanMeier({0: 1.0, 1: 1.0, 2: 1.0}, {1: 1.0})
    assert km.values == [0, 1, 2]
    assert km.cdf == pytest.approx([0.25, 0.5, 1.0])  # naive (open line dropped): 1/3, 2/3, 1
    assert km.quantile(0.5) == 1 and km.quantile(0.51) == 2


def test_open_overdue_lines_make_a_supplier_later_than_its_receipts_say():
    records = [receipt("A", d % 5) for d in range(10)] + [still_open("A", 20) for _ in range(10)]
    fit = dict(prior_strength=0.001, half_life_days=None, trend=False)
    model = LatenessModel.fit(records, TODAY, **fit)
    dropped = LatenessModel.fit(records[:10], TODAY, **fit)
    received_today = LatenessModel.fit(
        records[:10] + [LatenessRecord("A", r.promised, TODAY) for r in records[10:]], TODAY, **fit)
    assert dropped.days_late("A", 0.9) == pytest.approx(4)
    assert received_today.days_late("A", 0.9) == pytest.approx(20)
    # Half the lines are still out after 20 days: their lateness is beyond 20, not at 20.
    assert model.days_late("A", 0.5) == pytest.approx(4)
    assert model.days_late("A", 0.9) > 20
    assert model.days_late("A", 0.6) > 20


def _pool(rng, suppliers=40, receipts=20):
    return [receipt(f"s{i}", round(rng.gauss(0, 2))) for i in range(suppliers) for _ in range(receipts)]


def test_few_receipts_are_pulled_toward_everyone_many_are_not():
    rng = random.Random(3)
    records = _pool(rng) + [receipt("new", 20) for _ in range(2)] + [receipt("known", 20) for _ in range(200)]
    model = LatenessModel.fit(records, TODAY, prior_strength=10, half_life_days=None)
    assert model.days_late("new", 0.5) < 5  # 2/12 of the way from the pool's 0 to its own 20
    assert model.days_late("new", 0.5) > model.days_late("s0", 0.5) - 1
    assert model.days_late("known", 0.5) >= 19  # 200/210 of the way
    assert model.credibility("new") == pytest.approx(2 / 12)
    assert model.days_late("stranger", 0.5) == model.pool.quantile(0.5)  # no history: everyone's


def test_quantiles_are_ordered_for_every_supplier_and_condition():
    rng = random.Random(5)
    records = [receipt(f"s{i % 7}", round(rng.expovariate(0.2)) - 3, rng.randrange(1, 200)) for i in range(300)]
    records += [still_open(f"s{i % 7}", rng.randrange(-10, 40)) for i in range(40)]
    model = LatenessModel.fit(records, TODAY)
    for supplier in [f"s{i}" for i in range(7)] + ["unknown"]:
        for due_in in (None, 30, 0, -10, -60):
            p10, p50, p80, p90 = (model.days_late(supplier, q, due_in_days=due_in) for q in (0.1, 0.5, 0.8, 0.9))
            assert p10 <= p50 <= p80 <= p90
            if due_in is not None:
                assert p10 >= -due_in  # not in yet: today at the earliest


def test_a_lot_already_overdue_is_expected_later_than_a_fresh_one():
    rng = random.Random(9)
    records = [receipt("A", round(rng.gauss(2, 3))) for _ in range(100)]
    model = LatenessModel.fit(records, TODAY)
    fresh = model.days_late("A", 0.5, due_in_days=20)
    overdue = model.days_late("A", 0.5, due_in_days=-5)
    assert fresh == pytest.approx(2, abs=1)
    assert 5 <= overdue < 10


def test_later_than_anyone_ever_was_still_gives_a_date():
    model = LatenessModel.fit([receipt("A", d) for d in (0, 1, 2)], TODAY)
    assert model.days_late("A", 0.5, due_in_days=-30) >= 30


def test_no_history_uses_the_declared_spread():
    model = LatenessModel.fit([], TODAY)
    assert model.days_late("A", 0.9, declared_spread_days=4) == pytest.approx(4)
    assert model.days_late("A", 0.1, declared_spread_days=4) == pytest.approx(-4)
    assert model.days_late("A", 0.5, declared_spread_days=4) == pytest.approx(0)
    assert model.days_late("A", 0.9) == 0
    assert model.days_late("A", 0.5, due_in_days=-3) == 3
    assert model.days_late("A", 0.5, due_in_days=-3, declared_spread_days=4) >= 3


def test_recent_receipts_count_more_than_old_ones():
    old = [receipt("A", 15, promised_days_ago=400) for _ in range(30)]
    recent = [receipt("A", 0, promised_days_ago=20) for _ in range(10)]
    weighted = LatenessModel.fit(old + recent, TODAY, prior_strength=0.001, half_life_days=90, trend=False)
    flat = LatenessModel.fit(old + recent, TODAY, prior_strength=0.001, half_life_days=None, trend=False)
    assert flat.days_late("A", 0.5) == 15
    assert weighted.days_late("A", 0.5) == 0


def test_receipts_after_today_are_not_known_yet():
    future = LatenessRecord("A", TODAY - timedelta(days=2), TODAY + timedelta(days=5))
    model = LatenessModel.fit([receipt("A", 0) for _ in range(5)] + [future], TODAY)
    assert model.suppliers["A"].receipts == pytest.approx(5 * 0.5 ** (30 / 180))  # received 30 days ago
    assert model.suppliers["A"].last == 2  # the future receipt is a line open 2 days past its promise


def _drifting(rng, days=300):
    """Receipts promised every other day over `days`, 0 days late at first, 10 by now."""
    records = []
    for ago in range(days, 0, -2):
        promised = TODAY - timedelta(days=ago)
        late = round(10 * (days - ago) / days + rng.gauss(0, 1.5))
        records.append(LatenessRecord("D", promised, promised + timedelta(days=late)))
    return [r for r in records if r.received <= TODAY]


def test_a_supplier_getting_later_is_promised_from_where_it_is_now():
    rng = random.Random(11)
    records = _drifting(rng)
    with_trend = LatenessModel.fit(records, TODAY, prior_strength=1)
    without = LatenessModel.fit(records, TODAY, prior_strength=1, trend=False)
    assert with_trend.trends["D"] == pytest.approx(10 / 300, rel=0.25)
    assert without.days_late("D", 0.5, due_in_days=0) <= 7  # months behind
    assert 9 <= with_trend.days_late("D", 0.5, due_in_days=0) <= 11
    # and further along the trend for a lot due in a month
    assert with_trend.days_late("D", 0.5, due_in_days=30) >= with_trend.days_late("D", 0.5, due_in_days=0) + 1


def test_noise_is_not_a_trend():
    rng = random.Random(12)
    records = []
    for ago in range(300, 0, -2):
        promised = TODAY - timedelta(days=ago)
        late = round(rng.paretovariate(1.5) * 5) if rng.random() < 0.15 else round(rng.gauss(0, 1))
        records.append(LatenessRecord("H", promised, promised + timedelta(days=late)))
    model = LatenessModel.fit([r for r in records if r.received <= TODAY], TODAY)
    assert model.trends.get("H", 0.0) == 0.0


def test_counted_records_fit_like_the_lines_one_by_one():
    """(supplier, promised, received, count), as a GROUP BY gives them, is the same history."""
    from collections import Counter

    rng = random.Random(13)
    lines = []
    for po in range(400):  # purchase orders of several lines, each PO with one promise and receipt
        supplier = f"s{po % 9}"
        promised = TODAY - timedelta(days=rng.randrange(-20, 300))
        late = round(rng.gauss(2 + po % 9, 2 + po % 3)) + (po % 9 == 4) * (300 - (TODAY - promised).days) // 30
        received = promised + timedelta(days=late)
        for _ in range(rng.randint(1, 12)):
            lines.append(LatenessRecord(supplier, promised, received if received < TODAY else None))
    grouped = [(s, p, r, n) for (s, p, r), n in Counter(lines).items()]
    assert len(grouped) < len(lines) / 3
    one_by_one, counted = LatenessModel.fit(lines, TODAY), LatenessModel.fit(grouped, TODAY)
    assert counted.prior_strength == pytest.approx(one_by_one.prior_strength)
    assert counted.trends.keys() == one_by_one.trends.keys() and one_by_one.trends
    for supplier in [f"s{i}" for i in range(9)] + ["unknown"]:
        assert counted.weights.get(supplier) == pytest.approx(one_by_one.weights.get(supplier))
        assert counted.trends.get(supplier) == pytest.approx(one_by_one.trends.get(supplier))
        for due_in in (None, 40, 7, 0, -5, -30):
            assert counted.distribution(supplier, due_in_days=due_in) == \
                one_by_one.distribution(supplier, due_in_days=due_in)


def test_a_stored_fit_answers_as_the_fitted_model():
    import json

    rng = random.Random(11)
    records = _pool(rng, suppliers=12, receipts=15) + _drifting(rng) + [still_open(s, rng.randint(1, 30)) for s in "ABC"]
    fitted = LatenessModel.fit(records, TODAY)
    assert fitted.trends, "the drifting supplier's trend is part of what is stored"
    stored = LatenessModel.from_state(json.loads(json.dumps(fitted.to_state())))
    keys = list(fitted.suppliers) + ["no such supplier"]
    for key in keys:
        assert stored.credibility(key) == fitted.credibility(key)
        for due in (None, -40, -5, 0, 3, 30):
            assert stored.distribution(key, due_in_days=due) == fitted.distribution(key, due_in_days=due), (key, due)
    empty = LatenessModel.from_state(json.loads(json.dumps(LatenessModel.empty().to_state())))
    assert empty.distribution("A", declared_spread_days=4) == LatenessModel.empty().distribution("A", declared_spread_days=4)
    for bad in ({**fitted.to_state(), "version": 0}, {"version": fitted.to_state()["version"]}, {}):
        with pytest.raises(ValueError):
            LatenessModel.from_state(bad)
