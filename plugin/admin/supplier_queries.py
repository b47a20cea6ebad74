"""What the Suppliers pages read: each supplier with its feed, schedule, last sync report, lateness
and on-time rate. Read-only, one shop each (`db.shop_session`).

* Lateness is the ETA engine's own model (`plugin.eta.recompute.lateness_model`: Kaplan-Meier on
  the shop's purchase-order history, shrunk toward all suppliers, cached until a sync runs or the
  day changes), asked for P50 and P90 days late of a lot with no due-date condition: the figures
  behind every promise, not a second estimate.
* On-time rate: of the supplier's received lines with a promised date, the share received on or
  before it.
* The last report of each supplier is found by max(id) per supplier (sync_runs is indexed on
  (supplier_id, started_at)); suppliers are few per shop.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import case, func, select

from plugin.admin.supplier_schemas import LatenessOut, RowErrorOut, SupplierDetail, SupplierList, SupplierRow, \
    SyncRunOut
from plugin.db.models import Supplier, SupplierSku, SupplyLine, SyncRun
from plugin.suppliers.fetch import redact_url

INCOMING = ("ordered", "shipped")
RECENT_RUNS = 10


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def run_out(run: SyncRun, *, max_errors: int | None = None) -> SyncRunOut:
    errors = list(run.errors or [])
    if max_errors is not None:
        errors = errors[:max_errors]
    return SyncRunOut(id=run.id, source=run.source, status=run.status, rows_total=run.rows_total or 0,
                      rows_applied=run.rows_applied or 0, rows_rejected=run.rows_rejected or 0,
                      rows_unchanged=run.rows_unchanged or 0, message=run.message,
                      errors=[RowErrorOut(line=int(e.get("line") or 0), reason=str(e.get("reason") or ""))
                              for e in errors if isinstance(e, dict)],
                      started_at=run.started_at, finished_at=run.finished_at)


def _on_time(session) -> dict[int, tuple[int, int]]:
    """supplier id -> (received lines with a promised date, of them on or before it)."""
    s = SupplyLine
    received = (s.status == "received") & s.received_date.is_not(None) & s.promised_date.is_not(None)
    rows = session.execute(select(s.supplier_id, func.count(), func.sum(case((s.received_date <= s.promised_date, 1),
                                                                            else_=0)))
                           .where(received).group_by(s.supplier_id))
    return {sid: (int(n), int(kept or 0)) for sid, n, kept in rows}


def _lateness(runtime, shop_id: int, suppliers: list[Supplier], history: dict[int, tuple[int, int]],
              today: date, session) -> dict[int, LatenessOut]:
    from plugin.eta.recompute import lateness_model

    model = lateness_model(runtime, shop_id, today, session)
    out = {}
    for supplier in suppliers:
        receipts, kept = history.get(supplier.id, (0, 0))
        spread = float(supplier.lead_time_spread_days or 0)
        p50 = model.days_late(supplier.id, 0.5, declared_spread_days=spread)
        p90 = model.days_late(supplier.id, 0.9, declared_spread_days=spread)
        out[supplier.id] = LatenessOut(p50_days=p50, p90_days=p90, receipts=receipts,
                                       credibility=round(model.credibility(supplier.id), 3), on_time=kept,
                                       on_time_rate=(kept / receipts) if receipts else None)
    return out


def _rows(runtime, shop_id: int, session, suppliers: list[Supplier], today: date) -> list[SupplierRow]:
    if not suppliers:
        return []
    ids = [s.id for s in suppliers]
    sku_counts = dict(session.execute(select(SupplierSku.supplier_id, func.count())
                                      .where(SupplierSku.supplier_id.in_(ids)).group_by(SupplierSku.supplier_id)).all())
    open_lines = dict(session.execute(select(SupplyLine.supplier_id, func.count())
                                      .where(SupplyLine.supplier_id.in_(ids), SupplyLine.status.in_(INCOMING))
                                      .group_by(SupplyLine.supplier_id)).all())
    last_ids = list(session.scalars(select(func.max(SyncRun.id)).where(SyncRun.supplier_id.in_(ids))
                                    .group_by(SyncRun.supplier_id)))
    last = {run.supplier_id: run for run in session.scalars(select(SyncRun).where(SyncRun.id.in_(last_ids)))} \
        if last_ids else {}
    lateness = _lateness(runtime, shop_id, suppliers, _on_time(session), today, session)
    rows = []
    for s in suppliers:
        run = last.get(s.id)
        rows.append(SupplierRow(
            id=s.id, name=s.name, email=s.email, active=s.active, feed_kind=s.feed_kind,
            feed_url=redact_url(s.feed_url) if s.feed_url else None, feed_format=s.feed_format,
            sync_interval_minutes=s.sync_interval_minutes, sync_cron=s.sync_cron, last_synced_at=s.last_synced_at,
            lead_time_days=s.lead_time_days, lead_time_spread_days=s.lead_time_spread_days,
            handling_days=s.handling_days, sku_count=int(sku_counts.get(s.id, 0)),
            open_supply_lines=int(open_lines.get(s.id, 0)),
            last_run=run_out(run, max_errors=20) if run is not None else None, lateness=lateness[s.id]))
    return rows


def list_suppliers(runtime, shop_id: int, *, today: date | None = None) -> SupplierList:
    today = today or utcnow().date()
    with runtime.db.shop_session(shop_id) as session:
        suppliers = list(session.scalars(select(Supplier).order_by(Supplier.active.desc(), Supplier.name)))
        return SupplierList(suppliers=_rows(runtime, shop_id, session, suppliers, today), as_of=today)


def supplier_detail(runtime, shop_id: int, supplier_id: int, *, today: date | None = None) -> SupplierDetail | None:
    today = today or utcnow().date()
    with runtime.db.shop_session(shop_id) as session:
        supplier = session.scalars(select(Supplier).where(Supplier.id == supplier_id)).one_or_none()
        if supplier is None:
            return None
        [row] = _rows(runtime, shop_id, session, [supplier], today)
        skus = session.execute(select(SupplierSku.sku, SupplierSku.role).where(SupplierSku.supplier_id == supplier_id)
                               .order_by(SupplierSku.sku)).all()
        runs = list(session.scalars(select(SyncRun).where(SyncRun.supplier_id == supplier_id)
                                    .order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(RECENT_RUNS)))
        return SupplierDetail(
            **row.model_dump(exclude={"last_run"}), last_run=run_out(runs[0]) if runs else None,
            feed_url_full=supplier.feed_url, has_auth_header=bool(supplier.feed_auth_header),
            primary_skus=[sku for sku, role in skus if role == "primary"],
            substitute_skus=[sku for sku, role in skus if role == "substitute"],
            runs=[run_out(run, max_errors=0) for run in runs])


def sync_run(runtime, shop_id: int, run_id: int) -> SyncRunOut | None:
    with runtime.db.shop_session(shop_id) as session:
        run = session.scalars(select(SyncRun).where(SyncRun.id == run_id)).one_or_none()
        return run_out(run) if run is not None else None
