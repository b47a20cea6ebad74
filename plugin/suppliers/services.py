"""Supplier use cases, platform-neutral; each applies its changes in one transaction.

A sync (`sync_supplier`, `sync_shopify_incoming`) downloads or reads outside any transaction,
then applies every valid row in ONE transaction that also stores the report (`SyncRun`). A feed
that cannot be downloaded or read changes nothing: only a failed `SyncRun` saying why is written.

How rows apply (`_apply`):
* A PO line is keyed by (supplier, po_reference, sku). First sight creates it with
  promised_date = expected_date: the first promise, which never changes afterwards and is what
  supplier lateness is learnt from (with received_date).
* Every change of expected_date or status, and a line's creation, appends a SupplyLineChange
  (old -> new, with the sync run), so the history of promises is kept.
* lead_days stand for "expected this many days after the line was first seen", so a feed that
  repeats the same lead days does not move the date every day.
* status received sets received_date (the row's received_date, else today); leaving received
  clears it.
* Lines of the supplier absent from a feed are LEFT ALONE: feeds are often partial (only open
  POs, only this week's). A feed cancels a line only by saying status=cancelled. (Shopify's
  incoming shipments are different: a shipment is read whole, so a line it no longer holds is
  cancelled.)
* Unknown SKU: a SKU is known when it is a variant's SKU in the shop (`variants`) or in this
  supplier's SKU list (`supplier_skus`): the variants table only holds variants the app has met,
  so the supplier's declared list vouches for the rest. Matching is exact, then case-insensitive
  when that finds exactly one; rows carry the shop's spelling from then on.
* Variants with the SKU of a created or changed line get eta_dirty = True for the ETA recompute.
* The run is ok (no rejected row), partial (some rejected, the rest applied), failed (download
  or parse failure, or every row rejected: nothing changed) or not_modified (HTTP 304).
  The stored ETag/Last-Modified are kept only after an ok run, so a partial feed is read again
  in full next time (once the merchant has fixed, say, the SKU list).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connectors.base import ConnectorError, IncomingShipment
from plugin.db.models import Shop, Supplier, SupplierSku, SupplyLine, SupplyLineChange, SyncRun, Variant, utcnow
from plugin.suppliers.feeds import (
    MAX_TEXT,
    FeedError,
    FeedRow,
    ParsedFeed,
    RowError,
    parse_feed,
    records_feed,
    validate_rows,
)
from plugin.suppliers.fetch import DEFAULT_TIMEOUT, check_feed_url, fetch_feed, parse_auth_header

log = logging.getLogger(__name__)

SHOPIFY_INCOMING_NAME = "Shopify incoming"
FEED_KINDS = ("url", "upload", "manual")  # "shopify_incoming" is the built-in supplier's alone
SOURCES = ("url", "upload", "manual")
MAX_STORED_ERRORS = 500
IN_CHUNK = 500
OPEN_STATUSES = ("ordered", "shipped")


class SupplierInvalid(ValueError):
    """What the merchant entered for a supplier cannot be saved; the message says which field."""


# -- suppliers ----------------------------------------------------------------------------------
class SupplierInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=MAX_TEXT)
    email: str | None = Field(default=None, max_length=320)
    lead_time_days: int = Field(default=14, ge=0, le=365)
    lead_time_spread_days: int = Field(default=0, ge=0, le=365)
    handling_days: int = Field(default=1, ge=0, le=60)
    feed_kind: str = "manual"
    feed_url: str | None = None
    feed_format: str | None = None
    feed_auth_header: str | None = None
    sync_interval_minutes: int = Field(default=360, ge=5, le=7 * 24 * 60)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        local, at, domain = value.rpartition("@")
        if not at or not local or "." not in domain or " " in value:
            raise ValueError("is not an email address")
        return value

    @field_validator("feed_kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in FEED_KINDS:
            raise ValueError(f"must be one of {', '.join(FEED_KINDS)}")
        return value

    @field_validator("feed_format")
    @classmethod
    def _format(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if value.lower() not in ("csv", "json"):
            raise ValueError("must be csv or json")
        return value.lower()

    @field_validator("feed_auth_header")
    @classmethod
    def _auth(cls, value: str | None) -> str | None:
        return None if parse_auth_header(value) is None else value

    @model_validator(mode="after")
    def _url_feed(self):
        if self.feed_kind == "url":
            self.feed_url = check_feed_url(self.feed_url)
        elif self.feed_url:
            self.feed_url = check_feed_url(self.feed_url)
        return self


def _clean_skus(values: Iterable[str]) -> list[str]:
    skus = []
    for value in values:
        text = str(value).strip()
        if not text:
            continue
        if len(text) > MAX_TEXT:
            raise SupplierInvalid(f"SKU {text[:40]!r}... is longer than {MAX_TEXT} characters")
        skus.append(text)
    return list(dict.fromkeys(skus))


def create_supplier(runtime, shop_id: int, *, name: str, email: str | None = None, lead_time_days: int = 14,
                    lead_time_spread_days: int = 0, handling_days: int = 1, feed_kind: str = "manual",
                    feed_url: str | None = None, feed_format: str | None = None,
                    feed_auth_header: str | None = None, sync_interval_minutes: int = 360,
                    primary_skus: Iterable[str] = (), substitute_skus: Iterable[str] = ()) -> Supplier:
    """A new supplier of the shop (names are unique per shop), with its SKU list."""
    try:
        data = SupplierInput(name=name, email=email, lead_time_days=lead_time_days,
                             lead_time_spread_days=lead_time_spread_days, handling_days=handling_days,
                             feed_kind=feed_kind, feed_url=feed_url, feed_format=feed_format,
                             feed_auth_header=feed_auth_header, sync_interval_minutes=sync_interval_minutes)
    except ValidationError as exc:
        raise SupplierInvalid(_validation_message(exc)) from None
    primary, substitutes = _clean_skus(primary_skus), _clean_skus(substitute_skus)
    try:
        with runtime.db.shop_session(shop_id) as session:
            supplier = Supplier(shop_id=shop_id, **data.model_dump())
            session.add(supplier)
            session.flush()
            _replace_skus(session, supplier, primary, substitutes)
    except IntegrityError:
        raise SupplierInvalid(f"a supplier named {data.name!r} already exists") from None
    return supplier


def set_supplier_skus(runtime, shop_id: int, supplier_id: int, *, primary: Iterable[str],
                      substitutes: Iterable[str] = ()) -> list[SupplierSku]:
    """Replace which SKUs the supplier supplies (a SKU in both lists is primary)."""
    primary, substitutes = _clean_skus(primary), _clean_skus(substitutes)
    with runtime.db.shop_session(shop_id) as session:
        supplier = _supplier(session, supplier_id, lock=True)
        return _replace_skus(session, supplier, primary, substitutes)


def _replace_skus(session: Session, supplier: Supplier, primary: list[str], substitutes: list[str]) -> list[SupplierSku]:
    wanted = {sku: "substitute" for sku in substitutes} | {sku: "primary" for sku in primary}
    existing = {row.sku: row for row in session.scalars(select(SupplierSku).where(SupplierSku.supplier_id == supplier.id))}
    touched: set[str] = set()
    for sku, row in existing.items():
        if sku not in wanted:
            session.delete(row)
            touched.add(sku)
        elif row.role != wanted[sku]:
            row.role = wanted[sku]
            touched.add(sku)
    for sku, role in wanted.items():
        if sku not in existing:
            session.add(SupplierSku(shop_id=supplier.shop_id, supplier_id=supplier.id, sku=sku, role=role))
            touched.add(sku)
    session.flush()
    _mark_dirty(session, supplier.shop_id, touched)  # who supplies a SKU changes its ETA
    return list(session.scalars(select(SupplierSku).where(SupplierSku.supplier_id == supplier.id)
                                .order_by(SupplierSku.role, SupplierSku.sku)))


def shopify_incoming_supplier(runtime, shop_id: int) -> Supplier:
    """The built-in supplier whose lines are the store's own inventory shipments (created once)."""
    for _attempt in range(2):
        with runtime.db.shop_session(shop_id) as session:
            found = session.scalars(select(Supplier).where(Supplier.feed_kind == "shopify_incoming")
                                    .order_by(Supplier.id)).first()
            if found is not None:
                return found
        try:
            with runtime.db.shop_session(shop_id) as session:
                supplier = Supplier(shop_id=shop_id, name=_free_name(session, SHOPIFY_INCOMING_NAME),
                                    feed_kind="shopify_incoming", lead_time_days=7, handling_days=0)
                session.add(supplier)
            return supplier
        except IntegrityError:
            continue  # created concurrently: read the winner's row
    raise RuntimeError("could not create the Shopify incoming supplier")


