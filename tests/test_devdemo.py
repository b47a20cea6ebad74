"""The demo of `make run`, built as `serve --demo` builds it, on both databases: its two suppliers,
their SKU lists, six months of replayed purchase orders, the URL feed with its ETag, and a second
start on the same database that changes nothing."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from plugin.db.models import Supplier, SupplierSku, SupplyLine, SupplyLineChange, SyncRun
from plugin.devdemo import build_demo, demo_shop_id
from plugin.devdemo_suppliers import DEMO_SUPPLIERS, FEEDS_MOUNT, LINEN_LIGHT, NORDIC_OAK
from plugin.domain.lateness import LatenessModel
from plugin.suppliers.services import sync_supplier

TABLES = (Supplier, SupplierSku, SupplyLine, SupplyLineChange, SyncRun)


def start(settings):
    runtime, app = build_demo(settings)
    return runtime, app, demo_shop_id(runtime)


def counts(runtime) -> dict[str, int]:
    with runtime.db.session() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model)) for model in TABLES}


def state(runtime, shop_id) -> dict:
    with runtime.db.shop_session(shop_id) as session:
        suppliers = {s.id: s.name for s in session.scalars(select(Supplier))}
        return {(suppliers[ln.supplier_id], ln.po_reference, ln.sku):
                (ln.quantity, ln.promised_date, ln.expected_date, ln.status, ln.received_date, ln.tracking)
                for ln in session.scalars(select(SupplyLine))}


def supplier(runtime, shop_id, name) -> Supplier:
    with runtime.db.shop_session(shop_id) as session:
        found = session.scalars(select(Supplier).where(Supplier.name == name)).one()
        session.expunge(found)
        return found


@pytest.fixture
def demo(database_url, settings_factory):
    runtime, app, shop_id = start(settings_factory(database_url))
    yield runtime, app, shop_id
    runtime.close()


def test_the_demo_shop_has_two_suppliers_with_skus_open_lines_and_history(demo):
    runtime, _app, shop_id = demo
    nordic, linen = supplier(runtime, shop_id, "Nordic Oak Works"), supplier(runtime, shop_id, "Linen & Light")
    anchor = nordic.created_at.date()
    assert (nordic.email, nordic.lead_time_days, nordic.lead_time_spread_days, nordic.handling_days) == \
        ("orders@nordic-oak.example", 21, 3, 1)
    assert nordic.feed_kind == "url"
    assert nordic.feed_url == f"{runtime.settings.public_url}{FEEDS_MOUNT}/nordic-oak-works.csv"
    assert nordic.feed_etag and nordic.last_synced_at is not None
    assert (linen.feed_kind, linen.lead_time_days, linen.lead_time_spread_days, linen.handling_days) == \
        ("upload", 28, 7, 2)
    with runtime.db.shop_session(shop_id) as session:
        skus = {(row.supplier_id, row.sku): row.role for row in session.scalars(select(SupplierSku))}
        runs = list(session.scalars(select(SyncRun)))
        moves = session.scalar(select(func.count()).select_from(SupplyLineChange).where(
            SupplyLineChange.old_expected_date.is_not(None),
            SupplyLineChange.old_expected_date != SupplyLineChange.new_expected_date))
    assert skus == {(nordic.id, "DESK-OAK"): "primary", (nordic.id, "RUG-WOOL"): "primary",
                    (nordic.id, "LAMP-LINEN-L"): "substitute", (linen.id, "LAMP-LINEN-S"): "primary",
                    (linen.id, "LAMP-LINEN-L"): "primary", (linen.id, "RUG-WOOL"): "substitute"}
    # One clean sync per day something happened, through the URL feed and through uploads.
    assert {(r.supplier_id, r.source, r.status) for r in runs} == {(nordic.id, "url", "ok"), (linen.id, "upload", "ok")}
    assert len(runs) == len(NORDIC_OAK.replay_days()) + len(LINEN_LIGHT.replay_days())
    # Every date the suppliers revised is kept as history (promised vs expected vs received).
    assert moves == sum(len(line.revised) for spec in DEMO_SUPPLIERS for line in spec.lines) > 0

    lines = state(runtime, shop_id)
    for spec in DEMO_SUPPLIERS:  # every line ends as the supplier's report of today says
        for demo_line in spec.lines:
            row = demo_line.as_of(0)
            day = lambda d: None if d is None else anchor + timedelta(days=d)  # noqa: E731
            assert lines[(spec.name, demo_line.po, demo_line.sku)] == (
                row["quantity"], day(demo_line.promised), day(row["expected"]), row["status"], day(row["received"]),
                row["tracking"]), (spec.name, demo_line.po, demo_line.sku)
    open_lines = {key: value for key, value in lines.items() if value[3] in ("ordered", "shipped")}
    coming = {(name, sku) for (name, _po, sku), value in open_lines.items() if value[2] > anchor}
    # The SKUs the demo sells beyond stock (DESK-OAK: 2 on hand, LAMP-LINEN-S: none) have supply coming.
    assert {("Nordic Oak Works", "DESK-OAK"), ("Linen & Light", "LAMP-LINEN-S")} <= coming
    overdue = [key for key, value in open_lines.items() if value[2] < anchor]
    assert overdue == [("Linen & Light", "LL-0126", "LAMP-LINEN-S")]  # promised 12 days ago, no word since

    # The lateness model learns that one supplier is punctual and the other about a week late.
    records = [(name, promised, received) for (name, _po, _sku), (_q, promised, _e, status, received, _t)
               in lines.items() if status != "cancelled"]
    model = LatenessModel.fit(records, anchor)
    assert sum(1 for r in records if r[2] is not None) >= 16
    assert -1 <= model.days_late("Nordic Oak Works", 0.5) <= 1
    assert model.days_late("Linen & Light", 0.5) >= 5
    assert model.days_late("Linen & Light", 0.9) > model.days_late("Nordic Oak Works", 0.9)


def test_a_second_start_on_the_same_database_changes_nothing(database_url, settings_factory):
    settings = settings_factory(database_url)
    first, _app, shop_id = start(settings)
    before, lines = counts(first), state(first, shop_id)
    etag = first.extras["supplier_feeds"].published["nordic-oak-works"].etag
    first.close()

    second, _app, shop_id_again = start(settings)
    try:
        assert shop_id_again == shop_id
        assert counts(second) == before
        assert state(second, shop_id) == lines
        # The feed of the second start is the same report: the supplier's stored ETag still matches.
        assert second.extras["supplier_feeds"].published["nordic-oak-works"].etag == etag
        assert supplier(second, shop_id, "Nordic Oak Works").feed_etag == f'"{etag}"'
    finally:
        second.close()


def test_an_interrupted_seed_resumes_where_it_stopped(database_url, settings_factory, monkeypatch):
    import plugin.devdemo_suppliers as seeding

    settings = settings_factory(database_url)
    real, calls = seeding.sync_supplier, []

    def crash_on_the_seventh(*args, **kwargs):
        calls.append(kwargs.get("today"))
        if len(calls) == 7:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(seeding, "sync_supplier", crash_on_the_seventh)
    with pytest.raises(KeyboardInterrupt):
        build_demo(settings)
    monkeypatch.setattr(seeding, "sync_supplier", real)
    runtime, _app, shop_id = start(settings)
    try:
        assert counts(runtime)["sync_runs"] == len(NORDIC_OAK.replay_days()) + len(LINEN_LIGHT.replay_days())
        assert state(runtime, shop_id)[("Nordic Oak Works", "NOW-2448", "DESK-OAK")][3] == "shipped"
        assert state(runtime, shop_id)[("Linen & Light", "LL-0130", "LAMP-LINEN-L")][3] == "ordered"
    finally:
        runtime.close()


class _Late:
    """A WSGI app whose target is set once the server's port (and so the app's URL) is known."""

    target = None

    def __call__(self, environ, start_response):
        return self.target(environ, start_response)


def test_the_url_feed_is_served_with_an_etag_and_a_resync_is_not_modified(database_url, settings_factory):
    late = _Late()
    server = make_server("127.0.0.1", 0, late, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    runtime = None
    try:
        runtime, late.target, shop_id = start(settings_factory(database_url,
                                                              app_url=f"http://127.0.0.1:{server.server_port}"))
        nordic = supplier(runtime, shop_id, "Nordic Oak Works")
        assert nordic.feed_url == f"http://127.0.0.1:{server.server_port}{FEEDS_MOUNT}/nordic-oak-works.csv"

        first = requests.get(nordic.feed_url, timeout=5)
        assert first.status_code == 200
        assert first.headers["Content-Type"].startswith("text/csv")
        assert first.headers["ETag"] == nordic.feed_etag and first.headers["Last-Modified"]
        assert first.text.splitlines()[0] == "po_reference,sku,quantity,expected_date,status,tracking,received_date"
        assert "NOW-2448,DESK-OAK,8," in first.text
        again = requests.get(nordic.feed_url, headers={"If-None-Match": first.headers["ETag"]}, timeout=5)
        assert (again.status_code, again.content) == (304, b"")
        since = requests.get(nordic.feed_url, headers={"If-Modified-Since": first.headers["Last-Modified"]}, timeout=5)
        assert since.status_code == 304
        assert requests.get(nordic.feed_url.replace("nordic-oak-works", "nobody"), timeout=5).status_code == 404

        before = counts(runtime)
        run = sync_supplier(runtime, shop_id, nordic.id)  # over the network, as the scheduler's job does
        assert (run.status, run.source) == ("not_modified", "url"), run.message
        after = counts(runtime)
        assert after["sync_runs"] == before["sync_runs"] + 1
        assert {k: v for k, v in after.items() if k != "sync_runs"} == \
            {k: v for k, v in before.items() if k != "sync_runs"}
    finally:
        server.shutdown()
        thread.join(5)
        if runtime is not None:
            runtime.close()
