"""Refunding a backordered line in WooCommerce: through the gateway, or recorded as manual."""
from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.woocommerce.client import WooCommerceError
from tests.woocommerce_helpers import (  # noqa: F401 - fixtures
    connect, drain, shop_row, wc_app, wc_client, wc_fake, wc_runtime,
)


@pytest.fixture
def connected(wc_client, wc_fake, wc_runtime):
    connect(wc_client, wc_fake)
    return shop_row(wc_runtime)


def refund_of(runtime, shop, order, line_index=0, quantity=1, key="choice-1"):
    line_id = str(order["line_items"][line_index]["id"])
    return runtime.connector("woocommerce").refund_line(shop, str(order["id"]), line_id, quantity,
                                                        idempotency_key=key)


def test_the_gateway_refunds_the_line_and_the_oversold_unit_is_released(wc_fake, connected, wc_runtime):
    desk = wc_fake.add_product("Oak desk", sku="DESK-OAK", price="100.00", stock=1, backorders="notify")
    rug = wc_fake.add_product("Rug", sku="RUG", price="40.00", stock=10)
    order = wc_fake.place_order([(desk["id"], 2), (rug["id"], 1)], payment_method="stripe")
    assert wc_fake.product(desk["id"])["stock_quantity"] == -1
    reference = refund_of(wc_runtime, connected, order)
    assert not reference.startswith("manual:")
    refunds = wc_fake.order_refunds(order["id"])
    assert len(refunds) == 1 and refunds[0]["refunded_payment"] is True
    assert Decimal(refunds[0]["amount"]) == Decimal("100.00")
    assert "ref choice-1" in refunds[0]["reason"]
    assert len(wc_fake.gateway_refunds("stripe")) == 1
    # One unit of the line, and the unit that was never on the shelf is no longer owed: -1 -> 0.
    assert wc_fake.product(desk["id"])["stock_quantity"] == 0
    # The same key again answers the same refund and refunds nothing more.
    assert refund_of(wc_runtime, connected, order) == reference
    assert len(wc_fake.order_refunds(order["id"])) == 1 and len(wc_fake.gateway_refunds("stripe")) == 1


def test_a_gateway_that_cannot_refund_gets_a_manual_refund_the_merchant_is_told_about(wc_fake, connected, wc_runtime):
    desk = wc_fake.add_product("Oak desk", sku="DESK-OAK", price="100.00", stock=0, backorders="notify")
    order = wc_fake.place_order([(desk["id"], 1)], payment_method="bacs")
    reference = refund_of(wc_runtime, connected, order, key="choice-2")
    assert reference.startswith("manual:")
    refunds = wc_fake.order_refunds(order["id"])
    assert len(refunds) == 1 and refunds[0]["refunded_payment"] is False
    assert reference == f"manual:{refunds[0]['id']}"
    notes = [n for n in wc_fake.order_notes(order["id"]) if "manual refund" in n["note"]]
    assert len(notes) == 1 and not notes[0]["customer_note"]
    assert "pay the customer back yourself" in notes[0]["note"]
    # Asked again (a retry after a crash): the same manual refund, no second note.
    assert refund_of(wc_runtime, connected, order, key="choice-2") == reference
    assert len(wc_fake.order_refunds(order["id"])) == 1
    assert len([n for n in wc_fake.order_notes(order["id"]) if "manual refund" in n["note"]]) == 1


def test_a_failing_gateway_also_falls_back_to_manual(wc_fake, connected, wc_runtime):
    wc_fake.set_gateway("stripe", supports_refunds=True, fail_message="Card issuer declined the refund")
    desk = wc_fake.add_product("Oak desk", sku="DESK-OAK", price="50.00", stock=0, backorders="notify")
    order = wc_fake.place_order([(desk["id"], 1)], payment_method="stripe")
    assert refund_of(wc_runtime, connected, order, key="k3").startswith("manual:")
    note = next(n for n in wc_fake.order_notes(order["id"]) if "manual refund" in n["note"])
    assert "declined" in note["note"]


def test_more_units_than_are_left_are_refused_and_not_retried(wc_fake, connected, wc_runtime):
    desk = wc_fake.add_product("Oak desk", sku="DESK-OAK", price="50.00", stock=0, backorders="notify")
    order = wc_fake.place_order([(desk["id"], 1)], payment_method="stripe")
    refund_of(wc_runtime, connected, order, key="first")
    with pytest.raises(WooCommerceError) as caught:
        refund_of(wc_runtime, connected, order, key="second")
    assert not caught.value.retryable
    with pytest.raises(WooCommerceError) as caught:
        wc_runtime.connector("woocommerce").refund_line(connected, "999999", "1", 1, idempotency_key="x")
    assert not caught.value.retryable


def test_the_last_line_left_to_ship_takes_the_shipping_with_it(wc_fake, connected, wc_runtime):
    desk = wc_fake.add_product("Oak desk", sku="DESK-OAK", price="100.00", stock=0, backorders="notify")
    order = wc_fake.place_order([(desk["id"], 1)], payment_method="stripe")
    shipping = sum(Decimal(s["total"]) + Decimal(s["total_tax"]) for s in wc_fake.order(order["id"])["shipping_lines"])
    refund_of(wc_runtime, connected, order, key="all")
    refund = wc_fake.order_refunds(order["id"])[0]
    assert Decimal(refund["amount"]) == Decimal("100.00") + shipping


def test_the_customer_choice_refunds_through_the_connector(wc_fake, connected, wc_runtime):
    """The keep-or-refund service stores the reference; a manual one says so."""
    from sqlalchemy import select

    from plugin.choices.services import REFUNDING, run_refund
    from plugin.db.models import Backorder, CustomerChoice

    desk = wc_fake.add_product("Oak desk", sku="DESK-OAK", price="100.00", stock=0, backorders="notify")
    wc_fake.place_order([(desk["id"], 1)], payment_method="cod")
    drain(wc_runtime)
    with wc_runtime.db.shop_session(connected.id) as session:
        backorder = session.scalars(select(Backorder)).one()
        choice = CustomerChoice(backorder_id=backorder.id, choice="refund", status=REFUNDING,
                                promise_version=backorder.promise_version, token_id="jti-1")
        session.add(choice)
        session.flush()
        choice_id = choice.id
    assert run_refund(wc_runtime, connected.id, choice_id) == "refunded"
    with wc_runtime.db.shop_session(connected.id) as session:
        stored = session.get(CustomerChoice, choice_id)
        assert stored.refund_reference.startswith("manual:")
        assert session.scalars(select(Backorder)).one().status == "refunded"
