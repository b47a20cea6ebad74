"""The inbox (webhook_events) keeps every raw payload: finding, redacting and deleting a shop's.

An order payload carries the customer's name, email, phone and addresses, so erasing a customer
must reach these rows too. A redacted order payload keeps only what the order handler reads
(ids, timestamps, line items), so an event still waiting in the inbox is processed as before,
just without the person; any other payload keeps only the request's own identifiers.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterator

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from plugin.compliance.identity import Customer, mentions_email, without_email
from plugin.db.models import Shop, WebhookEvent

# The prefilter ORs one LIKE per id; chunks keep the statement a sane size.
_ID_CHUNK = 200
_ORDER_KEYS = ("id", "admin_graphql_api_id", "name", "created_at", "updated_at", "cancelled_at")
_LINE_KEYS = ("id", "admin_graphql_api_id", "variant_id", "product_id", "sku", "name", "title", "quantity",
              "current_quantity", "fulfillable_quantity", "fulfillment_status")
_OTHER_KEYS = ("shop_id", "shop_domain", "data_request", "orders_requested", "orders_to_redact")
# Delivery metadata only (none of it describes a person); everything else is dropped.
_KEPT_HEADERS = frozenset({
    "x-shopify-topic", "x-shopify-shop-domain", "x-shopify-event-id", "x-shopify-webhook-id",
    "x-shopify-api-version", "x-shopify-triggered-at",
    "x-wc-webhook-topic", "x-wc-webhook-resource", "x-wc-webhook-event", "x-wc-webhook-id",
    "x-wc-webhook-delivery-id", "x-wc-webhook-source",
})


class EventsInFlight(RuntimeError):
    """Another worker is handling an event about this customer right now; it would write the
    personal data back after we erased it. Retrying (the worker's backoff) waits it out."""

    retryable = True


def of_shop(shop: Shop):
    # An event is linked to its shop by the worker; one not yet claimed is known by its domain.
    return or_(WebhookEvent.shop_id == shop.id,
               and_(WebhookEvent.platform == shop.platform, WebhookEvent.shop_domain == shop.domain))


def events_about(session: Session, shop: Shop, customer: Customer, *, lock: bool = False) -> list[WebhookEvent]:
    """The shop's inbox rows whose payload is about the customer, oldest first.

    SQL narrows by substring (the address, an order or customer id anywhere in the body); each
    candidate is then parsed and confirmed, so a number that merely contains an id, or a longer
    address that contains this one, does not count.
    """
    tokens = sorted(customer.order_ids | ({customer.platform_customer_id} if customer.platform_customer_id else set()))
    chunks = [tokens[i:i + _ID_CHUNK] for i in range(0, len(tokens), _ID_CHUNK)] or [[]]
    found: dict[int, WebhookEvent] = {}
    for chunk in chunks:
        conditions = [WebhookEvent.body.contains(token, autoescape=True) for token in chunk]
        if customer.email:
            conditions.append(func.lower(WebhookEvent.body).contains(customer.email, autoescape=True))
        if not conditions:
            break
        stmt = select(WebhookEvent).where(of_shop(shop), or_(*conditions)).order_by(WebhookEvent.id)
        if lock:
            stmt = stmt.with_for_update()
        for row in session.scalars(stmt):
            if row.id not in found and is_about(row.topic, row.body, customer):
                found[row.id] = row
    return sorted(found.values(), key=lambda row: row.id)


def is_about(topic: str, body: str, customer: Customer) -> bool:
    try:
        payload = json.loads(body)
    except ValueError:
        return mentions_email(body, customer.email)
    if isinstance(payload, dict):
        if topic.startswith("orders/") and str(payload.get("id")) in customer.order_ids:
            return True
        if payload.get("order_id") is not None and str(payload["order_id"]) in customer.order_ids:
            return True
        person = payload.get("customer")
        if (customer.platform_customer_id and isinstance(person, dict)
                and str(person.get("id")) == customer.platform_customer_id):
            return True
    return bool(customer.email) and any(mentions_email(text, customer.email) for text in _strings(payload))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def redacted_body(topic: str, body: str) -> str:
    """The payload without the person; already redacted bodies come back unchanged."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        kept: dict[str, Any] = {}
    elif topic.startswith("orders/"):
        kept = {key: payload[key] for key in _ORDER_KEYS if key in payload}
        kept["line_items"] = [{key: item[key] for key in _LINE_KEYS if key in item}
                              for item in payload.get("line_items") or [] if isinstance(item, dict)]
    else:
        kept = {key: payload[key] for key in _OTHER_KEYS if key in payload}
    kept["redacted"] = True
    return json.dumps(kept, separators=(",", ":"), ensure_ascii=False)


def pruned_headers(headers: dict[str, Any] | None) -> dict[str, Any]:
    return {key: value for key, value in (headers or {}).items() if key.lower() in _KEPT_HEADERS}


def redact_events(session: Session, shop: Shop, customer: Customer, *, current_event_id: int | None,
                  now: datetime) -> int:
    """Redact every inbox row about the customer, and the request's own row. Returns how many of
    the rows held before this request changed (its own body is not data we held).

    Rows are locked first (PostgreSQL), so no worker claims one mid-redaction. A row claimed by
    this same worker is waiting its turn in our batch and reads its body when it starts, so it is
    simply redacted; one another worker holds under a live lease may be inside its handler right
    now, with the payload in memory: EventsInFlight, before anything is written.
    """
    rows = events_about(session, shop, customer, lock=True)
    current = None
    if current_event_id is not None:
        current = next((row for row in rows if row.id == current_event_id), None) or session.scalars(
            select(WebhookEvent).where(WebhookEvent.id == current_event_id).with_for_update()).one_or_none()
    ours = current.locked_by if current is not None else None
    busy = [row.id for row in rows if row is not current and row.status == "processing"
            and row.locked_until is not None and row.locked_until > now and row.locked_by != ours]
    if busy:
        raise EventsInFlight(f"inbox events {busy} are being processed; erasure will be retried")
    changed = 0
    for row in rows + ([current] if current is not None and current not in rows else []):
        body, headers = redacted_body(row.topic, row.body), pruned_headers(row.headers)
        reason = without_email(row.reason, customer.email) if row.reason and customer.email else row.reason
        if (body, headers, reason) != (row.body, row.headers, row.reason):
            row.body, row.headers, row.reason = body, headers, reason
            changed += row is not current
    return changed


def scrub_reasons(session: Session, shop: Shop, email: str | None) -> int:
    """An address quoted in an error reason of any of the shop's other inbox rows."""
    if not email:
        return 0
    changed = 0
    rows = session.scalars(select(WebhookEvent).where(
        of_shop(shop), func.lower(WebhookEvent.reason).contains(email, autoescape=True)))
    for row in rows:
        reason = without_email(row.reason, email)
        if reason != row.reason:
            row.reason = reason
            changed += 1
    return changed


def delete_shop_events(session: Session, shop: Shop, *, keep_event_id: int | None) -> int:
    """Delete the shop's inbox rows except the erasure's own (detached from the shop, so deleting
    the shop does not cascade to it: the worker still records its outcome, and it remains the
    record that the erasure ran). Its payload is the shop's id and domain, nothing personal."""
    if keep_event_id is not None:
        session.execute(update(WebhookEvent).where(WebhookEvent.id == keep_event_id).values(shop_id=None))
    stmt = delete(WebhookEvent).where(of_shop(shop))
    if keep_event_id is not None:
        stmt = stmt.where(WebhookEvent.id != keep_event_id)
    return session.execute(stmt).rowcount or 0
