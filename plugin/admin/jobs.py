"""The Jobs page and its API: the schedule, this shop's recent runs, and "run now".

"Run now" never does another shop's work. Each job a merchant may start is listed in `RUNNABLE`
with the work for one shop: the promise jobs that take `shop_ids` (feeds, recomputes) get
[this shop], the per-shop steps of the others (pushes, stock, catalogue, digest) are called for
this shop alone. Jobs that serve every shop at once (heartbeat, inbox sweep, prune, reconcile,
refunds resume, WooCommerce import) are not runnable from a shop's admin. A run is recorded as
a JobRun with this shop's id (the catalogue under `catalog_sync_shop`, the name the daily job
reads, so a run now counts as today's read), in a background thread: the answer comes at once
(202) and the run appears in the list. A second run of the same job for the same shop while one
is running is refused (409).

The runs listed are this shop's (shop_id = the shop). Runs of the shared schedule (shop_id NULL)
are shown only as "last ran at, ok or not": their counts and errors speak of every shop.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from flask import current_app
from sqlalchemy import select

from plugin.admin.api import ApiError, api_route
from plugin.admin.auth import AdminContext
from plugin.admin.blueprint import admin_page
from plugin.admin.i18n import MESSAGES, translate
from plugin.admin.job_schemas import JobInfo, JobList, JobRunOut, RunNowResult
from plugin.admin.layout import render_page
from plugin.db.models import Heartbeat, JobRun

log = logging.getLogger(__name__)

RECENT_RUNS = 50
RUNNING_FOR_AT_MOST = timedelta(hours=1)  # an older 'running' row is a run whose process died
SCHEDULER_FRESH = timedelta(minutes=2)
RECORDED_AS = {"catalog_sync": "catalog_sync_shop"}
SHOWN_AS = {"catalog_sync_shop": "catalog_sync", "woocommerce_import_shop": "woocommerce_import"}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# -- what a shop may run, for that shop alone ------------------------------------------------------
def _feeds(runtime, counts: dict, shop_id: int) -> None:
    from plugin.jobs.promises import sync_feeds

    sync_feeds(runtime, counts, force=True, shop_ids=[shop_id])


def _recompute(full: bool) -> Callable:
    def run(runtime, counts: dict, shop_id: int) -> None:
        from plugin.jobs.promises import recompute_etas

        recompute_etas(runtime, counts, full=full, shop_ids=[shop_id])

    return run


def _shop(runtime, shop_id: int):
    from plugin.backorders.services import load_shop

    return load_shop(runtime, shop_id)


def _push_orders(runtime, counts: dict, shop_id: int) -> None:
    from plugin.backorders.handlers import write_marks
    from plugin.backorders.services import orders_to_push
    from plugin.jobs.promises import PUSH_PAGE

    shop, after, pushed = _shop(runtime, shop_id), 0, 0
    while True:
        page = orders_to_push(runtime, shop_id, PUSH_PAGE, after)
        if not page:
            break
        write_marks(runtime, shop, page)
        after, pushed = page[-1], pushed + len(page)
    counts["orders"] = pushed


def _storefront(runtime, counts: dict, shop_id: int) -> None:
    from plugin.storefront.push import push_storefront_etas

    counts.update(push_storefront_etas(runtime, shop_id))


def _stock(runtime, counts: dict, shop_id: int) -> None:
    from plugin.backorders.reconcile import refresh_stock

    counts.update(refresh_stock(runtime, shop_id))


def _catalogue(runtime, counts: dict, shop_id: int) -> None:
    from plugin.catalog.services import sync_catalog

    counts.update(sync_catalog(runtime, shop_id))


def _digest(runtime, counts: dict, shop_id: int) -> None:
    from plugin.db.models import Shop
    from plugin.notifications.digest import enqueue_digest

    with runtime.db.shop_session(shop_id) as session:
        found = enqueue_digest(runtime, session, session.get(Shop, shop_id), utcnow().date())
        counts["composed"] = int(found is not None and found.status == "pending")
        counts["status"] = found.status if found is not None else "already_composed"


RUNNABLE: dict[str, Callable[[Any, dict, int], None]] = {
    "supplier_feeds": _feeds,
    "eta_recompute": _recompute(False),
    "eta_recompute_all": _recompute(True),
    "eta_push": _push_orders,
    "storefront_push": _storefront,
    "stock_refresh": _stock,
    "catalog_sync": _catalogue,
    "merchant_digest": _digest,
}


def _threads(runtime) -> dict:
    return runtime.extras.setdefault("admin_job_threads", {})


def _run_in_background(runtime, name: str, shop_id: int) -> None:
    from plugin.jobs.runs import record_run

    try:
        with record_run(runtime, RECORDED_AS.get(name, name), shop_id) as counts:
            RUNNABLE[name](runtime, counts, shop_id)
    except Exception:  # recorded in the JobRun row and logged by record_run
        log.info("admin run-now ended with an error", extra={"job": name, "shop_id": shop_id})


class RunRefused(Exception):
    def __init__(self, status: int, code: str, key: str):
        super().__init__(code)
        self.status, self.code, self.key = status, code, key


def run_now(runtime, shop_id: int, name: str) -> threading.Thread:
    """Start the job's work for this shop in a background thread (refused: RunRefused)."""
    from plugin.jobs.schedule import job_by_name

    try:
        job_by_name(name)
    except KeyError:
        raise RunRefused(404, "not_found", "jobs.not_found") from None
    if name not in RUNNABLE:
        raise RunRefused(403, "not_runnable", "jobs.not_runnable")
    key = (shop_id, name)
    threads = _threads(runtime)
    with runtime.extras.setdefault("admin_job_lock", threading.Lock()):
        alive = threads.get(key)
        if (alive is not None and alive.is_alive()) or _running_elsewhere(runtime, shop_id, name):
            raise RunRefused(409, "already_running", "jobs.already_running")
        thread = threading.Thread(target=_run_in_background, args=(runtime, name, shop_id),
                                  name=f"admin-run-{name}-{shop_id}", daemon=True)
        threads[key] = thread
        thread.start()
    log.info("admin started a job for its shop", extra={"job": name, "shop_id": shop_id})
    return thread


