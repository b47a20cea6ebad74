"""WooCommerce deliveries end to end against the dev store: ping, signatures, dedupe, backorders
with their ETAs written back to the order and the product, staleness, deletion, reconciliation."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from connectors.woocommerce.devstore import FakeWooCommerce
from plugin.backorders.reconcile import reconcile_shop
from plugin.db.models import Backorder, Order, OrderLine, Variant, WebhookEvent
from plugin.storefront.push import push_storefront_etas
from tests.woocommerce_helpers import (  # noqa: F401 - fixtures
    SITE, connect, drain, inbox_count, shop_row, wc_app, wc_client, wc_fake, wc_runtime,
)

DELIVERY_URL = "https://app.example.test/webhooks/woocommerce"


@pytest.fixture
def connected(wc_client, wc_fake, wc_runtime):
    connect(wc_client, wc_fake)
    return shop_row(wc_runtime)


def backorders(runtime, shop_id):
    with runtime.db.shop_session(shop_id) as session:
        return [(row.OrderLine.platform_line_id, row.Backorder.quantity, row.Backorder.status, row.Backorder.current_eta)
                for row in session.execute(select(OrderLine, Backorder).join(Backorder, Backorder.order_line_id == OrderLine.id)
                                           .order_by(OrderLine.id))]


def promise_next_unit(runtime, shop_id, variant_ids, when):
    from plugin.storefront.push import storefront_digest

    with runtime.db.shop_session(shop_id) as session:
        for variant in session.scalars(select(Variant).where(Variant.platform_variant_id.in_(variant_ids))):
            variant.next_eta_promise = variant.next_eta_earliest = variant.next_eta_likely = when
            variant.next_eta_latest = when
            variant.storefront_digest = storefront_digest(when, when, when, when)
            variant.storefront_dirty = True


def test_a_ping_is_answered_and_stored_nowhere(wc_client, wc_fake, connected, wc_runtime):
    status = wc_fake.deliver_raw(DELIVERY_URL, {"Content-Type": "application/x-www-form-urlencoded",
                                                "User-Agent": wc_fake.user_agent}, b"webhook_id=3")
    assert status == 200 and inbox_count(wc_runtime) == 0


def test_a_forged_signature_is_refused_and_nothing_is_stored(wc_fake, connected, wc_runtime):
    body = json.dumps({"id": 1, "date_modified_gmt": "2026-12-01T10:00:00", "line_items": []}).encode()
    headers = {"Content-Type": "application/json", "X-WC-Webhook-Source": f"{SITE}/",
               "X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-ID": "1", "X-WC-Webhook-Delivery-ID": "d",
               "X-WC-Webhook-Signature": FakeWooCommerce.sign("not-the-secret", body)}
    assert wc_fake.deliver_raw(DELIVERY_URL, headers, body) == 401
    unsigned = {k: v for k, v in headers.items() if k != "X-WC-Webhook-Signature"}
    assert wc_fake.deliver_raw(DELIVERY_URL, unsigned, body) == 401
    elsewhere = {**headers, "X-WC-Webhook-Source": "https://other.example.test/",
                 "X-WC-Webhook-Signature": FakeWooCommerce.sign(connected.webhook_secret, body)}
    assert wc_fake.deliver_raw(DELIVERY_URL, elsewhere, body) == 401
    assert inbox_count(wc_runtime) == 0
    # The same body signed with the shop's secret is accepted.
    headers["X-WC-Webhook-Signature"] = FakeWooCommerce.sign(connected.webhook_secret, body)
    assert wc_fake.deliver_raw(DELIVERY_URL, headers, body) == 200 and inbox_count(wc_runtime) == 1


def test_a_duplicate_delivery_is_stored_once(wc_fake, connected, wc_runtime):
    product = wc_fake.add_product("Oak desk", sku="DESK-OAK", stock=5, backorders="notify")
    order = wc_fake.place_order([(product["id"], 1)])
    created = wc_fake.webhook_deliveries("order.created")
    assert created and created[-1].status == 200
    stored = inbox_count(wc_runtime)  # order.created, order.updated, product.updated
    delivery = created[-1]
    # WooCommerce sending the same state again (another save in the same second, another delivery id).
    assert wc_fake.deliver_raw(delivery.url, {**delivery.headers, "X-WC-Webhook-Delivery-ID": "another"},
                               delivery.body) == 200
    assert wc_fake.deliver_raw(delivery.url, delivery.headers, delivery.body) == 200
    assert inbox_count(wc_runtime) == stored
    with wc_runtime.db.session() as session:
        key = session.scalar(select(WebhookEvent.dedupe_key).where(WebhookEvent.topic == "orders/create"))
    assert key.startswith(f"wc:{delivery.headers['X-WC-Webhook-ID']}:{order['id']}:")


def test_an_order_webhook_records_the_backorder_and_writes_its_eta_back(wc_fake, connected, wc_runtime):
    desk = wc_fake.add_product("Oak desk", sku="DESK-OAK", stock=2, backorders="notify")
    lamp = wc_fake.add_product("Linen lamp", sku="LAMP", variations=[
        {"sku": "LAMP-S", "stock": 0, "backorders": "yes", "attributes": {"Size": "S"}},
        {"sku": "LAMP-L", "stock": 4, "backorders": "no", "attributes": {"Size": "L"}}])
    small = lamp["variations"][0]
    order = wc_fake.place_order([(desk["id"], 3), (small, 1)])
    assert drain(wc_runtime) >= 1

    found = backorders(wc_runtime, connected.id)
    desk_line, lamp_line = (str(line["id"]) for line in order["line_items"])
    assert [(line, qty, status) for line, qty, status, _ in found] == [(desk_line, 1, "open"), (lamp_line, 1, "open")]
    eta = found[0][3]
    assert eta is not None

    # Line meta: the visible date and the hidden ISO date, on both backordered lines.
    for index in (0, 1):
        meta = wc_fake.line_meta(order["id"], index)
        assert meta["_backorder_desk_eta"] in (found[0][3].isoformat(), found[1][3].isoformat())
        assert "Estimated ship date" in meta
    assert wc_fake.line_meta(order["id"], 0)["Estimated ship date"] == eta.strftime("%B %-d, %Y")
    # The store's own Backordered meta is still there (the desk: notify).
    assert wc_fake.line_meta(order["id"], 0).get("Backordered") == "1"
    # One private note (the shop did not ask for customer notes).
    notes = [n for n in wc_fake.order_notes(order["id"]) if "Backorder Desk" in n["note"]]
    assert len(notes) == 1 and not notes[0]["customer_note"]
    assert "Oak desk" in notes[0]["note"]

    # The storefront ETA goes to the product and the variation as meta, in batch calls. (What one
    # more unit would be promised is the ETA recompute's to fill in; here it is set as it would.)
    promise_next_unit(wc_runtime, connected.id, [str(desk["id"]), str(small)], eta)
    wc_fake.reset_requests()
    counts = push_storefront_etas(wc_runtime, connected.id)
    assert counts["set"] == 2
    for product_id in (desk["id"], small):
        value = json.loads(wc_fake.product_meta(product_id)["_backorder_desk_eta"])
        assert {"promise", "earliest", "likely", "latest", "label", "updated_at"} <= set(value)
    assert all(call.route.endswith("/batch") for call in wc_fake.requests if call.method == "POST")

    # Processing it again (the order.updated our own write caused) writes nothing more.
    drain(wc_runtime)
    wc_fake.reset_requests()
    from plugin.backorders.handlers import process_order
    from connectors.woocommerce.orders import woo_order

    process_order(wc_runtime, connected, woo_order(wc_fake.order(order["id"])))
    assert not [c for c in wc_fake.requests if c.method in ("PUT", "POST")]
    assert len([n for n in wc_fake.order_notes(order["id"]) if "Backorder Desk" in n["note"]]) == 1


def test_the_note_goes_to_the_customer_when_the_shop_says_so(wc_fake, connected, wc_runtime):
    from plugin.db.models import Shop

    with wc_runtime.db.session() as session:
        session.get(Shop, connected.id).settings = {"woocommerce_note_to_customer": True}
    desk = wc_fake.add_product("Oak desk", sku="DESK-OAK", stock=0, backorders="yes")
    order = wc_fake.place_order([(desk["id"], 1)])
    drain(wc_runtime)
    notes = [n for n in wc_fake.order_notes(order["id"]) if "Backorder Desk" in n["note"]]
    assert len(notes) == 1 and notes[0]["customer_note"]


def test_no_backorder_when_the_product_does_not_allow_it_or_is_not_stocked(wc_fake, connected, wc_runtime):
    untracked = wc_fake.add_product("Gift card", sku="GIFT")  # stock not managed
    plenty = wc_fake.add_product("Rug", sku="RUG", stock=5, backorders="notify")
    wc_fake.place_order([(untracked["id"], 2), (plenty["id"], 1)])
    drain(wc_runtime)
    assert backorders(wc_runtime, connected.id) == []


def test_a_stale_order_update_changes_nothing(wc_fake, connected, wc_runtime):
    desk = wc_fake.add_product("Oak desk", sku="DESK-OAK", stock=0, backorders="notify")
    order = wc_fake.place_order([(desk["id"], 1)])
    delivery = wc_fake.webhook_deliveries("order.created")[-1]
    drain(wc_runtime)
    wc_fake.cancel_order(order["id"])
    drain(wc_runtime)
    assert [s for _, _, s, _ in backorders(wc_runtime, connected.id)] == ["cancelled"]
    # The old "processing" state arrives late (a replayed or delayed delivery of another webhook).
    headers = {**delivery.headers, "X-WC-Webhook-ID": "999"}
    headers["X-WC-Webhook-Signature"] = FakeWooCommerce.sign(connected.webhook_secret, delivery.body)
    assert wc_fake.deliver_raw(delivery.url, headers, delivery.body) == 200
    drain(wc_runtime)
    assert [s for _, _, s, _ in backorders(wc_runtime, connected.id)] == ["cancelled"]
    with wc_runtime.db.shop_session(connected.id) as session:
        assert session.scalar(select(Order.status)) == "cancelled"


def test_a_trashed_order_cancels_its_backorders(wc_fake, connected, wc_runtime):
    desk = wc_fake.add_product("Oak desk", sku="DESK-OAK", stock=0, backorders="notify")
    order = wc_fake.place_order([(desk["id"], 2)])
    drain(wc_runtime)
    wc_fake.trash_order(order["id"])
    assert wc_fake.webhook_deliveries("order.deleted")
    drain(wc_runtime)
    assert [s for _, _, s, _ in backorders(wc_runtime, connected.id)] == ["cancelled"]


def _resigned(delivery, secret, **changes):
    payload = {**json.loads(delivery.body), **changes}
    body = json.dumps(payload).encode()
    headers = {**delivery.headers, "X-WC-Webhook-ID": "998"}
    headers["X-WC-Webhook-Signature"] = FakeWooCommerce.sign(secret, body)
    return delivery.url, headers, body


def sellable(runtime, shop_id, variant_id):
    with runtime.db.shop_session(shop_id) as session:
        return session.scalar(select(Variant.sellable_quantity).where(Variant.platform_variant_id == str(variant_id)))


def test_a_product_update_is_a_stock_reading_and_a_stale_one_is_ignored(wc_fake, connected, wc_runtime):
    desk = wc_fake.add_product("Oak desk", sku="DESK-OAK", stock=0, backorders="notify")
    wc_fake.place_order([(desk["id"], 2)])
    drain(wc_runtime)
    assert [s for _, _, s, _ in backorders(wc_runtime, connected.id)] == ["open"]
    before = [d for d in wc_fake.webhook_deliveries("product.updated") if d.resource_id == desk["id"]][-1]
    assert before.payload["stock_quantity"] == -2
    wc_fake.restock(desk["id"], 5)  # -2 -> 3: covered now
    drain(wc_runtime)
    assert sellable(wc_runtime, connected.id, desk["id"]) == 3
    assert [s for _, _, s, _ in backorders(wc_runtime, connected.id)] == ["ready"]

    # The state from before the restock, modified an hour before our last reading, arrives late:
    # nothing changes and the store is not even asked.
    hour_ago = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    wc_fake.reset_requests()
    assert wc_fake.deliver_raw(*_resigned(before, connected.webhook_secret, date_modified_gmt=hour_ago)) == 200
    drain(wc_runtime)
    assert sellable(wc_runtime, connected.id, desk["id"]) == 3 and wc_fake.request_count == 0
    # The same old state with a date in the second of our reading cannot be ordered by its date:
    # the store is asked, and its answer (3) stands.
    assert wc_fake.deliver_raw(*_resigned(before, connected.webhook_secret, note="again")) == 200
    drain(wc_runtime)
    assert sellable(wc_runtime, connected.id, desk["id"]) == 3


def test_reconcile_recovers_missed_orders_and_re_enables_a_disabled_webhook(wc_fake, connected, wc_runtime):
    desk = wc_fake.add_product("Oak desk", sku="DESK-OAK", stock=0, backorders="notify")
    # The app was down: deliveries failed until WooCommerce disabled the webhook.
    wc_fake.fail_deliveries(20)
    for _ in range(8):
        wc_fake.place_order([(desk["id"], 1)])
    created = next(h for h in wc_fake.webhooks() if h["topic"] == "order.created")
    assert created["status"] == "disabled"
    with wc_runtime.db.session() as session:
        assert len(session.scalars(select(WebhookEvent.id).where(WebhookEvent.topic == "orders/create")).all()) < 8

    counts = reconcile_shop(wc_runtime, connected.id, since=datetime.now(timezone.utc) - timedelta(hours=1))
    assert counts["orders_seen"] == 8 and counts["orders_processed"] == 8 and counts["errors"] == 0
    assert all(h["status"] == "active" for h in wc_fake.webhooks())
    assert len(backorders(wc_runtime, connected.id)) == 8
    # A second run sees them again (our own line meta moved their date_modified) and re-records
    # them, writing nothing more to the store.
    wc_fake.reset_requests()
    reconcile_shop(wc_runtime, connected.id, since=datetime.now(timezone.utc) - timedelta(hours=1))
    assert not [c for c in wc_fake.requests if c.method in ("PUT", "POST", "DELETE")]
    assert len(backorders(wc_runtime, connected.id)) == 8
    # And the re-enabled webhook delivers again.
    wc_fake.place_order([(desk["id"], 1)])
    assert inbox_count(wc_runtime) >= 1
