"""The dev store's OAuth endpoints, driven by the real `shopify_app` package the app uses."""
from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
import pytest
import shopify_app

from connectors.shopify.devstore import FakeShopify

KEY = "devstore-test-key"
SECRET = "devstore-test-secret-0123456789abcdef"  # >= 32 bytes, like a real client secret
SHOP = "oak-and-linen.myshopify.com"
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def fake(clock):
    store = FakeShopify(KEY, SECRET, clock=clock, access_token_ttl=3600)
    store.create_shop(SHOP, name="Oak & Linen")
    return store


@pytest.fixture
def http(fake):
    return httpx.Client(transport=httpx.WSGITransport(app=fake.wsgi_app))


@pytest.fixture
def app():
    return shopify_app.ShopifyApp(KEY, SECRET)


def verified_id_token(app, token):
    """What the app does with App Bridge's token before exchanging it."""
    result = app.verify_app_home_req({"method": "GET", "headers": {"authorization": f"Bearer {token}"},
                                      "url": "https://app.example.test/api/settings", "body": ""}, "/auth/patch")
    assert result.ok, result.log
    return result.id_token


def graphql_status(http, token):
    response = http.post(f"https://{SHOP}/admin/api/2026-10/graphql.json", json={"query": "{ shop { id } }"},
                         headers={"X-Shopify-Access-Token": token})
    return response.status_code, response.json()


def test_session_token_has_app_bridge_claims(fake):
    token = fake.session_token(SHOP, user_id=42)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=KEY)
    assert header["alg"] == "HS256"
    assert claims["iss"] == f"https://{SHOP}/admin" and claims["dest"] == f"https://{SHOP}"
    assert claims["aud"] == KEY and claims["sub"] == "42"
    assert claims["exp"] - claims["iat"] == 60 and claims["nbf"] == claims["iat"]
    assert claims["jti"] and claims["sid"]


def test_token_exchange_expiring_offline_token_through_shopify_app(fake, http, app):
    result = app.exchange_using_token_exchange("offline", id_token=verified_id_token(app, fake.session_token(SHOP)),
                                               http_client=http)
    assert result.ok, result.log
    token = result.access_token
    assert token.shop == "oak-and-linen" and token.expires and token.refresh_token and token.refresh_token_expires
    assert set(token.scope.split(",")) == {"read_products", "write_products", "read_inventory",
                                           "read_inventory_shipments", "read_orders", "write_orders", "read_customers",
                                           "write_app_proxy"}
    assert graphql_status(http, token.token)[0] == 200


def test_token_exchange_answer_shapes(fake, http):
    def exchange(expiring):
        return http.post(f"https://{SHOP}/admin/oauth/access_token", json={
            "client_id": KEY, "client_secret": SECRET,
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": fake.session_token(SHOP),
            "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
            "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
            "expiring": expiring})

    expiring = exchange(1)
    assert expiring.status_code == 200
    assert set(expiring.json()) == {"access_token", "expires_in", "refresh_token", "refresh_token_expires_in", "scope"}
    assert expiring.json()["expires_in"] == 3600 and expiring.json()["refresh_token_expires_in"] == 90 * 86400
    forever = exchange(0)
    assert set(forever.json()) == {"access_token", "scope"}


def test_online_token_exchange_names_the_user(fake, http, app):
    result = app.exchange_using_token_exchange("online", id_token=verified_id_token(app, fake.session_token(SHOP, 7)),
                                               http_client=http)
    assert result.ok and result.access_token.user.id == 7 and result.access_token.expires


@pytest.mark.parametrize("forge", [
    {"secret": "another-secret-0123456789abcdef0123"},
    {"claims": {"aud": "someone-else"}},
    {"exp_in": -120},
    {"claims": {"dest": "https://elsewhere.myshopify.com"}},
])
def test_invalid_session_token_is_invalid_subject_token(fake, http, forge):
    token = fake.session_token(SHOP, **forge)
    result = shopify_app.token_exchange("offline", {"client_id": KEY, "client_secret": SECRET},
                                        id_token={"exchangeable": True, "token": token,
                                                  "claims": {"dest": f"https://{SHOP}"}},
                                        http_client=http)
    assert not result.ok and result.log.code == "invalid_subject_token"
    assert result.http_logs[-1].res.status == 400


def test_wrong_client_secret_is_invalid_client(fake, http):
    wrong = shopify_app.ShopifyApp(KEY, "not-the-secret-0123456789abcdef0123")
    token = fake.session_token(SHOP)
    result = wrong.exchange_using_token_exchange(
        "offline", id_token={"exchangeable": True, "token": token, "claims": {"dest": f"https://{SHOP}"}},
        http_client=http)
    assert result.log.code == "invalid_client" and result.http_logs[-1].res.status == 401