def _running_elsewhere(runtime, shop_id: int, name: str) -> bool:
    """A run of this job for this shop still 'running' (another process, or the schedule's own)."""
    with runtime.db.session() as session:
        return session.scalar(select(JobRun.id).where(
            JobRun.job_name == RECORDED_AS.get(name, name), JobRun.shop_id == shop_id, JobRun.status == "running",
            JobRun.started_at >= utcnow() - RUNNING_FOR_AT_MOST).limit(1)) is not None


def wait_for_runs(runtime, timeout: float = 30.0) -> None:
    """Join the run-now threads of this process (tests, and a clean shutdown)."""
    for thread in list(_threads(runtime).values()):
        thread.join(timeout)


# -- what the page shows ----------------------------------------------------------------------------
def trigger_text(trigger: dict, locale: str) -> str:
    kind = trigger.get("trigger")
    if kind == "interval":
        parts = [translate(locale, f"jobs.unit.{unit}", n=trigger[unit]) for unit in ("hours", "minutes", "seconds")
                 if trigger.get(unit)]
        return translate(locale, "jobs.trigger.interval", every=" ".join(parts))
    if kind == "cron" and set(trigger) <= {"trigger", "hour", "minute"}:
        at = f"{int(trigger.get('hour', 0)):02d}:{int(trigger.get('minute', 0)):02d}"
        return translate(locale, "jobs.trigger.daily", time=at)
    fields = ", ".join(f"{k}={v}" for k, v in trigger.items() if k != "trigger")
    return translate(locale, "jobs.trigger.cron", fields=fields)


def job_title(name: str, locale: str) -> str:
    key = f"jobs.name.{name}"
    return translate(locale, key) if key in MESSAGES["en"] else name


def _about(spec, locale: str) -> str:
    key = f"jobs.about.{spec.name}"
    return translate(locale, key) if key in MESSAGES["en"] else spec.description


def _scheduler(runtime):
    background = runtime.extras.get("background")
    scheduler = getattr(background, "scheduler", None)
    return scheduler if scheduler is not None and getattr(scheduler, "running", False) else None


