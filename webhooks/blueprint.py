"""POST /webhooks/<platform>: verify the signature over the raw body, store once, answer 200.

Nothing else happens in the request: platforms give up on slow endpoints (Shopify after 5 s), and
the worker does the real work from the inbox. `receive_delivery` is the whole of it; the app runs
it from `WebhookFastPath`, a WSGI middleware in front of Flask (plugin/app.py), and the blueprint's
route runs the same function for anything that reaches Flask.
"""
from __future__ import annotations

import json
import logging

from flask import Blueprint, current_app, request
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_content_length, get_input_stream

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


# The answers a delivery gets, built once: every delivery sends one of them.
def _json(payload: dict) -> bytes:
    return json.dumps(payload).encode() + b"\n"


_ACKS = {duplicate: _json({"ok": True, "duplicate": duplicate}) for duplicate in (False, True)}
_UNKNOWN_PLATFORM = _json({"error": "unknown platform"})
_TOO_LARGE = _json({"error": "payload too large"})
_PING = _json({"ok": True, "ping": True})
_FORGED = _json({"error": "invalid signature"})
_FAILED = _json({"error": "not stored, try again"})


def _inbox(runtime) -> InboxWriter:
    """The process's InboxWriter: one per runtime, so concurrent deliveries share their commits."""
    writer = runtime.extras.get("inbox_writer")
    if writer is None:
        writer = runtime.extras.setdefault("inbox_writer", InboxWriter(runtime.db))
    return writer


def receive_delivery(runtime, platform: str, environ) -> tuple[int, bytes]:
    """One delivery, from the WSGI environ to (status, JSON body). Raises if it could not be stored."""
    try:
        connector = runtime.connector(platform)
    except KeyError:
        return 404, _UNKNOWN_PLATFORM

    limit = runtime.settings.webhook_max_bytes
    length = get_content_length(environ)  # None when absent or chunked
    if length is not None and length > limit:
        return 413, _TOO_LARGE
    # Werkzeug's own reading of the input (a length-bounded or server-terminated stream, else empty).
    body = get_input_stream(environ, max_content_length=None).read(limit + 1)
    if len(body) > limit:
        return 413, _TOO_LARGE

    headers = _Headers.of(environ)
    is_ping = getattr(connector, "is_ping", None)
    if is_ping is not None and is_ping(headers, body):
        # WooCommerce pings a new webhook (unsigned) and keeps it only if it gets a 2xx: nothing to store.
        return 200, _PING
    if not connector.verify_webhook(headers, body):
        log.warning("webhook signature rejected", extra={"platform": platform, "remote": environ.get("REMOTE_ADDR")})
        return 401, _FORGED

    envelope = connector.webhook_envelope(headers, body)
    stored = _inbox(runtime).store(platform, envelope, headers, body)
    wake = runtime.extras.get("wake_worker")
    if stored and wake is not None:
        wake()
    return 200, _ACKS[not stored]


@bp.post("/webhooks/<platform>")
def receive(platform: str):
    status, payload = receive_delivery(_runtime(), platform, request.environ)
    return current_app.response_class(payload, status=status, mimetype="application/json")


class WebhookFastPath:
    """WSGI middleware in front of the Flask app: POST /webhooks/<platform> is answered here.

    A delivery needs none of Flask's per-request machinery (request context, URL adapter, session,
    response object, signals), and on 2 cores that machinery was about a fifth of a delivery's
    CPU (bench/webhook_ingest.py). Every other request, and any failure to store, goes on to
    Flask: a delivery that raises is answered 500 here, with the error logged, exactly as
    Flask's default handler would, so the platform retries it.
    """

    PREFIX = "/webhooks/"

    def __init__(self, wsgi_app, runtime):
        self.wsgi_app = wsgi_app
        self.runtime = runtime

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or not path.startswith(self.PREFIX):
            return self.wsgi_app(environ, start_response)
        platform = path[len(self.PREFIX):]
        if not platform or "/" in platform:
            return self.wsgi_app(environ, start_response)
        try:
            status, payload = receive_delivery(self.runtime, platform, environ)
        except Exception:
            log.exception("webhook delivery not stored", extra={"platform": platform})
            status, payload = 500, _FAILED
        start_response(_STATUS_LINES[status], [("Content-Type", "application/json"),
                                               ("Content-Length", str(len(payload)))])
        return [payload]


_STATUS_LINES = {code: f"{code} {HTTP_STATUS_CODES[code]}" for code in (200, 401, 404, 413, 500)}
