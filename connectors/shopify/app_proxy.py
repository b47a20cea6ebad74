"""The Shopify app proxy: storefront requests Shopify forwards to us, verified before anything is read.

The merchant's storefront URL `https://<shop>/apps/backorders/...` (prefix and subpath from
manifest.json, changeable by the merchant) is proxied to `APP_URL/proxy/shopify/...`. Shopify adds
`shop`, `logged_in_customer_id`, `path_prefix`, `timestamp` and `signature` to the query; the
signature is the hex HMAC-SHA256, keyed with the app's client secret, of all the other parameters
as `key=value` (a repeated key's values joined with ","), sorted and concatenated with no
separator (https://shopify.dev/docs/apps/build/online-store/app-proxies/authenticate-app-proxies).

Verification is shopify_app's `verify_app_proxy_req`: it checks the signature against the current
and the previous client secret with `hmac.compare_digest`, refuses a request with several `shop`
parameters, and accepts a `timestamp` at most 90 seconds away from our clock in either direction.
That window is Shopify's own SDK's choice and is narrower than the 5 minutes first planned here;
Shopify signs each forwarded request as it sends it, so a fresh request is never near the limit
and a replayed one is refused sooner. Only after it passes is the `shop` parameter trusted.

Routes (GET):
- `eta.json?variant=<id or gid>`: the variant's storefront ETA as JSON, cacheable for 5 minutes
  by the shopper's browser (ETag, 304 on If-None-Match).
- `/`: the backorder landing page, as Liquid that Shopify renders inside the shop's theme.

Answers: 401 when the signature or timestamp is not right (the database is not touched); 404 when
the variant, or the shop itself, is not ours. A shop that is unknown or has uninstalled the app
gets 404 rather than 401: its request *is* authentic (Shopify signed it), so asking it to
authenticate would be wrong, and there is simply nothing of that shop here; the answer is the same
for an unknown and an uninstalled shop, so it tells a caller nothing about who installed the app.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, Response, current_app, request

from connectors.shopify.manifest import shopify_manifest
from connectors.shopify.proxy_liquid import render_backorder_page
from connectors.shopify.shop_domain import InvalidShopDomain, normalize_shop_domain
from connectors.shopify.tokens import ShopifyNotConfigured, shopify_app
from plugin.locales import LOCALES, choose_locale
from plugin.storefront.availability import backorder_page, installed_shop_id, variant_availability

log = logging.getLogger(__name__)

PLATFORM = "shopify"
# Browsers may reuse an ETA for this long; the recompute moves promises every few minutes at most.
ETA_MAX_AGE = 300
PAGE_SIZE = 50
MAX_PAGE = 10_000
_VARIANT_ID = re.compile(r"^(?:gid://shopify/ProductVariant/)?([0-9]{1,20})$")


def app_proxy_path() -> str:
    """Where Shopify's proxy lands on our side (manifest.json shopify.app_proxy.path)."""
    return shopify_manifest()["app_proxy"]["path"]


bp = Blueprint("shopify_app_proxy", __name__, url_prefix=app_proxy_path())


@dataclass(frozen=True)
class ProxyRequest:
    """A request Shopify's app proxy signed: the shop it came through, and who was logged in."""
    shop_domain: str
    logged_in_customer_id: str | None
    path_prefix: str | None


class ProxyRejected(Exception):
    """Not a request Shopify signed (or no longer a fresh one); `code` is shopify_app's log code."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def verify_app_proxy(settings, url: str) -> ProxyRequest:
    """Check the signature and freshness of a proxied request's URL; return who it came from."""
    try:
        verifier = shopify_app(settings)
    except ShopifyNotConfigured:
        raise ProxyRejected("not_configured") from None
    result = verifier.verify_app_proxy_req({"method": "GET", "headers": {}, "url": url, "body": ""})
    if not result.ok:
        raise ProxyRejected(result.log.code)
    params = parse_qs(urlsplit(url).query, keep_blank_values=True)
    try:
        domain = normalize_shop_domain((params.get("shop") or [""])[0])
    except InvalidShopDomain:
        raise ProxyRejected("invalid_shop") from None  # signed, yet no shop of Shopify's: refuse
    return ProxyRequest(
        shop_domain=domain,
        logged_in_customer_id=result.logged_in_customer_id or None,
        path_prefix=(params.get("path_prefix") or [None])[0],
    )


def parse_variant_id(value: str | None) -> str | None:
    """`123` or `gid://shopify/ProductVariant/123` -> `"123"` (how variants are stored)."""
    match = _VARIANT_ID.match((value or "").strip())
    return match.group(1) if match else None


# -- routes -----------------------------------------------------------------------------------
@bp.get("/eta.json")
def eta():
    proxied = _verified()
    if proxied is None:
        return _json({"error": "invalid or expired signature"}, 401)
    variant_id = parse_variant_id(request.args.get("variant"))
    if variant_id is None:
        return _json({"error": "variant must be a numeric id or a gid://shopify/ProductVariant/ id"}, 400)
    runtime = _runtime()
    shop_id = installed_shop_id(runtime.db, PLATFORM, proxied.shop_domain)
    if shop_id is None:
        return _json({"error": "shop not found"}, 404)
    found = variant_availability(runtime.db, shop_id, variant_id)
    if found is None:
        return _json({"error": "variant not found"}, 404)

    body = json.dumps(found.as_json(_locale()), ensure_ascii=False, separators=(",", ":"))
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = f"public, max-age={ETA_MAX_AGE}"
    response.vary.add("Accept-Language")  # the label's language may follow it
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    return response.make_conditional(request)


@bp.get("/", strict_slashes=False)
def landing():
    proxied = _verified()
    if proxied is None:
        return _text("Unauthorized", 401)
    runtime = _runtime()
    shop_id = installed_shop_id(runtime.db, PLATFORM, proxied.shop_domain)
    if shop_id is None:
        return _text("Not Found", 404)
    page = backorder_page(runtime.db, shop_id, _page_number(request.args.get("page")), PAGE_SIZE)
    locale = _locale()
    body = render_backorder_page(page, locale, keep_locale=bool(request.args.get("locale")))
    # Rails' `render content_type: "application/liquid"` (the shopify_app gem) sends this charset too.
    response = Response(body, content_type="application/liquid; charset=utf-8")
    response.vary.add("Accept-Language")
    return response


# -- helpers ----------------------------------------------------------------------------------
def _runtime():
    return current_app.extensions["backorder_desk"]


def _verified() -> ProxyRequest | None:
    # The signature covers the decoded parameters, so the raw query string is handed over as
    # sent; the host part does not matter to the check.
    query = request.query_string.decode("utf-8", errors="replace")
    url = _runtime().settings.public_url + request.path + (f"?{query}" if query else "")
    try:
        return verify_app_proxy(_runtime().settings, url)
    except ProxyRejected as exc:
        log.warning("app proxy request rejected", extra={"reason": exc.code, "path": request.path,
                                                         "remote": request.remote_addr})
        return None


def _locale() -> str:
    return choose_locale(request.args.get("locale"), request.accept_languages.best_match(LOCALES))


def _page_number(value: str | None) -> int:
    try:
        number = int(value or 1)
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)


def _json(body: dict, status: int) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _text(message: str, status: int) -> Response:
    response = Response(message + "\n", status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response
