"""Every scheduled job, declared in one list, and the APScheduler that runs them.

`serve` runs a BackgroundScheduler inside the web process; `backorder-desk clock` runs the same jobs
in a BlockingScheduler of its own. A job is `func(runtime, counts)`: it does its work in its own short
transactions and fills `counts`, which lands in the job's JobRun row (see runs.record_run).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Sequence

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import and_, delete, func, select

from connectors.woocommerce import jobs as woocommerce_jobs  # its functions import what they use when run
from plugin.db.models import JobRun, WebhookEvent
from plugin.jobs.runs import record_run, write_heartbeat

log = logging.getLogger(__name__)

JOB_DEFAULTS = {
    # A slow run must not overlap the next one (two ETA recomputes racing on the same rows)...
    "max_instances": 1,
    # ...and runs missed while the process was busy or asleep collapse into one catch-up run.
    "coalesce": True,
    "misfire_grace_time": 60,
}

# Due events older than this mean no worker is keeping up (or none is running).
OVERDUE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable[[Any, dict[str, Any]], None]
    trigger: dict[str, Any]  # APScheduler add_job trigger kwargs, e.g. {"trigger": "interval", "seconds": 60}
    # Run once right at start as well: health and catch-up should not wait a whole interval.
    run_at_start: bool = False
    description: str = ""
    # A heartbeat's own row is its record; a JobRun every 15 s would only bury the runs that matter.
    recorded: bool = True


def beat_scheduler(runtime, counts: dict[str, Any]) -> None:
    counts["component"] = write_heartbeat(runtime, "scheduler")


def sweep_inbox(runtime, counts: dict[str, Any]) -> None:
    """Count what the worker should have handled but has not, and nudge the worker."""
    now = datetime.now(timezone.utc)
    c = WebhookEvent
    due = and_(c.status.in_(("pending", "failed")), c.next_attempt_at <= now)
    query = select(
        func.count().filter(due).label("due"),
        func.count().filter(and_(due, c.next_attempt_at <= now - OVERDUE_AFTER)).label("overdue"),
        func.count().filter(and_(c.status == "processing", c.locked_until < now)).label("stuck"),
        func.count().filter(c.status == "failed").label("failed"),
        func.count().filter(c.status == "dead").label("dead"),
    )
    with runtime.db.session() as session:
        row = session.execute(query).one()
    counts.update(row._asdict())
    if counts["overdue"] or counts["stuck"]:
        log.warning("inbox is behind", extra={"counts": dict(counts)})
    wake = runtime.extras.get("wake_worker")
    if wake is not None:  # absent in the clock process: the worker processes poll on their own
        wake()


# Finished history is kept this long; the inbox and the job log would otherwise grow forever.
KEEP_HISTORY = timedelta(days=30)
FINAL_EVENT_STATUSES = ("done", "rejected", "ignored", "dead")


def prune_history(runtime, counts: dict[str, Any]) -> None:
    cutoff = datetime.now(timezone.utc) - KEEP_HISTORY
    with runtime.db.session() as session:
        counts["job_runs"] = session.execute(
            delete(JobRun).where(JobRun.finished_at.is_not(None), JobRun.finished_at < cutoff)
        ).rowcount
        counts["webhook_events"] = session.execute(
            delete(WebhookEvent).where(WebhookEvent.status.in_(FINAL_EVENT_STATUSES), WebhookEvent.received_at < cutoff)
        ).rowcount


def _promise_job(name: str):
    """Resolved when run: the jobs import the services, which must not load with the scheduler."""
    def run(runtime, counts: dict[str, Any]) -> None:
        from plugin.jobs import promises

        getattr(promises, name)(runtime, counts)

    run.__name__ = name
    return run


JOBS: list[JobSpec] = [
    JobSpec("heartbeat", beat_scheduler, {"trigger": "interval", "seconds": 15}, run_at_start=True,
            description="tell /healthz the scheduler is alive", recorded=False),
    JobSpec("inbox_sweep", sweep_inbox, {"trigger": "interval", "seconds": 60}, run_at_start=True,
            description="count stuck and dead webhook events; wake the worker"),
    JobSpec("prune_history", prune_history, {"trigger": "cron", "hour": 3, "minute": 17},
            description=f"delete job runs and finished webhook events older than {KEEP_HISTORY.days} days"),
    JobSpec("supplier_feeds", _promise_job("sync_feeds"), {"trigger": "interval", "minutes": 5}, run_at_start=True,
            description="fetch each supplier's URL feed on its own interval or cron; read the stores' incoming shipments"),
    JobSpec("eta_recompute", _promise_job("recompute_etas"), {"trigger": "interval", "minutes": 2},
            description="recompute ETAs of the SKUs whose stock, supply or backorders changed"),
    JobSpec("eta_recompute_all", _promise_job("recompute_all_etas"), {"trigger": "cron", "hour": 0, "minute": 20},
            description="recompute every open line: dates move with the calendar (overdue lots, lead times from today)"),
    JobSpec("eta_push", _promise_job("push_etas"), {"trigger": "interval", "minutes": 2, "seconds": 30},
            description="write changed order ETAs (tag and metafield) to the stores"),
    JobSpec("storefront_push", _promise_job("push_storefront"), {"trigger": "interval", "minutes": 2, "seconds": 45},
            description="write changed variant ETAs (the storefront's metafield) to the stores, 25 a call"),
    JobSpec("catalog_sync", _promise_job("sync_catalogs"), {"trigger": "interval", "hours": 1}, run_at_start=True,
            description="read each shop's whole catalogue once a day (a new install at once; a bulk export when big)"),
    JobSpec("email_outbox", _promise_job("flush_outbox"), {"trigger": "interval", "seconds": 30}, run_at_start=True,
            description="send due emails over SMTP_URL, or write them to instance/mail/ as .eml files"),
    JobSpec("refunds_resume", _promise_job("resume_refunds"), {"trigger": "interval", "minutes": 5},
            description="finish refunds left half-done (same idempotency key: never a second refund)"),
    JobSpec("merchant_digest", _promise_job("merchant_digests"), {"trigger": "cron", "hour": 7, "minute": 5},
            description="each shop's daily backorder summary to the merchant's email"),
    JobSpec("reconcile_orders", _promise_job("reconcile_orders"), {"trigger": "interval", "minutes": 15},
            description="process orders the stores updated that no webhook brought (webhooks are not guaranteed)"),
    JobSpec("stock_refresh", _promise_job("refresh_stock"), {"trigger": "interval", "hours": 1},
            description="re-read the stock of variants with open backorders, so restocks make lines ready"),
    JobSpec("woocommerce_import", woocommerce_jobs.import_new_stores, {"trigger": "interval", "minutes": 5},
            run_at_start=True, description="a newly connected WooCommerce store's catalogue and open orders, once"),
]


def job_by_name(name: str, jobs: Sequence[JobSpec] = JOBS) -> JobSpec:
    for spec in jobs:
        if spec.name == name:
            return spec
    raise KeyError(f"no scheduled job named {name!r}")


def run_job(runtime, spec: JobSpec) -> bool:
    """Run one job now, recorded as a JobRun. False when it failed (already logged and recorded)."""
    try:
        if not spec.recorded:
            spec.func(runtime, {})
            return True
        with record_run(runtime, spec.name) as counts:
            spec.func(runtime, counts)
    except Exception:
        # The JobRun row holds the error; the traceback goes to the log. Nothing for APScheduler to add.
        log.exception("scheduled job raised", extra={"job": spec.name})
        return False
    return True


def build_scheduler(runtime, *, background: bool = True, jobs: Sequence[JobSpec] | None = None) -> BaseScheduler:
    """A scheduler with every job of JOBS (or `jobs`) added; the caller starts and shuts it down."""
    cls = BackgroundScheduler if background else BlockingScheduler
    scheduler = cls(timezone=timezone.utc, job_defaults=dict(JOB_DEFAULTS))
    for spec in JOBS if jobs is None else jobs:
        kwargs = dict(spec.trigger)
        if spec.run_at_start:
            kwargs.setdefault("next_run_time", datetime.now(timezone.utc))
        scheduler.add_job(run_job, args=(runtime, spec), id=spec.name, name=spec.name, replace_existing=True, **kwargs)
    return scheduler
