"""The WooCommerce dev store: auth, REST shapes and headers, stock, /wc-auth, webhooks, refunds.

The client in these tests is the `woocommerce` package's API class, the one the connector uses;
its requests reach the fake through `fake.routes_requests()`.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import requests

from connectors.woocommerce.devstore import FakeWooCommerce, StoreError, WcAuthError
from connectors.woocommerce.devstore.auth import oauth_signature, string_to_sign

SITE = "https://shop.example.com"
APP = "https://app.example.com"


class Receiver:
    """The app's side of outgoing HTTP: records every POST, answers `status` (or a list of them)."""

    def __init__(self):
        self.calls: list[tuple[str, dict, bytes]] = []
        self.statuses: list[int] = []
        self.default = 200

    def __call__(self, url, headers, body):
        self.calls.append((url, headers, body))
        return self.statuses.pop(0) if self.statuses else self.default


@pytest.fixture
def receiver():
    return Receiver()


@pytest.fixture
def fake(receiver):
    store = FakeWooCommerce(SITE, deliver=receiver)
    with store.routes_requests():
        yield store


@pytest.fixture
def key(fake):
    return fake.create_key("read_write")


@pytest.fixture
def api(fake, key):
    return fake.api(key["consumer_key"], key["consumer_secret"])


# -- authentication ----------------------------------------------------------------------------
def test_https_basic_auth_and_query_string_keys(fake, key, api):
    fake.add_product("Linen lamp", sku="LAMP-S", stock=2)
    response = api.get("products")
    assert response.status_code == 200
    assert [p["sku"] for p in response.json()] == ["LAMP-S"]
    assert fake.requests[-1].auth_method == "basic_auth" and fake.requests[-1].key_id == key["key_id"]
    query_auth = fake.api(key["consumer_key"], key["consumer_secret"], query_string_auth=True)
    assert query_auth.get("products").status_code == 200


def test_http_uses_oauth1_signed_by_the_woocommerce_package(fake, key):
    fake.add_product("Linen lamp", sku="LAMP-S", stock=2)
    api = fake.api(key["consumer_key"], key["consumer_secret"], https=False)
    response = api.get("products", params={"per_page": 5, "orderby": "id", "order": "asc"})
    assert response.status_code == 200, response.text
    assert fake.requests[-1].auth_method == "oauth1" and fake.requests[-1].scheme == "http"
    created = api.post("products", {"name": "Oak desk", "sku": "DESK-OAK", "manage_stock": True, "stock_quantity": 2})
    assert created.status_code == 201, created.text


def test_oauth1_hmac_sha1_and_replayed_nonce(fake, key):
    params = {"oauth_consumer_key": key["consumer_key"], "oauth_timestamp": str(int(time.time())),
              "oauth_nonce": "abc123", "oauth_signature_method": "HMAC-SHA1"}
    text = string_to_sign("GET", "http://shop.example.com/wp-json/wc/v3/products", params)
    params["oauth_signature"] = oauth_signature(key["consumer_secret"], text, "HMAC-SHA1")
    first = requests.get("http://shop.example.com/wp-json/wc/v3/products", params=params)
    assert first.status_code == 200, first.text
    again = requests.get("http://shop.example.com/wp-json/wc/v3/products", params=params)
    assert again.status_code == 401
    assert again.json()["message"] == "Invalid nonce - nonce has already been used."


def test_wrong_secret_is_401_over_https_and_http(fake, key):
    https = fake.api(key["consumer_key"], "cs_wrong").get("products")
    assert https.status_code == 401
    assert https.json() == {"code": "woocommerce_rest_authentication_error", "message": "Consumer secret is invalid.",
                            "data": {"status": 401}}
    http = fake.api(key["consumer_key"], "cs_wrong", https=False).get("products")
    assert http.status_code == 401
    assert http.json()["message"] == "Invalid signature - provided signature does not match."
    unknown = fake.api("ck_unknown", "cs_unknown", https=False).get("products")
    assert unknown.json()["message"] == "Consumer key is invalid."


