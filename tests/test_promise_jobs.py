"""The jobs that keep promises true, end to end against the dev store: feeds on their own schedule,
ETAs from real supply at order time, recompute on change, and the new dates pushed to the store."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from plugin.db.models import Backorder, BackorderEvent, JobRun, Shop, SyncRun
from plugin.backorders import marks as order_marks
from plugin.jobs import promises
from plugin.jobs.schedule import job_by_name, run_job
from plugin.suppliers.services import create_supplier, sync_supplier
from tests.flow_helpers import drain, install_shop

SHOP = "promises.myshopify.com"


def utc_today():
    return datetime.now(timezone.utc).date()


class Feed:
    """A supplier's feed server on 127.0.0.1 that counts its hits."""

    def __init__(self):
        self.body = b""
        self.hits = 0
        self.failing = False

    def app(self, environ, start_response):
        self.hits += 1
        response = Response("down", status=503) if self.failing else Response(self.body, content_type="text/csv")
        return response(environ, start_response)


@pytest.fixture(scope="module")
def feed_server():
    feed = Feed()
    httpd = make_server("127.0.0.1", 0, feed.app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    feed.url = f"http://127.0.0.1:{httpd.server_port}/po.csv"
    yield feed
    httpd.shutdown()


@pytest.fixture
def store(app, runtime, fake_shopify):
    fake_shopify.create_shop(SHOP)
    desk = fake_shopify.add_product(SHOP, "Oak desk", variants=[
        {"sku": "DESK", "price": "499.00", "tracked": True, "policy": "CONTINUE", "available": 2}])
    install_shop(runtime, fake_shopify, SHOP)
    with runtime.db.session() as session:
        shop_id = session.scalars(select(Shop.id).where(Shop.domain == SHOP)).one()
    return SimpleNamespace(shop_id=shop_id, desk=desk["variants"][0]["id"])


def etas_in_store(fake_shopify, order_gid) -> list:
    [metafield] = [m for m in fake_shopify.order(SHOP, order_gid)["metafields"] if m["key"] == "backorder_etas"]
    return [(e["sku"], e["quantity"], e["eta"]) for e in json.loads(metafield["value"])]


def test_an_order_gets_its_eta_from_supply_and_a_slip_reaches_the_store(runtime, fake_shopify, store):
    today = utc_today()
    supplier = create_supplier(runtime, store.shop_id, name="Oak Works", primary_skus=["DESK"], handling_days=1)
    sync_supplier(runtime, store.shop_id, supplier.id, source="manual",
                  rows=[{"sku": "DESK", "quantity": 5, "expected_date": (today + timedelta(days=10)).isoformat(),
                         "po_reference": "PO-1"}])

    order = fake_shopify.place_order(SHOP, [(store.desk, 3)])  # 2 in stock: 1 backordered
    drain(runtime)
    first = (today + timedelta(days=11)).isoformat()
    assert etas_in_store(fake_shopify, order["id"]) == [("DESK", 1, first)]

    # The supplier moves the lot by ten days; the schedule's jobs recompute and push.
    sync_supplier(runtime, store.shop_id, supplier.id, source="manual",
                  rows=[{"sku": "DESK", "quantity": 5, "expected_date": (today + timedelta(days=20)).isoformat(),
                         "po_reference": "PO-1"}])
    assert run_job(runtime, job_by_name("eta_recompute"))
    assert run_job(runtime, job_by_name("eta_push"))
    later = (today + timedelta(days=21)).isoformat()
    assert etas_in_store(fake_shopify, order["id"]) == [("DESK", 1, later)]
    with runtime.db.session() as session:
        events = session.execute(select(BackorderEvent.kind, BackorderEvent.new_date)).all()
        runs = {r.job_name: r for r in session.scalars(select(JobRun))}
    assert [(kind, new.isoformat()) for kind, new in events] == [("delay", later)]
    assert runs["eta_recompute"].status == "ok" and runs["eta_recompute"].counts["changed"] == 1
    assert runs["eta_push"].counts["orders"] == 1

    # Nothing changed since: another round writes nothing to the store.
    calls = len(fake_shopify.calls)
    assert run_job(runtime, job_by_name("eta_recompute")) and run_job(runtime, job_by_name("eta_push"))
    writes = [c for c in fake_shopify.calls[calls:] if c["operation"] in ("OrderTagsAdd", "OrderMetafieldsSet")]
    assert writes == []


def test_a_push_that_fails_is_recorded_and_retried_next_run(runtime, fake_shopify, store):
    today = utc_today()
    order = fake_shopify.place_order(SHOP, [(store.desk, 3)])
    drain(runtime)
    with runtime.db.shop_session(store.shop_id) as session:
        backorder = session.scalars(select(Backorder)).one()
        backorder.current_eta = today + timedelta(days=30)  # as a recompute would leave it
        order_marks.mark(session, store.shop_id, [backorder.line.order_id])
    fake_shopify.fail_next(20, status=503)
    assert not run_job(runtime, job_by_name("eta_push"))
    with runtime.db.session() as session:
        run = session.scalars(select(JobRun).where(JobRun.job_name == "eta_push")).one()
    assert run.status == "error" and SHOP in run.error
    while fake_shopify.take_failure():  # the store is back
        pass
    assert run_job(runtime, job_by_name("eta_push"))
    assert etas_in_store(fake_shopify, order["id"]) == [("DESK", 1, (today + timedelta(days=30)).isoformat())]


def test_url_feeds_sync_on_their_own_interval_and_back_off_when_failing(runtime, feed_server, store):
    today = utc_today()
    feed_server.body = f"sku,qty,eta,po\nDESK,4,{(today + timedelta(days=9)).isoformat()},PO-7\n".encode()
    feed_server.failing, feed_server.hits = False, 0
    hourly = create_supplier(runtime, store.shop_id, name="Hourly", feed_kind="url", feed_url=feed_server.url,
                             sync_interval_minutes=60, primary_skus=["DESK"])
    create_supplier(runtime, store.shop_id, name="Typed in", feed_kind="manual")
    counts: dict = {}
    promises.sync_feeds(runtime, counts)
    # The URL feed, and the store's own incoming shipments (none here, an empty ok sync).
    assert (counts["synced"], counts["incoming"], counts["ok"], feed_server.hits) == (1, 1, 2, 1)
    promises.sync_feeds(runtime, counts)  # not due again for an hour
    assert feed_server.hits == 1

    with runtime.db.shop_session(store.shop_id) as session:
        runs = list(session.scalars(select(SyncRun).where(SyncRun.supplier_id == hourly.id)))
    now = runs[0].started_at
    supplier = SimpleNamespace(sync_interval_minutes=60, sync_cron=None)
    assert not promises.feed_due(supplier, runs[0], 0, now + timedelta(minutes=59))
    assert promises.feed_due(supplier, runs[0], 0, now + timedelta(minutes=60))
    # Failing feeds come back sooner, backing off, never later than their interval.
    assert promises.feed_due(supplier, runs[0], 1, now + timedelta(minutes=5))
    assert not promises.feed_due(supplier, runs[0], 2, now + timedelta(minutes=9))
    assert promises.feed_due(supplier, runs[0], 2, now + timedelta(minutes=10))
    assert promises.feed_due(supplier, runs[0], 9, now + timedelta(minutes=60))
    # A cron wins over the interval: "at minute 0 of every hour".
    cron = SimpleNamespace(sync_interval_minutes=60, sync_cron="0 * * * *")
    last = SimpleNamespace(started_at=datetime(2026, 6, 1, 10, 30, tzinfo=timezone.utc))
    assert not promises.feed_due(cron, last, 0, datetime(2026, 6, 1, 10, 59, tzinfo=timezone.utc))
    assert promises.feed_due(cron, last, 0, datetime(2026, 6, 1, 11, 0, tzinfo=timezone.utc))

    # Forced by hand: a failing server is recorded as a failed sync and the job says so.
    feed_server.failing = True
    counts = {}
    promises.sync_feeds(runtime, counts, force=True)
    assert counts["failed"] == 1 and counts["failures"] == 0  # a failed feed is a report, not a crash


def test_cli_recompute_and_sync_suppliers_run_the_jobs_by_hand(runtime, fake_shopify, store, monkeypatch,
                                                               settings_factory):
    today = utc_today()
    fake_shopify.place_order(SHOP, [(store.desk, 4)])
    drain(runtime)
    supplier = create_supplier(runtime, store.shop_id, name="Oak Works", primary_skus=["DESK"], handling_days=0)
    sync_supplier(runtime, store.shop_id, supplier.id, source="manual",
                  rows=[{"sku": "DESK", "quantity": 9, "expected_date": (today + timedelta(days=4)).isoformat(),
                         "po_reference": "PO-1"}])
    settings = runtime.settings
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ENCRYPTION_KEY", settings.encryption_key)
    monkeypatch.setenv("INSTANCE_PATH", str(settings.instance_path))
    result = CliRunner().invoke(main_cli(), ["recompute", "--shop", SHOP])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output.strip().splitlines()[-1])
    assert counts["changed"] == 1 and counts["full"] is True
    with runtime.db.shop_session(store.shop_id) as session:
        assert session.scalars(select(Backorder.current_eta)).one() == today + timedelta(days=4)
        assert session.scalars(select(JobRun.status).where(JobRun.job_name == "eta_recompute_all")).one() == "ok"
    result = CliRunner().invoke(main_cli(), ["recompute", "--shop", "nope.myshopify.com"])
    assert result.exit_code != 0 and "no shop named nope.myshopify.com" in result.output
    result = CliRunner().invoke(main_cli(), ["sync-suppliers", "--shop", SHOP])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["synced"] == 0  # no URL feeds here


