"""Privacy use cases, one transaction each, idempotent: a second run changes nothing.

export_customer_data  customers/data_request: store what the app holds about the customer as a
                      ComplianceRequest export for the merchant to send on.
redact_customer       customers/redact: erase the customer's personal data in one shop; orders,
                      lines and backorders stay (anonymous), the record keeps only counts.
erase_shop            shop/redact: delete every row of an uninstalled shop, credentials and inbox
                      included.
"""
from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, selectinload

from plugin.compliance import inbox
from plugin.compliance.export import build_export
from plugin.compliance.identity import Customer, customer_ref, mentions_email, without_email
from plugin.db.models import (
    Base,
    BackorderEvent,
    ComplianceRequest,
    JobRun,
    Notification,
    Order,
    OrderLine,
    Shop,
    WebhookEvent,
)
from plugin.notifications.eml import delete_eml_copies

log = logging.getLogger(__name__)

DATA_REQUEST = "customers/data_request"
CUSTOMER_REDACT = "customers/redact"
SHOP_REDACT = "shop/redact"
# Inbox topics that are privacy requests themselves, not data held about the customer.
_REQUEST_TOPIC_PREFIXES = ("customers/", "shop/")
_ID_CHUNK = 500


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _secret(runtime) -> str:
    return runtime.settings.resolved_secret_key()


# -- customers/data_request ----------------------------------------------------------------------

def export_customer_data(runtime, shop_id: int, customer: Customer, *, request_key: str,
                         request: dict, received_at: datetime | None = None) -> bool:
    """Record the customer's data once per request. False: this request was recorded already."""
    ref = customer_ref(_secret(runtime), customer)
    now = utcnow()
    with runtime.db.shop_session(shop_id) as session:
        if _request(session, DATA_REQUEST, request_key) is not None:
            return False
        shop = session.get(Shop, shop_id)
        orders = _orders_of(session, customer)
        customer = customer.with_orders(order.platform_order_id for order in orders)
        deliveries = [d for d in inbox.events_about(session, shop, customer)
                      if not d.topic.startswith(_REQUEST_TOPIC_PREFIXES)]
        export = build_export(
            platform=shop.platform, shop_domain=shop.domain, request=request, orders=orders,
            events=_backorder_events(session, orders), notifications=_notifications_to(session, customer.email),
            deliveries=deliveries, generated_at=now)
        session.add(ComplianceRequest(topic=DATA_REQUEST, request_key=request_key, customer_ref=ref, export=export,
                                      received_at=received_at or now, completed_at=now))
    log.info("customer data exported", extra={"shop_id": shop_id, "request_key": request_key,
                                              "orders": len(export["orders"]), "emails": len(export["emails"]),
                                              "webhook_payloads": len(export["webhook_payloads"])})
    return True


# -- customers/redact ----------------------------------------------------------------------------

def redact_request_key(ref: str | None, order_ids) -> str:
    """customers/redact has no request id: the same customer and orders are the same request,
    however many times (and under whatever event ids) it is delivered."""
    digest = hashlib.sha256(",".join(sorted(str(i) for i in order_ids)).encode()).hexdigest()
    return f"{(ref or 'anonymous')[:32]}:{digest[:32]}"


def redact_customer(runtime, shop_id: int, customer: Customer, *, event_id: int | None = None,
                    received_at: datetime | None = None) -> dict[str, int]:
    """Erase the customer's personal data in the shop; returns what this run erased (counts).

    Every pass runs in full (an order event processed since the last one may have brought the
    address back) but only writes what is still there, so a repeat writes nothing.
    """
    ref = customer_ref(_secret(runtime), customer)
    key = redact_request_key(ref, customer.order_ids)
    now = utcnow()
    with runtime.db.shop_session(shop_id) as session:
        shop = session.get(Shop, shop_id)
        orders = _orders_of(session, customer, lock=True)
        customer = customer.with_orders(order.platform_order_id for order in orders)
        notifications = _notifications_to(session, customer.email)
        counts = {
            "orders": sum(_erase_order(order) for order in orders),
            "emails": sum(_erase_notification(n) for n in notifications),
            "data_exports": _erase_exports(session, ref),
            "webhook_events": inbox.redact_events(session, shop, customer, current_event_id=event_id, now=now),
            "error_messages": inbox.scrub_reasons(session, shop, customer.email)
            + _scrub_job_errors(session, shop_id, customer.email),
        }
        # The .eml copies (embedded default) go before the commit: should the commit fail, the retry erases the rows.
        delete_eml_copies(runtime.settings, [n.id for n in notifications])
        record = _request(session, CUSTOMER_REDACT, key)
        if record is None:
            session.add(ComplianceRequest(topic=CUSTOMER_REDACT, request_key=key, customer_ref=ref,
                                          export={"erased": counts, "orders_kept": len(orders)},
                                          received_at=received_at or now, completed_at=now))
        elif any(counts.values()):
            erased = dict(record.export.get("erased") or {})
            record.export = {**record.export, "erased": {k: erased.get(k, 0) + v for k, v in counts.items()}}
            record.completed_at = now
    log.info("customer redacted", extra={"shop_id": shop_id, "request_key": key, **counts})
    return counts


def _erase_order(order: Order) -> bool:
    # The locale goes too: it describes the customer (their language), and with the address gone
    # nothing is ever written to them again, so it serves no one.
    if order.email is None and order.customer_name is None and order.customer_locale is None:
        return False
    order.email = order.customer_name = order.customer_locale = None
    return True


