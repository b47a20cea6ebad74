"""Use cases around backorders; each runs its database work in one short transaction.

Platform calls (reading stock, tagging the order) happen outside transactions, so a slow store
never holds a database lock, and every step can be repeated safely after a crash.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base import LineEta, VariantStock
from plugin.backorders import marks as order_marks
from plugin.backorders.payloads import ShopifyOrder
from plugin.db.models import Backorder, Order, OrderLine, Shop, Variant
from plugin.domain.backorders import Demand, allocate_shortfall, is_backorderable, platform_sequence
from plugin.eta.recompute import recompute_variants_in_session

log = logging.getLogger(__name__)

OPEN_BACKORDER = ("open", "ready")


@dataclass
class OrderOutcome:
    stale: bool = False
    backordered_units: int = 0
    # Orders (ours) whose backorder marks in the store must be (re)written.
    orders_to_mark: set[int] = field(default_factory=set)


def load_shop(runtime, shop_id: int) -> Shop:
    with runtime.db.session() as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            raise LookupError(f"shop {shop_id} not found")
        session.expunge(shop)
        return shop


def record_order(runtime, shop: Shop, order: ShopifyOrder, stock: list[VariantStock],
                 read_at: datetime) -> OrderOutcome:
    """Store the order, refresh stock snapshots, and recompute backorders of the variants it touches."""
    with runtime.db.shop_session(shop.id) as session:
        existing = session.scalars(
            select(Order).where(Order.platform_order_id == str(order.id)).with_for_update()
        ).one_or_none()
        if existing is not None and _is_stale(existing, order):
            return OrderOutcome(stale=True)

        variants = _upsert_variants(session, stock, read_at)
        row = _upsert_order(session, existing, order, variants)
        session.flush()

        outcome = OrderOutcome()
        variants = _lock_variants(session, {line.variant_id for line in row.lines if line.variant_id})
        shipped: list[Backorder] = []
        # Lines taken off the order (current quantity 0: edited out, refunded) are not shipping.
        removed = {line.id for line in row.lines
                   if any(str(item.id) == line.platform_line_id and item.current_quantity == 0
                          for item in order.line_items)}
        for variant in variants:
            outcome.orders_to_mark |= _recompute_variant(session, variant, shipped, removed)
        # Their ETAs, now, in this transaction: the order is tagged and the customer told the
        # engine's promise, not a placeholder. Other orders whose lines moved are marked as well.
        outcome.orders_to_mark |= recompute_variants_in_session(runtime, session, shop, [v.id for v in variants]).order_ids
        outcome.backordered_units = sum(
            line.backorder.quantity for line in row.lines if line.backorder and line.backorder.status == "open"
        )
        if outcome.backordered_units:
            outcome.orders_to_mark.add(row.id)
        # The emails go into the outbox in this same transaction: no order without its message.
        _enqueue_messages(runtime, session, shop, row.id, shipped)
        return outcome


def _enqueue_messages(runtime, session: Session, shop: Shop, order_id: int, shipped: list[Backorder]) -> None:
    from plugin.notifications.enqueue import enqueue, enqueue_confirmation

    enqueue_confirmation(runtime, session, shop, order_id)  # once per order; None if nothing owed
    for backorder in shipped:
        enqueue(runtime, session, shop, "shipped", order_id=backorder.line.order_id, backorder_ids=[backorder.id])


def marks_for_order(runtime, shop: Shop, order_id: int) -> tuple[str, str, list[LineEta]] | None:
    """What the store should show for an order: (platform order id, tag, per-line ETAs), or None."""
    with runtime.db.shop_session(shop.id) as session:
        order = session.get(Order, order_id)
        if order is None:  # deleted after it was marked (a mark has no foreign key: migration 0017)
            order_marks.unmark(session, shop.id, order_id)
            return None
        etas = _open_etas(order) if order.status == "open" else []
        tag = str(shop.setting("order_tag"))
        if not etas or (order.tags_written == tag and order.etas_written == _etas_digest(etas)):
            order_marks.unmark(session, shop.id, order.id)  # nothing (more) to tell the store
            return None  # the store already shows exactly this
        return order.platform_order_id, tag, etas


def remember_marks(runtime, shop: Shop, platform_order_id: str, tag: str, etas: list[LineEta]) -> None:
    """The store now shows these marks; the order stays marked if its ETAs moved meanwhile."""
    with runtime.db.shop_session(shop.id) as session:
        order = session.scalars(select(Order).where(Order.platform_order_id == platform_order_id)).one()
        order.tags_written = tag
        order.etas_written = _etas_digest(etas)
        if _etas_digest(_open_etas(order)) != order.etas_written:
            order_marks.mark(session, shop.id, [order.id])
        else:
            order_marks.unmark(session, shop.id, order.id)


def orders_to_push(runtime, shop_id: int, limit: int = 500, after: int = 0) -> list[int]:
    """Orders whose ETAs changed since the store was told, by id, after `after` (keyset pages)."""
    with runtime.db.shop_session(shop_id) as session:
        return order_marks.marked(session, shop_id, after=after, limit=limit)


# -- internals ---------------------------------------------------------------------------------

def _is_stale(existing: Order, order: ShopifyOrder) -> bool:
    """An update older than what we stored changes nothing (webhooks arrive out of order)."""
    if existing.status == "cancelled" and not order.cancelled_at:
        return True  # a late update from before the cancellation
    return bool(existing.platform_updated_at and order.updated_at and order.updated_at < existing.platform_updated_at)


def _upsert_variants(session: Session, stock: list[VariantStock], read_at: datetime) -> dict[str, Variant]:
    ids = [s.platform_variant_id for s in stock]
    rows = {v.platform_variant_id: v for v in session.scalars(select(Variant).where(Variant.platform_variant_id.in_(ids)))}
    for snap in stock:
        variant = rows.get(snap.platform_variant_id)
        if variant is None:
            variant = Variant(platform_variant_id=snap.platform_variant_id)
            session.add(variant)
            rows[snap.platform_variant_id] = variant
        # Another worker may have stored a newer reading meanwhile; never go back in time.
        if variant.inventory_read_at is None or variant.inventory_read_at <= read_at:
            variant.platform_product_id = snap.platform_product_id
            variant.sku = snap.sku
            variant.title = snap.title
            variant.inventory_tracked = snap.tracked
            variant.continue_selling = snap.continue_selling
            variant.sellable_quantity = snap.sellable
            variant.location_quantities = dict(snap.by_location)
            variant.inventory_read_at = read_at
    session.flush()
    return rows


def _upsert_order(session: Session, row: Order | None, order: ShopifyOrder, variants: dict[str, Variant]) -> Order:
    if row is None:
        row = Order(platform_order_id=str(order.id), placed_at=order.created_at)
        session.add(row)
    row.name = order.name
    row.email = order.email or order.contact_email
    row.customer_name = order.customer_name
    row.customer_locale = order.customer_locale
    if order.currency and len(order.currency) == 3:
        row.currency = order.currency.upper()
    row.platform_updated_at = order.updated_at or order.created_at
    if order.cancelled_at:
        row.status = "cancelled"
        for line in row.lines:
            if line.backorder and line.backorder.status in OPEN_BACKORDER:
                line.backorder.status = "cancelled"
    lines = {line.platform_line_id: line for line in row.lines}
    for item in order.line_items:
        line = lines.get(str(item.id))
        if line is None:
            line = OrderLine(platform_line_id=str(item.id), quantity=item.quantity, open_quantity=0)
            row.lines.append(line)
        variant = variants.get(str(item.variant_id)) if item.variant_id else None
        line.variant = variant
        line.sku = item.sku or (variant.sku if variant else None)
        line.title = item.name or item.title
        line.quantity = item.quantity
        if item.price is not None:  # the admin's "value waiting to ship"; kept when a payload lacks it
            line.unit_price = item.price
        line.open_quantity = 0 if row.status == "cancelled" else item.open_quantity
    return row


def _lock_variants(session: Session, variant_ids: set[int]) -> list[Variant]:
    """Serialise recomputation per variant (PostgreSQL row locks; SQLite's single writer already does)."""
    if not variant_ids:
        return []
    stmt = select(Variant).where(Variant.id.in_(sorted(variant_ids))).order_by(Variant.id).with_for_update()
    return list(session.scalars(stmt))


def _recompute_variant(session: Session, variant: Variant, shipped: list[Backorder] | None = None,
                       removed: set[int] = frozenset()) -> set[int]:
    """Apply allocate_shortfall to the variant's open lines; returns orders whose backorders changed."""
    lines = session.scalars(
        select(OrderLine).join(Order).where(OrderLine.variant_id == variant.id, Order.status == "open")
    ).all()
    changed: set[int] = set()
    backorderable = is_backorderable(variant.inventory_tracked, variant.continue_selling)
    demands = [
        Demand(line.id, line.order.placed_at, line.open_quantity,
               platform_sequence(line.order.platform_order_id, line.platform_line_id))
        for line in lines if line.open_quantity > 0
    ]
    short = allocate_shortfall(variant.sellable_quantity, demands) if backorderable else {}
    for line in lines:
        units = short.get(line.id, 0)
        backorder = line.backorder
        if backorder is None:
            if units > 0:  # its ETA and promise come from the engine (recompute_variants_in_session)
                line.backorder = Backorder(
                    variant_id=variant.id, quantity=units, status="open", ordered_at=line.order.placed_at,
                )
                changed.add(line.order_id)
            continue
        if backorder.status not in OPEN_BACKORDER:
            continue
        if line.open_quantity == 0 and line.id in removed:
            backorder.status = "cancelled"  # taken off the order: nothing will ship
            changed.add(line.order_id)
        elif line.open_quantity == 0:
            backorder.status = "shipped"  # fulfilled while we were waiting for stock
            backorder.shipped_at = utcnow()  # the admin's "promises kept" compares it with promised_eta
            changed.add(line.order_id)
            if shipped is not None:
                shipped.append(backorder)
        elif units > 0 and backorder.quantity != units:
            backorder.quantity = units
            changed.add(line.order_id)
        # Whether stock now covers a line (ready) or no longer does (open) is the ETA engine's
        # call, made right after this in the same transaction, so that it can announce it once.
    return changed


def _open_etas(order: Order) -> list[LineEta]:
    return [
        LineEta(line.platform_line_id, line.sku, line.backorder.quantity, line.backorder.current_eta)
        for line in sorted(order.lines, key=lambda ln: ln.platform_line_id)
        if line.backorder and line.backorder.status == "open" and line.backorder.current_eta
    ]


def _etas_digest(etas: list[LineEta]) -> str:
    return json.dumps([[e.platform_line_id, e.quantity, e.eta.isoformat()] for e in etas], separators=(",", ":"))


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def refresh_variants(runtime, shop: Shop, stock: list[VariantStock], read_at: datetime) -> set[int]:
    """Store new stock readings of these variants and recompute their backorders, exactly as an
    order's processing does (a restock makes lines ready, a loss of stock opens more); one
    transaction. Returns the orders whose backorder marks must be (re)written."""
    if not stock:
        return set()
    with runtime.db.shop_session(shop.id) as session:
        rows = _upsert_variants(session, stock, read_at)
        variants = _lock_variants(session, {variant.id for variant in rows.values()})
        changed: set[int] = set()
        for variant in variants:
            changed |= _recompute_variant(session, variant)
        changed |= recompute_variants_in_session(runtime, session, shop, [v.id for v in variants]).order_ids
        return changed
