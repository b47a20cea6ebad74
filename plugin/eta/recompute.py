"""Recompute backorder ETAs from stock, incoming supply and supplier lateness, and record what changed.

The engine itself is pure (plugin.domain: allocation, lateness, eta); this module feeds it from the
database and writes its answer back:

* Work is per SKU, because supply is per SKU: a SKU is recomputed when one of its variants is
  `eta_dirty` (its stock, supply, supplier list or backorders changed), or on a full run.
* The scheduled recompute reads a batch of SKUs in one transaction, computes outside any
  transaction, and writes in a second one. Every change to a variant's inputs bumps its
  `eta_revision`; the write goes through only for SKUs whose variants are still at the revision
  that was read (rows locked on PostgreSQL; SQLite has one writer), else the SKU stays dirty for
  the next run. So a big shop's recompute never holds the write lock while it thinks, and an order
  arriving meanwhile is never overwritten with an answer computed without it.
* The order handler recomputes the SKUs of its order inside its own transaction
  (`recompute_variants_in_session`), so a new backorder gets its real promise before the order is
  tagged and the customer told.
* Only rows whose values change are written; a line's promise to the customer (`promised_eta`)
  moves only with a delay event (see domain.eta.detect_events). Events are stored once per
  (line, kind, promise version), and orders whose lines changed get `marks_dirty` for the push job.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Callable, Iterable, Sequence

from sqlalchemy import and_, bindparam, func, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from plugin.db.models import (
    Backorder,
    BackorderEvent,
    Order,
    OrderLine,
    Shop,
    Supplier,
    SupplierSku,
    SupplyLine,
    SyncRun,
    Variant,
)
from plugin.domain.allocation import STOCK, BackorderLine, OnHand, SupplyLot
from plugin.domain.backorders import platform_sequence
from plugin.domain.eta import DELAY, READY, REFUND_OFFER, EtaEstimator, PromiseState, SupplierProfile, detect_events
from plugin.domain.lateness import LatenessModel

log = logging.getLogger(__name__)

ACTIVE = ("open", "ready")
INCOMING = ("ordered", "shipped")  # received lots are in the platform's stock already
IN_CHUNK = 500  # ids per IN (...) list
DEFAULT_BATCH_SKUS = 2000

Progress = Callable[[int, int], None]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class RecomputeCounts:
    skus: int = 0
    lines: int = 0
    changed: int = 0
    skipped_skus: int = 0  # changed while we computed: left dirty for the next run
    orders_marked: int = 0
    events: dict[str, int] = field(default_factory=lambda: {DELAY: 0, REFUND_OFFER: 0, READY: 0})
    # Orders whose store marks must be rewritten (kept only by in-session recomputes; the
    # scheduled one leaves them to the push job through orders.marks_dirty).
    order_ids: set[int] = field(default_factory=set)

    def add(self, other: RecomputeCounts) -> None:
        self.skus += other.skus
        self.lines += other.lines
        self.changed += other.changed
        self.skipped_skus += other.skipped_skus
        self.orders_marked += other.orders_marked
        for kind, n in other.events.items():
            self.events[kind] = self.events.get(kind, 0) + n

    def as_dict(self) -> dict:
        return {"skus": self.skus, "lines": self.lines, "changed": self.changed, "skipped_skus": self.skipped_skus,
                "orders_marked": self.orders_marked, "events": dict(self.events)}


@dataclass(frozen=True)
class ShopPolicy:
    """The shop's settings the engine needs, read once per run."""

    shop_id: int
    promise_quantile: float
    grace_days: int
    refund_threshold_days: int
    default_lead_days: int

    @classmethod
    def of(cls, shop: Shop) -> ShopPolicy:
        return cls(shop.id, float(shop.setting("promise_quantile")), int(shop.setting("delay_grace_days")),
                   int(shop.setting("refund_threshold_days")), int(shop.setting("default_lead_time_days")))


# -- entry points ---------------------------------------------------------------------------------

