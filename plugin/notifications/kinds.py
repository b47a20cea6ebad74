"""The kinds of email, who each one is for, and the idempotency key each one is stored under.

A key names what the message is about, never to whom it goes: (kind, line or order, promise
version). The outbox's unique index on it is what makes composing a message twice harmless.
"""
from __future__ import annotations

CONFIRMATION = "confirmation"
DELAY = "delay"
REFUND_OFFER = "refund_offer"
REFUND_CONFIRMATION = "refund_confirmation"
READY = "ready"
SHIPPED = "shipped"
DIGEST = "digest"

CUSTOMER_KINDS = (CONFIRMATION, DELAY, REFUND_OFFER, REFUND_CONFIRMATION, READY, SHIPPED)
MERCHANT_KINDS = (DIGEST,)
ALL_KINDS = CUSTOMER_KINDS + MERCHANT_KINDS
# What the ETA recompute stores in backorder_events, and so what enqueue_for_events accepts.
EVENT_KINDS = (DELAY, REFUND_OFFER, READY)

MAX_KEY_LENGTH = 255


def confirmation_key(order_id: int) -> str:
    return f"{CONFIRMATION}:order:{order_id}"


def event_key(kind: str, backorder_id: int, promise_version: int) -> str:
    return f"{kind}:backorder:{backorder_id}:v{promise_version}"


def digest_key(shop_id: int, day) -> str:
    return f"{DIGEST}:shop:{shop_id}:{day.isoformat()}"


def generic_key(kind: str, order_id: int, backorder_ids: list[int], promise_version: int | None) -> str:
    """One line: `shipped:backorder:7`; several: `shipped:order:3:backorders:7+8`; a promise
    version, when the message depends on one, is appended (`...:v2`)."""
    ids = sorted(set(backorder_ids))
    if len(ids) == 1:
        key = f"{kind}:backorder:{ids[0]}"
    elif ids:
        key = f"{kind}:order:{order_id}:backorders:{'+'.join(map(str, ids))}"
    else:
        key = f"{kind}:order:{order_id}"
    if promise_version is not None:
        key += f":v{promise_version}"
    if len(key) > MAX_KEY_LENGTH:
        import hashlib

        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        key = f"{kind}:order:{order_id}:backorders:sha256:{digest}"
    return key
