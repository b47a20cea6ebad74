"""POST /webhooks/<platform>: verify the signature over the raw body, store once, answer 200.

Nothing else happens in the request: platforms give up on slow endpoints (Shopify after 5 s), and
the worker does the real work from the inbox.
"""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request

from webhooks.inbox import store_event

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)


def _runtime():
    return current_app.extensions["backorder_desk"]


@bp.post("/webhooks/<platform>")
def receive(platform: str):
    runtime = _runtime()
    try:
        connector = runtime.connector(platform)
    except KeyError:
        return jsonify(error="unknown platform"), 404

    limit = runtime.settings.webhook_max_bytes
    if request.content_length is not None and request.content_length > limit:
        return jsonify(error="payload too large"), 413
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        return jsonify(error="payload too large"), 413

    if not connector.verify_webhook(request.headers, body):
        log.warning("webhook signature rejected", extra={"platform": platform, "remote": request.remote_addr})
        return jsonify(error="invalid signature"), 401

    envelope = connector.webhook_envelope(request.headers)
    stored = store_event(runtime.db, platform, envelope, request.headers, body)
    wake = runtime.extras.get("wake_worker")
    if stored and wake is not None:
        wake()
    return jsonify(ok=True, duplicate=not stored), 200
