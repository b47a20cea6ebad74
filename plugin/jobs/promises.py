"""The scheduled jobs that keep promises true: feed sync, ETA recompute, pushing ETAs to stores.

Each is `job(runtime, counts)` as plugin/jobs/schedule.py expects, walks every installed shop, and
is idempotent: a run repeated (or overlapping a webhook) changes nothing more. A shop that fails
does not stop the others; the run records each failure and, if any, ends as an error naming them.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from plugin.db.models import Shop, Supplier, SyncRun
from plugin.logs import scrub

log = logging.getLogger(__name__)

# A failing feed is retried sooner than its interval, backing off: 5, 10, 20 ... minutes.
FAILURE_RETRY = timedelta(minutes=5)
PUSH_PAGE = 200


class JobFailures(RuntimeError):
    """Some shops or suppliers failed in a run that carried on with the rest."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def installed_shops(runtime) -> list[Shop]:
    with runtime.db.session() as session:
        shops = list(session.scalars(select(Shop).where(Shop.status == "installed").order_by(Shop.id)))
        for shop in shops:
            session.expunge(shop)
        return shops


def _each(counts: dict[str, Any], items, work: Callable, describe: Callable) -> None:
    """Run work(item) for every item; failures are counted and raised together at the end."""
    failures: list[str] = []
    for item in items:
        try:
            work(item)
        except Exception as exc:  # one shop's outage must not stall every other shop's promises
            log.exception("job step failed", extra={"step": describe(item)})
            failures.append(f"{describe(item)}: {scrub(f'{type(exc).__name__}: {exc}')[:300]}")
    counts["failures"] = len(failures)
    if failures:
        raise JobFailures("; ".join(failures[:10]) + (f" (+{len(failures) - 10} more)" if len(failures) > 10 else ""))


# -- supplier feeds ---------------------------------------------------------------------------------

def feed_due(supplier: Supplier, last_run: SyncRun | None, failures_in_a_row: int, now: datetime) -> bool:
    """Whether a URL feed should be fetched now: on its cron, or its interval since the last run;
    after failures, sooner (backing off), because a supplier's server being down for an hour
    should not cost the shop six hours of stale dates."""
    if last_run is None:
        return True
    last = last_run.started_at
    if failures_in_a_row:
        wait = FAILURE_RETRY * (2 ** min(failures_in_a_row - 1, 8))
        return now >= last + min(wait, timedelta(minutes=supplier.sync_interval_minutes))
    if supplier.sync_cron:
        trigger = CronTrigger.from_crontab(supplier.sync_cron, timezone=timezone.utc)
        upcoming = trigger.get_next_fire_time(None, last + timedelta(seconds=1))
        return upcoming is not None and upcoming <= now
    return now >= last + timedelta(minutes=supplier.sync_interval_minutes)


def _recent_runs(runtime, shop_id: int, supplier_id: int, limit: int = 10) -> list[SyncRun]:
    with runtime.db.shop_session(shop_id) as session:
        return list(session.scalars(select(SyncRun).where(SyncRun.supplier_id == supplier_id)
                                    .order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(limit)))


def due_feeds(runtime, shop_id: int, now: datetime | None = None) -> list[Supplier]:
    now = now or utcnow()
    with runtime.db.shop_session(shop_id) as session:
        suppliers = list(session.scalars(select(Supplier).where(
            Supplier.active.is_(True), Supplier.feed_kind == "url").order_by(Supplier.id)))
    due = []
    for supplier in suppliers:
        runs = _recent_runs(runtime, shop_id, supplier.id)
        failures = 0
        for run in runs:
            if run.status != "failed":
                break
            failures += 1
        if feed_due(supplier, runs[0] if runs else None, failures, now):
            due.append(supplier)
    return due


