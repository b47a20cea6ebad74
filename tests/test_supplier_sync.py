"""Supplier feed sync on both databases: rows apply in one transaction, bad rows are reported,
history is kept, and Shopify's own incoming shipments become supply lines."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.shopify.devstore import FakeShopify
from connectors.shopify.devstore.fake import DEFAULT_SCOPES
from plugin.db.models import Shop, Supplier, SupplyLine, SupplyLineChange, SyncRun, Variant
from plugin.suppliers.services import (
    SupplierInvalid,
    create_supplier,
    set_supplier_skus,
    shopify_incoming_supplier,
    sync_shopify_incoming,
    sync_supplier,
)
from tests.conftest import API_KEY, API_SECRET
from tests.flow_helpers import install_shop

FEEDS = Path(__file__).parent / "data" / "feeds"
TODAY = date(2026, 6, 1)
SKUS = ("LAMP-S", "LAMP-L", "RUG-01", "VASE-9")
SHOP_DOMAIN = "supply-test.myshopify.com"


@pytest.fixture
def fake_shopify():
    """The dev store granting what the supplier sync needs on top of the app's usual scopes."""
    return FakeShopify(API_KEY, API_SECRET, scopes=DEFAULT_SCOPES)


def make_shop(runtime, domain: str = "feeds.myshopify.com", skus=SKUS) -> int:
    with runtime.db.session() as session:
        shop = Shop(platform="shopify", domain=domain, status="installed", settings={})
        session.add(shop)
        session.flush()
        shop_id = shop.id
    add_variants(runtime, shop_id, skus)
    return shop_id


def add_variants(runtime, shop_id: int, skus) -> None:
    with runtime.db.shop_session(shop_id) as session:
        for sku in skus:
            session.add(Variant(shop_id=shop_id, platform_variant_id=f"{shop_id}-{sku}", sku=sku, eta_dirty=False))


@pytest.fixture
def shop_id(runtime) -> int:
    return make_shop(runtime)


@pytest.fixture
def supplier_id(runtime, shop_id) -> int:
    supplier = create_supplier(runtime, shop_id, name="Nordic Lamps", email="orders@nordic.example",
                               lead_time_days=21, lead_time_spread_days=4, feed_kind="upload",
                               primary_skus=["CHAIR-2"], substitute_skus=["LAMP-S"])
    return supplier.id


def upload(runtime, shop_id, supplier_id, data: bytes | str, today: date = TODAY) -> SyncRun:
    body = data if isinstance(data, bytes) else (FEEDS / data).read_bytes()
    return sync_supplier(runtime, shop_id, supplier_id, source="upload", body=body, today=today)


def lines(runtime, shop_id) -> dict[tuple[str, str], SupplyLine]:
    with runtime.db.shop_session(shop_id) as session:
        return {(ln.po_reference, ln.sku): ln for ln in session.scalars(select(SupplyLine))}


def history(runtime, shop_id, po: str, sku: str) -> list[tuple]:
    with runtime.db.shop_session(shop_id) as session:
        line = session.scalars(select(SupplyLine).where(SupplyLine.po_reference == po, SupplyLine.sku == sku)).one()
        changes = session.scalars(select(SupplyLineChange).where(SupplyLineChange.supply_line_id == line.id)
                                  .order_by(SupplyLineChange.id))
        return [(c.old_expected_date, c.new_expected_date, c.old_status, c.new_status) for c in changes]


def dirty(runtime, shop_id) -> set[str]:
    with runtime.db.shop_session(shop_id) as session:
        return set(session.scalars(select(Variant.sku).where(Variant.eta_dirty.is_(True))))


def snapshot(runtime, shop_id):
    with runtime.db.shop_session(shop_id) as session:
        supply = sorted((ln.po_reference, ln.sku, ln.quantity, ln.expected_date, ln.status, ln.received_date)
                        for ln in session.scalars(select(SupplyLine)))
        return supply, session.query(SupplyLineChange).count()


