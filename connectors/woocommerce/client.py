"""The WooCommerce REST API (wp-json/wc/v3) of one store, through the `woocommerce` package.

* The package's `API` class builds the URLs and authenticates: HTTP Basic with the consumer key
  and secret over https, OAuth 1.0a one-legged signatures over plain http (as WooCommerce wants).
  It sends with `requests.request`, a new connection per call and no way to mount an adapter, so
  `StoreAPI` overrides only the sending: the same request through a `requests.Session` (keep-alive,
  and the test transport), with our User-Agent and timeouts longer than the package's 5 s, and
  without the package's habit of repeating the query string after an OAuth-signed URL, and with
  its OAuth parameters encoded as PHP encodes them (a "/" in a query value broke the signature).
* `WooClient` adds what a worker needs: WooCommerce's error code and message in a
  `WooCommerceError` (a ConnectorError), retries with exponential backoff on timeouts, 429 and 5xx
  (never on 4xx, and never on a refusal WooCommerce itself worded, whatever its status), paging by
  X-WP-TotalPages, and batch writes of at most 100 items a request (WooCommerce's limit).
* Writes that are not idempotent (POST creating something) are retried only when the store
  cannot have acted on them: a 429, or a connection that was never made.
"""
from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence
from collections import OrderedDict
from urllib.parse import quote, unquote, urlencode

import requests
from requests.auth import HTTPBasicAuth
from woocommerce import API
from woocommerce.oauth import OAuth

from connectors.base import ConnectorError
from connectors.woocommerce.manifest import api_version

log = logging.getLogger(__name__)

# (connect, read) seconds. A busy WordPress takes seconds to render a page of 100 orders.
DEFAULT_TIMEOUT = (10.0, 60.0)
PER_PAGE = 100       # the REST API's largest page
BATCH_LIMIT = 100    # woocommerce_rest_batch_items_limit's default
ATTEMPTS = 4
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
RETRY_AFTER_CAP = 30.0
IDEMPOTENT_METHODS = {"GET", "PUT", "DELETE", "OPTIONS", "HEAD"}


def user_agent() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("backorder-desk")
    except PackageNotFoundError:
        number = "dev"
    return f"BackorderDesk/{number} (+https://github.com/backorder-desk)"


