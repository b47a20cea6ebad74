"""Catalogue sync against the dev store: paging for a small shop, a bulk export for a large one,
and what lands in `variants` (both databases). The dev store's own bulk behaviour is in
tests/test_devstore_bulk.py."""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import select

from connectors.base import ConnectorError
from connectors.shopify import catalog as shopify_catalog
from connectors.shopify import operations as ops
from connectors.shopify.catalog import BULK_THRESHOLD, CATALOG_PAGE, variants_from_jsonl
from connectors.shopify.devstore import FakeShopify
from connectors.shopify.devstore.bulk import bulk_operations
from plugin.catalog import services as catalog_services
from plugin.catalog.services import sync_catalog
from plugin.db.models import Shop, Variant
from tests.conftest import API_KEY, API_SECRET
from tests.flow_helpers import install_shop

SHOP = "catalog-shop.myshopify.com"
COLUMNS = ("platform_variant_id", "platform_product_id", "sku", "title", "product_title", "product_handle",
           "inventory_tracked", "continue_selling", "sellable_quantity", "location_quantities", "inventory_read_at",
           "eta_dirty", "eta_revision")


@pytest.fixture
def fake_shopify():
    """A Shopify Plus sized bucket: reading a few thousand variants must not wait out the standard one."""
    return FakeShopify(API_KEY, API_SECRET, bucket_size=20000, restore_rate=1000.0)


@pytest.fixture(autouse=True)
def instant_polls(monkeypatch):
    """Bulk polling sleeps between polls; here the time only gets written down."""
    slept: list[float] = []
    monkeypatch.setattr(shopify_catalog, "sleep", slept.append)
    return slept


def _open_shop(runtime, fake, products: int, per_product: int, locations=("Main warehouse", "Overflow")) -> dict:
    """A shop whose variant v of product p has sku P<p>-<v>, v units at the first location and one
    fewer than that at the others; odd variants sell on backorder (CONTINUE)."""
    fake.create_shop(SHOP, locations=locations)
    by_sku = {}
    for p in range(products):
        made = fake.add_product(SHOP, f"Product {p}", [
            {"sku": f"P{p}-{v}", "title": f"Size {v}", "policy": "CONTINUE" if v % 2 else "DENY",
             "tracked": v != 3, "available": {name: v - (i > 0) for i, name in enumerate(locations)}}
            for v in range(per_product)])
        by_sku.update({variant["sku"]: variant["id"] for variant in made["variants"]})
    install_shop(runtime, fake, SHOP)
    with runtime.db.session() as session:
        shop_id = session.scalars(select(Shop.id).where(Shop.domain == SHOP)).one()
    return {"shop_id": shop_id, "variants": by_sku, "since": len(fake.calls)}  # install made calls of its own


def _rows(runtime) -> dict[str, dict]:
    with runtime.db.session() as session:
        return {row.sku: {c: getattr(row, c) for c in COLUMNS} for row in session.scalars(select(Variant))}


def _settle(runtime) -> None:
    """What the ETA recompute does after its run: nothing is dirty any more."""
    with runtime.db.session() as session:
        for row in session.scalars(select(Variant)):
            row.eta_dirty = False


def _calls(fake, since: int = 0) -> list[str]:
    return [call.operation for call in fake.calls[since:]]


def _legacy(gid: str) -> str:
    return gid.rsplit("/", 1)[-1]


# -- paging ------------------------------------------------------------------------------------------

def test_a_small_shop_is_paged_and_every_variant_stored(runtime, fake_shopify):
    shop = _open_shop(runtime, fake_shopify, products=12, per_product=5)  # 60 variants: 3 pages of 25
    counts = sync_catalog(runtime, shop["shop_id"])

    assert counts == {"variants_seen": 60, "created": 60, "changed": 0, "unchanged": 0, "stale": 0, "retired": 0,
                      "bulk": False}
    assert _calls(fake_shopify, shop["since"]) == ["CatalogSize"] + ["CatalogVariants"] * 3
    pages = [call for call in fake_shopify.calls if call.operation == "CatalogVariants"]
    assert all(call.requested_cost <= 1000 and not call.throttled for call in pages)
    rows = _rows(runtime)
    assert len(rows) == 60
    locations = [loc["id"] for loc in fake_shopify.store.shop(SHOP).locations]
    lamp = rows["P4-3"]
    assert lamp["platform_variant_id"] == _legacy(shop["variants"]["P4-3"])
    assert lamp["title"] == "Product 4 - Size 3" and lamp["product_title"] == "Product 4"
    assert lamp["product_handle"] == "product-4"
    assert lamp["continue_selling"] is True and lamp["inventory_tracked"] is False
    assert lamp["location_quantities"] == {locations[0]: 3, locations[1]: 2} and lamp["sellable_quantity"] == 5
    assert rows["P0-0"]["continue_selling"] is False and rows["P0-0"]["sellable_quantity"] == -1
    assert all(row["eta_dirty"] and row["eta_revision"] == 1 for row in rows.values())
    assert len({row["inventory_read_at"] for row in rows.values()}) == 1