# -- feeds -----------------------------------------------------------------------------------------
def test_a_good_csv_applies_in_one_sync(runtime, shop_id, supplier_id):
    run = upload(runtime, shop_id, supplier_id, "good.csv")
    assert (run.status, run.rows_total, run.rows_applied, run.rows_rejected, run.errors) == ("ok", 4, 4, 0, [])
    assert run.source == "upload" and run.finished_at is not None
    found = lines(runtime, shop_id)
    lamp = found[("PO-100", "LAMP-S")]
    assert (lamp.quantity, lamp.promised_date, lamp.expected_date, lamp.status) == (10, date(2026, 7, 1), date(2026, 7, 1), "ordered")
    assert lamp.variant_id is not None and lamp.source == "upload"
    assert found[("PO-100", "LAMP-L")].tracking == "1Z999AA10123456784"
    assert found[("PO-101", "RUG-01")].received_date == TODAY  # received without a date: today
    chair = found[("PO-102", "CHAIR-2")]  # known through the supplier's SKU list, not a variant
    assert chair.variant_id is None and chair.expected_date == date(2026, 8, 1)
    assert history(runtime, shop_id, "PO-100", "LAMP-S") == [(None, date(2026, 7, 1), None, "ordered")]
    assert dirty(runtime, shop_id) == {"LAMP-S", "LAMP-L", "RUG-01"}  # VASE-9 is untouched
    with runtime.db.shop_session(shop_id) as session:
        stored = session.get(SyncRun, run.id)
        assert stored.status == "ok" and stored.message.startswith("4 rows: 4 applied")
        assert session.get(Supplier, supplier_id).last_synced_at is not None


def test_an_excel_export_applies_with_day_first_dates(runtime, shop_id, supplier_id):
    run = upload(runtime, shop_id, supplier_id, "excel_semicolon_bom_crlf.csv")
    assert run.status == "ok" and run.rows_applied == 3
    assert "ignored columns: Comment" in run.message
    found = lines(runtime, shop_id)
    assert found[("PO-300", "LAMP-S")].expected_date == date(2027, 4, 3)
    assert found[("PO-300", "LAMP-L")].status == "shipped"


def test_bad_rows_are_reported_and_good_rows_still_apply(runtime, shop_id, supplier_id):
    run = upload(runtime, shop_id, supplier_id, "bad_rows.csv")
    assert (run.status, run.rows_total, run.rows_applied, run.rows_rejected) == ("partial", 8, 2, 6)
    errors = {e["line"]: e["reason"] for e in run.errors}
    assert sorted(errors) == [3, 4, 5, 6, 7, 8]
    assert "negative" in errors[3]
    assert "unknown SKU 'NOPE-1'" in errors[4]
    assert "not a real date" in errors[5]
    assert "duplicate PO line" in errors[6] and "line 2" in errors[6] and "line 6" in errors[6]
    assert "missing columns" in errors[7]
    assert "before 2000" in errors[8]
    found = lines(runtime, shop_id)
    assert set(found) == {("PO-200", "LAMP-S"), ("PO-201", "VASE-9")}
    assert found[("PO-200", "LAMP-S")].quantity == 4  # the first of the duplicates, not the second
    with runtime.db.shop_session(shop_id) as session:
        assert session.get(SyncRun, run.id).errors == run.errors


@pytest.mark.parametrize("name, named", [("wrong_header.csv", "sku, quantity, po_reference"),
                                         ("no_po_column.csv", "po_reference")])
def test_a_feed_that_cannot_be_read_changes_nothing_and_says_why(runtime, shop_id, supplier_id, name, named):
    upload(runtime, shop_id, supplier_id, "good.csv")
    before = snapshot(runtime, shop_id)
    run = upload(runtime, shop_id, supplier_id, name)
    assert run.status == "failed" and run.rows_applied == 0
    assert "missing required column" in run.message and named in run.message and "nothing changed" in run.message
    assert snapshot(runtime, shop_id) == before
    with runtime.db.shop_session(shop_id) as session:
        assert session.get(SyncRun, run.id).status == "failed"


