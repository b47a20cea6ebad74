"""The durable inbox: store a verified delivery once, keyed by the platform's event identity."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from connectors.base import WebhookEnvelope
from plugin.db import Database
from plugin.db.models import WebhookEvent

# Headers worth keeping for the handler and for support; never the signature itself.
_KEPT_HEADER_PREFIXES = ("x-shopify-", "x-wc-webhook-")
_DROPPED_HEADERS = {"x-shopify-hmac-sha256", "x-wc-webhook-signature"}


def kept_headers(headers) -> dict[str, str]:
    return {
        k.lower(): v
        for k, v in headers.items()
        if k.lower().startswith(_KEPT_HEADER_PREFIXES) and k.lower() not in _DROPPED_HEADERS
    }


def store_event(db: Database, platform: str, envelope: WebhookEnvelope, headers, body: bytes) -> bool:
    """Insert the event unless its dedupe key is already there. True when this call stored it.

    One INSERT ... ON CONFLICT DO NOTHING: a duplicate costs no exception, no second row, and
    concurrent duplicates cannot race each other into two rows.
    """
    dedupe_key = envelope.dedupe_key or "sha256:" + hashlib.sha256(envelope.topic.encode() + b"\0" + body).hexdigest()
    now = datetime.now(timezone.utc)
    values = dict(
        platform=platform,
        dedupe_key=dedupe_key,
        topic=envelope.topic,
        shop_domain=envelope.shop_domain,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        received_at=now,
        headers=kept_headers(headers),
        # Webhook bodies are UTF-8 JSON; anything else is kept readable and rejected by the worker.
        body=body.decode("utf-8", errors="replace"),
    )
    insert = pg_insert if db.dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(WebhookEvent).values(**values)
        .on_conflict_do_nothing(index_elements=["platform", "dedupe_key"])
        .returning(WebhookEvent.id)  # rowcount is not reliable for this statement on psycopg
    )
    with db.session() as session:
        return session.execute(stmt).first() is not None