def test_a_variant_stocked_at_more_than_ten_locations_has_every_level_read(runtime, fake_shopify):
    names = tuple(f"Store {i}" for i in range(12))
    shop = _open_shop(runtime, fake_shopify, products=1, per_product=2, locations=names)
    counts = sync_catalog(runtime, shop["shop_id"])
    assert counts["created"] == 2
    assert _calls(fake_shopify, shop["since"]) == ["CatalogSize", "CatalogVariants"] + ["VariantInventoryLevels"] * 2
    row = _rows(runtime)["P0-1"]
    assert len(row["location_quantities"]) == 12 and row["sellable_quantity"] == 1 + 11 * 0


def test_a_second_sync_changes_nothing(runtime, fake_shopify):
    shop = _open_shop(runtime, fake_shopify, products=6, per_product=5)
    sync_catalog(runtime, shop["shop_id"])
    _settle(runtime)
    before = _rows(runtime)

    counts = sync_catalog(runtime, shop["shop_id"])

    assert counts == {"variants_seen": 30, "created": 0, "changed": 0, "unchanged": 30, "stale": 0, "retired": 0,
                      "bulk": False}
    after = _rows(runtime)
    assert not any(row["eta_dirty"] for row in after.values())
    for sku, row in after.items():
        assert row["inventory_read_at"] > before[sku]["inventory_read_at"]  # the same reading, confirmed later
        assert {k: v for k, v in row.items() if k != "inventory_read_at"} == \
               {k: v for k, v in before[sku].items() if k != "inventory_read_at"}


def test_a_stock_change_marks_only_that_variant_and_bumps_its_revision(runtime, fake_shopify):
    shop = _open_shop(runtime, fake_shopify, products=6, per_product=5)
    sync_catalog(runtime, shop["shop_id"])
    _settle(runtime)
    before = _rows(runtime)
    fake_shopify.set_available(SHOP, shop["variants"]["P2-1"], -4, "Overflow")  # sold beyond stock elsewhere

    counts = sync_catalog(runtime, shop["shop_id"])

    assert (counts["changed"], counts["unchanged"]) == (1, 29)
    after = _rows(runtime)
    assert [sku for sku, row in after.items() if row["eta_dirty"]] == ["P2-1"]
    assert after["P2-1"]["eta_revision"] == before["P2-1"]["eta_revision"] + 1 == 2
    assert after["P2-1"]["sellable_quantity"] == 1 - 4
    assert all(after[sku]["eta_revision"] == 1 for sku in after if sku != "P2-1")


def test_a_newer_reading_is_never_overwritten(runtime, fake_shopify):
    shop = _open_shop(runtime, fake_shopify, products=2, per_product=3)
    sync_catalog(runtime, shop["shop_id"])
    later = datetime.now(timezone.utc) + timedelta(minutes=5)  # an order's webhook read it after this sync began
    with runtime.db.session() as session:
        row = session.scalars(select(Variant).where(Variant.sku == "P1-2")).one()
        row.sellable_quantity, row.inventory_read_at = 99, later

    counts = sync_catalog(runtime, shop["shop_id"])

    assert counts["stale"] == 1
    kept = _rows(runtime)["P1-2"]
    assert (kept["sellable_quantity"], kept["inventory_read_at"]) == (99, later)


def test_a_variant_gone_from_the_store_stops_selling_on_backorder_but_keeps_its_row(runtime, fake_shopify):
    shop = _open_shop(runtime, fake_shopify, products=2, per_product=2)
    with runtime.db.shop_session(shop["shop_id"]) as session:
        session.add(Variant(platform_variant_id="999", sku="GONE", continue_selling=True, eta_dirty=False,
                            eta_revision=4, inventory_read_at=datetime.now(timezone.utc) - timedelta(days=1)))

    counts = sync_catalog(runtime, shop["shop_id"])

    assert counts["retired"] == 1 and counts["created"] == 4
    gone = _rows(runtime)["GONE"]
    assert (gone["continue_selling"], gone["eta_dirty"], gone["eta_revision"]) == (False, True, 5)


