"""Scheduled jobs: declared in one place, run one at a time, each leaving a JobRun row."""
from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from plugin.db.models import Heartbeat, JobRun, WebhookEvent
from plugin.jobs.runs import record_run
from plugin.jobs.schedule import JOBS, JobSpec, build_scheduler, job_by_name, run_job
from plugin.runtime import build_runtime


@pytest.fixture
def runtime(database_url, settings_factory):
    """No platform traffic here, so none of conftest's fake Shopify wiring."""
    rt = build_runtime(settings_factory(database_url))
    yield rt
    rt.close()


def runs_of(runtime, job_name: str) -> list[JobRun]:
    with runtime.db.session() as session:
        return session.query(JobRun).filter_by(job_name=job_name).order_by(JobRun.id).all()


def wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_jobs_are_declared_once_with_safe_defaults():
    scheduler = build_scheduler(runtime=None)
    assert isinstance(scheduler, BackgroundScheduler)
    assert isinstance(build_scheduler(runtime=None, background=False), BlockingScheduler)
    scheduler.start(paused=True)  # APScheduler applies job defaults when the scheduler starts
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {spec.name for spec in JOBS} >= {"heartbeat", "inbox_sweep"}
        assert jobs["heartbeat"].trigger.interval == timedelta(seconds=15)
        assert jobs["inbox_sweep"].trigger.interval == timedelta(seconds=60)
        for job in jobs.values():
            assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, 60)
        assert scheduler.timezone.utcoffset(None) == timedelta(0)
    finally:
        scheduler.shutdown(wait=False)


def test_record_run_writes_ok_and_error_rows(runtime):
    with record_run(runtime, "tidy") as counts:
        with runtime.db.session() as session:  # committed 'running' before the job body starts
            assert session.query(JobRun.status).filter_by(job_name="tidy").scalar() == "running"
        counts["tidied"] = 3
    with pytest.raises(ValueError):
        with record_run(runtime, "tidy") as counts:
            counts["tidied"] = 1
            raise ValueError("feed answered 500 for password=hunter2")

    ok, failed = runs_of(runtime, "tidy")
    assert (ok.status, ok.counts, ok.error) == ("ok", {"tidied": 3}, None)
    assert ok.started_at <= ok.finished_at
    assert (failed.status, failed.counts) == ("error", {"tidied": 1})
    assert failed.error.startswith("ValueError: feed answered 500") and "hunter2" not in failed.error


def test_scheduler_records_every_run(runtime):
    def ok(rt, counts):
        counts["rows"] = 7

    def broken(rt, counts):
        raise RuntimeError("supplier feed unreachable")

    scheduler = build_scheduler(runtime, jobs=[
        JobSpec("test_ok", ok, {"trigger": "interval", "seconds": 0.2}, run_at_start=True),
        JobSpec("test_broken", broken, {"trigger": "interval", "seconds": 0.2}, run_at_start=True),
    ])
    scheduler.start()
    try:
        assert wait_for(lambda: len(runs_of(runtime, "test_ok")) >= 2 and len(runs_of(runtime, "test_broken")) >= 2)
    finally:
        scheduler.shutdown(wait=True)

    assert all((r.status, r.counts) == ("ok", {"rows": 7}) for r in runs_of(runtime, "test_ok"))
    assert all((r.status, r.error) == ("error", "RuntimeError: supplier feed unreachable")
               for r in runs_of(runtime, "test_broken"))


def test_a_slow_job_never_overlaps_itself(runtime):
    release = threading.Event()
    active, peak = [0], [0]
    lock = threading.Lock()

    def slow(rt, counts):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        release.wait(5)
        with lock:
            active[0] -= 1

    # Due every 0.1 s but each run takes ~0.8 s: without max_instances=1 several would run at once.
    scheduler = build_scheduler(runtime, jobs=[JobSpec("test_slow", slow, {"trigger": "interval", "seconds": 0.1},
                                                       run_at_start=True)])
    scheduler.start()
    try:
        assert wait_for(lambda: active[0] == 1)
        time.sleep(0.6)  # six more due times pass while the first run still blocks
        assert peak[0] == 1
        assert [r.status for r in runs_of(runtime, "test_slow")] == ["running"]
    finally:
        release.set()
        scheduler.shutdown(wait=True)
    assert peak[0] == 1


def test_heartbeat_job_beats_for_this_process(runtime):
    assert run_job(runtime, job_by_name("heartbeat"))

    with runtime.db.session() as session:
        [beat] = session.query(Heartbeat).all()
    assert beat.kind == "scheduler"
    assert beat.component.startswith("scheduler:") and beat.component.endswith(f":{os.getpid()}")
    assert datetime.now(timezone.utc) - beat.beat_at < timedelta(seconds=5)
    # The heartbeat row is the record; it does not add a JobRun every 15 seconds.
    assert runs_of(runtime, "heartbeat") == []


def test_prune_history_deletes_only_old_finished_rows(runtime):
    from plugin.db.models import JobRun

    now = datetime.now(timezone.utc)
    old = now - timedelta(days=31)
    with runtime.db.session() as session:
        session.add_all([
            JobRun(job_name="old", status="ok", started_at=old, finished_at=old),
            JobRun(job_name="recent", status="ok", started_at=now, finished_at=now),
            WebhookEvent(platform="shopify", dedupe_key="old-done", topic="t", body="{}", status="done", received_at=old),
            WebhookEvent(platform="shopify", dedupe_key="old-failed", topic="t", body="{}", status="failed", received_at=old),
            WebhookEvent(platform="shopify", dedupe_key="new-done", topic="t", body="{}", status="done", received_at=now),
        ])
    assert run_job(runtime, job_by_name("prune_history"))
    with runtime.db.session() as session:
        names = {r.job_name for r in session.query(JobRun).all()}
        keys = {e.dedupe_key for e in session.query(WebhookEvent).all()}
    assert names == {"recent", "prune_history"}
    assert keys == {"old-failed", "new-done"}  # a failed event still has work to do


def test_inbox_sweep_counts_stuck_and_dead_events_and_wakes_the_worker(runtime):
    now = datetime.now(timezone.utc)
    rows = [
        ("pending", now - timedelta(seconds=5), None),             # due
        ("pending", now - timedelta(minutes=10), None),            # due and overdue
        ("failed", now + timedelta(minutes=10), None),             # waiting for its retry
        ("processing", now, now - timedelta(seconds=1)),           # lease expired: stuck
        ("processing", now, now + timedelta(seconds=60)),          # being worked on
        ("dead", now, None),
        ("done", now - timedelta(hours=1), None),
    ]
    with runtime.db.session() as session:
        for i, (status, next_at, locked_until) in enumerate(rows):
            session.add(WebhookEvent(platform="shopify", dedupe_key=f"k{i}", topic="orders/create", body="{}",
                                     status=status, next_attempt_at=next_at, locked_until=locked_until))
    woken = []
    runtime.extras["wake_worker"] = lambda: woken.append(True)

    assert run_job(runtime, job_by_name("inbox_sweep"))

    [run] = runs_of(runtime, "inbox_sweep")
    assert (run.status, run.counts) == ("ok", {"due": 2, "overdue": 1, "stuck": 1, "failed": 1, "dead": 1})
    assert woken == [True]
