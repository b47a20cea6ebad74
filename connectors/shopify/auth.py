"""Shopify entrypoints for install and sign-in: the embedded app home and the OAuth code grant.

- GET /admin is the app's application_url. Shopify admin loads it in an iframe with `shop`,
  `host`, `embedded=1` and a session token (`id_token`). The page itself is the merchant's admin
  (plugin/admin), which verifies every request through `authenticate_app_home` here: shopify_app
  checks the request, and a shop without a usable offline token gets one by token exchange
  (Shopify-managed install).
- GET /auth/shopify/install and /auth/shopify/callback are the authorization-code grant, for
  installs that start outside Shopify admin (a merchant typing their store's domain).
"""
from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
import httpx
import shopify
from flask import Blueprint, Response, current_app, redirect, request, session
from shopify_app import Res

from connectors.base import ConnectorError
from connectors.shopify.http import shopify_http_client
from connectors.shopify.lifecycle import PLATFORM, complete_install
from connectors.shopify.manifest import api_version
from connectors.shopify.shop_domain import InvalidShopDomain, normalize_shop_domain
from connectors.shopify.tokens import (
    ShopifyNotConfigured,
    ShopifyTokens,
    TokenExchangeFailed,
    TokenGrant,
    needs_token_exchange,
    required_scopes,
    shopify_app,
    token_shop_domain,
)
from plugin.db.models import Shop, utcnow
from plugin.shops.services import find_shop

log = logging.getLogger(__name__)
bp = Blueprint("shopify_auth", __name__)

APP_HOME_PATH = "/admin"
# Where shopify_app sends a document request whose session token is missing or stale: a tiny page
# that loads App Bridge, which fetches a fresh token and reloads the app home.
SESSION_TOKEN_PATH = "/auth/shopify/session-token"
CALLBACK_PATH = "/auth/shopify/callback"
_STATE_KEY = "shopify_oauth"


def _runtime():
    return current_app.extensions["backorder_desk"]


@bp.errorhandler(ShopifyNotConfigured)
def _not_configured(exc):
    log.error("Shopify app credentials are not configured")
    return _text("This app is not configured for Shopify (SHOPIFY_API_KEY / SHOPIFY_API_SECRET).", 500)


# -- embedded app home ------------------------------------------------------------------------
@dataclass(frozen=True)
class AppHomeAuth:
    """A verified document or fetch request of the embedded admin: whose it is, and what to add.

    `response` is set when the request must be answered with it as it is (a redirect into Shopify
    admin, shopify_app's bounce to the session-token page, a 401); otherwise `shop` is the
    installed shop the session token speaks for and `headers` what shopify_app says a document
    answer must carry (CSP frame-ancestors, preload links).
    """

    response: Response | None = None
    shop: Shop | None = None
    domain: str | None = None
    user_id: str | None = None
    headers: dict = field(default_factory=dict)


def authenticate_app_home(runtime, *, subpath: str = "", install: bool = True) -> AppHomeAuth:
    """Verify the current request as an App Home request (document or `Authorization: Bearer` fetch).

    Every page of the embedded admin (plugin/admin) comes through here. A document request
    without a usable session token is bounced through the session-token page; opened outside
    Shopify admin, it is sent into it (to the same page: `subpath` after /admin). With `install`,
    a shop without a usable offline token gets one by token exchange (Shopify-managed install),
    as the app home always did; otherwise such a shop is refused (401).
    """
    settings = runtime.settings
    app = shopify_app(settings)
    if _opened_outside_admin():
        # Someone opened the app URL directly: send them to the app inside their Shopify admin.
        try:
            domain = normalize_shop_domain(request.args.get("shop"))
        except InvalidShopDomain as exc:
            return AppHomeAuth(response=_text(str(exc), 400))
        return AppHomeAuth(response=redirect(_admin_app_url(domain, settings.shopify_api_key) + subpath))

    verified = app.verify_app_home_req(_request_input(), app_home_patch_id_token_path=SESSION_TOKEN_PATH)
    if not verified.ok or verified.id_token is None:
        log.info("app home request not verified", extra={"code": verified.log.code, "path": request.path})
        return AppHomeAuth(response=_respond(verified.response))
    try:
        domain = token_shop_domain(verified.id_token)
    except TokenExchangeFailed as exc:
        log.warning("session token's issuer and destination disagree", extra={"code": exc.code})
        return AppHomeAuth(response=_respond(verified.invalid_token_response or exc.response))

    shop = find_shop(runtime.db, PLATFORM, domain)
    if needs_token_exchange(shop, utcnow()):
        if not install:
            return AppHomeAuth(response=_respond(verified.invalid_token_response or Res(401, "Unauthorized", {})))
        try:
            grant = ShopifyTokens(runtime).token_exchange(
                domain, verified.id_token, invalid_token_response=verified.invalid_token_response)
        except TokenExchangeFailed as exc:
            return AppHomeAuth(response=_respond(exc.response))
        shop = complete_install(runtime, domain, grant)
        log.info("shopify shop authorized by token exchange", extra={"shop": domain})

    headers = dict(verified.response.headers)
    if "Authorization" not in request.headers:
        # shopify_app adds this for document requests; Shopify rejects apps framed from elsewhere.
        headers.setdefault("Content-Security-Policy", f"frame-ancestors https://{domain} https://admin.shopify.com;")
    return AppHomeAuth(shop=shop, domain=domain, user_id=verified.user_id, headers=headers)


