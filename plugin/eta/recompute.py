"""Recompute backorder ETAs from stock, incoming supply and supplier lateness, and record what changed.

The engine itself is pure (plugin.domain: allocation, lateness, eta); this module feeds it from the
database and writes its answer back:

* Work is per SKU, because supply is per SKU: a SKU is recomputed when one of its variants is
  `eta_dirty` (its stock, supply, supplier list or backorders changed), or on a full run.
* The scheduled recompute reads batches of SKUs in read-only snapshots and computes them outside
  any transaction; the changed lines are then written in line id order, a chunk per transaction
  (`_write_pending`), the next chunk prepared (rows, tally moves) while the database applies the
  current one's UPDATE. SQLite writes once every batch is computed; PostgreSQL writes what it has
  gathered on a thread of its own while the next batches are computed (see `recompute_shop`).
  Every change to a variant's inputs bumps its `eta_revision`; a chunk writes only the lines of
  SKUs whose variants are still at the revision that was read (rows locked on PostgreSQL; SQLite
  has one writer), else the SKU stays dirty for the next run. So a big shop's recompute never
  holds the write lock while it thinks, and an order arriving meanwhile is never overwritten
  with an answer computed without it.
* The order handler recomputes the SKUs of its order inside its own transaction
  (`recompute_variants_in_session`), so a new backorder gets its real promise before the order is
  tagged and the customer told.
* Only rows whose values change are written; a line's promise to the customer (`promised_eta`)
  moves only with a delay event (see domain.eta.detect_events). Events are stored once per
  (line, kind, promise version), and orders whose lines changed get a row of `order_marks` for
  the push job.
  The events' emails are not built here: the outbox job queues them from the stored events.
"""
from __future__ import annotations

import gc
import json
import logging
import threading
from bisect import bisect_left
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from operator import itemgetter
from typing import Callable, Iterable

from sqlalchemy import and_, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from plugin.db.models import Backorder, LatenessFit, Shop, Variant
from plugin.domain.allocation import STOCK, BackorderLine, OnHand, SupplyLot
from plugin.domain.backorders import platform_sequence
from plugin.domain.eta import DELAY, LEAD_TIME, READY, REFUND_OFFER, EtaEstimator, PromiseState, SupplierProfile, \
    detect_events
from plugin.domain.lateness import FIT_VERSION, LatenessModel
from plugin.eta.bulk import (L_COVERED, L_CURRENT, L_ID, L_ORDER_LINE, L_ORDERED, L_ORIGINAL, L_PRIORITY, L_PROMISED,
                             L_QTY, L_REFUND, L_STATUS, L_SUPPLIER, L_VARIANT, L_VERSION, PROMISED, STATUS, SUPPLIER,
                             U_ROW, BulkSql, LineWrite, batch_reader, bulk_write_cache, read_snapshot)
from plugin.eta.storefront import plan_storefront, storefront_targets, write_storefront
from plugin.eta.storefront import read_state as read_storefront_state

log = logging.getLogger(__name__)

