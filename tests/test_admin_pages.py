"""The admin's Products, Suppliers, Emails, Settings, Refund requests and Jobs pages and their API:
each page renders with data, in English and Polish, accessibly; every API route refuses a call
without a session token and answers with this shop's rows only; a CSV with a bad row reports it
and applies the rest; settings are validated next to their fields, persist, and make ETAs follow;
"run now" works for this shop alone; a variant's manual ETA or lead time is what its lines are
promised, through every recompute."""
from __future__ import annotations

import io
import re
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from plugin.admin.api import registry
from plugin.admin.jobs import wait_for_runs
from plugin.db.models import Backorder, CustomerChoice, JobRun, Notification, Shop, Supplier, SupplyLine, SyncRun, \
    Variant
from plugin.eta.recompute import recompute_shop
from plugin.suppliers.services import create_supplier, sync_supplier
from tests.flow_helpers import drain, install_shop
from tests.shopify_helpers import app_home_query
from tests.test_admin_auth import add_line, bearer, shop_id_of

SHOP = "pages-shop.myshopify.com"
OTHER = "pages-other.myshopify.com"
TODAY = date.today()
MY_TAGS = {"products", "suppliers", "emails", "settings", "refunds", "jobs"}
MY_OPERATIONS = [op for op in registry.operations if op.authenticated and set(op.tags) & MY_TAGS]


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture
def shops(app, runtime, fake_shopify):
    for domain in (SHOP, OTHER):
        fake_shopify.create_shop(domain)
        install_shop(runtime, fake_shopify, domain)
    return {SHOP: shop_id_of(runtime, "shopify", SHOP), OTHER: shop_id_of(runtime, "shopify", OTHER)}


def auth(fake_shopify, domain: str = SHOP) -> dict:
    return bearer(fake_shopify.session_token(domain))


def page(client, fake_shopify, path: str, extra: str = "", domain: str = SHOP):
    sep = "&" if "?" in path else "?"
    response = client.get(path + sep + app_home_query(domain, fake_shopify.session_token(domain)) + extra)
    return response, response.get_data(as_text=True)


def form_action(html: str, form_id: str) -> str:
    tag = re.search(rf'<form [^>]*id="{re.escape(form_id)}"[^>]*>', html).group(0)
    return re.search(r'action="([^"]+)"', tag).group(1).replace("&amp;", "&")


def form_token(html: str) -> str:
    return re.search(r'name="_token" value="([^"]+)"', html).group(1)


def seed(runtime, shop_id: int, name: str, sku: str) -> dict:
    """A variant with a waiting line, a supplier with history and supply on the way, an email, job runs."""
    line = add_line(runtime, shop_id, sku=sku, title=f"{name} desk", quantity=2, order_name=f"#{name}-1",
                    promised=TODAY + timedelta(days=9))
    supplier = create_supplier(runtime, shop_id, name=f"{name} Works", primary_skus=[sku], lead_time_days=10)
    with runtime.db.shop_session(shop_id) as session:
        for n, (promised, received) in enumerate([(-30, -28), (-20, -20), (-10, -15), (-5, -1)]):
            session.add(SupplyLine(shop_id=shop_id, supplier_id=supplier.id, sku=sku, quantity=3,
                                   promised_date=TODAY + timedelta(days=promised),
                                   expected_date=TODAY + timedelta(days=promised),
                                   received_date=TODAY + timedelta(days=received), status="received",
                                   po_reference=f"OLD-{n}"))
        session.add(SupplyLine(shop_id=shop_id, supplier_id=supplier.id, sku=sku, quantity=7, status="ordered",
                               promised_date=TODAY + timedelta(days=6), expected_date=TODAY + timedelta(days=6),
                               po_reference="PO-OPEN"))
        order_id = session.get(Backorder, line).line.order_id
        session.add(Notification(shop_id=shop_id, idempotency_key=f"confirmation:order:{order_id}", kind="confirmation",
                                 order_id=order_id, recipient=f"{name.lower()}.customer@example.com", locale="en",
                                 subject=f"Order #{name}-1: some items are on backorder", status="sent",
                                 sent_at=datetime.now(timezone.utc)))
        session.add(Notification(shop_id=shop_id, idempotency_key=f"delay:backorder:{line}:v2", kind="delay",
                                 order_id=order_id, backorder_id=line, recipient=None, locale="pl",
                                 subject=f"Zamówienie #{name}-1", status="skipped", reason="no recipient address"))
    sync_supplier(runtime, shop_id, supplier.id, source="manual",
                  rows=[{"sku": sku, "quantity": 4, "po_reference": "PO-NEW", "expected_date": (TODAY + timedelta(days=12)).isoformat()},
                        {"sku": "NOT-A-SKU", "quantity": 1, "po_reference": "PO-NEW", "expected_date": TODAY.isoformat()}])
    with runtime.db.session() as session:
        session.add(JobRun(job_name="eta_recompute", shop_id=shop_id, status="error", counts={"skus": 3},
                           error=f"{name} broke", started_at=datetime.now(timezone.utc) - timedelta(minutes=3),
                           finished_at=datetime.now(timezone.utc) - timedelta(minutes=2)))
    with runtime.db.shop_session(shop_id) as session:
        variant_id = session.scalar(select(Variant.id).where(Variant.sku == sku))
    return {"line": line, "supplier": supplier.id, "variant": variant_id, "order": order_id}


