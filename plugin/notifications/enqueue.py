"""Put messages in the outbox, inside the caller's transaction: the event and its email commit
together or not at all. Nothing here sends, and nothing does I/O besides the given session.

Every message is stored with the context it is rendered from, under an idempotency key that
names what it is about, never to whom: composing the same message twice finds the key taken
and creates nothing (`INSERT ... ON CONFLICT DO NOTHING`, so a concurrent writer cannot fail
the caller's transaction either). Each function returns only the rows it created. Messages one
at a time (a confirmation, a refund confirmation, a digest) are rendered now and stored whole;
the recompute's events (queue_event_messages, thousands at once when a supplier's dates move)
are stored unrendered and rendered by compose.compose_pending before the outbox sends them.

A message that must not go out is still stored, as status "skipped" with the reason: no email
address, the kind switched off in the shop's settings, the line no longer waiting, or a delay
notice superseded by the refund offer for the same line and promise version (one email, not
two: the offer says the date moved too).
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace
from typing import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from plugin.db.models import Backorder, Notification, Order, OrderLine, Shop
from plugin.db.driver import DriverSql
from plugin.notifications import kinds
from plugin.locales import choose_locale
from plugin.notifications.contexts import iso, message_context, order_link, shop_context, with_order
from plugin.notifications.render import render
from plugin.shop_settings import email_kind_enabled

PENDING, SKIPPED = "pending", "skipped"
WAITING = ("open", "ready")  # backorder statuses whose customer still waits
NOT_YET_SENDING = ("pending", "failed")
BATCH = 500  # keys or ids per IN (...) list


# -- the three ways in -------------------------------------------------------------------------

def enqueue_confirmation(runtime, session: Session, shop: Shop, order_id: int, *,
                         order_status_url: str | None = None) -> Notification | None:
    """The backorder confirmation of an order: its backordered lines, their dates, how to cancel.

    One per order, however often the order is processed; None when it exists already, or when
    the order (no longer) has backordered lines. `order_status_url` is the platform's order
    status page when the caller has it (else the shop's help URL setting, else its storefront).
    """
    key = kinds.confirmation_key(order_id)
    if _taken(session, [key]):
        return None
    order = session.scalars(select(Order).where(Order.id == order_id)
                            .options(selectinload(Order.lines).selectinload(OrderLine.backorder))).one_or_none()
    if order is None or order.status != "open":
        return None
    backorders = sorted((line.backorder for line in order.lines
                         if line.backorder is not None and line.backorder.status in WAITING), key=lambda b: b.id)
    if not backorders:
        return None
    locale = choose_locale(order.customer_locale)
    context = message_context(shop, kinds.CONFIRMATION, locale, order=order, backorders=backorders,
                              links={"order": order_link(shop, order_status_url)})
    return store_message(session, shop, kinds.CONFIRMATION, key, context, recipient=order.email, order=order)


def enqueue_for_events(runtime, session: Session, shop: Shop, events: Iterable[dict]) -> list[Notification]:
    """Messages for what the ETA recompute noticed, rendered now: queue_event_messages, then the
    created rows. See there for the rules."""
    ids = queue_event_messages(runtime, session, shop, events, render_now=True)
    if not ids:
        return []
    found = {row.id: row for start in range(0, len(ids), BATCH)
             for row in session.scalars(select(Notification).where(Notification.id.in_(ids[start:start + BATCH])))}
    return [found[i] for i in ids if i in found]


def queue_event_messages(runtime, session: Session, shop: Shop, events: Iterable[dict], *,
                         render_now: bool = False) -> list[int]:
    """Messages for what the ETA recompute noticed: one per (kind, line, promise version).
    Returns the ids of the rows created, in the order they were decided.

    Each event is {backorder_id, kind: delay|refund_offer|ready, promise_version, old_date,
    new_date} (dates as `date` or ISO strings), the shape stored in backorder_events. A
    refund_offer that goes out supersedes the delay of the same line and version: the delay is
    stored as skipped, or, if it is still waiting in the outbox, switched to skipped. Events of a
    line no longer waiting (shipped, cancelled, refunded) are skipped, and so is a "ready" for a
    line's first promise (the confirmation says it is in stock).

    Built for a recompute's thousands of events at once: lines are read in a few plain queries,
    rows inserted in batches. Without `render_now` the rows are stored unrendered (subject and
    parts empty) and compose.compose_pending renders them before the outbox sends: rendering
    is most of a message's cost, and it has no business holding the recompute's write lock.
    """
    wanted: dict[str, dict] = {}
    for event in events:
        kind = event["kind"]
        if kind not in kinds.EVENT_KINDS:
            raise ValueError(f"not an ETA event kind: {kind!r}")
        item = {"kind": kind, "backorder_id": int(event["backorder_id"]),
                "promise_version": int(event["promise_version"]),
                "old_date": iso(event.get("old_date")), "new_date": iso(event.get("new_date"))}
        wanted.setdefault(kinds.event_key(kind, item["backorder_id"], item["promise_version"]), item)
    if not wanted:
        return []
    related = [kinds.event_key(other, e["backorder_id"], e["promise_version"]) for e in wanted.values()
               for other in (kinds.DELAY, kinds.REFUND_OFFER)]
    taken = _taken(session, list(wanted) + related)  # key -> status
    stored_before = dict(taken)
    backorders = _event_lines(session, shop.id, {e["backorder_id"] for e in wanted.values()})

    rows: list[dict] = []
    blocks: dict[tuple[str, str], dict] = {}
    superseded: list[tuple[str, str]] = []
    order_of_kinds = {kinds.REFUND_OFFER: 0, kinds.DELAY: 1, kinds.READY: 2}
    for key, event in sorted(wanted.items(), key=lambda kv: order_of_kinds[kv[1]["kind"]]):
        backorder = backorders.get(event["backorder_id"])
        if key in taken or backorder is None:
            continue
        line_version = (event["backorder_id"], event["promise_version"])
        offer_key = kinds.event_key(kinds.REFUND_OFFER, *line_version)
        skip = None
        if event["kind"] == kinds.DELAY and taken.get(offer_key, SKIPPED) != SKIPPED:
            skip = f"superseded by the refund offer ({offer_key})"
        elif backorder.status not in WAITING:
            skip = f"the line is {backorder.status}"
        elif event["kind"] == kinds.READY and event["old_date"] is None:
            skip = "first promise: the order confirmation tells it"
        values = _event_row(runtime, shop, key, event, backorder, skip, render_now, blocks)
        rows.append(values)
        taken[key] = values["status"]
        # An offer that goes out says the date moved too: a delay notice of the same line and
        # version not yet being sent gives way. (One that is skipped, e.g. refund offers
        # switched off, leaves the delay notice to tell the news.) A delay decided in this call
        # already saw the offer above; only one stored earlier needs an UPDATE.
        delay_key = kinds.event_key(kinds.DELAY, *line_version)
        if event["kind"] == kinds.REFUND_OFFER and values["status"] != SKIPPED and delay_key in stored_before:
            superseded.append((delay_key, offer_key))
    created = _insert_many(session, rows)
    for delay_key, offer_key in superseded:
        _supersede_delay(session, delay_key, offer_key)
    return created


def enqueue(runtime, session: Session, shop: Shop, kind: str, *, order_id: int, backorder_ids: Iterable[int],
            promise_version: int | None = None, extra: dict | None = None,
            idempotency_key: str | None = None) -> Notification | None:
    """Any customer kind about some lines of one order (refund_confirmation, shipped, ...).

    The key defaults to (kind, lines[, promise version]): `shipped:backorder:7`,
    `refund_confirmation:backorder:7:v2`. `extra` is kept in the context and shown where the
    template knows it: amount (refund_confirmation), carrier, tracking_number, tracking_url
    (shipped), old_date/new_date (delay, refund_offer, ready). None when the key is taken.
    """
    if kind not in kinds.CUSTOMER_KINDS:
        raise ValueError(f"not a customer email kind: {kind!r}")
    ids = sorted({int(i) for i in backorder_ids})
    key = idempotency_key or kinds.generic_key(kind, order_id, ids, promise_version)
    if _taken(session, [key]):
        return None
    order = session.get(Order, order_id)
    if order is None:
        raise LookupError(f"order {order_id} not found")
    found = _backorders(session, set(ids))
    strangers = [i for i in ids if i not in found or found[i].line.order_id != order_id]
    if strangers:
        raise ValueError(f"backorders {strangers} are not lines of order {order_id}")
    backorders = [found[i] for i in ids]
    extra = _jsonable(dict(extra or {}))
    links = {"order": order_link(shop, extra.pop("order_status_url", None))}
    if extra.get("tracking_url"):
        links["tracking"] = extra.pop("tracking_url")
    parts: dict = {"links": links, "extra": extra}
    if "old_date" in extra or "new_date" in extra or promise_version is not None:
        parts["change"] = {"old_date": extra.get("old_date"), "new_date": extra.get("new_date"),
                           "promise_version": promise_version}
    locale = choose_locale(order.customer_locale)
    if kind == kinds.REFUND_OFFER:
        if len(backorders) != 1 or promise_version is None:
            raise ValueError("a refund offer is about one line and one promise version")
        if why_not_sent(shop, kind, order.email) is None:
            parts.update(_choice_parts(runtime, shop, backorders[0].id, promise_version))
            links.update(parts.pop("links_extra"))
    context = message_context(shop, kind, locale, order=order, backorders=backorders, **parts)
    return store_message(session, shop, kind, key, context, recipient=order.email, order=order,
                         backorder_id=ids[0] if len(ids) == 1 else None)


# -- storing -----------------------------------------------------------------------------------

def store_message(session: Session, shop: Shop, kind: str, key: str, context: dict, *, recipient: str | None,
                  order: Order | None, backorder_id: int | None = None,
                  skip_reason: str | None = None) -> Notification | None:
    """Render and insert one outbox row; None when the key is taken (by anyone, even now)."""
    values = _row_values(shop, kind, key, context, recipient=recipient, order=order, backorder_id=backorder_id,
                         skip_reason=skip_reason, render_now=True)
    statement = (_dialect_insert(session)(Notification).values(**values)
                 .on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(Notification.id))
    new_id = session.execute(statement).scalar_one_or_none()
    return session.get(Notification, new_id) if new_id is not None else None


def _row_values(shop: Shop, kind: str, key: str, context: dict, *, recipient: str | None, order,
                backorder_id: int | None, skip_reason: str | None, render_now: bool) -> dict:
    if "@" in key:
        raise ValueError("an idempotency key never contains an address")
    recipient = (recipient or "").strip() or None
    reason = skip_reason or why_not_sent(shop, kind, recipient)
    values = dict(
        shop_id=shop.id, idempotency_key=key, kind=kind, order_id=order.id if order is not None else None,
        backorder_id=backorder_id, recipient=recipient, locale=context["locale"], subject=None,
        body_text=None, body_html=None, context=context,
        status=SKIPPED if reason else PENDING, reason=reason,
    )
    if render_now:
        rendered = render(context, customer_name=order.customer_name if order is not None else None)
        values.update(subject=rendered.subject, body_text=rendered.text, body_html=rendered.html)
    return values


def why_not_sent(shop: Shop, kind: str, recipient: str | None) -> str | None:
    """Why a message of this kind to this recipient would be skipped (None: it would be sent)."""
    if not email_kind_enabled(shop, kind):
        return f"{kind} emails are switched off in the shop's settings"
    recipient = (recipient or "").strip()
    if not recipient:
        return "no merchant email address set" if kind in kinds.MERCHANT_KINDS else "the customer has no email address"
    if "@" not in recipient:
        return "the recipient is not an email address"
    return None


def _dialect_insert(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _taken(session: Session, keys: list[str]) -> dict[str, str]:
    """The keys already in the outbox, with their rows' status, in one statement. (Keys are unique
    across shops, so this reads the table itself, not the shop's ORM view.)"""
    if not keys:
        return {}
    sql = DriverSql.on(session)
    return dict(sql._all(f"SELECT idempotency_key, status FROM notifications WHERE {sql._in('idempotency_key')}",
                         (sql._list(sorted(set(keys))),)))


def _supersede_delay(session: Session, delay_key: str, offer_key: str) -> None:
    """A delay notice not yet being sent gives way to the refund offer (one sent is history).

    Conditional in one UPDATE: a sender that claimed the row meanwhile (status sending) wins."""
    session.execute(update(Notification)
                    .where(Notification.idempotency_key == delay_key, Notification.status.in_(NOT_YET_SENDING))
                    .values(status=SKIPPED, reason=f"superseded by the refund offer ({offer_key})")
                    .execution_options(synchronize_session="fetch"))


# -- events ------------------------------------------------------------------------------------

def _backorders(session: Session, ids: set[int]) -> dict[int, Backorder]:
    ids_in_order, found = sorted(ids), {}
    for start in range(0, len(ids_in_order), BATCH):
        rows = session.scalars(select(Backorder).where(Backorder.id.in_(ids_in_order[start:start + BATCH]))
                               .options(selectinload(Backorder.line).selectinload(OrderLine.order)))
        found.update((b.id, b) for b in rows)
    return found


def _event_row(runtime, shop: Shop, key: str, event: dict, backorder, skip: str | None,
               render_now: bool, blocks: dict) -> dict:
    kind, order = event["kind"], backorder.line.order
    locale = choose_locale(order.customer_locale)
    parts: dict = {
        "change": {"old_date": event["old_date"], "new_date": event["new_date"],
                   "promise_version": event["promise_version"]},
        "links": {"order": order_link(shop)},
    }
    # Links are minted only for an offer that will go out.
    skip = skip or why_not_sent(shop, kind, order.email)
    if kind == kinds.REFUND_OFFER and skip is None:
        parts.update(_choice_parts(runtime, shop, backorder.id, event["promise_version"]))
        parts["links"].update(parts.pop("links_extra"))
    base = blocks.get((kind, locale))
    if base is None:
        base = blocks[(kind, locale)] = shop_context(shop, kind, locale)
    context = with_order(base, order=order, backorders=[backorder], **parts)
    return _row_values(shop, kind, key, context, recipient=order.email, order=order, backorder_id=backorder.id,
                       skip_reason=skip, render_now=render_now)


def _event_lines(session: Session, shop_id: int, ids: set[int]) -> dict[int, SimpleNamespace]:
    """The lines (with their order) that message contexts read, from plain rows in one statement:
    for thousands of events, ORM objects, or IN lists of thousands of parameters that the driver
    parses on every call, would cost more than everything else here."""
    if not ids:
        return {}
    sql = DriverSql.on(session)
    rows = sql._all(
        "SELECT b.id, b.status, b.quantity, b.promised_eta, b.current_eta, b.eta_earliest, b.eta_likely, "
        "b.eta_latest, l.title, l.sku, o.id, o.name, o.platform_order_id, o.email, o.customer_locale, "
        "o.customer_name FROM backorders b JOIN order_lines l ON l.id = b.order_line_id "
        f"JOIN orders o ON o.id = l.order_id WHERE b.shop_id = {sql.p} AND o.shop_id = {sql.p} AND {sql._in('b.id')}",
        (shop_id, shop_id, sql._list(sorted(ids))))
    found: dict[int, SimpleNamespace] = {}
    orders: dict[int, SimpleNamespace] = {}
    for (bid, status, quantity, promised, current, earliest, likely, latest, title, sku, order_id, name,
         platform_order_id, email, locale, customer_name) in rows:
        owner = orders.get(order_id)
        if owner is None:
            owner = orders[order_id] = SimpleNamespace(
                id=order_id, name=name, platform_order_id=platform_order_id, email=email,
                customer_locale=locale, customer_name=customer_name)
        # Dates come back as `date` (PostgreSQL) or ISO text (SQLite): contexts keep ISO text.
        found[bid] = SimpleNamespace(
            id=bid, status=status, quantity=quantity, promised_eta=promised, current_eta=current,
            eta_earliest=earliest, eta_likely=likely, eta_latest=latest,
            line=SimpleNamespace(title=title, sku=sku, order=owner, order_id=order_id))
    return found


_INSERTED = ("shop_id", "idempotency_key", "kind", "order_id", "backorder_id", "recipient", "locale", "subject",
             "body_text", "body_html", "context", "status", "reason")


def _insert_many(session: Session, rows: list[dict]) -> list[int]:
    """INSERT ... ON CONFLICT DO NOTHING of every row through the driver's executemany, then the
    rows' ids by key, in the rows' order. The caller left out the keys taken before; one a
    concurrent writer takes in between keeps that writer's row."""
    if not rows:
        return []
    sql = DriverSql.on(session)
    p = sql.p
    stamp = sql._ts_out(datetime.now(timezone.utc))
    placeholders = ", ".join(f"{p}::json" if sql.postgres and name == "context" else p for name in _INSERTED)
    sql._many(f"INSERT INTO notifications ({', '.join(_INSERTED)}, attempts, next_attempt_at, created_at) "
              f"VALUES ({placeholders}, 0, {p}, {p}) ON CONFLICT (idempotency_key) DO NOTHING",
              [tuple(json.dumps(row[name]) if name == "context" else row[name] for name in _INSERTED) + (stamp, stamp)
               for row in rows])
    keys = [row["idempotency_key"] for row in rows]
    found = dict(sql._all(f"SELECT idempotency_key, id FROM notifications WHERE {sql._in('idempotency_key')}",
                          (sql._list(keys),)))
    return [found[key] for key in keys if key in found]


def _choice_parts(runtime, shop: Shop, backorder_id: int, promise_version: int) -> dict:
    """The keep / refund links, signed by plugin/choices (which owns their format and expiry)."""
    # Imported late: the choices package builds on the outbox, not the other way round.
    from plugin.choices.config import link_expiry_days, refund_approval_required
    from plugin.choices.links import choice_links

    links = choice_links(runtime, shop, backorder_id, promise_version)
    expires_on = datetime.now(timezone.utc).date() + timedelta(days=link_expiry_days(shop))
    return {
        "links_extra": {"keep": links["keep"], "refund": links["refund"]},
        "expires_on": iso(expires_on),
        "approval_required": refund_approval_required(shop),
    }


def _jsonable(value):
    def default(obj):
        if isinstance(obj, (date, datetime)):
            return obj.isoformat()
        if isinstance(obj, Decimal):
            return str(obj)
        raise TypeError(f"{type(obj).__name__} cannot be kept in a message context")

    return json.loads(json.dumps(value, default=default))
