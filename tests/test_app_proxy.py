"""The app proxy, called through the dev store exactly as Shopify calls it (signed query, forwarded).

Variants' next-unit promises are written straight into the database here: computing them is the
ETA recompute's job (tests/test_eta_recompute.py); these tests are about what the storefront gets.
"""
from __future__ import annotations

import html
import re
import time
from datetime import date, datetime
from urllib.parse import urlencode

import httpx
import pytest
import shopify_app.verify.app_proxy as sdk_app_proxy
from babel.dates import format_date
from liquid import Environment
from sqlalchemy import event, select

from connectors.shopify.app_proxy import ProxyRejected, parse_variant_id, verify_app_proxy
from connectors.shopify.devstore.app_proxy import proxy_signature, signed_proxy_query
from plugin.db.models import Shop, Variant
from plugin.shops.services import uninstall_shop
from tests.conftest import API_SECRET, OLD_API_SECRET
from tests.flow_helpers import install_shop

SHOP = "oak-and-linen.myshopify.com"
RIVAL = "rival-goods.myshopify.com"
PROMISE, EARLIEST, LIKELY, LATEST = date(2027, 3, 12), date(2027, 3, 5), date(2027, 3, 9), date(2027, 3, 19)


@pytest.fixture
def storefront(app, runtime, fake_shopify):
    """Two shops with the app installed; the dev store's proxy reaches the app's WSGI app."""
    fake_shopify.app_proxy_transport = httpx.WSGITransport(app=app)
    for domain in (SHOP, RIVAL):
        fake_shopify.create_shop(domain)
        install_shop(runtime, fake_shopify, domain)
    return fake_shopify


def shop_id(runtime, domain: str) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(Shop.id).where(Shop.domain == domain))


def add_variant(runtime, domain: str, platform_id: str, **values) -> None:
    row = dict(platform_variant_id=platform_id, platform_product_id="9001", sku=f"SKU-{platform_id}",
               title="Small", product_title="Linen lamp", product_handle="linen-lamp", inventory_tracked=True,
               continue_selling=True, sellable_quantity=-1, next_eta_promise=PROMISE, next_eta_earliest=EARLIEST,
               next_eta_likely=LIKELY, next_eta_latest=LATEST, next_eta_covered_by="supply")
    row.update(values)
    with runtime.db.shop_session(shop_id(runtime, domain)) as s:
        s.add(Variant(**row))


def set_variant(runtime, domain: str, platform_id: str, **values) -> None:
    with runtime.db.shop_session(shop_id(runtime, domain)) as s:
        variant = s.scalars(select(Variant).where(Variant.platform_variant_id == platform_id)).one()
        for key, value in values.items():
            setattr(variant, key, value)


