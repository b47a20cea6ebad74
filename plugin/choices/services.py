"""Use cases of the customer's choice: look at a link (never acts), decide, approve or reject a refund.

Single use: one CustomerChoice per (backorder, promise version), enforced by its unique index, so
the two links of one email are used up together and two POSTs at once record one choice (the
backorder row is also locked while deciding, on PostgreSQL; SQLite has one writer).

Refunding, exactly once per choice:
1. the choice is committed as `refunding` before the platform is called (the guard: a second
   POST, a retry or a concurrent approval finds it and never starts another refund);
2. the connector refunds the line outside any transaction, with an idempotency key derived from
   the choice (a retry after a crash sends the same key, and the Shopify connector also finds a
   refund it already made by the key in the refund's note);
3. one transaction marks the choice `refunded`, the backorder `refunded`, and enqueues the
   refund_confirmation email (outbox) — or marks the choice `failed` with the reason, which the
   merchant's digest lists and the customer's page answers with "the shop will follow up".
A choice left `refunding` by a crash between 1 and 3 is finished by `resume_refunds`.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from connectors.base import ConnectorError
from plugin.choices.config import refund_approval_required
from plugin.choices.links import ChoiceClaims
from plugin.backorders import marks as order_marks
from plugin.db.models import Backorder, CustomerChoice, Order, OrderLine, Shop, Variant

log = logging.getLogger(__name__)

# What the pages and the admin see of a choice.
KEEP, REFUND = "keep", "refund"
RECORDED, AWAITING, REFUNDING, REFUNDED, FAILED, REJECTED = (
    "recorded", "awaiting_approval", "refunding", "refunded", "failed", "rejected")
REFUND_KEY_NAMESPACE = uuid.UUID("5d0f3c3e-8a43-4a5e-9a4c-0b6b0c1d2e3f")


class ChoiceError(Exception):
    """An admin action that cannot be done as asked (wrong state, unknown choice)."""


@dataclass(frozen=True)
class LineView:
    """The backordered line as the customer's page shows it."""
    shop_name: str
    order_name: str
    item: str
    quantity: int
    eta: date | None
    locale_hint: str | None  # the order's customer_locale
    status: str              # the backorder's status


@dataclass(frozen=True)
class Outcome:
    """What a page shows. state:
    confirm    nothing chosen yet: show what the link will do and a button
    changed    confirm again: the date moved since the page was shown
    kept | awaiting_approval | refunding | refunded | failed | rejected   after deciding
    used       another choice of this email was already made (`previous`, `previous_status`)
    not_open   the line no longer waits for stock (line.status says why)
    invalid    the link is not one of ours, or not for this shop
    """
    state: str
    choice: str | None = None
    line: LineView | None = None
    previous: str | None = None
    previous_status: str | None = None
    approval: bool = False  # a refund here waits for the merchant's approval


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def promise_of(backorder: Backorder) -> date | None:
    """The date the customer is asked to wait for: today's promise, else the last one told."""
    return backorder.current_eta or backorder.promised_eta


def refund_idempotency_key(choice: CustomerChoice) -> str:
    """Stable for one choice (its random nonce), so every retry of its refund sends the same key."""
    return str(uuid.uuid5(REFUND_KEY_NAMESPACE, f"{choice.shop_id}:{choice.token_id}"))


# -- reading (GET) ----------------------------------------------------------------------------
def view_choice(runtime, claims: ChoiceClaims) -> Outcome:
    """What the link would do now. Reads only: a GET (mail scanners, link previews) never acts."""
    with runtime.db.shop_session(claims.shop_id) as session:
        return _assess(session, claims)


