"""The merchant's daily digest: open lines, delayed lines, refund requests awaiting approval, and
refunds that failed (the customer was told the shop will follow up: the merchant must).

Composed inside the caller's shop-scoped session (a daily job, one shop at a time) and stored
in the outbox like any customer email, under one key per shop and day.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.db.models import Backorder, CustomerChoice, Notification, Order, OrderLine, Shop
from plugin.notifications import kinds
from plugin.locales import choose_locale
from plugin.notifications.contexts import iso, message_context

OPEN = ("open", "ready")
AWAITING_APPROVAL = "awaiting_approval"
REFUND_FAILED = "failed"
ROWS_PER_SECTION = 20


def admin_link(runtime, shop: Shop) -> str:
    """The app inside the store's admin (Shopify opens embedded apps at /admin/apps/<client id>)."""
    if shop.platform == "shopify":
        return f"https://{shop.domain}/admin/apps/{runtime.settings.shopify_api_key}"
    return runtime.settings.public_url + "/admin"


def enqueue_digest(runtime, session: Session, shop: Shop, day: date | None = None) -> Notification | None:
    """The digest for `day` (default today), or None when it was composed already.

    Skipped (kept, with the reason) when the shop has no merchant email, switched the digest
    off, or has nothing to report.
    """
    from plugin.notifications.enqueue import store_message

    day = day or date.today()
    locale = choose_locale(str(shop.setting("merchant_locale") or ""))
    digest = digest_summary(session)
    context = message_context(shop, kinds.DIGEST, locale, links={"admin": admin_link(runtime, shop)},
                              digest={"day": iso(day), **digest})
    nothing = not (digest["open_count"] or digest["delayed_count"] or digest["awaiting_count"]
                   or digest["failed_count"])
    return store_message(session, shop, kinds.DIGEST, kinds.digest_key(shop.id, day), context,
                         recipient=shop.setting("merchant_email"), order=None,
                         skip_reason="nothing to report" if nothing else None)


def digest_summary(session: Session) -> dict:
    open_lines = (select(Backorder, OrderLine, Order).join(OrderLine, Backorder.order_line_id == OrderLine.id)
                  .join(Order, OrderLine.order_id == Order.id)
                  .where(Backorder.status.in_(OPEN), Order.status == "open"))
    delayed = open_lines.where(Backorder.promised_eta > Backorder.original_eta)
    choices = (select(CustomerChoice, Backorder, OrderLine, Order)
               .join(Backorder, CustomerChoice.backorder_id == Backorder.id)
               .join(OrderLine, Backorder.order_line_id == OrderLine.id)
               .join(Order, OrderLine.order_id == Order.id))
    awaiting = choices.where(CustomerChoice.status == AWAITING_APPROVAL)
    failed = choices.where(CustomerChoice.choice == "refund", CustomerChoice.status == REFUND_FAILED)
    return {
        "open_count": _count(session, open_lines),
        "delayed_count": _count(session, delayed),
        "awaiting_count": _count(session, awaiting),
        "failed_count": _count(session, failed),
        "failed": [_row(b, line, order, requested=iso(choice.created_at.date()), error=choice.error or "")
                   for choice, b, line, order in session.execute(
                       failed.order_by(CustomerChoice.created_at, CustomerChoice.id).limit(ROWS_PER_SECTION))],
        "open": [_row(b, line, order, promised=iso(b.promised_eta or b.current_eta))
                 for b, line, order in session.execute(
                     open_lines.order_by(Backorder.promised_eta, Backorder.id).limit(ROWS_PER_SECTION))],
        "delayed": [_row(b, line, order, original=iso(b.original_eta), promised=iso(b.promised_eta))
                    for b, line, order in session.execute(
                        delayed.order_by(Backorder.ordered_at, Backorder.id).limit(ROWS_PER_SECTION))],
        "awaiting": [_row(b, line, order, requested=iso(choice.created_at.date()))
                     for choice, b, line, order in session.execute(
                         awaiting.order_by(CustomerChoice.created_at, CustomerChoice.id).limit(ROWS_PER_SECTION))],
    }


def _count(session: Session, stmt) -> int:
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def _row(backorder: Backorder, line: OrderLine, order: Order, **dates) -> dict:
    return {"order_name": order.name or f"#{order.platform_order_id}", "title": line.title or line.sku or "",
            "quantity": backorder.quantity, **dates}
