"""Reconciliation against the dev store: missed order webhooks are caught up, and stock is re-read
so that backorders follow restocks no order webhook reports. Every test runs on both databases."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from connectors.base import ConnectorError
from connectors.shopify import connector as shopify_connector
from connectors.shopify import operations as ops
from connectors.shopify.devstore import FakeShopify
from plugin.backorders.payloads import parse_shopify_order
from plugin.backorders.reconcile import STOCK_BATCH, reconcile_shop, refresh_stock
from plugin.db.models import Backorder, Order, OrderLine, Shop, Variant
from tests.conftest import API_KEY, API_SECRET
from tests.flow_helpers import drain, install_shop

SHOP = "reconcile-shop.myshopify.com"
WRITES = ("OrderTagsAdd", "OrderMetafieldsSet")


class StoreClock:
    """The dev store's wall clock, moved by the test: time passes between the steps of a story."""

    def __init__(self):
        self.moment = datetime.now(timezone.utc).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float = 5) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def store_clock():
    return StoreClock()


@pytest.fixture
def fake_shopify(store_clock):
    """conftest's fake Shopify, with a clock the test moves (order timestamps are to the second),
    and a Shopify Plus shop's rate limits, so reading hundreds of variants does not wait out the
    standard bucket (pacing has its own tests)."""
    return FakeShopify(API_KEY, API_SECRET, now=store_clock, bucket_size=20000, restore_rate=1000.0)


@pytest.fixture
def store(app, runtime, fake_shopify):
    fake_shopify.create_shop(SHOP)
    desk = fake_shopify.add_product(SHOP, "Oak desk", variants=[
        {"sku": "DESK", "price": "499.00", "tracked": True, "policy": "CONTINUE", "available": 2}])
    lamp = fake_shopify.add_product(SHOP, "Linen lamp", variants=[
        {"sku": "LAMP", "price": "79.00", "tracked": True, "policy": "CONTINUE", "available": 0}])
    rug = fake_shopify.add_product(SHOP, "Rug", variants=[
        {"sku": "RUG", "price": "99.00", "tracked": True, "policy": "DENY", "available": 5}])
    install_shop(runtime, fake_shopify, SHOP)
    with runtime.db.session() as session:
        shop_id = session.scalars(select(Shop.id).where(Shop.domain == SHOP)).one()
    return {"shop_id": shop_id, "desk": desk["variants"][0]["id"], "lamp": lamp["variants"][0]["id"],
            "rug": rug["variants"][0]["id"]}


# -- helpers ---------------------------------------------------------------------------------------

def _legacy(gid: str) -> str:
    return gid.rsplit("/", 1)[-1]


def _store_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _backorders(runtime) -> dict[tuple[str, str], tuple]:
    """(platform order id, platform line id) -> the backorder's business state."""
    with runtime.db.session() as session:
        rows = session.scalars(
            select(Backorder).options(selectinload(Backorder.line).selectinload(OrderLine.order))).all()
        return {(b.line.order.platform_order_id, b.line.platform_line_id):
                (b.id, b.quantity, b.status, b.promised_eta, b.current_eta) for b in rows}


def _stored_orders(runtime) -> dict[str, Order]:
    with runtime.db.session() as session:
        return {o.platform_order_id: o for o in session.scalars(select(Order))}


def _store_marks(fake, order_gid: str) -> tuple[list[str], list[dict]]:
    order = fake.order(SHOP, order_gid)
    return order["tags"], order["metafields"]


def _calls_since(fake, start: int, names=None) -> list:
    return [c for c in fake.calls[start:] if names is None or c.operation in names]


def _miss_webhooks(fake) -> None:
    """From now on the store's events never reach the app (held forever, never released)."""
    fake.hold_webhooks = True


def _since(clock) -> datetime:
    return clock() - timedelta(minutes=1)


def _deliver_and_settle(runtime, fake) -> None:
    """Webhooks arrive, including the orders/updated that the app's own tag write causes."""
    drain(runtime)
    fake.flush_webhooks()
    drain(runtime)


# -- reconcile_shop ---------------------------------------------------------------------------------

