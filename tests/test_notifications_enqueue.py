"""Composing outbox rows inside the caller's transaction, on both databases: idempotent by key,
skipped with a reason, a refund offer instead of a delay notice, never an address in a key."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from plugin.choices.links import read_token
from plugin.db.models import Backorder, BackorderEvent, CustomerChoice, Notification, Order, OrderLine, Shop
from plugin.notifications.digest import enqueue_digest
from plugin.notifications.enqueue import enqueue, enqueue_confirmation, enqueue_for_events
from plugin.notifications.event_messages import queue_event_emails
from tests.flow_helpers import drain, install_shop

PLACED = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)
PROMISED = date(2026, 12, 15)


class Shopfront:
    """A shop with orders and backordered lines written through the models, as the handlers leave them."""

    def __init__(self, runtime, domain="outbox.myshopify.com", **settings):
        self.runtime = runtime
        with runtime.db.session() as session:
            shop = Shop(platform="shopify", domain=domain, name="Linen & Oak", status="installed", settings=settings)
            session.add(shop)
            session.flush()
            self.shop_id = shop.id
        self.count = 0

    def order(self, lines=(("Oak desk", "DESK", 2),), *, email="anna@example.com", locale="pl-PL",
              name="Anna Kowalska", backordered=True) -> tuple[int, list[int]]:
        """(order id, backorder ids)."""
        self.count += 1
        with self.runtime.db.shop_session(self.shop_id) as session:
            order = Order(platform_order_id=str(9000 + self.count), name=f"#{1000 + self.count}", email=email,
                          customer_name=name, customer_locale=locale, placed_at=PLACED)
            for n, (title, sku, quantity) in enumerate(lines):
                line = OrderLine(platform_line_id=f"{self.count}-{n}", title=title, sku=sku, quantity=quantity,
                                 open_quantity=quantity)
                if backordered:
                    line.backorder = Backorder(quantity=quantity, status="open", ordered_at=PLACED,
                                               promised_eta=PROMISED, original_eta=PROMISED, current_eta=PROMISED,
                                               eta_earliest=PROMISED - timedelta(days=5), eta_likely=PROMISED,
                                               eta_latest=PROMISED + timedelta(days=3))
                order.lines.append(line)
            session.add(order)
            session.flush()
            return order.id, [line.backorder.id for line in order.lines if line.backorder]

    def shop(self, session) -> Shop:
        return session.get(Shop, self.shop_id)

    def rows(self) -> list[Notification]:
        with self.runtime.db.shop_session(self.shop_id) as session:
            return list(session.scalars(select(Notification).order_by(Notification.id)))

    def confirm(self, order_id):
        with self.runtime.db.shop_session(self.shop_id) as session:
            return enqueue_confirmation(self.runtime, session, self.shop(session), order_id)

    def events(self, *events):
        with self.runtime.db.shop_session(self.shop_id) as session:
            return enqueue_for_events(self.runtime, session, self.shop(session), list(events))


def delay(backorder_id, version=2, old=PROMISED, new=PROMISED + timedelta(days=10)):
    return {"backorder_id": backorder_id, "kind": "delay", "promise_version": version, "old_date": old,
            "new_date": new}


def refund_offer(backorder_id, version=2, old=PROMISED, new=PROMISED + timedelta(days=30)):
    return {"backorder_id": backorder_id, "kind": "refund_offer", "promise_version": version, "old_date": old,
            "new_date": new}


@pytest.fixture
def front(runtime) -> Shopfront:
    return Shopfront(runtime)


# -- confirmation ---------------------------------------------------------------------------------

def test_a_backordered_order_gets_one_confirmation_rendered_and_stored(front):
    order_id, [backorder_id] = front.order()
    row = front.confirm(order_id)

    assert row is not None and row.status == "pending" and row.reason is None
    assert (row.kind, row.order_id, row.recipient, row.locale) == ("confirmation", order_id, "anna@example.com", "pl")
    assert row.idempotency_key == f"confirmation:order:{order_id}"
    assert row.subject == "Zamówienie #1001: część produktów jest na zamówienie"
    assert "Przewidywana data wysyłki: 15 grudnia 2026" in row.body_text
    assert "15 grudnia 2026" in row.body_html and "Dzień dobry Anna Kowalska" in row.body_html
    assert row.context["lines"][0]["backorder_id"] == backorder_id
    assert row.context["lines"][0]["promised"] == "2026-12-15"
    assert row.context["links"]["order"] == "https://outbox.myshopify.com/"
    assert row.context["envelope"] == {"from_name": "Linen & Oak", "reply_to": None}
    # The context keeps what the message says, not who it is for.
    assert "anna" not in str(row.context).lower() and "kowalska" not in str(row.context).lower()


def test_processing_an_order_twice_confirms_it_once(front):
    order_id, _ = front.order()
    assert front.confirm(order_id) is not None
    assert front.confirm(order_id) is None
    with front.runtime.db.shop_session(front.shop_id) as session:
        shop = front.shop(session)
        assert enqueue_confirmation(front.runtime, session, shop, order_id) is None
        assert enqueue_confirmation(front.runtime, session, shop, order_id) is None
    assert len(front.rows()) == 1


def test_an_order_without_backordered_lines_gets_no_confirmation(front):
    order_id, _ = front.order(backordered=False)
    assert front.confirm(order_id) is None
    assert front.rows() == []


def test_a_customer_without_an_email_address_is_skipped_with_the_reason(front):
    order_id, [backorder_id] = front.order(email=None)
    row = front.confirm(order_id)
    assert (row.status, row.reason, row.recipient) == ("skipped", "the customer has no email address", None)
    [delay_row] = front.events(delay(backorder_id))
    assert (delay_row.status, delay_row.reason) == ("skipped", "the customer has no email address")


def test_a_kind_switched_off_is_skipped_and_the_others_still_go(runtime):
    front = Shopfront(runtime, email_kinds={"confirmation": False})
    order_id, [backorder_id] = front.order(locale="en")
    row = front.confirm(order_id)
    assert (row.status, row.reason) == ("skipped", "confirmation emails are switched off in the shop's settings")
    [delay_row] = front.events(delay(backorder_id))
    assert delay_row.status == "pending" and delay_row.subject == "Order #1001: new ship date"


def test_an_english_customer_gets_english(front):
    order_id, _ = front.order(locale="en-US")
    row = front.confirm(order_id)
    assert row.locale == "en" and "Estimated ship date: December 15, 2026" in row.body_text


def test_the_shops_overrides_are_used_and_kept_in_the_context(runtime):
    front = Shopfront(runtime, email_texts={"confirmation": {"pl": {"subject": "{shop_name}: {order_name} czeka",
                                                                   "intro": "Nasz własny wstęp."}}},
                      email_sender_name="Linen & Oak Sklep", email_reply_to="pomoc@linen-oak.example")
    order_id, _ = front.order()
    row = front.confirm(order_id)
    assert row.subject == "Linen & Oak: #1001 czeka" and "Nasz własny wstęp." in row.body_text
    assert row.context["texts"] == {"subject": "{shop_name}: {order_name} czeka", "intro": "Nasz własny wstęp."}
    assert row.context["envelope"] == {"from_name": "Linen & Oak Sklep", "reply_to": "pomoc@linen-oak.example"}
    assert "odpowiedz na tę wiadomość" in row.body_text


# -- events ---------------------------------------------------------------------------------------

def test_the_same_event_twice_makes_one_row(front):
    _, [backorder_id] = front.order()
    [row] = front.events(delay(backorder_id), delay(backorder_id))
    assert row.idempotency_key == f"delay:backorder:{backorder_id}:v2"
    assert "Poprzedni termin: 15 grudnia 2026" in row.body_text and "Nowy termin: 25 grudnia 2026" in row.body_text
    assert row.context["change"] == {"old_date": "2026-12-15", "new_date": "2026-12-25", "promise_version": 2}
    assert front.events(delay(backorder_id)) == []
    # The next promise version is news again.
    [later] = front.events(delay(backorder_id, version=3, old=PROMISED + timedelta(days=10),
                                 new=PROMISED + timedelta(days=20)))
    assert later.idempotency_key.endswith(":v3")
    assert len(front.rows()) == 2


def test_a_refund_offer_supersedes_the_delay_of_the_same_line_and_version(front):
    _, [backorder_id] = front.order(locale="en")
    created = front.events(delay(backorder_id), refund_offer(backorder_id))
    by_kind = {row.kind: row for row in created}
    assert set(by_kind) == {"delay", "refund_offer"}
    assert by_kind["refund_offer"].status == "pending"
    assert by_kind["delay"].status == "skipped"
    assert by_kind["delay"].reason == f"superseded by the refund offer (refund_offer:backorder:{backorder_id}:v2)"
    assert [row.kind for row in front.rows() if row.status == "pending"] == ["refund_offer"]


def test_with_refund_offers_switched_off_the_delay_notice_still_tells_the_news(runtime):
    front = Shopfront(runtime, email_kinds={"refund_offer": False})
    _, [backorder_id] = front.order()
    created = {row.kind: row for row in front.events(delay(backorder_id), refund_offer(backorder_id))}
    assert created["refund_offer"].status == "skipped" and created["delay"].status == "pending"


def test_a_pending_delay_gives_way_to_a_later_refund_offer(front):
    _, [backorder_id] = front.order()
    [first] = front.events(delay(backorder_id))
    assert first.status == "pending"
    front.events(refund_offer(backorder_id))
    statuses = {row.kind: (row.status, row.reason) for row in front.rows()}
    assert statuses["refund_offer"] == ("pending", None)
    assert statuses["delay"][0] == "skipped" and statuses["delay"][1].startswith("superseded by the refund offer")
    # ...and a delay arriving after the offer is skipped as well (here: a redelivery of it).
    assert front.events(delay(backorder_id)) == []


def test_a_delay_after_the_refund_offer_of_its_version_is_skipped(front):
    _, [backorder_id] = front.order()
    front.events(refund_offer(backorder_id))
    [late] = front.events(delay(backorder_id))
    assert late.status == "skipped" and late.reason.startswith("superseded by the refund offer")


def test_a_delay_already_sent_is_history(front):
    _, [backorder_id] = front.order()
    [sent] = front.events(delay(backorder_id))
    with front.runtime.db.shop_session(front.shop_id) as session:
        session.get(Notification, sent.id).status = "sent"
    front.events(refund_offer(backorder_id))
    statuses = {row.kind: row.status for row in front.rows()}
    assert statuses == {"delay": "sent", "refund_offer": "pending"}


def test_a_refund_offer_carries_signed_links_for_that_line_and_version(runtime, front):
    _, [backorder_id] = front.order(locale="en")
    [row] = front.events(refund_offer(backorder_id, version=3))
    links = row.context["links"]
    assert links["keep"].startswith("https://outbox.myshopify.com/apps/")
    for choice in ("keep", "refund"):
        assert links[choice] in row.body_text
        assert links[choice].replace("&", "&amp;") in row.body_html or links[choice] in row.body_html
        claims = read_token(runtime, links[choice].split("t=", 1)[1])
        assert (claims.shop_id, claims.backorder_id, claims.promise_version, claims.choice) == \
            (front.shop_id, backorder_id, 3, choice)
    assert "First promised: December 15, 2026" in row.body_text
    assert "Now expected: January 14, 2027" in row.body_text
    assert row.context["expires_on"] and "These links work once, until" in row.body_text


def test_events_of_lines_no_longer_waiting_are_skipped(front):
    _, [cancelled] = front.order()
    _, [ready] = front.order()
    with front.runtime.db.shop_session(front.shop_id) as session:
        session.get(Backorder, cancelled).status = "cancelled"
        session.get(Backorder, ready).status = "ready"
    [row] = front.events(refund_offer(cancelled))
    assert (row.status, row.reason) == ("skipped", "the line is cancelled")
    assert "t=" not in str(row.context["links"])  # no link minted for an offer that never goes
    first, later = front.events(
        {"backorder_id": ready, "kind": "ready", "promise_version": 1, "old_date": None, "new_date": PROMISED},
        {"backorder_id": ready, "kind": "ready", "promise_version": 2, "old_date": PROMISED,
         "new_date": date(2026, 12, 1)})
    assert (first.status, first.reason) == ("skipped", "first promise: the order confirmation tells it")
    assert later.status == "pending" and "Wysyłka do 1 grudnia 2026" in later.body_text


def test_unknown_event_kinds_are_refused(front):
    _, [backorder_id] = front.order()
    with pytest.raises(ValueError):
        front.events({"backorder_id": backorder_id, "kind": "shipped", "promise_version": 1})


def test_no_key_contains_an_address(front):
    order_id, [a, b] = front.order(lines=(("Oak desk", "DESK", 1), ("Lamp", "LAMP", 1)))
    front.confirm(order_id)
    front.events(delay(a), refund_offer(a), delay(b))
    with front.runtime.db.shop_session(front.shop_id) as session:
        shop = front.shop(session)
        enqueue(front.runtime, session, shop, "shipped", order_id=order_id, backorder_ids=[b])
    rows = front.rows()
    assert len(rows) == 5
    for row in rows:
        assert "@" not in row.idempotency_key and "anna" not in row.idempotency_key.lower()
        assert row.recipient == "anna@example.com"


# -- the generic way in ---------------------------------------------------------------------------

def test_refund_confirmation_and_shipped_through_the_generic_enqueue(front):
    order_id, [a, b] = front.order(lines=(("Oak desk", "DESK", 1), ("Lamp", "LAMP", 3)), locale="en")
    with front.runtime.db.shop_session(front.shop_id) as session:
        shop = front.shop(session)
        refund = enqueue(front.runtime, session, shop, "refund_confirmation", order_id=order_id, backorder_ids=[a],
                         promise_version=2, extra={"amount": "499.00 PLN"})
        again = enqueue(front.runtime, session, shop, "refund_confirmation", order_id=order_id, backorder_ids=[a],
                        promise_version=2, extra={"amount": "499.00 PLN"})
        shipped = enqueue(front.runtime, session, shop, "shipped", order_id=order_id, backorder_ids=[b, a],
                          extra={"carrier": "DHL", "tracking_number": "JD0146", "tracking_url": "https://dhl.example/t/1"})
        with pytest.raises(ValueError):
            enqueue(front.runtime, session, shop, "digest", order_id=order_id, backorder_ids=[a])
    assert again is None
    assert refund.idempotency_key == f"refund_confirmation:backorder:{a}:v2" and refund.backorder_id == a
    assert "Amount refunded: 499.00 PLN" in refund.body_text
    assert shipped.idempotency_key == f"shipped:order:{order_id}:backorders:{a}+{b}" and shipped.backorder_id is None
    assert "Tracking number: JD0146" in shipped.body_text and "https://dhl.example/t/1" in shipped.body_html
    assert [line["title"] for line in shipped.context["lines"]] == ["Oak desk", "Lamp"]


def test_the_generic_enqueue_refuses_lines_of_another_order(front):
    order_id, _ = front.order()
    _, [stranger] = front.order()
    with front.runtime.db.shop_session(front.shop_id) as session:
        with pytest.raises(ValueError):
            enqueue(front.runtime, session, front.shop(session), "shipped", order_id=order_id,
                    backorder_ids=[stranger])


def test_a_failed_transaction_leaves_no_message(front):
    order_id, _ = front.order()
    with pytest.raises(RuntimeError):
        with front.runtime.db.shop_session(front.shop_id) as session:
            enqueue_confirmation(front.runtime, session, front.shop(session), order_id)
            raise RuntimeError("the recompute failed after composing")
    assert front.rows() == []
    assert front.confirm(order_id) is not None


# -- the merchant's digest ------------------------------------------------------------------------

def test_the_digest_lists_open_and_delayed_lines_and_refund_requests(runtime):
    front = Shopfront(runtime, merchant_email="owner@linen-oak.example")
    _, [waiting] = front.order()
    _, [late] = front.order(lines=(("Linen lamp", "LAMP", 1),))
    with runtime.db.shop_session(front.shop_id) as session:
        session.get(Backorder, late).promised_eta = PROMISED + timedelta(days=9)
        session.add(CustomerChoice(backorder_id=late, promise_version=2, token_id="jti-1", choice="refund",
                                   status="awaiting_approval", created_at=datetime(2026, 12, 1, 9, tzinfo=timezone.utc)))
    day = date(2026, 12, 2)
    with runtime.db.shop_session(front.shop_id) as session:
        row = enqueue_digest(runtime, session, front.shop(session), day)
        assert enqueue_digest(runtime, session, front.shop(session), day) is None
    assert (row.status, row.recipient, row.locale, row.order_id) == ("pending", "owner@linen-oak.example", "en", None)
    assert row.idempotency_key == f"digest:shop:{front.shop_id}:2026-12-02"
    assert row.subject == "Backorders at Linen & Oak: summary for December 2, 2026"
    text = row.body_text
    assert "Open backorder lines: 2" in text and "Delayed lines: 1" in text
    assert "Refund requests awaiting your approval: 1" in text
    assert "#1002: Linen lamp × 1 (first promised December 15, 2026, now December 24, 2026)" in text
    assert "#1002: Linen lamp × 1 (requested December 1, 2026)" in text
    assert f"https://outbox.myshopify.com/admin/apps/{runtime.settings.shopify_api_key}" in text
    assert waiting


def test_no_merchant_email_or_nothing_to_report_skips_the_digest(runtime, front):
    with runtime.db.shop_session(front.shop_id) as session:
        quiet = enqueue_digest(runtime, session, front.shop(session), date(2026, 12, 1))
    assert (quiet.status, quiet.reason) == ("skipped", "nothing to report")
    front.order()
    with runtime.db.shop_session(front.shop_id) as session:
        row = enqueue_digest(runtime, session, front.shop(session), date(2026, 12, 2))
    assert (row.status, row.reason) == ("skipped", "no merchant email address set")


# -- with the real order flow and the real ETA engine ---------------------------------------------

SHOP = "notify-flow.myshopify.com"


def test_an_order_from_the_fake_store_gets_its_confirmation(app, runtime, fake_shopify):
    fake_shopify.create_shop(SHOP)
    desk = fake_shopify.add_product(SHOP, "Oak desk", variants=[
        {"sku": "DESK", "price": "499.00", "tracked": True, "policy": "CONTINUE", "available": 2}])
    install_shop(runtime, fake_shopify, SHOP)
    fake_shopify.place_order(SHOP, [(desk["variants"][0]["id"], 3)], email="ola@example.com", locale="pl-PL",
                             customer_name="Ola Nowak")
    drain(runtime)
    with runtime.db.session() as session:
        shop_id, order_id = session.execute(select(Order.shop_id, Order.id)).one()
    with runtime.db.shop_session(shop_id) as session:
        shop = session.get(Shop, shop_id)
        # The order handler enqueued it in its own transaction; asking again makes no second one.
        assert enqueue_confirmation(runtime, session, shop, order_id) is None
        row = session.scalars(select(Notification).where(Notification.kind == "confirmation")).one()
        backorder = session.scalars(select(Backorder)).one()
    assert row.recipient == "ola@example.com" and row.locale == "pl"
    assert "Oak desk" in row.body_text and "Ilość: 1" in row.body_text
    assert f"Przewidywana data wysyłki: {polish(backorder.promised_eta)}" in row.body_text


def test_events_of_a_real_recompute_become_one_refund_offer(runtime):
    from tests.test_eta_recompute import TODAY, World, at, lot

    world = World(runtime, settings={"email_kinds": {"ready": False}})
    world.variant("DESK", sellable=-2)
    supplier = world.supplier("Oak Works", ["DESK"])
    world.feed(supplier, [lot("DESK", 5, TODAY + timedelta(days=10), "PO-1")])
    line = world.backorder("DESK", 2, at(TODAY - timedelta(days=1)))
    world.recompute()
    world.feed(supplier, [lot("DESK", 5, TODAY + timedelta(days=40), "PO-1")])
    world.recompute()
    with runtime.db.shop_session(world.shop_id) as session:
        # The recompute stores its events only; the outbox job queues their emails.
        assert session.scalar(select(func.count()).select_from(Notification)) == 0
    assert queue_event_emails(runtime) == 2
    assert queue_event_emails(runtime) == 0  # each event is handled once
    with runtime.db.shop_session(world.shop_id) as session:
        stored = list(session.scalars(select(BackorderEvent).order_by(BackorderEvent.id)))
        assert all(e.handled_at is not None for e in stored)
        events = [{"backorder_id": e.backorder_id, "kind": e.kind, "promise_version": e.promise_version,
                   "old_date": e.old_date, "new_date": e.new_date} for e in stored]
        assert {e["kind"] for e in events} == {"delay", "refund_offer"}
        # Asking again for the same events adds nothing.
        again = enqueue_for_events(runtime, session, session.get(Shop, world.shop_id), events)
        created = list(session.scalars(select(Notification).order_by(Notification.id)))
    assert again == [] and len(created) == 2
    assert sorted((row.kind, row.status) for row in created) == [("delay", "skipped"), ("refund_offer", "pending")]
    assert all(row.backorder_id == line for row in created)


def test_stored_events_queued_one_per_transaction_keep_the_same_rules(runtime):
    """Batches of one event: the delay is queued first, then the refund offer of the same line and
    version, which must still supersede it (switched to skipped while it waits)."""
    from plugin.notifications.event_messages import queue_shop_events
    from tests.test_eta_recompute import TODAY, World, at, lot

    world = World(runtime, settings={"email_kinds": {"ready": False}})
    world.variant("DESK", sellable=-2)
    supplier = world.supplier("Oak Works", ["DESK"])
    world.feed(supplier, [lot("DESK", 5, TODAY + timedelta(days=10), "PO-1")])
    world.backorder("DESK", 2, at(TODAY - timedelta(days=1)))
    world.recompute()
    world.feed(supplier, [lot("DESK", 5, TODAY + timedelta(days=40), "PO-1")])
    world.recompute()
    assert queue_shop_events(runtime, world.shop_id, limit=1, batch=1) == 1
    with runtime.db.shop_session(world.shop_id) as session:
        first = list(session.scalars(select(Notification)))
        assert len(first) == 1
    assert queue_shop_events(runtime, world.shop_id, batch=1) == 1
    assert queue_shop_events(runtime, world.shop_id, batch=1) == 0
    with runtime.db.shop_session(world.shop_id) as session:
        created = list(session.scalars(select(Notification).order_by(Notification.id)))
    assert sorted((row.kind, row.status) for row in created) == [("delay", "skipped"), ("refund_offer", "pending")]


def polish(day: date) -> str:
    from babel.dates import format_date

    return format_date(day, format="long", locale="pl")


def test_the_digest_tells_the_merchant_about_failed_refunds(runtime):
    from plugin.notifications.digest import enqueue_digest
    from tests.test_eta_recompute import TODAY, World, at

    world = World(runtime, settings={"merchant_email": "owner@shop.example"})
    world.variant("DESK", sellable=-1)
    line = world.backorder("DESK", 1, at(TODAY))
    with runtime.db.shop_session(world.shop_id) as session:
        session.add(CustomerChoice(shop_id=world.shop_id, backorder_id=line, promise_version=1, token_id="n-1",
                                   choice="refund", status="failed", error="the gateway declined the refund"))
    with runtime.db.shop_session(world.shop_id) as session:
        shop = session.get(Shop, world.shop_id)
        row = enqueue_digest(runtime, session, shop, TODAY)
    assert row.recipient == "owner@shop.example" and row.status == "pending"
    assert "Refunds that failed and need you to refund by hand: 1" in row.body_text
    assert "the gateway declined the refund" in row.body_text and "the gateway declined the refund" in row.body_html
