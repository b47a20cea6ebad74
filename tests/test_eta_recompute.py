"""The ETA recompute on both databases: supply allocated to lines, promises, events, dirty SKUs only."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from plugin.db.models import (Backorder, BackorderEvent, LatenessFit, Order, OrderLine, OrderMark, Shop, SyncRun,
                              Variant)
from plugin.domain.lateness import FIT_VERSION
from plugin.eta import recompute as rc
from plugin.eta.bulk import BulkSql
from plugin.suppliers.services import create_supplier, sync_supplier

TODAY = date(2026, 6, 1)


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=timezone.utc)


class World:
    """A shop with variants and backorders written as the order handler leaves them (no ETA yet)."""

    def __init__(self, runtime, domain: str = "eta.myshopify.com", settings: dict | None = None):
        self.runtime = runtime
        with runtime.db.session() as session:
            shop = Shop(platform="shopify", domain=domain, status="installed", settings=settings or {})
            session.add(shop)
            session.flush()
            self.shop_id = shop.id
        self.variants: dict[str, int] = {}
        self.orders = 0

    def variant(self, sku: str, sellable: int) -> int:
        with self.runtime.db.shop_session(self.shop_id) as session:
            row = Variant(shop_id=self.shop_id, platform_variant_id=f"{self.shop_id}-{sku}", sku=sku,
                          continue_selling=True, sellable_quantity=sellable)
            session.add(row)
            session.flush()
            self.variants[sku] = row.id
        return row.id

    def backorder(self, sku: str, quantity: int, ordered: datetime, priority: int = 0) -> int:
        self.orders += 1
        with self.runtime.db.shop_session(self.shop_id) as session:
            order = Order(shop_id=self.shop_id, platform_order_id=str(1000 + self.orders), placed_at=ordered,
                          email="jon@example.com")
            line = OrderLine(shop_id=self.shop_id, platform_line_id=str(5000 + self.orders), sku=sku,
                             variant_id=self.variants[sku], quantity=quantity, open_quantity=quantity)
            order.lines.append(line)
            line.backorder = Backorder(shop_id=self.shop_id, variant_id=self.variants[sku], quantity=quantity,
                                       status="open", ordered_at=ordered, priority=priority)
            session.add(order)
            session.flush()
            return line.backorder.id

    def supplier(self, name: str, skus, **kwargs) -> int:
        kwargs.setdefault("handling_days", 1)
        return create_supplier(self.runtime, self.shop_id, name=name, primary_skus=skus, **kwargs).id

    def feed(self, supplier_id: int, rows: list[dict], today: date = TODAY):
        run = sync_supplier(self.runtime, self.shop_id, supplier_id, source="manual", rows=rows, today=today)
        assert run.status == "ok", run.errors
        return run

    def recompute(self, today: date = TODAY, **kwargs) -> rc.RecomputeCounts:
        return rc.recompute_shop(self.runtime, self.shop_id, today=today, **kwargs)

    def line(self, backorder_id: int) -> Backorder:
        with self.runtime.db.shop_session(self.shop_id) as session:
            return session.get(Backorder, backorder_id)

    def events(self) -> list[tuple]:
        with self.runtime.db.shop_session(self.shop_id) as session:
            return [(e.backorder_id, e.kind, e.promise_version, e.old_date, e.new_date) for e in
                    session.scalars(select(BackorderEvent).order_by(BackorderEvent.id))]

    def dirty(self) -> set[str]:
        with self.runtime.db.shop_session(self.shop_id) as session:
            return set(session.scalars(select(Variant.sku).where(Variant.eta_dirty.is_(True))))

    def sync_runs(self) -> list[SyncRun]:
        with self.runtime.db.shop_session(self.shop_id) as session:
            return list(session.scalars(select(SyncRun).order_by(SyncRun.id)))

    def marked_orders(self) -> set[str]:
        with self.runtime.db.shop_session(self.shop_id) as session:
            return set(session.scalars(select(Order.platform_order_id).join(OrderMark, OrderMark.order_id == Order.id)))


def lot(sku: str, quantity: int, expected: date, po: str, status: str = "ordered") -> dict:
    return {"sku": sku, "quantity": quantity, "expected_date": expected.isoformat(), "po_reference": po,
            "status": status}


def received_history(sku: str, days_late, lots: int = 6) -> list[dict]:
    """Past purchase orders of `sku`, 15 days apart, the i-th received days_late(i) days late."""
    rows = []
    for i in range(lots):
        promised = TODAY - timedelta(days=120 - 15 * i)
        rows.append(dict(lot(sku, 5, promised, f"OLD-{i}", status="received"),
                         received_date=(promised + timedelta(days=days_late(i))).isoformat()))
    return rows


@pytest.fixture(autouse=True, params=["per-line", "from-table"])
def write_path(request, monkeypatch):
    """Every test twice: line updates as an order handler's few lines are written (a statement
    each on SQLite, arrays on PostgreSQL) and as a big recompute's (a temporary table, COPY)."""
    if request.param == "from-table":
        monkeypatch.setattr(BulkSql, "SQLITE_FROM_TABLE_ROWS", 1)
        monkeypatch.setattr(BulkSql, "COPY_FROM_ROWS", 1)
    return request.param


