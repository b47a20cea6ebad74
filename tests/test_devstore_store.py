"""The dev store's store-manipulation API, demo endpoints and data location."""
from __future__ import annotations

import httpx
import pytest
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from connectors.shopify.devstore import FakeShopify, ShopifyDataMissing, StoreError, default_data_dir

KEY = "devstore-test-key"
SECRET = "devstore-test-secret-0123456789abcdef"
SHOP = "oak-and-linen.myshopify.com"


@pytest.fixture
def fake():
    store = FakeShopify(KEY, SECRET, deliver=lambda url, headers, body: 200)
    store.create_shop(SHOP, locations=("Main warehouse", "Overflow"))
    store.add_product(SHOP, "Wool rug", [{"sku": "RUG", "price": "259.00", "policy": "DENY",
                                          "available": {"Main warehouse": 2, "Overflow": 9}}])
    store.add_product(SHOP, "Oak desk", [{"sku": "DESK", "price": "499.00", "policy": "CONTINUE", "available": 1},
                                         {"sku": "LOOSE", "tracked": False}])
    store.issue_access_token(SHOP)
    return store


def test_cached_shopify_data_is_present():
    """The suite checks itself against Shopify's published data; it must never quietly go without."""
    assert (default_data_dir() / "admin_2026-10.json.gz").is_file()
    assert (default_data_dir() / "webhook-schemas" / "metadatas" / "2026-07" / "orders" / "create.json").is_file()


def test_data_dir_honours_the_environment_and_missing_data_fails_loudly(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPIFY_DATA_DIR", str(tmp_path))
    assert default_data_dir() == tmp_path.resolve()
    with pytest.raises(ShopifyDataMissing, match="make shopify-data"):
        FakeShopify(KEY, SECRET)


def test_deny_variant_refuses_oversell_at_the_first_location(fake):
    rug = fake.variant_by_sku(SHOP, "RUG")
    with pytest.raises(StoreError, match="out of stock"):
        fake.place_order(SHOP, [(rug, 3)])  # 9 more at Overflow do not count: checkout uses the first location
    assert fake.available(SHOP, rug) == 2 and fake.available(SHOP, rug, "Overflow") == 9
    fake.place_order(SHOP, [(rug, 2)])
    assert fake.available(SHOP, rug) == 0


def test_continue_variant_goes_negative_and_untracked_is_untouched(fake):
    desk, loose = fake.variant_by_sku(SHOP, "DESK"), fake.variant_by_sku(SHOP, "LOOSE")
    fake.place_order(SHOP, [(desk, 4), (loose, 5)])
    assert fake.available(SHOP, desk) == -3 and fake.available(SHOP, loose) == 0
    fake.set_available(SHOP, desk, 10, location="Overflow")
    assert fake.available(SHOP, desk, "Overflow") == 10


def test_shop_domains_are_checked(fake):
    with pytest.raises(StoreError):
        fake.create_shop("not a domain!")
    with pytest.raises(StoreError):
        fake.place_order("nobody.myshopify.com", [])


def test_demo_endpoints_mounted_under_a_prefix(fake):
    """As in `make run`: the dev store mounted at /_fake/shopify inside the app's WSGI server."""
    def host_app(environ, start_response):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"app"]

    mounted = DispatcherMiddleware(host_app, {"/_fake/shopify": fake.wsgi_app})
    http = httpx.Client(transport=httpx.WSGITransport(app=mounted), base_url="http://127.0.0.1:8000")
    created = http.post("/_fake/shopify/_devstore/orders",
                        json={"shop": SHOP, "sku": "DESK", "quantity": 2, "email": "ann@example.com"})
    assert created.status_code == 201
    order = created.json()
    assert order["webhookStatus"] == 200 and order["lineItems"][0]["sku"] == "DESK"
    fake.order(SHOP, order["id"])  # the same order the store holds
    shown = http.get(f"/_fake/shopify/_devstore/shops/{SHOP}/orders/{order['legacyResourceId']}")
    assert shown.status_code == 200 and shown.json()["tags"] == [] and shown.json()["metafields"] == []
    refused = http.post("/_fake/shopify/_devstore/orders", json={"shop": SHOP, "sku": "RUG", "quantity": 5})
    assert refused.status_code == 422 and "out of stock" in refused.json()["error"]
    unknown = http.post("/_fake/shopify/_devstore/orders", json={"shop": SHOP, "sku": "NOPE"})
    assert unknown.status_code == 422


def test_graphql_through_a_local_port_uses_the_host_header(fake):
    token = fake.issue_access_token(SHOP)["access_token"]
    http = httpx.Client(transport=httpx.WSGITransport(app=fake.wsgi_app), base_url="http://127.0.0.1:8899")
    response = http.post("/admin/api/2026-10/graphql.json", json={"query": "{ shop { myshopifyDomain } }"},
                         headers={"X-Shopify-Access-Token": token, "Host": f"{SHOP}:443"})
    assert response.json()["data"] == {"shop": {"myshopifyDomain": SHOP}}