def sync_feeds(runtime, counts: dict[str, Any], *, force: bool = False, shop_ids: list[int] | None = None,
               supplier_ids: list[int] | None = None, progress: Callable | None = None) -> None:
    """Fetch every URL feed that is due (all of them with `force`), and the stores' own incoming
    shipments. The sync services record a report per run, failures included."""
    from plugin.suppliers.services import sync_shopify_incoming, sync_supplier

    tally = {"synced": 0, "ok": 0, "partial": 0, "failed": 0, "not_modified": 0, "incoming": 0}
    steps: list[tuple[Shop, Supplier | None]] = []
    for shop in installed_shops(runtime):
        if shop_ids is not None and shop.id not in shop_ids:
            continue
        if supplier_ids is None and shop.platform == "shopify" and "read_inventory_shipments" in (shop.scopes or ""):
            steps.append((shop, None))
        if force:
            with runtime.db.shop_session(shop.id) as session:
                feeds = list(session.scalars(select(Supplier).where(
                    Supplier.active.is_(True), Supplier.feed_kind == "url").order_by(Supplier.id)))
        else:
            feeds = due_feeds(runtime, shop.id)
        steps.extend((shop, supplier) for supplier in feeds if supplier_ids is None or supplier.id in supplier_ids)

    done = 0

    def work(step) -> None:
        nonlocal done
        shop, supplier = step
        run = sync_shopify_incoming(runtime, shop.id) if supplier is None else sync_supplier(runtime, shop.id, supplier.id)
        tally["incoming" if supplier is None else "synced"] += 1
        tally[run.status] = tally.get(run.status, 0) + 1
        done += 1
        if progress is not None:
            progress(done, len(steps))

    try:
        _each(counts, steps, work, lambda step: f"{step[0].domain} / {step[1].name if step[1] else 'incoming shipments'}")
    finally:
        counts.update(tally)


# -- ETA recompute ----------------------------------------------------------------------------------

def recompute_etas(runtime, counts: dict[str, Any], *, full: bool = False, shop_ids: list[int] | None = None,
                   progress: Callable | None = None) -> None:
    """Recompute what changed (every open line with `full`: dates also move with the calendar)."""
    from plugin.eta.recompute import RecomputeCounts, dirty_shops, recompute_shop

    total = RecomputeCounts()
    if full:
        targets = [shop.id for shop in installed_shops(runtime)]
    else:
        targets = dirty_shops(runtime)
    if shop_ids is not None:
        targets = [shop_id for shop_id in targets if shop_id in shop_ids]

    def work(shop_id: int) -> None:
        total.add(recompute_shop(runtime, shop_id, full=full, progress=progress))

    try:
        _each(counts, targets, work, lambda shop_id: f"shop {shop_id}")
    finally:
        counts.update(total.as_dict(), shops=len(targets), full=full)


def recompute_all_etas(runtime, counts: dict[str, Any]) -> None:
    recompute_etas(runtime, counts, full=True)


# -- pushing ETAs to stores -------------------------------------------------------------------------

def push_etas(runtime, counts: dict[str, Any]) -> None:
    """Write changed order ETAs (tag + app metafield) to each store, a page of orders at a time."""
    from plugin.backorders.handlers import write_marks
    from plugin.backorders.services import orders_to_push

    tally = {"orders": 0, "shops": 0}

    def work(shop: Shop) -> None:
        after = 0
        while True:
            # Keyset pages: an order whose ETA moved again while we wrote it waits for the next run.
            page = orders_to_push(runtime, shop.id, PUSH_PAGE, after)
            if not page:
                break
            write_marks(runtime, shop, page)
            after = page[-1]
            tally["orders"] += len(page)
        tally["shops"] += 1 if after else 0

    try:
        _each(counts, installed_shops(runtime), work, lambda shop: shop.domain)
    finally:
        counts.update(tally)


# -- reconciliation: webhooks are not guaranteed --------------------------------------------------

# Consecutive windows overlap: the store's order search lags a few seconds behind its orders.
RECONCILE_OVERLAP = timedelta(minutes=10)
FIRST_RECONCILE_WINDOW = timedelta(days=2)


def _last_ok_start(runtime, job_name: str) -> datetime | None:
    from plugin.db.models import JobRun

    with runtime.db.session() as session:
        return session.scalar(select(JobRun.started_at).where(JobRun.job_name == job_name, JobRun.status == "ok")
                              .order_by(JobRun.started_at.desc()).limit(1))