def _run_out(run: JobRun) -> JobRunOut:
    finished = run.finished_at
    duration = (finished - run.started_at).total_seconds() if finished and run.started_at else None
    return JobRunOut(id=run.id, job=SHOWN_AS.get(run.job_name, run.job_name), status=run.status,
                     counts=dict(run.counts or {}), error=run.error, started_at=run.started_at, finished_at=finished,
                     duration_seconds=round(duration, 3) if duration is not None else None)


def job_list(runtime, shop_id: int, locale: str) -> JobList:
    from plugin.jobs.schedule import JOBS

    scheduler = _scheduler(runtime)
    with runtime.db.session() as session:
        runs = list(session.scalars(select(JobRun).where(JobRun.shop_id == shop_id)
                                    .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(RECENT_RUNS)))
        shared = {}
        for spec in JOBS:
            if spec.recorded:
                shared[spec.name] = session.execute(
                    select(JobRun.status, JobRun.started_at, JobRun.finished_at)
                    .where(JobRun.job_name == spec.name, JobRun.shop_id.is_(None))
                    .order_by(JobRun.started_at.desc()).limit(1)).first()
        beat = session.scalar(select(Heartbeat.beat_at).where(Heartbeat.kind == "scheduler")
                              .order_by(Heartbeat.beat_at.desc()).limit(1))
    out_runs = [_run_out(run) for run in runs]
    mine = {}
    for run in out_runs:
        mine.setdefault(run.job, run)
    jobs = []
    for spec in JOBS:
        job = scheduler.get_job(spec.name) if scheduler is not None else None
        last = shared.get(spec.name)
        jobs.append(JobInfo(
            name=spec.name, title=job_title(spec.name, locale), description=_about(spec, locale),
            trigger=trigger_text(spec.trigger, locale), next_run_at=job.next_run_time if job is not None else None,
            runnable=spec.name in RUNNABLE, shop_last_run=mine.get(spec.name),
            schedule_last_status=last[0] if last else None, schedule_last_run_at=last[1] if last else None))
    alive = beat is not None and beat >= utcnow() - SCHEDULER_FRESH
    return JobList(jobs=jobs, runs=out_runs, scheduler_in_process=scheduler is not None, scheduler_alive=alive,
                   scheduler_last_beat=beat)


def _runtime():
    return current_app.extensions["backorder_desk"]


def _render(ctx: AdminContext, *, result: dict | None = None, status: int = 200):
    return render_page(ctx, "admin/jobs.html", heading_key="jobs.title", status=status,
                       data=job_list(_runtime(), ctx.shop_id, ctx.locale), result=result)


@admin_page("/admin/jobs", nav="jobs")
def jobs_page(ctx: AdminContext):
    return _render(ctx)


@admin_page("/admin/jobs/<name>/run", nav="jobs", methods=("POST",), endpoint="job_run_form")
def job_run_form(ctx: AdminContext, name: str):
    try:
        run_now(_runtime(), ctx.shop_id, name)
    except RunRefused as refused:
        return _render(ctx, status=refused.status,
                       result={"tone": "critical", "text": translate(ctx.locale, refused.key)})
    return _render(ctx, status=202, result={"tone": "success", "text": _started(ctx, name)})


def _started(ctx: AdminContext, name: str) -> str:
    return translate(ctx.locale, "jobs.started", job=job_title(name, ctx.locale))


@api_route("GET", "/api/admin/jobs", summary="The schedule and this shop's recent job runs", response=JobList,
           tags=["jobs"])
def api_jobs(ctx: AdminContext) -> JobList:
    return job_list(_runtime(), ctx.shop_id, ctx.locale)


@api_route("POST", "/api/admin/jobs/<name>/run", summary="Run a job now, for this shop only", response=RunNowResult,
           status=202, tags=["jobs"],
           errors={403: "The job serves every shop: it runs only on its schedule", 404: "No such job",
                   409: "It is already running for this shop"})
def api_run_job(ctx: AdminContext, name: str) -> RunNowResult:
    """The work runs in the background; its run (JobRun, with this shop's id) appears in GET /api/admin/jobs."""
    try:
        run_now(_runtime(), ctx.shop_id, name)
    except RunRefused as refused:
        raise ApiError(refused.status, refused.code, translate(ctx.locale, refused.key)) from None
    return RunNowResult(ok=True, job=name, message=_started(ctx, name))