ACTIVE = ("open", "ready")
INCOMING = ("ordered", "shipped")  # received lots are in the platform's stock already
DEFAULT_BATCH_SKUS = 10_000  # ~100k lines read and computed at a time, ~250 MB
# Lines per write transaction. SQLite: its one write lock is held about a second at a time, so
# webhook deliveries and order handlers wait no longer than that. PostgreSQL locks only the
# chunk's variants (every variant has lines in a chunk of any size), so fewer, bigger chunks.
WRITE_CHUNK_LINES = {False: 50_000, True: 250_000}  # keyed by "is PostgreSQL"
# Changed lines gathered before a write pass (bounds memory: ~0.6 KB each), keyed by "is
# PostgreSQL". SQLite writes once, after computing, in line id order. PostgreSQL writes a pass on
# a thread of its own while the next batches are computed (`recompute_shop`).
MAX_PENDING_LINES = {False: 1_000_000, True: 100_000}

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
    # scheduled one leaves them to the push job through order_marks).
    order_ids: set[int] = field(default_factory=set)

    def add(self, other: RecomputeCounts) -> None:
        self.skus += other.skus
        self.lines += other.lines
        self.changed += other.changed
        self.skipped_skus += other.skipped_skus
        self.orders_marked += other.orders_marked
        for kind, n in other.events.items():
            self.events[kind] = self.events.get(kind, 0) + n

    def count_events(self, events: Iterable[tuple]) -> None:
        """Count stored events, (backorder id, kind, ...) each."""
        for event in events:
            self.events[event[1]] = self.events.get(event[1], 0) + 1

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
                   batch_skus: int = DEFAULT_BATCH_SKUS, chunk_lines: int | None = None,
                   max_pending_lines: int | None = None, progress: Progress | None = None) -> RecomputeCounts:
    """Recompute the shop's dirty SKUs (every SKU with open backorders when `full`).

    Batches of SKUs are read in a snapshot that locks nothing (`read_snapshot`) and computed one
    after another; their answers (only the lines that change) are gathered and written in line
    id order, `chunk_lines` lines per transaction (`_write_pending`), once `max_pending_lines`
    lines are gathered and at the end. SKUs are interleaved in order time, so one batch's lines
    lie on nearly every page of backorders and orders, and each write pass touches every page:

    * SQLite gathers up to a million lines (all of a big shop's first run) and writes them
      after computing: written batch by batch, every page was re-read, rewritten and logged to
      the WAL once per batch, and a full run of 1,000,000 lines took 108 s against 72.
    * PostgreSQL writes every 100,000 lines, on a thread of its own (`flusher`, one pass at a
      time, in order) while the next batches are read and computed: the server's UPDATE, which
      holds no GIL, and our Python overlap. The server's own work grows a little with more
      passes (~6 %: pages read again through its buffer pool), the run about a tenth less on
      2 cores shared with the server (bench/README.md, 2026-12-07 afternoon), and memory holds
      two passes, not the whole run (868 -> ~410 MB at 1,000,000 lines).

    Progress: the first half of `total` is computing, the second writing.
    """
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
    postgres = runtime.db.dialect == "postgresql"
    if chunk_lines is None:
        chunk_lines = WRITE_CHUNK_LINES[postgres]
    if max_pending_lines is None:
        max_pending_lines = MAX_PENDING_LINES[postgres]
    total, done, progress_lock = 2 * len(skus), 0, threading.Lock()

    def advance(step: int) -> None:  # (called by the flushing thread too)
        nonlocal done
        with progress_lock:
            done += step
            if progress is not None:
                progress(min(done, total), total)

    pending = _Pending()
    flushing: Future | None = None  # PostgreSQL: the write pass running on `flusher`

    def flush(gathered: _Pending) -> None:
        """Write gathered answers: on SQLite now, on PostgreSQL on `flusher` while the next batch
        is read and computed (once the write before it has finished: one at a time, in order)."""
        nonlocal flushing
        if not postgres:
            counts.add(_write_pending(runtime, shop_id, gathered, chunk_lines=chunk_lines, advance=advance))
            return
        if flushing is not None:
            counts.add(flushing.result())
        flushing = flusher.submit(_write_pending, runtime, shop_id, gathered, chunk_lines=chunk_lines, advance=advance)

    with _collector_paused(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="eta-lateness") as fitter, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="eta-flush") as flusher:
        # The lateness model (refitted after every sync): on PostgreSQL read and fitted on a
        # thread alongside the first batch's read, which waits on the server. On SQLite first:
        # the batch's fetch lets go of the GIL and takes it back for every row, so beside the
        # fitting's Python it waited at each row, and the two took longer together than apart.
        fitting = fitter.submit(lateness_model, runtime, shop_id, today) if postgres else None
        lateness = None if postgres else lateness_model(runtime, shop_id, today)
        with batch_reader(runtime.db) as reader:  # (its cache is given back before the last write)
            for start in range(0, len(skus), batch_skus):
                batch = skus[start:start + batch_skus]
                with read_snapshot(runtime.db, shop_id, reader) as sql:
                    inputs = _read_batch(sql, batch)
                if lateness is None:
                    lateness = fitting.result()
                pending.add(inputs, _plan(inputs, policy, lateness, today))
                del inputs
                advance(len(batch))
                if len(pending.updates) >= max_pending_lines:
                    flush(pending)
                    pending = _Pending()
        if pending.variants:  # (else the last batch was written already)
            flush(pending)
        if flushing is not None:  # (when computing fails, leaving `flusher` waits for its write)
            counts.add(flushing.result())
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
    keys = sorted({_sku_key(variant_id, sku) for variant_id, sku in BulkSql.of(session, shop.id).variant_skus(ids)})
    inputs = _read_inputs(session, shop.id, keys)
    pending = _Pending()
    pending.add(inputs, _plan(inputs, ShopPolicy.of(shop), lateness_model(runtime, shop.id, today, session), today))
    pending.sort()
    sql = BulkSql.of(session, shop.id)
    counts = RecomputeCounts(skus=pending.skus, lines=pending.lines)
    orders = _write_lines(sql, pending, pending.updates, pending.events, counts)
    _settle(sql, pending, set(), bump_revisions=True)
    counts.order_ids = orders
    session.expire_all()  # the ORM objects the caller holds were changed behind its back
    return counts