@pytest.fixture
def data(runtime, shops):
    return {SHOP: seed(runtime, shops[SHOP], "Mine", "DESK"), OTHER: seed(runtime, shops[OTHER], "Theirs", "LAMP")}


# -- pages ---------------------------------------------------------------------------------------
def _accessible(html: str) -> None:
    body = html.split("<main", 1)[1]
    assert not re.findall(r"<th(?=[\s>])(?![^>]*scope=)[^>]*>", body), "a table header without scope"
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", body):
        if re.search(r'type="(hidden|submit)"', tag):
            continue
        control = re.search(r'\sid="([^"]+)"', tag)
        assert control, f"a control without an id: {tag}"
        assert f'for="{control.group(1)}"' in body, f"a control without a label: {tag}"
    for button in re.findall(r"<button\b[^>]*>(.*?)</button>", body, re.S):
        assert re.sub(r"<[^>]+>", "", button).strip(), "a button without a name"
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), f"duplicate ids: {sorted(i for i in ids if ids.count(i) > 1)}"


PAGES = [
    ("/admin/products", {"en": ["Sellable stock", "Set ETA or lead time"], "pl": ["Stan do sprzedaży", "Ustaw datę"]}),
    ("/admin/suppliers", {"en": ["Mine Works", "How late suppliers deliver", "On time"],
                          "pl": ["Mine Works", "Opóźnienia dostawców", "Na czas"]}),
    ("/admin/suppliers/{supplier}", {"en": ["Last sync report", "NOT-A-SKU", "Upload a CSV file"],
                                     "pl": ["Raport ostatniej synchronizacji", "NOT-A-SKU", "Prześlij plik CSV"]}),
    ("/admin/suppliers/new", {"en": ["New supplier", "Lead time (days)"], "pl": ["Nowy dostawca", "Czas dostawy (dni)"]}),
    ("/admin/emails", {"en": ["Email log", "mi•••@example.com", "Backorder confirmation"],
                       "pl": ["Dziennik e-maili", "mi•••@example.com", "Potwierdzenie oczekiwania"]}),
    ("/admin/emails/kind/delay?lang=pl", {"en": ["Preview in Polish", "sandbox=\"\""],
                                          "pl": ["Podgląd – polski", "sandbox=\"\""]}),
    ("/admin/settings", {"en": ["Promise confidence", "P80"], "pl": ["Pewność obietnicy", "P80"]}),
    ("/admin/refunds", {"en": ["Refund requests"], "pl": ["Prośby o zwrot"]}),
    ("/admin/jobs", {"en": ["Supplier feeds", "Mine broke", "Run now"], "pl": ["Pliki dostawców", "Mine broke", "Uruchom teraz"]}),
]


@pytest.mark.parametrize("locale", ["en", "pl"])
@pytest.mark.parametrize("path, words", PAGES, ids=[p for p, _ in PAGES])
def test_each_page_renders_with_data_in_english_and_polish(client, fake_shopify, data, path, words, locale):
    path = path.format(supplier=data[SHOP]["supplier"])
    response, html = page(client, fake_shopify, path, "&locale=pl" if locale == "pl" else "")
    assert response.status_code == 200, html[:2000]
    assert f'<html lang="{locale}">' in html
    for word in words[locale]:
        assert word in html, word
    for theirs in ("Theirs Works", "Theirs broke", "th•••@example.com", "#Theirs-1", "LAMP"):
        assert theirs not in html
    assert response.headers["Content-Security-Policy"].startswith(f"frame-ancestors https://{SHOP}")
    _accessible(html)


def test_pages_show_the_numbers(client, fake_shopify, data):
    _, products = page(client, fake_shopify, "/admin/products")
    row = products[products.index('id="variant-'):]
    assert "2 units in 1 lines" in row and "11 units in 2 deliveries" in row and "Mine Works" in row
    _, suppliers = page(client, fake_shopify, "/admin/suppliers")
    mine = suppliers[suppliers.index(f'id="supplier-{data[SHOP]["supplier"]}"'):]
    assert "50%" in mine.split("</tr>")[0]  # 2 of 4 deliveries on or before the promised day
    assert "See the 1 rejected rows" in mine.split("</tr>")[0]
    svg = re.findall(r"<svg [^>]*>", suppliers)
    assert len(svg) == 1 and 'role="img"' in svg[0] and "Mine Works P90" in suppliers
    assert '<details class="bd-chart-table">' in suppliers


def test_the_navigation_lists_every_page(client, fake_shopify, shops):
    _, html = page(client, fake_shopify, "/admin/jobs")
    nav = html[html.index('<nav class="bd-nav"'):]
    for path in ("/admin/products", "/admin/suppliers", "/admin/emails", "/admin/settings", "/admin/jobs", "/admin/refunds"):
        assert f'href="{path}?' in nav
    assert 'href="/admin/jobs?' in nav and 'aria-current="page"' in nav


# -- the API: a session token, and this shop's rows only -----------------------------------------
def _concrete(rule: str, values: dict) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values.get(m.group(1), 1)), rule)


