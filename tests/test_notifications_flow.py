"""Messages enter the outbox in the same transaction as what caused them: an order, a slip, a shipment."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from plugin.db.models import Notification, Shop
from tests.flow_helpers import drain, install_shop

SHOP = "messages.myshopify.com"


@pytest.fixture
def store(app, runtime, fake_shopify):
    fake_shopify.create_shop(SHOP)
    desk = fake_shopify.add_product(SHOP, "Oak desk", variants=[
        {"sku": "DESK", "price": "499.00", "tracked": True, "policy": "CONTINUE", "available": 1}])
    install_shop(runtime, fake_shopify, SHOP)
    with runtime.db.session() as session:
        shop_id = session.scalars(select(Shop.id).where(Shop.domain == SHOP)).one()
    return shop_id, desk["variants"][0]["id"]


def outbox(runtime, shop_id) -> list[Notification]:
    with runtime.db.shop_session(shop_id) as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


def test_a_backordered_order_is_confirmed_once(runtime, fake_shopify, store):
    shop_id, desk = store
    order = fake_shopify.place_order(SHOP, [(desk, 3)], email="ola@example.com")
    drain(runtime)
    [message] = outbox(runtime, shop_id)
    assert (message.kind, message.recipient, message.status) == ("confirmation", "ola@example.com", "pending")
    assert order["name"] in message.subject or order["name"] in message.body_text
    assert "ola@example.com" not in message.idempotency_key
    # The tag write brings orders/updated; redelivery and updates add no second confirmation.
    fake_shopify.redeliver(len(fake_shopify.deliveries) - 1)
    fake_shopify.update_order(SHOP, order["id"], note="gift wrap")
    drain(runtime)
    assert [m.kind for m in outbox(runtime, shop_id)] == ["confirmation"]


def test_an_order_within_stock_gets_no_backorder_email(runtime, fake_shopify, store):
    shop_id, desk = store
    fake_shopify.place_order(SHOP, [(desk, 1)])
    drain(runtime)
    assert outbox(runtime, shop_id) == []
