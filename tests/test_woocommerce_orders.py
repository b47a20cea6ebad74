"""WooCommerce orders in the app's order model, and the native "Backordered" meta found by shape."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from connectors.woocommerce.orders import native_backordered_units, variation_parents, woo_order
from connectors.woocommerce.webhooks import dedupe_key, is_ping, normalise_topic, signature, verify
from plugin.backorders.payloads import PayloadError


def order_payload(status="processing", **extra):
    payload = {
        "id": 727, "number": "727", "status": status, "currency": "EUR", "date_created": "2026-12-01T11:00:00",
        "date_created_gmt": "2026-12-01T10:00:00", "date_modified": "2026-12-01T11:05:00",
        "date_modified_gmt": "2026-12-01T10:05:00",
        "billing": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
        "meta_data": [{"id": 1, "key": "wpml_language", "value": "pl"}],
        "line_items": [
            {"id": 11, "name": "Oak desk", "product_id": 50, "variation_id": 0, "quantity": 3, "sku": "DESK-OAK",
             "subtotal": "300.00", "total": "270.00",
             "meta_data": [{"id": 5, "key": "Nachbestellt", "value": "1", "display_key": "Nachbestellt",
                            "display_value": "<p>1</p>"}]},
            {"id": 12, "name": "Linen lamp - Small", "product_id": 60, "variation_id": 61, "quantity": 1,
             "sku": "LAMP-LINEN-S", "parent_name": "Linen lamp",
             "meta_data": [{"id": 6, "key": "pa_size", "value": "1", "display_key": "Size", "display_value": "1"}]},
        ],
    }
    payload.update(extra)
    return payload


def test_a_processing_order_is_open_with_gmt_times_and_variant_ids():
    order = woo_order(order_payload())
    assert order.id == 727 and order.name == "#727" and order.email == "ada@example.com"
    assert order.created_at == datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
    assert order.updated_at == datetime(2026, 12, 1, 10, 5, tzinfo=timezone.utc)
    assert order.cancelled_at is None and order.customer_locale == "pl" and order.customer_name == "Ada Lovelace"
    assert order.currency == "EUR"
    desk, lamp = order.line_items
    assert (desk.variant_id, desk.product_id, desk.open_quantity) == (50, 50, 3)
    assert desk.price == 100 and lamp.price is None
    assert (lamp.variant_id, lamp.product_id, lamp.open_quantity) == (61, 60, 1)
    assert variation_parents(order_payload()) == {"61": "60"}


@pytest.mark.parametrize("status, open_units, cancelled", [
    ("on-hold", 3, False), ("pending", 0, False), ("failed", 0, False), ("completed", 0, False),
    ("cancelled", 3, True), ("refunded", 3, True), ("trash", 3, True), ("some-plugin-status", 3, False),
])
def test_status_decides_what_is_still_owed(status, open_units, cancelled):
    order = woo_order(order_payload(status))
    assert order.line_items[0].open_quantity == open_units or cancelled
    assert (order.cancelled_at is not None) == cancelled


def test_pending_lines_count_as_taken_off_not_shipped():
    line = woo_order(order_payload("pending")).line_items[0]
    assert line.current_quantity == 0  # a backorder on it is cancelled, never reported shipped


def test_unreadable_payloads_are_not_retryable():
    with pytest.raises(PayloadError):
        woo_order({"id": 1})
    with pytest.raises(PayloadError):
        woo_order({"status": "processing"})


def test_native_backordered_meta_is_found_whatever_its_language():
    desk, lamp = order_payload()["line_items"]
    assert native_backordered_units(desk) == 1
    assert native_backordered_units(lamp) is None  # a numeric attribute has its own display label
    english = {**desk, "meta_data": [{"key": "Backordered", "value": "2", "display_key": "Backordered"}]}
    assert native_backordered_units(english) == 2
    too_many = {**desk, "meta_data": [{"key": "Zamówione", "value": "9", "display_key": "Zamówione"}]}
    assert native_backordered_units(too_many) is None  # more than the line's quantity: not that meta
    hidden = {**desk, "meta_data": [{"key": "_reduced_stock", "value": "3"}]}
    assert native_backordered_units(hidden) is None


def test_topics_are_normalised_and_pings_recognised():
    assert normalise_topic("order.created") == "orders/create"
    assert normalise_topic("order.updated") == "orders/updated"
    assert normalise_topic("product.updated") == "products/update"
    assert normalise_topic("coupon.updated") == "coupons/updated"
    assert is_ping({"Content-Type": "application/x-www-form-urlencoded"}, b"webhook_id=17")
    assert not is_ping({"X-WC-Webhook-Signature": "x"}, b"webhook_id=17")
    assert not is_ping({}, b'{"id": 1}')


def test_signature_is_checked_against_the_sources_shop_secret():
    body = b'{"id":727}'
    secrets = {"shop.example.test": "s3cret"}
    headers = {"X-WC-Webhook-Source": "https://shop.example.test/", "X-WC-Webhook-Signature": signature("s3cret", body)}
    assert verify(headers, body, secrets.get)
    assert not verify({**headers, "X-WC-Webhook-Signature": signature("other", body)}, body, secrets.get)
    assert not verify({**headers, "X-WC-Webhook-Source": "https://elsewhere.test/"}, body, secrets.get)
    assert not verify({"X-WC-Webhook-Source": "https://shop.example.test/"}, body, secrets.get)


def test_dedupe_key_is_webhook_resource_and_date_modified():
    headers = {"X-WC-Webhook-ID": "4", "X-WC-Webhook-Delivery-ID": "abc"}
    body = b'{"id": 727, "date_modified_gmt": "2026-12-01T10:05:00"}'
    assert dedupe_key(headers, body).startswith("wc:4:727:2026-12-01T10:05:00:")
    assert dedupe_key({**headers, "X-WC-Webhook-Delivery-ID": "other"}, body) == dedupe_key(headers, body)
    # Another state within the same second (date_modified has whole seconds) is another event.
    changed = b'{"id": 727, "date_modified_gmt": "2026-12-01T10:05:00", "status": "cancelled"}'
    assert dedupe_key(headers, changed) != dedupe_key(headers, body)
    assert dedupe_key(headers, b'{"id": 727}').startswith("wc:4:727:delivery:abc:")


@pytest.mark.parametrize("locale", ["en_US", "pl_PL", "de_DE"])
def test_the_dev_stores_backordered_meta_is_found_in_its_language(locale):
    from connectors.woocommerce.devstore import FakeWooCommerce

    fake = FakeWooCommerce("https://shop.example.test", locale=locale)
    desk = fake.add_product("Oak desk", sku="DESK-OAK", stock=1, backorders="notify")
    anyway = fake.add_product("Rug", sku="RUG", stock=0, backorders="yes")  # "yes": no meta at all
    order = fake.place_order([(desk["id"], 3), (anyway["id"], 1)])
    desk_line, rug_line = order["line_items"]
    assert native_backordered_units(desk_line) == 2
    assert native_backordered_units(rug_line) is None