_gc_lock = threading.Lock()
_gc_pauses = [0, False]  # recomputes running with the collector paused; was it enabled before?


@contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off while a recompute runs.

    A batch holds hundreds of thousands of rows, lines and answers, and allocating them triggers
    full collections that walk every one of them again and again (half of the computing time on
    a million lines); none of them form cycles. Process-wide, so the pauses of concurrent
    recomputes are counted and the collector comes back with the last one, as it was.
    """
    with _gc_lock:
        if _gc_pauses[0] == 0:
            _gc_pauses[1] = gc.isenabled()
            gc.disable()
        _gc_pauses[0] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses[0] -= 1
            if _gc_pauses[0] == 0 and _gc_pauses[1]:
                gc.enable()


# -- lateness, cached per shop --------------------------------------------------------------------

_lateness_lock = threading.Lock()


def lateness_model(runtime, shop_id: int, today: date, session: Session | None = None) -> LatenessModel:
    """The shop's suppliers' lateness as of `today`, fitted on all its purchase-order history.

    Fitting reads every PO line of the shop, too much to repeat for each order webhook, so the
    model is kept per shop, in this process and in the database (LatenessFit, for other and
    later processes), and refitted when a sync has changed the history since (every change to
    supply lines goes through a sync run, which records whether it did: SyncRun.history_changed)
    or the day changes. `session`: read through the caller's transaction (a second one would
    wait for the caller's write lock on SQLite) and not stored; else a read snapshot, and a fit
    is stored in a short transaction of its own. The history is read grouped by (supplier,
    promised, received) with a count: a PO's lines share their dates.
    """
    if session is None:
        with read_snapshot(runtime.db, shop_id) as sql:
            return _lateness(runtime, shop_id, today, sql, store=True)
    return _lateness(runtime, shop_id, today, BulkSql.of(session, shop_id), store=False)


def _lateness(runtime, shop_id: int, today: date, sql: BulkSql, *, store: bool) -> LatenessModel:
    marker = sql.history_marker()
    cache = runtime.extras.setdefault("lateness_models", {})
    found = cache.get(shop_id)
    if found is not None and found[0] == (marker, today):
        return found[1]
    model = _stored_lateness(sql, marker, today)
    if model is None:
        records = sql.lateness_history()
        model = LatenessModel.fit(records, today) if records else LatenessModel.empty()
        if store:
            _store_lateness(runtime, shop_id, marker, today, model)
    with _lateness_lock:
        cache[shop_id] = ((marker, today), model)
    return model


def _stored_lateness(sql: BulkSql, marker: int, today: date) -> LatenessModel | None:
    state = sql.stored_lateness(marker, today, FIT_VERSION)
    if state is None:
        return None
    try:
        return LatenessModel.from_state(json.loads(state))
    except ValueError:  # (json's errors are ValueErrors too) fitted again, and stored over it
        log.warning("stored lateness fit unreadable; fitting again", extra={"shop_id": sql.shop_id})
        return None


def _store_lateness(runtime, shop_id: int, marker: int, today: date, model: LatenessModel) -> None:
    """Keep the fit for the next process; failing to is no reason to fail the recompute."""
    insert = pg_insert if runtime.db.dialect == "postgresql" else sqlite_insert
    values = dict(shop_id=shop_id, history_run_id=marker, fitted_for=today, fit_version=FIT_VERSION,
                  state=json.dumps(model.to_state(), separators=(",", ":")), created_at=utcnow())
    statement = insert(LatenessFit).values(**values)
    statement = statement.on_conflict_do_update(index_elements=["shop_id"],
                                                set_={k: v for k, v in values.items() if k != "shop_id"})
    try:
        with runtime.db.shop_session(shop_id) as session:
            session.execute(statement)
    except SQLAlchemyError:
        log.warning("could not store the lateness fit", extra={"shop_id": shop_id}, exc_info=True)


# -- reading --------------------------------------------------------------------------------------

@dataclass
class Inputs:
    skus: list[str]
    variants: list[tuple]  # (id, sku key, sellable, revision)
    lines: list[tuple]  # backorder lines, positions bulk.L_ID ... L_PRICE
    lots: list[SupplyLot]
    sku_suppliers: dict[str, int]
    suppliers: dict[int, SupplierProfile]
    # Backorder id -> platform (order, line) sequence, for lines of one SKU ordered in the same
    # instant: the only place the queue needs it (see `_tie_sequences`); other lines sort by time.
    sequences: dict[int, tuple] = field(default_factory=dict)
    # Backorder id -> the merchant's own ship date (admin "override ETA"): promised instead of
    # the engine's date for as long as it is set (see `_plan`).
    overrides: dict[int, date] = field(default_factory=dict)
    # Variant id -> (manual ETA, manual lead time in days): the merchant's word for a variant
    # (admin Products page, `Variant.manual_eta`), applied in `_plan` by `manual_promise`.
    manual: dict[int, tuple[date | None, int | None]] = field(default_factory=dict)
    # Variant id -> (continue selling, tracked, sellable, storefront digest): for the storefront's
    # next-unit date (plugin/eta/storefront.py).
    storefront: dict[int, tuple] = field(default_factory=dict)


def _sku_key(variant_id: int, sku: str | None) -> str:
    """Supply is matched by SKU; a variant without one is a queue of its own."""
    return sku if sku else f"\x00variant:{variant_id}"


def _target_skus(session: Session, shop_id: int, full: bool) -> list[str]:
    sql = BulkSql.of(session, shop_id)
    rows = sql.target_variants(full)
    if full:  # and every variant the storefront shows (or showed) a date for, lines or not
        rows = list(rows) + list(storefront_targets(sql))
    return sorted({_sku_key(variant_id, sku) for variant_id, sku in rows})


def _read_inputs(session: Session, shop_id: int, skus: list[str]) -> Inputs:
    return _read_batch(BulkSql.of(session, shop_id), skus)


def _read_batch(sql: BulkSql, skus: list[str]) -> Inputs:
    named = [sku for sku in skus if not sku.startswith("\x00")]
    unnamed = [int(sku.rsplit(":", 1)[1]) for sku in skus if sku.startswith("\x00")]
    variants = [(vid, _sku_key(vid, sku), sellable, revision)
                for vid, sku, sellable, revision in sql.variants(named, unnamed)]
    lines = sql.lines(sorted(row[0] for row in variants))
    lots = [SupplyLot(*row) for row in sql.lots(named)]
    suppliers = {sid: SupplierProfile(sid, lead, spread, handling)
                 for sid, lead, spread, handling, active in sql.suppliers() if active}
    sku_suppliers: dict[str, int] = {}
    ranked = sorted(sql.supplier_skus(named), key=lambda row: (row[1] != "primary", row[2]))
    for sku, _role, supplier_id in ranked:  # the primary supplier first; substitutes only without one
        if supplier_id in suppliers:
            sku_suppliers.setdefault(sku, supplier_id)
    return Inputs(skus, variants, lines, lots, sku_suppliers, suppliers, _tie_sequences(sql, variants, lines),
                  overrides=_overrides(sql, sorted(row[0] for row in variants)),
                  manual=_manual_etas(sql, sorted(row[0] for row in variants)),
                  storefront=read_storefront_state(sql, sorted(row[0] for row in variants)))


def _manual_etas(sql: BulkSql, variant_ids: list[int]) -> dict[int, tuple[date | None, int | None]]:
    """The merchant's manual ETA / lead time of these variants (few have one)."""
    if not variant_ids:
        return {}
    rows = sql._all(f"SELECT id, manual_eta, manual_lead_time_days FROM variants WHERE shop_id = {sql.p} "
                    f"AND (manual_eta IS NOT NULL OR manual_lead_time_days IS NOT NULL) AND {sql._in('id')}",
                    (sql.shop_id, sql._list(variant_ids)))
    return {vid: (day if day is None or isinstance(day, date) else date.fromisoformat(day), lead)
            for vid, day, lead in rows}