def recompute_shop(runtime, shop_id: int, *, full: bool = False, today: date | None = None,
                   batch_skus: int = DEFAULT_BATCH_SKUS, progress: Progress | None = None) -> RecomputeCounts:
    """Recompute the shop's dirty SKUs (every SKU with open backorders when `full`)."""
    today = today or utcnow().date()
    with runtime.db.shop_session(shop_id) as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            raise LookupError(f"shop {shop_id} not found")
        policy = ShopPolicy.of(shop)
        skus = _target_skus(session, shop_id, full)
    counts = RecomputeCounts()
    if not skus:
        return counts
    lateness = lateness_model(runtime, shop_id, today)
    done = 0
    for start in range(0, len(skus), batch_skus):
        batch = skus[start:start + batch_skus]
        with runtime.db.shop_session(shop_id) as session:
            inputs = _read_inputs(session, shop_id, batch)
        plan = _plan(inputs, policy, lateness, today)
        with runtime.db.shop_session(shop_id) as session:
            counts.add(_write(session, shop_id, inputs, plan, check_revisions=True, bump_revisions=False))
        done += len(batch)
        if progress is not None:
            progress(done, len(skus))
    log.info("etas recomputed", extra={"shop_id": shop_id, "full": full, "counts": counts.as_dict()})
    return counts


def recompute_variants_in_session(runtime, session: Session, shop: Shop, variant_ids: Iterable[int], *,
                                  today: date | None = None) -> RecomputeCounts:
    """Recompute the SKUs of these variants inside the caller's transaction (which holds their locks).

    Bumps their revision, so a scheduled recompute that read them earlier discards its answer.
    """
    today = today or utcnow().date()
    ids = sorted(set(variant_ids))
    if not ids:
        return RecomputeCounts()
    session.flush()
    keys = sorted({_sku_key(variant_id, sku) for variant_id, sku in _chunked_rows(
        session, lambda chunk: select(Variant.id, Variant.sku).where(Variant.shop_id == shop.id, Variant.id.in_(chunk)),
        ids)})
    inputs = _read_inputs(session, shop.id, keys)
    plan = _plan(inputs, ShopPolicy.of(shop), lateness_model(runtime, shop.id, today, session), today)
    counts = _write(session, shop.id, inputs, plan, check_revisions=False, bump_revisions=True)
    session.expire_all()  # the ORM objects the caller holds were changed behind its back
    return counts


# -- lateness, cached per shop --------------------------------------------------------------------

_lateness_lock = threading.Lock()


def lateness_model(runtime, shop_id: int, today: date, session: Session | None = None) -> LatenessModel:
    """The shop's suppliers' lateness as of `today`, fitted on all its purchase-order history.

    Fitting reads every PO line of the shop, too much to repeat for each order webhook, so the
    model is kept per shop and refitted when a sync has run since (every change to supply lines
    goes through a sync run) or the day changes. `session`: read through the caller's
    transaction (a second one would wait for the caller's write lock on SQLite).
    """
    if session is None:
        with runtime.db.shop_session(shop_id) as own:
            return lateness_model(runtime, shop_id, today, own)
    marker = session.scalar(select(func.max(SyncRun.id)).where(SyncRun.shop_id == shop_id))
    cache = runtime.extras.setdefault("lateness_models", {})
    found = cache.get(shop_id)
    if found is not None and found[0] == (marker, today):
        return found[1]
    records = session.execute(
        select(SupplyLine.supplier_id, SupplyLine.promised_date, SupplyLine.received_date).where(
            SupplyLine.shop_id == shop_id, SupplyLine.status != "cancelled",
            SupplyLine.promised_date.is_not(None))).all()
    model = LatenessModel.fit(records, today) if records else LatenessModel.empty()
    with _lateness_lock:
        cache[shop_id] = ((marker, today), model)
    return model


# -- reading --------------------------------------------------------------------------------------

@dataclass
class Inputs:
    skus: list[str]
    variants: list[tuple]  # (id, sku key, sellable, revision)
    lines: list[tuple]  # LINE_COLUMNS, then order id, platform order id, platform line id
    lots: list[SupplyLot]
    sku_suppliers: dict[str, int]
    suppliers: dict[int, SupplierProfile]
    # Backorder id -> the merchant's own ship date (admin "override ETA"): promised instead of
    # the engine's date for as long as it is set (see `_plan`).
    overrides: dict[int, date] = field(default_factory=dict)


LINE_COLUMNS = (
    Backorder.id, Backorder.variant_id, Backorder.quantity, Backorder.priority, Backorder.ordered_at,
    Backorder.status, Backorder.promised_eta, Backorder.original_eta, Backorder.current_eta,
    Backorder.eta_earliest, Backorder.eta_likely, Backorder.eta_latest, Backorder.covered_by,
    Backorder.supplier_id, Backorder.promise_version, Backorder.refund_offered_at,
)
(L_ID, L_VARIANT, L_QTY, L_PRIORITY, L_ORDERED, L_STATUS, L_PROMISED, L_ORIGINAL, L_CURRENT, L_EARLIEST,
 L_LIKELY, L_LATEST, L_COVERED, L_SUPPLIER, L_VERSION, L_REFUND, L_ORDER, L_PLATFORM_ORDER, L_PLATFORM_LINE) = range(19)