def _assess(session, claims: ChoiceClaims, *, lock: bool = False) -> Outcome:
    shop = session.get(Shop, claims.shop_id)
    if shop is None or not shop.is_installed:
        return Outcome("invalid")
    stmt = select(Backorder).where(Backorder.id == claims.backorder_id)
    backorder = session.scalars(stmt.with_for_update() if lock else stmt).one_or_none()
    if backorder is None or backorder.shop_id != shop.id or claims.promise_version > backorder.promise_version:
        return Outcome("invalid")  # no such line here, or a version that was never sent
    line = backorder.line
    order = line.order
    view = LineView(shop_name=shop.name or shop.domain, order_name=order.name or f"#{order.platform_order_id}",
                    item=line.title or line.sku or "", quantity=backorder.quantity, eta=promise_of(backorder),
                    locale_hint=order.customer_locale, status=backorder.status)
    existing = session.scalars(select(CustomerChoice).where(
        CustomerChoice.backorder_id == backorder.id, CustomerChoice.promise_version == claims.promise_version)
    ).one_or_none()
    if existing is not None:
        if existing.token_id == claims.jti:  # this very link, opened again: how it went
            return Outcome(_state_of(existing), existing.choice, view)
        return Outcome("used", claims.choice, view, previous=existing.choice, previous_status=_state_of(existing))
    if backorder.status != "open" or order.status != "open" or line.open_quantity <= 0:
        status = backorder.status if backorder.status != "open" else ("cancelled" if order.status != "open" else "shipped")
        return Outcome("not_open", claims.choice, replace(view, status=status))
    return Outcome("confirm", claims.choice, view, approval=refund_approval_required(shop))


def _state_of(choice: CustomerChoice) -> str:
    return "kept" if choice.choice == KEEP else choice.status


# -- deciding (POST) ---------------------------------------------------------------------------
def decide_choice(runtime, claims: ChoiceClaims, *, shown_eta: date | None) -> Outcome:
    """Record the choice the link stands for; refund at once unless the shop approves refunds.

    `shown_eta` is the date the confirm page showed: consent to wait is consent to that date,
    so if the promise moved meanwhile the customer is asked again (state `changed`).
    """
    try:
        with runtime.db.shop_session(claims.shop_id) as session:
            found = _assess(session, claims, lock=True)
            if found.state != "confirm":
                return found
            if claims.choice == KEEP and found.line.eta != shown_eta:
                return replace(found, state="changed")
            shop = session.get(Shop, claims.shop_id)
            now = utcnow()
            if claims.choice == KEEP:
                status = RECORDED
            else:
                status = AWAITING if refund_approval_required(shop) else REFUNDING
            choice = CustomerChoice(shop_id=claims.shop_id, backorder_id=claims.backorder_id,
                                    promise_version=claims.promise_version, token_id=claims.jti,
                                    choice=claims.choice, status=status,
                                    accepted_eta=found.line.eta if claims.choice == KEEP else None,
                                    decided_at=now if status != AWAITING else None, created_at=now)
            session.add(choice)
            session.flush()  # the unique index answers a concurrent second POST here
            choice_id = choice.id
    except IntegrityError:
        return view_choice(runtime, claims)  # the other request won: show what it recorded
    log.info("customer choice recorded", extra={"shop_id": claims.shop_id, "backorder_id": claims.backorder_id,
                                                "choice": claims.choice, "status": status})
    if status == REFUNDING:
        state = run_refund(runtime, claims.shop_id, choice_id)
        return Outcome(state, REFUND, found.line)
    return Outcome("kept" if claims.choice == KEEP else AWAITING, claims.choice, found.line)


# -- refunding ---------------------------------------------------------------------------------
def run_refund(runtime, shop_id: int, choice_id: int, *, final: bool = False) -> str:
    """Refund a choice that is `refunding`; its status afterwards (refunded | failed | refunding).

    A platform error that retrying may cure (Shopify unreachable: the refund may even have been
    made) leaves the choice `refunding` for resume_refunds, unless `final`; any other is `failed`.
    """
    with runtime.db.shop_session(shop_id) as session:
        choice = session.get(CustomerChoice, choice_id)
        if choice is None or choice.status != REFUNDING:
            return choice.status if choice is not None else FAILED
        backorder = session.get(Backorder, choice.backorder_id)
        shop = session.get(Shop, shop_id)
        line, order = backorder.line, backorder.line.order
        request = (order.platform_order_id, line.platform_line_id, backorder.quantity, refund_idempotency_key(choice))
        session.expunge(shop)
    platform_order_id, platform_line_id, quantity, key = request
    try:
        refund_id = runtime.connector(shop.platform).refund_line(
            shop, platform_order_id, platform_line_id, quantity, idempotency_key=key)
    except Exception as exc:  # noqa: BLE001 - any failure is the merchant's to follow up, with the reason
        reason = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ConnectorError) and exc.retryable and not final:
            log.warning("refund not confirmed, will retry", extra={"shop_id": shop_id, "choice_id": choice_id,
                                                                   "error": reason[:500]})
            return _note_retry(runtime, shop_id, choice_id, reason)
        log.warning("refund failed", extra={"shop_id": shop_id, "choice_id": choice_id, "error": reason[:500]})
        return _mark_failed(runtime, shop_id, choice_id, reason)
    try:
        return _mark_refunded(runtime, shop, choice_id, refund_id, quantity)
    except Exception:
        # The money moved; only our bookkeeping failed. The choice stays `refunding` and
        # resume_refunds finishes it (the connector answers the same refund again).
        log.exception("refund made but not recorded", extra={"shop_id": shop_id, "choice_id": choice_id,
                                                             "refund": refund_id})
        return REFUNDING