def manual_promise(manual: tuple[date | None, int | None], covered_by: str, today: date) -> date | None:
    """The date the merchant's word for a variant gives a line not covered by stock, or None.

    A manual ETA is promised while its day has not passed (a passed one gives the engine back
    its say); a manual lead time stands in for the supplier's when nothing is on order for the
    line (covered by lead time): it ships that many days from today.
    """
    day, lead_days = manual
    if covered_by == STOCK:
        return None
    if day is not None and day >= today:
        return day
    if lead_days is not None and covered_by == LEAD_TIME:
        return today + timedelta(days=lead_days)
    return None


def _overrides(sql: BulkSql, variant_ids: list[int]) -> dict[int, date]:
    """The merchant's ETA overrides of these variants' waiting lines. Few lines have one, so the
    partial index ix_backorders_overridden finds them without reading the batch's lines again.
    SQLite is told to use it: its planner prefers (shop_id, variant_id, status), which matches
    more of the WHERE but visits every line of the batch (0.07 s for 20,000 lines, against 0.4 ms)."""
    if not variant_ids:
        return {}
    hint = "" if sql.postgres else " INDEXED BY ix_backorders_overridden"
    rows = sql._all(f"SELECT id, eta_override FROM backorders{hint} WHERE shop_id = {sql.p} AND eta_override IS NOT NULL "
                    f"AND status IN ('open', 'ready') AND {sql._in('variant_id')}", (sql.shop_id, sql._list(variant_ids)))
    return {line_id: day if isinstance(day, date) else date.fromisoformat(day) for line_id, day in rows}


