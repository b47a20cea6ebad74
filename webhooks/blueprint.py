"""POST /webhooks/<platform>: verify the signature over the raw body, store once, answer 200.

Nothing else happens in the request: platforms give up on slow endpoints (Shopify after 5 s), and
the worker does the real work from the inbox.
"""
from __future__ import annotations

import json
import logging

from flask import Blueprint, current_app, jsonify, request

from webhooks.inbox import InboxWriter

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)


def _runtime():
    return current_app.extensions["backorder_desk"]


class _Headers(dict):
    """The request's headers as a plain dict with lower-case names; lookups ignore case.

    Built once from the WSGI environ: Werkzeug's EnvironHeaders re-derives every name from the
    environ on each pass, and verifying, the envelope and the inbox each make a pass.
    """

    @classmethod
    def of(cls, environ) -> "_Headers":
        headers = cls()
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers[key[5:].replace("_", "-").lower()] = value
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = environ[key]
        return headers

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default=None):
        return super().get(name.lower(), default)


# The two answers a stored delivery gets, built once: every delivery sends one of them.
_ACKS = {duplicate: json.dumps({"ok": True, "duplicate": duplicate}).encode() + b"\n" for duplicate in (False, True)}


def _ack(*, duplicate: bool):
    return current_app.response_class(_ACKS[duplicate], status=200, mimetype="application/json")


def _inbox(runtime) -> InboxWriter:
    """The process's InboxWriter: one per runtime, so concurrent deliveries share their commits."""
    writer = runtime.extras.get("inbox_writer")
    if writer is None:
        writer = runtime.extras.setdefault("inbox_writer", InboxWriter(runtime.db))
    return writer


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

    headers = _Headers.of(request.environ)
    is_ping = getattr(connector, "is_ping", None)
    if is_ping is not None and is_ping(headers, body):
        # WooCommerce pings a new webhook (unsigned) and keeps it only if it gets a 2xx: nothing to store.
        return jsonify(ok=True, ping=True), 200
    if not connector.verify_webhook(headers, body):
        log.warning("webhook signature rejected", extra={"platform": platform, "remote": request.remote_addr})
        return jsonify(error="invalid signature"), 401

    envelope = connector.webhook_envelope(headers, body)
    stored = _inbox(runtime).store(platform, envelope, headers, body)
    wake = runtime.extras.get("wake_worker")
    if stored and wake is not None:
        wake()
    return _ack(duplicate=not stored)
