"""Who is asking: every admin request is verified here before a page or an API call sees it.

Three ways in, all ending in one `AdminContext` (the shop, how it was verified, the locale):

* Shopify document requests (GET /admin, /admin/backorders, ...): App Home requests, verified by
  shopify_app (`connectors.shopify.auth.authenticate_app_home`): a missing or stale `id_token`
  is bounced through the session-token page, a shop without a usable offline token gets one by
  token exchange. The answer carries CSP frame-ancestors for the shop and admin.shopify.com.
* Shopify fetches (JSON API under /api/admin/): `Authorization: Bearer <session token>` (App
  Bridge adds it to same-origin fetches), checked by the same shopify_app verifier (signature
  with the current or old secret, exp/nbf with 10 s leeway, aud = our client id) plus iss/dest
  naming the same shop. The shop is the token's `dest`; it must be installed. Anything else: 401.
* WooCommerce merchants: the signed launch link (plugin/admin/launch.py) sets `bd_admin`, a
  signed session cookie (HttpOnly, Secure, SameSite=None, 8 hours) naming the shop. Cookies are
  sent by the browser on its own, so every state-changing call made with one must also carry
  the session's CSRF token (header `X-CSRF-Token`, or the `_token` form field).

Forms without JavaScript post to page routes. Inside Shopify admin there is no cookie and the
session token lives a minute, so such a page carries a signed form token (`_token`, 2 hours,
bound to the shop) minted when the page was rendered from a verified request.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Response, current_app, jsonify, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from plugin.admin.i18n import request_locale
from plugin.db.models import Shop
from plugin.locales import choose_locale

log = logging.getLogger(__name__)

SESSION_COOKIE = "bd_admin"
SESSION_LIFETIME = timedelta(hours=8)
FORM_TOKEN_LIFETIME = timedelta(hours=2)
CSRF_HEADER = "X-CSRF-Token"
FORM_TOKEN_FIELD = "_token"
# Query parameters Shopify puts on app URLs that links and forms keep (never id_token: it lives a
# minute; a request without one is bounced for a fresh one).
SHOPIFY_CONTEXT_PARAMS = ("embedded", "shop", "host", "locale")
VIA_SHOPIFY, VIA_LAUNCH = "shopify", "launch"


@dataclass(frozen=True)
class AdminContext:
    """A verified admin request. `shop` is detached: read it, never write through it."""

    shop: Shop
    via: str                      # VIA_SHOPIFY (session token) | VIA_LAUNCH (WooCommerce cookie)
    locale: str                   # "en" | "pl"
    user: str | None = None       # Shopify staff id (`sub`) or the WordPress user id
    csrf_token: str | None = None  # launch sessions: what state-changing calls must send back
    query: dict[str, str] = field(default_factory=dict)  # kept on the app's own links and forms
    headers: dict[str, str] = field(default_factory=dict)  # to add to a document answer

    @property
    def shop_id(self) -> int:
        return self.shop.id

    @property
    def embedded(self) -> bool:
        """Inside Shopify admin: App Bridge is loaded and draws the navigation."""
        return self.via == VIA_SHOPIFY

    def form_token(self) -> str:
        """The `_token` a no-JavaScript form of this page posts back (see `authenticate_form`)."""
        if self.via == VIA_LAUNCH and self.csrf_token:
            return self.csrf_token
        return _serializer("form").dumps({"s": self.shop.id, "u": self.user})


def _runtime():
    return current_app.extensions["backorder_desk"]


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"backorder-desk.admin.{purpose}")


# -- WooCommerce launch secret -------------------------------------------------------------------
def woocommerce_launch_secret(runtime, shop: Shop) -> str:
    """The secret a WooCommerce store signs its admin launch links with (hex, 64 characters).

    Derived, not stored: HMAC-SHA256 keyed with the app's SECRET_KEY over "launch:" + the shop's
    domain. The connect flow pushes it to the companion plugin; rotating SECRET_KEY rotates every
    launch secret (the stores then need the connect flow's push again).
    """
    key = runtime.settings.resolved_secret_key().encode("utf-8")
    return hmac.new(key, f"launch:{shop.domain}".encode("utf-8"), hashlib.sha256).hexdigest()


# -- the launch session cookie --------------------------------------------------------------------
def new_launch_session(shop: Shop, user: str | None) -> dict:
    return {"s": shop.id, "u": user, "i": secrets.token_urlsafe(12), "c": secrets.token_urlsafe(24)}


def set_session_cookie(response: Response, session: dict) -> Response:
    response.set_cookie(SESSION_COOKIE, _serializer("session").dumps(session),
                        max_age=int(SESSION_LIFETIME.total_seconds()), secure=True, httponly=True,
                        samesite="None", path="/")
    return response


def _launch_session() -> dict | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        data = _serializer("session").loads(raw, max_age=int(SESSION_LIFETIME.total_seconds()))
    except BadSignature:  # also SignatureExpired
        return None
    return data if isinstance(data, dict) and isinstance(data.get("s"), int) and data.get("c") else None


def _installed_shop(shop_id: int, platform: str | None = None) -> Shop | None:
    with _runtime().db.session() as session:
        shop = session.get(Shop, shop_id)
        if shop is None or not shop.is_installed or (platform and shop.platform != platform):
            return None
        session.expunge(shop)
        return shop


def _launch_context(data: dict) -> AdminContext | None:
    shop = _installed_shop(data["s"])
    if shop is None:
        return None
    locale = choose_locale(request.args.get("locale"), request.accept_languages.best_match(("en", "pl")))
    query = {"locale": request.args["locale"]} if request.args.get("locale") else {}
    return AdminContext(shop=shop, via=VIA_LAUNCH, locale=locale, user=data.get("u"), csrf_token=data["c"],
                        query=query, headers=dict(LAUNCH_DOCUMENT_HEADERS))


LAUNCH_DOCUMENT_HEADERS = {
    # Outside Shopify the admin is a page of its own: never framed.
    "Content-Security-Policy": "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'",
    "X-Frame-Options": "DENY",
}


def _shopify_markers() -> bool:
    """The request speaks Shopify's way (app URL parameters or a bearer token), not the cookie's."""
    return ("Authorization" in request.headers
            or any(name in request.args for name in ("shop", "host", "id_token", "embedded")))


# -- documents ------------------------------------------------------------------------------------
def authenticate_document(*, subpath: str = "") -> AdminContext | Response:
    """A page request (GET): the context, or the answer to give instead (redirect, bounce, 401)."""
    if not _shopify_markers():
        data = _launch_session()
        context = _launch_context(data) if data else None
        if context is not None:
            return context
        if request.cookies.get(SESSION_COOKIE):
            return _expired_page()
    from connectors.shopify.auth import authenticate_app_home

    found = authenticate_app_home(_runtime(), subpath=subpath)
    if found.response is not None:
        return found.response
    shop = found.shop
    if shop is None or not shop.is_installed:  # pragma: no cover - authenticate_app_home installs
        return _expired_page()
    headers = dict(found.headers)
    csp = headers.get("Content-Security-Policy") or f"frame-ancestors https://{found.domain} https://admin.shopify.com;"
    headers["Content-Security-Policy"] = csp.rstrip("; ") + "; object-src 'none'; base-uri 'self'"
    query = {name: request.args[name] for name in SHOPIFY_CONTEXT_PARAMS if request.args.get(name)}
    return AdminContext(shop=shop, via=VIA_SHOPIFY, locale=request_locale(request), user=found.user_id,
                        query=query, headers=headers)


def authenticate_form() -> AdminContext | Response:
    """A no-JavaScript form POST to a page route: launch cookie + its CSRF token, or a form token."""
    token = request.form.get(FORM_TOKEN_FIELD, "")
    data = _launch_session()
    if data is not None and not _shopify_markers_in_form():
        if token and hmac.compare_digest(str(data["c"]), token):
            context = _launch_context(data)
            if context is not None:
                return context
        return _form_refused()
    try:
        claims = _serializer("form").loads(token, max_age=int(FORM_TOKEN_LIFETIME.total_seconds()))
    except BadSignature:
        return _form_refused()
    shop = _installed_shop(int(claims.get("s", 0))) if isinstance(claims, dict) else None
    if shop is None or shop.platform != "shopify":
        return _form_refused()
    query = {name: request.args[name] for name in SHOPIFY_CONTEXT_PARAMS if request.args.get(name)}
    csp = f"frame-ancestors https://{shop.domain} https://admin.shopify.com; object-src 'none'; base-uri 'self'"
    return AdminContext(shop=shop, via=VIA_SHOPIFY, locale=request_locale(request), user=claims.get("u"),
                        query=query, headers={"Content-Security-Policy": csp})


def _shopify_markers_in_form() -> bool:
    return any(name in request.args for name in ("shop", "host", "embedded"))


# -- the JSON API ---------------------------------------------------------------------------------
def authenticate_api(*, state_changing: bool) -> AdminContext | Response:
    """An API call: bearer session token, or the launch cookie (+ X-CSRF-Token when it changes state)."""
    runtime = _runtime()
    header = request.headers.get("Authorization", "")
    if header:
        if not header.startswith("Bearer "):
            return api_unauthorized("invalid_authorization", "Authorization must be 'Bearer <session token>'.")
        from connectors.shopify.auth import authenticate_app_home
        from connectors.shopify.tokens import ShopifyNotConfigured

        try:
            found = authenticate_app_home(runtime, install=False)
        except ShopifyNotConfigured:
            return api_unauthorized("not_configured", "This app is not configured for Shopify.")
        if found.response is not None or found.shop is None:
            return api_unauthorized("invalid_session_token", "The session token is missing, forged or expired.",
                                    retry=True)
        return AdminContext(shop=found.shop, via=VIA_SHOPIFY, locale=_api_locale(), user=found.user_id)
    data = _launch_session()
    if data is None:
        return api_unauthorized("unauthenticated", "Send the Shopify session token as 'Authorization: Bearer ...'.")
    context = _launch_context(data)
    if context is None:
        return api_unauthorized("session_expired", "The session has ended; open the app again.")
    if state_changing:
        sent = request.headers.get(CSRF_HEADER, "")
        if not (sent and hmac.compare_digest(sent, str(data["c"]))):
            return api_error(403, "csrf_failed", f"Send the session's CSRF token in the {CSRF_HEADER} header.")
    return AdminContext(shop=context.shop, via=VIA_LAUNCH, locale=_api_locale(), user=context.user,
                        csrf_token=context.csrf_token)


def _api_locale() -> str:
    return choose_locale(request.args.get("locale"), request.accept_languages.best_match(("en", "pl")))


def api_error(status: int, code: str, message: str, *, details=None, headers: dict | None = None) -> Response:
    body = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def api_unauthorized(code: str, message: str, *, retry: bool = False) -> Response:
    # App Bridge retries a fetch answered with this header once, with a fresh session token.
    headers = {"X-Shopify-Retry-Invalid-Session-Request": "1"} if retry else {}
    headers["WWW-Authenticate"] = 'Bearer realm="backorder-desk"'
    return api_error(401, code, message, headers=headers)


# -- refusals as pages ----------------------------------------------------------------------------
def _expired_page() -> Response:
    from plugin.admin.layout import message_page

    return message_page("session.expired", 401, locale=request_locale(request))


def _form_refused() -> Response:
    from plugin.admin.layout import message_page

    return message_page("error.invalid_form", 403, locale=request_locale(request))


def find_shop_by_domain(db, platform: str, domains: list[str]) -> Shop | None:
    """The installed shop of this platform whose domain is one of `domains` (first match wins)."""
    with db.session() as session:
        for domain in domains:
            shop = session.scalars(select(Shop).where(Shop.platform == platform, Shop.domain == domain)).one_or_none()
            if shop is not None:
                session.expunge(shop)
                return shop
    return None