def reconcile_orders(runtime, counts: dict[str, Any]) -> None:
    """Process the orders each store updated since the last good run that no webhook brought."""
    from plugin.backorders.reconcile import reconcile_shop

    last = _last_ok_start(runtime, "reconcile_orders")
    since = (last - RECONCILE_OVERLAP) if last else utcnow() - FIRST_RECONCILE_WINDOW
    tally = {"orders_seen": 0, "orders_processed": 0, "errors": 0}

    def work(shop: Shop) -> None:
        found = reconcile_shop(runtime, shop.id, since=since)
        for key in tally:
            tally[key] += found.get(key, 0)

    try:
        _each(counts, installed_shops(runtime), work, lambda shop: shop.domain)
    finally:
        counts.update(tally, since=since.isoformat())


def refresh_stock(runtime, counts: dict[str, Any]) -> None:
    """Re-read the stock of every variant with open backorders: restocks reach them without an order."""
    from plugin.backorders.reconcile import refresh_stock as refresh_shop

    tally = {"variants_refreshed": 0, "orders_processed": 0, "errors": 0}

    def work(shop: Shop) -> None:
        found = refresh_shop(runtime, shop.id)
        for key in tally:
            tally[key] += found.get(key, 0)

    try:
        _each(counts, installed_shops(runtime), work, lambda shop: shop.domain)
    finally:
        counts.update(tally)


# -- storefront ETAs --------------------------------------------------------------------------------

def push_storefront(runtime, counts: dict[str, Any]) -> None:
    """Write each store's changed variant ETAs (the product page, cart and checkout read them)."""
    from plugin.storefront.push import push_storefront_etas

    tally = {"set": 0, "cleared": 0, "calls": 0}

    def work(shop: Shop) -> None:
        found = push_storefront_etas(runtime, shop.id)
        for key in tally:
            tally[key] += found.get(key, 0)

    try:
        _each(counts, installed_shops(runtime), work, lambda shop: shop.domain)
    finally:
        counts.update(tally)


# -- catalogue: the variants no order has touched yet -----------------------------------------------

CATALOG_EVERY = timedelta(hours=24)


def sync_catalogs(runtime, counts: dict[str, Any]) -> None:
    """Read the whole catalogue of each shop not read in the last day (a new install at once),
    each shop's read recorded as its own job run. A big first read is a bulk export."""
    from plugin.catalog.services import sync_catalog
    from plugin.db.models import JobRun
    from plugin.jobs.runs import record_run

    cutoff = utcnow() - CATALOG_EVERY
    with runtime.db.session() as session:
        recent = set(session.scalars(select(JobRun.shop_id).where(
            JobRun.job_name == "catalog_sync_shop", JobRun.status == "ok", JobRun.started_at >= cutoff)))
    due = [shop for shop in installed_shops(runtime) if shop.id not in recent]
    tally = {"shops": 0, "variants_seen": 0, "changed": 0, "created": 0}

    def work(shop: Shop) -> None:
        with record_run(runtime, "catalog_sync_shop", shop.id) as shop_counts:
            shop_counts.update(sync_catalog(runtime, shop.id))
        tally["shops"] += 1
        for key in ("variants_seen", "changed", "created"):
            tally[key] += shop_counts.get(key, 0)

    try:
        _each(counts, due, work, lambda shop: shop.domain)
    finally:
        counts.update(tally)


# -- customers and merchants ------------------------------------------------------------------------

def resume_refunds(runtime, counts: dict[str, Any]) -> None:
    """Finish refunds left half-done (a crash, or the platform unreachable when the customer chose)."""
    from plugin.choices.services import resume_refunds as resume

    counts["ended"] = resume(runtime)


def merchant_digests(runtime, counts: dict[str, Any]) -> None:
    """Compose each shop's daily digest into the outbox (once per shop and day: keyed)."""
    from plugin.notifications.digest import enqueue_digest

    tally = {"composed": 0}

    def work(shop: Shop) -> None:
        with runtime.db.shop_session(shop.id) as session:
            row = session.get(Shop, shop.id)
            found = enqueue_digest(runtime, session, row, utcnow().date())
        if found is not None and found.status == "pending":
            tally["composed"] += 1

    try:
        _each(counts, installed_shops(runtime), work, lambda shop: shop.domain)
    finally:
        counts.update(tally)


def flush_outbox(runtime, counts: dict[str, Any]) -> None:
    """Send due emails (SMTP_URL), or write them as .eml files under instance/mail/."""
    from plugin.notifications.outbox import flush_outbox_job

    flush_outbox_job(runtime, counts)
