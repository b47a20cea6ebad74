"""The Backorders page and API: filters, sort and pages; the line actions (override ETA, resend,
cancel and refund, mark shipped) do what they say; the override survives recomputes; the overview."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from connectors.shopify.devstore.refunds import order_money
from plugin.db.models import Backorder, BackorderEvent, CustomerChoice, Notification, Order, Shop, Supplier
from plugin.eta.recompute import recompute_shop
from tests.flow_helpers import drain, install_shop
from tests.shopify_helpers import app_home_query
from tests.test_admin_auth import add_line, bearer, shop_id_of

SHOP = "lines-shop.myshopify.com"
TODAY = date.today()


@pytest.fixture
def shop(app, runtime, fake_shopify):
    fake_shopify.create_shop(SHOP)
    install_shop(runtime, fake_shopify, SHOP)
    return shop_id_of(runtime, "shopify", SHOP)


@pytest.fixture
def auth(fake_shopify):
    return lambda: bearer(fake_shopify.session_token(SHOP))


def listed(client, auth, query: str = "") -> dict:
    response = client.get("/api/admin/backorders" + (f"?{query}" if query else ""), headers=auth())
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def names(page: dict) -> list[str]:
    return [row["order_name"] for row in page["rows"]]


# -- filters, sort, pages -----------------------------------------------------------------------------
@pytest.fixture
def seeded(runtime, shop):
    with runtime.db.shop_session(shop) as session:
        nordic = Supplier(shop_id=shop, name="Nordic Oak Works")
        linen = Supplier(shop_id=shop, name="Linen & Light")
        session.add_all([nordic, linen])
        session.flush()
        suppliers = {"nordic": nordic.id, "linen": linen.id}
    now = datetime.now(timezone.utc)
    add_line(runtime, shop, order_name="#A", sku="DESK-OAK", title="Oak desk", quantity=3,
             promised=TODAY + timedelta(days=5), ordered_at=now - timedelta(days=40), supplier_id=suppliers["nordic"])
    add_line(runtime, shop, order_name="#B", sku="LAMP-LINEN-S", title="Linen lamp small", quantity=1,
             promised=TODAY + timedelta(days=2), current=TODAY + timedelta(days=12), ordered_at=now - timedelta(days=9),
             supplier_id=suppliers["linen"])  # delayed: the ETA moved past the promise
    add_line(runtime, shop, order_name="#C", sku="LAMP-LINEN-L", title="Linen lamp large", quantity=2,
             promised=TODAY - timedelta(days=1), ordered_at=now - timedelta(days=20),
             supplier_id=suppliers["linen"], status="ready")  # delayed: promised day gone by
    add_line(runtime, shop, order_name="#D", sku="RUG-WOOL", title="Wool rug", quantity=1,
             promised=TODAY + timedelta(days=30), ordered_at=now - timedelta(days=1))
    add_line(runtime, shop, order_name="#E", sku="DESK-OAK", title="Oak desk", quantity=1, status="shipped",
             promised=TODAY - timedelta(days=3), ordered_at=now - timedelta(days=50))
    add_line(runtime, shop, order_name="#F", sku="RUG-WOOL", title="Wool rug", quantity=4, status="cancelled",
             promised=TODAY + timedelta(days=8), ordered_at=now - timedelta(days=6))
    return suppliers


def test_default_list_is_the_waiting_lines_soonest_promise_first(client, auth, seeded):
    page = listed(client, auth)
    assert names(page) == ["#C", "#B", "#A", "#D"] and page["total"] == 4 and page["pages"] == 1
    row = page["rows"][1]
    assert (row["item"], row["sku"], row["quantity"], row["status"], row["supplier_name"]) == \
        ("Linen lamp small", "LAMP-LINEN-S", 1, "open", "Linen & Light")
    assert row["delayed"] is True and page["rows"][2]["delayed"] is False


@pytest.mark.parametrize("query, expected", [
    ("status=shipped", ["#E"]),
    ("status=shipped&status=cancelled", ["#E", "#F"]),
    ("status=open,ready,shipped,cancelled,refunded", ["#E", "#C", "#B", "#A", "#F", "#D"]),
    ("status=ready", ["#C"]),
    ("product=lamp-linen", ["#C", "#B"]),          # SKU prefix, any case
    ("product=wool", ["#D"]),                       # words of the title
    ("product=DESK-OAK&status=open,shipped", ["#E", "#A"]),
    ("product=nothing-like-it", []),
    ("delayed=true", ["#C", "#B"]),
    ("delayed=false", ["#A", "#D"]),
])
def test_filters(client, auth, seeded, query, expected):
    page = listed(client, auth, query)
    assert names(page) == expected and page["total"] == len(expected)


def test_filter_by_supplier_and_promised_dates(client, auth, seeded):
    assert names(listed(client, auth, f"supplier_id={seeded['linen']}")) == ["#C", "#B"]
    assert names(listed(client, auth, f"supplier_id={seeded['nordic']}")) == ["#A"]
    window = f"promised_from={(TODAY + timedelta(days=2)).isoformat()}&promised_to={(TODAY + timedelta(days=5)).isoformat()}"
    assert names(listed(client, auth, window)) == ["#B", "#A"]
    assert names(listed(client, auth, f"promised_from={(TODAY + timedelta(days=6)).isoformat()}")) == ["#D"]


@pytest.mark.parametrize("sort, expected", [
    ("promised", ["#C", "#B", "#A", "#D"]),
    ("-promised", ["#D", "#A", "#B", "#C"]),
    ("ordered", ["#A", "#C", "#B", "#D"]),
    ("-ordered", ["#D", "#B", "#C", "#A"]),
    ("eta", ["#C", "#A", "#B", "#D"]),
    ("-eta", ["#D", "#B", "#A", "#C"]),
    ("-quantity", ["#A", "#C", "#B", "#D"]),
])
def test_sort(client, auth, seeded, sort, expected):
    assert names(listed(client, auth, f"sort={sort}")) == expected


def test_pages(client, auth, seeded):
    first = listed(client, auth, "per_page=3")
    second = listed(client, auth, "per_page=3&page=2")
    beyond = listed(client, auth, "per_page=3&page=5")
    assert (names(first), names(second), names(beyond)) == (["#C", "#B", "#A"], ["#D"], [])
    assert first["total"] == second["total"] == 4 and first["pages"] == 2


@pytest.mark.parametrize("query", ["status=lost", "sort=price", "per_page=1000", "page=0", "supplier_id=x",
                                   f"promised_from={TODAY}&promised_to={TODAY - timedelta(days=1)}"])
def test_bad_queries_are_422(client, auth, seeded, query):
    response = client.get(f"/api/admin/backorders?{query}", headers=auth())
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_request"


def test_the_page_shows_the_filtered_table_accessibly(client, fake_shopify, seeded):
    query = app_home_query(SHOP, fake_shopify.session_token(SHOP)) + "&product=lamp&sort=-promised"
    response = client.get("/admin/backorders?" + query)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    table = html[html.index('<table class="bd-table"'):html.index("</table>")]
    assert re.findall(r'<th scope="row">([^<]+)</th>', table) == ["#B", "#C"]
    assert table.count('<th scope="col"') == 10 and "<caption>" in table
    assert 'aria-sort="descending"' in table
    for control in ("f-product", "f-supplier", "f-from", "f-to", "f-delayed", "f-sort"):
        assert f'<label for="{control}">' in html and f'id="{control}"' in html
    assert 'value="lamp"' in html  # the filter keeps what was typed
    # Pagination and sort links keep the app's context and the filters.
    assert re.search(r'href="/admin/backorders\?[^"]*shop=' + re.escape(SHOP) + r'[^"]*product=lamp', html)
    # Every action is a real form with labelled, required confirmation.
    assert html.count('name="confirm" value="1" required') == 2 * 4


# -- override the ETA ---------------------------------------------------------------------------------------
@pytest.fixture
def desk(app, runtime, fake_shopify, shop):
    product = fake_shopify.add_product(SHOP, "Oak desk", variants=[
        {"sku": "DESK", "price": "499.00", "tracked": True, "policy": "CONTINUE", "available": 1}])
    return product["variants"][0]["id"]


def place(runtime, fake_shopify, variant: str, quantity: int = 2) -> tuple[dict, int]:
    order = fake_shopify.place_order(SHOP, [(variant, quantity)], shipping="15.00")
    drain(runtime)
    with runtime.db.session() as session:
        backorder = session.scalars(select(Backorder).order_by(Backorder.id.desc())).first()
        return order, backorder.id


def line(runtime, backorder_id: int) -> Backorder:
    with runtime.db.session() as session:
        return session.get(Backorder, backorder_id)


def test_override_persists_across_recomputes_and_can_be_removed(client, runtime, fake_shopify, auth, shop, desk):
    _order, backorder_id = place(runtime, fake_shopify, desk)
    engine = line(runtime, backorder_id)
    assert engine.current_eta and engine.status == "open"
    wanted = engine.current_eta - timedelta(days=4)  # earlier: no delay to announce

    response = client.post(f"/api/admin/backorders/{backorder_id}/eta", headers=auth(),
                           json={"eta": wanted.isoformat(), "reason": "Supplier confirmed by phone"})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["ok"] and body["row"]["current_eta"] == wanted.isoformat()
    assert body["row"]["override"]["eta"] == wanted.isoformat() and "phone" in body["row"]["override"]["reason"]
    assert wanted.strftime("%Y") in body["message"]

    recompute_shop(runtime, shop, full=True)
    after = line(runtime, backorder_id)
    assert (after.current_eta, after.eta_override, after.eta_override_reason) == (
        wanted, wanted, "Supplier confirmed by phone")
    # A new order for the same variant recomputes it inside the order's transaction: still kept.
    place(runtime, fake_shopify, desk, 1)
    assert line(runtime, backorder_id).current_eta == wanted
    # The engine's range stays the engine's; the store is told the merchant's date.
    assert after.eta_likely is not None
    with runtime.db.session() as session:
        order = session.get(Backorder, backorder_id).line.order
        assert wanted.isoformat() in (order.etas_written or "")

    cleared = client.post(f"/api/admin/backorders/{backorder_id}/eta", headers=auth(), json={"eta": None})
    assert cleared.status_code == 200 and cleared.get_json()["row"]["override"] is None
    assert line(runtime, backorder_id).current_eta == engine.current_eta
    recompute_shop(runtime, shop, full=True)
    assert line(runtime, backorder_id).current_eta == engine.current_eta


def test_a_later_override_is_a_delay_told_to_the_customer(client, runtime, fake_shopify, auth, shop, desk):
    _order, backorder_id = place(runtime, fake_shopify, desk)
    before = line(runtime, backorder_id)
    later = before.promised_eta + timedelta(days=20)
    response = client.post(f"/api/admin/backorders/{backorder_id}/eta", headers=auth(),
                           json={"eta": later.isoformat(), "reason": "Container held at customs"})
    assert response.status_code == 200
    after = line(runtime, backorder_id)
    assert after.current_eta == after.promised_eta == later and after.promise_version == before.promise_version + 1
    with runtime.db.session() as session:
        kinds = {e.kind for e in session.scalars(select(BackorderEvent).where(BackorderEvent.backorder_id == backorder_id))}
    assert "delay" in kinds


@pytest.mark.parametrize("body", [{"eta": "2027-01-01"}, {"eta": "2027-01-01", "reason": "  "}, {"eta": "soon"},
                                  {"reason": "x"}])
def test_override_needs_a_date_and_a_reason(client, runtime, fake_shopify, auth, shop, desk, body):
    _order, backorder_id = place(runtime, fake_shopify, desk)
    response = client.post(f"/api/admin/backorders/{backorder_id}/eta", headers=auth(), json=body)
    assert response.status_code == 422
    assert line(runtime, backorder_id).eta_override is None


def test_actions_on_a_missing_line_are_404(client, auth, shop):
    for action in ("eta", "resend", "refund", "shipped"):
        body = {"eta": "2027-01-01", "reason": "x"} if action == "eta" else None
        response = client.post(f"/api/admin/backorders/999999/{action}", headers=auth(), json=body)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


# -- mark shipped, resend, refund -------------------------------------------------------------------------
def test_mark_shipped(client, runtime, fake_shopify, auth, shop, desk):
    _order, backorder_id = place(runtime, fake_shopify, desk)
    response = client.post(f"/api/admin/backorders/{backorder_id}/shipped", headers=auth())
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["row"]["status"] == "shipped"
    shipped = line(runtime, backorder_id)
    assert shipped.status == "shipped" and shipped.shipped_at is not None
    with runtime.db.session() as session:
        [note] = session.scalars(select(Notification).where(Notification.kind == "shipped")).all()
        assert note.backorder_id == backorder_id and note.status == "pending"
    again = client.post(f"/api/admin/backorders/{backorder_id}/shipped", headers=auth())
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_open"
    # It no longer counts as waiting, and a shipped-on-time line is a promise kept.
    overview = client.get("/api/admin/overview", headers=auth()).get_json()["figures"]
    assert overview["open_lines"] == 0 and (overview["promises_kept"], overview["promises_shipped"]) == (1, 1)


def test_resend_the_last_customer_email(client, runtime, fake_shopify, auth, shop, desk):
    _order, backorder_id = place(runtime, fake_shopify, desk)
    with runtime.db.session() as session:
        [confirmation] = session.scalars(select(Notification)).all()
    assert confirmation.kind == "confirmation"

    response = client.post(f"/api/admin/backorders/{backorder_id}/resend", headers=auth())
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["outcome"] == "pending" and "confirmation" in response.get_json()["message"]
    with runtime.db.session() as session:
        rows = session.scalars(select(Notification).order_by(Notification.id)).all()
    assert len(rows) == 2
    resent = rows[1]
    assert resent.kind == "confirmation" and resent.status == "pending"
    assert resent.idempotency_key.startswith(confirmation.idempotency_key + ":resend:")
    assert (resent.subject, resent.recipient) == (confirmation.subject, confirmation.recipient)
    # Each resend is a new message; the next one resends the same email again.
    assert client.post(f"/api/admin/backorders/{backorder_id}/resend", headers=auth()).status_code == 200
    with runtime.db.session() as session:
        keys = [n.idempotency_key for n in session.scalars(select(Notification).order_by(Notification.id))]
    assert len(set(keys)) == 3 and keys[2].startswith(confirmation.idempotency_key + ":resend:")


def test_resend_without_any_email_is_409(client, runtime, auth, shop):
    backorder_id = add_line(runtime, shop)
    response = client.post(f"/api/admin/backorders/{backorder_id}/resend", headers=auth())
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "no_email"


def test_cancel_and_refund_refunds_the_line_once(client, runtime, fake_shopify, auth, shop, desk):
    order, backorder_id = place(runtime, fake_shopify, desk, 2)
    response = client.post(f"/api/admin/backorders/{backorder_id}/refund", headers=auth())
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["ok"] and body["outcome"] == "refunded" and body["row"]["status"] == "refunded"

    money = order_money(fake_shopify, SHOP, order["id"])
    [refund] = money["refunds"]
    assert refund["lines"][0]["quantity"] == 1 and refund["lines"][0]["restockType"] == "CANCEL"
    with runtime.db.session() as session:
        [choice] = session.scalars(select(CustomerChoice)).all()
        assert (choice.choice, choice.status, choice.refund_reference) == ("refund", "refunded", refund["id"])
        assert choice.token_id.startswith("merchant-")
        [note] = session.scalars(select(Notification).where(Notification.kind == "refund_confirmation")).all()
        assert note.backorder_id == backorder_id

    again = client.post(f"/api/admin/backorders/{backorder_id}/refund", headers=auth())
    assert again.status_code == 409
    assert len(order_money(fake_shopify, SHOP, order["id"])["refunds"]) == 1


def test_refund_after_the_customer_chose_to_wait(client, runtime, fake_shopify, auth, shop, desk):
    order, backorder_id = place(runtime, fake_shopify, desk, 2)
    kept = line(runtime, backorder_id)
    with runtime.db.shop_session(shop) as session:
        session.add(CustomerChoice(shop_id=shop, backorder_id=backorder_id, promise_version=kept.promise_version,
                                   token_id="customer-nonce", choice="keep", status="recorded",
                                   accepted_eta=kept.current_eta))
    response = client.post(f"/api/admin/backorders/{backorder_id}/refund", headers=auth())
    assert response.status_code == 200 and response.get_json()["outcome"] == "refunded"
    assert len(order_money(fake_shopify, SHOP, order["id"])["refunds"]) == 1
    with runtime.db.session() as session:
        versions = sorted(c.promise_version for c in session.scalars(select(CustomerChoice)))
    assert versions == [0, kept.promise_version]  # the customer's record stays as it was


def test_no_javascript_form_marks_shipped_and_shows_the_result(client, runtime, fake_shopify, shop, desk):
    _order, backorder_id = place(runtime, fake_shopify, desk)
    page = client.get("/admin/backorders?" + app_home_query(SHOP, fake_shopify.session_token(SHOP)))
    html = page.get_data(as_text=True)
    action = re.search(rf'<form method="post" action="(/admin/backorders/{backorder_id}/shipped[^"]*)"', html).group(1)
    token = re.search(r'name="_token" value="([^"]+)"', html).group(1)
    action = action.replace("&amp;", "&")

    unconfirmed = client.post(action, data={"_token": token})
    assert unconfirmed.status_code == 400 and line(runtime, backorder_id).status == "open"
    done = client.post(action, data={"_token": token, "confirm": "1"})
    assert done.status_code == 200
    assert "is marked as shipped" in done.get_data(as_text=True)
    assert line(runtime, backorder_id).status == "shipped"


# -- the overview -----------------------------------------------------------------------------------------
def test_overview_figures(client, runtime, auth, shop):
    now = datetime.now(timezone.utc)
    add_line(runtime, shop, quantity=2, price="10.00", ordered_at=now - timedelta(days=45))
    # promised before this week's Monday, whatever weekday the suite runs on: overdue in the weekly chart
    overdue = TODAY - timedelta(days=TODAY.weekday() + 2)
    add_line(runtime, shop, quantity=1, price="5.50", promised=overdue, ordered_at=now - timedelta(days=3))
    add_line(runtime, shop, quantity=3, price=None, status="ready", ordered_at=now - timedelta(days=1))
    kept = add_line(runtime, shop, status="shipped", promised=TODAY)
    late = add_line(runtime, shop, status="shipped", promised=TODAY - timedelta(days=5))
    old = add_line(runtime, shop, status="shipped", promised=TODAY - timedelta(days=60))
    with runtime.db.shop_session(shop) as session:
        session.get(Backorder, kept).shipped_at = now - timedelta(days=1)   # shipped before the promise
        session.get(Backorder, late).shipped_at = now - timedelta(days=1)   # after the promised day
        session.get(Backorder, old).shipped_at = now - timedelta(days=40)   # outside the 30 days

    data = client.get("/api/admin/overview", headers=auth()).get_json()
    f = data["figures"]
    assert (f["open_lines"], f["open_units"]) == (3, 6)
    assert Decimal(f["value_waiting"]) == Decimal("25.50") and f["lines_without_price"] == 1 and f["currency"] == "EUR"
    assert f["oldest_age_days"] == 45
    assert (f["promises_kept"], f["promises_shipped"]) == (1, 2) and f["promises_kept_share"] == 0.5
    assert f["delayed_lines"] == 1
    assert sum(p["lines"] for p in data["ageing"]) == 3
    assert [p["label"] for p in data["ageing"] if p["lines"]] == ["0-7", "31-60"]
    assert sum(p["units"] for p in data["by_promised_week"]) == 6
    assert any(p["label"] == "overdue" and p["units"] == 1 for p in data["by_promised_week"])
    assert sum(p["lines"] for p in data["kept_over_time"]) == 3 and len(data["kept_over_time"]) == 12


def test_overview_page_has_accessible_charts(client, runtime, fake_shopify, shop):
    add_line(runtime, shop, quantity=2, price="10.00")
    response = client.get("/admin?" + app_home_query(SHOP, fake_shopify.session_token(SHOP)))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    svgs = re.findall(r"<svg [^>]*>", html)
    assert len(svgs) == 3 and all('role="img"' in s and "aria-labelledby" in s for s in svgs)
    assert html.count("<title id=") == 3 and html.count("<desc id=") == 3
    assert html.count('<details class="bd-chart-table">') == 3  # each chart as a table too
    assert "<script" not in html.split("<body", 1)[1].split("</main>")[0].replace('<script type="application/json"', "")
    assert "€20.00" in html or "20.00" in html


def test_only_this_shops_lines_count(client, runtime, fake_shopify, auth, shop):
    fake_shopify.create_shop("elsewhere.myshopify.com")
    install_shop(runtime, fake_shopify, "elsewhere.myshopify.com")
    add_line(runtime, shop_id_of(runtime, "shopify", "elsewhere.myshopify.com"), quantity=9)
    add_line(runtime, shop, quantity=1)
    assert client.get("/api/admin/overview", headers=auth()).get_json()["figures"]["open_units"] == 1
    assert listed(client, auth)["total"] == 1
    with runtime.db.session() as session:
        assert session.query(Shop).count() == 2