def _tie_sequences(sql: BulkSql, variants: list[tuple], lines: list[tuple]) -> dict[int, tuple]:
    """Platform sequences of the lines that share a SKU and an order time with another line.

    The queue is ordered by (priority, ordered_at, platform order and line number, id); the
    platform numbers only decide between lines ordered in the same instant, so they are read
    (from order_lines and orders) for those lines alone, not joined for every line.
    """
    sku_of = {vid: key for vid, key, _, _ in variants}
    first: dict[tuple, tuple] = {}
    tied: list[tuple] = []
    for row in lines:
        slot = (sku_of.get(row[L_VARIANT]), row[L_ORDERED])
        other = first.setdefault(slot, row)
        if other is not row:
            tied.append(row)
            tied.append(other)
    if not tied:
        return {}
    platform = sql.platform_ids(row[L_ORDER_LINE] for row in tied)
    sequences = {}
    for row in tied:
        ids = platform.get(row[L_ORDER_LINE])
        if ids is not None:
            sequences[row[L_ID]] = platform_sequence(*ids)
    return sequences


# -- computing ------------------------------------------------------------------------------------

@dataclass
class Plan:
    # (id, status, promised, original, current, earliest, likely, latest, covered_by, supplier id,
    #  promise version, refund offered at, the line's row as read): only lines whose stored values
    #  change (positions bulk.U_ID ... U_ROW)
    updates: list[tuple]
    events: list[tuple]  # (backorder id, kind, promise version, old date, new date), of lines in `updates`
    marked: set[int]  # lines whose shown ETA or status changed: their orders are marked for the push
    lines: int
    now: datetime = field(default_factory=lambda: utcnow())
    # Line id -> which of its indexed columns change (bulk.STATUS | PROMISED | SUPPLIER), for the
    # lines in `updates` where any does: SQLite rewrites an index for every column named in SET.
    indexed_changes: dict[int, int] = field(default_factory=dict)
    # Variants whose storefront date changes: (id, promise, earliest, likely, latest, covered, digest).
    storefront: list[tuple] = field(default_factory=list)


