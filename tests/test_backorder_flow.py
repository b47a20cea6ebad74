"""The thin path end to end: signed webhook in -> backorder rows -> tag and ETAs written to the store."""
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from plugin.db.models import Backorder, Order, WebhookEvent
from tests.flow_helpers import drain, install_shop

SHOP = "flow-shop.myshopify.com"


@pytest.fixture
def store(app, runtime, fake_shopify):
    fake_shopify.create_shop(SHOP)
    desk = fake_shopify.add_product(SHOP, "Oak desk", variants=[
        {"sku": "DESK", "price": "499.00", "tracked": True, "policy": "CONTINUE", "available": 2}])
    rug = fake_shopify.add_product(SHOP, "Rug", variants=[
        {"sku": "RUG", "price": "99.00", "tracked": True, "policy": "DENY", "available": 5}])
    poster = fake_shopify.add_product(SHOP, "Poster", variants=[
        {"sku": "POSTER", "price": "9.00", "tracked": False, "policy": "CONTINUE", "available": 0}])
    install_shop(runtime, fake_shopify, SHOP)
    return {"desk": _variant_gid(desk), "rug": _variant_gid(rug), "poster": _variant_gid(poster)}


def _variant_gid(product):
    return product["variants"][0]["id"]


def _backorder_rows(runtime):
    with runtime.db.session() as s:
        return s.scalars(select(Backorder).order_by(Backorder.id)).all()


def _order_id(order):
    return order["id"].rsplit("/", 1)[-1]


def test_order_beyond_stock_is_backordered_tagged_and_given_an_eta(runtime, fake_shopify, store):
    order = fake_shopify.place_order(SHOP, [(store["desk"], 3)])
    drain(runtime)

    [backorder] = _backorder_rows(runtime)
    assert backorder.quantity == 1 and backorder.status == "open"
    placed = date.fromisoformat(order["createdAt"][:10])
    assert backorder.promised_eta == backorder.current_eta == placed + timedelta(days=14)

    in_store = fake_shopify.order(SHOP, order["id"])
    assert "backorder" in in_store["tags"]
    [metafield] = [m for m in in_store["metafields"] if m["key"] == "backorder_etas"]
    etas = json.loads(metafield["value"])
    assert [(e["sku"], e["quantity"], e["eta"]) for e in etas] == [("DESK", 1, backorder.current_eta.isoformat())]


def test_several_orders_for_one_variant_are_not_double_counted(runtime, fake_shopify, store):
    first = fake_shopify.place_order(SHOP, [(store["desk"], 3)])   # stock 2 -> 1 short
    second = fake_shopify.place_order(SHOP, [(store["desk"], 2)])  # -> 2 more short
    drain(runtime)
    by_order = {bo.line.order.platform_order_id: bo.quantity for bo in _loaded_backorders(runtime)}
    assert by_order == {_order_id(first): 1, _order_id(second): 2}
    assert sum(by_order.values()) == -fake_shopify.available(SHOP, store["desk"])


def test_orders_processed_out_of_order_still_add_up(runtime, fake_shopify, store):
    # Both orders exist in the store before either webhook is processed, and the newer one is
    # processed first: the first reading blames the known order, the second corrects it.
    fake_shopify.hold_webhooks = True
    first = fake_shopify.place_order(SHOP, [(store["desk"], 3)])
    second = fake_shopify.place_order(SHOP, [(store["desk"], 2)])
    fake_shopify.hold_webhooks = False
    fake_shopify.release_webhooks(reverse=True)
    drain(runtime)
    by_order = {bo.line.order.platform_order_id: (bo.quantity, bo.status) for bo in _loaded_backorders(runtime)}
    assert by_order == {_order_id(first): (1, "open"), _order_id(second): (2, "open")}


