"""The one place that builds HTTP clients for Shopify traffic (OAuth endpoints and the Admin API).

Every Shopify call goes through `runtime.shopify_transport`, so tests and the demo can put a fake
store behind the same code path the real internet uses.
"""
from __future__ import annotations

import httpx

# Shopify answers token and GraphQL calls in well under a second; a hung socket must not hold a
# request thread (or a row lock taken around a token refresh) for long.
SHOPIFY_TIMEOUT = httpx.Timeout(10, connect=5)


class RedirectingTransport(httpx.BaseTransport):
    """Sends every request to `base_url`'s scheme, host and port, keeping path, query and headers.

    The Host header was fixed when the request was built from the original URL, so a fake store
    served elsewhere (another process, e.g. `SHOPIFY_FAKE_URL=http://127.0.0.1:8899`) still sees
    which shop (`x.myshopify.com`) was addressed. A path in `base_url` is a mount prefix (the demo
    serves the dev store under /_fake/shopify): `/admin/...` becomes `/_fake/shopify/admin/...`.
    """

    def __init__(self, base_url: str, inner: httpx.BaseTransport | None = None):
        base = httpx.URL(base_url)
        if not base.scheme or not base.host:
            raise ValueError(f"SHOPIFY_FAKE_URL must be an absolute URL, got {base_url!r}")
        self._scheme, self._host, self._port = base.scheme, base.host, base.port
        self._prefix = base.path.rstrip("/")
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme=self._scheme, host=self._host, port=self._port,
                                            path=self._prefix + request.url.path)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class _Borrowed(httpx.BaseTransport):
    """The runtime's transport, shared by many clients: closing one client must not close it."""

    def __init__(self, inner: httpx.BaseTransport):
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)


def shopify_http_client(runtime) -> httpx.Client:
    """A client for Shopify traffic: the runtime's transport, else SHOPIFY_FAKE_URL, else the internet.

    The caller owns the client and closes it (use it as a context manager for one-off calls).
    """
    transport: httpx.BaseTransport | None = None
    if runtime.shopify_transport is not None:
        transport = _Borrowed(runtime.shopify_transport)
    elif runtime.settings.shopify_fake_url:
        transport = RedirectingTransport(runtime.settings.shopify_fake_url)
    return httpx.Client(transport=transport, timeout=SHOPIFY_TIMEOUT)
