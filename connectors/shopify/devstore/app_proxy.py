"""App proxy calls made the way Shopify makes them, for the tests and the demo.

A shopper opens `https://<shop>/<prefix>/<subpath>/<path>?<query>` (prefix and subpath from
manifest.json's shopify.app_proxy). Shopify forwards it to the app's proxy URL plus `<path>`,
keeps the shopper's query and appends (https://shopify.dev/docs/apps/build/online-store/
app-proxies/authenticate-app-proxies):

- `shop`: the shop's myshopify.com domain;
- `logged_in_customer_id`: the logged-in customer's id, empty when nobody is logged in;
- `path_prefix`: `/<prefix>/<subpath>` as the merchant has it;
- `timestamp`: seconds since the epoch;
- `signature`: hex HMAC-SHA256, keyed with the app's client secret, of every other parameter as
  `key=value` (a repeated key's values joined with ","), the pieces sorted and concatenated with
  no separator. Shopify's documented Ruby check sorts the `key=value` strings; so does this.

It also adds `X-Forwarded-For` (the shopper's address) and `X-Forwarded-Host` (the shop's host),
and drops the `Cookie` header; from the answer it drops `Set-Cookie` (app proxies do not carry
cookies). The request method and body are forwarded as they are.

What Shopify does next with an `application/liquid` answer, render it in the theme, the dev store
does not do: the answer comes back as the app sent it, raw Liquid included.

Where the calls go: `fake.app_proxy_url` (default: the webhook URL's origin, or http://localhost,
plus manifest.json's proxy path) through `fake.app_proxy_transport`, an httpx transport (tests
pass `httpx.WSGITransport(app=flask_app)`; None sends over the network, as the demo does). The
timestamp is the real clock's, not the store's (which tests may freeze), because the app checks
it against its own clock.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from typing import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

import httpx

from connectors.shopify.manifest import shopify_manifest

from .store import StoreError, normalize_domain

SHOPIFY_PARAMS = ("shop", "logged_in_customer_id", "path_prefix", "timestamp", "signature")
SHOPPER_ADDRESS = "203.0.113.24"  # TEST-NET-3: a shopper somewhere
PROXY_TIMEOUT = 10.0

Params = Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]


def proxy_signature(secret: str, params: Params) -> str:
    """Shopify's app proxy signature over the forwarded parameters (any `signature` is left out)."""
    values: dict[str, list[str]] = {}
    for key, value in _pairs(params):
        if key != "signature":
            values.setdefault(key, []).append(value)
    message = "".join(sorted(f"{key}={','.join(vals)}" for key, vals in values.items()))
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def default_path_prefix() -> str:
    proxy = shopify_manifest()["app_proxy"]
    return f"/{proxy['prefix']}/{proxy['subpath']}"


def signed_proxy_query(secret: str, shop: str, params: Params = (), *, customer_id: str | int | None = None,
                       path_prefix: str | None = None, timestamp: int | None = None) -> list[tuple[str, str]]:
    """The query Shopify forwards: the shopper's parameters, then Shopify's own, signed."""
    pairs = list(_pairs(params))
    pairs += [("shop", shop), ("logged_in_customer_id", "" if customer_id is None else str(customer_id)),
              ("path_prefix", path_prefix or default_path_prefix()),
              ("timestamp", str(int(time.time()) if timestamp is None else int(timestamp)))]
    return pairs + [("signature", proxy_signature(secret, pairs))]


def call_app_proxy(fake, domain: str, path: str = "/", params: Params = (), *, method: str = "GET",
                   headers: Mapping[str, str] | None = None, body: bytes | None = None,
                   customer_id: str | int | None = None, path_prefix: str | None = None,
                   timestamp: int | None = None, secret: str | None = None, signature: str | None = None,
                   omit: Sequence[str] = ()) -> httpx.Response:
    """A shopper's request to the shop's proxy path, forwarded to the app; the app's answer.

    Only for a shop the app is installed on, as on Shopify (elsewhere the storefront has no such
    path: 404 without calling the app). Negative tests: `secret` signs with another key,
    `signature` replaces it, `omit` drops any of Shopify's parameters, `timestamp` backdates.
    """
    shop = normalize_domain(domain)
    with fake.lock:
        if shop not in fake.store.shops:
            raise StoreError(f"no shop {shop}")
        installed = shop in fake.installed
    if not installed:
        return httpx.Response(404, text="Not Found", request=httpx.Request(method, f"https://{shop}{path}"))

    pairs = signed_proxy_query(secret or fake.api_secret, shop, params, customer_id=customer_id,
                               path_prefix=path_prefix, timestamp=timestamp)
    if signature is not None:
        pairs = [(k, signature if k == "signature" else v) for k, v in pairs]
    pairs = [(k, v) for k, v in pairs if k not in omit]
    forwarded = {k: v for k, v in (headers or {}).items() if k.lower() != "cookie"}
    forwarded.update({"X-Forwarded-For": SHOPPER_ADDRESS, "X-Forwarded-Host": shop})
    # /apps/backorders itself goes to the bare proxy URL, /apps/backorders/x to <proxy URL>/x.
    url = app_proxy_url(fake).rstrip("/") + ("/" + path.lstrip("/") if path else "")
    with httpx.Client(transport=fake.app_proxy_transport, timeout=PROXY_TIMEOUT) as client:
        response = client.request(method, url, params=pairs, headers=forwarded, content=body)
        response.read()
    if "set-cookie" in response.headers:
        del response.headers["set-cookie"]
    return response


def app_proxy_url(fake) -> str:
    configured = fake.app_proxy_url
    if configured:
        return configured
    origin = "http://localhost"
    if fake.webhook_url:
        parts = urlsplit(fake.webhook_url)
        origin = f"{parts.scheme}://{parts.netloc}"
    return origin + shopify_manifest()["app_proxy"]["path"]


def _pairs(params: Params) -> list[tuple[str, str]]:
    if isinstance(params, Mapping):
        out: list[tuple[str, str]] = []
        for key, value in params.items():
            if isinstance(value, (list, tuple)):
                out.extend((key, str(v)) for v in value)
            else:
                out.append((key, str(value)))
        return out
    return [(str(k), str(v)) for k, v in params]