def _free_name(session: Session, name: str) -> str:
    taken = set(session.scalars(select(Supplier.name).where(Supplier.name.like(f"{name}%"))))
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name} ({n})", n + 1
    return candidate


# -- syncing --------------------------------------------------------------------------------------
@dataclass
class _Outcome:
    applied: int = 0
    unchanged: int = 0
    dirty_skus: set[str] = field(default_factory=set)
    history_changed: bool = False  # see SyncRun.history_changed


def sync_supplier(runtime, shop_id: int, supplier_id: int, *, body: bytes | None = None, source: str = "url",
                  rows: list[dict] | None = None, session: requests.Session | None = None,
                  timeout: tuple[float, float] = DEFAULT_TIMEOUT, today: date | None = None) -> SyncRun:
    """Bring the supplier's PO lines up to date from its feed and store the report.

    source "url": download `feed_url` (conditionally; `session` and `timeout` go to fetch_feed);
    "upload": `body` is the file's bytes (CSV, or JSON by its first character); "manual": `rows`
    are dicts typed into the admin, with the same column names as a CSV header.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}")
    if (source == "upload") != (body is not None) or (source == "manual") != (rows is not None):
        raise ValueError("give body= with source='upload', rows= with source='manual', neither with 'url'")
    today = today or utcnow().date()
    started = utcnow()
    supplier = _load_supplier(runtime, shop_id, supplier_id)
    validators: tuple[str | None, str | None] | None = None
    try:
        if source == "url":
            fetched = fetch_feed(supplier, session, timeout=timeout,
                                 allow_private=runtime.settings.private_urls_allowed)
            if fetched.status == "failed":
                return _record_run(runtime, shop_id, supplier_id, source, started, "failed",
                                   f"download failed: {fetched.error}; nothing changed")
            if fetched.status == "not_modified":
                return _record_run(runtime, shop_id, supplier_id, source, started, "not_modified",
                                   "the feed has not changed since the last sync (HTTP 304)", synced=True)
            validators = (fetched.etag, fetched.last_modified)
            feed_format = supplier.feed_format or (
                "json" if "json" in (fetched.content_type or "").lower() else None)
            feed = parse_feed(fetched.body or b"", feed_format)
        elif source == "upload":
            feed = parse_feed(body, supplier.feed_format if supplier.feed_format == "json" else None)
        else:
            feed = records_feed(list(rows), "manual")
    except FeedError as exc:
        return _record_run(runtime, shop_id, supplier_id, source, started, "failed",
                           f"the feed cannot be read: {exc}; nothing changed")
    return _apply_feed(runtime, shop_id, supplier_id, source, started, feed, today, validators=validators)


def sync_shopify_incoming(runtime, shop_id: int, *, today: date | None = None) -> SyncRun:
    """Record the store's own incoming shipments as lines of the built-in "Shopify incoming" supplier.

    A line is (shipment id, SKU): po_reference is the shipment's gid, quantity what is still on its
    way (what was accepted, once received), expected_date the tracking's arrival date, else the
    shipping date plus the supplier's lead time. Shipments the app holds open are looked up again
    when they leave the in-transit list, so receipts and withdrawals are seen.
    """
    today = today or utcnow().date()
    started = utcnow()
    with runtime.db.session() as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            raise LookupError(f"shop {shop_id} not found")
        session.expunge(shop)
    supplier = shopify_incoming_supplier(runtime, shop_id)
    with runtime.db.shop_session(shop_id) as session:
        open_ids = sorted(set(session.scalars(select(SupplyLine.po_reference).where(
            SupplyLine.supplier_id == supplier.id, SupplyLine.status.in_(OPEN_STATUSES)))))
    read = getattr(runtime.connector(shop.platform), "read_incoming_supply", None)
    if read is None:
        return _record_run(runtime, shop_id, supplier.id, "shopify_incoming", started, "failed",
                           f"{shop.platform} does not report incoming shipments; nothing changed")
    try:
        shipments = read(shop, open_ids)
    except ConnectorError as exc:
        return _record_run(runtime, shop_id, supplier.id, "shopify_incoming", started, "failed",
                           f"could not read incoming shipments: {exc}; nothing changed")
    raw, problems, whole = _shipment_rows(shipments, supplier, today)
    feed = records_feed(raw, "manual")
    return _apply_feed(runtime, shop_id, supplier.id, "shopify_incoming", started, feed, today,
                       extra_errors=problems, whole_shipments=whole, check_skus=False)


def _shipment_rows(shipments: Sequence[IncomingShipment], supplier: Supplier,
                   today: date) -> tuple[list[dict], list[RowError], dict[str, set[str]]]:
    rows: list[dict] = []
    problems: list[RowError] = []
    whole: dict[str, set[str]] = {}
    for shipment in shipments:
        if shipment.status == "unknown":
            continue
        po = shipment.platform_shipment_id
        whole[po] = set()
        if shipment.status == "withdrawn":
            continue
        by_sku: dict[str, list] = {}
        for line in shipment.lines:
            if not line.sku:
                problems.append(RowError(0, f"shipment {shipment.name}: an item without a SKU "
                                            f"({line.inventory_item_id}) cannot be matched"))
                continue
            by_sku.setdefault(line.sku, []).append(line)
        expected = shipment.arrives_at or ((shipment.shipped_at or today) + timedelta(days=supplier.lead_time_days))
        for sku, lines in by_sku.items():
            due = sum(line.unreceived for line in lines)
            received = shipment.status == "received" or due == 0
            whole[po].add(sku)
            rows.append({"sku": sku, "po_reference": po, "expected_date": expected, "tracking": shipment.tracking,
                         "quantity": sum(line.accepted for line in lines) if received else due,
                         "status": "received" if received else "shipped",
                         "received_date": (shipment.received_at or today) if received else None})
    return rows, problems, whole


def _apply_feed(runtime, shop_id: int, supplier_id: int, source: str, started: datetime, feed: ParsedFeed,
                today: date, *, validators=None, extra_errors: Sequence[RowError] = (),
                whole_shipments: dict[str, set[str]] | None = None, check_skus: bool = True) -> SyncRun:
    try:
        with runtime.db.shop_session(shop_id) as session:
            supplier = _supplier(session, supplier_id, lock=True)  # one sync of a supplier at a time
            resolver = _sku_resolver(session, supplier, feed) if check_skus else None
            good, bad = validate_rows(feed, today=today, resolve_sku=resolver)
            bad = list(extra_errors) + bad
            total = len(feed.rows) + len(extra_errors)
            status = "ok" if not bad else ("failed" if not good and total else "partial")
            run = SyncRun(shop_id=shop_id, supplier_id=supplier_id, source=source, status=status,
                          rows_total=total, rows_rejected=len(bad), started_at=started)
            session.add(run)
            session.flush()
            outcome = _apply(session, supplier, good, run, source, today, whole_shipments) if status != "failed" else _Outcome()
            _mark_dirty(session, shop_id, outcome.dirty_skus)
            run.rows_applied, run.rows_unchanged = outcome.applied, outcome.unchanged
            run.history_changed = outcome.history_changed
            run.errors = [e.as_dict() for e in bad[:MAX_STORED_ERRORS]]
            run.message = _summary(run, feed, len(bad))
            run.finished_at = utcnow()
            if status != "failed":
                supplier.last_synced_at = run.finished_at
            if validators is not None:
                supplier.feed_etag, supplier.feed_last_modified = validators if status == "ok" else (None, None)
        log.info("supplier synced", extra={"shop_id": shop_id, "supplier_id": supplier_id, "source": source,
                                           "status": run.status, "applied": run.rows_applied,
                                           "rejected": run.rows_rejected})
        return run
    except Exception as exc:
        log.exception("supplier sync failed", extra={"shop_id": shop_id, "supplier_id": supplier_id})
        _record_run(runtime, shop_id, supplier_id, source, started, "failed",
                    f"internal error while applying the feed ({type(exc).__name__}); nothing changed")
        raise


def _summary(run: SyncRun, feed: ParsedFeed, rejected: int) -> str:
    if run.rows_total == 0:
        text = "the feed has no rows; nothing changed"
    elif run.status == "failed":
        text = f"every one of the {run.rows_total} rows was rejected; nothing changed"
    else:
        text = (f"{run.rows_total} rows: {run.rows_applied} applied, {run.rows_unchanged} unchanged, "
                f"{rejected} rejected")
    if rejected > MAX_STORED_ERRORS:
        text += f" (the first {MAX_STORED_ERRORS} rejections are listed)"
    if feed.ignored_columns:
        text += f"; ignored columns: {', '.join(feed.ignored_columns[:10])}"
    return text


def _apply(session: Session, supplier: Supplier, rows: list[FeedRow], run: SyncRun, source: str, today: date,
           whole_shipments: dict[str, set[str]] | None) -> _Outcome:
    outcome = _Outcome()
    lines = _existing_lines(session, supplier.id, {row.po_reference for row in rows} | set(whole_shipments or ()))
    variant_ids = _variant_ids(session, {row.sku for row in rows})
    now = utcnow()
    new_lines: list[dict] = []
    changes: list[dict] = []

    def change(line: SupplyLine, old_date: date | None, old_status: str | None) -> None:
        changes.append(dict(supply_line_id=line.id, old_expected_date=old_date, new_expected_date=line.expected_date,
                            old_status=old_status, new_status=line.status))

    for row in rows:
        line = lines.get((row.po_reference, row.sku))
        if line is None:
            expected = row.expected_date or (today + timedelta(days=row.lead_days) if row.lead_days is not None else None)
            new_lines.append(dict(
                shop_id=supplier.shop_id, supplier_id=supplier.id, sku=row.sku, variant_id=variant_ids.get(row.sku),
                quantity=row.quantity, promised_date=expected, expected_date=expected, po_reference=row.po_reference,
                status=row.status, tracking=row.tracking, source=source, created_at=now, updated_at=now,
                received_date=(row.received_date or today) if row.status == "received" else None))
            outcome.applied += 1
            outcome.dirty_skus.add(row.sku)
            outcome.history_changed = True
        elif _update_line(line, row, today, change, variant_ids.get(row.sku), outcome):
            outcome.applied += 1
            outcome.dirty_skus.add(row.sku)
        else:
            outcome.unchanged += 1
    for (po, sku), line in lines.items():  # a whole shipment: lines it no longer holds are cancelled
        if whole_shipments and po in whole_shipments and sku not in whole_shipments[po] \
                and line.status in OPEN_STATUSES:
            old_status = line.status
            line.status = "cancelled"
            change(line, line.expected_date, old_status)
            outcome.dirty_skus.add(sku)
            outcome.history_changed = True
    if new_lines:
        # Bulk INSERT ... RETURNING, in modest pages: far faster than flushing thousands of objects.
        created = session.execute(
            insert(SupplyLine).returning(SupplyLine.id, SupplyLine.expected_date, SupplyLine.status,
                                         sort_by_parameter_order=True),
            new_lines, execution_options={"insertmanyvalues_page_size": 200}).all()
        changes.extend(dict(supply_line_id=line_id, old_expected_date=None, new_expected_date=expected,
                            old_status=None, new_status=status) for line_id, expected, status in created)
    if changes:
        session.execute(insert(SupplyLineChange), [
            dict(item, shop_id=supplier.shop_id, changed_at=now, sync_run_id=run.id) for item in changes])
    return outcome


def _update_line(line: SupplyLine, row: FeedRow, today: date, change, variant_id: int | None,
                 outcome: _Outcome) -> bool:
    old_date, old_status = line.expected_date, line.status
    learnt_from = _history_fields(line)
    if row.expected_date is not None:
        expected = row.expected_date
    elif row.lead_days is not None:
        expected = _created_day(line, today) + timedelta(days=row.lead_days)
    else:
        expected = line.expected_date  # a received/cancelled row without a date keeps the last one
    changed = False
    if expected != line.expected_date or row.status != line.status:
        line.expected_date, line.status = expected, row.status
        if line.promised_date is None:
            line.promised_date = expected
        change(line, old_date, old_status)
        changed = True
    received = (row.received_date or line.received_date or today) if row.status == "received" else None
    for attr, value in (("received_date", received), ("quantity", row.quantity), ("tracking", row.tracking)):
        if getattr(line, attr) != value:
            setattr(line, attr, value)
            changed = True
    if variant_id is not None and line.variant_id != variant_id:
        line.variant_id = variant_id
    if _history_fields(line) != learnt_from:
        outcome.history_changed = True
    return changed


def _history_fields(line: SupplyLine) -> tuple:
    """What the lateness fit reads of a line (plugin/eta/bulk.py: BulkSql.lateness_history)."""
    return line.supplier_id, line.promised_date, line.received_date, line.status == "cancelled"


def _created_day(line: SupplyLine, today: date) -> date:
    return line.created_at.astimezone(timezone.utc).date() if line.created_at else today


# -- reading helpers ------------------------------------------------------------------------------
def _load_supplier(runtime, shop_id: int, supplier_id: int) -> Supplier:
    with runtime.db.shop_session(shop_id) as session:
        supplier = _supplier(session, supplier_id)
        session.expunge(supplier)
        return supplier


def _supplier(session: Session, supplier_id: int, *, lock: bool = False) -> Supplier:
    query = select(Supplier).where(Supplier.id == supplier_id)
    supplier = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if supplier is None:
        raise LookupError(f"supplier {supplier_id} not found in this shop")
    return supplier


def _chunks(values: Iterable, size: int = IN_CHUNK):
    items = list(values)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _existing_lines(session: Session, supplier_id: int, po_references: set[str]) -> dict[tuple[str, str], SupplyLine]:
    found: dict[tuple[str, str], SupplyLine] = {}
    for chunk in _chunks(sorted(po_references)):
        for line in session.scalars(select(SupplyLine).where(SupplyLine.supplier_id == supplier_id,
                                                             SupplyLine.po_reference.in_(chunk))):
            found[(line.po_reference, line.sku)] = line
    return found


def _variant_ids(session: Session, skus: set[str]) -> dict[str, int]:
    """SKU -> variant id, for SKUs that exactly one variant of the shop carries."""
    seen: dict[str, list[int]] = {}
    for chunk in _chunks(sorted(skus)):
        for variant_id, sku in session.execute(select(Variant.id, Variant.sku).where(Variant.sku.in_(chunk))):
            seen.setdefault(sku, []).append(variant_id)
    return {sku: ids[0] for sku, ids in seen.items() if len(ids) == 1}


def _sku_resolver(session: Session, supplier: Supplier, feed: ParsedFeed):
    """resolve(sku) -> the shop's spelling of a known SKU (variants or the supplier's list), or None."""
    wanted = {str(raw.values.get("sku")).strip() for raw in feed.rows if raw.values.get("sku") is not None}
    lowered = {sku.lower() for sku in wanted}
    known: set[str] = set(session.scalars(select(SupplierSku.sku).where(SupplierSku.supplier_id == supplier.id)))
    for chunk in _chunks(sorted(lowered)):
        known.update(session.scalars(select(Variant.sku).where(func.lower(Variant.sku).in_(chunk)).distinct()))
    by_lower: dict[str, set[str]] = {}
    for sku in known:
        by_lower.setdefault(sku.lower(), set()).add(sku)

    def resolve(sku: str) -> str | None:
        if sku in known:
            return sku
        matches = by_lower.get(sku.lower(), set())
        return next(iter(matches)) if len(matches) == 1 else None

    return resolve


def _mark_dirty(session: Session, shop_id: int, skus: Iterable[str]) -> None:
    for chunk in _chunks(sorted(set(skus))):
        session.execute(update(Variant).where(Variant.shop_id == shop_id, Variant.sku.in_(chunk))
                        .values(eta_dirty=True, eta_revision=Variant.eta_revision + 1)
                        .execution_options(synchronize_session=False))


def _record_run(runtime, shop_id: int, supplier_id: int, source: str, started: datetime, status: str,
                message: str, *, synced: bool = False) -> SyncRun:
    """A run that changed no supply line: failed (with why) or not_modified."""
    with runtime.db.shop_session(shop_id) as session:
        run = SyncRun(shop_id=shop_id, supplier_id=supplier_id, source=source, status=status, message=message,
                      errors=[], started_at=started, finished_at=utcnow(), history_changed=False)
        session.add(run)
        if synced:
            supplier = _supplier(session, supplier_id)
            supplier.last_synced_at = run.finished_at
    level = logging.WARNING if status == "failed" else logging.INFO
    log.log(level, "supplier sync recorded", extra={"shop_id": shop_id, "supplier_id": supplier_id,
                                                    "status": status, "reason": message})
    return run


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()))
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
