"""Admin GraphQL client: one per shop and token, paced by the throttle, retrying what is retryable."""
from __future__ import annotations

import json
import logging
import random
import time
from typing import Any, Callable, Iterator

import httpx

from connectors.base import ConnectorError
from connectors.shopify.throttle import BucketModel

log = logging.getLogger(__name__)


class ShopifyAuthError(ConnectorError):
    """Shopify refused the token even after a refresh: the merchant must open the app again."""

    def __init__(self, message: str):
        super().__init__(message, retryable=False)


class ShopifyGraphQLError(ConnectorError):
    def __init__(self, message: str, errors: list | None = None, *, retryable: bool = False):
        super().__init__(message, retryable=retryable)
        self.errors = errors or []


class ShopifyGraphQL:
    def __init__(
        self,
        http: httpx.Client,
        shop_domain: str,
        api_version: str,
        token: Callable[[bool], str],
        bucket: BucketModel,
        *,
        max_attempts: int = 6,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        user_agent: str = "backorder-desk",
    ):
        self.http = http
        self.shop_domain = shop_domain
        self.url = f"https://{shop_domain}/admin/api/{api_version}/graphql.json"
        self._token = token  # token(force_refresh) -> access token
        self.bucket = bucket
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.clock = clock
        self.user_agent = user_agent

    def execute(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        operation = _operation_name(document)
        refreshed = False
        for attempt in range(1, self.max_attempts + 1):
            wait = self.bucket.reserve(operation, self.clock())
            if wait > 0:
                self.sleep(wait)
            try:
                response = self.http.post(
                    self.url,
                    json={"query": document, "variables": variables or {}},
                    headers={"X-Shopify-Access-Token": self._token(False), "User-Agent": self.user_agent},
                )
            except httpx.TransportError as exc:
                self._backoff(attempt, f"network error: {type(exc).__name__}", None)
                continue

            if response.status_code == 401:
                if refreshed:
                    raise ShopifyAuthError(f"Shopify rejected the access token for {self.shop_domain}")
                refreshed = True
                self._token(True)
                continue
            if response.status_code == 429 or response.status_code >= 500:
                self._backoff(attempt, f"HTTP {response.status_code}", response.headers.get("Retry-After"))
                continue
            if response.status_code != 200:
                raise ShopifyGraphQLError(f"{operation}: HTTP {response.status_code}: {response.text[:300]}")

            try:
                payload = response.json()
            except json.JSONDecodeError:
                self._backoff(attempt, "unparsable answer", None)
                continue
            cost = (payload.get("extensions") or {}).get("cost")
            self.bucket.observe(operation, cost, self.clock())
            errors = payload.get("errors")
            if errors:
                if _is_throttled(errors):
                    requested = (cost or {}).get("requestedQueryCost") or 50
                    self.sleep(max(self.bucket.seconds_until(requested, self.clock()), 0.05))
                    continue
                raise ShopifyGraphQLError(f"{operation}: {_messages(errors)}", errors)
            return payload.get("data") or {}
        raise ConnectorError(f"{operation}: Shopify did not answer successfully after {self.max_attempts} attempts")

    def paginate(self, document: str, variables: dict[str, Any], path: list[str], page_size: int = 100) -> Iterator[dict]:
        """Yield every node of the connection at `path`, following pageInfo.endCursor."""
        after = None
        while True:
            data = self.execute(document, {**variables, "first": page_size, "after": after})
            connection = data
            for key in path:
                connection = connection[key]
            for edge in connection["edges"]:
                yield edge["node"]
            info = connection["pageInfo"]
            if not info["hasNextPage"]:
                return
            after = info["endCursor"]

    def _backoff(self, attempt: int, why: str, retry_after: str | None) -> None:
        if attempt >= self.max_attempts:
            raise ConnectorError(f"Shopify call failed after {attempt} attempts ({why})")
        try:
            delay = float(retry_after) if retry_after else 0.0
        except ValueError:
            delay = 0.0
        delay = max(delay, min(30.0, 0.25 * 2 ** (attempt - 1)) * (0.5 + random.random() / 2))
        log.info("retrying Shopify call", extra={"shop": self.shop_domain, "why": why, "delay": round(delay, 2)})
        self.sleep(delay)


def _operation_name(document: str) -> str:
    for word in ("query", "mutation"):
        idx = document.find(word + " ")
        if idx != -1:
            rest = document[idx + len(word) + 1:].lstrip()
            name = "".join(ch for ch in rest.split("(")[0].split("{")[0] if ch.isalnum() or ch == "_")
            if name:
                return name
    return "anonymous"


def _is_throttled(errors: list) -> bool:
    return any(((e or {}).get("extensions") or {}).get("code") == "THROTTLED" for e in errors)


def _messages(errors: list) -> str:
    return "; ".join(str((e or {}).get("message", e)) for e in errors)[:500]
