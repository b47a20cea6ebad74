"""One InboxWorker pass in a process of its own, for the kill test in tests/test_worker.py.

The handler notes that it started, optionally commits its effect, then blocks until the test kills
the process with SIGKILL: a crash after the claim and before the worker's final commit.

Usage: python tests/support/kill_worker.py DATABASE_URL WORK_DIR {before_effect|after_effect}
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from sqlalchemy import BigInteger, Column, MetaData, String, Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

TOPIC = ("shopify", "orders/create")
DOOMED_WORKER = "doomed-worker"

# Not part of the app's schema: the tests create and drop it around the kill test.
EFFECTS = Table(
    "test_inbox_effects", MetaData(),
    Column("event_id", BigInteger, primary_key=True),
    Column("applied_by", String(100), nullable=False),
)


def apply_effect(runtime, event_id: int, applied_by: str) -> None:
    """The handler's idempotent effect: an upsert keyed by event id, so a rerun adds nothing."""
    insert = pg_insert if runtime.db.dialect == "postgresql" else sqlite_insert
    stmt = insert(EFFECTS).values(event_id=event_id, applied_by=applied_by)
    with runtime.db.session() as session:
        session.execute(stmt.on_conflict_do_nothing(index_elements=["event_id"]))


def effects_of(runtime, event_id: int) -> list[str]:
    with runtime.db.session() as session:
        return list(session.execute(select(EFFECTS.c.applied_by).where(EFFECTS.c.event_id == event_id)).scalars())


def count_effects(runtime) -> int:
    with runtime.db.session() as session:
        return session.execute(select(func.count()).select_from(EFFECTS)).scalar_one()


def main(database_url: str, work_dir: str, kill_point: str) -> None:
    from plugin.config import load_settings
    from plugin.db import Database
    from plugin.runtime import Runtime
    from webhooks.topics import TopicRoute
    from webhooks.worker import InboxWorker

    work = Path(work_dir)
    settings = load_settings(database_url=database_url, instance_path=work / "instance")
    runtime = Runtime(settings=settings, db=Database(settings.sqlalchemy_url))

    def handler(rt, event) -> None:
        (work / "started").write_text(str(event.id))
        if kill_point == "after_effect":
            apply_effect(rt, event.id, DOOMED_WORKER)
        (work / "blocked").write_text(str(event.id))
        time.sleep(60)  # the test kills us long before this ends
        raise SystemExit("kill_worker.py was never killed")

    worker = InboxWorker(runtime, name=DOOMED_WORKER, routes={TOPIC: TopicRoute(handler)})
    worker.run_once()


if __name__ == "__main__":
    main(*sys.argv[1:4])