def _note_retry(runtime, shop_id: int, choice_id: int, reason: str) -> str:
    with runtime.db.shop_session(shop_id) as session:
        choice = session.scalars(select(CustomerChoice).where(CustomerChoice.id == choice_id).with_for_update()).one()
        if choice.status == REFUNDING:
            choice.error = f"will retry: {reason}"[:2000]
        return choice.status


def _mark_failed(runtime, shop_id: int, choice_id: int, reason: str) -> str:
    with runtime.db.shop_session(shop_id) as session:
        choice = session.scalars(select(CustomerChoice).where(CustomerChoice.id == choice_id).with_for_update()).one()
        if choice.status != REFUNDING:
            return choice.status
        choice.status, choice.error, choice.decided_at = FAILED, reason[:2000], utcnow()
        return FAILED


def _mark_refunded(runtime, shop: Shop, choice_id: int, refund_id: str, quantity: int) -> str:
    with runtime.db.shop_session(shop.id) as session:
        choice = session.scalars(select(CustomerChoice).where(CustomerChoice.id == choice_id).with_for_update()).one()
        if choice.status not in (REFUNDING, FAILED):
            return choice.status  # someone else finished it
        # FAILED too: a concurrent attempt may have given up while this one got the refund; the
        # refund is a fact, the failure was a guess.
        choice.status, choice.refund_reference, choice.error, choice.decided_at = REFUNDED, refund_id, None, utcnow()
        backorder = session.get(Backorder, choice.backorder_id)
        backorder.status = "refunded"
        line: OrderLine = backorder.line
        # The store will say so in its orders/updated webhook too; until then the line owes less.
        line.open_quantity = max(0, line.open_quantity - quantity)
        order_marks.mark(session, line.shop_id, [line.order_id])  # its ETAs in the store lose this line
        if backorder.variant_id is not None:
            # The refunded units no longer wait for supply: the others' ETAs may move up.
            session.execute(update(Variant).where(Variant.id == backorder.variant_id)
                            .values(eta_dirty=True, eta_revision=Variant.eta_revision + 1))
        from plugin.notifications.enqueue import enqueue  # late import: the outbox does not import us

        enqueue(runtime, session, session.get(Shop, shop.id), "refund_confirmation", order_id=line.order_id,
                backorder_ids=[backorder.id], promise_version=choice.promise_version,
                extra={"quantity": quantity, "refund_reference": refund_id})
        log.info("line refunded", extra={"shop_id": shop.id, "choice_id": choice_id, "refund": refund_id})
        return REFUNDED


def resume_refunds(runtime, *, older_than: timedelta = timedelta(minutes=10),
                   give_up_after: timedelta = timedelta(hours=24)) -> int:
    """Finish refunds left `refunding` (a crash between deciding and recording, or the platform
    unreachable); how many ended (refunded or failed). For a scheduled job, every few minutes.

    Safe at any time: each is sent with its choice's own idempotency key, so one already made is
    answered, not made again. Only choices older than `older_than` are taken (one still in its
    first request is left alone); after `give_up_after` a platform still unreachable fails it,
    and the merchant's digest shows it.
    """
    now = utcnow()
    with runtime.db.session() as session:
        # decided_at: when the refund was started (the POST, or the merchant's approval).
        started = func.coalesce(CustomerChoice.decided_at, CustomerChoice.created_at)
        stuck = session.execute(select(CustomerChoice.shop_id, CustomerChoice.id, started).where(
            CustomerChoice.status == REFUNDING, started <= now - older_than).order_by(CustomerChoice.id)).all()
    ended = 0
    for shop_id, choice_id, started_at in stuck:
        final = started_at <= now - give_up_after
        ended += run_refund(runtime, shop_id, choice_id, final=final) != REFUNDING
    return ended