def test_basic_auth_over_http_or_an_unknown_key_is_anonymous(fake, key):
    plain = requests.get("http://shop.example.com/wp-json/wc/v3/orders", auth=(key["consumer_key"], key["consumer_secret"]))
    assert plain.status_code == 401 and plain.json()["code"] == "woocommerce_rest_cannot_view"
    unknown = fake.api("ck_nobody", "cs_nobody").get("orders")
    assert unknown.json() == {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.",
                              "data": {"status": 401}}


def test_key_permissions(fake):
    read = fake.create_key("read")
    api = fake.api(read["consumer_key"], read["consumer_secret"])
    assert api.get("products").status_code == 200
    denied = api.post("products", {"name": "Nope"})
    assert denied.status_code == 401
    assert denied.json()["message"] == "The API key provided does not have write permissions."
    write = fake.create_key("write")
    assert fake.api(write["consumer_key"], write["consumer_secret"]).get("orders").json()["message"] == \
        "The API key provided does not have read permissions."


# -- REST shapes, errors, pagination -------------------------------------------------------------
def test_pagination_headers_as_wordpress_sends_them(fake, api):
    for number in range(25):
        fake.add_product(f"Rug {number}", sku=f"RUG-{number}", stock=5)
    response = api.get("products", params={"per_page": 10, "page": 2})
    assert response.headers["X-WP-Total"] == "25" and response.headers["X-WP-TotalPages"] == "3"
    links = requests.utils.parse_header_links(response.headers["Link"])
    by_rel = {link["rel"]: link["url"] for link in links}
    assert by_rel["prev"] == f"{SITE}/wp-json/wc/v3/products?per_page=10&page=1"
    assert by_rel["next"] == f"{SITE}/wp-json/wc/v3/products?per_page=10&page=3"
    assert len(response.json()) == 10
    last = api.get("products", params={"per_page": 10, "page": 3})
    assert 'rel="next"' not in last.headers["Link"] and len(last.json()) == 5
    beyond = api.get("products", params={"per_page": 10, "page": 9})
    assert beyond.status_code == 200 and beyond.json() == []


def test_per_page_over_100_is_rest_invalid_param(api):
    response = api.get("products", params={"per_page": 101})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "rest_invalid_param" and body["message"] == "Invalid parameter(s): per_page"
    assert body["data"]["params"]["per_page"] == "per_page must be between 1 (inclusive) and 100 (inclusive)"
    assert api.get("orders", params={"orderby": "price"}).json()["data"]["params"]["orderby"] == \
        "orderby is not one of date, id, include, title, slug, and modified."


def test_invalid_ids_and_unknown_routes(api):
    product = api.get("products/999")
    assert product.status_code == 404 and product.json()["code"] == "woocommerce_rest_product_invalid_id"
    order = api.get("orders/999")
    assert order.status_code == 404 and order.json()["code"] == "woocommerce_rest_shop_order_invalid_id"
    update = api.put("orders/999", {"status": "completed"})
    assert update.status_code == 400 and update.json()["message"] == "Invalid ID."
    assert api.get("nothing-here").json()["code"] == "rest_no_route"


def test_batch_limit_is_100_items(fake, api):
    too_many = api.post("products/batch", {"create": [{"name": f"P{i}"} for i in range(60)],
                                          "update": [{"id": 1, "name": "x"} for _ in range(41)]})
    assert too_many.status_code == 413
    assert too_many.json() == {"code": "woocommerce_rest_request_entity_too_large",
                               "message": "Unable to accept more than 100 items for this request.",
                               "data": {"status": 413}}
    ok = api.post("products/batch", {"create": [{"name": f"P{i}", "sku": f"P{i}"} for i in range(100)]})
    assert ok.status_code == 200 and len(ok.json()["create"]) == 100
    lamp = fake.add_product("Linen lamp", sku="LAMP-S", stock=1)
    mixed = api.post("products/batch", {"update": [{"id": lamp["id"], "stock_quantity": 7}, {"id": 424242}]}).json()
    assert mixed["update"][0]["stock_quantity"] == 7
    assert mixed["update"][1] == {"id": 424242, "error": {"code": "woocommerce_rest_product_invalid_id",
                                                         "message": "Invalid ID.", "data": {"status": 400}}}


