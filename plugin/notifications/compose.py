"""Render the outbox rows stored unrendered (the ETA recompute's event messages) before they are sent.

queue_event_messages (run by the outbox job for the recompute's stored events, event_messages.py)
stores a storm of delay notices with their context only; rendering thousands of them in that
transaction would hold the write lock for seconds. The outbox job
calls compose_pending before it claims, and the claim takes only rendered rows, so nothing is
sent half-made. Rendering is a pure function of the stored context and the order's customer
name, so two senders composing the same row write the same parts (the UPDATE only fills empty
ones). A row whose context cannot be rendered is dead, with the reason, instead of blocking
the queue; skipped rows are never rendered (the admin's log derives their subject).
"""
from __future__ import annotations

import logging

from sqlalchemy import and_, bindparam, or_, select, update

from plugin.db.models import Notification, Order
from plugin.notifications.render import render

log = logging.getLogger(__name__)

_n = Notification.__table__
BATCH = 200


def uncomposed():
    """Rows waiting to be sent that have no rendered parts yet. (A redacted row has no recipient:
    the outbox skips it instead.)"""
    c = _n.c
    # Two comparisons, not IN: an expanding IN cannot be part of the executemany UPDATE below.
    return and_(or_(c.status == "pending", c.status == "failed"), c.subject.is_(None), c.recipient.isnot(None))


def compose_pending(runtime, *, limit: int = BATCH) -> dict[str, int]:
    """Render up to `limit` unrendered rows, oldest first, BATCH per write transaction. Counts.

    Rendering happens between two short transactions, never inside one: on SQLite every
    transaction here takes the database's only write lock."""
    counts = {"composed": 0, "unrenderable": 0}
    left = limit
    while left > 0:
        with runtime.db.session() as session:  # short: rendering happens after it
            found = session.execute(
                select(_n.c.id, _n.c.context, Order.customer_name)
                .select_from(_n.outerjoin(Order.__table__, Order.__table__.c.id == _n.c.order_id))
                .where(uncomposed()).order_by(_n.c.id).limit(min(BATCH, left))).all()
        if not found:
            break
        done, dead = [], []
        for row_id, context, customer_name in found:
            try:
                rendered = render(context or {}, customer_name=customer_name)
            except Exception as exc:  # a context this code cannot render: say so, never retry it
                log.error("outbox: message could not be rendered",
                          extra={"notification_id": row_id, "error": type(exc).__name__})
                dead.append({"row_id": row_id,
                             "why": f"could not be rendered: {type(exc).__name__}: {str(exc)[:200]}"})
                continue
            done.append({"row_id": row_id, "new_subject": rendered.subject, "new_text": rendered.text,
                         "new_html": rendered.html})
        with runtime.db.session() as session:
            if done:
                session.execute(update(_n).where(_n.c.id == bindparam("row_id"), uncomposed())
                                .values(subject=bindparam("new_subject"), body_text=bindparam("new_text"),
                                        body_html=bindparam("new_html")), done)
            if dead:
                session.execute(update(_n).where(_n.c.id == bindparam("row_id"), uncomposed())
                                .values(status="dead", reason=bindparam("why")), dead)
        counts["composed"] += len(done)
        counts["unrenderable"] += len(dead)
        left -= len(found)
        if len(found) < min(BATCH, limit):
            break
    return counts
