"""Reading a WooCommerce store: stock, the catalogue, orders by modification, and the first import."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from connectors.woocommerce import lifecycle
from connectors.woocommerce.initial_sync import import_store
from plugin.db.models import Backorder, Order, Variant
from tests.woocommerce_helpers import DOMAIN, SITE, shop_row, wc_fake, wc_runtime  # noqa: F401 - fixtures


@pytest.fixture
def shop(wc_fake, wc_runtime):
    key = wc_fake.create_key("read_write")
    lifecycle.store_keys(wc_runtime, store_url=SITE, domain=DOMAIN, consumer_key=key["consumer_key"],
                         consumer_secret=key["consumer_secret"], scopes="read_write")
    return shop_row(wc_runtime)


@pytest.fixture
def connector(wc_runtime):
    return wc_runtime.connector("woocommerce")


def test_read_inventory_reads_products_and_variations_even_without_knowing_the_parent(wc_fake, shop, connector):
    desk = wc_fake.add_product("Oak desk", sku="DESK-OAK", stock=2, backorders="notify")
    lamp = wc_fake.add_product("Linen lamp", variations=[
        {"sku": "LAMP-S", "stock": -1, "backorders": "yes", "attributes": {"Size": "S"}},
        {"sku": "LAMP-L", "attributes": {"Size": "L"}}], stock=7)  # L: stock managed by the parent
    gift = wc_fake.add_product("Gift card", sku="GIFT")
    small, large = lamp["variations"]
    stock = {s.platform_variant_id: s for s in connector.read_inventory(shop, [desk["id"], small, large, gift["id"], 999])}
    assert set(stock) == {str(desk["id"]), str(small), str(large), str(gift["id"])}
    assert (stock[str(desk["id"])].tracked, stock[str(desk["id"])].continue_selling, stock[str(desk["id"])].sellable) \
        == (True, True, 2)
    assert stock[str(small)].platform_product_id == str(lamp["id"]) and stock[str(small)].sellable == -1
    assert stock[str(large)].tracked and stock[str(large)].sellable == 7  # the parent's stock
    assert not stock[str(gift["id"])].tracked and not stock[str(gift["id"])].continue_selling
    # Now that the parents are known, variations are read under their product, in one request.
    wc_fake.reset_requests()
    connector.read_inventory(shop, [small, large])
    assert [c.route for c in wc_fake.requests] == [f"/wc/v3/products/{lamp['id']}/variations"]


def test_read_catalog_pages_products_then_each_variable_products_variations(wc_fake, shop, connector):
    for n in range(230):
        wc_fake.add_product(f"P{n}", sku=f"P{n}", stock=3)
    variable = [wc_fake.add_product(f"V{n}", variations=[{"sku": f"V{n}-{v}", "stock": 1, "attributes": {"Size": str(v)}}
                                                          for v in range(3)]) for n in range(5)]
    wc_fake.add_product("Grouped-ish, not stocked", sku="FREE")
    wc_fake.reset_requests()
    read = connector.read_catalog(shop)
    items = list(read)
    assert len(items) == 230 + 15 + 1 and read.read_at is not None and not read.bulk
    assert len({i.platform_variant_id for i in items}) == len(items)
    products = 230 + 5 + 1
    assert wc_fake.request_count == math.ceil(products / 100) + len(variable)
    named = next(i for i in items if i.sku == "V0-0")
    assert named.product_title == "V0" and named.platform_product_id == str(variable[0]["id"])


def test_transient_store_errors_are_retried(wc_fake, shop, connector):
    desk = wc_fake.add_product("Oak desk", sku="DESK-OAK", stock=2)
    wc_fake.fail_next(1, status=503)
    wc_fake.fail_next(1, status="timeout")
    wc_fake.fail_next(1, status=429)
    assert connector.read_inventory(shop, [desk["id"]])[0].sellable == 2
    assert wc_fake.request_count == 4


def test_orders_updated_since_uses_modified_after_and_returns_oldest_update_first(wc_fake, shop, connector):
    desk = wc_fake.add_product("Oak desk", sku="DESK-OAK", stock=100)
    first = wc_fake.place_order([(desk["id"], 1)])
    second = wc_fake.place_order([(desk["id"], 1)])
    wc_fake.set_order_status(first["id"], "completed")  # first is now the newest update
    wc_fake.reset_requests()
    orders = connector.read_orders_updated_since(shop, datetime.now(timezone.utc) - timedelta(minutes=5))
    assert {o.id for o in orders} == {first["id"], second["id"]}
    assert [o.updated_at for o in orders] == sorted(o.updated_at for o in orders)
    listing = [c for c in wc_fake.requests if c.route == "/wc/v3/orders"]
    assert listing and "modified_after=" in listing[0].query and "dates_are_gmt=true" in listing[0].query
    assert connector.read_orders_updated_since(shop, datetime.now(timezone.utc) + timedelta(minutes=5)) == []


def test_the_first_import_reads_at_the_paging_minimum_and_records_open_orders(wc_fake, shop, wc_runtime):
    scarce = wc_fake.add_product("Oak desk", sku="DESK-OAK", stock=1, backorders="notify")
    lamp = wc_fake.add_product("Linen lamp", variations=[
        {"sku": "LAMP-S", "stock": 0, "backorders": "yes", "attributes": {"Size": "S"}},
        {"sku": "LAMP-L", "stock": 500, "attributes": {"Size": "L"}}])
    for n in range(120):
        wc_fake.add_product(f"Rug {n}", sku=f"RUG-{n}", stock=100)
    small, large = lamp["variations"]
    for n in range(150):
        wc_fake.place_order([(large, 1)], status="completed")
    older = wc_fake.place_order([(scarce["id"], 1), (small, 1)], status="processing")
    newer = wc_fake.place_order([(scarce["id"], 2)], status="on-hold")
    wc_fake.place_order([(small, 1)], status="pending")
    wc_fake.reset_requests()

    counts = import_store(wc_runtime, shop.id, write_marks=False)
    products, orders = 122, 153
    assert wc_fake.request_count == math.ceil(products / 100) + 1 + math.ceil(orders / 100)
    assert counts["orders_seen"] == orders and counts["orders_recorded"] == 2
    with wc_runtime.db.shop_session(shop.id) as session:
        assert session.scalar(select(func.count()).select_from(Variant)) == 120 + 1 + 2
        assert session.scalar(select(func.count()).select_from(Order)) == 2
        units = {row.platform_order_id: row.units for row in session.execute(
            select(Order.platform_order_id, func.sum(Backorder.quantity).label("units"))
            .join(Order.lines).join(Backorder).group_by(Order.platform_order_id))}
    # The desk: stock 1, 3 ordered -> 2 short, on the newest order first; the small lamp: 1 short.
    assert units == {str(newer["id"]): 2, str(older["id"]): 1}

    wc_fake.reset_requests()
    again = import_store(wc_runtime, shop.id, write_marks=True)
    assert again["orders_recorded"] == 2
    with wc_runtime.db.shop_session(shop.id) as session:
        assert session.scalar(select(func.count()).select_from(Backorder)) == 2
    assert wc_fake.line_meta(newer["id"], 0).get("_backorder_desk_eta")


def test_a_new_store_is_imported_once_by_the_scheduled_job(wc_fake, shop, wc_runtime):
    from connectors.woocommerce.jobs import import_new_stores
    from plugin.jobs.schedule import job_by_name

    desk = wc_fake.add_product("Oak desk", sku="DESK-OAK", stock=0, backorders="notify")
    wc_fake.place_order([(desk["id"], 1)])
    assert job_by_name("woocommerce_import").func is import_new_stores
    counts: dict = {}
    import_new_stores(wc_runtime, counts)
    assert counts["shops"] == 1 and counts["orders_recorded"] == 1
    wc_fake.reset_requests()
    import_new_stores(wc_runtime, counts := {})
    assert counts["shops"] == 0 and wc_fake.request_count == 0


def test_plain_http_stores_accept_our_oauth_signatures_even_with_a_slash_in_a_value(wc_runtime):
    from connectors.woocommerce.devstore import FakeWooCommerce
    from connectors.woocommerce.transport import ADAPTER_KEY

    fake = FakeWooCommerce("http://shop.example.test/wp")
    wc_runtime.extras[ADAPTER_KEY] = fake.requests_adapter()
    key = fake.create_key("read_write")
    fake.add_product("Oak desk", sku="DESK/OAK", stock=1)
    client = wc_runtime.connector("woocommerce").client_for("http://shop.example.test/wp", key["consumer_key"],
                                                            key["consumer_secret"])
    found = client.get("products", {"search": "Oak", "sku": "DESK/OAK", "per_page": 5})
    assert [p["sku"] for p in found] == ["DESK/OAK"]
    assert fake.requests[-1].auth_method == "oauth1"