def test_variations_and_parent_managed_stock(fake, api):
    lamp = fake.add_product("Linen lamp", variations=[
        {"sku": "LAMP-S", "price": "79.00", "stock": 0, "backorders": "notify", "attributes": {"Size": "Small"}},
        {"sku": "LAMP-L", "price": "99.00", "stock": 4, "attributes": {"Size": "Large"}}])
    assert lamp["type"] == "variable" and len(lamp["variations"]) == 2
    variations = api.get(f"products/{lamp['id']}/variations").json()
    small = next(v for v in variations if v["sku"] == "LAMP-S")
    assert small["stock_status"] == "onbackorder" and small["backorders_allowed"] is True
    assert small["attributes"] == [{"id": 0, "name": "Size", "slug": "size", "option": "Small"}]
    shared = fake.add_product("Wool rug", stock=3, variations=[{"sku": "RUG-S", "attributes": {"Size": "S"}}])
    rug = api.get(f"products/{shared['id']}/variations").json()[0]
    assert rug["manage_stock"] == "parent" and rug["stock_quantity"] == 3


# -- stock and orders --------------------------------------------------------------------------
def test_checkout_beyond_stock_goes_negative_with_the_backordered_meta(fake, api):
    lamp = fake.add_product("Linen lamp", sku="LAMP-S", price="79.00", stock=1, backorders="notify")
    order = fake.place_order([(lamp["id"], 3)])
    line = order["line_items"][0]
    backordered = next(m for m in line["meta_data"] if m["key"] == "Backordered")
    assert backordered["value"] == "2" and backordered["display_key"] == "Backordered"
    product = api.get(f"products/{lamp['id']}").json()
    assert (product["stock_quantity"], product["stock_status"], product["backordered"]) == (-2, "onbackorder", True)
    assert any(n["note"] == "Stock levels reduced: Linen lamp (LAMP-S) 1&rarr;-2" for n in fake.order_notes(order["id"]))
    # backorders "yes": sold beyond stock too, but WooCommerce adds no meta for it
    quiet = fake.add_product("Oak desk", sku="DESK", stock=0, backorders="yes")
    silent = fake.place_order([(quiet["id"], 1)])
    assert not any(m["key"] == "Backordered" for m in silent["line_items"][0]["meta_data"])
    assert fake.product(quiet["id"])["stock_quantity"] == -1
    with pytest.raises(StoreError):
        fake.place_order([(fake.add_product("Rug", sku="RUG", stock=1)["id"], 2)])


def test_backordered_meta_key_is_translated():
    store = FakeWooCommerce(SITE, locale="pl_PL")
    lamp = store.add_product("Lampa lniana", sku="LAMP-S", stock=0, backorders="notify")
    order = store.place_order([(lamp["id"], 2)])
    assert store.line_meta(order["id"], 0)["Zamówione"] == "2"


def test_rest_orders_never_check_stock_nor_add_the_meta(fake, api):
    lamp = fake.add_product("Linen lamp", sku="LAMP-S", stock=1, backorders="no")
    response = api.post("orders", {"status": "processing", "line_items": [{"product_id": lamp["id"], "quantity": 2}]})
    assert response.status_code == 201, response.text
    assert response.json()["created_via"] == "rest-api"
    assert [m["key"] for m in response.json()["line_items"][0]["meta_data"]] == ["_reduced_stock"]
    assert fake.product(lamp["id"])["stock_quantity"] == -1 and fake.product(lamp["id"])["stock_status"] == "outofstock"


def test_cancel_restores_stock_and_restock(fake):
    lamp = fake.add_product("Linen lamp", sku="LAMP-S", stock=1, backorders="notify")
    order = fake.place_order([(lamp["id"], 3)])
    fake.cancel_order(order["id"])
    assert fake.product(lamp["id"])["stock_quantity"] == 1
    assert "_reduced_stock" not in fake.line_meta(order["id"], 0)
    assert fake.restock(lamp["id"], 5)["stock_quantity"] == 6


