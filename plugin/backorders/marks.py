"""Which orders the store must be told about again (their tag and line ETAs): rows of order_marks.

Set wherever a line's ETA or status changes (the recompute in bulk: plugin/eta/bulk.py
`mark_orders`; admin actions; a refund), cleared by the push job once the store shows the marks.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from plugin.db.models import OrderMark, utcnow


def mark(session: Session, shop_id: int, order_ids: Iterable[int]) -> None:
    """The store must be told these orders' marks again (already marked: left as they are)."""
    rows = [{"shop_id": shop_id, "order_id": order_id, "marked_at": utcnow()} for order_id in sorted(set(order_ids))]
    if not rows:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.flush()  # an order added in this session exists before its mark refers to it
    session.execute(insert(OrderMark).values(rows).on_conflict_do_nothing())


def unmark(session: Session, shop_id: int, order_id: int) -> None:
    """The store shows what this order's lines say."""
    session.execute(delete(OrderMark).where(OrderMark.shop_id == shop_id, OrderMark.order_id == order_id))


def marked(session: Session, shop_id: int, *, after: int = 0, limit: int = 500) -> list[int]:
    """Marked orders by id, after `after` (keyset pages)."""
    return list(session.scalars(select(OrderMark.order_id).where(OrderMark.shop_id == shop_id,
                                                                 OrderMark.order_id > after)
                                .order_by(OrderMark.order_id).limit(limit)))
