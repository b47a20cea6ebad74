"""Webhooks of the dev store: Shopify's exemplar payloads, Shopify's signature and headers."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import shopify_app

from connectors.shopify.devstore import FakeShopify, default_data_dir
from connectors.shopify.devstore.data import webhook_template

KEY = "devstore-test-key"
SECRET = "devstore-test-secret-0123456789abcdef"
SHOP = "oak-and-linen.myshopify.com"


@pytest.fixture
def world():
    received: list[tuple[str, dict, bytes]] = []

    def deliver(url, headers, body):
        received.append((url, headers, body))
        return 200

    fake = FakeShopify(KEY, SECRET, deliver=deliver)
    fake.create_shop(SHOP)
    lamp = fake.add_product(SHOP, "Linen lamp", [{"sku": "LAMP-S", "title": "Small", "price": "79.00",
                                                  "policy": "CONTINUE", "available": 1}])
    fake.issue_access_token(SHOP)
    return fake, lamp["variants"][0]["id"], received


def test_signature_is_shopifys_hmac(world):
    fake, lamp, received = world
    fake.place_order(SHOP, [(lamp, 2)])
    url, headers, body = received[-1]
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert headers["X-Shopify-Hmac-Sha256"] == expected
    request = {"method": "POST", "headers": headers, "url": url, "body": body.decode("utf-8")}
    assert shopify_app.ShopifyApp(KEY, SECRET).verify_webhook_req(request).ok
    assert not shopify_app.ShopifyApp(KEY, "another-secret-0123456789abcdef012").verify_webhook_req(request).ok


def test_headers_are_shopifys(world):
    fake, lamp, received = world
    fake.place_order(SHOP, [(lamp, 1)])
    url, headers, _ = received[-1]
    assert url.endswith("/webhooks/shopify")
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Shopify-Topic"] == "orders/create"
    assert headers["X-Shopify-Shop-Domain"] == SHOP
    assert headers["X-Shopify-API-Version"] == "2026-07"
    uuid.UUID(headers["X-Shopify-Webhook-Id"])
    uuid.UUID(headers["X-Shopify-Event-Id"])
    assert headers["X-Shopify-Triggered-At"].endswith("Z")


def test_order_payload_is_the_exemplar_filled_with_the_order(world):
    fake, lamp, received = world
    order = fake.place_order(SHOP, [(lamp, 2)], email="ann@example.com", locale="fr", customer_name="Ann Lee")
    payload = json.loads(received[-1][2])
    exemplar = webhook_template(default_data_dir(), "2026-07", "orders/create")
    assert set(payload) == set(exemplar)  # every key Shopify sends, nothing invented
    assert set(payload["line_items"][0]) == set(exemplar["line_items"][0])
    assert payload["id"] == int(order["legacyResourceId"]) and payload["admin_graphql_api_id"] == order["id"]
    assert (payload["name"], payload["email"], payload["customer_locale"]) == ("#1001", "ann@example.com", "fr")
    assert payload["total_price"] == "158.00" and payload["currency"] == "USD"
    [line] = payload["line_items"]
    assert (line["sku"], line["quantity"], line["price"]) == ("LAMP-S", 2, "79.00")
    assert line["variant_id"] == int(lamp.rsplit("/", 1)[1])
    assert line["name"] == "Linen lamp - Small" and line["variant_inventory_management"] == "shopify"
    assert payload["customer"]["email"] == "ann@example.com" and payload["customer"]["first_name"] == "Ann"


def test_redelivery_is_the_same_event_under_a_new_webhook_id(world):
    fake, lamp, received = world
    fake.place_order(SHOP, [(lamp, 1)])
    first = fake.deliveries[-1]
    assert fake.redeliver(first.index) == 200
    again = fake.deliveries[-1]
    assert again.body == first.body == received[-1][2]
    assert again.event_id == first.event_id and again.headers["X-Shopify-Event-Id"] == first.event_id
    assert again.webhook_id != first.webhook_id
    assert again.headers["X-Shopify-Triggered-At"] == first.headers["X-Shopify-Triggered-At"]


def test_cancel_restocks_and_notifies(world):
    fake, lamp, received = world
    order = fake.place_order(SHOP, [(lamp, 3)])
    assert fake.available(SHOP, lamp) == -2
    fake.cancel_order(SHOP, order["id"])
    assert fake.available(SHOP, lamp) == 1
    assert [h["X-Shopify-Topic"] for _, h, _ in received[-2:]] == ["orders/cancelled", "orders/updated"]
    payload = json.loads(received[-2][2])
    assert payload["cancel_reason"] == "customer" and payload["cancelled_at"]
    assert payload["line_items"][0]["current_quantity"] == 0


def test_uninstall_notifies_then_silences_the_shop(world):
    fake, lamp, received = world
    assert fake.uninstall(SHOP) == 200
    url, headers, body = received[-1]
    payload = json.loads(body)
    assert headers["X-Shopify-Topic"] == "app/uninstalled"
    assert set(payload) == set(webhook_template(default_data_dir(), "2026-07", "app/uninstalled"))
    assert payload["myshopify_domain"] == SHOP and payload["domain"] == SHOP
    count = len(received)
    order = fake.place_order(SHOP, [(lamp, 1)])
    assert order["webhookStatus"] == 0 and len(received) == count  # an uninstalled app hears nothing
    assert fake.deliveries[-1].error.startswith("app not installed")


def test_compliance_topics(world):
    fake, lamp, received = world
    order = fake.place_order(SHOP, [(lamp, 1)], email="ann@example.com")
    fake.redact_customer(SHOP, "ann@example.com")
    payload = json.loads(received[-1][2])
    assert received[-1][1]["X-Shopify-Topic"] == "customers/redact"
    assert payload["shop_domain"] == SHOP and payload["customer"]["email"] == "ann@example.com"
    assert payload["orders_to_redact"] == [int(order["legacyResourceId"])]


def test_webhook_url_gets_a_real_http_post():
    seen = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            seen["path"] = self.path
            seen["headers"] = dict(self.headers)
            seen["body"] = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        fake = FakeShopify(KEY, SECRET, webhook_url=f"http://127.0.0.1:{server.server_port}/webhooks/shopify")
        status = fake.deliver_webhook("any-shop.myshopify.com", "orders/create", {"id": 1, "note": "ünïcode"})
        thread.join(timeout=5)
    finally:
        server.server_close()
    assert status == 202 and seen["path"] == "/webhooks/shopify"
    assert seen["body"] == '{"id":1,"note":"ünïcode"}'.encode()
    expected = base64.b64encode(hmac.new(SECRET.encode(), seen["body"], hashlib.sha256).digest()).decode()
    assert seen["headers"]["X-Shopify-Hmac-Sha256"] == expected


def test_held_events_can_arrive_out_of_order(world):
    fake, lamp, received = world
    count = len(received)
    fake.hold_webhooks = True
    first = fake.place_order(SHOP, [(lamp, 1)])
    second = fake.place_order(SHOP, [(lamp, 1)])
    assert len(received) == count and first["webhookStatus"] == 0
    fake.hold_webhooks = False
    assert fake.release_webhooks(reverse=True) == [200, 200]
    assert [json.loads(body)["admin_graphql_api_id"] for _, _, body in received[count:]] == [second["id"], first["id"]]


def test_deliver_raw_sends_doctored_headers_verbatim(world):
    fake, lamp, received = world
    fake.place_order(SHOP, [(lamp, 1)])
    original = fake.deliveries[-1]
    assert fake.deliver_raw(original["headers"] | {"X-Shopify-Event-Id": "replayed"}, original["body"]) == 200
    url, headers, body = received[-1]
    assert headers["X-Shopify-Event-Id"] == "replayed" and body == original.body
    assert headers["X-Shopify-Hmac-Sha256"] == original.headers["X-Shopify-Hmac-Sha256"]


def test_order_payload_reflects_the_order_now(world):
    fake, lamp, _ = world
    order = fake.place_order(SHOP, [(lamp, 1)])
    fake.update_order(SHOP, order["id"], tags=["vip"])
    payload = fake.order_payload(SHOP, order["id"])
    assert payload["tags"] == "vip" and payload["id"] == int(order["legacyResourceId"])