@pytest.fixture
def world(runtime) -> World:
    return World(runtime)


def test_incoming_lots_are_handed_out_first_come_first_served(world):
    world.variant("DESK", sellable=-6)
    supplier = world.supplier("Oak Works", ["DESK"], lead_time_days=20)
    world.feed(supplier, [lot("DESK", 4, TODAY + timedelta(days=10), "PO-1"),
                          lot("DESK", 10, TODAY + timedelta(days=30), "PO-2")])
    first = world.backorder("DESK", 3, at(TODAY - timedelta(days=2)))
    second = world.backorder("DESK", 3, at(TODAY - timedelta(days=1)))

    counts = world.recompute()

    assert (counts.skus, counts.lines, counts.changed) == (1, 2, 2)
    a, b = world.line(first), world.line(second)
    # The first order takes 3 of the 4 units due in 10 days; the second waits for the next lot.
    assert (a.current_eta, a.covered_by, a.supplier_id) == (TODAY + timedelta(days=11), "supply", supplier)
    assert (b.current_eta, b.covered_by) == (TODAY + timedelta(days=31), "supply")
    # No history: the range is the point, and the first promise is what the customer is told.
    assert a.eta_earliest == a.eta_likely == a.eta_latest == a.current_eta
    assert a.promised_eta == a.original_eta == a.current_eta and a.promise_version == 1
    assert world.events() == [] and world.dirty() == set()
    assert world.marked_orders() == {"1001", "1002"}


def test_a_priority_override_jumps_the_queue(world):
    world.variant("DESK", sellable=-6)
    supplier = world.supplier("Oak Works", ["DESK"])
    world.feed(supplier, [lot("DESK", 3, TODAY + timedelta(days=5), "PO-1")])
    first = world.backorder("DESK", 3, at(TODAY - timedelta(days=2)))
    vip = world.backorder("DESK", 3, at(TODAY - timedelta(days=1)), priority=1)
    world.recompute()
    assert world.line(vip).current_eta == TODAY + timedelta(days=6)
    assert world.line(first).covered_by == "lead_time"  # nothing known covers it: reordered today


def test_lines_no_supply_covers_get_the_lead_time_from_today(world):
    world.variant("LAMP", sellable=-1)
    world.variant("VASE", sellable=-1)
    world.supplier("Linen & Light", ["LAMP"], lead_time_days=20, handling_days=2)
    lamp = world.backorder("LAMP", 1, at(TODAY - timedelta(days=3)))
    vase = world.backorder("VASE", 1, at(TODAY - timedelta(days=3)))  # no supplier: the shop's default
    world.recompute()
    assert (world.line(lamp).current_eta, world.line(lamp).covered_by) == (TODAY + timedelta(days=22), "lead_time")
    assert world.line(vase).current_eta == TODAY + timedelta(days=14)