def _sku_key(variant_id: int, sku: str | None) -> str:
    """Supply is matched by SKU; a variant without one is a queue of its own."""
    return sku if sku else f"\x00variant:{variant_id}"


def _target_skus(session: Session, shop_id: int, full: bool) -> list[str]:
    condition = Variant.eta_dirty == true()
    if full:
        active = select(Backorder.variant_id).where(Backorder.shop_id == shop_id, Backorder.status.in_(ACTIVE))
        condition = or_(condition, Variant.id.in_(active))
    rows = session.execute(select(Variant.id, Variant.sku).where(Variant.shop_id == shop_id, condition)).all()
    return sorted({_sku_key(variant_id, sku) for variant_id, sku in rows})


def _chunked_rows(session: Session, make_query, values: Sequence, size: int = IN_CHUNK) -> list[tuple]:
    rows: list[tuple] = []
    for start in range(0, len(values), size):
        rows.extend(session.execute(make_query(values[start:start + size])).all())
    return rows


def _read_inputs(session: Session, shop_id: int, skus: list[str]) -> Inputs:
    named = [sku for sku in skus if not sku.startswith("\x00")]
    unnamed = [int(sku.rsplit(":", 1)[1]) for sku in skus if sku.startswith("\x00")]
    variant_columns = (Variant.id, Variant.sku, Variant.sellable_quantity, Variant.eta_revision)
    variants = _chunked_rows(session, lambda chunk: select(*variant_columns).where(
        Variant.shop_id == shop_id, Variant.sku.in_(chunk)), named)
    variants += _chunked_rows(session, lambda chunk: select(*variant_columns).where(
        Variant.shop_id == shop_id, Variant.id.in_(chunk), Variant.sku.is_(None)), unnamed)
    variants = [(vid, _sku_key(vid, sku), sellable, revision) for vid, sku, sellable, revision in variants]
    variant_ids = sorted(row[0] for row in variants)
    lines = _chunked_rows(session, lambda chunk: select(
        *LINE_COLUMNS, OrderLine.order_id, Order.platform_order_id, OrderLine.platform_line_id)
        .join(OrderLine, OrderLine.id == Backorder.order_line_id).join(Order, Order.id == OrderLine.order_id)
        .where(Backorder.shop_id == shop_id, Backorder.status.in_(ACTIVE), Backorder.variant_id.in_(chunk)),
        variant_ids)
    lots = [SupplyLot(lot_id, sku, location, quantity, expected, supplier_id, status)
            for lot_id, sku, location, quantity, expected, supplier_id, status in _chunked_rows(
                session, lambda chunk: select(SupplyLine.id, SupplyLine.sku, SupplyLine.location, SupplyLine.quantity,
                                              SupplyLine.expected_date, SupplyLine.supplier_id, SupplyLine.status)
                .where(SupplyLine.shop_id == shop_id, SupplyLine.sku.in_(chunk), SupplyLine.status.in_(INCOMING)),
                named)]
    suppliers = {sid: SupplierProfile(sid, lead, spread, handling) for sid, lead, spread, handling, active in
                 session.execute(select(Supplier.id, Supplier.lead_time_days, Supplier.lead_time_spread_days,
                                        Supplier.handling_days, Supplier.active).where(Supplier.shop_id == shop_id))
                 if active}
    sku_suppliers: dict[str, int] = {}
    ranked = sorted(_chunked_rows(session, lambda chunk: select(SupplierSku.sku, SupplierSku.role, SupplierSku.supplier_id)
                                  .where(SupplierSku.shop_id == shop_id, SupplierSku.sku.in_(chunk)), named),
                    key=lambda row: (row[1] != "primary", row[2]))
    for sku, _role, supplier_id in ranked:  # the primary supplier first; substitutes only without one
        if supplier_id in suppliers:
            sku_suppliers.setdefault(sku, supplier_id)
    # The merchant's ETA overrides; few lines have one (the partial index ix_backorders_overridden).
    overrides = dict(_chunked_rows(session, lambda chunk: select(Backorder.id, Backorder.eta_override).where(
        Backorder.shop_id == shop_id, Backorder.eta_override.is_not(None), Backorder.status.in_(ACTIVE),
        Backorder.variant_id.in_(chunk)), variant_ids))
    return Inputs(skus, variants, lines, lots, sku_suppliers, suppliers, overrides)