def test_modified_after_filter_is_strict_to_the_second(receiver):
    clock = [datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)]
    store = FakeWooCommerce(SITE, deliver=receiver, now=lambda: clock[0])
    key = store.create_key()
    lamp = store.add_product("Linen lamp", sku="LAMP-S", stock=10)
    early = store.place_order([(lamp["id"], 1)])
    clock[0] += timedelta(minutes=5)
    late = store.place_order([(lamp["id"], 1)])
    with store.routes_requests():
        api = store.api(key["consumer_key"], key["consumer_secret"])
        found = api.get("orders", params={"modified_after": "2026-03-01T12:00:00"}).json()
        assert [o["id"] for o in found] == [late["id"]]
        clock[0] += timedelta(minutes=5)
        api.put(f"orders/{early['id']}", {"meta_data": [{"key": "_backorder_eta", "value": "2026-04-01"}]})
        found = api.get("orders", params={"modified_after": "2026-03-01T12:05:00Z", "orderby": "modified"}).json()
        assert [o["id"] for o in found] == [early["id"]]
        assert found[0]["date_modified_gmt"] == "2026-03-01T12:10:00"
        assert store.order_meta(early["id"])["_backorder_eta"] == "2026-04-01"
        bad = api.get("orders", params={"modified_after": "2026-03-01"})
        assert bad.status_code == 400 and bad.json()["data"]["params"]["modified_after"] == "Invalid date."


def test_notes_do_not_touch_the_order(fake, api):
    lamp = fake.add_product("Linen lamp", sku="LAMP-S", stock=5)
    order = fake.place_order([(lamp["id"], 1)], email="ada@example.com")
    before = fake.order(order["id"])["date_modified"]
    note = api.post(f"orders/{order['id']}/notes", {"note": "Ships around 3 April", "customer_note": True})
    assert note.status_code == 201 and note.json()["customer_note"] is True and note.json()["author"] == "system"
    assert fake.order(order["id"])["date_modified"] == before
    assert fake.emails[-1] == {"type": "customer_note", "to": "ada@example.com", "order_id": order["id"],
                               "note": "Ships around 3 April"}
    assert api.get(f"orders/{order['id']}/notes").json()[0]["note"] == "Ships around 3 April"


# -- refunds -----------------------------------------------------------------------------------
def test_refund_through_the_gateway_and_manual(fake, api):
    lamp = fake.add_product("Linen lamp", sku="LAMP-S", price="50.00", stock=0, backorders="notify")
    order = fake.place_order([(lamp["id"], 2)], payment_method="stripe")
    line_id = order["line_items"][0]["id"]
    refund = api.post(f"orders/{order['id']}/refunds", {
        "amount": "50.00", "reason": "Customer chose not to wait", "api_refund": True,
        "line_items": [{"id": line_id, "quantity": 1, "refund_total": 50}]})
    assert refund.status_code == 201, refund.text
    assert refund.json()["refunded_payment"] is True and refund.json()["amount"] == "50.00"
    assert refund.json()["line_items"][0]["quantity"] == -1
    assert fake.gateway_refunds("stripe")[0]["amount"] == "50.00"
    assert fake.product(lamp["id"])["stock_quantity"] == -1  # api_restock defaults to true
    assert fake.order(order["id"])["refunds"] == [{"id": refund.json()["id"], "reason": "Customer chose not to wait",
                                                   "total": "-50.00"}]
    manual = api.post(f"orders/{order['id']}/refunds", {"amount": "50.00", "api_refund": False, "api_restock": False})
    assert manual.status_code == 201 and manual.json()["refunded_payment"] is False
    assert fake.order(order["id"])["status"] == "refunded"


def test_a_gateway_that_cannot_refund_fails_the_refund(fake, api):
    lamp = fake.add_product("Linen lamp", sku="LAMP-S", price="50.00", stock=5)
    order = fake.place_order([(lamp["id"], 1)], payment_method="bacs", status="on-hold")
    response = api.post(f"orders/{order['id']}/refunds", {"amount": "50.00", "api_refund": True})
    assert response.status_code == 500
    assert response.json() == {"code": "woocommerce_rest_cannot_create_order_refund",
                               "message": "The payment gateway for this order does not support automatic refunds.",
                               "data": 500}
    assert fake.order_refunds(order["id"]) == []
    assert api.post(f"orders/{order['id']}/refunds", {"amount": "50.00", "api_refund": False}).status_code == 201
    too_much = api.post(f"orders/{order['id']}/refunds", {"amount": "1.00", "api_refund": False})
    assert too_much.status_code == 500 and too_much.json()["message"] == "Invalid refund amount."