def test_a_variant_an_order_inserted_meanwhile_is_updated_not_duplicated(runtime, fake_shopify, monkeypatch):
    shop = _open_shop(runtime, fake_shopify, products=1, per_product=2)
    lamp = _legacy(shop["variants"]["P0-1"])
    real_lock = catalog_services._lock
    looked_up: list[list[str]] = []

    def lock_then_race(session, platform_ids):
        looked_up.append(list(platform_ids))
        found = real_lock(session, platform_ids)
        if len(looked_up) == 1:  # the order handler's transaction inserts the lamp right after our lookup
            with runtime.db.shop_session(shop["shop_id"]) as other:
                other.add(Variant(platform_variant_id=lamp, sku="P0-1", sellable_quantity=50, eta_revision=3,
                                  eta_dirty=False, inventory_read_at=datetime.now(timezone.utc) - timedelta(hours=1)))
        return found

    if runtime.db.is_sqlite:  # one writer: the race cannot happen inside our write transaction
        pytest.skip("SQLite serialises writers; the other transaction would wait for ours")
    monkeypatch.setattr(catalog_services, "_lock", lock_then_race)
    counts = sync_catalog(runtime, shop["shop_id"])

    assert (counts["created"], counts["changed"]) == (1, 1)
    assert looked_up[1] == [lamp]  # the conflicting insert was skipped and the row locked and compared
    row = _rows(runtime)["P0-1"]
    assert (row["sellable_quantity"], row["eta_revision"], row["eta_dirty"]) == (1 + 0, 4, True)


# -- bulk export ---------------------------------------------------------------------------------------

def test_a_large_shop_is_read_with_one_bulk_export(runtime, fake_shopify, instant_polls):
    shop = _open_shop(runtime, fake_shopify, products=250, per_product=10)  # 2,500 variants
    counts = sync_catalog(runtime, shop["shop_id"])

    assert counts == {"variants_seen": 2500, "created": 2500, "changed": 0, "unchanged": 0, "stale": 0,
                      "retired": 0, "bulk": True}
    assert _calls(fake_shopify, shop["since"]) == ["CatalogSize", "RecentBulkQueries", "CatalogBulkRun"] + \
        ["BulkOperationStatus"] * 2
    assert instant_polls == [1, 2]
    run = next(call for call in fake_shopify.calls if call.operation == "CatalogBulkRun")
    assert run.requested_cost == run.actual_cost == 10
    rows = _rows(runtime)
    assert len(rows) == 2500
    assert rows["P249-9"]["product_title"] == "Product 249" and rows["P249-9"]["sellable_quantity"] == 9 + 8
    assert all(row["eta_dirty"] and row["eta_revision"] == 1 for row in rows.values())

    # The result file is shaped as the guide shows: a variant per line, each inventory level a
    # line of its own naming its variant in __parentId, right after it.
    [op] = bulk_operations(fake_shopify).of_shop(SHOP)
    lines = [json.loads(line) for line in op.result.decode().splitlines()]
    assert len(lines) == 2500 * 3 and op.object_count == 7500 and op.root_object_count == 2500
    variant, first_level, second_level = lines[:3]
    assert "__parentId" not in variant and variant["id"].startswith("gid://shopify/ProductVariant/")
    assert "inventoryLevels" not in variant["inventoryItem"]
    assert first_level["__parentId"] == second_level["__parentId"] == variant["id"]
    assert set(first_level) == {"location", "quantities", "__parentId"}


def test_a_second_bulk_sync_changes_nothing(runtime, fake_shopify):
    shop = _open_shop(runtime, fake_shopify, products=3, per_product=4)
    assert sync_catalog(runtime, shop["shop_id"], bulk=True)["created"] == 12
    _settle(runtime)
    counts = sync_catalog(runtime, shop["shop_id"], bulk=True)
    assert (counts["bulk"], counts["unchanged"], counts["changed"], counts["created"]) == (True, 12, 0, 0)
    assert not any(row["eta_dirty"] for row in _rows(runtime).values())


def test_paging_and_the_bulk_export_read_the_same_catalogue(runtime, fake_shopify):
    shop = _open_shop(runtime, fake_shopify, products=4, per_product=4)
    sync_catalog(runtime, shop["shop_id"], bulk=False)
    _settle(runtime)
    counts = sync_catalog(runtime, shop["shop_id"], bulk=True)
    assert (counts["unchanged"], counts["changed"]) == (16, 0)  # no flip-flop between the two paths