# -- computing ------------------------------------------------------------------------------------

@dataclass
class Plan:
    updates: list[dict]
    events: list[dict]
    orders: set[int]
    lines: int
    counts: dict[str, int]


def _plan(inputs: Inputs, policy: ShopPolicy, lateness: LatenessModel, today: date) -> Plan:
    """What to write: pure computation over what was read (no session, no I/O)."""
    sku_of = {vid: key for vid, key, _, _ in inputs.variants}
    free: dict[str, int] = {}
    for _vid, key, sellable, _rev in inputs.variants:
        free[key] = free.get(key, 0) + sellable
    lines: list[BackorderLine] = []
    by_id: dict[int, tuple] = {}
    for row in inputs.lines:
        key = sku_of.get(row[L_VARIANT])
        if key is None or row[L_QTY] <= 0:
            continue
        # Stock not yet claimed by backorder lines: "available" (already net of every open order)
        # plus the units of the lines we are placing, which that figure has subtracted.
        free[key] = free.get(key, 0) + row[L_QTY]
        by_id[row[L_ID]] = row
        lines.append(BackorderLine(row[L_ID], key, None, row[L_ORDERED], row[L_QTY], row[L_PRIORITY],
                                   platform_sequence(row[L_PLATFORM_ORDER], row[L_PLATFORM_LINE])))
    on_hand = [OnHand(key, None, units) for key, units in free.items() if units > 0]
    estimator = EtaEstimator(today=today, lateness=lateness, suppliers=inputs.suppliers,
                             sku_suppliers=inputs.sku_suppliers,
                             default_supplier=SupplierProfile(None, lead_time_days=policy.default_lead_days,
                                                              handling_days=0),
                             promise_quantile=policy.promise_quantile)
    etas = estimator.promise(lines, on_hand, inputs.lots)
    for line_id, day in inputs.overrides.items():  # the merchant's date is the promise while it is set
        if line_id in etas:
            etas[line_id] = etas[line_id]._replace(promise=day)

    # Events only where the answer moved (or a line has no promise yet): for an unchanged answer
    # detect_events would repeat what the previous run already applied.
    states: dict[int, PromiseState] = {}
    moved = []
    for line_id, eta in etas.items():
        row = by_id[line_id]
        if row[L_PROMISED] is not None and eta.promise == row[L_CURRENT] and eta.covered_by == row[L_COVERED]:
            continue
        moved.append(eta)
        if row[L_PROMISED] is not None:
            states[line_id] = PromiseState(row[L_PROMISED], row[L_ORIGINAL], row[L_STATUS] == "ready",
                                           row[L_REFUND] is not None)
    found: dict[int, list] = {}
    for event in detect_events(states, moved, grace_days=policy.grace_days,
                               refund_threshold_days=policy.refund_threshold_days):
        found.setdefault(event.key, []).append(event)

    now = utcnow()
    updates, events, orders = [], [], set()
    counts = {DELAY: 0, REFUND_OFFER: 0, READY: 0}
    for line_id, eta in etas.items():
        row = by_id[line_id]
        status = "ready" if eta.covered_by == STOCK else "open"
        promised = row[L_PROMISED] or eta.promise
        original = row[L_ORIGINAL] or promised
        version, refund_at = row[L_VERSION], row[L_REFUND]
        happened = found.get(line_id, ())
        for event in happened:
            if event.kind == DELAY:
                promised, version = event.new, version + 1
        for event in happened:
            if event.kind == REFUND_OFFER:
                refund_at = now
            counts[event.kind] += 1
            events.append({"backorder_id": line_id, "kind": event.kind, "promise_version": version,
                           "old_date": event.old, "new_date": event.new})
        new = (status, promised, original, eta.promise, eta.earliest, eta.likely, eta.latest, eta.covered_by,
               eta.supplier_key, version, refund_at)
        old = (row[L_STATUS], row[L_PROMISED], row[L_ORIGINAL], row[L_CURRENT], row[L_EARLIEST], row[L_LIKELY],
               row[L_LATEST], row[L_COVERED], row[L_SUPPLIER], row[L_VERSION], row[L_REFUND])
        if new == old:
            continue
        updates.append({"b_id": line_id, "b_status": status, "b_promised": promised, "b_original": original,
                        "b_current": eta.promise, "b_earliest": eta.earliest, "b_likely": eta.likely,
                        "b_latest": eta.latest, "b_covered": eta.covered_by, "b_supplier": eta.supplier_key,
                        "b_version": version, "b_refund": refund_at, "b_at": now})
        if status != row[L_STATUS] or eta.promise != row[L_CURRENT]:
            orders.add(row[L_ORDER])  # what the store shows (tag, line ETAs) changed
    return Plan(updates, events, orders, len(lines), counts)