def test_my_routes_are_registered_and_documented(client):
    document = client.get("/api/admin/openapi.json").get_json()
    paths = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    expected = {("GET", "/api/admin/products"), ("POST", "/api/admin/products/{variant_id}/eta"),
                ("GET", "/api/admin/suppliers"), ("POST", "/api/admin/suppliers"),
                ("PUT", "/api/admin/suppliers/{supplier_id}"), ("POST", "/api/admin/suppliers/{supplier_id}/upload"),
                ("POST", "/api/admin/suppliers/{supplier_id}/sync"), ("GET", "/api/admin/emails"),
                ("GET", "/api/admin/emails/preview/{kind}/{locale}"), ("PUT", "/api/admin/emails/texts/{kind}/{locale}"),
                ("PATCH", "/api/admin/emails/kinds"), ("GET", "/api/admin/settings"), ("PATCH", "/api/admin/settings"),
                ("GET", "/api/admin/refund-requests"), ("POST", "/api/admin/refund-requests/{choice_id}/approve"),
                ("GET", "/api/admin/jobs"), ("POST", "/api/admin/jobs/{name}/run")}
    assert expected <= paths
    assert len(MY_OPERATIONS) >= len(expected)


def test_every_route_refuses_a_call_without_a_token(client, runtime, data):
    values = {"variant_id": data[SHOP]["variant"], "supplier_id": data[SHOP]["supplier"], "choice_id": 1,
              "kind": "delay", "locale": "en", "name": "eta_recompute"}
    with runtime.db.session() as session:
        before = (session.scalar(select(Shop.settings).where(Shop.id == shop_id_of(runtime, "shopify", SHOP))),
                  len(session.scalars(select(JobRun)).all()), len(session.scalars(select(SyncRun)).all()))
    for op in MY_OPERATIONS:
        path = _concrete(op.rule, values)
        response = client.open(path, method=op.method, json={} if op.body is not None else None)
        assert response.status_code == 401, (op.method, op.rule)
        assert set(response.get_json()) == {"error"}
        forged = client.open(path, method=op.method, headers={"Authorization": "Bearer not-a-token"},
                             json={} if op.body is not None else None)
        assert forged.status_code == 401, (op.method, op.rule)
    with runtime.db.session() as session:
        after = (session.scalar(select(Shop.settings).where(Shop.id == shop_id_of(runtime, "shopify", SHOP))),
                 len(session.scalars(select(JobRun)).all()), len(session.scalars(select(SyncRun)).all()))
    assert after == before


def test_lists_hold_only_this_shops_rows(client, fake_shopify, data):
    mine, theirs = data[SHOP], data[OTHER]
    headers = auth(fake_shopify)
    suppliers = client.get("/api/admin/suppliers", headers=headers).get_json()["suppliers"]
    assert [s["name"] for s in suppliers] == ["Mine Works"]
    products = client.get("/api/admin/products", headers=headers).get_json()
    assert [r["sku"] for r in products["rows"]] == ["DESK"] and products["total"] == 1
    emails = client.get("/api/admin/emails", headers=headers).get_json()
    assert emails["total"] == 2 and all("Theirs" not in (r["subject"] or "") for r in emails["rows"])
    assert {r["recipient"] for r in emails["rows"]} == {"mi•••@example.com", None}
    jobs = client.get("/api/admin/jobs", headers=headers).get_json()
    assert [r["error"] for r in jobs["runs"]] == ["Mine broke"]
    assert client.get("/api/admin/refund-requests", headers=headers).get_json()["requests"] == []
    # Another shop's ids look exactly like missing ones, and nothing of theirs changes.
    assert client.get(f"/api/admin/suppliers/{theirs['supplier']}", headers=headers).status_code == 404
    assert client.get(f"/api/admin/products/{theirs['variant']}", headers=headers).status_code == 404
    assert client.post(f"/api/admin/products/{theirs['variant']}/eta", headers=headers,
                       json={"manual_eta": (TODAY + timedelta(days=40)).isoformat()}).status_code == 404
    assert client.post(f"/api/admin/suppliers/{theirs['supplier']}/upload", headers=headers,
                       json={"content": "sku,quantity,po_reference,lead_days\nLAMP,1,X,3\n"}).status_code == 404
    assert client.post(f"/api/admin/suppliers/{theirs['supplier']}/sync", headers=headers).status_code == 404
    edit = client.put(f"/api/admin/suppliers/{theirs['supplier']}", headers=headers, json={"name": "Hijacked"})
    assert edit.status_code == 404
    theirs_now = client.get(f"/api/admin/suppliers/{theirs['supplier']}", headers=auth(fake_shopify, OTHER)).get_json()
    assert theirs_now["name"] == "Theirs Works" and len(theirs_now["runs"]) == 1
    assert client.get(f"/api/admin/suppliers/{mine['supplier']}", headers=auth(fake_shopify, OTHER)).status_code == 404


# -- suppliers: upload, sync, create, edit ----------------------------------------------------------
BAD_CSV = (
    "sku,quantity,po_reference,expected_date\n"
    f"DESK,5,PO-77,{(TODAY + timedelta(days=20)).isoformat()}\n"
    f"GHOST-SKU,3,PO-77,{(TODAY + timedelta(days=20)).isoformat()}\n"
    f"DESK,lots,PO-78,{(TODAY + timedelta(days=25)).isoformat()}\n"
).encode()


