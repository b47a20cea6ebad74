"""What the merchant does to one backorder line, each in one short transaction of its shop.

The API routes and the no-JavaScript form routes both call these. Each raises `ActionRefused`
(status, code, catalogue key) when the line is not this shop's or no longer allows it, and
returns what the page needs to say. Store marks (tag, line ETAs) are pushed after the commit,
best effort: an order left marked (`order_marks`) is pushed by the eta_push job anyway.

* override_eta: stores the merchant's date and reason on the line and recomputes its SKU in the
  same transaction (plugin/eta/recompute.py promises `eta_override` while it is set), so the
  line's ETA, the events a moved promise causes and the order's marks follow at once, and
  every later recompute keeps the date. `eta=None` removes the override.
* resend: the last customer email about the line (its own, or its order's confirmation) is
  stored again under a new idempotency key (`<old key>:resend:<random>`), rendered from the
  same context, to the order's current address.
* refund: a merchant-initiated "cancel and refund" through plugin/choices: a CustomerChoice
  committed as `refunding` (so a refund runs once, whoever asks), then `run_refund`, which
  refunds through the connector and marks the line refunded and enqueues the confirmation.
* mark_shipped: status shipped with the ship date, the "on its way" email, marks and the SKU's
  ETAs (its units no longer wait for supply).
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from plugin.backorders import marks as order_marks
from plugin.db.models import Backorder, CustomerChoice, Notification, Order, Shop, Variant

log = logging.getLogger(__name__)

WAITING = ("open", "ready")
MERCHANT_REFUND_VERSION = 0  # CustomerChoice slot of a merchant's refund when the customer's is used


class ActionRefused(Exception):
    def __init__(self, http_status: int, code: str, key: str, **values):
        super().__init__(code)
        self.status, self.code, self.key, self.values = http_status, code, key, values


@dataclass
class ActionDone:
    backorder_id: int
    key: str                 # catalogue key of the message
    values: dict
    outcome: str | None = None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _locked_line(session: Session, backorder_id: int, *, waiting: bool = True) -> Backorder:
    backorder = session.scalars(select(Backorder).where(Backorder.id == backorder_id).with_for_update()).one_or_none()
    if backorder is None:  # another shop's id looks exactly like a missing one
        raise ActionRefused(404, "not_found", "error.not_found")
    if waiting and backorder.status not in WAITING:
        raise ActionRefused(409, "not_open", "error.not_open", status=backorder.status)
    return backorder


def _labels(backorder: Backorder) -> dict:
    line = backorder.line
    order = line.order
    return {"order": order.name or f"#{order.platform_order_id}", "item": line.title or line.sku or ""}


def _push_marks(runtime, shop_id: int, order_ids: set[int]) -> None:
    if not order_ids:
        return
    from plugin.backorders.handlers import write_marks
    from plugin.backorders.services import load_shop

    try:
        write_marks(runtime, load_shop(runtime, shop_id), order_ids)
    except Exception as exc:  # noqa: BLE001 - the push job retries orders still marked
        log.warning("marks not pushed now; the push job will", extra={"shop_id": shop_id, "error": str(exc)[:300]})


def _bump_variant(session: Session, variant_id: int | None) -> None:
    if variant_id is not None:
        session.execute(update(Variant).where(Variant.id == variant_id)
                        .values(eta_dirty=True, eta_revision=Variant.eta_revision + 1))


# -- override the ETA --------------------------------------------------------------------------
def override_eta(runtime, shop_id: int, backorder_id: int, eta: date | None, reason: str | None) -> ActionDone:
    from plugin.eta.recompute import recompute_variants_in_session

    with runtime.db.shop_session(shop_id) as session:
        backorder = _locked_line(session, backorder_id)
        labels = _labels(backorder)
        now = utcnow()
        backorder.eta_override = eta
        backorder.eta_override_reason = reason if eta is not None else None
        backorder.eta_override_at = now if eta is not None else None
        order_ids = {backorder.line.order_id}
        if backorder.variant_id is not None:
            # Lock the variant (the order handler's order: variant rows, then its lines) and let
            # the engine apply the override, as every later recompute will.
            session.scalars(select(Variant).where(Variant.id == backorder.variant_id).with_for_update()).one()
            shop = session.get(Shop, shop_id)
            order_ids |= recompute_variants_in_session(runtime, session, shop, [backorder.variant_id]).order_ids
            session.refresh(backorder)
        elif eta is not None:  # no variant, no recompute: the date is the promise as it is
            backorder.current_eta = eta
            order_marks.mark(session, shop_id, [backorder.line.order_id])
        current = backorder.current_eta
    _push_marks(runtime, shop_id, order_ids)
    key = "result.eta_saved" if eta is not None else "result.eta_cleared"
    return ActionDone(backorder_id, key, {**labels, "date": current})


# -- resend the last customer email ------------------------------------------------------------
def resend_last_email(runtime, shop_id: int, backorder_id: int) -> ActionDone:
    from plugin.notifications import kinds
    from plugin.notifications.enqueue import store_message

    with runtime.db.shop_session(shop_id) as session:
        backorder = _locked_line(session, backorder_id, waiting=False)
        labels = _labels(backorder)
        order = backorder.line.order
        last = session.scalars(
            select(Notification)
            .where(Notification.kind.in_(kinds.CUSTOMER_KINDS),
                   or_(Notification.backorder_id == backorder.id,
                       (Notification.order_id == order.id) & (Notification.kind == kinds.CONFIRMATION)))
            .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(1)).one_or_none()
        if last is None:
            raise ActionRefused(409, "no_email", "error.no_email")
        base = last.idempotency_key.split(":resend:", 1)[0]
        key = f"{base}:resend:{uuid.uuid4().hex[:16]}"[-kinds.MAX_KEY_LENGTH:]
        row = store_message(session, session.get(Shop, shop_id), last.kind, key, dict(last.context or {}),
                            recipient=order.email, order=order, backorder_id=last.backorder_id)
        outcome = row.status if row is not None else "pending"
        kind = last.kind
    log.info("customer email resent", extra={"shop_id": shop_id, "backorder_id": backorder_id, "kind": kind,
                                             "status": outcome})
    return ActionDone(backorder_id, "result.resent", {**labels, "kind": kind}, outcome)


# -- cancel and refund -------------------------------------------------------------------------
def merchant_refund(runtime, shop_id: int, backorder_id: int) -> ActionDone:
    from plugin.choices import services as choices

    with runtime.db.shop_session(shop_id) as session:
        backorder = _locked_line(session, backorder_id)
        labels = _labels(backorder)
        if backorder.line.order.status != "open":
            raise ActionRefused(409, "not_open", "error.not_open", status="cancelled")
        choice = _refund_slot(session, backorder)
        choice_id = choice.id
    state = choices.run_refund(runtime, shop_id, choice_id)
    error = None
    if state == choices.FAILED:
        with runtime.db.shop_session(shop_id) as session:
            error = session.get(CustomerChoice, choice_id).error
    log.info("merchant refund", extra={"shop_id": shop_id, "backorder_id": backorder_id, "state": state})
    return ActionDone(backorder_id, "result.refunded", {**labels, "state": state, "error": error or ""}, state)


def _refund_slot(session: Session, backorder: Backorder) -> CustomerChoice:
    """The CustomerChoice this refund runs under, committed `refunding` by the caller's transaction.

    The line's current promise version if nobody chose yet (so the customer's own links of that
    email cannot start a second refund), or the request already there when it waits for approval
    or failed; when the customer chose to keep waiting (or the shop rejected their request), the
    merchant's own slot (version 0, never in a customer's link).
    """
    from plugin.choices import services as choices

    now = utcnow()
    for version in (backorder.promise_version, MERCHANT_REFUND_VERSION):
        existing = session.scalars(select(CustomerChoice).where(
            CustomerChoice.backorder_id == backorder.id, CustomerChoice.promise_version == version)
            .with_for_update()).one_or_none()
        if existing is None:
            choice = CustomerChoice(shop_id=backorder.shop_id, backorder_id=backorder.id, promise_version=version,
                                    token_id=f"merchant-{uuid.uuid4().hex}", choice=choices.REFUND,
                                    status=choices.REFUNDING, decided_at=now, created_at=now)
            session.add(choice)
            session.flush()
            return choice
        if existing.choice == choices.REFUND and existing.status in (choices.AWAITING, choices.FAILED):
            existing.status, existing.error, existing.decided_at = choices.REFUNDING, None, now
            return existing
        if existing.choice == choices.REFUND and existing.status in (choices.REFUNDING, choices.REFUNDED):
            raise ActionRefused(409, "refund_busy", "error.refund_busy", status=existing.status)
        # keep (recorded) or a rejected request: this slot is the customer's; try the merchant's.
    raise ActionRefused(409, "refund_busy", "error.refund_busy", status="rejected")


# -- mark as shipped ---------------------------------------------------------------------------
def mark_shipped(runtime, shop_id: int, backorder_id: int) -> ActionDone:
    from plugin.notifications.enqueue import enqueue

    with runtime.db.shop_session(shop_id) as session:
        backorder = _locked_line(session, backorder_id)
        labels = _labels(backorder)
        backorder.status = "shipped"
        backorder.shipped_at = utcnow()
        order: Order = backorder.line.order
        order_marks.mark(session, shop_id, [order.id])  # its ETAs in the store lose this line
        _bump_variant(session, backorder.variant_id)  # its units no longer wait: others may move up
        enqueue(runtime, session, session.get(Shop, shop_id), "shipped", order_id=order.id,
                backorder_ids=[backorder.id])
        order_ids = {order.id}
    _push_marks(runtime, shop_id, order_ids)
    log.info("line marked shipped by the merchant", extra={"shop_id": shop_id, "backorder_id": backorder_id})
    return ActionDone(backorder_id, "result.shipped", labels, "shipped")