def main_cli():
    from plugin.cli import main

    return main


def test_reconcile_and_stock_refresh_jobs_catch_what_no_webhook_brought(runtime, fake_shopify, store):
    fake_shopify.hold_webhooks = True  # the store never delivers this order's webhook
    order = fake_shopify.place_order(SHOP, [(store.desk, 3)])
    assert run_job(runtime, job_by_name("reconcile_orders"))
    with runtime.db.shop_session(store.shop_id) as session:
        [backorder] = session.scalars(select(Backorder)).all()
        assert (backorder.quantity, backorder.status) == (1, "open") and backorder.current_eta is not None
    assert "backorder" in fake_shopify.order(SHOP, order["id"])["tags"]
    with runtime.db.session() as session:
        [run] = session.scalars(select(JobRun).where(JobRun.job_name == "reconcile_orders")).all()
    assert run.counts["orders_processed"] == 1

    # The goods arrive in the store (no order touches the desk): the hourly refresh sees it.
    fake_shopify.set_available(SHOP, store.desk, 0)  # -1 -> 0: the one missing unit is here
    assert run_job(runtime, job_by_name("stock_refresh"))
    with runtime.db.shop_session(store.shop_id) as session:
        backorder = session.scalars(select(Backorder)).one()
        events = session.scalars(select(BackorderEvent.kind)).all()
    assert backorder.status == "ready" and events == ["ready"]
    # The next reconcile window starts where the last good one did (less an overlap).
    assert run_job(runtime, job_by_name("reconcile_orders"))
    with runtime.db.session() as session:
        first, second = session.scalars(select(JobRun).where(JobRun.job_name == "reconcile_orders")
                                        .order_by(JobRun.id)).all()
    assert datetime.fromisoformat(second.counts["since"]) == first.started_at - promises.RECONCILE_OVERLAP