def test_a_feed_where_every_row_is_bad_fails_and_changes_nothing(runtime, shop_id, supplier_id):
    upload(runtime, shop_id, supplier_id, "good.csv")
    before = snapshot(runtime, shop_id)
    run = upload(runtime, shop_id, supplier_id, b"sku,qty,eta,po\nNOPE,1,2026-07-01,P\nLAMP-S,-1,2026-07-01,P\n")
    assert (run.status, run.rows_rejected, run.rows_applied) == ("failed", 2, 0)
    assert "every one of the 2 rows was rejected" in run.message
    assert snapshot(runtime, shop_id) == before


def test_a_moved_expected_date_is_kept_as_history_with_the_first_promise(runtime, shop_id, supplier_id):
    feed = "sku,qty,eta,po\nLAMP-S,10,{}\n"
    upload(runtime, shop_id, supplier_id, feed.format("2026-07-01,PO-1").encode())
    run = upload(runtime, shop_id, supplier_id, feed.format("2026-07-20,PO-1").encode())
    assert (run.rows_applied, run.rows_unchanged) == (1, 0)
    line = lines(runtime, shop_id)[("PO-1", "LAMP-S")]
    assert (line.promised_date, line.expected_date) == (date(2026, 7, 1), date(2026, 7, 20))
    again = upload(runtime, shop_id, supplier_id, feed.format("2026-07-20,PO-1").encode())
    assert (again.status, again.rows_applied, again.rows_unchanged) == ("ok", 0, 1)
    assert history(runtime, shop_id, "PO-1", "LAMP-S") == [
        (None, date(2026, 7, 1), None, "ordered"),
        (date(2026, 7, 1), date(2026, 7, 20), "ordered", "ordered"),
    ]
    with runtime.db.shop_session(shop_id) as session:
        runs = {c.sync_run_id for c in session.scalars(select(SupplyLineChange))}
        assert run.id in runs and again.id not in runs


def test_received_sets_the_receipt_date(runtime, shop_id, supplier_id):
    upload(runtime, shop_id, supplier_id, b"sku,qty,eta,po,status\nLAMP-S,5,2026-07-01,PO-1,shipped\nLAMP-L,5,2026-07-01,PO-1,shipped\n")
    run = upload(runtime, shop_id, supplier_id,
                 b"sku,qty,eta,po,status,received_date\nLAMP-S,5,2026-07-01,PO-1,received,\nLAMP-L,5,2026-07-01,PO-1,received,03/07/2026\n",
                 today=date(2026, 7, 5))
    assert run.status == "ok" and run.rows_applied == 2
    found = lines(runtime, shop_id)
    assert found[("PO-1", "LAMP-S")].received_date == date(2026, 7, 5)
    assert found[("PO-1", "LAMP-L")].received_date == date(2026, 7, 3)
    assert found[("PO-1", "LAMP-L")].promised_date == date(2026, 7, 1)  # promised vs actual: 2 days late
    assert history(runtime, shop_id, "PO-1", "LAMP-L")[-1] == (date(2026, 7, 1), date(2026, 7, 1), "shipped", "received")


def test_lines_absent_from_a_feed_are_left_alone_until_cancelled(runtime, shop_id, supplier_id):
    upload(runtime, shop_id, supplier_id, b"sku,qty,eta,po\nLAMP-S,5,2026-07-01,PO-1\nRUG-01,2,2026-07-02,PO-2\n")
    upload(runtime, shop_id, supplier_id, b"sku,qty,eta,po\nLAMP-S,5,2026-07-01,PO-1\n")
    assert lines(runtime, shop_id)[("PO-2", "RUG-01")].status == "ordered"
    run = upload(runtime, shop_id, supplier_id, b"sku,qty,eta,po,status\nRUG-01,2,,PO-2,cancelled\n")
    assert run.rows_applied == 1
    line = lines(runtime, shop_id)[("PO-2", "RUG-01")]
    assert (line.status, line.expected_date) == ("cancelled", date(2026, 7, 2))
    assert history(runtime, shop_id, "PO-2", "RUG-01")[-1] == (date(2026, 7, 2), date(2026, 7, 2), "ordered", "cancelled")


