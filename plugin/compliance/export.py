"""The customer-data export as plain JSON: what the app holds about one customer in one shop.

Shaped for a person to read (the merchant forwards it to the customer): named fields, ISO dates,
no internal ids except the platform's own order and line ids the customer can recognise.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Iterable

from plugin.db.models import Backorder, BackorderEvent, Notification, Order, WebhookEvent

EXPORT_FORMAT = "backorder-desk/customer-data/1"


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def build_export(*, platform: str, shop_domain: str, request: dict[str, Any], orders: Iterable[Order],
                 events: dict[int, list[BackorderEvent]], notifications: Iterable[Notification],
                 deliveries: Iterable[WebhookEvent], generated_at: datetime) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "platform": platform,
        "shop": shop_domain,
        "request": request,
        "generated_at": _iso(generated_at),
        "orders": [order_export(order, events) for order in orders],
        "emails": [notification_export(n) for n in notifications],
        # The raw order payloads the store sent us, as we keep them in the inbox.
        "webhook_payloads": [delivery_export(d) for d in deliveries],
    }


def order_export(order: Order, events: dict[int, list[BackorderEvent]]) -> dict[str, Any]:
    return {
        "order_id": order.platform_order_id,
        "name": order.name,
        "email": order.email,
        "customer_name": order.customer_name,
        "customer_locale": order.customer_locale,
        "status": order.status,
        "placed_at": _iso(order.placed_at),
        "lines": [{
            "line_id": line.platform_line_id,
            "sku": line.sku,
            "title": line.title,
            "quantity": line.quantity,
            "open_quantity": line.open_quantity,
            "backorder": backorder_export(line.backorder, events.get(line.backorder.id, []))
            if line.backorder is not None else None,
        } for line in sorted(order.lines, key=lambda line: line.id)],
    }


def backorder_export(backorder: Backorder, events: list[BackorderEvent]) -> dict[str, Any]:
    return {
        "quantity": backorder.quantity,
        "status": backorder.status,
        "ordered_at": _iso(backorder.ordered_at),
        "promised_ship_date": _iso(backorder.promised_eta),
        "first_promised_ship_date": _iso(backorder.original_eta),
        "current_estimate": _iso(backorder.current_eta),
        "estimate_range": {"earliest": _iso(backorder.eta_earliest), "likely": _iso(backorder.eta_likely),
                           "latest": _iso(backorder.eta_latest)},
        "refund_offered_at": _iso(backorder.refund_offered_at),
        "events": [{"kind": e.kind, "old_date": _iso(e.old_date), "new_date": _iso(e.new_date),
                    "noticed_at": _iso(e.created_at)} for e in sorted(events, key=lambda e: e.id)],
    }


def notification_export(n: Notification) -> dict[str, Any]:
    return {
        "kind": n.kind, "recipient": n.recipient, "locale": n.locale, "subject": n.subject,
        "body_text": n.body_text, "body_html": n.body_html, "status": n.status,
        "created_at": _iso(n.created_at), "sent_at": _iso(n.sent_at),
    }


def delivery_export(d: WebhookEvent) -> dict[str, Any]:
    try:
        payload: Any = json.loads(d.body)
    except ValueError:
        payload = d.body
    return {"topic": d.topic, "received_at": _iso(d.received_at), "payload": payload}