def test_redelivered_and_stale_webhooks_change_nothing(runtime, fake_shopify, store):
    order = fake_shopify.place_order(SHOP, [(store["desk"], 3)])
    drain(runtime)
    before = [(b.id, b.quantity, b.status, b.updated_at) for b in _backorder_rows(runtime)]
    calls_before = len(fake_shopify.calls)

    fake_shopify.redeliver(len(fake_shopify.deliveries) - 1)  # same event id: deduped at the door
    stale = fake_shopify.order_payload(SHOP, order["id"])
    stale["updated_at"] = "2020-01-01T00:00:00-05:00"
    stale["line_items"][0]["fulfillable_quantity"] = 0
    fake_shopify.deliver_webhook(SHOP, "orders/updated", stale)
    drain(runtime)

    assert [(b.id, b.quantity, b.status, b.updated_at) for b in _backorder_rows(runtime)] == before
    with runtime.db.session() as s:
        statuses = s.scalars(select(WebhookEvent.status)).all()
    assert sorted(statuses) == ["done", "done"]
    # The stale update did not even reach for the store's write mutations.
    writes = [c for c in fake_shopify.calls[calls_before:] if c["operation"] in ("OrderTagsAdd", "OrderMetafieldsSet")]
    assert writes == []


def test_a_repeated_event_after_a_crash_writes_nothing_new(runtime, fake_shopify, store):
    fake_shopify.place_order(SHOP, [(store["desk"], 3)])
    drain(runtime)
    # Same order again under a new event id, as if the worker had died before marking it done.
    payload = fake_shopify.deliveries[-1]
    fake_shopify.deliver_raw(payload["headers"] | {"X-Shopify-Event-Id": "replayed"}, payload["body"])
    calls_before = len(fake_shopify.calls)
    drain(runtime)
    assert len(_backorder_rows(runtime)) == 1
    writes = [c for c in fake_shopify.calls[calls_before:] if c["operation"] in ("OrderTagsAdd", "OrderMetafieldsSet")]
    assert writes == []


def test_variants_not_sold_beyond_stock_are_never_backordered(runtime, fake_shopify, store):
    order = fake_shopify.place_order(SHOP, [(store["rug"], 2), (store["poster"], 4)])
    drain(runtime)
    assert _backorder_rows(runtime) == []
    assert "backorder" not in fake_shopify.order(SHOP, order["id"])["tags"]


def test_cancelling_an_order_cancels_its_backorders_and_covers_later_ones(runtime, fake_shopify, store):
    first = fake_shopify.place_order(SHOP, [(store["desk"], 3)])   # 1 short
    second = fake_shopify.place_order(SHOP, [(store["desk"], 1)])  # 1 short
    drain(runtime)
    fake_shopify.cancel_order(SHOP, first["id"])  # restocks 3: available -2 + 3 = 1
    drain(runtime)
    by_order = {bo.line.order.platform_order_id: bo.status for bo in _loaded_backorders(runtime)}
    assert by_order == {_order_id(first): "cancelled", _order_id(second): "ready"}


def test_custom_tag_setting_is_used(runtime, fake_shopify, store):
    from plugin.db.models import Shop

    with runtime.db.session() as s:
        shop = s.scalars(select(Shop).where(Shop.domain == SHOP)).one()
        shop.settings = {"order_tag": "awaiting-stock"}
    order = fake_shopify.place_order(SHOP, [(store["desk"], 5)])
    drain(runtime)
    assert "awaiting-stock" in fake_shopify.order(SHOP, order["id"])["tags"]


def _loaded_backorders(runtime):
    from sqlalchemy.orm import selectinload

    from plugin.db.models import OrderLine

    with runtime.db.session() as s:
        return s.scalars(
            select(Backorder).options(selectinload(Backorder.line).selectinload(OrderLine.order))
        ).all()


def test_an_order_with_many_variants_reads_stock_within_shopifys_query_cost_limit(runtime, fake_shopify, store):
    product = fake_shopify.add_product(SHOP, "Tiles", variants=[
        {"sku": f"TILE-{i}", "price": "1.00", "tracked": True, "policy": "CONTINUE", "available": 0} for i in range(45)])
    order = fake_shopify.place_order(SHOP, [(v["id"], 1) for v in product["variants"]])
    drain(runtime)
    assert len([b for b in _backorder_rows(runtime) if b.status == "open"]) == 45
    reads = [c for c in fake_shopify.calls if c.operation == "VariantInventory"]
    assert len(reads) >= 2 and all(c.requested_cost <= 1000 and not c.throttled for c in reads)
    assert "backorder" in fake_shopify.order(SHOP, order["id"])["tags"]