@pytest.fixture
def statements(runtime):
    """SQL statements run, to show a rejected request reads nothing."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(runtime.db.engine, "before_cursor_execute", count)
    yield seen
    event.remove(runtime.db.engine, "before_cursor_execute", count)


# -- the ETA JSON -----------------------------------------------------------------------------
def test_a_signed_call_answers_the_variants_eta_with_caching_headers(runtime, storefront):
    add_variant(runtime, SHOP, "4401")
    response = storefront.app_proxy(SHOP, "/eta.json", {"variant": "4401"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "variant": 4401, "backorder": True, "promise": "2027-03-12", "earliest": "2027-03-05",
        "likely": "2027-03-09", "latest": "2027-03-19",
        "label": "Available on backorder — ships by March 12, 2027",
    }
    assert response.headers["cache-control"] == "public, max-age=300"
    assert "Accept-Language" in response.headers["vary"]
    etag = response.headers["etag"]

    # The same answer again: 304 with no body; a gid names the same variant.
    again = storefront.app_proxy(SHOP, "/eta.json", {"variant": "gid://shopify/ProductVariant/4401"},
                                 headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    # A proxy that compresses the answer may weaken the ETag; the comparison is weak, as HTTP says.
    weak = storefront.app_proxy(SHOP, "/eta.json", {"variant": "4401"}, headers={"If-None-Match": "W/" + etag})
    assert weak.status_code == 304

    # A new promise is a new ETag, and the old one no longer matches.
    set_variant(runtime, SHOP, "4401", next_eta_promise=date(2027, 3, 26))
    moved = storefront.app_proxy(SHOP, "/eta.json", {"variant": "4401"}, headers={"If-None-Match": etag})
    assert moved.status_code == 200
    assert moved.json()["promise"] == "2027-03-26"
    assert moved.headers["etag"] != etag


def test_a_variant_in_stock_or_not_sold_beyond_stock_is_not_on_backorder(runtime, storefront):
    add_variant(runtime, SHOP, "11", sellable_quantity=3)
    add_variant(runtime, SHOP, "12", continue_selling=False, sellable_quantity=0)
    add_variant(runtime, SHOP, "13", next_eta_promise=None, next_eta_earliest=None, next_eta_likely=None,
                next_eta_latest=None)
    for variant in ("11", "12", "13"):
        answer = storefront.app_proxy(SHOP, "/eta.json", {"variant": variant}).json()
        assert answer == {"variant": int(variant), "backorder": False, "promise": None, "earliest": None,
                          "likely": None, "latest": None, "label": None}


def test_the_label_speaks_polish_when_asked(runtime, storefront):
    add_variant(runtime, SHOP, "4401")
    by_param = storefront.app_proxy(SHOP, "/eta.json", {"variant": "4401", "locale": "pl"})
    assert by_param.json()["label"] == "Dostępne na zamówienie — wysyłka do 12 marca 2027"
    by_header = storefront.app_proxy(SHOP, "/eta.json", {"variant": "4401"}, headers={"Accept-Language": "pl-PL,pl;q=0.9"})
    assert by_header.json()["label"] == by_param.json()["label"]
    assert by_header.headers["etag"] != storefront.app_proxy(SHOP, "/eta.json", {"variant": "4401"}).headers["etag"]
    assert format_date(PROMISE, "long", locale="pl") in by_header.json()["label"]


@pytest.mark.parametrize("forgery", [
    {"secret": "not-the-apps-secret"},
    {"omit": ("signature",)},
    {"signature": "0" * 64},
    {"omit": ("timestamp",)},
    {"timestamp": int(time.time()) - 600},   # ten minutes old: a replay
    {"timestamp": int(time.time()) + 600},   # ten minutes ahead
])
def test_forged_missing_or_stale_signatures_are_refused_before_anything_is_read(runtime, storefront, statements,
                                                                                  forgery):
    add_variant(runtime, SHOP, "4401")
    statements.clear()
    response = storefront.app_proxy(SHOP, "/eta.json", {"variant": "4401"}, **forgery)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid or expired signature"}
    assert response.headers["cache-control"] == "no-store"
    assert statements == []
    landing = storefront.app_proxy(SHOP, "/", **forgery)
    assert landing.status_code == 401
    assert statements == []


def test_a_tampered_query_no_longer_matches_its_signature(app, runtime, storefront):
    add_variant(runtime, SHOP, "4401")
    add_variant(runtime, RIVAL, "5501")
    pairs = signed_proxy_query(API_SECRET, SHOP, {"variant": "4401"})
    swapped = [(k, RIVAL if k == "shop" else v) for k, v in pairs]
    assert app.test_client().get("/proxy/shopify/eta.json?" + urlencode(swapped)).status_code == 401
    # Two shop parameters (the shopper adding one) are refused even though the signature covers them.
    doubled = signed_proxy_query(API_SECRET, SHOP, [("variant", "4401"), ("shop", RIVAL)])
    assert app.test_client().get("/proxy/shopify/eta.json?" + urlencode(doubled)).status_code == 401


def test_timestamps_a_little_off_and_the_previous_secret_are_accepted(runtime, storefront):
    """Clocks drift and secrets rotate; neither should blank the storefront."""
    add_variant(runtime, SHOP, "4401")
    for timestamp in (int(time.time()) - 60, int(time.time()) + 60):
        assert storefront.app_proxy(SHOP, "/eta.json", {"variant": "4401"}, timestamp=timestamp).status_code == 200
    assert storefront.app_proxy(SHOP, "/eta.json", {"variant": "4401"}, secret=OLD_API_SECRET).status_code == 200


def test_unknown_and_other_shops_variants_are_404_json(runtime, storefront):
    add_variant(runtime, RIVAL, "5501")
    for variant in ("999999", "5501"):  # nobody's, and the rival shop's
        response = storefront.app_proxy(SHOP, "/eta.json", {"variant": variant})
        assert response.status_code == 404
        assert response.json() == {"error": "variant not found"}
    assert storefront.app_proxy(RIVAL, "/eta.json", {"variant": "5501"}).status_code == 200
    for bad in ("", "abc", "gid://shopify/Product/5501", "-1"):
        response = storefront.app_proxy(SHOP, "/eta.json", {"variant": bad})
        assert response.status_code == 400
        assert "error" in response.json()


def test_a_shop_the_app_does_not_serve_gets_404(runtime, storefront):
    """Signed by Shopify, so authentic (no 401), but there is nothing of that shop here."""
    storefront.create_shop("stranger.myshopify.com")
    storefront.issue_access_token("stranger.myshopify.com")  # installed as far as Shopify knows
    response = storefront.app_proxy("stranger.myshopify.com", "/eta.json", {"variant": "4401"})
    assert response.status_code == 404
    assert response.json() == {"error": "shop not found"}

    add_variant(runtime, SHOP, "4401")
    uninstall_shop(runtime.db, "shopify", SHOP)  # the app/uninstalled webhook was handled
    response = storefront.app_proxy(SHOP, "/eta.json", {"variant": "4401"})
    assert response.status_code == 404
    assert response.json() == {"error": "shop not found"}
    assert storefront.app_proxy(SHOP, "/").status_code == 404


def test_the_dev_store_only_proxies_for_shops_with_the_app_installed(storefront):
    storefront.create_shop("window-shopper.myshopify.com")
    assert storefront.app_proxy("window-shopper.myshopify.com", "/eta.json", {"variant": "1"}).status_code == 404


def test_the_signature_is_the_one_in_shopifys_documentation(monkeypatch):
    """Shopify's worked example (secret "hush"); the SDK verifies it when the clock agrees."""
    query = ("extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1"
             "&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555"
             "&signature=4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb")
    params = {"extra": ["1", "2"], "shop": "shop-name.myshopify.com", "logged_in_customer_id": "1",
              "path_prefix": "/apps/awesome_reviews", "timestamp": "1317327555"}
    assert proxy_signature("hush", params) == "4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb"

    class Settings:
        shopify_api_key, shopify_api_secret, shopify_api_secret_old = "key", "hush", ""

    monkeypatch.setattr(sdk_app_proxy.time, "time", lambda: 1317327555 + 30)
    proxied = verify_app_proxy(Settings, "https://proxy-domain.com/proxy/extra/path/components?" + query)
    assert (proxied.shop_domain, proxied.logged_in_customer_id, proxied.path_prefix) == (
        "shop-name.myshopify.com", "1", "/apps/awesome_reviews")
    monkeypatch.setattr(sdk_app_proxy.time, "time", lambda: 1317327555 + 3600)
    with pytest.raises(ProxyRejected) as stale:
        verify_app_proxy(Settings, "https://proxy-domain.com/proxy?" + query)
    assert stale.value.code == "timestamp_too_old"