# -- the /wc-auth/v1 dance ----------------------------------------------------------------------
def test_authorize_posts_keys_to_the_callback_and_redirects(fake, receiver):
    url = fake.authorize_url("Backorder Desk", return_url=f"{APP}/connect/woocommerce/done",
                             callback_url=f"{APP}/connect/woocommerce/callback", user_id="state-123")
    location = fake.approve(url)
    assert location == f"{APP}/connect/woocommerce/done?success=1&user_id=state-123"
    callback_url, headers, body = receiver.calls[-1]
    assert callback_url == f"{APP}/connect/woocommerce/callback"
    assert headers["Content-Type"] == "application/json;charset=UTF-8"
    keys = json.loads(body)
    assert set(keys) == {"key_id", "user_id", "consumer_key", "consumer_secret", "key_permissions"}
    assert keys["user_id"] == "state-123" and keys["key_permissions"] == "read_write"
    assert keys["consumer_key"].startswith("ck_") and len(keys["consumer_key"]) == 43
    granted = fake.api(keys["consumer_key"], keys["consumer_secret"])
    assert granted.get("orders").status_code == 200
    assert fake.deny(url) == f"{APP}/connect/woocommerce/done?success=0&user_id=state-123"


def test_authorize_rules(fake, receiver):
    with pytest.raises(WcAuthError, match="callback_url needs to be over SSL"):
        fake.approve(fake.authorize_url("Backorder Desk", f"{APP}/done", "http://app.example.com/cb"))
    receiver.default = 500
    with pytest.raises(WcAuthError, match="unable to send the consumer data"):
        fake.approve(fake.authorize_url("Backorder Desk", f"{APP}/done", f"{APP}/cb"))
    assert fake.api_keys() == []  # the key is deleted again
    client = httpx.Client(transport=fake.httpx_transport(), base_url=SITE)
    missing = client.get("/wc-auth/v1/authorize", params={"app_name": "Backorder Desk"})
    assert missing.status_code == 401 and "Error: Missing parameter user_id." in missing.text


def test_authorize_in_the_browser_with_login(fake, receiver):
    client = httpx.Client(transport=fake.httpx_transport(), base_url=SITE)
    start = fake.authorize_url("Backorder Desk", f"{APP}/done", f"{APP}/cb", user_id="s1")
    to_login = client.get(start)
    assert to_login.status_code == 302 and "/wc-auth/v1/login?" in to_login.headers["Location"]
    logged_in = client.post(to_login.headers["Location"], data={"username": "admin", "password": "password"})
    assert logged_in.status_code == 302
    grant_page = client.get(logged_in.headers["Location"])
    assert grant_page.status_code == 200 and "Approve" in grant_page.text
    approve = grant_page.text.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    done = client.get(approve)
    assert done.status_code == 302 and done.headers["Location"] == f"{APP}/done?success=1&user_id=s1"
    assert json.loads(receiver.calls[-1][2])["user_id"] == "s1"


# -- webhooks ----------------------------------------------------------------------------------
def test_webhook_creation_pings_without_a_signature(fake, api, receiver):
    response = api.post("webhooks", {"name": "Backorder Desk", "topic": "order.created",
                                     "delivery_url": f"{APP}/webhooks/woocommerce", "secret": "s3cret", "status": "paused"})
    assert response.status_code == 201, response.text
    hook = response.json()
    assert hook["status"] == "active" and hook["secret"] == "s3cret" and hook["hooks"] == ["woocommerce_new_order"]
    url, headers, body = receiver.calls[-1]
    assert body == f"webhook_id={hook['id']}".encode()
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert not [name for name in headers if name.lower().startswith("x-wc-")]
    assert headers["User-Agent"] == "WooCommerce/9.8.5 Hookshot (WordPress/6.8.1)"
    assert "secret" not in api.get(f"webhooks/{hook['id']}").json()