class WooCommerceError(ConnectorError):
    """A call the store refused or could not answer. `code` and `message` are WooCommerce's own
    (e.g. woocommerce_rest_shop_order_invalid_id / "Invalid ID."), `status` the HTTP status."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 retryable: bool = True, data: Any = None):
        super().__init__(message, retryable=retryable)
        self.code = code
        self.status = status
        self.data = data


class _OAuth(OAuth):
    """The package's OAuth 1.0a, with parameters encoded as PHP's rawurlencode does.

    The package quotes with Python's default, which keeps "/" as it is; WooCommerce signs the
    request it received with rawurlencode, which encodes it, so any query value holding a "/"
    (a date range, a search) would be refused with 401 over plain http."""

    @staticmethod
    def normalize_parameters(params):
        normalized = OrderedDict()
        for key, value in (params or {}).items():
            if isinstance(value, bool):
                value = "1" if value else ""
            elif isinstance(value, float) and value % 1 == 0:
                value = str(int(value))
            elif not isinstance(value, (str, bytes, int, float)):
                value = ""
            key = quote(unquote(str(key)), safe="-_.~").replace("%", "%25")
            normalized[key] = quote(unquote(str(value)), safe="-_.~").replace("%", "%25")
        return normalized


class StoreAPI(API):
    """woocommerce.API sending through a requests.Session (see the module docstring)."""

    def __init__(self, url: str, consumer_key: str, consumer_secret: str, *,
                 session_source: Callable[[], requests.Session], **kwargs):
        super().__init__(url, consumer_key, consumer_secret, **kwargs)
        self._session_source = session_source

    def _API__get_oauth_url(self, url, method, **kwargs):
        return _OAuth(url=url, consumer_key=self.consumer_key, consumer_secret=self.consumer_secret,
                      version=self.version, method=method,
                      oauth_timestamp=kwargs.get("oauth_timestamp", int(time.time()))).get_oauth_url()

    def _API__request(self, method, endpoint, data, params=None, namespace: str | None = None, **kwargs):
        # Name-mangled override of API.__request: API.get/post/put/delete call this one.
        params = dict(params or {})
        if namespace:  # another REST namespace of the same site (the companion plugin's route)
            url = f"{self.url.rstrip('/')}/wp-json/{namespace.strip('/')}/{endpoint}"
        else:
            url = self._API__get_url(endpoint)
        headers = {"user-agent": self.user_agent, "accept": "application/json"}
        auth = None
        if self.is_ssl and not self.query_string_auth:
            auth = HTTPBasicAuth(self.consumer_key, self.consumer_secret)
        elif self.is_ssl:
            params.update(consumer_key=self.consumer_key, consumer_secret=self.consumer_secret)
        else:
            # OAuth 1.0a signs the URL with its query; the signed URL is the whole request target.
            url = self._API__get_oauth_url(f"{url}?{urlencode(params)}" if params else url, method, **kwargs)
            params = None
        body = None
        if data is not None:
            body = json.dumps(data, ensure_ascii=False).encode("utf-8")
            headers["content-type"] = "application/json;charset=utf-8"
        return self._session_source().request(
            method=method, url=url, params=params, data=body, headers=headers, auth=auth,
            timeout=self.timeout, verify=self.verify_ssl, allow_redirects=False)


@dataclass(frozen=True)
class Page:
    items: list
    total_pages: int | None
    total: int | None


class WooClient:
    """REST calls to one store with retries and paging; thread-safe (sessions are per thread)."""

    def __init__(self, store_url: str, consumer_key: str, consumer_secret: str, *,
                 session_source: Callable[[], requests.Session], timeout=DEFAULT_TIMEOUT,
                 attempts: int = ATTEMPTS, backoff_base: float = BACKOFF_BASE, backoff_cap: float = BACKOFF_CAP,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None):
        if not consumer_key or not consumer_secret:
            raise WooCommerceError("the store's API keys are missing (connect the store again)", retryable=False)
        self.store_url = store_url.rstrip("/")
        self.api = StoreAPI(self.store_url, consumer_key, consumer_secret, session_source=session_source,
                            version=api_version(), timeout=timeout, user_agent=user_agent(), wp_api=True)
        self.attempts = max(1, attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.sleep = sleep
        self._random = rng or random.Random()

    # -- one call --------------------------------------------------------------------------------
    def request(self, method: str, endpoint: str, *, params: dict | None = None, data: Any = None,
                idempotent: bool | None = None, namespace: str | None = None) -> requests.Response:
        """One call, retried when that is safe and may help. Returns a 2xx response."""
        method = method.upper()
        safe = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        endpoint = endpoint.lstrip("/")
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            try:
                response = self._send(method, endpoint, params, data, namespace)
            except requests.RequestException as exc:
                error = _network_error(method, endpoint, exc)
                never_sent = _never_sent(exc)
                if last or not (safe or never_sent):
                    raise error from exc
                self._wait(attempt, None, error)
                continue
            if response.status_code < 300:
                return response
            error = _response_error(method, endpoint, response)
            retry = response.status_code == 429 or (safe and error.retryable)
            if last or not retry:
                raise error
            self._wait(attempt, response.headers.get("Retry-After"), error)
        raise AssertionError("unreachable")

    def _send(self, method, endpoint, params, data, namespace):
        kwargs = {"params": params or None}
        if namespace:
            kwargs["namespace"] = namespace
        if method == "GET":
            return self.api.get(endpoint, **kwargs)
        if method == "POST":
            return self.api.post(endpoint, data, **kwargs)
        if method == "PUT":
            return self.api.put(endpoint, data, **kwargs)
        if method == "DELETE":
            return self.api.delete(endpoint, **kwargs)
        raise ValueError(f"unsupported method {method}")

    def _wait(self, attempt: int, retry_after: str | None, error: WooCommerceError) -> None:
        delay = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        delay *= 1 - 0.25 * self._random.random()  # spread retries of calls that failed together
        if retry_after:
            try:
                delay = max(delay, min(RETRY_AFTER_CAP, float(retry_after)))
            except ValueError:
                pass
        log.warning("woocommerce call failed; retrying", extra={
            "store": self.store_url, "attempt": attempt, "retry_in_s": round(delay, 2), "error": str(error)[:300]})
        self.sleep(delay)

    # -- conveniences ----------------------------------------------------------------------------
    def get(self, endpoint: str, params: dict | None = None, **kwargs) -> Any:
        return _json(self.request("GET", endpoint, params=params, **kwargs), endpoint)

    def post(self, endpoint: str, data: Any, *, idempotent: bool | None = None, **kwargs) -> Any:
        return _json(self.request("POST", endpoint, data=data, idempotent=idempotent, **kwargs), endpoint)

    def put(self, endpoint: str, data: Any, **kwargs) -> Any:
        return _json(self.request("PUT", endpoint, data=data, **kwargs), endpoint)

    def delete(self, endpoint: str, params: dict | None = None, **kwargs) -> Any:
        return _json(self.request("DELETE", endpoint, params=params, **kwargs), endpoint)

    def page(self, endpoint: str, params: dict | None = None, *, page: int = 1, per_page: int = PER_PAGE) -> Page:
        response = self.request("GET", endpoint, params={**(params or {}), "per_page": per_page, "page": page})
        items = _json(response, endpoint)
        if not isinstance(items, list):
            raise WooCommerceError(f"GET {endpoint}: expected a list", retryable=False)
        return Page(items, _int_header(response, "X-WP-TotalPages"), _int_header(response, "X-WP-Total"))

    def paginate(self, endpoint: str, params: dict | None = None, *, per_page: int = PER_PAGE) -> Iterator[dict]:
        """Every item of a listing: page 1 says how many pages there are (X-WP-TotalPages); a store
        that sends no such header is read until a short page."""
        first = self.page(endpoint, params, per_page=per_page)
        yield from first.items
        page = 2
        while True:
            if first.total_pages is not None:
                if page > first.total_pages:
                    return
            elif len(first.items) < per_page:
                return
            current = self.page(endpoint, params, page=page, per_page=per_page)
            yield from current.items
            if first.total_pages is None:
                first = current
            elif not current.items:
                return  # the listing shrank while we read it
            page += 1

    def batch(self, endpoint: str, *, create: Sequence[dict] = (), update: Sequence[dict] = (),
              delete: Sequence[int] = ()) -> dict[str, list]:
        """POST <endpoint>/batch in requests of at most BATCH_LIMIT items. An item WooCommerce refused
        (it answers 200 with an `error` in that item's place) raises, naming them all.

        Updates and deletes are idempotent, so those requests are retried like a PUT; creates are not."""
        results: dict[str, list] = {"create": [], "update": [], "delete": []}
        work = [("create", item) for item in create] + [("update", item) for item in update] + \
               [("delete", item) for item in delete]
        refused: list[str] = []
        for start in range(0, len(work), BATCH_LIMIT):
            chunk = work[start:start + BATCH_LIMIT]
            body: dict[str, list] = {}
            for kind, item in chunk:
                body.setdefault(kind, []).append(item)
            answer = self.post(f"{endpoint.rstrip('/')}/batch", body, idempotent="create" not in body) or {}
            for kind in body:
                for item in answer.get(kind) or []:
                    results[kind].append(item)
                    error = item.get("error") if isinstance(item, dict) else None
                    if error:
                        refused.append(f"{kind} {item.get('id')}: {error.get('code')}: {error.get('message')}")
        if refused:
            raise WooCommerceError(f"POST {endpoint}/batch refused " + "; ".join(refused[:10]),
                                   code="batch_item_error", retryable=False, data=results)
        return results


# -- errors -----------------------------------------------------------------------------------------

def _json(response: requests.Response, endpoint: str) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise WooCommerceError(
            f"{endpoint}: the store did not answer with JSON (is this a WooCommerce store with pretty "
            f"permalinks, and is the REST API reachable at /wp-json/?)", status=response.status_code,
            retryable=False) from None


def _int_header(response: requests.Response, name: str) -> int | None:
    value = response.headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _response_error(method: str, endpoint: str, response: requests.Response) -> WooCommerceError:
    status = response.status_code
    code = message = data = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code, message, data = body.get("code"), body.get("message"), body.get("data")
    if 300 <= status < 400:
        where = response.headers.get("Location", "?")
        return WooCommerceError(f"{method} {endpoint}: the store redirects to {where}; use the store's address "
                                f"exactly as it answers (https, www or not)", code="redirect", status=status,
                                retryable=False)
    text = f"{code}: {message}" if code else (message or response.reason or "error")
    # 5xx is a fault worth retrying, unless WooCommerce itself worded the refusal (refunds answer
    # woocommerce_rest_cannot_create_order_refund with status 500): that will not change.
    worded = bool(code) and str(code).startswith(("woocommerce_rest_", "woocommerce_"))
    retryable = status == 429 or (status >= 500 and not worded)
    return WooCommerceError(f"{method} {endpoint}: {text} (HTTP {status})", code=code, status=status,
                            retryable=retryable, data=data)


def _network_error(method: str, endpoint: str, exc: requests.RequestException) -> WooCommerceError:
    if isinstance(exc, requests.Timeout):
        what = "timed out"
    elif isinstance(exc, requests.exceptions.SSLError):
        what = "TLS failed"
    elif isinstance(exc, requests.ConnectionError):
        what = "could not connect"
    else:
        what = "failed"
    return WooCommerceError(f"{method} {endpoint}: the store {what} ({type(exc).__name__})",
                            code="http_request_failed", retryable=True)


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the store (so even a POST may be sent again)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        name = type(getattr(reason, "reason", reason)).__name__
        return name in ("NewConnectionError", "NameResolutionError")
    return False


def chunks(values: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start:start + size]