def test_an_order_whose_webhook_never_came_is_backordered_and_tagged(runtime, fake_shopify, store, store_clock):
    since = _since(store_clock)
    _miss_webhooks(fake_shopify)
    order = fake_shopify.place_order(SHOP, [(store["desk"], 3), (store["rug"], 1)])
    drain(runtime)
    assert _stored_orders(runtime) == {}

    store_clock.advance()
    counts = reconcile_shop(runtime, store["shop_id"], since=since)

    assert counts["errors"] == 0
    assert counts["orders_seen"] == counts["orders_processed"] == 1
    assert counts["variants_refreshed"] == len(order["lineItems"])
    assert set(_stored_orders(runtime)) == {_legacy(order["id"])}
    [(key, (_, quantity, status, _, eta))] = _backorders(runtime).items()
    desk_line = next(line for line in order["lineItems"] if line["variantId"] == store["desk"])
    assert key == (_legacy(order["id"]), _legacy(desk_line["id"]))
    assert (quantity, status) == (-fake_shopify.available(SHOP, store["desk"]), "open")
    tags, metafields = _store_marks(fake_shopify, order["id"])
    assert "backorder" in tags
    [etas] = [json.loads(m["value"]) for m in metafields if m["key"] == "backorder_etas"]
    assert [(e["sku"], e["quantity"], e["eta"]) for e in etas] == [("DESK", quantity, eta.isoformat())]


def test_a_reconciled_order_is_recorded_as_its_webhook_would_have_recorded_it(runtime, fake_shopify, store,
                                                                               store_clock):
    since = _since(store_clock)
    _miss_webhooks(fake_shopify)
    order = fake_shopify.place_order(SHOP, [(store["desk"], 3), (store["lamp"], 2)], email="ygritte@example.com",
                                     locale="fr", customer_name="Ygritte Wildling")
    payload = fake_shopify.order_payload(SHOP, order["id"], topic="orders/create")
    reconcile_shop(runtime, store["shop_id"], since=since)

    from_webhook = parse_shopify_order(payload)
    stored = _stored_orders(runtime)[str(from_webhook.id)]
    assert (stored.name, stored.email, stored.customer_name, stored.customer_locale) == (
        from_webhook.name, from_webhook.email, from_webhook.customer_name, from_webhook.customer_locale)
    assert stored.placed_at == from_webhook.created_at
    assert stored.platform_updated_at == from_webhook.updated_at
    with runtime.db.session() as session:
        lines = {ln.platform_line_id: (ln.sku, ln.title, ln.quantity, ln.open_quantity)
                 for ln in session.scalars(select(OrderLine))}
    assert lines == {str(item.id): (item.sku, item.name, item.quantity, item.open_quantity)
                     for item in from_webhook.line_items}


def test_reconciling_twice_changes_nothing_the_second_time(runtime, fake_shopify, store, store_clock):
    since = _since(store_clock)
    _miss_webhooks(fake_shopify)
    orders = [fake_shopify.place_order(SHOP, [(store["desk"], 3)]),
              fake_shopify.place_order(SHOP, [(store["lamp"], 1), (store["rug"], 2)])]
    store_clock.advance()
    first = reconcile_shop(runtime, store["shop_id"], since=since)
    assert first["orders_processed"] == len(orders) and first["errors"] == 0
    backorders = _backorders(runtime)
    marks = {o["id"]: _store_marks(fake_shopify, o["id"]) for o in orders}
    assert backorders and all("backorder" in tags for tags, _ in marks.values())

    # Tagging moved those orders' updatedAt in the store: the next run sees them as updated.
    stored = _stored_orders(runtime)
    echoed = [o for o in orders
              if _store_time(fake_shopify.order(SHOP, o["id"])["updatedAt"]) > stored[_legacy(o["id"])].platform_updated_at]
    store_clock.advance()
    calls = len(fake_shopify.calls)
    second = reconcile_shop(runtime, store["shop_id"], since=since)

    assert second["errors"] == 0
    assert second["orders_seen"] == first["orders_seen"]
    assert second["orders_processed"] == len(echoed)
    assert _backorders(runtime) == backorders
    assert {o["id"]: _store_marks(fake_shopify, o["id"]) for o in orders} == marks
    assert _calls_since(fake_shopify, calls, WRITES) == []

    # Now the app holds every order as the store does: a third run reads nothing but the listing.
    calls = len(fake_shopify.calls)
    third = reconcile_shop(runtime, store["shop_id"], since=since)
    assert third["orders_processed"] == 0 and third["orders_seen"] == first["orders_seen"]
    assert {c.operation for c in _calls_since(fake_shopify, calls)} == {"OrdersUpdatedSince"}