# -- writing --------------------------------------------------------------------------------------

_UPDATE_BACKORDER = (
    update(Backorder.__table__)
    .where(Backorder.__table__.c.id == bindparam("b_id"), Backorder.__table__.c.shop_id == bindparam("b_shop"))
    .values(status=bindparam("b_status"), promised_eta=bindparam("b_promised"), original_eta=bindparam("b_original"),
            current_eta=bindparam("b_current"), eta_earliest=bindparam("b_earliest"),
            eta_likely=bindparam("b_likely"), eta_latest=bindparam("b_latest"), covered_by=bindparam("b_covered"),
            supplier_id=bindparam("b_supplier"), promise_version=bindparam("b_version"),
            refund_offered_at=bindparam("b_refund"), eta_computed_at=bindparam("b_at"), updated_at=bindparam("b_at"))
)


def _write(session: Session, shop_id: int, inputs: Inputs, plan: Plan, *, check_revisions: bool,
           bump_revisions: bool) -> RecomputeCounts:
    conn = session.connection()
    counts = RecomputeCounts(skus=len(inputs.skus), lines=plan.lines)
    variant_ids = sorted(vid for vid, _, _, _ in inputs.variants)
    if check_revisions and variant_ids:
        query = select(Variant.id, Variant.eta_revision)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        current = dict(_chunked_rows(session, lambda chunk: query.where(
            Variant.shop_id == shop_id, Variant.id.in_(chunk)).order_by(Variant.id), variant_ids))
        stale_skus = {key for vid, key, _, revision in inputs.variants if current.get(vid) != revision}
        if stale_skus:
            # Someone changed these SKUs' inputs after we read them: drop our answer for them.
            counts.skipped_skus = len(stale_skus)
            keep = {vid for vid, key, _, _ in inputs.variants if key not in stale_skus}
            sku_ok = {row[L_ID] for row in inputs.lines if row[L_VARIANT] in keep}
            plan = Plan([u for u in plan.updates if u["b_id"] in sku_ok],
                        [e for e in plan.events if e["backorder_id"] in sku_ok],
                        {row[L_ORDER] for row in inputs.lines if row[L_ID] in sku_ok and row[L_ORDER] in plan.orders},
                        plan.lines, _recount(plan.events, sku_ok))
            variant_ids = sorted(keep)
    if plan.updates:
        conn.execute(_UPDATE_BACKORDER, [dict(item, b_shop=shop_id) for item in plan.updates])
    if plan.events:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        now = utcnow()
        conn.execute(insert(BackorderEvent.__table__).on_conflict_do_nothing(
            index_elements=["backorder_id", "kind", "promise_version"]),
            [dict(item, shop_id=shop_id, created_at=now) for item in plan.events])
    orders = sorted(plan.orders)
    for start in range(0, len(orders), IN_CHUNK):
        conn.execute(update(Order.__table__).where(Order.__table__.c.shop_id == shop_id,
                                                   Order.__table__.c.id.in_(orders[start:start + IN_CHUNK]))
                     .values(marks_dirty=True))
    table = Variant.__table__
    values = {"eta_dirty": False}
    if bump_revisions:
        values["eta_revision"] = table.c.eta_revision + 1
    for start in range(0, len(variant_ids), IN_CHUNK):
        conn.execute(update(table).where(table.c.shop_id == shop_id,
                                         table.c.id.in_(variant_ids[start:start + IN_CHUNK])).values(**values))
    counts.changed = len(plan.updates)
    counts.orders_marked = len(orders)
    if bump_revisions:
        counts.order_ids = set(orders)
    counts.events = dict(plan.counts)
    return counts


def _recount(events: list[dict], keep: set[int]) -> dict[str, int]:
    counts = {DELAY: 0, REFUND_OFFER: 0, READY: 0}
    for event in events:
        if event["backorder_id"] in keep:
            counts[event["kind"]] += 1
    return counts


def dirty_shops(runtime) -> list[int]:
    """Installed shops with at least one dirty variant."""
    with runtime.db.session() as session:
        return list(session.scalars(
            select(Shop.id).where(Shop.status == "installed",
                                  select(Variant.id).where(and_(Variant.shop_id == Shop.id, Variant.eta_dirty == true()))
                                  .exists()).order_by(Shop.id)))