def test_access_token_expires_on_the_clock_and_refresh_rotates(fake, http, app, clock):
    first = app.exchange_using_token_exchange("offline", id_token=verified_id_token(app, fake.session_token(SHOP)),
                                              http_client=http).access_token
    clock.now += 3600
    assert graphql_status(http, first.token) == (401, {"errors": INVALID_TOKEN})

    stored = {"shop": first.shop, "refresh_token": first.refresh_token, "expires": "2000-01-01T00:00:00Z",
              "refresh_token_expires": first.refresh_token_expires, "access_mode": "offline"}
    second = shopify_app.refresh_access_token(stored, {"client_id": KEY, "client_secret": SECRET}, http)
    assert second.ok, second.log
    assert second.access_token.token != first.token and second.access_token.refresh_token != first.refresh_token
    assert graphql_status(http, second.access_token.token)[0] == 200

    # Shopify keeps a used refresh token retryable until its replacement is used (lost answers)...
    retry = shopify_app.refresh_access_token(stored, {"client_id": KEY, "client_secret": SECRET}, http)
    assert retry.ok
    # ...and retires it once the app refreshes with the replacement.
    replaced = dict(stored, refresh_token=retry.access_token.refresh_token)
    assert shopify_app.refresh_access_token(replaced, {"client_id": KEY, "client_secret": SECRET}, http).ok
    reused = shopify_app.refresh_access_token(stored, {"client_id": KEY, "client_secret": SECRET}, http)
    assert not reused.ok and reused.log.code == "invalid_grant"
    assert reused.http_logs[-1].res.status == 400
    # The sibling replacement issued by the first attempt is retired as well.
    sibling = dict(stored, refresh_token=second.access_token.refresh_token)
    assert shopify_app.refresh_access_token(sibling, {"client_id": KEY, "client_secret": SECRET}, http).log.code \
        == "invalid_grant"


def test_authorization_code_flow(fake, http):
    response = http.get(f"https://{SHOP}/admin/oauth/authorize", params={
        "client_id": KEY, "scope": "read_orders,write_orders", "state": "nonce-1",
        "redirect_uri": "https://app.example.test/auth/shopify/callback"})
    assert response.status_code == 302
    location = urlparse(response.headers["location"])
    assert location.netloc == "app.example.test" and location.path == "/auth/shopify/callback"
    query = {key: values[0] for key, values in parse_qs(location.query).items()}
    assert set(query) == {"code", "hmac", "host", "shop", "state", "timestamp"}
    assert query["shop"] == SHOP and query["state"] == "nonce-1"
    assert base64.b64decode(query["host"] + "==").decode() == "admin.shopify.com/store/oak-and-linen"
    message = "&".join(f"{key}={query[key]}" for key in sorted(query) if key != "hmac")
    assert hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest() == query["hmac"]

    grant = {"client_id": KEY, "client_secret": SECRET, "code": query["code"]}
    token = http.post(f"https://{SHOP}/admin/oauth/access_token", data=grant)  # form-encoded, like most clients
    assert token.status_code == 200 and token.json()["scope"] == "read_orders,write_orders"
    assert graphql_status(http, token.json()["access_token"])[0] == 200
    again = http.post(f"https://{SHOP}/admin/oauth/access_token", json=grant)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_request",
                            "error_description": "The authorization code was not found or was already used"}


def test_authorize_refuses_an_unknown_client(http):
    response = http.get(f"https://{SHOP}/admin/oauth/authorize",
                        params={"client_id": "nope", "scope": "read_orders", "redirect_uri": "https://x.test/cb"})
    assert response.status_code == 400 and "nope" in response.text


def test_uninstall_revokes_tokens(fake, http):
    answer = fake.issue_access_token(SHOP)
    assert graphql_status(http, answer["access_token"])[0] == 200
    fake.uninstall(SHOP)
    assert graphql_status(http, answer["access_token"]) == (401, {"errors": INVALID_TOKEN})
    refresh = http.post(f"https://{SHOP}/admin/oauth/access_token", json={
        "client_id": KEY, "client_secret": SECRET, "grant_type": "refresh_token",
        "refresh_token": answer["refresh_token"]})
    assert refresh.status_code == 401 and refresh.json()["error"] == "invalid_client"


def test_token_of_one_shop_does_not_open_another(fake, http):
    fake.create_shop("other.myshopify.com")
    token = fake.issue_access_token(SHOP)["access_token"]
    response = http.post("https://other.myshopify.com/admin/api/2026-10/graphql.json",
                         json={"query": "{ shop { id } }"}, headers={"X-Shopify-Access-Token": token})
    assert response.status_code == 401