def test_lead_days_count_from_when_the_line_was_first_seen(runtime, shop_id, supplier_id):
    today = datetime.now(timezone.utc).date()
    feed = b"sku,qty,lead_days,po\nLAMP-S,5,10,PO-9\n"
    upload(runtime, shop_id, supplier_id, feed, today=today)
    assert lines(runtime, shop_id)[("PO-9", "LAMP-S")].expected_date == date.fromordinal(today.toordinal() + 10)
    later = date.fromordinal(today.toordinal() + 3)
    assert upload(runtime, shop_id, supplier_id, feed, today=later).rows_unchanged == 1  # not pushed back daily
    upload(runtime, shop_id, supplier_id, b"sku,qty,lead_days,po\nLAMP-S,5,14,PO-9\n", today=later)
    assert lines(runtime, shop_id)[("PO-9", "LAMP-S")].expected_date == date.fromordinal(today.toordinal() + 14)


def test_json_upload_and_manual_rows(runtime, shop_id, supplier_id):
    run = upload(runtime, shop_id, supplier_id, "feed.json")
    assert (run.status, run.rows_applied, run.errors) == ("partial", 2, [{"line": 3, "reason": "quantity 'three' is not a number"}])
    assert lines(runtime, shop_id)[("PO-400", "RUG-01")].expected_date == date(2026, 6, 22)  # 21 lead days
    manual = sync_supplier(runtime, shop_id, supplier_id, source="manual", today=TODAY, rows=[
        {"sku": "VASE-9", "quantity": 3, "expected_date": "2026-09-01", "po_reference": "PO-500"},
        {"sku": "VASE-9", "quantity": -3, "expected_date": "2026-09-01", "po_reference": "PO-501"},
    ])
    assert (manual.source, manual.status, manual.rows_applied) == ("manual", "partial", 1)
    assert manual.errors == [{"line": 2, "reason": "quantity -3 is negative"}]


def test_five_thousand_rows_apply_and_resync_as_unchanged(runtime, shop_id, supplier_id):
    skus = [f"BULK-{i:03d}" for i in range(50)]
    add_variants(runtime, shop_id, skus)
    rows = ["SKU;Qty;ETA;PO"] + [f"{skus[i % 50]};{1 + i % 7};{1 + i % 28:02d}/08/2026;PO-{i // 50}" for i in range(5000)]
    rows[100] = "BULK-001;-5;01/08/2026;PO-X"  # line 101
    body = ("\ufeff" + "\r\n".join(rows) + "\r\n").encode()
    run = upload(runtime, shop_id, supplier_id, body)
    assert (run.status, run.rows_total, run.rows_applied, run.rows_rejected) == ("partial", 5000, 4999, 1)
    assert run.errors == [{"line": 101, "reason": "quantity -5 is negative"}]
    again = upload(runtime, shop_id, supplier_id, body)
    assert (again.rows_applied, again.rows_unchanged) == (0, 4999)
    with runtime.db.shop_session(shop_id) as session:
        assert session.query(SupplyLine).count() == 4999
        assert session.query(SupplyLineChange).count() == 4999


def test_a_supplier_of_another_shop_is_out_of_reach(runtime, shop_id, supplier_id):
    other = make_shop(runtime, "other.myshopify.com")
    with pytest.raises(LookupError):
        upload(runtime, other, supplier_id, "good.csv")
    assert lines(runtime, shop_id) == {}