def test_a_slipping_lot_is_a_delay_once_and_a_refund_offer_past_the_threshold(world):
    world.variant("DESK", sellable=-2)
    supplier = world.supplier("Oak Works", ["DESK"])
    world.feed(supplier, [lot("DESK", 5, TODAY + timedelta(days=10), "PO-1")])
    line = world.backorder("DESK", 2, at(TODAY - timedelta(days=1)))
    world.recompute()
    promised = world.line(line).promised_eta
    assert promised == TODAY + timedelta(days=11)

    # One day later: within the grace period (2 days) the customer is not bothered...
    world.feed(supplier, [lot("DESK", 5, TODAY + timedelta(days=11), "PO-1")])
    world.recompute()
    row = world.line(line)
    assert (row.current_eta, row.promised_eta, row.promise_version) == (promised + timedelta(days=1), promised, 1)
    assert world.events() == []

    # ...but the slip adds up against what they were told: 4 days in all is a delay.
    world.feed(supplier, [lot("DESK", 5, TODAY + timedelta(days=14), "PO-1")])
    world.recompute()
    row = world.line(line)
    assert (row.promised_eta, row.promise_version) == (TODAY + timedelta(days=15), 2)
    assert world.events() == [(line, "delay", 2, promised, TODAY + timedelta(days=15))]

    # Past the refund threshold (14 days after the first promise): a delay and a refund offer.
    world.feed(supplier, [lot("DESK", 5, TODAY + timedelta(days=40), "PO-1")])
    world.recompute()
    row = world.line(line)
    assert row.promise_version == 3 and row.refund_offered_at is not None and row.original_eta == promised
    assert world.events()[1:] == [(line, "delay", 3, TODAY + timedelta(days=15), TODAY + timedelta(days=41)),
                                  (line, "refund_offer", 3, promised, TODAY + timedelta(days=41))]

    # Running again (nothing changed, or everything recomputed) adds nothing.
    before = world.events()
    assert world.recompute().changed == 0
    assert world.recompute(full=True).changed == 0
    assert world.events() == before


def test_stock_arriving_makes_a_line_ready_once(world):
    variant = world.variant("DESK", sellable=-2)
    supplier = world.supplier("Oak Works", ["DESK"], handling_days=1)
    world.feed(supplier, [lot("DESK", 5, TODAY + timedelta(days=10), "PO-1")])
    line = world.backorder("DESK", 2, at(TODAY - timedelta(days=1)))
    world.recompute()

    # The goods came: the store's "available" rose by 2 (the order still holds its 2 units).
    with world.runtime.db.shop_session(world.shop_id) as session:
        row = session.get(Variant, variant)
        row.sellable_quantity, row.eta_dirty, row.eta_revision = 0, True, row.eta_revision + 1
    world.recompute()
    row = world.line(line)
    assert (row.status, row.covered_by, row.current_eta) == ("ready", "stock", TODAY + timedelta(days=1))
    assert [(kind, new) for _, kind, _, _, new in world.events()] == [("ready", TODAY + timedelta(days=1))]
    world.recompute(full=True)
    assert len(world.events()) == 1


