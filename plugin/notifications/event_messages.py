"""Queue the emails of the ETA events the recompute stored: run by the outbox job before it composes.

The recompute (plugin/eta/recompute.py) stores what it noticed in `backorder_events` and nothing
else: building the messages (contexts, signed refund-offer links, the outbox INSERT) for a storm of
thousands of delay notices was half of its write, under the write lock. Here each shop's events
not yet handled are read oldest first, a batch per transaction, handed to
`queue_event_messages` (all its rules apply: one message per line, kind and promise version;
a refund offer supersedes the delay of the same version while that is still waiting; lines no
longer waiting are skipped), and marked `handled_at` in the same transaction, so every event's
emails are queued exactly once. On PostgreSQL the batch's events are locked (SKIP LOCKED): two
outbox runs never take the same ones; SQLite has one writer anyway. Should a batch be taken
twice regardless, the outbox's idempotency keys keep its messages single.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy import select, update

from plugin.db.models import BackorderEvent, Shop
from plugin.notifications.enqueue import queue_event_messages

log = logging.getLogger(__name__)

BATCH = 2000  # events per transaction


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def shops_with_unhandled_events(runtime) -> list[int]:
    with runtime.db.session() as session:
        return list(session.scalars(select(BackorderEvent.shop_id).where(BackorderEvent.handled_at.is_(None))
                                    .distinct().order_by(BackorderEvent.shop_id)))


def queue_shop_events(runtime, shop_id: int, *, limit: int | None = None, batch: int = BATCH) -> int:
    """Queue the messages of up to `limit` (None: all) of the shop's unhandled events; returns how
    many events were handled."""
    handled = 0
    while limit is None or handled < limit:
        size = batch if limit is None else min(batch, limit - handled)
        with runtime.db.shop_session(shop_id) as session:
            shop = session.get(Shop, shop_id)
            query = (select(BackorderEvent.id, BackorderEvent.backorder_id, BackorderEvent.kind,
                            BackorderEvent.promise_version, BackorderEvent.old_date, BackorderEvent.new_date)
                     .where(BackorderEvent.handled_at.is_(None)).order_by(BackorderEvent.id).limit(size))
            if runtime.db.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            found = session.execute(query).all()
            if not found:
                break
            if shop is not None:
                queue_event_messages(runtime, session, shop, [
                    {"backorder_id": row.backorder_id, "kind": row.kind, "promise_version": row.promise_version,
                     "old_date": row.old_date, "new_date": row.new_date} for row in found])
            session.execute(update(BackorderEvent).where(BackorderEvent.id.in_([row.id for row in found]))
                            .values(handled_at=utcnow()).execution_options(synchronize_session=False))
        handled += len(found)
        if len(found) < size:
            break
    if handled:
        log.info("event messages queued", extra={"shop_id": shop_id, "events": handled})
    return handled


def queue_event_emails(runtime) -> int:
    """Every shop's unhandled events; returns the events handled."""
    return sum(queue_shop_events(runtime, shop_id) for shop_id in shops_with_unhandled_events(runtime))