# -- suppliers ---------------------------------------------------------------------------------------
def test_supplier_details_and_sku_lists(runtime, shop_id, supplier_id):
    with runtime.db.shop_session(shop_id) as session:
        supplier = session.get(Supplier, supplier_id)
        assert (supplier.name, supplier.email, supplier.lead_time_days, supplier.lead_time_spread_days,
                supplier.handling_days, supplier.feed_kind) == ("Nordic Lamps", "orders@nordic.example", 21, 4, 1, "upload")
        assert {(s.sku, s.role) for s in supplier.skus} == {("CHAIR-2", "primary"), ("LAMP-S", "substitute")}
    skus = set_supplier_skus(runtime, shop_id, supplier_id, primary=["LAMP-S", " RUG-01 ", ""], substitutes=["VASE-9"])
    assert [(s.sku, s.role) for s in skus] == [("LAMP-S", "primary"), ("RUG-01", "primary"), ("VASE-9", "substitute")]
    assert dirty(runtime, shop_id) == {"LAMP-S", "RUG-01", "VASE-9"}  # who supplies them changed
    run = upload(runtime, shop_id, supplier_id, b"sku,qty,eta,po\nCHAIR-2,1,2026-07-01,P\n")
    assert "unknown SKU 'CHAIR-2'" in run.errors[0]["reason"]  # no longer on the list


INVALID_SUPPLIERS = [
    ({"name": "Nordic Lamps"}, "already exists"),
    ({"name": " "}, "name"),
    ({"name": "X", "email": "not-an-email"}, "email"),
    ({"name": "X", "lead_time_days": -1}, "lead_time_days"),
    ({"name": "X", "feed_kind": "url"}, "no feed URL"),
    ({"name": "X", "feed_kind": "url", "feed_url": "ftp://files.example/feed.csv"}, "http"),
    ({"name": "X", "feed_kind": "shopify_incoming"}, "feed_kind"),
    ({"name": "X", "feed_kind": "url", "feed_url": "https://x.example/f", "feed_auth_header": "Bearer s3cret"}, "Name: value"),
]


def test_invalid_suppliers_are_refused_with_the_field_named(runtime, shop_id, supplier_id):
    for kwargs, message in INVALID_SUPPLIERS:
        with pytest.raises(SupplierInvalid) as info:
            create_supplier(runtime, shop_id, **kwargs)
        assert message in str(info.value), kwargs
        assert "s3cret" not in str(info.value)
    with runtime.db.shop_session(shop_id) as session:
        assert [s.name for s in session.scalars(select(Supplier))] == ["Nordic Lamps"]


def test_the_auth_header_is_stored_encrypted(runtime, shop_id):
    supplier = create_supplier(runtime, shop_id, name="Feedy", feed_kind="url", feed_url="https://x.example/f.csv",
                               feed_auth_header="X-Api-Key: s3cret-value")
    with runtime.db.engine.connect() as conn:
        raw = conn.exec_driver_sql(f"SELECT feed_auth_header FROM suppliers WHERE id = {supplier.id}").scalar_one()
    assert "s3cret" not in raw
    with runtime.db.shop_session(shop_id) as session:
        assert session.get(Supplier, supplier.id).feed_auth_header == "X-Api-Key: s3cret-value"


# -- Shopify's own incoming shipments -------------------------------------------------------------
@pytest.fixture
def store(runtime, fake_shopify):
    fake_shopify.create_shop(SHOP_DOMAIN, locations=("Main warehouse", "Overflow"))
    product = fake_shopify.add_product(SHOP_DOMAIN, "Linen lamp", [
        {"sku": "LAMP-S", "title": "Small", "policy": "CONTINUE"},
        {"sku": "LAMP-L", "title": "Large", "policy": "CONTINUE"},
        {"sku": None, "title": "Sample", "policy": "CONTINUE"}])
    install_shop(runtime, fake_shopify, SHOP_DOMAIN)
    with runtime.db.session() as session:
        shop_id = session.scalars(select(Shop.id).where(Shop.domain == SHOP_DOMAIN)).one()
    add_variants(runtime, shop_id, ["LAMP-S"])
    small, large, sample = (v["id"] for v in product["variants"])
    return {"fake": fake_shopify, "shop_id": shop_id, "small": small, "large": large, "sample": sample}