def _plan(inputs: Inputs, policy: ShopPolicy, lateness: LatenessModel, today: date) -> Plan:
    """What to write: pure computation over what was read (no session, no I/O)."""
    sku_of = {vid: key for vid, key, _, _ in inputs.variants}
    free: dict[str, int] = {}
    for _vid, key, sellable, _rev in inputs.variants:
        free[key] = free.get(key, 0) + sellable
    lines: list[BackorderLine] = []
    by_id: dict[int, tuple] = {}
    sequence = inputs.sequences.get
    free_get, add = free.get, lines.append
    for row in inputs.lines:
        key = sku_of.get(row[L_VARIANT])
        quantity = row[L_QTY]
        if key is None or quantity <= 0:
            continue
        # Stock not yet claimed by backorder lines: "available" (already net of every open order)
        # plus the units of the lines we are placing, which that figure has subtracted.
        free[key] = free_get(key, 0) + quantity
        line_id = row[L_ID]
        by_id[line_id] = row
        add(BackorderLine(line_id, key, None, row[L_ORDERED], quantity, row[L_PRIORITY], sequence(line_id, ())))
    on_hand = [OnHand(key, None, units) for key, units in free.items() if units > 0]
    estimator = EtaEstimator(today=today, lateness=lateness, suppliers=inputs.suppliers,
                             sku_suppliers=inputs.sku_suppliers,
                             default_supplier=SupplierProfile(None, lead_time_days=policy.default_lead_days,
                                                              handling_days=0),
                             promise_quantile=policy.promise_quantile)
    etas = estimator.promise(lines, on_hand, inputs.lots)
    if inputs.manual:  # the merchant's date or lead time for a variant: the whole range is that day
        for line_id, eta in etas.items():
            manual = inputs.manual.get(by_id[line_id][L_VARIANT])
            day = manual_promise(manual, eta.covered_by, today) if manual is not None else None
            if day is not None:
                etas[line_id] = eta._replace(earliest=day, likely=day, latest=day, promise=day)
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
    updates, events, marked, indexed = [], [], set(), {}
    happened_to = found.get
    for line_id, eta in etas.items():
        row = by_id[line_id]
        covered, current = eta.covered_by, eta.promise
        status = "ready" if covered == STOCK else "open"
        promised = row[L_PROMISED] or current
        original = row[L_ORIGINAL] or promised
        version, refund_at = row[L_VERSION], row[L_REFUND]
        happened = happened_to(line_id)
        if happened:
            for event in happened:
                if event.kind == DELAY:
                    promised, version = event.new, version + 1
                elif event.kind == REFUND_OFFER:
                    refund_at = now
        new = (status, promised, original, current, eta.earliest, eta.likely, eta.latest, covered,
               eta.supplier_key, version, refund_at)
        if new == row[L_STATUS:L_REFUND + 1]:
            continue  # (an event always changes the line: a later promise, the offer's time, the status)
        if happened:  # stored with the line's update, in its transaction (never one without the other)
            for event in happened:
                events.append((line_id, event.kind, version, event.old, event.new))
        updates.append((line_id, *new, row))
        bits = ((status != row[L_STATUS]) * STATUS | (promised != row[L_PROMISED]) * PROMISED
                | (eta.supplier_key != row[L_SUPPLIER]) * SUPPLIER)
        if bits:
            indexed[line_id] = bits
        if bits & STATUS or current != row[L_CURRENT]:
            marked.add(line_id)  # what the store shows (tag, line ETAs) changed: its order is marked for the push
    waiting: dict[str, int] = {}
    for line in lines:
        waiting[line.sku] = waiting.get(line.sku, 0) + line.quantity
    shelf = plan_storefront(inputs.variants, inputs.storefront, waiting, free, estimator, inputs.lots)
    return Plan(updates, events, marked, len(lines), now, indexed, shelf)


# -- writing --------------------------------------------------------------------------------------

@dataclass
class _Pending:
    """Computed batches' answers, gathered for one write pass in line id order."""

    skus: int = 0
    lines: int = 0
    variants: list[tuple] = field(default_factory=list)  # (id, sku key, sellable, revision) as read
    updates: list[tuple] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)
    marked: set[int] = field(default_factory=set)
    indexed_changes: dict[int, int] = field(default_factory=dict)
    storefront: list[tuple] = field(default_factory=list)
    now: datetime = field(default_factory=utcnow)

    def add(self, inputs: Inputs, plan: Plan) -> None:
        self.skus += len(inputs.skus)
        self.lines += plan.lines
        self.variants += inputs.variants
        self.updates += plan.updates
        self.events += plan.events
        self.marked |= plan.marked
        self.indexed_changes.update(plan.indexed_changes)
        self.storefront += plan.storefront
        self.now = plan.now

    def sort(self) -> None:
        self.updates.sort(key=_BY_LINE)  # by line id: each page of the table is written once
        self.events.sort(key=_BY_LINE)


_BY_LINE = itemgetter(0)  # updates and events start with the line id