def test_a_csv_upload_with_bad_rows_lists_them_and_applies_the_good_ones(client, runtime, fake_shopify, data):
    supplier_id = data[SHOP]["supplier"]
    _, html = page(client, fake_shopify, f"/admin/suppliers/{supplier_id}")
    assert 'enctype="multipart/form-data"' in html and '<label for="upload-file">' in html
    response = client.post(form_action(html, "upload"), content_type="multipart/form-data",
                           data={"_token": form_token(html), "file": (io.BytesIO(BAD_CSV), "po.csv")})
    result = response.get_data(as_text=True)
    assert response.status_code == 200, result[:2000]
    errors = result[result.index('id="row-errors"'):result.index("</table>", result.index('id="row-errors"'))]
    lines = re.findall(r'<tr class="bd-row-error"><th scope="row">(\d+)</th><td>([^<]+)</td>', errors)
    assert [line for line, _ in lines] == ["3", "4"]
    assert "GHOST-SKU" in lines[0][1] and "quantity" in lines[1][1].lower()
    assert "1 rows applied" in result and "2 rejected of 3" in result
    with runtime.db.shop_session(shop_id_of(runtime, "shopify", SHOP)) as session:
        po = session.scalars(select(SupplyLine).where(SupplyLine.po_reference.in_(("PO-77", "PO-78")))).all()
        [run] = session.scalars(select(SyncRun).where(SyncRun.source == "upload")).all()
    assert [(line.sku, line.quantity) for line in po] == [("DESK", 5)]
    assert (run.status, run.rows_applied, run.rows_rejected) == ("partial", 1, 2)
    # The same through the API, with the file's text.
    api = client.post(f"/api/admin/suppliers/{supplier_id}/upload", headers=auth(fake_shopify),
                      json={"content": BAD_CSV.decode(), "filename": "po.csv"}).get_json()
    assert api["status"] == "partial" and [e["line"] for e in api["errors"]] == [3, 4]
    assert api["rows_unchanged"] == 1


