"""The outbox's rows: claiming due ones under a lease, and writing each outcome while it is ours.

See plugin/notifications/outbox.py for the whole story (why a lease, why one commit per message).
A claim is `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`, like the
webhook inbox's (webhooks/worker.py); an outcome is written only while status, owner and attempt
number are still the claim's, so a sender whose lease ran out cannot overwrite its successor.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select, update

from plugin.db.models import Notification, Shop

log = logging.getLogger(__name__)

_n = Notification.__table__
_shops = Shop.__table__

# The per-shop limit, a shop setting: read with this default until plugin/shop_settings.py declares it.
RATE_SETTING = "email_rate_per_minute"
DEFAULT_RATE_PER_MINUTE = 120
NO_RECIPIENT = "no recipient address"
SHOP_UNINSTALLED = "the shop uninstalled the app"
# Any constant will do: it names "the outbox claim" among the advisory locks of this database.
_CLAIM_LOCK = 0x0B0E_0DE5_0001


@dataclass(frozen=True)
class Claimed:
    """A row claimed under our lease, with what its message is built from."""

    id: int
    attempts: int
    shop_id: int
    kind: str
    idempotency_key: str
    recipient: str | None
    subject: str | None
    body_text: str | None
    body_html: str | None
    created_at: datetime


def shop_option(stored: Any, name: str, default: Any = None) -> Any:
    """A shop setting by name, tolerating one that plugin/shop_settings.py does not declare (yet)."""
    from plugin.shop_settings import DEFAULT_SHOP_SETTINGS

    value = (stored if isinstance(stored, dict) else {}).get(name, DEFAULT_SHOP_SETTINGS.get(name))
    return default if value is None else value


def rate_per_minute(stored: Any) -> int:
    try:
        value = int(shop_option(stored, RATE_SETTING, DEFAULT_RATE_PER_MINUTE))
    except (TypeError, ValueError):
        return DEFAULT_RATE_PER_MINUTE
    return value if value > 0 else DEFAULT_RATE_PER_MINUTE


def due_condition(now: datetime):
    c = _n.c
    return or_(
        # Not rows still to be rendered (compose.py): the sender never sends half a message.
        and_(c.status.in_(("pending", "failed")), c.next_attempt_at <= now,
             or_(c.subject.isnot(None), c.recipient.is_(None))),
        # A lease that ran out: its sender died or hung. Taken over only now, never earlier.
        and_(c.status == "sending", c.locked_until < now),
    )


def claim(runtime, sender: str, limit: int, now: datetime, *, lease_seconds: float, rate_window_seconds: float,
          counts: dict[str, Any]) -> tuple[list[Claimed], dict[int, Any]]:
    """Claim up to `limit` due rows within the shops' rate budgets, in sending order
    (round-robin over shops, oldest first within each). Returns them and their shops' rows."""
    c = _n.c
    with runtime.db.session() as session:
        if runtime.db.dialect == "postgresql":
            # Claims take turns (for milliseconds), so the budgets below see the rows every other
            # sender has claimed: two senders cannot both spend a shop's last minute. (SQLite:
            # BEGIN IMMEDIATE already makes this transaction the one writer.)
            session.execute(select(func.pg_advisory_xact_lock(_CLAIM_LOCK)))
        counts["skipped"] += skip_unsendable(session, now)
        due = session.execute(select(c.shop_id, func.count(), func.min(c.id)).where(due_condition(now))
                              .group_by(c.shop_id)).all()
        if not due:
            return [], {}
        # Shops whose oldest due row is oldest first: at most `limit` of them can send in this batch.
        due = sorted(due, key=lambda row: row[2])[:max(limit, 1)]
        shop_ids = [row[0] for row in due]
        shops = {row.id: row for row in session.execute(
            select(_shops.c.id, _shops.c.name, _shops.c.domain, _shops.c.settings).where(_shops.c.id.in_(shop_ids)))}
        window_start = now - timedelta(seconds=rate_window_seconds)
        recent = dict(session.execute(
            select(c.shop_id, func.count())
            .where(c.status.in_(("sent", "sending")), c.next_attempt_at > window_start, c.shop_id.in_(shop_ids))
            .group_by(c.shop_id)).all())
        budgets: dict[int, int] = {}
        for shop_id, due_count, _oldest in due:
            allowed = max(0, rate_per_minute(shops[shop_id].settings) - recent.get(shop_id, 0))
            counts["waiting_for_rate_limit"] += max(0, due_count - allowed)
            if allowed:
                budgets[shop_id] = min(allowed, due_count)
        if not budgets:
            return [], shops
        ranked = (select(c.id, c.shop_id, func.row_number().over(partition_by=c.shop_id, order_by=c.id).label("rn"))
                  .where(due_condition(now), c.shop_id.in_(list(budgets))).subquery())
        chosen = (select(ranked.c.id).where(ranked.c.rn <= case(budgets, value=ranked.c.shop_id, else_=0))
                  .order_by(ranked.c.rn, ranked.c.id).limit(limit))
        pick = select(c.id).where(c.id.in_(chosen.scalar_subquery()))
        if runtime.db.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        stmt = (update(_n).where(c.id.in_(pick.scalar_subquery()))
                .values(status="sending", locked_by=sender, locked_until=now + timedelta(seconds=lease_seconds),
                        attempts=c.attempts + 1, next_attempt_at=now)
                .returning(c.id, c.attempts, c.shop_id, c.kind, c.idempotency_key, c.recipient, c.subject,
                           c.body_text, c.body_html, c.created_at))
        rows = session.execute(stmt).all()
    claimed = [Claimed(**row._asdict()) for row in rows]
    # The order the batch was chosen in: round-robin over shops, oldest first within each.
    rank: dict[int, int] = {}
    order = {}
    for item in sorted(claimed, key=lambda i: i.id):
        rank[item.shop_id] = rank.get(item.shop_id, 0) + 1
        order[item.id] = (rank[item.shop_id], item.id)
    return sorted(claimed, key=lambda i: order[i.id]), shops


