"""Traces that background work leaves in the database: one JobRun row per job run, and heartbeats.

Both are read by people and probes (the admin page, /healthz), not by the jobs themselves, so a
failure to write them is a failure of the run: nobody could tell the run happened otherwise.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterator

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from plugin.db.models import Heartbeat, JobRun
from plugin.logs import scrub

log = logging.getLogger(__name__)

ERROR_MAX_CHARS = 2000


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@contextmanager
def record_run(runtime, job_name: str, shop_id: int | None = None) -> Iterator[dict[str, Any]]:
    """Record one run of a job; the block fills the yielded counts dict (JSON values only).

    The 'running' row is committed before the job starts, so a run that never finishes (the process
    was killed) stays visible as such. An exception is recorded and re-raised.
    """
    with runtime.db.session() as session:
        run = JobRun(job_name=job_name, shop_id=shop_id, status="running", counts={}, started_at=utcnow())
        session.add(run)
        session.flush()
        run_id = run.id
    counts: dict[str, Any] = {}
    started = time.monotonic()
    extra = {"job": job_name, "job_run_id": run_id, "shop_id": shop_id}
    try:
        yield counts
    except Exception as exc:
        error = scrub(f"{type(exc).__name__}: {exc}")[:ERROR_MAX_CHARS]
        _finish(runtime, run_id, status="error", counts=counts, error=error)
        log.error("job run failed", extra={**extra, "error": error, "counts": counts})
        raise
    _finish(runtime, run_id, status="ok", counts=counts, error=None)
    log.debug("job run ok", extra={**extra, "counts": counts, "duration_ms": round((time.monotonic() - started) * 1000)})


def _finish(runtime, run_id: int, **values: Any) -> None:
    with runtime.db.session() as session:
        session.execute(update(JobRun).where(JobRun.id == run_id).values(finished_at=utcnow(), **values))


def component_name(kind: str) -> str:
    """One heartbeat per process: '<kind>:<host>:<pid>'."""
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"[:100]


def write_heartbeat(runtime, kind: str, component: str | None = None, *, now: datetime | None = None) -> str:
    """Upsert this process's heartbeat row; returns the component name written."""
    component = component or component_name(kind)
    insert = pg_insert if runtime.db.dialect == "postgresql" else sqlite_insert
    stmt = insert(Heartbeat).values(component=component, kind=kind, beat_at=now or utcnow())
    stmt = stmt.on_conflict_do_update(index_elements=["component"],
                                      set_={"kind": stmt.excluded.kind, "beat_at": stmt.excluded.beat_at})
    with runtime.db.session() as session:
        session.execute(stmt)
    return component