def test_shopify_incoming_shipments_become_supply_lines(runtime, store):
    fake, shop_id = store["fake"], store["shop_id"]
    first = fake.add_inventory_shipment(SHOP_DOMAIN, [(store["small"], 12), (store["large"], 4)],
                                        arrives_at=date(2026, 12, 10), tracking_number="1Z-IN-1")
    fake.add_inventory_shipment(SHOP_DOMAIN, [(store["small"], 99)], status="DRAFT")  # not on its way yet
    assert fake.incoming(SHOP_DOMAIN, store["small"]) == 12

    run = sync_shopify_incoming(runtime, shop_id, today=TODAY)
    assert (run.source, run.status, run.rows_applied) == ("shopify_incoming", "ok", 2)
    found = lines(runtime, shop_id)
    small = found[(first["id"], "LAMP-S")]
    assert (small.quantity, small.expected_date, small.promised_date, small.status, small.tracking) == (
        12, date(2026, 12, 10), date(2026, 12, 10), "shipped", "1Z-IN-1")
    assert small.variant_id is not None and small.source == "shopify_incoming"
    supplier = shopify_incoming_supplier(runtime, shop_id)
    assert (supplier.name, supplier.feed_kind) == ("Shopify incoming", "shopify_incoming")
    assert dirty(runtime, shop_id) == {"LAMP-S"}

    # The arrival moves, part of the shipment arrives: history, then receipt.
    fake.set_inventory_shipment_tracking(SHOP_DOMAIN, first["id"], arrives_at=date(2026, 12, 15))
    fake.receive_inventory_shipment(SHOP_DOMAIN, first["id"], accepted={store["large"]: 4})
    run = sync_shopify_incoming(runtime, shop_id, today=TODAY)
    assert run.rows_applied == 2
    found = lines(runtime, shop_id)
    assert found[(first["id"], "LAMP-S")].expected_date == date(2026, 12, 15)
    assert found[(first["id"], "LAMP-S")].promised_date == date(2026, 12, 10)
    large = found[(first["id"], "LAMP-L")]
    assert (large.status, large.quantity) == ("received", 4) and large.received_date is not None
    assert history(runtime, shop_id, first["id"], "LAMP-S")[-1] == (date(2026, 12, 10), date(2026, 12, 15), "shipped", "shipped")

    # Fully received: the shipment leaves the in-transit list and is looked up by id.
    fake.receive_inventory_shipment(SHOP_DOMAIN, first["id"])
    run = sync_shopify_incoming(runtime, shop_id, today=TODAY)
    assert run.status == "ok"
    assert lines(runtime, shop_id)[(first["id"], "LAMP-S")].status == "received"
    assert sync_shopify_incoming(runtime, shop_id, today=TODAY).rows_applied == 0  # nothing new


def test_an_item_removed_from_a_shipment_is_cancelled_and_skuless_items_are_reported(runtime, store):
    fake, shop_id = store["fake"], store["shop_id"]
    shipment = fake.add_inventory_shipment(SHOP_DOMAIN, [(store["small"], 2), (store["large"], 3), (store["sample"], 1)])
    run = sync_shopify_incoming(runtime, shop_id, today=TODAY)
    assert (run.status, run.rows_applied, run.rows_rejected) == ("partial", 2, 1)
    assert "without a SKU" in run.errors[0]["reason"]
    # No tracking date: shipped day + the built-in supplier's lead time.
    assert lines(runtime, shop_id)[(shipment["id"], "LAMP-L")].expected_date is not None
    fake.remove_inventory_shipment_items(SHOP_DOMAIN, shipment["id"], [store["large"]])
    sync_shopify_incoming(runtime, shop_id, today=TODAY)
    found = lines(runtime, shop_id)
    assert found[(shipment["id"], "LAMP-L")].status == "cancelled"
    assert found[(shipment["id"], "LAMP-S")].status == "shipped"