def skip_unsendable(session, now: datetime) -> int:
    c = _n.c
    waiting = and_(c.status.in_(("pending", "failed")), c.next_attempt_at <= now)
    no_address = session.execute(
        update(_n).where(waiting, or_(c.recipient.is_(None), func.trim(c.recipient) == ""))
        .values(status="skipped", reason=NO_RECIPIENT, locked_until=None)).rowcount or 0
    uninstalled = session.execute(
        update(_n).where(waiting, c.shop_id.in_(select(_shops.c.id).where(_shops.c.status != "installed")))
        .values(status="skipped", reason=SHOP_UNINSTALLED, locked_until=None)).rowcount or 0
    if no_address or uninstalled:
        log.info("outbox: notifications skipped", extra={"no_address": no_address, "shop_uninstalled": uninstalled})
    return no_address + uninstalled


def owned(item: Claimed, sender: str):
    c = _n.c
    return and_(c.id == item.id, c.status == "sending", c.locked_by == sender, c.attempts == item.attempts)


class OutcomeWriter:
    """One database connection for a batch's outcome writes, each its own transaction.

    On PostgreSQL the connection is in autocommit: a single UPDATE is its own transaction, one
    round trip instead of three (BEGIN, UPDATE, COMMIT). On SQLite each write is BEGIN IMMEDIATE
    ... COMMIT (plugin/db), in-process and cheap.
    """

    def __init__(self, db):
        self._conn = db.engine.connect()
        self._autocommit = db.dialect == "postgresql"
        if self._autocommit:
            self._conn = self._conn.execution_options(isolation_level="AUTOCOMMIT")

    def first(self, stmt, params: dict | None = None):
        if self._autocommit:
            return self._conn.execute(stmt, params).first()
        with self._conn.begin():
            return self._conn.execute(stmt, params).first()

    def rowcount(self, stmt) -> int:
        if self._autocommit:
            return self._conn.execute(stmt).rowcount or 0
        with self._conn.begin():
            return self._conn.execute(stmt).rowcount or 0

    def close(self) -> None:
        self._conn.close()


def _bound(name: str, column):
    return bindparam(name, type_=column.type)


# The statement run after every accepted message, built once (its parameters bound per row).
MARK_SENT = (
    update(_n)
    .where(_n.c.id == _bound("row_id", _n.c.id), _n.c.status == "sending",
           _n.c.locked_by == _bound("sender", _n.c.locked_by), _n.c.attempts == _bound("attempt", _n.c.attempts))
    .values(status="sent", sent_at=_bound("sent_at", _n.c.sent_at), next_attempt_at=_bound("sent_at", _n.c.sent_at),
            message_id=_bound("mid", _n.c.message_id), reason=None, last_error=None, locked_until=None)
    .returning(_n.c.recipient)
)


def mark_sent(writer: OutcomeWriter, item: Claimed, sender: str, sent_at: datetime, message_id: str):
    """Record an accepted message while the lease is ours; None: it is not ours any more.

    The time between the server's 250 and this commit is the window in which a crash makes the
    next sender resend the message: one prepared statement, one round trip.
    """
    return writer.first(MARK_SENT, {"row_id": item.id, "sender": sender, "attempt": item.attempts,
                                     "sent_at": sent_at, "mid": message_id})


def finish(writer: OutcomeWriter, item: Claimed, sender: str, **values: Any):
    """Write an outcome while the lease is ours, in its own short transaction; None: it is not."""
    return writer.first(update(_n).where(owned(item, sender)).values(locked_until=None, **values)
                        .returning(_n.c.recipient))


def record(writer: OutcomeWriter, item: Claimed, sender: str, outcome: str, extra: dict, **values: Any) -> str:
    if finish(writer, item, sender, **values) is None:
        log.warning("outbox: lease lost; outcome left to the new owner", extra=extra)
        return "lease_lost"
    return outcome


def release(writer: OutcomeWriter, items: list[Claimed], sender: str, next_attempt_at: datetime, *,
            reason: str | None) -> int:
    """Hand unsent rows back as they were before this claim (the attempt is not counted)."""
    if not items:
        return 0
    c = _n.c
    values: dict[str, Any] = {"status": case((c.attempts > 1, "failed"), else_="pending"),
                              "attempts": c.attempts - 1, "locked_until": None, "next_attempt_at": next_attempt_at}
    if reason is not None:
        values["last_error"] = reason
    # Only rows still under this claim: same owner, same attempt number.
    ours = or_(*(and_(c.id == item.id, c.attempts == item.attempts) for item in items))
    return writer.rowcount(update(_n).where(ours, c.status == "sending", c.locked_by == sender).values(**values))
