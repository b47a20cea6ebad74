"""Compliance webhooks end to end: Shopify's exemplar payloads from the dev store, through the real
endpoint and the worker, on SQLite and PostgreSQL.

customers/data_request exports one customer's data, customers/redact erases it (orders and
backorders stay, anonymous), shop/redact erases an uninstalled shop. Each one delivered twice
changes nothing the second time.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid

import pytest
from sqlalchemy import func, select

from plugin.db.models import Backorder, Base, ComplianceRequest, Notification, Order, Shop, WebhookEvent
from plugin.suppliers.services import create_supplier
from tests.conftest import API_SECRET
from tests.flow_helpers import drain, install_shop
from tests.shopify_samples import sample, webhook_headers

SHOP = "privacy-shop.myshopify.com"
OTHER = "other-shop.myshopify.com"
ALICE, BOB = "alice@example.com", "bob@example.com"
# Contains Alice's address as a substring: must never be taken for her.
MALICE = "malice@example.com"
SECRET_KEY = "test-secret-key"  # conftest's settings
ALICE_PATTERN = re.compile(r"(?<![\w.+-])alice@example\.com", re.IGNORECASE)


@pytest.fixture
def store(app, runtime, fake_shopify):
    """Two shops; Alice (two orders, one backordered), Bob and Mal (one each) in the first."""
    orders = {}
    for domain in (SHOP, OTHER):
        fake_shopify.create_shop(domain)
        desk = fake_shopify.add_product(domain, "Oak desk", variants=[
            {"sku": "DESK", "price": "499.00", "tracked": True, "policy": "CONTINUE", "available": 1}])
        install_shop(runtime, fake_shopify, domain)
        orders[domain] = desk["variants"][0]["id"]
    desk = orders.pop(SHOP)
    placed = {
        "alice": [fake_shopify.place_order(SHOP, [(desk, 2)], email=ALICE, customer_name="Alice Liddell", locale="pl"),
                  fake_shopify.place_order(SHOP, [(desk, 1)], email=ALICE, customer_name="Alice Liddell", locale="pl")],
        "bob": [fake_shopify.place_order(SHOP, [(desk, 1)], email=BOB, customer_name="Robert Plant")],
        "mal": [fake_shopify.place_order(SHOP, [(desk, 1)], email=MALICE, customer_name="Mal Ice")],
        "other": [fake_shopify.place_order(OTHER, [(orders[OTHER], 3)], email=ALICE, customer_name="Alice Liddell")],
    }
    drain(runtime)
    fake_shopify.flush_webhooks()  # orders/updated caused by the app's own tag writes
    drain(runtime)
    with runtime.db.session() as s:
        ids = {domain: s.scalar(select(Shop.id).where(Shop.domain == domain)) for domain in (SHOP, OTHER)}
    for who, email in (("alice", ALICE), ("bob", BOB)):
        with runtime.db.shop_session(ids[SHOP]) as s:
            s.add(Notification(idempotency_key=f"delay:{who}", kind="delay", recipient=email, locale="pl",
                               subject=f"News about your order, {who}", body_text=f"Dear {who}, ...",
                               body_html=f"<p>Dear {who}</p>", status="sent"))
    return {"ids": ids, "desk": desk,
            "orders": {who: [o["legacyResourceId"] for o in found] for who, found in placed.items()}}


# -- helpers ---------------------------------------------------------------------------------------

def _digest(email: str) -> str:
    return hmac.new(SECRET_KEY.encode(), b"email:" + email.encode(), hashlib.sha256).hexdigest()


def _orders(runtime, shop_id):
    with runtime.db.shop_session(shop_id) as s:
        return {o.platform_order_id: (o.email, o.customer_name, o.customer_locale)
                for o in s.scalars(select(Order))}


def _backorders(runtime, shop_id):
    with runtime.db.shop_session(shop_id) as s:
        return sorted((b.line.order.platform_order_id, b.quantity, b.status) for b in s.scalars(select(Backorder)))


def _events(runtime, domain=None):
    with runtime.db.session() as s:
        stmt = select(WebhookEvent).order_by(WebhookEvent.id)
        if domain:
            stmt = stmt.where(WebhookEvent.shop_domain == domain)
        return s.scalars(stmt).all()


def _requests(runtime, topic=None):
    with runtime.db.session() as s:
        stmt = select(ComplianceRequest).order_by(ComplianceRequest.id)
        if topic:
            stmt = stmt.where(ComplianceRequest.topic == topic)
        return s.scalars(stmt).all()


def _snapshot(runtime, *, shop_id=None, skip_events=()):
    """Every row of every table (of one shop, if given), to compare before and after."""
    found = {}
    with runtime.db.session() as s:
        for table in Base.metadata.sorted_tables:
            stmt = select(table).order_by(*table.primary_key.columns)
            if shop_id is not None:
                if "shop_id" not in table.c:
                    continue
                stmt = stmt.where(table.c.shop_id == shop_id)
            rows = [dict(r) for r in s.execute(stmt).mappings()]
            if table.name == "webhook_events":
                rows = [r for r in rows if r["id"] not in skip_events]
            found[table.name] = rows
    return found


def _replay_under_new_event_id(fake_shopify, delivery_index: int) -> int:
    """The same request again as a new event (Shopify may send one change under two ids)."""
    delivery = fake_shopify.deliveries[delivery_index]
    return fake_shopify.deliver_raw(delivery.headers | {"X-Shopify-Event-Id": str(uuid.uuid4())}, delivery.body)


def _last_delivery(fake_shopify, topic):
    return max(d.index for d in fake_shopify.deliveries if d.topic == topic)


# -- customers/data_request ------------------------------------------------------------------------

def test_data_request_exports_that_customers_data_and_nobody_elses(runtime, fake_shopify, store):
    assert fake_shopify.request_customer_data(SHOP, ALICE) == 200
    drain(runtime)
    index = _last_delivery(fake_shopify, "customers/data_request")
    payload = fake_shopify.deliveries[index].payload

    [record] = _requests(runtime)
    assert (record.topic, record.request_key) == ("customers/data_request", str(payload["data_request"]["id"]))
    assert record.shop_id == store["ids"][SHOP] and record.completed_at is not None
    assert record.customer_ref == _digest(ALICE)  # recognisable, without the address itself
    export = record.export
    assert sorted(o["order_id"] for o in export["orders"]) == sorted(store["orders"]["alice"])
    assert {(o["email"], o["customer_name"], o["customer_locale"]) for o in export["orders"]} == {
        (ALICE, "Alice Liddell", "pl")}
    lines = [line for o in export["orders"] for line in o["lines"]]
    assert sum(line["backorder"]["quantity"] for line in lines if line["backorder"]) == 2
    assert all(line["backorder"]["promised_ship_date"] for line in lines if line["backorder"])
    # Her delay notice and the backorder confirmations the order handler queued: hers, nobody else's.
    assert {e["recipient"] for e in export["emails"]} == {ALICE}
    assert (ALICE, "News about your order, alice") in [(e["recipient"], e["subject"]) for e in export["emails"]]
    assert sorted(e["kind"] for e in export["emails"]) == ["confirmation", "confirmation", "delay"]
    assert export["webhook_payloads"] and {str(p["payload"]["id"]) for p in export["webhook_payloads"]} == set(
        store["orders"]["alice"])
    text = json.dumps(export)
    for stranger in (BOB, MALICE, "Robert Plant", "Mal Ice", "bob"):
        assert stranger not in text
    # Alice's order in the other shop is that shop's business, not this export's.
    assert store["orders"]["other"][0] not in text

    before = _snapshot(runtime)
    assert fake_shopify.redeliver(index) == 200  # same event id: the inbox keeps one row
    assert _replay_under_new_event_id(fake_shopify, index) == 200  # new event id: a second row
    drain(runtime)
    replayed = _events(runtime)[-1]
    assert replayed.topic == "customers/data_request" and replayed.status == "done"
    assert _snapshot(runtime, skip_events={replayed.id}) == before


def test_data_request_for_a_customer_the_app_never_saw_records_an_empty_export(runtime, fake_shopify, store):
    fake_shopify.place_order(OTHER, [(fake_shopify.variant_by_sku(OTHER, "DESK"), 1)], email="zed@example.com")
    drain(runtime)
    with runtime.db.session() as s:  # forget Zed's order: the app holds nothing about them
        s.query(Order).filter(Order.email == "zed@example.com").delete()
        s.query(WebhookEvent).filter(WebhookEvent.body.contains("zed@example.com")).delete()
        s.query(Notification).filter(Notification.recipient == "zed@example.com").delete()
    assert fake_shopify.request_customer_data(OTHER, "zed@example.com") == 200
    drain(runtime)
    [record] = _requests(runtime)
    assert record.export["orders"] == [] and record.export["emails"] == [] and record.export["webhook_payloads"] == []


# -- customers/redact ------------------------------------------------------------------------------

def test_redact_erases_that_customers_data_only_and_keeps_anonymous_counts(runtime, fake_shopify, store):
    shop_id, other_id = store["ids"][SHOP], store["ids"][OTHER]
    fake_shopify.request_customer_data(SHOP, ALICE)
    drain(runtime)
    backorders_before = _backorders(runtime, shop_id)
    orders_before = _orders(runtime, shop_id)
    other_before = _snapshot(runtime, shop_id=other_id)

    assert fake_shopify.redact_customer(SHOP, ALICE) == 200
    drain(runtime)

    orders = _orders(runtime, shop_id)
    for order_id in store["orders"]["alice"]:
        assert orders[order_id] == (None, None, None)
    for who in ("bob", "mal"):
        [order_id] = store["orders"][who]
        assert orders[order_id] == orders_before[order_id] and orders[order_id][0] is not None
    assert _backorders(runtime, shop_id) == backorders_before  # what was bought stays, anonymous

    events = _events(runtime, SHOP)
    assert all(e.status == "done" for e in events)
    assert not [e.id for e in events if ALICE_PATTERN.search(e.body) or "Liddell" in e.body]
    redacted = [e for e in events if json.loads(e.body).get("redacted")]
    assert {e.topic for e in redacted} == {"orders/create", "orders/updated", "customers/data_request",
                                           "customers/redact"}
    for e in redacted:
        assert set(e.headers) <= {"x-shopify-topic", "x-shopify-shop-domain", "x-shopify-event-id",
                                  "x-shopify-webhook-id", "x-shopify-api-version", "x-shopify-triggered-at"}
    order_bodies = [json.loads(e.body) for e in redacted if e.topic.startswith("orders/")]
    assert all(body["line_items"] and "customer" not in body and "email" not in body for body in order_bodies)
    # The others' payloads are untouched (Mal's address contains Alice's, and is not hers).
    for email in (BOB, MALICE):
        assert any(email in e.body for e in events if not json.loads(e.body).get("redacted"))

    with runtime.db.shop_session(shop_id) as s:
        mails = {n.idempotency_key: n for n in s.scalars(select(Notification))}
    alice_mail, bob_mail = mails["delay:alice"], mails["delay:bob"]
    assert (alice_mail.recipient, alice_mail.subject, alice_mail.body_text, alice_mail.body_html) == (None,) * 4
    assert (alice_mail.status, alice_mail.kind) == ("sent", "delay")
    assert (bob_mail.recipient, bob_mail.subject) == (BOB, "News about your order, bob")

    [export] = _requests(runtime, "customers/data_request")
    assert export.export == {"redacted": True, "orders": 2} and export.customer_ref == _digest(ALICE)
    [record] = _requests(runtime, "customers/redact")
    assert record.customer_ref == _digest(ALICE) and ALICE not in json.dumps(record.export)
    # Emails: her delay notice and the two backorder confirmations.
    assert record.export["erased"] == {"orders": 2, "emails": 3, "data_exports": 1,
                                       "webhook_events": len(redacted) - 1,  # not counting its own
                                       "error_messages": 0}
    # The same person in another shop is that shop's request to make.
    assert _snapshot(runtime, shop_id=other_id) == other_before

    before = _snapshot(runtime)
    index = _last_delivery(fake_shopify, "customers/redact")
    assert fake_shopify.redeliver(index) == 200
    assert _replay_under_new_event_id(fake_shopify, index) == 200
    drain(runtime)
    replayed = _events(runtime)[-1]
    assert replayed.status == "done" and json.loads(replayed.body)["redacted"] is True
    assert _snapshot(runtime, skip_events={replayed.id}) == before


def test_an_order_event_still_waiting_in_the_inbox_is_processed_without_the_customer(runtime, fake_shopify, store):
    shop_id = store["ids"][SHOP]
    fake_shopify.hold_webhooks = True
    fake_shopify.update_order(SHOP, f"gid://shopify/Order/{store['orders']['alice'][0]}", note="ring twice")
    fake_shopify.redact_customer(SHOP, ALICE)
    fake_shopify.hold_webhooks = False
    fake_shopify.release_webhooks(reverse=True)  # the redaction is stored (and runs) first
    drain(runtime)

    update = [e for e in _events(runtime, SHOP) if e.topic == "orders/updated"][-1]
    assert update.status == "done" and json.loads(update.body)["redacted"] is True
    assert "ring twice" not in update.body and not ALICE_PATTERN.search(update.body)
    assert _orders(runtime, shop_id)[store["orders"]["alice"][0]] == (None, None, None)


# -- shop/redact -----------------------------------------------------------------------------------

def test_shop_redact_after_uninstall_erases_every_row_of_that_shop_only(runtime, fake_shopify, store):
    shop_id, other_id = store["ids"][SHOP], store["ids"][OTHER]
    create_supplier(runtime, shop_id, name="Nordic Oak Works", email="orders@nordic-oak.example")
    fake_shopify.request_customer_data(SHOP, ALICE)
    drain(runtime)
    other_before = _snapshot(runtime, shop_id=other_id)
    other_events = [(e.id, e.body, e.status) for e in _events(runtime, OTHER)]

    assert fake_shopify.uninstall(SHOP) == 200
    drain(runtime)
    assert fake_shopify.redact_shop(SHOP) == 200
    drain(runtime)

    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Shop).where(Shop.domain == SHOP)) == 0
    assert all(rows == [] for rows in _snapshot(runtime, shop_id=shop_id).values())
    [kept] = _events(runtime, SHOP)  # the erasure's own event, with the shop's id and domain only
    assert (kept.topic, kept.status, kept.shop_id) == ("shop/redact", "done", None)
    assert set(json.loads(kept.body)) <= {"shop_id", "shop_domain"}
    assert _snapshot(runtime, shop_id=other_id) == other_before
    assert [(e.id, e.body, e.status) for e in _events(runtime, OTHER)] == other_events

    before = _snapshot(runtime)
    index = _last_delivery(fake_shopify, "shop/redact")
    assert fake_shopify.redeliver(index) == 200
    assert _replay_under_new_event_id(fake_shopify, index) == 200
    drain(runtime)
    replayed = _events(runtime)[-1]
    assert (replayed.topic, replayed.status) == ("shop/redact", "ignored")  # no such shop any more
    assert _snapshot(runtime, skip_events={replayed.id}) == before


def test_shop_redact_for_a_shop_installed_again_erases_nothing(runtime, fake_shopify, store):
    shop_id = store["ids"][SHOP]
    orders_before = _orders(runtime, shop_id)
    assert fake_shopify.redact_shop(SHOP) == 200
    drain(runtime)
    with runtime.db.session() as s:
        assert s.get(Shop, shop_id).status == "installed"
    assert _orders(runtime, shop_id) == orders_before
    [record] = _requests(runtime, "shop/redact")
    assert record.export["erased"] is False


def test_a_signed_body_replayed_under_another_shops_domain_erases_nothing(runtime, fake_shopify, store):
    other_id = store["ids"][OTHER]
    assert fake_shopify.uninstall(OTHER) == 200
    drain(runtime)
    other_before = _snapshot(runtime, shop_id=other_id)
    fake_shopify.hold_webhooks = True
    fake_shopify.redact_shop(SHOP)  # a genuine, signed shop/redact for the first shop...
    fake_shopify.hold_webhooks = False
    [held] = fake_shopify.held_webhooks
    # ...sent with the other shop's domain header: Shopify's signature covers only the body.
    assert fake_shopify.deliver_raw(held.headers | {"X-Shopify-Shop-Domain": OTHER}, held.body) == 200
    drain(runtime)
    event = _events(runtime)[-1]
    assert event.status == "dead" and "names shop" in event.reason
    assert _snapshot(runtime, shop_id=other_id, skip_events={event.id}) == other_before


def test_a_forged_compliance_webhook_is_refused_and_stores_nothing(client, runtime, fake_shopify, store):
    body = sample("customers/redact")
    body.update(shop_domain=SHOP, customer={"id": 1, "email": ALICE, "phone": None},
                orders_to_redact=[int(i) for i in store["orders"]["alice"]])
    raw = json.dumps(body).encode()
    before = _snapshot(runtime)
    response = client.post("/webhooks/shopify", data=raw,
                           headers=webhook_headers("customers/redact", SHOP, raw, "not-the-app-secret"))
    assert response.status_code == 401
    drain(runtime)
    assert _snapshot(runtime) == before
    # The same body signed with the app's secret is accepted (the test forges only the signature).
    signed = webhook_headers("customers/redact", SHOP, raw, API_SECRET)
    assert client.post("/webhooks/shopify", data=raw, headers=signed).status_code == 200