def _write_pending(runtime, shop_id: int, pending: _Pending, *, chunk_lines: int,
                   advance: Callable[[int], None] | None = None) -> RecomputeCounts:
    """Write gathered answers in line id order, `chunk_lines` lines per transaction, then settle.

    Every change to a variant's inputs bumps its `eta_revision`. Each transaction first reads
    the revisions of its lines' variants (rows locked on PostgreSQL; SQLite has one writer):
    a SKU whose variant moved on since it was read is stale from then on, and its lines in this
    and later chunks are not written; it stays dirty for the next run, which recomputes all its
    lines. A stale SKU's lines written by earlier chunks are harmless: whoever changed it wrote
    after them and recomputes from them (an order handler recomputes its SKUs in its own
    transaction). The last transaction checks every variant again, writes the storefront dates
    and settles (`eta_dirty` off) the SKUs that stayed fresh.

    The chunks are a pipeline of two threads: while the database runs one chunk's UPDATE (one
    statement, during which the driver holds no GIL), this thread prepares the next chunk's
    rows and tally moves (`_prepare_chunk`), which used to wait for it.
    """
    counts = RecomputeCounts(skus=pending.skus, lines=pending.lines)
    if not pending.variants:
        return counts
    pending.sort()
    key_of = {vid: key for vid, key, _, _ in pending.variants}
    read_at = {vid: revision for vid, _, _, revision in pending.variants}
    postgres = runtime.db.dialect == "postgresql"
    stale: set[str] = set()
    updates, events = pending.updates, pending.events
    chunks = [updates[start:start + chunk_lines] for start in range(0, len(updates), chunk_lines)]
    cuts = [bisect_left(events, chunk[-1][0] + 1, key=_BY_LINE) for chunk in chunks]
    raw = [(chunk, events[cuts[index - 1] if index else 0:cuts[index]]) for index, chunk in enumerate(chunks)]
    del chunks
    step = pending.skus / max(1, len(raw))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="eta-write") as writer:
        ready = _prepare_chunk(pending, *raw[0], stale, key_of, postgres) if raw else None
        for index in range(len(raw)):
            following = raw[index + 1] if index + 1 < len(raw) else None
            raw[index] = None  # (memory: what is written need not be kept)
            ready = _write_chunk(runtime, shop_id, pending, ready, following, key_of, read_at, stale, counts,
                                 writer, postgres)
            if advance is not None:
                advance(round(step * (index + 1)) - round(step * index))
    with runtime.db.shop_session(shop_id) as session:
        sql = BulkSql.of(session, shop_id)
        _find_stale(sql, sorted(key_of), key_of, read_at, stale)
        _settle(sql, pending, stale, bump_revisions=False)
    if advance is not None and not raw:
        advance(pending.skus)
    counts.skipped_skus = len(stale)
    return counts


@dataclass
class _ChunkWrite:
    """One write transaction's lines, made ready before it begins (`_prepare_chunk`)."""

    updates: list[tuple]
    events: list[tuple]
    variant_ids: list[int]  # the variants of its lines, whose revisions the transaction checks
    stale_known: int  # SKUs known stale when it was prepared (its lines of those are left out)
    lines: LineWrite
    order_lines: list[int]  # the order lines of its lines whose orders are marked for the push


def _prepare_chunk(pending: _Pending, updates: list[tuple], events: list[tuple], stale: set[str],
                   key_of: dict[int, str], postgres: bool) -> _ChunkWrite:
    """Everything of a chunk's write that needs no connection (pure Python)."""
    if stale:
        updates = [update for update in updates if key_of[update[U_ROW][L_VARIANT]] not in stale]
        kept = {update[0] for update in updates}
        events = [event for event in events if event[0] in kept]
    marked = pending.marked
    return _ChunkWrite(updates, events, sorted({update[U_ROW][L_VARIANT] for update in updates}), len(stale),
                       BulkSql.prepare_lines(updates, pending.now, pending.indexed_changes, postgres),
                       [update[U_ROW][L_ORDER_LINE] for update in updates if update[0] in marked])