def test_the_catalogue_is_read_once_a_day_per_shop(runtime, fake_shopify, store):
    from plugin.db.models import Variant

    lamp = fake_shopify.add_product(SHOP, "Linen lamp", variants=[
        {"sku": "LAMP", "price": "79.00", "tracked": True, "policy": "CONTINUE", "available": 0}])
    assert run_job(runtime, job_by_name("catalog_sync"))
    with runtime.db.shop_session(store.shop_id) as session:
        found = {v.sku: v for v in session.scalars(select(Variant))}
    assert set(found) == {"DESK", "LAMP"}  # no order touched either
    assert found["LAMP"].continue_selling and found["LAMP"].eta_dirty
    assert found["LAMP"].platform_variant_id == lamp["variants"][0]["id"].rsplit("/", 1)[1]
    assert run_job(runtime, job_by_name("catalog_sync"))  # read today already: not again
    with runtime.db.session() as session:
        per_shop = session.scalars(select(JobRun).where(JobRun.job_name == "catalog_sync_shop")).all()
        runs = session.scalars(select(JobRun).where(JobRun.job_name == "catalog_sync").order_by(JobRun.id)).all()
    assert [(r.shop_id, r.status, r.counts["variants_seen"]) for r in per_shop] == [(store.shop_id, "ok", 2)]
    assert [r.counts["shops"] for r in runs] == [1, 0]


