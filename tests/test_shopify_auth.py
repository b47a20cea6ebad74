"""Install and sign-in: Shopify-managed install via the app home, the OAuth code grant, uninstall."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from sqlalchemy import text

from connectors.shopify import operations as ops
from connectors.shopify.graphql import ShopifyAuthError, ShopifyGraphQL
from connectors.shopify.http import RedirectingTransport, shopify_http_client
from connectors.shopify.lifecycle import on_app_uninstalled
from connectors.shopify.manifest import api_version, shopify_manifest
from connectors.shopify.throttle import BucketModel
from connectors.shopify.tokens import REFRESH_MARGIN, ShopifyTokens
from plugin.crypto import current_vault
from plugin.db.models import Supplier
from tests.conftest import API_KEY, API_SECRET, OLD_API_SECRET
from tests.shopify_helpers import (  # noqa: F401  (fixtures)
    SHOP,
    app_home_query,
    forge_session_token,
    open_app_home,
    recorder,
    sign_query,
    store,
    stored_shop,
)
from webhooks.topics import InboxEvent
from webhooks.worker import InboxWorker

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


def _shop_name_with(runtime, token: str) -> str:
    """Ask the store who it is with this token: proves the token we kept is the one Shopify issued."""
    with shopify_http_client(runtime) as http:
        client = ShopifyGraphQL(http, SHOP, api_version(), lambda _force: token, BucketModel(), max_attempts=2)
        return client.execute(ops.SHOP_INFO)["shop"]["name"]


# -- Shopify-managed install through the app home ---------------------------------------------
def test_managed_install_stores_an_expiring_encrypted_token(client, runtime, fake_shopify, store, recorder):
    response = open_app_home(client, fake_shopify)

    assert response.status_code == 200, response.get_data(as_text=True)
    shop = stored_shop(runtime)
    assert shop is not None and (shop.platform, shop.status) == ("shopify", "installed")
    assert shop.installed_at is not None and shop.uninstalled_at is None
    html = response.get_data(as_text=True)
    assert "<title>Backorder Desk</title>" in html
    assert f'<meta name="shopify-api-key" content="{API_KEY}">' in html
    assert '<script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script>' in html
    assert shop.name and shop.name in html
    assert response.headers["Content-Security-Policy"].startswith(
        f"frame-ancestors https://{SHOP} https://admin.shopify.com")

    [exchange] = recorder.token_calls(TOKEN_EXCHANGE)
    assert exchange["requested_token_type"] == "urn:shopify:params:oauth:token-type:offline-access-token"
    assert str(exchange["expiring"]) == "1"
    now = datetime.now(timezone.utc)
    assert shop.access_token and shop.refresh_token
    assert shop.access_token_expires_at > now + REFRESH_MARGIN
    assert shop.refresh_token_expires_at > shop.access_token_expires_at
    assert set(shopify_manifest()["access_scopes"]) <= _expanded(shop.scopes)
    assert _shop_name_with(runtime, shop.access_token) == shop.name

    with runtime.db.session() as session:
        raw_access, raw_refresh = session.execute(
            text("SELECT access_token, refresh_token FROM shops WHERE id = :id"), {"id": shop.id}).one()
    assert shop.access_token not in raw_access and shop.refresh_token not in raw_refresh
    assert current_vault().decrypt(raw_access) == shop.access_token


def test_app_home_of_an_installed_shop_does_not_exchange_again(client, runtime, fake_shopify, store, recorder):
    assert open_app_home(client, fake_shopify).status_code == 200
    token = stored_shop(runtime).access_token

    assert open_app_home(client, fake_shopify).status_code == 200

    assert len(recorder.token_calls()) == 1
    assert stored_shop(runtime).access_token == token


def test_forged_session_token_installs_nothing(client, runtime, fake_shopify, store, recorder):
    forged = forge_session_token(SHOP, API_KEY, "not-the-app-secret")

    document = client.get("/admin?" + app_home_query(SHOP, forged))
    fetch = client.get("/admin?embedded=1&shop=" + SHOP, headers={"Authorization": f"Bearer {forged}"})

    # shopify_app's answers: a document request goes for a fresh token, a fetch is told to retry.
    assert document.status_code == 302
    location = urlsplit(document.headers["Location"])
    assert location.path == "/auth/shopify/session-token" and "shopify-reload" in parse_qs(location.query)
    assert fetch.status_code == 401 and fetch.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
    assert stored_shop(runtime) is None
    assert recorder.token_calls() == []


def test_expired_session_token_installs_nothing(client, runtime, fake_shopify, store, recorder):
    expired = fake_shopify.session_token(SHOP, exp_in=-60)

    fetch = client.get("/admin?embedded=1&shop=" + SHOP, headers={"Authorization": f"Bearer {expired}"})

    assert fetch.status_code == 401
    assert open_app_home(client, fake_shopify, exp_in=-60).status_code == 302
    assert stored_shop(runtime) is None and recorder.token_calls() == []


def test_session_token_issued_by_another_shop_is_refused(client, runtime, fake_shopify, store, recorder):
    # Correctly signed, but iss and dest disagree: shopify_app does not check this, we do.
    mixed = forge_session_token(SHOP, API_KEY, API_SECRET, iss_domain="someone-else.myshopify.com")

    response = client.get("/admin?" + app_home_query(SHOP, mixed))

    assert response.status_code in (302, 401)
    assert stored_shop(runtime) is None and recorder.token_calls() == []


def test_session_token_page_loads_app_bridge(client):
    response = client.get("/auth/shopify/session-token?" + urlencode({"shop": SHOP, "shopify-reload": "/admin"}))

    assert response.status_code == 200
    assert f'data-api-key="{API_KEY}"' in response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"].startswith(f"frame-ancestors https://{SHOP} ")


def test_app_opened_outside_shopify_admin_is_sent_into_it(client):
    response = client.get("/admin?shop=" + SHOP)
    assert response.status_code == 302
    assert response.headers["Location"] == f"https://{SHOP}/admin/apps/{API_KEY}"
    assert client.get("/admin?shop=evil.example.com").status_code == 400


# -- authorization-code grant -----------------------------------------------------------------
def _start_install(client, shop: str = SHOP) -> httpx.URL:
    response = client.get("/auth/shopify/install?" + urlencode({"shop": shop}))
    assert response.status_code == 302, response.get_data(as_text=True)
    return httpx.URL(response.headers["Location"])


def _approve_at_store(runtime, authorize_url: httpx.URL) -> dict[str, str]:
    """The merchant approves on Shopify; Shopify redirects back to our callback with signed params."""
    with shopify_http_client(runtime) as http:
        response = http.get(authorize_url, follow_redirects=False)
    assert response.status_code in (301, 302, 303), response.text
    back = httpx.URL(response.headers["Location"])
    assert f"{back.scheme}://{back.host}{back.path}" == "https://app.example.test/auth/shopify/callback"
    return dict(back.params)


def _callback(client, params: dict[str, str]):
    return client.get("/auth/shopify/callback?" + urlencode(params))


def test_install_rejects_a_domain_outside_myshopify(client):
    for bad in ("evil.example.com", f"{SHOP}.evil.example.com", "https://evil.example.com/x.myshopify.com", ""):
        response = client.get("/auth/shopify/install?" + urlencode({"shop": bad}))
        assert response.status_code == 400, bad
        assert "myshopify.com" in response.get_data(as_text=True)


def test_code_grant_installs_the_shop(client, runtime, fake_shopify, store, recorder):
    authorize = _start_install(client)
    assert (authorize.scheme, authorize.host, authorize.path) == ("https", SHOP, "/admin/oauth/authorize")
    assert authorize.params["client_id"] == API_KEY
    assert authorize.params["scope"] == ",".join(shopify_manifest()["access_scopes"])
    assert authorize.params["redirect_uri"] == "https://app.example.test/auth/shopify/callback"
    assert len(authorize.params["state"]) >= 32

    params = _approve_at_store(runtime, authorize)
    response = _callback(client, params)

    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == f"https://{SHOP}/admin/apps/{API_KEY}"
    shop = stored_shop(runtime)
    assert shop is not None and shop.status == "installed" and shop.name
    assert _shop_name_with(runtime, shop.access_token) == shop.name
    [grant] = recorder.token_calls("authorization_code")
    assert grant["code"] == params["code"] and grant["client_id"] == API_KEY
    # Both install paths ask for an expiring token, so every shop refreshes the same way.
    assert grant["expiring"] == "1"
    assert shop.refresh_token and shop.access_token_expires_at > datetime.now(timezone.utc) + REFRESH_MARGIN
    # The state is single use: replaying the same callback is refused.
    assert _callback(client, params).status_code == 403


def test_callback_with_a_wrong_state_is_rejected(client, runtime, fake_shopify, store, recorder):
    params = _approve_at_store(runtime, _start_install(client))
    params["state"] = "not-the-state-we-issued"
    params["hmac"] = sign_query(params, API_SECRET)  # correctly signed, so only the state is wrong

    assert _callback(client, params).status_code == 403
    assert stored_shop(runtime) is None and recorder.token_calls("authorization_code") == []


def test_callback_with_a_bad_hmac_is_rejected(client, runtime, fake_shopify, store, recorder):
    params = _approve_at_store(runtime, _start_install(client))

    tampered = dict(params, hmac="0" * 64)
    unsigned = {k: v for k, v in params.items() if k != "hmac"}
    other_secret = dict(params, hmac=sign_query(params, "some-other-app-secret"))

    for bad in (tampered, unsigned, other_secret):
        assert _callback(client, bad).status_code == 401
    assert stored_shop(runtime) is None and recorder.token_calls("authorization_code") == []
    # The state survived the forgeries: the genuine callback still completes.
    assert _callback(client, params).status_code == 302


def test_callback_signed_with_the_old_secret_is_accepted(client, runtime, fake_shopify, store):
    params = _approve_at_store(runtime, _start_install(client))
    params["hmac"] = sign_query(params, OLD_API_SECRET)

    assert _callback(client, params).status_code == 302
    assert stored_shop(runtime).status == "installed"


def test_callback_for_another_shop_than_the_one_started_is_rejected(client, runtime, fake_shopify, store):
    params = _approve_at_store(runtime, _start_install(client))
    params["shop"] = "someone-else.myshopify.com"
    params["hmac"] = sign_query(params, API_SECRET)

    assert _callback(client, params).status_code == 403
    assert stored_shop(runtime) is None and stored_shop(runtime, "someone-else.myshopify.com") is None


# -- uninstall and reinstall ------------------------------------------------------------------
def _uninstalled_event(shop, received_at=None) -> InboxEvent:
    return InboxEvent(
        id=1, platform="shopify", topic="app/uninstalled", shop_id=shop.id, shop_domain=shop.domain,
        headers={"x-shopify-topic": "app/uninstalled"}, payload={"myshopify_domain": shop.domain},
        received_at=received_at or datetime.now(timezone.utc),
    )


def test_app_uninstalled_marks_the_shop_and_deletes_its_tokens(client, runtime, fake_shopify, store):
    assert open_app_home(client, fake_shopify).status_code == 200
    shop = stored_shop(runtime)

    on_app_uninstalled(runtime, _uninstalled_event(shop))
    first = stored_shop(runtime)
    on_app_uninstalled(runtime, _uninstalled_event(shop))  # redelivery: nothing changes

    again = stored_shop(runtime)
    assert (again.status, again.access_token, again.refresh_token) == ("uninstalled", None, None)
    assert again.access_token_expires_at is None and again.refresh_token_expires_at is None
    assert again.uninstalled_at is not None and again.uninstalled_at == first.uninstalled_at
    try:
        ShopifyTokens(runtime).access_token(shop.id)
    except ShopifyAuthError:
        pass
    else:
        raise AssertionError("an uninstalled shop must not hand out a token")


def test_uninstall_webhook_then_reinstall_revives_the_same_shop(client, runtime, fake_shopify, store, recorder):
    assert open_app_home(client, fake_shopify).status_code == 200
    shop = stored_shop(runtime)
    with runtime.db.shop_session(shop.id) as session:
        session.add(Supplier(name="Kept across reinstalls"))

    # The merchant uninstalls: Shopify revokes the tokens and sends app/uninstalled to our endpoint.
    assert fake_shopify.uninstall(SHOP) == 200
    assert InboxWorker(runtime).run_once() == 1
    gone = stored_shop(runtime)
    assert (gone.status, gone.access_token, gone.refresh_token) == ("uninstalled", None, None)

    # ...and installs again: Shopify frames the app home, which exchanges a new session token.
    assert open_app_home(client, fake_shopify).status_code == 200

    back = stored_shop(runtime)
    assert back.id == shop.id
    assert (back.status, back.uninstalled_at) == ("installed", None)
    assert back.access_token and back.access_token != shop.access_token
    assert back.installed_at > shop.installed_at
    assert _shop_name_with(runtime, back.access_token) == back.name
    assert len(recorder.token_calls(TOKEN_EXCHANGE)) == 2
    with runtime.db.shop_session(shop.id) as session:
        assert [s.name for s in session.query(Supplier)] == ["Kept across reinstalls"]
    # An uninstall event received before this reinstall, handled late, does not undo it.
    on_app_uninstalled(runtime, _uninstalled_event(shop, received_at=shop.installed_at))
    assert stored_shop(runtime).status == "installed"


# -- the transport seam -----------------------------------------------------------------------
def test_fake_url_transport_keeps_path_and_shop_host():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers["Host"]))
        return httpx.Response(200, json={})

    for base in ("http://127.0.0.1:8899", "http://127.0.0.1:8899/_fake/shopify/"):
        transport = RedirectingTransport(base, inner=httpx.MockTransport(handler))
        with httpx.Client(transport=transport) as http:
            http.post(f"https://{SHOP}/admin/api/2026-10/graphql.json?x=1", json={})

    assert seen == [("http://127.0.0.1:8899/admin/api/2026-10/graphql.json?x=1", SHOP),
                    ("http://127.0.0.1:8899/_fake/shopify/admin/api/2026-10/graphql.json?x=1", SHOP)]


def _expanded(scopes: str | None) -> set[str]:
    """Scopes with the ones a write scope implies (Shopify may omit read_x when it grants write_x)."""
    granted = {s.strip() for s in (scopes or "").split(",") if s.strip()}
    return granted | {"read_" + s[len("write_"):] for s in granted if s.startswith("write_")}