@bp.get(SESSION_TOKEN_PATH)
def session_token_page():
    result = shopify_app(_runtime().settings).app_home_patch_id_token(_request_input())
    return _respond(result.response)


def _opened_outside_admin() -> bool:
    return request.args.get("embedded") != "1" and "Authorization" not in request.headers


# -- authorization-code grant -----------------------------------------------------------------
@bp.get("/auth/shopify/install")
def install():
    settings = _runtime().settings
    shopify_app(settings)  # fail early and clearly when unconfigured
    try:
        domain = normalize_shop_domain(request.args.get("shop"))
    except InvalidShopDomain as exc:
        return _text(str(exc), 400)
    state = secrets.token_urlsafe(32)
    # Flask's session is a signed cookie: the state cannot be forged, and it is bound to this browser.
    session[_STATE_KEY] = {"state": state, "shop": domain}
    oauth = _oauth_session(settings.shopify_api_key, settings.shopify_api_secret)(domain, api_version())
    return redirect(oauth.create_permission_url(
        required_scopes(), settings.public_url + CALLBACK_PATH, state=state))


@bp.get(CALLBACK_PATH)
def callback():
    runtime = _runtime()
    settings = runtime.settings
    shopify_app(settings)
    params = request.args.to_dict()
    try:
        domain = normalize_shop_domain(params.get("shop"))
    except InvalidShopDomain as exc:
        return _text(str(exc), 400)
    if not _valid_hmac(params, settings):
        log.warning("oauth callback with a bad hmac", extra={"shop": domain})
        return _text("The request's signature (hmac) is invalid or too old.", 401)
    expected = session.pop(_STATE_KEY, None)  # single use, whatever happens next
    if (not expected or expected.get("shop") != domain
            or not hmac.compare_digest(str(expected.get("state", "")), params.get("state", ""))):
        log.warning("oauth callback with a bad state", extra={"shop": domain})
        return _text("The install link has expired or was not started in this browser; please start again.", 403)
    if not params.get("code"):
        return _text("Missing authorization code.", 400)
    try:
        grant = exchange_authorization_code(runtime, domain, params["code"])
    except ConnectorError as exc:
        log.warning("oauth code exchange failed", extra={"shop": domain, "error": str(exc)[:200]})
        return _text("Shopify did not accept the authorization; please install again.", 502)
    complete_install(runtime, domain, grant)
    log.info("shopify shop authorized by code grant", extra={"shop": domain})
    return redirect(_admin_app_url(domain, settings.shopify_api_key))


def exchange_authorization_code(runtime, shop_domain: str, code: str) -> TokenGrant:
    """POST /admin/oauth/access_token with the code; asks for an expiring token + refresh token.

    ShopifyAPI's `Session.request_token` would do this, but it calls urllib directly (no seam for
    `runtime.shopify_transport`, no timeout) and drops the expiry and refresh token. So ShopifyAPI
    builds the shop URL and checks the HMAC (before this is called), and httpx sends the same form
    request it would, plus `expiring=1` so both install paths yield the same kind of token. A store
    that answers without `expires_in` gives a non-expiring token, which is stored as such.
    """
    settings = runtime.settings
    oauth = _oauth_session(settings.shopify_api_key, settings.shopify_api_secret)(shop_domain, api_version())
    now = utcnow()
    with shopify_http_client(runtime) as http:
        try:
            response = http.post(
                f"https://{oauth.url}/admin/oauth/access_token",
                data={"client_id": settings.shopify_api_key, "client_secret": settings.shopify_api_secret,
                      "code": code, "expiring": "1"},
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise ConnectorError(f"token endpoint unreachable: {type(exc).__name__}") from None
    if response.status_code != 200:
        # The body names the error (e.g. invalid_request); it never carries a credential.
        raise ConnectorError(f"token endpoint answered HTTP {response.status_code}: {response.text[:200]}",
                             retryable=False)
    try:
        return TokenGrant.from_token_response(response.json(), now)
    except (ValueError, KeyError, TypeError):
        raise ConnectorError("token endpoint answered without an access token", retryable=False) from None


def _valid_hmac(params: dict, settings) -> bool:
    """Shopify signs the query with the app secret; accept the previous secret during rotation."""
    for secret in filter(None, (settings.shopify_api_secret, settings.shopify_api_secret_old)):
        if _oauth_session(settings.shopify_api_key, secret).validate_params(params):
            return True
    return False


@lru_cache(maxsize=8)
def _oauth_session(api_key: str, secret: str) -> type[shopify.Session]:
    """A shopify.Session class configured for these credentials.

    `shopify.Session.setup()` stores credentials on the class, i.e. process-wide; a subclass per
    credential pair keeps runtimes (and the old secret during rotation) from overwriting each other.
    """
    cls = type("BackorderDeskShopifySession", (shopify.Session,), {})
    cls.setup(api_key=api_key, secret=secret)
    return cls


# -- small helpers ----------------------------------------------------------------------------
def _admin_app_url(domain: str, api_key: str) -> str:
    return f"https://{domain}/admin/apps/{api_key}"


def _request_input() -> dict:
    """The request as shopify_app expects it, addressed by our public URL (behind any proxy)."""
    query = request.query_string.decode("utf-8", errors="replace")
    url = _runtime().settings.public_url + request.path + (f"?{query}" if query else "")
    return {"method": request.method, "headers": dict(request.headers.items()), "url": url, "body": ""}


def _respond(res: Res) -> Response:
    return Response(res.body, status=res.status, headers=dict(res.headers))


def _text(message: str, status: int) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")
