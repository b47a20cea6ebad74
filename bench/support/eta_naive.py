"""The naive way to recompute ETAs, for `bench/eta_recompute.py` to compare against: line by line
through the ORM.

For each backorder line: load it (`session.get`), then query its SKU's variants, incoming supply
lines, supplier rows and every sibling line (the whole queue of the SKU, since a line's place in
it decides what covers it), compute the queue with the same domain functions as the engine
(`EtaEstimator.promise`), take this line's answer and set it on the object. One transaction for
the whole loop, with the ORM's autoflush writing each changed object before the next query: the
kindest version of the naive loop (no commit per line). The lateness model is fitted once, up
front, from the ORM's rows, and timed apart: only the per-line loop is extrapolated.

Events are left out (a first promise has none but "ready"); the values are compared with what the
engine wrote, so the comparison also cross-checks the engine's bulk reading of its inputs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from sqlalchemy import select

from plugin.db.models import Backorder, Order, OrderLine, Shop, Supplier, SupplierSku, SupplyLine, Variant
from plugin.domain.allocation import STOCK, BackorderLine, OnHand, SupplyLot
from plugin.domain.backorders import platform_sequence
from plugin.domain.eta import EtaEstimator, SupplierProfile
from plugin.domain.lateness import LatenessModel

ACTIVE = ("open", "ready")
INCOMING = ("ordered", "shipped")
COMPARED = ("status", "current_eta", "eta_earliest", "eta_likely", "eta_latest", "covered_by", "supplier_id")


@dataclass
class NaiveResult:
    fit_seconds: float = 0.0
    loop_seconds: float = 0.0
    lines_done: int = 0
    timed_out: bool = False
    answers: dict[int, tuple] = field(default_factory=dict)  # backorder id -> COMPARED values


def naive_recompute(runtime, shop_id: int, backorder_ids: list[int], *, today: date,
                    time_limit: float) -> NaiveResult:
    result = NaiveResult()
    started = time.perf_counter()
    with runtime.db.shop_session(shop_id) as session:
        records = [(r.supplier_id, r.promised_date, r.received_date) for r in session.scalars(
            select(SupplyLine).where(SupplyLine.status != "cancelled", SupplyLine.promised_date.is_not(None)))]
        lateness = LatenessModel.fit(records, today) if records else LatenessModel.empty()
        del records
    result.fit_seconds = time.perf_counter() - started

    started = time.perf_counter()
    deadline = started + time_limit
    with runtime.db.shop_session(shop_id) as session:
        shop = session.get(Shop, shop_id)
        suppliers = {s.id: SupplierProfile(s.id, s.lead_time_days, s.lead_time_spread_days, s.handling_days)
                     for s in session.scalars(select(Supplier)) if s.active}
        default = SupplierProfile(None, lead_time_days=int(shop.setting("default_lead_time_days")), handling_days=0)
        quantile = float(shop.setting("promise_quantile"))
        for backorder_id in backorder_ids:
            if time.perf_counter() > deadline:
                result.timed_out = True
                break
            line = session.get(Backorder, backorder_id)
            variant = session.get(Variant, line.variant_id)
            sku = variant.sku
            variants = session.scalars(select(Variant).where(Variant.sku == sku)).all()
            lots = session.scalars(select(SupplyLine).where(SupplyLine.sku == sku,
                                                            SupplyLine.status.in_(INCOMING))).all()
            sources = session.scalars(select(SupplierSku).where(SupplierSku.sku == sku)).all()
            siblings = session.execute(
                select(Backorder, OrderLine.platform_line_id, Order.platform_order_id)
                .join(OrderLine, OrderLine.id == Backorder.order_line_id).join(Order, Order.id == OrderLine.order_id)
                .where(Backorder.variant_id.in_([v.id for v in variants]), Backorder.status.in_(ACTIVE))).all()

            free = sum(v.sellable_quantity for v in variants)
            queue = []
            for sibling, platform_line, platform_order in siblings:
                if sibling.quantity <= 0:
                    continue
                free += sibling.quantity
                queue.append(BackorderLine(sibling.id, sku, None, sibling.ordered_at, sibling.quantity,
                                           sibling.priority, platform_sequence(platform_order, platform_line)))
            supplier = next((s.supplier_id for s in sorted(sources, key=lambda s: (s.role != "primary", s.supplier_id))
                             if s.supplier_id in suppliers), None)
            estimator = EtaEstimator(today=today, lateness=lateness, suppliers=suppliers,
                                     sku_suppliers={sku: supplier} if supplier is not None else {},
                                     default_supplier=default, promise_quantile=quantile)
            etas = estimator.promise(queue, [OnHand(sku, None, free)] if free > 0 else [],
                                     [SupplyLot(lot.id, lot.sku, lot.location, lot.quantity, lot.expected_date,
                                                lot.supplier_id, lot.status) for lot in lots])
            eta = etas[line.id]
            line.status = "ready" if eta.covered_by == STOCK else "open"
            line.current_eta, line.eta_earliest = eta.promise, eta.earliest
            line.eta_likely, line.eta_latest = eta.likely, eta.latest
            line.covered_by, line.supplier_id = eta.covered_by, eta.supplier_key
            line.promised_eta = line.promised_eta or eta.promise
            line.original_eta = line.original_eta or line.promised_eta
            line.eta_computed_at = datetime.now(timezone.utc)
            result.answers[backorder_id] = tuple(getattr(line, name) for name in COMPARED)
            result.lines_done += 1
        session.flush()
    result.loop_seconds = time.perf_counter() - started
    return result