def test_delivery_signed_as_woocommerce_signs_it(fake, api, receiver):
    secret = "a-webhook-secret"
    api.post("webhooks", {"topic": "order.created", "delivery_url": f"{APP}/webhooks/woocommerce", "secret": secret})
    lamp = fake.add_product("Lampa lniana – mała", sku="LAMP-S", stock=0, backorders="notify")
    order = fake.place_order([(lamp["id"], 1)])
    url, headers, body = receiver.calls[-1]
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    assert headers["X-WC-Webhook-Signature"] == expected
    assert headers["X-WC-Webhook-Topic"] == "order.created"
    assert headers["X-WC-Webhook-Resource"] == "order" and headers["X-WC-Webhook-Event"] == "created"
    assert headers["X-WC-Webhook-Source"] == f"{SITE}/"
    assert headers["Content-Type"] == "application/json"
    assert len(headers["X-WC-Webhook-Delivery-ID"]) == 32
    assert b"\\u2013" in body and b"\\/" in body  # wp_json_encode: \uXXXX and escaped slashes
    payload = json.loads(body)
    assert payload == fake.order(order["id"])  # the resource as GET answers it


def test_api_changes_are_queued_and_deduplicated_until_flushed(fake, api, receiver):
    api.post("webhooks", {"topic": "product.updated", "delivery_url": f"{APP}/webhooks/woocommerce"})
    lamp = fake.add_product("Linen lamp", variations=[{"sku": "LAMP-S", "stock": 1, "attributes": {"Size": "S"}}])
    variation_id = lamp["variations"][0]
    receiver.calls.clear()
    for quantity in (5, 6, 7):
        api.put(f"products/{lamp['id']}/variations/{variation_id}", {"stock_quantity": quantity})
    assert receiver.calls == [] and fake.pending_webhooks == [(1, variation_id)]
    sent = fake.flush_webhooks()
    assert len(sent) == 1
    payload = json.loads(receiver.calls[0][2])
    assert payload["id"] == variation_id and payload["type"] == "variation" and payload["stock_quantity"] == 7


def test_webhook_disabled_after_repeated_failures(fake, api, receiver):
    hook = api.post("webhooks", {"topic": "order.created", "delivery_url": f"{APP}/webhooks/woocommerce"}).json()
    lamp = fake.add_product("Linen lamp", sku="LAMP-S", stock=100)
    receiver.default = 500
    for attempt in range(1, 7):
        fake.place_order([(lamp["id"], 1)])
        assert fake.webhook(hook["id"])["status"] == "active"
        assert fake.webhook(hook["id"])["failure_count"] == attempt
    fake.place_order([(lamp["id"], 1)])  # the 7th failure in a row: failure_count > 5
    assert fake.webhook(hook["id"])["status"] == "disabled"
    sent = len(fake.webhook_deliveries("order.created"))
    fake.place_order([(lamp["id"], 1)])
    assert len(fake.webhook_deliveries("order.created")) == sent  # disabled: nothing more
    assert api.get("webhooks", params={"status": "disabled"}).json()[0]["id"] == hook["id"]


def test_redirects_count_as_delivered_and_success_resets_the_count(fake, api, receiver):
    hook = api.post("webhooks", {"topic": "order.created", "delivery_url": f"{APP}/webhooks/woocommerce"}).json()
    lamp = fake.add_product("Linen lamp", sku="LAMP-S", stock=100)
    receiver.statuses = [404, 404, 302]
    for _ in range(3):
        fake.place_order([(lamp["id"], 1)])
    assert fake.webhook(hook["id"])["failure_count"] == 0


def test_delivery_ids_repeat_within_one_second(receiver):
    moment = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
    store = FakeWooCommerce(SITE, deliver=receiver, now=lambda: moment)
    store.create_webhook("order.created", f"{APP}/webhooks/woocommerce")
    lamp = store.add_product("Linen lamp", sku="LAMP-S", stock=10)
    store.place_order([(lamp["id"], 1)])
    store.place_order([(lamp["id"], 1)])
    first, second = store.webhook_deliveries("order.created")
    assert first.delivery_id == second.delivery_id and first.resource_id != second.resource_id


