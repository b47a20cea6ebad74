"""The merchant admin's doors: Shopify session tokens, the WooCommerce launch link and its session,
CSRF, shop scoping of every API route, and the OpenAPI document that lists them."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import func, select

import plugin.admin.blueprint  # noqa: F401  (registers the admin's pages and API routes)
from plugin.admin.api import registry
from plugin.admin.auth import SESSION_COOKIE, woocommerce_launch_secret
from plugin.db.models import Backorder, LaunchNonce, Order, OrderLine, Shop, Variant
from tests.conftest import API_KEY, API_SECRET
from tests.flow_helpers import install_shop
from tests.shopify_helpers import app_home_query, forge_session_token

SHOP = "admin-shop.myshopify.com"
OTHER = "other-shop.myshopify.com"
WOO_DOMAIN = "woo.example"
WOO_STORE = "https://woo.example"


# -- fixtures ----------------------------------------------------------------------------------
def add_line(runtime, shop_id: int, *, sku: str = "DESK", title: str = "Oak desk", quantity: int = 1,
             order_name: str = "#1001", status: str = "open", promised: date | None = None,
             current: date | None = None, ordered_at: datetime | None = None, price: str | None = "10.00",
             supplier_id: int | None = None, customer: str = "Jon Snow") -> int:
    """One order with one backordered line, written as the order handler would (no platform)."""
    ordered_at = ordered_at or datetime.now(timezone.utc) - timedelta(days=3)
    promised = promised or date.today() + timedelta(days=10)
    with runtime.db.shop_session(shop_id) as session:
        variant = session.scalars(select(Variant).where(Variant.sku == sku)).one_or_none()
        if variant is None:
            variant = Variant(shop_id=shop_id, platform_variant_id=f"v-{sku}", sku=sku, title=title,
                              product_title=title, sellable_quantity=-quantity, eta_dirty=False)
            session.add(variant)
            session.flush()
        number = session.scalar(select(func.count()).select_from(Order)) + 1
        order = Order(shop_id=shop_id, platform_order_id=str(9000 + number), name=order_name, email="jon@example.com",
                      customer_name=customer, placed_at=ordered_at, currency="EUR")
        line = OrderLine(shop_id=shop_id, platform_line_id=str(number), variant=variant, sku=sku, title=title,
                         quantity=quantity, open_quantity=quantity, unit_price=price)
        order.lines.append(line)
        session.add(order)
        session.flush()
        backorder = Backorder(shop_id=shop_id, order_line_id=line.id, variant_id=variant.id, quantity=quantity,
                              status=status, promised_eta=promised, original_eta=promised,
                              current_eta=current or promised, ordered_at=ordered_at, supplier_id=supplier_id,
                              shipped_at=datetime.now(timezone.utc) if status == "shipped" else None)
        session.add(backorder)
        session.flush()
        return backorder.id


def shop_id_of(runtime, platform: str, domain: str) -> int:
    with runtime.db.session() as session:
        return session.scalar(select(Shop.id).where(Shop.platform == platform, Shop.domain == domain))


@pytest.fixture
def shops(app, runtime, fake_shopify):
    """Two installed Shopify shops with one line each, and a connected WooCommerce store."""
    for domain in (SHOP, OTHER):
        fake_shopify.create_shop(domain)
        install_shop(runtime, fake_shopify, domain)
    with runtime.db.session() as session:  # as the connect flow records a store (REST keys, store URL)
        woo = Shop(platform="woocommerce", domain=WOO_DOMAIN, name="Woo shop", status="installed", settings={},
                   access_token="ck_x", store_url=WOO_STORE, installed_at=datetime.now(timezone.utc))
        session.add(woo)
    ids = {SHOP: shop_id_of(runtime, "shopify", SHOP), OTHER: shop_id_of(runtime, "shopify", OTHER), WOO_DOMAIN: woo.id}
    lines = {SHOP: add_line(runtime, ids[SHOP], order_name="#MINE"),
             OTHER: add_line(runtime, ids[OTHER], order_name="#THEIRS", sku="LAMP", title="Linen lamp"),
             WOO_DOMAIN: add_line(runtime, ids[WOO_DOMAIN], order_name="#WOO", sku="RUG", title="Wool rug")}
    return {"ids": ids, "lines": lines}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def concrete(rule: str, backorder_id: int) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", str(backorder_id), rule)


def call(client, operation, backorder_id: int, **kwargs):
    path = concrete(operation.rule, backorder_id)
    if operation.method == "GET":
        return client.get(path, **kwargs)
    body = {"eta": (date.today() + timedelta(days=30)).isoformat(), "reason": "supplier called"} \
        if operation.body is not None else None
    return client.open(path, method=operation.method, json=body, **kwargs)


AUTHENTICATED = [op for op in registry.operations if op.authenticated]


def launch_url(secret: str, *, store: str = WOO_STORE, user: str = "7", ts: int | None = None,
               nonce: str | None = None, sig: str | None = None) -> str:
    ts = str(int(time.time()) if ts is None else ts)
    nonce = nonce or secrets.token_hex(16)
    message = "|".join((store, user, ts, nonce)).encode()
    sig = sig or hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return "/admin/launch/woocommerce?" + urlencode({"store": store, "user": user, "ts": ts, "nonce": nonce, "sig": sig})


def woo_secret(runtime) -> str:
    with runtime.db.session() as session:
        shop = session.scalars(select(Shop).where(Shop.platform == "woocommerce")).one()
    return woocommerce_launch_secret(runtime, shop)


def launched(client, runtime) -> str:
    """Launch a WooCommerce session in this client; returns its CSRF token (from the page)."""
    response = client.get(launch_url(woo_secret(runtime)))
    assert response.status_code == 303, response.get_data(as_text=True)
    page = client.get("/admin/backorders").get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)


# -- API: nothing without a good credential ------------------------------------------------------
def test_every_api_route_refuses_a_missing_token(client, shops):
    assert AUTHENTICATED, "no API routes registered"
    for operation in AUTHENTICATED:
        response = call(client, operation, shops["lines"][SHOP])
        assert response.status_code == 401, (operation.method, operation.rule)
        assert response.get_json()["error"]["code"] == "unauthenticated"
        assert "rows" not in response.get_json() and "figures" not in response.get_json()


@pytest.mark.parametrize("kind", ["forged", "expired", "wrong_audience", "iss_dest_mismatch", "not_bearer"])
def test_every_api_route_refuses_a_bad_token(client, runtime, fake_shopify, shops, kind):
    tokens = {
        "forged": fake_shopify.session_token(SHOP, secret="not-the-app-secret-0123456789abcdef"),
        "expired": fake_shopify.session_token(SHOP, exp_in=-60),
        "wrong_audience": forge_session_token(SHOP, "someone-elses-app", API_SECRET),
        "iss_dest_mismatch": forge_session_token(SHOP, API_KEY, API_SECRET, iss_domain=OTHER),
    }
    headers = {"Authorization": "Basic Zm9vOmJhcg=="} if kind == "not_bearer" else bearer(tokens[kind])
    with runtime.db.session() as session:
        before = session.scalar(select(func.count()).select_from(Backorder).where(Backorder.status == "open"))
    for operation in AUTHENTICATED:
        response = call(client, operation, shops["lines"][SHOP], headers=headers)
        assert response.status_code == 401, (kind, operation.method, operation.rule, response.get_data(as_text=True))
        body = response.get_json()
        assert set(body) == {"error"}
    with runtime.db.session() as session:
        after = session.scalar(select(func.count()).select_from(Backorder).where(Backorder.status == "open"))
    assert after == before  # nothing was changed by any of the refused calls


def test_a_token_of_an_uninstalled_shop_is_refused(client, runtime, fake_shopify, shops):
    from plugin.shops.services import uninstall_shop

    uninstall_shop(runtime.db, "shopify", SHOP)
    response = client.get("/api/admin/backorders", headers=bearer(fake_shopify.session_token(SHOP)))
    assert response.status_code == 401


def test_the_old_secret_still_signs_good_tokens_during_rotation(client, fake_shopify, shops):
    from tests.conftest import OLD_API_SECRET

    token = fake_shopify.session_token(SHOP, secret=OLD_API_SECRET)
    assert client.get("/api/admin/backorders", headers=bearer(token)).status_code == 200


def test_another_shops_token_sees_none_of_this_shops_lines(client, fake_shopify, shops):
    mine, theirs = shops["lines"][SHOP], shops["lines"][OTHER]
    other = bearer(fake_shopify.session_token(OTHER))

    listed = client.get("/api/admin/backorders?status=open,ready,shipped,cancelled,refunded", headers=other).get_json()
    assert [row["id"] for row in listed["rows"]] == [theirs] and listed["total"] == 1
    assert all(row["order_name"] != "#MINE" for row in listed["rows"])
    overview = client.get("/api/admin/overview", headers=other).get_json()
    assert overview["figures"]["open_lines"] == 1
    for operation in AUTHENTICATED:
        if "{backorder_id}" not in operation.openapi_path:
            continue
        response = call(client, operation, mine, headers=other)
        assert response.status_code == 404, (operation.method, operation.rule)
        assert "#MINE" not in response.get_data(as_text=True)
    # ...and this shop's line was left alone.
    mine_now = client.get(f"/api/admin/backorders/{mine}", headers=bearer(fake_shopify.session_token(SHOP))).get_json()
    assert mine_now["status"] == "open" and mine_now["override"] is None


def test_a_good_token_reads_its_own_shop(client, fake_shopify, shops):
    response = client.get("/api/admin/backorders", headers=bearer(fake_shopify.session_token(SHOP)))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert [row["order_name"] for row in response.get_json()["rows"]] == ["#MINE"]


# -- pages -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/admin", "/admin/backorders"])
def test_pages_render_with_a_valid_id_token(client, fake_shopify, shops, path):
    response = client.get(path + "?" + app_home_query(SHOP, fake_shopify.session_token(SHOP)))
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert f'<meta name="shopify-api-key" content="{API_KEY}">' in html
    assert '<script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script>' in html
    assert "https://cdn.shopify.com/shopifycloud/polaris.js" in html
    assert "<s-app-nav>" in html and 'rel="home"' in html
    assert response.headers["Content-Security-Policy"].startswith(
        f"frame-ancestors https://{SHOP} https://admin.shopify.com")
    assert response.headers["Cache-Control"] == "no-store"
    assert "#THEIRS" not in html
    # Readable without the CDN: real navigation links that keep the app's context, and our own CSS.
    assert re.search(r'<a href="/admin/backorders\?[^"]*shop=' + re.escape(SHOP), html)
    assert "/admin/static/admin.css" in html and "id_token" not in html.split("<body", 1)[1]


def test_pages_without_a_session_token_are_bounced_for_one(client, fake_shopify, shops):
    response = client.get("/admin/backorders?" + app_home_query(SHOP, None))
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/auth/shopify/session-token"
    assert parse_qs(location.query)["shopify-reload"][0].startswith("/admin/backorders")


@pytest.mark.parametrize("kind", ["forged", "expired"])
def test_pages_with_a_bad_token_show_nothing(client, fake_shopify, shops, kind):
    token = (fake_shopify.session_token(SHOP, secret="bad-secret-bad-secret-bad-secret-0")
             if kind == "forged" else fake_shopify.session_token(SHOP, exp_in=-60))
    response = client.get("/admin/backorders?" + app_home_query(SHOP, token))
    assert response.status_code == 302 and "#MINE" not in response.get_data(as_text=True)


def test_a_page_opened_outside_shopify_admin_is_sent_into_it(client, shops):
    response = client.get(f"/admin/backorders?shop={SHOP}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"https://{SHOP}/admin/apps/{API_KEY}/backorders"


def test_polish_from_shopifys_locale_parameter(client, fake_shopify, shops):
    query = app_home_query(SHOP, fake_shopify.session_token(SHOP)) + "&locale=pl-PL"
    html = client.get("/admin/backorders?" + query).get_data(as_text=True)
    assert '<html lang="pl">' in html and "Zamówienia oczekujące" in html
    english = client.get("/admin?" + app_home_query(SHOP, fake_shopify.session_token(SHOP)),
                         headers={"Accept-Language": "de-DE,de;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in english and "Open backorder lines" in english
    polish = client.get("/admin?" + app_home_query(SHOP, fake_shopify.session_token(SHOP)),
                        headers={"Accept-Language": "pl,en;q=0.5"}).get_data(as_text=True)
    assert "Otwarte pozycje oczekujące" in polish


def test_both_catalogues_have_the_same_keys():
    from plugin.admin.i18n import MESSAGES

    assert set(MESSAGES["en"]) == set(MESSAGES["pl"])
    assert all(value.strip() for catalogue in MESSAGES.values() for value in catalogue.values())


# -- the WooCommerce launch link ---------------------------------------------------------------------
def test_launch_link_opens_a_session(client, runtime, shops):
    response = client.get(launch_url(woo_secret(runtime)))
    assert response.status_code == 303 and response.headers["Location"] == "/admin"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    for attribute in ("HttpOnly", "Secure", "SameSite=None", "Max-Age=28800", "Path=/"):
        assert attribute in cookie, cookie
    assert response.headers["Referrer-Policy"] == "no-referrer"

    page = client.get("/admin")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Open backorder lines" in html
    assert page.headers["Content-Security-Policy"].startswith("frame-ancestors 'none'")
    assert "app-bridge.js" not in html and 'name="shopify-api-key"' not in html
    assert re.search(r'<meta name="csrf-token" content="[^"]+">', html)
    listed = client.get("/api/admin/backorders").get_json()
    assert [row["order_name"] for row in listed["rows"]] == ["#WOO"]


def test_launch_link_store_url_is_normalised(client, runtime, shops):
    secret = woo_secret(runtime)
    for store in ("https://woo.example/", "http://www.woo.example", "HTTPS://Woo.Example/wp-admin/"):
        assert client.get(launch_url(secret, store=store)).status_code == 303, store


@pytest.mark.parametrize("case", ["forged", "other_secret", "expired", "future", "tampered_user", "unknown_store",
                                  "missing", "bad_nonce"])
def test_bad_launch_links_are_refused(client, runtime, shops, case):
    secret = woo_secret(runtime)
    now = int(time.time())
    urls = {
        "forged": launch_url(secret, sig="0" * 64),
        "other_secret": launch_url("another-shops-secret"),
        "expired": launch_url(secret, ts=now - 301),
        "future": launch_url(secret, ts=now + 120),
        "tampered_user": launch_url(secret).replace("user=7", "user=1"),
        "unknown_store": launch_url(secret, store="https://elsewhere.example"),
        "missing": "/admin/launch/woocommerce?store=" + WOO_STORE,
        "bad_nonce": launch_url(secret, nonce="short"),
    }
    response = client.get(urls[case])
    assert response.status_code in (400, 403), (case, response.status_code)
    assert "Set-Cookie" not in response.headers
    assert response.headers["Content-Security-Policy"].startswith("frame-ancestors 'none'")
    assert client.get("/api/admin/backorders").status_code == 401


def test_a_launch_link_works_once(client, runtime, shops):
    url = launch_url(woo_secret(runtime))
    assert client.get(url).status_code == 303
    fresh = client.application.test_client()
    replay = fresh.get(url)
    assert replay.status_code == 403 and "Set-Cookie" not in replay.headers
    assert "expired or was already used" in replay.get_data(as_text=True)
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(LaunchNonce)) == 1


def test_old_nonces_are_pruned(client, runtime, shops):
    with runtime.db.shop_session(shops["ids"][WOO_DOMAIN]) as session:
        session.add(LaunchNonce(shop_id=shops["ids"][WOO_DOMAIN], nonce="a" * 32,
                                used_at=datetime.now(timezone.utc) - timedelta(hours=1)))
    assert client.get(launch_url(woo_secret(runtime))).status_code == 303
    with runtime.db.session() as session:
        assert session.scalars(select(LaunchNonce.nonce)).all() != ["a" * 32]
        assert "a" * 32 not in session.scalars(select(LaunchNonce.nonce)).all()


def test_launch_secret_is_derived_per_shop(runtime, shops):
    with runtime.db.session() as session:
        woo = session.get(Shop, shops["ids"][WOO_DOMAIN])
        other = session.get(Shop, shops["ids"][SHOP])
    secret = woocommerce_launch_secret(runtime, woo)
    key = runtime.settings.resolved_secret_key().encode()
    assert secret == hmac.new(key, f"launch:{WOO_DOMAIN}".encode(), hashlib.sha256).hexdigest()
    assert secret != woocommerce_launch_secret(runtime, other) and re.fullmatch(r"[0-9a-f]{64}", secret)


def test_a_tampered_or_expired_session_cookie_is_refused(client, runtime, shops):
    launched(client, runtime)
    client.set_cookie(SESSION_COOKIE, "not-a-signed-value")
    assert client.get("/api/admin/backorders").status_code == 401
    assert client.get("/admin").status_code == 401


def test_launch_session_of_a_disconnected_store_ends(client, runtime, shops):
    from plugin.shops.services import uninstall_shop

    launched(client, runtime)
    uninstall_shop(runtime.db, "woocommerce", WOO_DOMAIN)
    assert client.get("/api/admin/backorders").status_code == 401
    assert client.get("/admin").status_code == 401


def test_cookie_sessions_need_the_csrf_header_to_change_anything(client, runtime, shops):
    csrf = launched(client, runtime)
    line = shops["lines"][WOO_DOMAIN]
    body = {"eta": (date.today() + timedelta(days=40)).isoformat(), "reason": "container delayed"}

    refused = client.post(f"/api/admin/backorders/{line}/eta", json=body)
    wrong = client.post(f"/api/admin/backorders/{line}/eta", json=body, headers={"X-CSRF-Token": "guess"})
    assert refused.status_code == wrong.status_code == 403
    assert refused.get_json()["error"]["code"] == "csrf_failed"
    with runtime.db.session() as session:
        assert session.get(Backorder, line).eta_override is None

    accepted = client.post(f"/api/admin/backorders/{line}/eta", json=body, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 200, accepted.get_data(as_text=True)
    assert accepted.get_json()["row"]["override"]["reason"] == "container delayed"


def test_no_javascript_forms_need_their_token(client, runtime, fake_shopify, shops):
    line = shops["lines"][SHOP]
    page = client.get("/admin/backorders?" + app_home_query(SHOP, fake_shopify.session_token(SHOP)))
    token = re.search(r'name="_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    form = {"confirm": "1", "eta": (date.today() + timedelta(days=20)).isoformat(), "reason": "by phone"}
    query = app_home_query(SHOP, None)

    assert client.post(f"/admin/backorders/{line}/eta?{query}", data=form).status_code == 403
    assert client.post(f"/admin/backorders/{line}/eta?{query}", data={**form, "_token": "x" + token}).status_code == 403
    with runtime.db.session() as session:
        assert session.get(Backorder, line).eta_override is None
    done = client.post(f"/admin/backorders/{line}/eta?{query}", data={**form, "_token": token})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert "by phone" in done.get_data(as_text=True)
    # Another shop's line with this shop's form token: not found, nothing changed.
    theirs = shops["lines"][OTHER]
    assert client.post(f"/admin/backorders/{theirs}/eta?{query}", data={**form, "_token": token}).status_code == 404
    with runtime.db.session() as session:
        assert session.get(Backorder, theirs).eta_override is None


# -- the OpenAPI document ------------------------------------------------------------------------------
def test_openapi_document_lists_every_route_and_validates(client):
    from openapi_spec_validator import validate

    response = client.get("/api/admin/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)  # raises when the document is not valid OpenAPI 3.1
    assert document["openapi"].startswith("3.1")
    listed = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    registered = {(op.method, op.openapi_path) for op in registry.operations}
    assert listed == registered
    flask_rules = {(method, rule.rule) for rule in client.application.url_map.iter_rules()
                   if rule.rule.startswith("/api/admin") for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert {(m, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r)) for m, r in flask_rules} == registered
    expected = {("GET", "/api/admin/backorders"), ("GET", "/api/admin/overview"),
                ("POST", "/api/admin/backorders/{backorder_id}/eta"),
                ("POST", "/api/admin/backorders/{backorder_id}/resend"),
                ("POST", "/api/admin/backorders/{backorder_id}/refund"),
                ("POST", "/api/admin/backorders/{backorder_id}/shipped")}
    assert expected <= listed
    listing = document["paths"]["/api/admin/backorders"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"status", "product", "supplier_id", "promised_from",
                                                           "promised_to", "delayed", "sort", "page", "per_page"}
    assert "401" in listing["responses"]
    eta = document["paths"]["/api/admin/backorders/{backorder_id}/eta"]["post"]
    assert eta["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/EtaOverrideIn")
    assert {"sessionToken": []} in eta["security"]