def _write_chunk(runtime, shop_id: int, pending: _Pending, ready: _ChunkWrite, following: tuple | None,
                 key_of: dict[int, str], read_at: dict[int, int], stale: set[str], counts: RecomputeCounts,
                 writer: ThreadPoolExecutor, postgres: bool) -> _ChunkWrite | None:
    """One write transaction of `_write_pending`: these lines (by id), their events and order marks.

    The UPDATE and the marks (on PostgreSQL the events too) run on `writer` while this thread
    counts the chunk's tally moves and prepares the `following` chunk; this thread does not touch
    the connection until they are done. Returns the following chunk prepared."""
    prepared: _ChunkWrite | None = None
    with runtime.db.shop_session(shop_id) as session, bulk_write_cache(BulkSql.of(session, shop_id)):
        sql = BulkSql.of(session, shop_id)
        _find_stale(sql, ready.variant_ids, key_of, read_at, stale)
        if len(stale) != ready.stale_known:  # a SKU moved on since: its lines are left out
            ready = _prepare_chunk(pending, ready.updates, ready.events, stale, key_of, postgres)
        if ready.updates:
            sql.begin_line_write(ready.lines)
            applied = False
            try:
                if not postgres:  # an executemany: in this thread (see below)
                    sql.insert_events(ready.events, pending.now)
                if ready.lines.one_statement:
                    job = writer.submit(_apply_chunk, sql, ready, postgres)
                    try:  # meanwhile: this chunk's tally moves, then the next chunk
                        ready.lines.count_tallies()
                        if following is not None:
                            prepared = _prepare_chunk(pending, *following, stale, key_of, postgres)
                    finally:
                        marked = job.result()
                else:  # (an executemany beside a busy thread would wait for the GIL at every row)
                    marked = _apply_chunk(sql, ready, postgres)
                applied = True
            finally:
                sql.end_line_write(ready.lines, applied=applied)
            counts.changed += len(ready.updates)
            counts.orders_marked += marked
            counts.count_events(ready.events)
    if following is not None and prepared is None:
        prepared = _prepare_chunk(pending, *following, stale, key_of, postgres)
    return prepared


def _apply_chunk(sql: BulkSql, ready: _ChunkWrite, with_events: bool) -> int:
    """The chunk's UPDATE statements and order marks, and `with_events` (PostgreSQL: one
    statement) its events: single statements, no GIL held while they run. Returns the orders
    newly marked."""
    if with_events:
        sql.insert_events(ready.events, ready.lines.now)
    sql.apply_line_write(ready.lines)
    return sql.mark_orders_of_lines(ready.order_lines, ready.lines.now)


def _find_stale(sql: BulkSql, variant_ids: list[int], key_of: dict[int, str], read_at: dict[int, int],
                stale: set[str]) -> None:
    """Add to `stale` the SKUs of these variants whose revision is no longer the one read."""
    if not variant_ids:
        return
    current = sql.revisions(variant_ids, lock=True)
    for vid in variant_ids:
        if current.get(vid) != read_at[vid]:
            stale.add(key_of[vid])


def _write_lines(sql: BulkSql, pending: _Pending, updates: list[tuple], events: list[tuple],
                 counts: RecomputeCounts) -> set[int]:
    """Write these line updates (sorted by id) and their events, mark their orders; returns the
    orders (the in-session recompute's caller rewrites their store marks itself)."""
    sql.update_lines(updates, pending.now, pending.indexed_changes)
    sql.insert_events(events, pending.now)
    # The emails the events call for are queued by the outbox job from the stored events
    # (plugin/notifications/event_messages.py), outside this write transaction.
    marked = pending.marked
    orders = set(sql.order_ids(update[U_ROW][L_ORDER_LINE] for update in updates if update[0] in marked).values())
    sql.mark_orders(sorted(orders), pending.now)
    counts.changed += len(updates)
    counts.orders_marked += len(orders)
    counts.count_events(events)
    return orders


def _settle(sql: BulkSql, pending: _Pending, stale: set[str], *, bump_revisions: bool) -> None:
    """Storefront dates and `eta_dirty` off for the SKUs that are not stale."""
    keep = {vid for vid, key, _, _ in pending.variants if key not in stale}
    write_storefront(sql, [row for row in pending.storefront if row[0] in keep], pending.now)
    sql.settle_variants(sorted(keep), pending.now, bump_revisions=bump_revisions)


def dirty_shops(runtime) -> list[int]:
    """Installed shops with at least one dirty variant."""
    with runtime.db.session() as session:
        return list(session.scalars(
            select(Shop.id).where(Shop.status == "installed",
                                  select(Variant.id).where(and_(Variant.shop_id == Shop.id, Variant.eta_dirty == true()))
                                  .exists()).order_by(Shop.id)))