def _erase_notification(n: Notification) -> bool:
    # Kind and status stay: the outbox still knows an email was (or was not) sent, not to whom.
    fields = ("recipient", "subject", "body_text", "body_html", "locale", "last_error")
    if all(getattr(n, name) is None for name in fields):
        return False
    for name in fields:
        setattr(n, name, None)
    return True


def _erase_exports(session: Session, ref: str | None) -> int:
    """Earlier data_request exports of this customer hold exactly the data being erased."""
    if ref is None:
        return 0
    changed = 0
    for record in session.scalars(select(ComplianceRequest).where(
            ComplianceRequest.topic == DATA_REQUEST, ComplianceRequest.customer_ref == ref)):
        if not (record.export or {}).get("redacted"):
            record.export = {"redacted": True, "orders": len((record.export or {}).get("orders") or [])}
            changed += 1
    return changed


def _scrub_job_errors(session: Session, shop_id: int, email: str | None) -> int:
    """A job's error text may quote a failing statement's parameters, the address among them."""
    if not email:
        return 0
    changed = 0
    for run in session.scalars(select(JobRun).where(
            or_(JobRun.shop_id == shop_id, JobRun.shop_id.is_(None)),
            func.lower(JobRun.error).contains(email, autoescape=True))):
        if mentions_email(run.error, email):
            run.error = without_email(run.error, email)
            changed += 1
    return changed


# -- shop/redact ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShopErasure:
    erased: bool
    counts: dict[str, int]
    reason: str | None = None


def erase_shop(runtime, shop_id: int, *, event_id: int | None = None) -> ShopErasure:
    """Delete the shop and every row it owns, its inbox rows included (all but this request's).

    A shop that is installed again is left alone: the merchant came back after uninstalling, and
    erasing a live installation would break it (Shopify does not send shop/redact to one).
    Runs in the cross-shop session: it deletes rows of a shop, which is what a shop session
    forbids to do by accident; every statement names the shop explicitly.
    """
    with runtime.db.session() as session:
        shop = session.get(Shop, shop_id, with_for_update=True)
        if shop is None:
            return ShopErasure(False, {}, "shop already erased")
        if shop.is_installed:
            # Recorded once per install, so the merchant's admin can show that one was refused.
            key = f"installed:{shop.installed_at.isoformat() if shop.installed_at else 'unknown'}"
            if session.scalars(select(ComplianceRequest.id).where(
                    ComplianceRequest.shop_id == shop_id, ComplianceRequest.topic == SHOP_REDACT,
                    ComplianceRequest.request_key == key)).first() is None:
                session.add(ComplianceRequest(
                    shop_id=shop_id, topic=SHOP_REDACT, request_key=key, completed_at=utcnow(),
                    export={"erased": False, "reason": "the shop is installed again"}))
            log.warning("shop/redact for an installed shop: nothing erased", extra={"shop_id": shop_id})
            return ShopErasure(False, {}, "shop is installed")
        counts = {"webhook_events": inbox.delete_shop_events(session, shop, keep_event_id=event_id)}
        delete_eml_copies(runtime.settings, session.scalars(select(Notification.id).where(Notification.shop_id == shop_id)))
        # Children before parents, so the result does not depend on ON DELETE CASCADE being on.
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in ("shops", WebhookEvent.__tablename__) or "shop_id" not in table.c:
                continue
            deleted = session.execute(delete(table).where(table.c.shop_id == shop_id)).rowcount or 0
            if deleted:
                counts[table.name] = deleted
        session.delete(shop)  # the row with the credentials, settings and the shop's name
    log.info("shop erased", extra={"shop_id": shop_id, **counts})
    return ShopErasure(True, counts)


# -- lookups -------------------------------------------------------------------------------------

def _request(session: Session, topic: str, key: str) -> ComplianceRequest | None:
    return session.scalars(select(ComplianceRequest).where(
        ComplianceRequest.topic == topic, ComplianceRequest.request_key == key).with_for_update()).one_or_none()


def _orders_of(session: Session, customer: Customer, *, lock: bool = False) -> list[Order]:
    """The shop's orders the request names, and every order placed with the customer's address."""
    conditions = []
    ids = sorted(customer.order_ids)
    for i in range(0, len(ids), _ID_CHUNK):
        conditions.append(Order.platform_order_id.in_(ids[i:i + _ID_CHUNK]))
    if customer.email:
        conditions.append(func.lower(Order.email) == customer.email)
    if not conditions:
        return []
    stmt = (select(Order).where(or_(*conditions)).order_by(Order.id)
            .options(selectinload(Order.lines).selectinload(OrderLine.backorder)))
    if lock:
        stmt = stmt.with_for_update(of=Order)
    return list(session.scalars(stmt))


def _backorder_events(session: Session, orders: list[Order]) -> dict[int, list[BackorderEvent]]:
    ids = [line.backorder.id for order in orders for line in order.lines if line.backorder is not None]
    events: dict[int, list[BackorderEvent]] = defaultdict(list)
    for i in range(0, len(ids), _ID_CHUNK):
        chunk = ids[i:i + _ID_CHUNK]
        for event in session.scalars(select(BackorderEvent).where(BackorderEvent.backorder_id.in_(chunk))):
            events[event.backorder_id].append(event)
    return events


def _notifications_to(session: Session, email: str | None) -> list[Notification]:
    if not email:
        return []
    rows = session.scalars(select(Notification).where(
        func.lower(Notification.recipient).contains(email, autoescape=True)).order_by(Notification.id))
    return [n for n in rows if mentions_email(n.recipient, email)]
