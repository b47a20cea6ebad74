"""WooClient: the woocommerce package's API class over our session, retries, errors, paging, batches."""
from __future__ import annotations

import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from connectors.base import ConnectorError
from connectors.woocommerce.client import BATCH_LIMIT, DEFAULT_TIMEOUT, WooClient, WooCommerceError
from connectors.woocommerce.store_url import InvalidStoreUrl, normalize_store_url


class Scripted(BaseAdapter):
    """Answers from a script of (status, body, headers) or exceptions; records what was sent."""

    def __init__(self, *answers):
        super().__init__()
        self.answers = list(answers)
        self.sent: list[requests.PreparedRequest] = []
        self.timeouts = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.sent.append(request)
        self.timeouts.append(timeout)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            answer = answer(request)
        status, body, headers = (answer + ({},))[:3] if len(answer) == 2 else answer
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json", **headers})
        response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response.raw = io.BytesIO(response._content)
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass


def client_with(adapter, url="https://shop.example.test", **kwargs) -> WooClient:
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return WooClient(url, "ck_test", "cs_test", session_source=lambda: session, sleep=lambda s: None, **kwargs)


def test_requests_carry_basic_auth_our_user_agent_and_a_long_timeout():
    adapter = Scripted((200, [{"id": 1}]))
    client = client_with(adapter)
    assert client.get("orders/1") == [{"id": 1}]
    sent = adapter.sent[0]
    assert sent.url == "https://shop.example.test/wp-json/wc/v3/orders/1"
    assert sent.headers["Authorization"].startswith("Basic ")
    assert sent.headers["User-Agent"].startswith("BackorderDesk/")
    assert adapter.timeouts[0] == DEFAULT_TIMEOUT and min(DEFAULT_TIMEOUT) > 5


def test_plain_http_is_signed_with_oauth_and_the_query_is_sent_once():
    adapter = Scripted((200, []))
    client = client_with(adapter, url="http://shop.example.test/wp")
    client.get("products", {"per_page": 5, "page": 2})
    url = urlsplit(adapter.sent[0].url)
    query = parse_qs(url.query)
    assert url.path == "/wp/wp-json/wc/v3/products"
    assert query["per_page"] == ["5"] and query["page"] == ["2"]  # once each
    assert "oauth_signature" in query and "Authorization" not in adapter.sent[0].headers


def test_errors_carry_woocommerce_code_and_message_and_4xx_is_never_retried():
    adapter = Scripted((404, {"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID.",
                              "data": {"status": 404}}))
    client = client_with(adapter)
    with pytest.raises(WooCommerceError) as caught:
        client.get("orders/9")
    assert caught.value.code == "woocommerce_rest_shop_order_invalid_id"
    assert "Invalid ID." in str(caught.value) and caught.value.status == 404
    assert isinstance(caught.value, ConnectorError) and not caught.value.retryable
    assert len(adapter.sent) == 1


def test_timeouts_429_and_5xx_are_retried_with_backoff():
    waits = []
    adapter = Scripted(requests.exceptions.ReadTimeout("slow"), (429, {"code": "too_many"}, {"Retry-After": "3"}),
                       (502, b"<html>bad gateway</html>", {"Content-Type": "text/html"}), (200, {"ok": True}))
    session = requests.Session()
    session.mount("https://", adapter)
    client = WooClient("https://shop.example.test", "ck_x", "cs_x", session_source=lambda: session,
                       sleep=waits.append, attempts=4)
    assert client.get("orders/1") == {"ok": True}
    assert len(adapter.sent) == 4
    assert waits[1] >= 3  # Retry-After is honoured
    assert waits[0] < waits[2]  # exponential


def test_gives_up_after_the_last_attempt_as_retryable():
    adapter = Scripted((503, {"code": "internal_server_error", "message": "down"}))
    client = client_with(adapter, attempts=3)
    with pytest.raises(WooCommerceError) as caught:
        client.get("orders")
    assert caught.value.retryable and len(adapter.sent) == 3