def test_an_upload_without_a_file_says_so_next_to_the_field(client, fake_shopify, data):
    _, html = page(client, fake_shopify, f"/admin/suppliers/{data[SHOP]['supplier']}")
    response = client.post(form_action(html, "upload"), data={"_token": form_token(html)},
                           content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="upload-file-error"' in body and "Choose a file" in body


class FeedServer:
    def __init__(self):
        self.hits: list[str] = []
        self.body = b""

    def __call__(self, environ, start_response):
        self.hits.append(Request(environ).path)
        return Response(self.body, content_type="text/csv")(environ, start_response)


@pytest.fixture(scope="module")
def feed():
    server = FeedServer()
    httpd = make_server("127.0.0.1", 0, server, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{httpd.server_port}"
    yield server
    httpd.shutdown()


def test_sync_now_fetches_a_url_feed_and_shows_its_report(client, runtime, fake_shopify, shops, feed):
    feed.hits.clear()
    feed.body = f"sku,qty,po,eta\nDESK,9,PO-URL,{(TODAY + timedelta(days=8)).isoformat()}\n".encode()
    supplier = create_supplier(runtime, shops[SHOP], name="Url Works", feed_kind="url", feed_url=f"{feed.url}/mine.csv",
                               primary_skus=["DESK"])
    _, html = page(client, fake_shopify, "/admin/suppliers")
    response = client.post(form_action(html, f"sync-form-{supplier.id}"), data={"_token": form_token(html)})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Sync finished (OK): 1 rows applied" in body
    assert feed.hits == ["/mine.csv"]
    api = client.post(f"/api/admin/suppliers/{supplier.id}/sync", headers=auth(fake_shopify)).get_json()
    assert api["status"] in ("ok", "not_modified") and feed.hits == ["/mine.csv", "/mine.csv"]


def test_create_and_edit_a_supplier_with_errors_next_to_fields(client, runtime, fake_shopify, data):
    _, html = page(client, fake_shopify, "/admin/suppliers/new")
    action, token = form_action(html, "edit"), form_token(html)
    fields = {"_token": token, "name": "Mine Works", "email": "not-an-address", "lead_time_days": "-3",
              "lead_time_spread_days": "2", "handling_days": "1", "feed_kind": "url", "feed_url": "",
              "sync_interval_minutes": "60", "sync_cron": "every monday", "primary_skus": "DESK\nCHAIR",
              "substitute_skus": "", "active": "1"}
    bad = client.post(action, data=fields)
    body = bad.get_data(as_text=True)
    assert bad.status_code == 400
    for field, words in (("s-email-error", "email address"), ("s-lead-time-days-error", "0 or more"),
                         ("s-feed-url-error", "needs the address"), ("s-sync-cron-error", "cron")):
        assert re.search(rf'id="{field}">[^<]*{words}', body), field
    assert client.post(action, data={**fields, "feed_url": "ftp://x"}).get_data(as_text=True).count(
        'id="s-feed-url-error">Enter the full address') == 1
    assert 'aria-invalid="true"' in body and 'id="form-errors"' in body
    assert 'value="Mine Works"' in body  # what was typed stays
    fields.update(email="orders@example.com", lead_time_days="12", feed_kind="upload", sync_cron="")
    taken = client.post(action, data=fields)
    assert taken.status_code == 400 and "already has this name" in taken.get_data(as_text=True)
    fields.update(name="Chair Co", sync_cron="0 6 * * 1-5")
    created = client.post(action, data=fields)
    assert created.status_code == 200 and "Chair Co was added." in created.get_data(as_text=True)
    shop_id = shop_id_of(runtime, "shopify", SHOP)
    with runtime.db.shop_session(shop_id) as session:
        chair = session.scalars(select(Supplier).where(Supplier.name == "Chair Co")).one()
        assert (chair.lead_time_days, chair.sync_cron, chair.email, chair.feed_kind) == (12, "0 6 * * 1-5",
                                                                                        "orders@example.com", "upload")
        session.get(Variant, data[SHOP]["variant"]).eta_dirty = False
    # Editing the lead time of the supplier of DESK makes DESK's ETAs follow.
    detail = client.get(f"/api/admin/suppliers/{data[SHOP]['supplier']}", headers=auth(fake_shopify)).get_json()
    body = {name: detail[name] for name in ("name", "email", "lead_time_spread_days", "handling_days", "feed_kind",
                                            "sync_interval_minutes", "primary_skus", "substitute_skus")}
    edited = client.put(f"/api/admin/suppliers/{data[SHOP]['supplier']}", headers=auth(fake_shopify),
                        json={**body, "lead_time_days": 30})
    assert edited.status_code == 200 and edited.get_json()["lead_time_days"] == 30
    with runtime.db.shop_session(shop_id) as session:
        assert session.get(Variant, data[SHOP]["variant"]).eta_dirty is True


# -- emails --------------------------------------------------------------------------------------
def test_email_log_filters_and_pages(client, fake_shopify, data):
    headers = auth(fake_shopify)
    skipped = client.get("/api/admin/emails?status=skipped", headers=headers).get_json()
    assert [(r["kind"], r["reason"]) for r in skipped["rows"]] == [("delay", "no recipient address")]
    assert client.get("/api/admin/emails?kind=confirmation", headers=headers).get_json()["total"] == 1
    paged = client.get("/api/admin/emails?per_page=1&page=2", headers=headers).get_json()
    assert paged["pages"] == 2 and [r["kind"] for r in paged["rows"]] == ["confirmation"]
    assert client.get("/api/admin/emails?status=lost", headers=headers).status_code == 422
    _, html = page(client, fake_shopify, "/admin/emails", "&kind=delay")
    log = html[html.index('id="email-log"'):]
    assert "Not sent" in log and "no recipient address" in log and "mi•••@example.com" not in log


def test_email_texts_and_switches_persist_and_show_in_the_preview(client, runtime, fake_shopify, data):
    headers = auth(fake_shopify)
    saved = client.put("/api/admin/emails/texts/delay/pl", headers=headers,
                       json={"subject": "Nowa data dla {order_name} w {shop_name}", "intro": "Przepraszamy, {customer_name}."})
    assert saved.status_code == 200 and saved.get_json()["kind"]["texts"]["pl"]["subject"].startswith("Nowa data")
    preview = client.get("/api/admin/emails/preview/delay/pl", headers=headers).get_json()
    assert preview["subject"].startswith("Nowa data dla #1001") and "Przepraszamy, Anna Kowalska." in preview["text"]
    english = client.get("/api/admin/emails/preview/delay/en", headers=headers).get_json()
    assert english["subject"] == "Order #1001: new ship date"
    bad = client.put("/api/admin/emails/texts/delay/en", headers=headers, json={"subject": "Hi {first_name}"})
    assert bad.status_code == 422
    assert client.get("/api/admin/emails/preview/nope/en", headers=headers).status_code == 404
    # The page form: an unknown placeholder is said next to the field, in Polish too.
    _, html = page(client, fake_shopify, "/admin/emails/kind/ready?lang=en", "&locale=pl")
    response = client.post(form_action(html, "email-texts"), data={"_token": form_token(html), "subject": "Hej {imie}"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and re.search(r'id="t-subject-error">\{imie\} nie jest znanym polem', body)
    # Switch the delay email off.
    _, html = page(client, fake_shopify, "/admin/emails")
    form = {"_token": form_token(html), **{f"kind_{k}": "1" for k in ("confirmation", "refund_offer",
                                                                       "refund_confirmation", "ready", "shipped", "digest")}}
    assert client.post(form_action(html, "email-switches"), data=form).status_code == 200
    kinds = {k["kind"]: k["enabled"] for k in client.get("/api/admin/emails/kinds", headers=headers).get_json()["kinds"]}
    assert kinds["delay"] is False and kinds["ready"] is True
    with runtime.db.session() as session:
        settings = session.get(Shop, shop_id_of(runtime, "shopify", SHOP)).settings
    assert settings["email_kinds"]["delay"] is False
    assert settings["email_texts"]["delay"]["pl"]["intro"] == "Przepraszamy, {customer_name}."
    # The switch takes effect: a delay email is now written as skipped.
    from plugin.shop_settings import email_kind_enabled

    with runtime.db.session() as session:
        assert email_kind_enabled(session.get(Shop, shop_id_of(runtime, "shopify", SHOP)), "delay") is False


# -- settings ------------------------------------------------------------------------------------
def _settings_form(html: str, **changes) -> dict:
    fields = {"_token": form_token(html), "order_tag": "backorder", "promise_quantile": "0.8",
              "default_lead_time_days": "14", "delay_grace_days": "2", "refund_threshold_days": "14",
              "email_sender_name": "", "email_reply_to": "", "merchant_email": "", "merchant_locale": "en",
              **{f"email_kind_{k}": "1" for k in ("confirmation", "delay", "refund_offer", "refund_confirmation",
                                                   "ready", "shipped", "digest")}}
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


def test_settings_errors_are_shown_next_to_their_fields_and_nothing_is_saved(client, runtime, fake_shopify, data):
    _, html = page(client, fake_shopify, "/admin/settings")
    response = client.post(form_action(html, "settings-form"), data=_settings_form(
        html, order_tag="back,order", delay_grace_days="soon", refund_threshold_days="0", promise_quantile="0.42",
        email_reply_to="nobody", email_sender_name="Desk <x>"))
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    for field, words in (("set-order-tag-error", "commas"), ("set-delay-grace-days-error", "whole number"),
                         ("set-refund-threshold-days-error", "1 or more"), ("set-promise-quantile-error", "P50 to P95"),
                         ("set-email-reply-to-error", "email address"), ("set-email-sender-name-error", "name only")):
        assert re.search(rf'id="{field}">[^<]*{words}', body), field
    assert body.count('aria-invalid="true"') >= 5 and 'id="form-errors"' in body
    assert 'value="back,order"' in body  # what was typed stays in the field
    # The refund threshold must come after the grace period (a rule across two fields).
    crossed = client.post(form_action(html, "settings-form"), data=_settings_form(
        html, delay_grace_days="20", refund_threshold_days="10"))
    assert crossed.status_code == 400 and "more days than the grace period" in crossed.get_data(as_text=True)
    with runtime.db.session() as session:
        assert session.get(Shop, shop_id_of(runtime, "shopify", SHOP)).settings.get("order_tag") is None
    polish = client.post(form_action(html, "settings-form") + "&locale=pl", data=_settings_form(html, order_tag=""))
    assert re.search(r'id="set-order-tag-error">Uzupełnij to pole', polish.get_data(as_text=True))
    api = client.patch("/api/admin/settings", headers=auth(fake_shopify), json={"promise_quantile": 0.99})
    assert api.status_code == 422
    assert client.patch("/api/admin/settings", headers=auth(fake_shopify), json={"delay_grace_days": 30}).status_code == 422


def test_a_setting_change_persists_and_marks_the_waiting_variants_dirty(client, runtime, fake_shopify, data, shops):
    def variant(shop: str):
        with runtime.db.shop_session(shops[shop]) as session:
            v = session.get(Variant, data[shop]["variant"])
            return v.eta_dirty, v.eta_revision

    for shop in (SHOP, OTHER):
        with runtime.db.shop_session(shops[shop]) as session:
            session.get(Variant, data[shop]["variant"]).eta_dirty = False
    before, theirs = variant(SHOP), variant(OTHER)
    _, html = page(client, fake_shopify, "/admin/settings")
    response = client.post(form_action(html, "settings-form"), data=_settings_form(
        html, promise_quantile="0.9", order_tag="preorder", email_sender_name="Desk Team",
        merchant_email="owner@example.com", merchant_locale="pl", require_refund_approval="1"))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Settings saved." in body and "being recalculated" in body
    assert re.search(r'<option value="0.9" selected>', body)
    assert variant(SHOP) == (True, before[1] + 1) and variant(OTHER) == theirs
    stored = client.get("/api/admin/settings", headers=auth(fake_shopify)).get_json()
    assert (stored["promise_quantile"], stored["order_tag"], stored["email_sender_name"], stored["merchant_email"],
            stored["merchant_locale"], stored["require_refund_approval"]) == (0.9, "preorder", "Desk Team",
                                                                             "owner@example.com", "pl", True)
    # A change the engine does not read leaves the ETAs alone; the grace period does not.
    with runtime.db.shop_session(shops[SHOP]) as session:
        session.get(Variant, data[SHOP]["variant"]).eta_dirty = False
    same = client.patch("/api/admin/settings", headers=auth(fake_shopify), json={"email_reply_to": "help@example.com"})
    assert same.get_json()["variants_marked"] == 0 and variant(SHOP)[0] is False
    grace = client.patch("/api/admin/settings", headers=auth(fake_shopify), json={"delay_grace_days": 5}).get_json()
    assert grace["variants_marked"] == 1 and grace["changed"] == ["delay_grace_days"] and variant(SHOP)[0] is True
    cleared = client.patch("/api/admin/settings", headers=auth(fake_shopify), json={"email_sender_name": ""}).get_json()
    assert cleared["settings"]["email_sender_name"] is None
    # The recompute takes the new quantile: the line's promise is computed again.
    counts = recompute_shop(runtime, shops[SHOP])
    assert counts.skus == 1 and variant(SHOP)[0] is False


# -- refund requests -----------------------------------------------------------------------------
def test_refund_requests_are_listed_and_decided_for_this_shop_only(client, runtime, fake_shopify, data, shops):
    def request_for(shop: str) -> int:
        with runtime.db.shop_session(shops[shop]) as session:
            choice = CustomerChoice(shop_id=shops[shop], backorder_id=data[shop]["line"], promise_version=1,
                                    token_id=f"nonce-{shop}", choice="refund", status="awaiting_approval")
            session.add(choice)
            session.flush()
            return choice.id

    mine, theirs = request_for(SHOP), request_for(OTHER)
    listed = client.get("/api/admin/refund-requests", headers=auth(fake_shopify)).get_json()["requests"]
    assert [r["choice_id"] for r in listed] == [mine] and listed[0]["order_name"] == "#Mine-1"
    assert client.post(f"/api/admin/refund-requests/{theirs}/approve", headers=auth(fake_shopify)).status_code == 404
    assert client.post(f"/api/admin/refund-requests/{theirs}/reject", headers=auth(fake_shopify), json={}).status_code == 404
    _, html = page(client, fake_shopify, "/admin/refunds")
    assert "#Mine-1" in html and "#Theirs-1" not in html
    unconfirmed = client.post(form_action(html, f"reject-form-{mine}"), data={"_token": form_token(html)})
    assert unconfirmed.status_code == 400
    done = client.post(form_action(html, f"reject-form-{mine}"),
                       data={"_token": form_token(html), "confirm": "1", "reason": "Stock arrives Friday"})
    assert done.status_code == 200 and "Rejected" in done.get_data(as_text=True)
    again = client.post(f"/api/admin/refund-requests/{mine}/approve", headers=auth(fake_shopify))
    assert again.status_code == 409
    with runtime.db.session() as session:
        assert session.get(CustomerChoice, mine).status == "rejected"
        assert (session.get(CustomerChoice, mine).error, session.get(CustomerChoice, theirs).status) == (
            "Stock arrives Friday", "awaiting_approval")
    _, settings = page(client, fake_shopify, "/admin/settings", domain=OTHER)
    assert "1 refund requests are waiting for you" in settings


# -- jobs ----------------------------------------------------------------------------------------
def test_run_now_does_this_shops_work_only(client, runtime, fake_shopify, shops, feed):
    feed.hits.clear()
    feed.body = "sku,quantity,po_reference,lead_days\nDESK,4,PO-J,5\nLAMP,4,PO-J,5\n".encode()
    mine = create_supplier(runtime, shops[SHOP], name="Mine Feed", feed_kind="url", feed_url=f"{feed.url}/mine.csv",
                           primary_skus=["DESK"])
    theirs = create_supplier(runtime, shops[OTHER], name="Their Feed", feed_kind="url",
                             feed_url=f"{feed.url}/theirs.csv", primary_skus=["LAMP"])
    _, html = page(client, fake_shopify, "/admin/jobs")
    assert 'id="run-supplier_feeds"' in html and 'id="run-prune_history"' not in html
    response = client.post(form_action(html, "run-form-supplier_feeds"), data={"_token": form_token(html)})
    assert response.status_code == 202 and "started for your shop" in response.get_data(as_text=True)
    wait_for_runs(runtime)
    assert feed.hits == ["/mine.csv"]
    with runtime.db.session() as session:
        synced = {run.supplier_id for run in session.scalars(select(SyncRun))}
        [run] = session.scalars(select(JobRun).where(JobRun.job_name == "supplier_feeds")).all()
    assert mine.id in synced and theirs.id not in synced
    assert (run.shop_id, run.status, run.counts["synced"]) == (shops[SHOP], "ok", 1)
    # The API does the same; jobs that serve every shop are refused; the run lists are per shop.
    api = client.post("/api/admin/jobs/eta_recompute/run", headers=auth(fake_shopify))
    assert api.status_code == 202 and api.get_json()["ok"] is True
    wait_for_runs(runtime)
    for name in ("prune_history", "heartbeat", "reconcile_orders", "refunds_resume"):
        refused = client.post(f"/api/admin/jobs/{name}/run", headers=auth(fake_shopify))
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "not_runnable"
    assert client.post("/api/admin/jobs/nothing/run", headers=auth(fake_shopify)).status_code == 404
    runs = client.get("/api/admin/jobs", headers=auth(fake_shopify)).get_json()
    assert {r["job"] for r in runs["runs"]} == {"supplier_feeds", "eta_recompute"}
    assert client.get("/api/admin/jobs", headers=auth(fake_shopify, OTHER)).get_json()["runs"] == []
    feeds = next(j for j in runs["jobs"] if j["name"] == "supplier_feeds")
    assert feeds["runnable"] and feeds["trigger"] == "Every 5 min" and feeds["shop_last_run"]["status"] == "ok"


def test_run_now_refuses_a_second_run_while_one_is_running(client, runtime, fake_shopify, shops):
    with runtime.db.session() as session:
        session.add(JobRun(job_name="eta_recompute", shop_id=shops[SHOP], status="running",
                           started_at=datetime.now(timezone.utc)))
    response = client.post("/api/admin/jobs/eta_recompute/run", headers=auth(fake_shopify))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "already_running"
    other = client.post("/api/admin/jobs/eta_recompute/run", headers=auth(fake_shopify, OTHER))
    assert other.status_code == 202  # the other shop's own run is its business
    wait_for_runs(runtime)


# -- products: the manual ETA and lead time ----------------------------------------------------------
@pytest.fixture
def desk(app, runtime, fake_shopify, shops):
    product = fake_shopify.add_product(SHOP, "Oak desk", variants=[
        {"sku": "OAK", "price": "499.00", "tracked": True, "policy": "CONTINUE", "available": 1}])
    fake_shopify.place_order(SHOP, [(product["variants"][0]["id"], 3)])
    drain(runtime)
    with runtime.db.shop_session(shops[SHOP]) as session:
        line = session.scalars(select(Backorder).join(Variant, Variant.id == Backorder.variant_id)
                               .where(Variant.sku == "OAK")).one()
        return {"line": line.id, "variant": line.variant_id, "engine": line.current_eta}


def _line(runtime, backorder_id: int) -> Backorder:
    with runtime.db.session() as session:
        return session.get(Backorder, backorder_id)


def test_a_manual_eta_is_promised_through_every_recompute_and_a_lead_time_replaces_the_suppliers(
        client, runtime, fake_shopify, shops, desk):
    headers = auth(fake_shopify)
    assert desk["engine"] is not None
    later = TODAY + timedelta(days=45)
    response = client.post(f"/api/admin/products/{desk['variant']}/eta", headers=headers,
                           json={"manual_eta": later.isoformat()})
    assert response.status_code == 200, response.get_data(as_text=True)
    product = response.get_json()["product"]
    assert product["manual_eta"] == later.isoformat() and product["backordered_units"] == 2
    line = _line(runtime, desk["line"])
    assert line.current_eta == later and line.eta_latest == later
    recompute_shop(runtime, shops[SHOP], full=True)
    assert _line(runtime, desk["line"]).current_eta == later
    # A lead time counts for lines nothing is on order for: today + that many days.
    response = client.post(f"/api/admin/products/{desk['variant']}/eta", headers=headers,
                           json={"manual_lead_time_days": 3})
    assert response.status_code == 200 and response.get_json()["product"]["manual_eta"] is None
    assert _line(runtime, desk["line"]).current_eta == TODAY + timedelta(days=3)
    # Supply on the way covers the line: the lead time no longer applies.
    supplier = create_supplier(runtime, shops[SHOP], name="Oak Co", primary_skus=["OAK"], handling_days=0)
    sync_supplier(runtime, shops[SHOP], supplier.id, source="manual",
                  rows=[{"sku": "OAK", "quantity": 5, "po_reference": "P1", "expected_date": (TODAY + timedelta(days=20)).isoformat()}])
    recompute_shop(runtime, shops[SHOP])
    covered = _line(runtime, desk["line"])
    assert covered.covered_by == "supply" and covered.current_eta >= TODAY + timedelta(days=20)
    # Cleared: the engine decides again; a day in the past is refused.
    cleared = client.post(f"/api/admin/products/{desk['variant']}/eta", headers=headers, json={})
    assert cleared.status_code == 200 and cleared.get_json()["product"]["manual_lead_time_days"] is None
    past = client.post(f"/api/admin/products/{desk['variant']}/eta", headers=headers,
                       json={"manual_eta": (TODAY - timedelta(days=1)).isoformat()})
    assert past.status_code == 422
    assert client.post(f"/api/admin/products/{desk['variant']}/eta", headers=headers,
                       json={"manual_lead_time_days": 900}).status_code == 422


def test_the_products_form_sets_a_manual_eta_and_says_what_is_wrong(client, runtime, fake_shopify, shops, desk):
    _, html = page(client, fake_shopify, "/admin/products", "&q=oak")
    assert 'id="manual-eta-%d"' % desk["variant"] in html and 'for="manual-eta-%d"' % desk["variant"] in html
    action, token = form_action(html, f"manual-form-{desk['variant']}"), form_token(html)
    bad = client.post(action, data={"_token": token, "manual_eta": (TODAY - timedelta(days=2)).isoformat(),
                                    "manual_lead_time_days": "many"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert re.search(rf'id="manual-eta-{desk["variant"]}-error">That day has passed', body)
    assert re.search(rf'id="manual-lead-{desk["variant"]}-error">Enter a whole number', body)
    day = TODAY + timedelta(days=30)
    good = client.post(action, data={"_token": token, "manual_eta": day.isoformat(), "manual_lead_time_days": ""})
    assert good.status_code == 200 and "dates were recalculated." in good.get_data(as_text=True)
    assert _line(runtime, desk["line"]).current_eta == day
    assert client.post(action, data={"_token": token, "clear": "1"}).status_code == 200
    with runtime.db.session() as session:
        assert session.get(Variant, desk["variant"]).manual_eta is None


def test_products_search_and_filter(client, fake_shopify, runtime, shops, data, desk):
    headers = auth(fake_shopify)
    assert [r["sku"] for r in client.get("/api/admin/products", headers=headers).get_json()["rows"]] == ["DESK", "OAK"]
    assert [r["sku"] for r in client.get("/api/admin/products?q=oak", headers=headers).get_json()["rows"]] == ["OAK"]
    assert [r["sku"] for r in client.get("/api/admin/products?q=mine+desk", headers=headers).get_json()["rows"]] == ["DESK"]
    with runtime.db.shop_session(shops[SHOP]) as session:
        session.add(Variant(shop_id=shops[SHOP], platform_variant_id="v-idle", sku="IDLE", title="Idle", sellable_quantity=4))
    assert client.get("/api/admin/products", headers=headers).get_json()["total"] == 3
    waiting = client.get("/api/admin/products?backordered=true", headers=headers).get_json()
    assert [r["sku"] for r in waiting["rows"]] == ["DESK", "OAK"]
    paged = client.get("/api/admin/products?per_page=2&page=2", headers=headers).get_json()
    assert [r["sku"] for r in paged["rows"]] == ["OAK"] and paged["pages"] == 2
    assert client.get("/api/admin/products?per_page=0", headers=headers).status_code == 422