def test_variant_ids_are_numeric_or_variant_gids():
    assert parse_variant_id("4401") == parse_variant_id("gid://shopify/ProductVariant/4401") == "4401"
    assert parse_variant_id(" 4401 ") == "4401"
    for bad in (None, "", "44a", "gid://shopify/Product/4401", "1" * 21, "4401\n5"):
        assert parse_variant_id(bad) is None


# -- the landing page -------------------------------------------------------------------------
def shopify_like_liquid() -> Environment:
    """python-liquid with Shopify's `date: format: 'date'` (English here), to see the page rendered."""
    env = Environment()

    def date_filter(value, fmt=None, *, format=None):
        moment = datetime.fromisoformat(str(value))
        return moment.strftime("%B %-d, %Y") if format == "date" else moment.strftime(fmt or "%Y-%m-%d")

    env.filters["date"] = date_filter
    return env


def visible_text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


def test_the_landing_page_lists_only_what_is_sold_on_backorder(runtime, storefront):
    add_variant(runtime, SHOP, "4401", title="Small")
    add_variant(runtime, SHOP, "4402", title="Large", sellable_quantity=4)            # in stock
    add_variant(runtime, SHOP, "4403", title="Huge", continue_selling=False, sellable_quantity=0)  # sold out
    add_variant(runtime, SHOP, "4404", title="Tiny", next_eta_promise=None)           # no promise yet
    add_variant(runtime, SHOP, "4405", title="Default Title", product_title="Oak desk", product_handle="oak-desk",
                next_eta_promise=date(2027, 4, 2), next_eta_earliest=date(2027, 4, 2), next_eta_latest=date(2027, 4, 2))
    add_variant(runtime, RIVAL, "5501", product_title="Rival rug")                   # another shop's

    response = storefront.app_proxy(SHOP, "/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/liquid; charset=utf-8"
    body = response.text
    assert body.count('class="backorder-desk-item"') == 2
    assert 'href="/products/linen-lamp?variant=4401"' in body
    assert 'href="/products/oak-desk?variant=4405"' in body
    for absent in ("4402", "4403", "4404", "Rival rug"):
        assert absent not in body
    # Dates are Liquid's to format in the storefront's language, with the ISO date alongside.
    assert "<time datetime=\"2027-03-12\">{{ '2027-03-12T12:00:00' | date: format: 'date' }}</time>" in body

    shown = visible_text(shopify_like_liquid().from_string(body).render())
    shown = " ".join(shown.split())
    assert "Available on backorder" in shown
    assert "Linen lamp — Small Ships by March 12, 2027" in shown
    assert "Expected to ship between March 5, 2027 and March 19, 2027" in shown
    assert "Oak desk Ships by April 2, 2027" in shown  # no "Default Title", no one-day range
    assert "Oak desk — Default Title" not in shown


def test_product_strings_cannot_inject_liquid_or_html(runtime, storefront):
    add_variant(runtime, SHOP, "4401", product_title="{{ shop.name }} <script>alert(1)</script>",
                title="{% render 'x' %} & \"quotes\"", product_handle="lamp\"><script>{{ customer.email }}")
    body = storefront.app_proxy(SHOP, "/").text
    for dangerous in ("{{ shop.name", "{% render", "<script", "{{ customer", 'lamp"'):
        assert dangerous not in body
    assert "&#123;&#123; shop.name &#125;&#125; &lt;script&gt;alert(1)&lt;/script&gt;" in body
    rendered = shopify_like_liquid().from_string(body).render(shop={"name": "SHOP NAME LEAKED"},
                                                              customer={"email": "EMAIL LEAKED"})
    assert "LEAKED" not in rendered
    shown = visible_text(rendered)
    assert "{{ shop.name }} <script>alert(1)</script> — {% render 'x' %} & \"quotes\"" in shown
    assert 'href="/products/lamp%22%3E%3Cscript%3E%7B%7B%20customer.email%20%7D%7D?variant=4401"' in rendered


def test_the_landing_page_pages_through_50_items_at_a_time(runtime, storefront):
    for n in range(1, 121):
        add_variant(runtime, SHOP, str(7000 + n), product_title=f"Product {n:03d}", title="One size")

    def titles(body: str) -> list[str]:
        return re.findall(r">(Product \d{3}) — One size<", body)

    first = storefront.app_proxy(SHOP, "/").text
    second = storefront.app_proxy(SHOP, "/", {"page": "2"}).text
    third = storefront.app_proxy(SHOP, "/", {"page": "3"}).text
    assert titles(first) == [f"Product {n:03d}" for n in range(1, 51)]
    assert titles(second) == [f"Product {n:03d}" for n in range(51, 101)]
    assert titles(third) == [f"Product {n:03d}" for n in range(101, 121)]
    assert 'href="?page=2" rel="next"' in first and 'rel="prev"' not in first
    assert 'href="?page=1" rel="prev"' in second and 'href="?page=3" rel="next"' in second
    assert 'href="?page=2" rel="prev"' in third and 'rel="next"' not in third
    for odd in ("0", "-3", "abc"):
        assert titles(storefront.app_proxy(SHOP, "/", {"page": odd}).text) == titles(first)
    assert titles(storefront.app_proxy(SHOP, "/", {"page": "9"}).text) == []


def test_the_landing_page_speaks_polish_when_asked(runtime, storefront):
    add_variant(runtime, SHOP, "4401")
    for n in range(60):
        add_variant(runtime, SHOP, str(8000 + n), product_title=f"Zz {n:02d}")
    by_param = storefront.app_proxy(SHOP, "/", {"locale": "pl"}).text
    assert "<h1>Dostępne na zamówienie</h1>" in by_param
    assert "Wysyłka do <time" in by_param
    assert 'href="?page=2&amp;locale=pl" rel="next"' in by_param  # the language follows the shopper
    by_header = storefront.app_proxy(SHOP, "/", headers={"Accept-Language": "pl-PL"}).text
    assert "<h1>Dostępne na zamówienie</h1>" in by_header
    english = storefront.app_proxy(SHOP, "/", {"locale": "de"}, headers={"Accept-Language": "de-DE"}).text
    assert "<h1>Available on backorder</h1>" in english


def test_an_empty_landing_page_says_so(storefront):
    body = storefront.app_proxy(SHOP, "/").text
    assert "Nothing is on backorder right now." in body
    assert "backorder-desk-pages" not in body


def test_the_proxy_root_answers_with_and_without_the_trailing_slash(storefront):
    """Shopify forwards /apps/backorders as the bare proxy URL: no redirect may leave the proxy."""
    for path in ("", "/"):
        response = storefront.app_proxy(SHOP, path)
        assert response.status_code == 200, repr(path)
        assert response.headers["content-type"] == "application/liquid; charset=utf-8"
        assert response.url.path == "/proxy/shopify" + path


def test_the_dev_store_forwards_as_shopify_does(storefront):
    """Shopify's parameters are appended to the shopper's, cookies never cross the proxy."""
    seen = {}

    def inspect(request: httpx.Request) -> httpx.Response:
        seen["url"], seen["headers"] = request.url, request.headers
        return httpx.Response(200, headers={"Set-Cookie": "a=b", "Content-Type": "application/liquid"},
                              text="{{ shop.name }}")

    storefront.app_proxy_transport = httpx.MockTransport(inspect)
    storefront.app_proxy_url = "https://app.example.test/proxy/shopify"
    answer = storefront.app_proxy(SHOP, "/eta.json", {"variant": "1"}, headers={"Cookie": "_session_id=x"},
                                  customer_id=42)
    assert answer.text == "{{ shop.name }}"  # raw Liquid: the dev store does not render themes
    assert "set-cookie" not in answer.headers
    assert seen["url"].path == "/proxy/shopify/eta.json"
    keys = [k for k, _ in seen["url"].params.multi_items()]
    assert keys == ["variant", "shop", "logged_in_customer_id", "path_prefix", "timestamp", "signature"]
    assert seen["url"].params["path_prefix"] == "/apps/backorders"
    assert seen["url"].params["logged_in_customer_id"] == "42"
    assert "cookie" not in seen["headers"]
    assert seen["headers"]["x-forwarded-host"] == SHOP