def test_local_delivery_urls_are_refused_unless_allowed(receiver):
    store = FakeWooCommerce(SITE, deliver=receiver)
    store.create_webhook("order.created", "http://127.0.0.1:8000/webhooks/woocommerce")
    assert store.pings[-1].error == "A valid URL was not provided." and receiver.calls == []
    allowed = FakeWooCommerce(SITE, deliver=receiver, allow_local_urls=True)
    allowed.create_webhook("order.created", "http://127.0.0.1:8000/webhooks/woocommerce")
    assert allowed.pings[-1].status == 200


# -- failure injection and request counts --------------------------------------------------------
def test_injected_failures(fake, api):
    fake.fail_next(1, "timeout")
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.get("orders")
    fake.fail_next(1, 429, retry_after=7)
    limited = api.get("orders")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    fake.fail_next(1, 500, path="/orders")
    assert api.get("products").status_code == 200
    assert api.get("orders").status_code == 500
    assert api.get("orders").status_code == 200
    assert fake.request_count == 5 and [c.status for c in fake.requests] == [None, 429, 200, 500, 200]


def test_reenabling_keeps_the_failure_count(fake, api, receiver):
    """WooCommerce never resets failure_count on re-enable: the next failure disables again."""
    hook = api.post("webhooks", {"topic": "order.created", "delivery_url": f"{APP}/webhooks/woocommerce"}).json()
    lamp = fake.add_product("Linen lamp", sku="LAMP-S", stock=100)
    receiver.default = 503
    for _ in range(7):
        fake.place_order([(lamp["id"], 1)])
    assert fake.webhook(hook["id"])["status"] == "disabled"
    assert api.put(f"webhooks/{hook['id']}", {"status": "active"}).json()["status"] == "active"
    assert fake.webhook(hook["id"])["failure_count"] == 6
    fake.place_order([(lamp["id"], 1)])
    assert fake.webhook(hook["id"])["status"] == "disabled"


def test_a_failed_ping_is_repeated_on_every_save(fake, api, receiver):
    receiver.statuses = [401]
    hook = api.post("webhooks", {"topic": "order.created", "delivery_url": f"{APP}/webhooks/woocommerce"}).json()
    assert fake.webhook(hook["id"])["pending_delivery"] is True
    api.put(f"webhooks/{hook['id']}", {"name": "Renamed"})
    assert len(fake.pings) == 2 and fake.webhook(hook["id"])["pending_delivery"] is False
    api.put(f"webhooks/{hook['id']}", {"name": "Again"})
    assert len(fake.pings) == 2
    api.put(f"webhooks/{hook['id']}", {"delivery_url": f"{APP}/webhooks/woocommerce/v2"})
    assert len(fake.pings) == 3  # a new delivery URL is pinged


def test_trashing_an_order_sends_order_deleted_with_its_id(fake, api, receiver):
    api.post("webhooks", {"topic": "order.deleted", "delivery_url": f"{APP}/webhooks/woocommerce"})
    lamp = fake.add_product("Linen lamp", sku="LAMP-S", stock=5)
    order = fake.place_order([(lamp["id"], 1)])
    assert api.delete(f"orders/{order['id']}").json()["status"] == "trash"
    fake.flush_webhooks()
    assert json.loads(receiver.calls[-1][2]) == {"id": order["id"]}
    assert api.delete("webhooks/1").status_code == 501  # webhooks need force=true
    assert api.delete("webhooks/1", params={"force": True}).status_code == 200


def test_thread_mode_delivers_api_events_in_the_background(receiver):
    store = FakeWooCommerce(SITE, deliver=receiver, api_webhooks="thread")
    key = store.create_key()
    store.create_webhook("product.updated", f"{APP}/webhooks/woocommerce")
    lamp = store.add_product("Linen lamp", sku="LAMP-S", stock=5)
    with store.routes_requests():
        store.api(key["consumer_key"], key["consumer_secret"]).put(f"products/{lamp['id']}", {"stock_quantity": 9})
    deadline = time.monotonic() + 5
    while not store.webhook_deliveries("product.updated") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert json.loads(store.webhook_deliveries("product.updated")[-1].body)["stock_quantity"] == 9


