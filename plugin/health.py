"""GET /healthz: is the database reachable, and are the worker and the scheduler alive?"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import Blueprint, current_app, jsonify
from sqlalchemy import select, text

from plugin.db.models import Heartbeat

bp = Blueprint("health", __name__)

# A component that has not beaten for this long is reported stale.
STALE_AFTER = timedelta(seconds=60)


@bp.get("/healthz")
def healthz():
    runtime = current_app.extensions["backorder_desk"]
    report: dict = {"database": "ok", "worker": "missing", "scheduler": "missing"}
    try:
        with runtime.db.session() as session:
            session.execute(text("SELECT 1"))
            beats = session.execute(select(Heartbeat)).scalars().all()
    except Exception as exc:  # the point of a health check is to report, not raise
        report["database"] = f"error: {type(exc).__name__}"
        return jsonify(status="error", **report), 503
    now = datetime.now(timezone.utc)
    for kind in ("worker", "scheduler"):
        latest = max((b.beat_at for b in beats if b.kind == kind), default=None)
        if latest is not None:
            report[kind] = "ok" if now - latest <= STALE_AFTER else "stale"
            report[f"{kind}_last_beat"] = latest.isoformat()
    healthy = report["worker"] == "ok" and report["scheduler"] == "ok"
    return jsonify(status="ok" if healthy else "degraded", **report), 200 if healthy else 503