def test_only_changed_skus_are_recomputed(world):
    world.variant("DESK", sellable=-1)
    world.variant("LAMP", sellable=-1)
    supplier = world.supplier("Oak Works", ["DESK", "LAMP"])
    world.feed(supplier, [lot("DESK", 5, TODAY + timedelta(days=10), "PO-1"),
                          lot("LAMP", 5, TODAY + timedelta(days=10), "PO-1")])
    desk = world.backorder("DESK", 1, at(TODAY))
    lamp = world.backorder("LAMP", 1, at(TODAY))
    world.recompute()
    lamp_before = world.line(lamp).eta_computed_at

    world.feed(supplier, [lot("DESK", 5, TODAY + timedelta(days=12), "PO-1")])
    assert world.dirty() == {"DESK"}
    counts = world.recompute()
    assert (counts.skus, counts.lines, counts.changed) == (1, 1, 1)
    assert world.line(desk).current_eta == TODAY + timedelta(days=13)
    assert world.line(lamp).eta_computed_at == lamp_before
    assert world.recompute().skus == 0  # nothing dirty, nothing read


def test_a_change_made_while_computing_is_not_overwritten(world):
    world.variant("DESK", sellable=-1)
    supplier = world.supplier("Oak Works", ["DESK"])
    world.feed(supplier, [lot("DESK", 5, TODAY + timedelta(days=10), "PO-1")])
    line = world.backorder("DESK", 1, at(TODAY))
    runtime, shop_id = world.runtime, world.shop_id
    with runtime.db.shop_session(shop_id) as session:
        shop = session.get(Shop, shop_id)
        inputs = rc._read_inputs(session, shop_id, ["DESK"])
    pending = rc._Pending()
    pending.add(inputs, rc._plan(inputs, rc.ShopPolicy.of(shop), rc.lateness_model(runtime, shop_id, TODAY), TODAY))
    # Meanwhile the supplier moves the lot: the SKU's revision moves on.
    world.feed(supplier, [lot("DESK", 5, TODAY + timedelta(days=20), "PO-1")])
    counts = rc._write_pending(runtime, shop_id, pending, chunk_lines=100)
    assert (counts.skipped_skus, counts.changed) == (1, 0)
    assert world.line(line).current_eta is None and world.dirty() == {"DESK"}
    world.recompute()  # the next run sees the new date
    assert world.line(line).current_eta == TODAY + timedelta(days=21)


def test_a_change_between_two_write_transactions_stops_the_skus_later_lines(world, monkeypatch):
    """The answer is written in line id order, a few lines per transaction: a SKU that changes
    between two of them keeps its later lines unwritten and stays dirty; the others settle."""
    world.variant("DESK", sellable=-2)  # both DESK lines are sold beyond stock
    world.variant("LAMP", sellable=-1)
    supplier = world.supplier("Oak Works", ["DESK", "LAMP"], handling_days=0)
    world.feed(supplier, [lot("DESK", 5, TODAY + timedelta(days=10), "PO-1"),
                          lot("LAMP", 5, TODAY + timedelta(days=10), "PO-1")])
    first = world.backorder("DESK", 1, at(TODAY))
    lamp = world.backorder("LAMP", 1, at(TODAY))
    second = world.backorder("DESK", 1, at(TODAY, 13))
    written = []
    real = rc._write_chunk

    def write_chunk(runtime, shop_id, pending, chunk, *args):
        following = real(runtime, shop_id, pending, chunk, *args)
        written.append([update[0] for update in chunk.updates])  # the chunk as prepared
        if len(written) == 1:  # after the first transaction committed, the DESK lot moves
            world.feed(supplier, [lot("DESK", 5, TODAY + timedelta(days=20), "PO-1"),
                                  lot("LAMP", 5, TODAY + timedelta(days=10), "PO-1")])
        return following

    monkeypatch.setattr(rc, "_write_chunk", write_chunk)
    counts = world.recompute(chunk_lines=1)
    assert written == [[first], [lamp], [second]]
    assert (counts.changed, counts.skipped_skus) == (2, 1)
    assert world.line(first).current_eta == TODAY + timedelta(days=10)  # written before the change
    assert world.line(lamp).current_eta == TODAY + timedelta(days=10)
    assert world.line(second).current_eta is None  # not written with an answer computed before the change
    assert world.dirty() == {"DESK"}
    monkeypatch.setattr(rc, "_write_chunk", real)
    world.recompute()  # the next run takes every DESK line again
    assert world.line(first).current_eta == world.line(second).current_eta == TODAY + timedelta(days=20)
    assert world.dirty() == set()