def test_the_daily_digest_and_refund_resume_jobs_run(runtime, fake_shopify, store):
    from plugin.db.models import Notification

    with runtime.db.session() as session:
        session.get(Shop, store.shop_id).settings = {"merchant_email": "owner@promises.example"}
    fake_shopify.place_order(SHOP, [(store.desk, 3)])
    drain(runtime)
    assert run_job(runtime, job_by_name("merchant_digest"))
    assert run_job(runtime, job_by_name("merchant_digest"))  # same day: one digest
    assert run_job(runtime, job_by_name("refunds_resume"))
    with runtime.db.shop_session(store.shop_id) as session:
        digests = session.scalars(select(Notification).where(Notification.kind == "digest")).all()
    assert [(d.recipient, d.status) for d in digests] == [("owner@promises.example", "pending")]
    assert "Open backorder lines: 1" in digests[0].body_text


def test_the_outbox_job_writes_the_confirmation_as_an_eml_file(runtime, fake_shopify, store):
    from plugin.db.models import Notification

    fake_shopify.place_order(SHOP, [(store.desk, 3)], email="ola@example.com")
    drain(runtime)
    assert run_job(runtime, job_by_name("email_outbox"))
    with runtime.db.shop_session(store.shop_id) as session:
        [message] = session.scalars(select(Notification)).all()
    assert message.status == "sent" and message.sent_at is not None
    files = list((runtime.settings.instance_path / "mail").glob("*.eml"))
    assert len(files) == 1 and "ola@example.com" in files[0].read_text()


def test_a_variant_sold_on_backorder_shows_its_next_unit_date_in_the_store(runtime, fake_shopify, store):
    """Catalogue -> recompute -> storefront push: the product page's date, with no order yet."""
    from plugin.db.models import Variant

    today = utc_today()
    lamp = fake_shopify.add_product(SHOP, "Linen lamp", variants=[
        {"sku": "LAMP", "price": "79.00", "tracked": True, "policy": "CONTINUE", "available": 0}])
    gid = lamp["variants"][0]["id"]
    supplier = create_supplier(runtime, store.shop_id, name="Linen & Light", primary_skus=["LAMP"], handling_days=2)
    sync_supplier(runtime, store.shop_id, supplier.id, source="manual",
                  rows=[{"sku": "LAMP", "quantity": 6, "expected_date": (today + timedelta(days=9)).isoformat(),
                         "po_reference": "LL-1"}])
    for job in ("catalog_sync", "eta_recompute", "storefront_push"):
        assert run_job(runtime, job_by_name(job)), job
    key = (f"app--{fake_shopify.api_client_id}", "backorder_eta")
    value = json.loads(fake_shopify.variant_metafields(SHOP, gid)[key]["value"])
    assert value["promise"] == (today + timedelta(days=11)).isoformat()

    # Six more than the lot holds are ordered: the next unit waits for a purchase order not placed yet.
    fake_shopify.place_order(SHOP, [(gid, 6)])
    drain(runtime)
    assert run_job(runtime, job_by_name("storefront_push"))
    later = json.loads(fake_shopify.variant_metafields(SHOP, gid)[key]["value"])
    assert later["promise"] == (today + timedelta(days=supplier.lead_time_days + 2)).isoformat()

    # Back in stock: the date goes away.
    fake_shopify.set_available(SHOP, gid, 10)
    assert run_job(runtime, job_by_name("stock_refresh"))
    assert run_job(runtime, job_by_name("storefront_push"))
    assert key not in fake_shopify.variant_metafields(SHOP, gid)
    with runtime.db.shop_session(store.shop_id) as session:
        row = session.scalars(select(Variant).where(Variant.sku == "LAMP")).one()
    assert row.next_eta_promise is None and row.storefront_pushed_digest is None