# -- the merchant's queue ----------------------------------------------------------------------
def refund_requests(runtime, shop_id: int, statuses: tuple[str, ...] = (AWAITING, FAILED)) -> list[dict]:
    """Refund requests the merchant has to act on, oldest first (awaiting approval, failed)."""
    with runtime.db.shop_session(shop_id) as session:
        rows = session.execute(
            select(CustomerChoice, Backorder, OrderLine, Order)
            .join(Backorder, CustomerChoice.backorder_id == Backorder.id)
            .join(OrderLine, Backorder.order_line_id == OrderLine.id)
            .join(Order, OrderLine.order_id == Order.id)
            .where(CustomerChoice.choice == REFUND, CustomerChoice.status.in_(statuses))
            .order_by(CustomerChoice.created_at, CustomerChoice.id)).all()
        return [{"choice_id": c.id, "status": c.status, "requested_at": c.created_at, "error": c.error,
                 "order_name": o.name or f"#{o.platform_order_id}", "item": line.title or line.sku,
                 "quantity": b.quantity, "backorder_id": b.id, "backorder_status": b.status}
                for c, b, line, o in rows]


def approve_refund(runtime, shop_id: int, choice_id: int) -> str:
    """The merchant approves a waiting request: it is refunded now. Returns the final status."""
    with runtime.db.shop_session(shop_id) as session:
        choice = _locked_request(session, choice_id)
        backorder = session.get(Backorder, choice.backorder_id)
        if backorder.status != "open" or backorder.line.order.status != "open":
            raise ChoiceError(f"the line is {backorder.status if backorder.status != 'open' else 'cancelled'} "
                              "now: nothing to refund; reject the request instead")
        choice.status, choice.decided_at = REFUNDING, utcnow()  # committed before the platform is called
    return run_refund(runtime, shop_id, choice_id)


def reject_refund(runtime, shop_id: int, choice_id: int, reason: str | None = None) -> str:
    """The merchant declines a waiting request; the line keeps waiting for stock."""
    with runtime.db.shop_session(shop_id) as session:
        choice = _locked_request(session, choice_id)
        choice.status, choice.decided_at = REJECTED, utcnow()
        choice.error = (reason or "").strip()[:2000] or None
        return REJECTED


def retry_refund(runtime, shop_id: int, choice_id: int) -> str:
    """Try a failed refund again, with the same idempotency key (so it can never refund twice).

    That helps when the first attempt never reached the platform (unreachable, refused before
    refundCreate). When Shopify itself refused the refund, it refuses the same key again
    (IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED) and the choice stays failed: refund by hand then."""
    with runtime.db.shop_session(shop_id) as session:
        choice = session.scalars(select(CustomerChoice).where(CustomerChoice.id == choice_id).with_for_update()).one_or_none()
        if choice is None or choice.choice != REFUND:
            raise ChoiceError(f"no refund request {choice_id}")
        if choice.status != FAILED:
            raise ChoiceError(f"refund request {choice_id} is {choice.status}, not failed")
        choice.status, choice.error = REFUNDING, None
    return run_refund(runtime, shop_id, choice_id)


def _locked_request(session, choice_id: int) -> CustomerChoice:
    choice = session.scalars(select(CustomerChoice).where(CustomerChoice.id == choice_id).with_for_update()).one_or_none()
    if choice is None or choice.choice != REFUND:
        raise ChoiceError(f"no refund request {choice_id}")
    if choice.status != AWAITING:
        raise ChoiceError(f"refund request {choice_id} is {choice.status}, not awaiting approval")
    return choice
