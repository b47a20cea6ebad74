"""Connecting a WooCommerce store: /wc-auth end to end, pasted keys, refusals, disconnecting."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import text

from connectors.woocommerce.devstore import WcAuthError
from tests.woocommerce_helpers import (  # noqa: F401 - fixtures
    DOMAIN, SITE, connect, inbox_count, shop_row, wc_app, wc_client, wc_fake, wc_runtime,
)

APP = "https://app.example.test"
DELIVERY_URL = f"{APP}/webhooks/woocommerce"


def test_connect_dance_stores_keys_encrypted_and_subscribes_with_a_secret(wc_client, wc_fake, wc_runtime):
    started = wc_client.post("/connect/woocommerce", data={"store_url": "shop.example.test/"})
    assert started.status_code == 302
    location = urlsplit(started.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{SITE}/wc-auth/v1/authorize"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["app_name"] == "Backorder Desk" and query["scope"] == "read_write"
    assert query["callback_url"] == f"{APP}/connect/woocommerce/callback"
    assert query["return_url"] == f"{APP}/connect/woocommerce/return"
    assert len(query["user_id"]) > 40  # the signed state, not a guessable number

    back = wc_fake.approve(started.headers["Location"])
    assert "success=1" in back
    page = wc_client.get(urlsplit(back).path + "?" + urlsplit(back).query)
    assert page.status_code == 200, page.get_data(as_text=True)
    assert "is connected" in page.get_data(as_text=True)

    shop = shop_row(wc_runtime)
    key = wc_fake.api_keys()[0]
    assert shop.is_installed and shop.store_url == SITE and shop.scopes == "read_write"
    assert shop.access_token.startswith("ck_") and shop.api_secret.startswith("cs_")
    with wc_runtime.db.session() as session:
        raw = session.execute(text("SELECT access_token, api_secret, webhook_secret FROM shops")).one()
    assert shop.access_token not in raw[0] and shop.api_secret not in raw[1] and shop.webhook_secret not in raw[2]

    hooks = wc_fake.webhooks()
    assert sorted(h["topic"] for h in hooks) == ["order.created", "order.deleted", "order.updated", "product.updated"]
    assert all(h["delivery_url"] == DELIVERY_URL and h["status"] == "active" for h in hooks)
    assert all(h["secret"] == shop.webhook_secret for h in hooks) and len(shop.webhook_secret) >= 32
    # WooCommerce pinged each new webhook; every ping got its 200 and nothing was stored.
    assert len(wc_fake.pings) == 4 and all(p.status == 200 for p in wc_fake.pings)
    assert all(not h["pending_delivery"] for h in hooks)
    assert inbox_count(wc_runtime) == 0
    assert key["key_id"]


def test_connecting_again_keeps_one_webhook_per_topic(wc_client, wc_fake, wc_runtime):
    connect(wc_client, wc_fake)
    first_secret = shop_row(wc_runtime).webhook_secret
    connect(wc_client, wc_fake)
    assert len(wc_fake.webhooks()) == 4
    assert shop_row(wc_runtime).webhook_secret == first_secret


def test_a_callback_with_a_forged_or_expired_state_is_refused_and_stores_nothing(wc_client, wc_runtime):
    body = {"key_id": 1, "user_id": "1", "consumer_key": "ck_" + "a" * 40, "consumer_secret": "cs_" + "b" * 40,
            "key_permissions": "read_write"}
    assert wc_client.post("/connect/woocommerce/callback", json=body).status_code == 400
    forged = URLSafeTimedSerializer("another-secret", salt="backorder-desk.woocommerce-connect.v1").dumps(
        {"u": SITE, "d": DOMAIN, "n": "x"})
    assert wc_client.post("/connect/woocommerce/callback", json={**body, "user_id": forged}).status_code == 400
    assert shop_row(wc_runtime) is None


def test_a_callback_that_is_refused_makes_woocommerce_delete_the_key(wc_client, wc_fake, wc_runtime):
    started = wc_client.post("/connect/woocommerce", data={"store_url": SITE})
    url = started.headers["Location"]
    wc_fake.deliver = lambda *_: 500  # the callback never reaches us
    with pytest.raises(WcAuthError):
        wc_fake.approve(url)
    assert wc_fake.api_keys() == [] or all(not k.get("active", True) for k in wc_fake.api_keys())
    assert shop_row(wc_runtime) is None


def test_a_denied_authorization_shows_a_clear_page(wc_client, wc_fake, wc_runtime):
    started = wc_client.post("/connect/woocommerce", data={"store_url": SITE})
    back = urlsplit(wc_fake.deny(started.headers["Location"]))
    page = wc_client.get(f"{back.path}?{back.query}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "did not give Backorder Desk access" in html and "start again" in html
    assert shop_row(wc_runtime) is None and wc_fake.webhooks() == []


def test_a_return_without_keys_says_they_never_arrived(wc_client, wc_fake, wc_runtime):
    started = wc_client.post("/connect/woocommerce", data={"store_url": SITE})
    state = parse_qs(urlsplit(started.headers["Location"]).query)["user_id"][0]
    page = wc_client.get(f"/connect/woocommerce/return?success=1&user_id={state}")
    assert page.status_code == 502 and "never reached" in page.get_data(as_text=True)


def test_private_and_loopback_store_urls_are_refused_outside_dev(wc_client, wc_runtime):
    wc_runtime.settings.allow_private_urls = False  # APP_URL is public: production rules
    for url in ("https://127.0.0.1/", "https://localhost:8443", "https://10.1.2.3/shop", "https://[::1]/"):
        page = wc_client.post("/connect/woocommerce", data={"store_url": url})
        assert page.status_code == 400, url
        assert "private or local network address" in page.get_data(as_text=True)
    page = wc_client.post("/connect/woocommerce", data={"store_url": "http://shop.example.test"})
    assert page.status_code == 400 and "https" in page.get_data(as_text=True)
    page = wc_client.post("/connect/woocommerce", data={"store_url": "not a url"})
    assert page.status_code == 400


def _csrf(client, path: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_pasted_keys_are_verified_with_one_call_then_stored_and_subscribed(wc_client, wc_fake, wc_runtime):
    csrf = _csrf(wc_client, "/connect/woocommerce/keys")
    key = wc_fake.create_key("read_write")
    wc_fake.reset_requests()
    bad = wc_client.post("/connect/woocommerce/keys", data={"csrf": csrf, "store_url": SITE,
                                                            "consumer_key": key["consumer_key"],
                                                            "consumer_secret": "cs_wrong0000000000"})
    assert bad.status_code == 400 and "did not accept" in bad.get_data(as_text=True)
    assert wc_fake.request_count == 1 and shop_row(wc_runtime) is None
    good = wc_client.post("/connect/woocommerce/keys", data={"csrf": csrf, "store_url": SITE,
                                                             "consumer_key": key["consumer_key"],
                                                             "consumer_secret": key["consumer_secret"]})
    assert good.status_code == 200, good.get_data(as_text=True)
    shop = shop_row(wc_runtime)
    assert shop.access_token == key["consumer_key"] and shop.api_secret == key["consumer_secret"]
    assert len(wc_fake.webhooks()) == 4


def test_disconnect_deletes_the_webhooks_in_the_store_and_the_keys(wc_client, wc_fake, wc_runtime):
    connect(wc_client, wc_fake)
    assert len(wc_fake.webhooks()) == 4
    csrf = _csrf(wc_client, "/connect/woocommerce")
    page = wc_client.post("/connect/woocommerce/disconnect", data={"csrf": csrf, "shop": DOMAIN})
    assert page.status_code == 200, page.get_data(as_text=True)
    assert "revoke it" in page.get_data(as_text=True)
    assert wc_fake.webhooks() == []
    shop = shop_row(wc_runtime)
    assert shop.status == "uninstalled"
    assert shop.access_token is None and shop.api_secret is None and shop.webhook_secret is None


def test_disconnect_needs_the_browser_that_connected(wc_client, wc_fake, wc_runtime, wc_app):
    connect(wc_client, wc_fake)
    stranger = wc_app.test_client()
    csrf = _csrf(stranger, "/connect/woocommerce/keys")
    page = stranger.post("/connect/woocommerce/disconnect", data={"csrf": csrf, "shop": DOMAIN})
    assert page.status_code == 403
    assert len(wc_fake.webhooks()) == 4 and shop_row(wc_runtime).is_installed