def test_an_order_stored_up_to_date_is_not_reprocessed(runtime, fake_shopify, store, store_clock):
    since = _since(store_clock)
    order = fake_shopify.place_order(SHOP, [(store["desk"], 3)])
    store_clock.advance()
    _deliver_and_settle(runtime, fake_shopify)
    stored = _stored_orders(runtime)[_legacy(order["id"])]
    assert stored.platform_updated_at == _store_time(fake_shopify.order(SHOP, order["id"])["updatedAt"])
    before = _backorders(runtime)

    calls = len(fake_shopify.calls)
    counts = reconcile_shop(runtime, store["shop_id"], since=since)

    assert (counts["orders_seen"], counts["orders_processed"], counts["errors"]) == (1, 0, 0)
    assert {c.operation for c in _calls_since(fake_shopify, calls)} == {"OrdersUpdatedSince"}
    assert _backorders(runtime) == before
    assert _stored_orders(runtime)[_legacy(order["id"])].updated_at == stored.updated_at


def test_an_order_changed_in_the_store_after_it_was_stored_is_reprocessed(runtime, fake_shopify, store,
                                                                          store_clock):
    since = _since(store_clock)
    order = fake_shopify.place_order(SHOP, [(store["desk"], 3)])
    store_clock.advance()
    _deliver_and_settle(runtime, fake_shopify)
    assert {status for _, _, status, _, _ in _backorders(runtime).values()} == {"open"}

    _miss_webhooks(fake_shopify)
    store_clock.advance()
    fake_shopify.cancel_order(SHOP, order["id"])  # orders/cancelled never arrives
    counts = reconcile_shop(runtime, store["shop_id"], since=since)

    assert (counts["orders_processed"], counts["errors"]) == (1, 0)
    assert _stored_orders(runtime)[_legacy(order["id"])].status == "cancelled"
    assert {status for _, _, status, _, _ in _backorders(runtime).values()} == {"cancelled"}


def test_orders_last_updated_before_since_are_left_alone(runtime, fake_shopify, store, store_clock):
    _miss_webhooks(fake_shopify)
    old = fake_shopify.place_order(SHOP, [(store["desk"], 3)])
    store_clock.advance(3600)
    since = store_clock()
    store_clock.advance()
    new = fake_shopify.place_order(SHOP, [(store["lamp"], 1)])

    counts = reconcile_shop(runtime, store["shop_id"], since=since)

    assert (counts["orders_seen"], counts["orders_processed"]) == (1, 1)
    assert set(_stored_orders(runtime)) == {_legacy(new["id"])}
    assert "backorder" not in _store_marks(fake_shopify, old["id"])[0]


def test_since_must_say_its_time_zone(runtime, store):
    with pytest.raises(ValueError):
        reconcile_shop(runtime, store["shop_id"], since=datetime(2026, 1, 1))


# -- the connector's listing ---------------------------------------------------------------------------

def _shop_row(runtime, shop_id):
    with runtime.db.session() as session:
        shop = session.get(Shop, shop_id)
        session.expunge(shop)
        return shop