def test_supplier_lateness_learnt_from_history_widens_the_range(world):
    world.variant("LAMP", sellable=-1)
    supplier = world.supplier("Linen & Light", ["LAMP"], handling_days=0)
    # Six past purchase orders, each received a week after the promised date.
    world.feed(supplier, received_history("LAMP", lambda i: 7 + i % 2), today=TODAY - timedelta(days=30))
    world.feed(supplier, [lot("LAMP", 5, TODAY + timedelta(days=10), "PO-9")])
    line = world.backorder("LAMP", 1, at(TODAY))
    world.recompute()
    row = world.line(line)
    due = TODAY + timedelta(days=10)
    assert row.covered_by == "supply"
    assert row.eta_earliest >= due + timedelta(days=7) and row.eta_latest <= due + timedelta(days=8)
    assert row.eta_earliest <= row.eta_likely <= row.current_eta <= row.eta_latest


def test_the_lateness_fit_is_stored_and_used_until_the_history_changes(world, monkeypatch):
    world.variant("LAMP", sellable=-1)
    supplier = world.supplier("Linen & Light", ["LAMP"], handling_days=0)
    history = received_history("LAMP", lambda i: 7)
    assert world.feed(supplier, history, today=TODAY - timedelta(days=30)).history_changed
    assert world.feed(supplier, [lot("LAMP", 5, TODAY + timedelta(days=10), "PO-9")]).history_changed  # a new line
    line = world.backorder("LAMP", 1, at(TODAY))
    reads = []
    history_of = BulkSql.lateness_history
    monkeypatch.setattr(BulkSql, "lateness_history", lambda sql: reads.append(sql.shop_id) or history_of(sql))

    def fresh_process_recompute(today=TODAY):
        world.runtime.extras.pop("lateness_models", None)  # what a new process starts without
        reads.clear()
        world.recompute(today=today, full=True)  # (a recompute with nothing dirty fits nothing)
        return len(reads), world.line(line)

    def stored():
        with world.runtime.db.shop_session(world.shop_id) as session:
            fit = session.get(LatenessFit, world.shop_id)
            return fit and (fit.history_run_id, fit.fitted_for, fit.fit_version)

    read, row = fresh_process_recompute()
    assert read == 1 and row.eta_earliest == TODAY + timedelta(days=17)
    last_history_run = max(r.id for r in world.sync_runs() if r.history_changed)
    assert stored() == (last_history_run, TODAY, FIT_VERSION)

    # Moving an expected date changes nothing the fit learnt from: the stored fit serves.
    moved = world.feed(supplier, [lot("LAMP", 5, TODAY + timedelta(days=12), "PO-9")])
    assert not moved.history_changed
    read, row = fresh_process_recompute()
    assert read == 0 and row.eta_earliest == TODAY + timedelta(days=19)

    # A receipt is history: fitted again (the lot came 3 days late, so now it is learnt from too).
    received = world.feed(supplier, [dict(lot("LAMP", 5, TODAY + timedelta(days=12), "PO-9", status="received"),
                                          received_date=(TODAY + timedelta(days=3)).isoformat())],
                          today=TODAY + timedelta(days=3))
    assert received.history_changed
    read, _ = fresh_process_recompute()
    assert read == 1 and stored() == (received.id, TODAY, FIT_VERSION)
    # So is another day; and a stored fit nobody can read is fitted again and written over.
    assert fresh_process_recompute(TODAY + timedelta(days=1))[0] == 1
    with world.runtime.db.shop_session(world.shop_id) as session:
        session.get(LatenessFit, world.shop_id).state = "{not json"
    assert fresh_process_recompute(TODAY + timedelta(days=1))[0] == 1
    assert fresh_process_recompute(TODAY + timedelta(days=1))[0] == 0
    # A sync that changed nothing at all (every row as it was) changes no history either.
    assert not world.feed(supplier, [lot("LAMP", 5, TODAY + timedelta(days=12), "PO-9", status="received")],
                          today=TODAY + timedelta(days=3)).history_changed


