"""/healthz: database reachable, and worker and scheduler heartbeats fresh; otherwise 503."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from plugin.app import create_app
from plugin.background import start_background
from plugin.db import Database
from plugin.db.models import Heartbeat
from plugin.jobs.runs import write_heartbeat
from plugin.runtime import Runtime, build_runtime


@pytest.fixture
def runtime(database_url, settings_factory):
    """No platform traffic here, so none of conftest's fake Shopify wiring."""
    rt = build_runtime(settings_factory(database_url))
    yield rt
    rt.close()


@pytest.fixture
def client(runtime):
    app = create_app(runtime)
    app.testing = True
    return app.test_client()


def test_missing_heartbeats_are_unhealthy(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json.items() >= {"database": "ok", "worker": "missing", "scheduler": "missing", "status": "degraded"}.items()


def test_fresh_heartbeats_are_healthy(runtime, client):
    write_heartbeat(runtime, "worker")
    write_heartbeat(runtime, "scheduler")
    write_heartbeat(runtime, "worker")  # beating again updates the row instead of adding one

    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json.items() >= {"status": "ok", "database": "ok", "worker": "ok", "scheduler": "ok"}.items()
    with runtime.db.session() as session:
        assert session.query(Heartbeat).count() == 2


def test_old_heartbeats_are_stale(runtime, client):
    long_ago = datetime.now(timezone.utc) - timedelta(minutes=5)
    write_heartbeat(runtime, "worker", now=long_ago)
    write_heartbeat(runtime, "scheduler")

    response = client.get("/healthz")
    assert response.status_code == 503
    assert (response.json["worker"], response.json["scheduler"]) == ("stale", "ok")


def test_unreachable_database_is_reported(tmp_path, settings_factory):
    settings = settings_factory(f"sqlite:///{tmp_path}/no/such/dir/db.sqlite3")
    app = create_app(Runtime(settings=settings, db=Database(settings.sqlalchemy_url)))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"].startswith("error")


def test_background_keeps_healthz_green_until_stopped(runtime, client):
    bg = start_background(runtime, worker_threads=1, scheduler=True, routes={})
    try:
        deadline = time.monotonic() + 5
        while client.get("/healthz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        report = client.get("/healthz").json
        assert (report["worker"], report["scheduler"]) == ("ok", "ok")
    finally:
        assert bg.stop(timeout=5)
    assert not bg.scheduler.running and not any(t.is_alive() for t in bg.threads)