def test_the_listing_pages_oldest_update_first_and_maps_like_the_webhooks(runtime, fake_shopify, store, store_clock,
                                                                          monkeypatch):
    monkeypatch.setattr(shopify_connector, "ORDERS_PAGE", 2)
    since = _since(store_clock)
    _miss_webhooks(fake_shopify)
    placed = []
    for lines in ([(store["desk"], 3)], [(store["lamp"], 1), (store["rug"], 1)], [(store["desk"], 1)]):
        store_clock.advance()
        placed.append(fake_shopify.place_order(SHOP, lines))
    store_clock.advance()
    fake_shopify.cancel_order(SHOP, placed[0]["id"])  # now the most recently updated one
    calls = len(fake_shopify.calls)

    orders = runtime.connector("shopify").read_orders_updated_since(_shop_row(runtime, store["shop_id"]), since)

    expected = sorted(placed, key=lambda o: _store_time(fake_shopify.order(SHOP, o["id"])["updatedAt"]))
    assert [str(o.id) for o in orders] == [_legacy(o["id"]) for o in expected]
    pages = _calls_since(fake_shopify, calls, ("OrdersUpdatedSince",))
    assert len(pages) == -(-len(placed) // 2)
    assert all(c.requested_cost <= 1000 and not c.throttled for c in pages)
    for order in orders:
        webhook = parse_shopify_order(fake_shopify.order_payload(SHOP, f"gid://shopify/Order/{order.id}"))
        assert order.model_dump(exclude={"contact_email", "line_items", "customer"}) == webhook.model_dump(
            exclude={"contact_email", "line_items", "customer"})
        assert order.customer_name == webhook.customer_name
        fields = ("id", "variant_id", "sku", "name", "title", "quantity", "current_quantity", "open_quantity")
        assert [{f: getattr(i, f) for f in fields} for i in order.line_items] == [
            {f: getattr(i, f) for f in fields} for i in webhook.line_items]


def test_a_full_page_stays_within_shopifys_single_query_cost_limit(runtime, fake_shopify, store, store_clock):
    calls = len(fake_shopify.calls)
    runtime.connector("shopify").read_orders_updated_since(_shop_row(runtime, store["shop_id"]), _since(store_clock))
    [page] = _calls_since(fake_shopify, calls, ("OrdersUpdatedSince",))
    # The requested cost is computed before running, from `first`: this is what a full page costs.
    assert page.requested_cost <= 1000 and not page.throttled


def test_an_order_with_more_lines_than_one_page_is_read_to_the_end(runtime, fake_shopify, store, store_clock,
                                                                   monkeypatch):
    # Shopify pages line items too; a small page here stands in for an order of over 250 lines.
    monkeypatch.setattr(ops, "ORDERS_UPDATED_SINCE", ops.ORDERS_UPDATED_SINCE.replace("lineItems(first: 250)",
                                                                                      "lineItems(first: 2)"))
    monkeypatch.setattr(shopify_connector, "ORDER_LINES_PAGE", 2)
    tiles = fake_shopify.add_product(SHOP, "Tiles", variants=[
        {"sku": f"TILE-{i}", "title": f"T{i}", "policy": "CONTINUE", "available": 0} for i in range(5)])
    since = _since(store_clock)
    _miss_webhooks(fake_shopify)
    order = fake_shopify.place_order(SHOP, [(v["id"], 1) for v in tiles["variants"]])
    calls = len(fake_shopify.calls)

    [listed] = runtime.connector("shopify").read_orders_updated_since(_shop_row(runtime, store["shop_id"]), since)

    assert [str(i.id) for i in listed.line_items] == [_legacy(line["id"]) for line in order["lineItems"]]
    assert len(_calls_since(fake_shopify, calls, ("OrderLineItems",))) == -(-len(order["lineItems"]) // 2)
    counts = reconcile_shop(runtime, store["shop_id"], since=since)
    assert counts["orders_processed"] == 1
    assert len(_backorders(runtime)) == len(tiles["variants"])


# -- refresh_stock ------------------------------------------------------------------------------------

def _restock(fake, variant_gid: str, units: int) -> None:
    """Stock arrives the way Shopify tracks it: a shipment in transit, then received in full."""
    shipment = fake.add_inventory_shipment(SHOP, [(variant_gid, units)])
    fake.receive_inventory_shipment(SHOP, shipment["id"])


def test_a_restock_makes_an_open_backorder_ready(runtime, fake_shopify, store, store_clock):
    fake_shopify.place_order(SHOP, [(store["desk"], 3)])
    fake_shopify.place_order(SHOP, [(store["lamp"], 2)])
    _deliver_and_settle(runtime, fake_shopify)
    before = _backorders(runtime)
    assert {status for _, _, status, _, _ in before.values()} == {"open"}

    desk_short = -fake_shopify.available(SHOP, store["desk"])
    _restock(fake_shopify, store["desk"], desk_short)  # covers the desk; the lamp stays short
    counts = refresh_stock(runtime, store["shop_id"])

    assert counts["errors"] == 0
    assert counts["variants_refreshed"] == 2  # every variant with an open backorder, no other
    with runtime.db.session() as session:
        variants = {v.sku: v for v in session.scalars(select(Variant))}
        by_sku = {b.line.sku: b.status for b in session.scalars(
            select(Backorder).options(selectinload(Backorder.line)))}
    assert by_sku == {"DESK": "ready", "LAMP": "open"}
    assert variants["DESK"].sellable_quantity == fake_shopify.available(SHOP, store["desk"])

    after = _backorders(runtime)
    calls = len(fake_shopify.calls)
    again = refresh_stock(runtime, store["shop_id"])
    assert again["errors"] == 0 and again["orders_processed"] == 0
    assert _backorders(runtime) == after
    assert _calls_since(fake_shopify, calls, WRITES) == []


def test_stock_lost_in_the_store_opens_a_ready_backorder_again(runtime, fake_shopify, store):
    fake_shopify.place_order(SHOP, [(store["desk"], 3)])
    _deliver_and_settle(runtime, fake_shopify)
    _restock(fake_shopify, store["desk"], -fake_shopify.available(SHOP, store["desk"]))
    refresh_stock(runtime, store["shop_id"])
    assert {status for _, _, status, _, _ in _backorders(runtime).values()} == {"ready"}

    # A stock count finds two desks fewer than the system thought.
    fake_shopify.set_available(SHOP, store["desk"], fake_shopify.available(SHOP, store["desk"]) - 2)
    counts = refresh_stock(runtime, store["shop_id"])

    assert counts["variants_refreshed"] == 1 and counts["errors"] == 0
    [(_, quantity, status, _, _)] = _backorders(runtime).values()
    assert (quantity, status) == (-fake_shopify.available(SHOP, store["desk"]), "open")


def test_stock_is_read_in_batches_of_at_most_one_hundred_variants(runtime, fake_shopify, store, monkeypatch):
    many = STOCK_BATCH + 5
    tiles = fake_shopify.add_product(SHOP, "Tiles", variants=[
        {"sku": f"TILE-{i}", "title": f"T{i}", "policy": "CONTINUE", "available": 0} for i in range(many)])
    fake_shopify.place_order(SHOP, [(v["id"], 1) for v in tiles["variants"]])
    _deliver_and_settle(runtime, fake_shopify)
    for variant in tiles["variants"][:3]:
        _restock(fake_shopify, variant["id"], 1)

    connector = runtime.connector("shopify")
    batches = []
    read_inventory = connector.read_inventory

    def spy(shop, ids):
        batches.append(list(ids))
        return read_inventory(shop, ids)

    monkeypatch.setattr(connector, "read_inventory", spy)
    counts = refresh_stock(runtime, store["shop_id"])

    assert counts["errors"] == 0 and counts["variants_refreshed"] == many
    assert len(batches) > 1 and max(len(b) for b in batches) <= 100
    assert sorted(i for b in batches for i in b) == sorted(_legacy(v["id"]) for v in tiles["variants"])
    statuses = {}
    for _, _, status, _, _ in _backorders(runtime).values():
        statuses[status] = statuses.get(status, 0) + 1
    assert statuses == {"ready": 3, "open": many - 3}


def test_a_failing_batch_is_counted_and_the_next_run_catches_up(runtime, fake_shopify, store, monkeypatch):
    fake_shopify.place_order(SHOP, [(store["desk"], 3)])
    _deliver_and_settle(runtime, fake_shopify)
    _restock(fake_shopify, store["desk"], -fake_shopify.available(SHOP, store["desk"]))
    connector = runtime.connector("shopify")
    read_inventory = connector.read_inventory

    def unreachable(shop, ids):
        raise ConnectorError("Shopify call failed after 6 attempts (HTTP 503)")

    monkeypatch.setattr(connector, "read_inventory", unreachable)
    failed = refresh_stock(runtime, store["shop_id"])
    assert failed["errors"] == 1 and failed["variants_refreshed"] == 0
    assert {status for _, _, status, _, _ in _backorders(runtime).values()} == {"open"}

    monkeypatch.setattr(connector, "read_inventory", read_inventory)
    recovered = refresh_stock(runtime, store["shop_id"])
    assert recovered["errors"] == 0
    assert {status for _, _, status, _, _ in _backorders(runtime).values()} == {"ready"}


def test_one_failing_order_does_not_hold_back_the_others(runtime, fake_shopify, store, store_clock, monkeypatch):
    since = _since(store_clock)
    _miss_webhooks(fake_shopify)
    doomed = fake_shopify.place_order(SHOP, [(store["lamp"], 1)])
    fine = fake_shopify.place_order(SHOP, [(store["desk"], 3)])
    connector = runtime.connector("shopify")
    read_inventory = connector.read_inventory

    def flaky(shop, ids):
        if store["lamp"].rsplit("/", 1)[-1] in ids:
            raise ConnectorError("Shopify call failed after 6 attempts (HTTP 503)")
        return read_inventory(shop, ids)

    monkeypatch.setattr(connector, "read_inventory", flaky)
    counts = reconcile_shop(runtime, store["shop_id"], since=since)
    assert (counts["orders_seen"], counts["orders_processed"], counts["errors"]) == (2, 1, 1)
    assert set(_stored_orders(runtime)) == {_legacy(fine["id"])}

    monkeypatch.setattr(connector, "read_inventory", read_inventory)
    counts = reconcile_shop(runtime, store["shop_id"], since=since)
    assert counts["errors"] == 0
    assert _legacy(doomed["id"]) in _stored_orders(runtime)