def test_a_failed_bulk_export_is_a_clear_error_and_changes_nothing(runtime, fake_shopify):
    shop = _open_shop(runtime, fake_shopify, products=3, per_product=4)
    sync_catalog(runtime, shop["shop_id"], bulk=False)
    _settle(runtime)
    before = _rows(runtime)
    fake_shopify.set_available(SHOP, shop["variants"]["P0-1"], -7)
    bulk_operations(fake_shopify).fail_next("INTERNAL_SERVER_ERROR", partial_lines=3)

    with pytest.raises(ConnectorError, match=r"catalogue export gid://shopify/BulkOperation/\d+ of "
                                             r"catalog-shop.myshopify.com failed \(INTERNAL_SERVER_ERROR\)") as failed:
        sync_catalog(runtime, shop["shop_id"], bulk=True)

    assert failed.value.retryable is True
    assert _rows(runtime) == before
    bulk_operations(fake_shopify).fail_next("ACCESS_DENIED")
    with pytest.raises(ConnectorError, match=r"failed \(ACCESS_DENIED\)") as denied:
        sync_catalog(runtime, shop["shop_id"], bulk=True)
    assert denied.value.retryable is False
    assert _rows(runtime) == before


def test_a_canceled_export_is_retryable(runtime, fake_shopify):
    shop = _open_shop(runtime, fake_shopify, products=1, per_product=2)
    bulk_operations(fake_shopify).fail_next(status="CANCELED")
    with pytest.raises(ConnectorError, match="was canceled") as canceled:
        sync_catalog(runtime, shop["shop_id"], bulk=True)
    assert canceled.value.retryable is True
    assert _rows(runtime) == {}


def test_an_export_already_running_is_waited_for_not_started_twice(runtime, fake_shopify):
    shop = _open_shop(runtime, fake_shopify, products=2, per_product=3)
    token = fake_shopify.issue_access_token(SHOP)["access_token"]
    with httpx.Client(transport=httpx.WSGITransport(app=fake_shopify.wsgi_app)) as http:
        answer = http.post(f"https://{SHOP}/admin/api/2026-10/graphql.json", headers={"X-Shopify-Access-Token": token},
                           json={"query": ops.CATALOG_BULK_RUN, "variables": {"query": ops.CATALOG_BULK_QUERY}}).json()
    running = answer["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"]
    since = len(fake_shopify.calls)

    counts = sync_catalog(runtime, shop["shop_id"], bulk=True)

    assert counts["created"] == 6
    assert "CatalogBulkRun" not in _calls(fake_shopify, since)
    assert [op.gql["id"] for op in bulk_operations(fake_shopify).of_shop(SHOP)] == [running]


def test_the_threshold_decides_between_paging_and_bulk(runtime, fake_shopify):
    shop = _open_shop(runtime, fake_shopify, products=1, per_product=3)
    assert sync_catalog(runtime, shop["shop_id"])["bulk"] is False
    size = next(call for call in fake_shopify.calls if call.operation == "CatalogSize")
    assert size.requested_cost == 1
    assert BULK_THRESHOLD == 2000 and CATALOG_PAGE == 25


# -- the JSONL reader (no database) ------------------------------------------------------------------

def test_variants_are_rebuilt_from_lines_in_any_order():
    lines = [
        {"id": "gid://shopify/ProductVariant/1", "sku": "A", "displayName": "Lamp - S", "inventoryPolicy": "CONTINUE",
         "product": {"id": "gid://shopify/Product/9", "title": "Lamp", "handle": "lamp"},
         "inventoryItem": {"tracked": True}},
        {"location": {"id": "gid://shopify/Location/1"}, "quantities": [{"name": "available", "quantity": -2}],
         "__parentId": "gid://shopify/ProductVariant/1"},
        {"location": {"id": "gid://shopify/Location/2"}, "quantities": [{"name": "available", "quantity": 5}],
         "__parentId": "gid://shopify/ProductVariant/1"},
        {"id": "gid://shopify/ProductVariant/2", "sku": None, "displayName": "Lamp - L", "inventoryPolicy": "DENY",
         "product": {"id": "gid://shopify/Product/9", "title": "Lamp", "handle": "lamp"},
         "inventoryItem": {"tracked": False}},
    ]
    ordered = {v.platform_variant_id: v for v in variants_from_jsonl(json.dumps(line) for line in lines)}
    shuffled = lines[:]
    random.Random(7).shuffle(shuffled)
    shuffled.reverse()  # children before their parent, too
    assert {v.platform_variant_id: v for v in variants_from_jsonl(json.dumps(l) for l in shuffled)} == ordered
    small = ordered["1"]
    assert (small.sku, small.title, small.product_title, small.product_handle, small.platform_product_id) == \
           ("A", "Lamp - S", "Lamp", "lamp", "9")
    assert small.by_location == {"gid://shopify/Location/1": -2, "gid://shopify/Location/2": 5}
    assert small.sellable == 3 and small.continue_selling and small.tracked
    large = ordered["2"]
    assert (large.sku, large.by_location, large.continue_selling, large.tracked) == (None, {}, False, False)

