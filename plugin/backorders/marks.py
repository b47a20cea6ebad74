"""Which orders the store must be told about again (their tag and line ETAs): rows of order_marks.

Set wherever a line's ETA or status changes (the recompute in bulk: plugin/eta/bulk.py
`mark_orders`; admin actions; a refund), cleared by the push job once the store shows the marks.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from plugin.db.models import OrderMark, utcnow
from plugin.eta.bulk import BulkSql


def mark(session: Session, shop_id: int, order_ids: Iterable[int]) -> None:
    """The store must be told these orders' marks again (already marked: left as they are)."""
    ids = sorted(set(order_ids))
    if ids:
        session.flush()  # an order added in this session exists before its mark refers to it
        BulkSql.of(session, shop_id).mark_orders(ids, utcnow())  # the recompute's insert, in this transaction


def unmark(session: Session, shop_id: int, order_id: int) -> None:
    """The store shows what this order's lines say."""
    session.execute(delete(OrderMark).where(OrderMark.shop_id == shop_id, OrderMark.order_id == order_id))


def marked(session: Session, shop_id: int, *, after: int = 0, limit: int = 500) -> list[int]:
    """Marked orders by id, after `after` (keyset pages)."""
    return list(session.scalars(select(OrderMark.order_id).where(OrderMark.shop_id == shop_id,
                                                                 OrderMark.order_id > after)
                                .order_by(OrderMark.order_id).limit(limit)))