def test_a_shops_stored_lateness_fit_is_its_own(runtime):
    late, punctual = World(runtime, "late.myshopify.com"), World(runtime, "punctual.myshopify.com")
    lines = {}
    for w, days_late in ((late, 9), (punctual, 0)):
        w.variant("LAMP", sellable=-1)
        supplier = w.supplier("Linen & Light", ["LAMP"], handling_days=0)
        w.feed(supplier, [dict(lot("LAMP", 5, TODAY - timedelta(days=60 - 10 * i), f"OLD-{i}", status="received"),
                               received_date=(TODAY - timedelta(days=60 - 10 * i - days_late)).isoformat())
                          for i in range(5)] + [lot("LAMP", 5, TODAY + timedelta(days=10), "PO-9")])
        lines[w] = w.backorder("LAMP", 1, at(TODAY))
    late.recompute()
    runtime.extras.pop("lateness_models", None)
    punctual.recompute()
    assert late.line(lines[late]).eta_earliest == TODAY + timedelta(days=19)
    assert punctual.line(lines[punctual]).eta_earliest == TODAY + timedelta(days=10)
    with runtime.db.session() as session:
        assert {fit.shop_id for fit in session.scalars(select(LatenessFit))} == {late.shop_id, punctual.shop_id}


def test_one_shop_is_never_touched_by_another_shops_recompute(runtime):
    a, b = World(runtime, "a.myshopify.com"), World(runtime, "b.myshopify.com")
    for w in (a, b):
        w.variant("DESK", sellable=-1)
    line_b = b.backorder("DESK", 1, at(TODAY))
    a.backorder("DESK", 1, at(TODAY))
    a.recompute(full=True)
    assert b.line(line_b).current_eta is None and b.dirty() == {"DESK"}
    assert rc.dirty_shops(runtime) == [b.shop_id]


def test_the_promise_quantile_is_the_shops_setting(runtime):
    cautious = World(runtime, "p95.myshopify.com", settings={"promise_quantile": 0.95})
    cautious.variant("LAMP", sellable=-1)
    supplier = cautious.supplier("Wobbly", ["LAMP"], handling_days=0, lead_time_spread_days=6)
    cautious.feed(supplier, [lot("LAMP", 5, TODAY + timedelta(days=20), "PO-1")])
    line = cautious.backorder("LAMP", 1, at(TODAY))
    cautious.recompute()
    row = cautious.line(line)
    # No history yet: the declared spread (P90 = +6 days) makes the range; P95 lies beyond P90.
    assert row.eta_earliest < row.eta_likely < row.eta_latest < row.current_eta


def test_batches_are_read_on_one_connection_whose_big_cache_is_given_back(world):
    """Each batch a snapshot of its own (it sees what was committed before it), on the reader's
    one connection; SQLite's cache is the reader's while it reads and the default after."""
    from plugin.eta.bulk import batch_reader, read_snapshot

    world.variant("DESK", sellable=-1)
    db = world.runtime.db
    with batch_reader(db, cache_kib=4321) as reader:
        dbapi = reader.driver_connection
        with read_snapshot(db, world.shop_id, reader) as sql:
            assert sql.dbapi is dbapi
            assert [row[1] for row in sql.variants(["DESK"], [])] == ["DESK"]
            if db.is_sqlite:
                assert sql._all("PRAGMA cache_size", ())[0][0] == -4321
        world.variant("LAMP", sellable=-1)  # committed between two batches
        with read_snapshot(db, world.shop_id, reader) as sql:
            assert sql.dbapi is dbapi and [row[1] for row in sql.variants(["LAMP"], [])] == ["LAMP"]
    if db.is_sqlite:
        assert dbapi.execute("PRAGMA cache_size").fetchone()[0] == -2000  # SQLite's default again