def test_a_shipment_longer_than_one_page_is_read_to_the_end(runtime, store):
    fake, shop_id = store["fake"], store["shop_id"]
    many = fake.add_product(SHOP_DOMAIN, "Tiles", [{"sku": f"TILE-{i:03d}", "title": f"T{i}"} for i in range(260)])
    shipment = fake.add_inventory_shipment(SHOP_DOMAIN, [(v["id"], 1) for v in many["variants"]],
                                           arrives_at=date(2026, 9, 1))
    run = sync_shopify_incoming(runtime, shop_id, today=TODAY)
    assert (run.status, run.rows_applied) == ("ok", 260)
    assert "InventoryShipmentLineItems" in {c.operation for c in fake.calls}
    assert (shipment["id"], "TILE-259") in lines(runtime, shop_id)


def test_without_the_shipments_scope_the_run_fails_and_says_why(runtime, fake_shopify):
    fake_shopify.tokens.scopes = frozenset(DEFAULT_SCOPES) - {"read_inventory_shipments"}  # a shop that never granted it
    fake_shopify.create_shop(SHOP_DOMAIN)
    install_shop(runtime, fake_shopify, SHOP_DOMAIN)
    with runtime.db.session() as session:
        shop_id = session.scalars(select(Shop.id).where(Shop.domain == SHOP_DOMAIN)).one()
    run = sync_shopify_incoming(runtime, shop_id, today=TODAY)
    assert run.status == "failed" and "read_inventory_shipments" in run.message
    assert lines(runtime, shop_id) == {}


def test_the_dev_stores_inventory_shipments_behave_like_shopifys():
    """No database: the fake's own rules for shipments, which the sync tests above rely on."""
    import httpx

    from connectors.shopify.devstore import StoreError
    from connectors.shopify.operations import INCOMING_SHIPMENTS

    fake = FakeShopify(API_KEY, API_SECRET, scopes=DEFAULT_SCOPES)
    fake.create_shop(SHOP_DOMAIN)
    variant = fake.add_product(SHOP_DOMAIN, "Lamp", [{"sku": "LAMP-S", "available": 2}])["variants"][0]["id"]
    moving = fake.add_inventory_shipment(SHOP_DOMAIN, [(variant, 5)], tracking_number="T-1")
    draft = fake.add_inventory_shipment(SHOP_DOMAIN, [(variant, 7)], status="DRAFT")
    assert fake.incoming(SHOP_DOMAIN, variant) == 5  # a draft is not on its way yet
    with pytest.raises(StoreError, match="Only draft shipments can be deleted"):
        fake.delete_inventory_shipment(SHOP_DOMAIN, moving["id"])
    fake.receive_inventory_shipment(SHOP_DOMAIN, moving["id"], accepted={variant: 3}, rejected={variant: 1})
    assert (fake.incoming(SHOP_DOMAIN, variant), fake.available(SHOP_DOMAIN, variant)) == (1, 5)
    assert fake.inventory_shipment(SHOP_DOMAIN, moving["id"])["status"] == "PARTIALLY_RECEIVED"

    token = fake.issue_access_token(SHOP_DOMAIN)["access_token"]
    http = httpx.Client(transport=httpx.WSGITransport(app=fake.wsgi_app))

    def query(search, access_token=token):
        return http.post(f"https://{SHOP_DOMAIN}/admin/api/2026-10/graphql.json",
                         json={"query": INCOMING_SHIPMENTS, "variables": {"first": 10, "query": search}},
                         headers={"X-Shopify-Access-Token": access_token}).json()

    def names(body):
        return [edge["node"]["name"] for edge in body["data"]["inventoryShipments"]["edges"]]

    assert names(query("status:in_transit OR status:partially_received")) == [moving["name"]]
    assert names(query("status:draft")) == [draft["name"]]
    assert names(query("-status:draft tracking_number:T-1")) == [moving["name"]]
    warned = query("colour:red")
    assert warned["extensions"]["search"][0]["warnings"][0]["field"] == "colour"
    assert "parentheses" in query("(status:draft)")["errors"][0]["message"]
    without_shipments = tuple(s for s in DEFAULT_SCOPES if s != "read_inventory_shipments")
    narrow = fake.issue_access_token(SHOP_DOMAIN, scopes=without_shipments)["access_token"]
    assert query(None, narrow)["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
