"""A shop's whole catalogue from Shopify: cursor paging for a small shop, a bulk export for a large one.

Paging reads 25 variants a call (about 880 points even by Shopify's linear cost rule, under the
1,000-point single-query limit), a variant's inventory levels past the first 10 with one more
query. Above BULK_THRESHOLD variants (productVariantsCount), or when asked, a bulk query
operation does the work instead (shopify.dev "Perform bulk operations with the GraphQL Admin
API"): one 10-point mutation, polls of bulkOperation(id:) at 1 point each, then the JSONL result
downloaded from its signed URL through the same HTTP client (and so the same transport) as every
other Shopify call, without the access token, which that storage host neither needs nor should
see. Variants are rebuilt from the lines: a variant is a line of its own and each of its
inventory levels another line naming it in `__parentId`; with groupObjects false (the default
from 2026-01) nothing promises that children follow their parent, so lines are joined by id.

From 2026-01 an app may run five bulk queries at a time per shop (one before). The catalogue
export still runs once per shop: an identical export already in flight (a crashed sync, another
process) is waited for instead of starting another.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable, Iterator

from connectors.base import ConnectorError, VariantStock
from connectors.shopify import operations as ops
from connectors.shopify.connector import _variant_stock

if TYPE_CHECKING:
    from connectors.shopify.connector import ShopifyConnector
    from connectors.shopify.graphql import ShopifyGraphQL

log = logging.getLogger(__name__)

# Below this many variants paging costs at most 80 calls (a few minutes of a standard 100
# points/s bucket at worst) and shows progress at once; above it a bulk export is cheaper in
# points and in time, however large the shop, and costs the same ~15 points for 2,000 variants
# or 200,000.
BULK_THRESHOLD = 2000
CATALOG_PAGE = 25
LEVELS_PAGE = 250
# Seconds between polls: quick at first (small exports finish in seconds), then every 30 s;
# a poll costs one point. Shopify gives a bulk query ten days; a sync gives up far sooner.
POLL_INTERVALS = (1, 2, 3, 5, 8, 13, 20, 30)
BULK_TIMEOUT = 3 * 3600
IN_FLIGHT = ("CREATED", "RUNNING")
# Failures that a fresh export may not repeat (Shopify: "you can try submitting the query again").
RETRYABLE_ERRORS = ("INTERNAL_SERVER_ERROR", "TIMEOUT")

sleep = time.sleep        # module attributes, so tests can make polling instant
monotonic = time.monotonic


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class ShopifyCatalogRead:
    """Iterable of the shop's variants (connectors.base.CatalogRead). Deciding paging or bulk
    costs one call now; everything else happens while iterating. `read_at` is known once
    iteration has begun: no reading is older than it (a bulk export's data is at least as
    new as the operation's creation)."""

    def __init__(self, connector: ShopifyConnector, shop, bulk: bool | None):
        self.client: ShopifyGraphQL = connector.graphql(shop)
        self.shop_domain = shop.domain
        self.read_at: datetime | None = None
        self.bulk = self._is_large() if bulk is None else bool(bulk)

    def _is_large(self) -> bool:
        count = self.client.execute(ops.CATALOG_SIZE, {"limit": BULK_THRESHOLD}).get("productVariantsCount") or {}
        return int(count.get("count") or 0) >= BULK_THRESHOLD

    def __iter__(self) -> Iterator[VariantStock]:
        self.read_at = utcnow()
        return self._exported() if self.bulk else self._paged()

    # -- paging ---------------------------------------------------------------------------------
    def _paged(self) -> Iterator[VariantStock]:
        for node in self.client.paginate(ops.CATALOG_VARIANTS, {}, ["productVariants"], page_size=CATALOG_PAGE):
            levels = (node.get("inventoryItem") or {}).get("inventoryLevels") or {}
            if (levels.get("pageInfo") or {}).get("hasNextPage"):
                every = list(self.client.paginate(ops.VARIANT_INVENTORY_LEVELS, {"id": node["id"]},
                                                  ["productVariant", "inventoryItem", "inventoryLevels"],
                                                  page_size=LEVELS_PAGE))
                node["inventoryItem"] = dict(node["inventoryItem"], inventoryLevels={"edges": [{"node": n} for n in every]})
            yield catalog_variant(node)

    # -- bulk export ----------------------------------------------------------------------------
    def _exported(self) -> Iterator[VariantStock]:
        operation_id, created_at = self._in_flight() or self._start()
        if created_at is not None and created_at < self.read_at:
            self.read_at = created_at
        finished = self._wait(operation_id)
        if not finished.get("url"):
            return  # Shopify gives no file for an empty result
        yield from variants_from_jsonl(self._download(finished["url"], operation_id))

    def _in_flight(self) -> tuple[str, datetime | None] | None:
        wanted = _normal(ops.CATALOG_BULK_QUERY)
        edges = (self.client.execute(ops.RECENT_BULK_QUERIES).get("bulkOperations") or {}).get("edges") or []
        for edge in edges:
            node = edge.get("node") or {}
            if node.get("status") in IN_FLIGHT and _normal(node.get("query") or "") == wanted:
                log.info("waiting for the catalogue export already running",
                         extra={"shop": self.shop_domain, "bulk_operation": node["id"]})
                return node["id"], _moment(node.get("createdAt"))
        return None

    def _start(self) -> tuple[str, None]:
        payload = self.client.execute(ops.CATALOG_BULK_RUN, {"query": ops.CATALOG_BULK_QUERY})["bulkOperationRunQuery"]
        errors = payload.get("userErrors") or []
        if errors or not payload.get("bulkOperation"):
            busy = any(e.get("code") in ("LIMIT_REACHED", "OPERATION_IN_PROGRESS") for e in errors)
            raise ConnectorError("bulkOperationRunQuery: " + ("; ".join(e.get("message", "?") for e in errors)
                                                              or "no operation was created"), retryable=busy)
        return payload["bulkOperation"]["id"], None

    def _wait(self, operation_id: str) -> dict:
        deadline = monotonic() + BULK_TIMEOUT
        for attempt in range(10**9):
            sleep(POLL_INTERVALS[min(attempt, len(POLL_INTERVALS) - 1)])
            found = self.client.execute(ops.BULK_OPERATION_STATUS, {"id": operation_id}).get("bulkOperation")
            if found is None:
                raise ConnectorError(f"bulk operation {operation_id} of {self.shop_domain} no longer exists")
            status = found.get("status")
            if status == "COMPLETED":
                return found
            if status == "FAILED":
                code = found.get("errorCode") or "unknown error"
                raise ConnectorError(f"catalogue export {operation_id} of {self.shop_domain} failed ({code})",
                                     retryable=code in RETRYABLE_ERRORS)
            if status in ("CANCELED", "EXPIRED"):
                raise ConnectorError(f"catalogue export {operation_id} of {self.shop_domain} was "
                                     f"{'canceled' if status == 'CANCELED' else 'too old: its result expired'}")
            if monotonic() > deadline:
                raise ConnectorError(f"catalogue export {operation_id} of {self.shop_domain} still {status} "
                                     f"after {BULK_TIMEOUT // 60} minutes")
        raise AssertionError("unreachable")

    def _download(self, url: str, operation_id: str) -> Iterator[str]:
        try:
            with self.client.http.stream("GET", url, headers={"User-Agent": self.client.user_agent}) as response:
                if response.status_code != 200:
                    raise ConnectorError(f"catalogue export {operation_id} of {self.shop_domain}: the result "
                                         f"download answered HTTP {response.status_code}")
                yield from response.iter_lines()
        except ConnectorError:
            raise
        except Exception as exc:  # httpx.HTTPError and friends: the file can be fetched again
            raise ConnectorError(f"catalogue export {operation_id} of {self.shop_domain}: download failed "
                                 f"({type(exc).__name__})") from exc


def catalog_variant(node: dict) -> VariantStock:
    """A variant read by CatalogVariants (or rebuilt from the export): read_inventory's reading
    (same title, same location keys) plus its product's title and handle."""
    product = node.get("product") or {}
    return replace(_variant_stock(node), product_title=product.get("title"), product_handle=product.get("handle"))


def variants_from_jsonl(lines: Iterable[str]) -> Iterator[VariantStock]:
    """Rebuild variants from a CatalogBulk result, in whatever order its lines come."""
    variants: dict[str, dict] = {}
    levels: dict[str, list[dict]] = {}
    for raw in lines:
        if not raw.strip():
            continue
        obj = json.loads(raw)
        parent = obj.pop("__parentId", None)
        if parent is None:
            variants[obj["id"]] = obj
        else:
            levels.setdefault(parent, []).append(obj)
    orphans = set(levels) - set(variants)
    if orphans:
        log.warning("bulk result lines name parents it does not contain", extra={"parents": len(orphans)})
    for variant_id, node in variants.items():
        item = dict(node.get("inventoryItem") or {})
        item["inventoryLevels"] = {"edges": [{"node": level} for level in levels.get(variant_id, ())]}
        yield catalog_variant(dict(node, inventoryItem=item))


def _normal(query: str) -> str:
    return " ".join(query.split())


def _moment(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