def test_plain_permalinks_system_status_and_index(fake, key):
    client = httpx.Client(transport=fake.httpx_transport(), base_url=SITE,
                          auth=(key["consumer_key"], key["consumer_secret"]))
    status = client.get("/", params={"rest_route": "/wc/v3/system_status"})
    assert status.status_code == 200 and status.json()["environment"]["version"] == "9.8.5"
    assert "wc/v3" in client.get("/wp-json/").json()["namespaces"]
    assert status.headers["Content-Type"] == "application/json; charset=UTF-8"


def test_a_site_in_a_subdirectory_signs_with_its_path():
    store = FakeWooCommerce("https://example.com/shop")
    key = store.create_key()
    store.add_product("Linen lamp", sku="LAMP-S", stock=5)
    with store.routes_requests():
        oauth = store.api(key["consumer_key"], key["consumer_secret"], https=False)
        assert oauth.get("products").status_code == 200
        assert requests.get("https://example.com/wp-json/wc/v3/products").status_code == 404


def test_dates_in_the_site_timezone_and_gmt():
    moment = datetime(2026, 7, 1, 10, 0, 0, tzinfo=timezone.utc)
    store = FakeWooCommerce(SITE, timezone_name="Europe/Warsaw", now=lambda: moment)
    lamp = store.add_product("Linen lamp", sku="LAMP-S", stock=5)
    order = store.place_order([(lamp["id"], 1)])
    assert (order["date_created"], order["date_created_gmt"]) == ("2026-07-01T12:00:00", "2026-07-01T10:00:00")
    assert {"is_vat_exempt", "_wc_order_attribution_source_type"} <= set(store.order_meta(order["id"]))


def test_devstore_helpers_for_the_demo(fake):
    lamp = fake.add_product("Linen lamp", sku="LAMP-S", stock=1, backorders="notify")
    client = httpx.Client(transport=fake.httpx_transport(), base_url=SITE)
    placed = client.post("/_devstore/orders", json={"sku": "LAMP-S", "quantity": 3})
    assert placed.status_code == 201 and placed.json()["line_items"][0]["quantity"] == 3
    shown = client.get(f"/_devstore/orders/{placed.json()['id']}").json()
    assert any("Stock levels reduced" in n["note"] for n in shown["notes"])
    assert client.post(f"/_devstore/products/{lamp['id']}/stock", json={"restock": 4}).json()["stock_quantity"] == 2
    assert client.post("/_devstore/orders", json={"sku": "NOPE"}).status_code == 422


def test_line_item_meta_written_through_rest_over_oauth(fake, key, receiver):
    lamp = fake.add_product("Linen lamp", variations=[
        {"sku": "LAMP-S", "stock": 0, "backorders": "notify", "attributes": {"Size": "Small"}}])
    order = fake.place_order([(lamp["variations"][0], 2)])
    line = order["line_items"][0]
    assert line["name"] == "Linen lamp - Small" and line["parent_name"] == "Linen lamp"
    assert [(m["key"], m["display_key"]) for m in line["meta_data"]][:2] == [("size", "Size"), ("Backordered", "Backordered")]
    api = fake.api(key["consumer_key"], key["consumer_secret"], https=False)
    written = api.put(f"orders/{order['id']}", {"line_items": [{"id": line["id"], "meta_data": [
        {"key": "Estimated ship date", "value": "3 April 2026"}, {"key": "_backorder_eta", "value": "2026-04-03"}]}]})
    assert written.status_code == 200, written.text
    assert fake.line_meta(order["id"], line["id"])["Estimated ship date"] == "3 April 2026"
    again = api.put(f"orders/{order['id']}", {"line_items": [{"id": line["id"], "meta_data": [
        {"key": "_backorder_eta", "value": "2026-04-10"}, {"key": "Estimated ship date", "value": None}]}]})
    meta = fake.line_meta(order["id"], line["id"])
    assert meta["_backorder_eta"] == "2026-04-10" and "Estimated ship date" not in meta  # null deletes
    assert again.json()["line_items"][0]["quantity"] == 2