def test_a_refusal_woocommerce_worded_is_not_retried_even_with_500():
    adapter = Scripted((500, {"code": "woocommerce_rest_cannot_create_order_refund",
                              "message": "Refund failed.", "data": 500}))
    client = client_with(adapter)
    with pytest.raises(WooCommerceError) as caught:
        client.get("orders/1/refunds")
    assert not caught.value.retryable and len(adapter.sent) == 1


def test_a_post_is_not_resent_after_a_timeout_but_is_after_429():
    adapter = Scripted(requests.exceptions.ReadTimeout("slow"), (200, {"id": 1}))
    client = client_with(adapter)
    with pytest.raises(WooCommerceError) as caught:
        client.post("orders/1/notes", {"note": "x"})
    assert caught.value.retryable and len(adapter.sent) == 1
    adapter = Scripted((429, {"code": "rate_limited"}), (201, {"id": 2}))
    assert client_with(adapter).post("orders/1/notes", {"note": "x"}) == {"id": 2}


def test_paginate_reads_every_page_x_wp_totalpages_announces():
    def page(request):
        number = int(parse_qs(urlsplit(request.url).query)["page"][0])
        return 200, [{"id": number * 10 + i} for i in range(2 if number < 3 else 1)], \
            {"X-WP-TotalPages": "3", "X-WP-Total": "5"}

    adapter = Scripted(page)
    items = list(client_with(adapter).paginate("products", per_page=2))
    assert [i["id"] for i in items] == [10, 11, 20, 21, 30]
    assert len(adapter.sent) == 3
    assert all(parse_qs(urlsplit(r.url).query)["per_page"] == ["2"] for r in adapter.sent)


def test_batches_hold_at_most_100_items_and_item_errors_raise():
    bodies = []

    def answer(request):
        body = json.loads(request.body)
        bodies.append(body)
        return 200, {kind: [{"id": item["id"] if isinstance(item, dict) else item} for item in items]
                     for kind, items in body.items()}

    client = client_with(Scripted(answer))
    client.batch("products", update=[{"id": i} for i in range(250)])
    assert [len(b["update"]) for b in bodies] == [BATCH_LIMIT, BATCH_LIMIT, 50]

    refusing = Scripted((200, {"update": [{"id": 1, "error": {"code": "woocommerce_rest_product_invalid_id",
                                                               "message": "Invalid ID.", "data": {"status": 400}}}]}))
    with pytest.raises(WooCommerceError) as caught:
        client_with(refusing).batch("products", update=[{"id": 1}])
    assert "woocommerce_rest_product_invalid_id" in str(caught.value) and not caught.value.retryable


def test_a_redirect_is_an_error_naming_where_it_leads():
    adapter = Scripted((301, b"", {"Location": "https://www.shop.example.test/wp-json/wc/v3/orders"}))
    with pytest.raises(WooCommerceError) as caught:
        client_with(adapter).get("orders")
    assert "www.shop.example.test" in str(caught.value) and not caught.value.retryable


def test_html_instead_of_json_says_what_is_wrong():
    adapter = Scripted((200, b"<html>home page</html>", {"Content-Type": "text/html"}))
    with pytest.raises(WooCommerceError) as caught:
        client_with(adapter).get("orders")
    assert "JSON" in str(caught.value)


@pytest.mark.parametrize("typed, expected", [
    ("shop.example.com", ("https://shop.example.com", "shop.example.com")),
    ("https://Shop.Example.com/", ("https://shop.example.com", "shop.example.com")),
    ("https://example.com/store/wp-admin/index.php", ("https://example.com/store", "example.com/store")),
    ("https://example.com:8443/", ("https://example.com:8443", "example.com:8443")),
])
def test_store_urls_are_made_canonical(typed, expected):
    assert normalize_store_url(typed) == expected


@pytest.mark.parametrize("typed", ["", "ftp://example.com", "http://example.com", "https://user:pw@example.com",
                                   "https://example.com/?p=1", "https://exa mple.com", "https://-bad-.com"])
def test_bad_store_urls_are_refused(typed):
    with pytest.raises(InvalidStoreUrl):
        normalize_store_url(typed)