def _three_skus(world) -> dict[str, int]:
    """DESK, LAMP and SHELF, each with a lot and one line sold beyond stock (no ETA yet)."""
    supplier = world.supplier("Oak Works", ["DESK", "LAMP", "SHELF"], handling_days=0)
    lines = {}
    for days, sku in enumerate(("DESK", "LAMP", "SHELF"), start=10):
        world.variant(sku, sellable=-1)
    world.feed(supplier, [lot(sku, 5, TODAY + timedelta(days=days), "PO-1")
                          for days, sku in enumerate(("DESK", "LAMP", "SHELF"), start=10)])
    for sku in ("DESK", "LAMP", "SHELF"):
        lines[sku] = world.backorder(sku, 1, at(TODAY))
    return lines


@pytest.mark.parametrize("max_pending_lines", [1, None])
def test_a_recompute_in_several_batches_writes_every_batch_and_reports_its_progress(world, max_pending_lines):
    """Written after each batch, or (None: the default) once for all three."""
    lines = _three_skus(world)
    seen = []
    counts = world.recompute(full=True, batch_skus=1, max_pending_lines=max_pending_lines,
                             progress=lambda done, total: seen.append((done, total)))
    assert (counts.skus, counts.lines, counts.changed, counts.orders_marked) == (3, 3, 3, 3)
    assert [world.line(lines[sku]).current_eta for sku in ("DESK", "LAMP", "SHELF")] == \
        [TODAY + timedelta(days=days) for days in (10, 11, 12)]
    assert world.dirty() == set() and len(world.marked_orders()) == 3
    assert seen[-1] == (6, 6) and [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_postgresql_writes_gathered_batches_while_the_next_ones_are_computed(world, monkeypatch):
    """PostgreSQL: once `max_pending_lines` changed lines are gathered they are written on a
    thread of their own while the next batches are read and computed (the server's UPDATE and our
    Python overlap). SQLite writes them first, then computes on."""
    import threading

    _three_skus(world)
    planned, overlapped, threads = threading.Event(), [], set()
    real_plan, real_write = rc._plan, rc._write_pending

    def plan(inputs, *args):
        if list(inputs.skus) == ["LAMP"]:
            planned.set()  # the second batch is being computed
        return real_plan(inputs, *args)

    def write_pending(runtime, shop_id, pending, **kwargs):
        threads.add(threading.current_thread().name.split("_")[0])
        if len(overlapped) == 0 and world.runtime.db.dialect == "postgresql":
            overlapped.append(planned.wait(timeout=10))  # the first batch's write waits for the second's plan
        else:
            overlapped.append(planned.is_set())
        return real_write(runtime, shop_id, pending, **kwargs)

    monkeypatch.setattr(rc, "_plan", plan)
    monkeypatch.setattr(rc, "_write_pending", write_pending)
    counts = world.recompute(full=True, batch_skus=1, max_pending_lines=1)
    assert counts.changed == 3 and world.dirty() == set()
    if world.runtime.db.dialect == "postgresql":
        assert overlapped == [True, True, True] and threads == {"eta-flush"}
    else:
        assert overlapped == [False, True, True] and threads == {"MainThread"}


def test_a_failed_batch_write_fails_the_recompute_and_leaves_its_skus_dirty(world, monkeypatch):
    _three_skus(world)

    def write_pending(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(rc, "_write_pending", write_pending)
    with pytest.raises(RuntimeError, match="went away"):
        world.recompute(full=True, batch_skus=1, max_pending_lines=1)
    assert world.dirty() == {"DESK", "LAMP", "SHELF"}
