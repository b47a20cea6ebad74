"""The customer's keep-or-refund choice: signed links, the confirm pages, keeping, refunding."""
from __future__ import annotations

import html as html_lib
import re
import threading
import time
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from babel.dates import format_date
from liquid import Environment
from sqlalchemy import select, update

from connectors.shopify.devstore.refunds import order_money
from plugin.choices import services
from plugin.choices.links import LinkRejected, choice_links, make_token, read_token
from plugin.config import load_settings
from plugin.db.models import Backorder, CustomerChoice, Notification, Shop
from tests.flow_helpers import drain, install_shop

SHOP = "oak-and-linen.myshopify.com"
RIVAL = "rival-goods.myshopify.com"


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["t"][0]


# -- links (no database) -----------------------------------------------------------------------
@pytest.fixture
def bare_runtime(tmp_path):
    return SimpleNamespace(settings=load_settings(secret_key="links-secret", app_url="https://app.example.test",
                                                  instance_path=tmp_path / "instance"))


def test_links_round_trip_and_point_at_the_storefront_proxy(bare_runtime):
    shop = SimpleNamespace(id=3, platform="shopify", domain=SHOP, settings={})
    links = choice_links(bare_runtime, shop, 7, 2)
    assert set(links) == {"keep", "refund"}
    for choice, url in links.items():
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.path) == ("https", SHOP, "/apps/backorders/choice")
        claims = read_token(bare_runtime, token_of(url))
        assert (claims.shop_id, claims.backorder_id, claims.promise_version, claims.choice) == (3, 7, 2, choice)
        assert claims.expires_at == pytest.approx(time.time() + 14 * 86400, abs=5)
    assert read_token(bare_runtime, token_of(links["keep"])).jti != read_token(bare_runtime, token_of(links["refund"])).jti


def test_links_elsewhere_are_the_apps_own_and_expire_as_the_shop_says(bare_runtime):
    shop = SimpleNamespace(id=4, platform="woocommerce", domain="shop.example", settings={"refund_link_expiry_days": 3})
    url = choice_links(bare_runtime, shop, 1, 1)["refund"]
    assert url.startswith("https://app.example.test/choice?t=")
    assert read_token(bare_runtime, token_of(url)).expires_at == pytest.approx(time.time() + 3 * 86400, abs=5)
    # A malformed setting is the default, never an error.
    for bad in ("soon", None, -1, {"x": 1}):
        shop.settings = {"refund_link_expiry_days": bad}
        assert read_token(bare_runtime, token_of(choice_links(bare_runtime, shop, 1, 1)["keep"])).expires_at == \
            pytest.approx(time.time() + 14 * 86400, abs=5)


def test_tampered_foreign_and_expired_tokens_are_rejected(bare_runtime, tmp_path):
    token = make_token(bare_runtime, 3, 7, 2, "refund", expires_in_days=14)
    head, _, sig = token.rpartition(".")
    # The last character of a 27-character signature has two unused bits: every other spelling
    # of it decodes to the same bytes, and each must still be refused.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    same_bytes = [token[:-1] + c for c in alphabet if c != token[-1] and alphabet.index(c) >> 2 == alphabet.index(token[-1]) >> 2]
    assert len(same_bytes) == 3
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    not_base64 = (head + ".a", head + "." + sig[:-1] + "!")
    for bad in (*same_bytes, flipped, head + "." + sig[::-1], *not_base64, "", "garbage", "a" * 2000, token + "é"):
        with pytest.raises(LinkRejected) as rejected:
            read_token(bare_runtime, bad)
        assert rejected.value.reason == "invalid"
    other_app = SimpleNamespace(settings=load_settings(secret_key="another-secret", instance_path=tmp_path / "other"))
    with pytest.raises(LinkRejected, match="invalid"):
        read_token(other_app, token)
    with pytest.raises(LinkRejected) as rejected:
        read_token(bare_runtime, token, now=time.time() + 15 * 86400)
    assert rejected.value.reason == "expired"


# -- pages and choices, end to end through the dev store's app proxy ---------------------------


@pytest.fixture
def store(app, runtime, fake_shopify):
    """Two shops with the app installed; the dev store's app proxy reaches the app."""
    fake_shopify.app_proxy_transport = httpx.WSGITransport(app=app)
    variants = {}
    for domain in (SHOP, RIVAL):
        fake_shopify.create_shop(domain)
        desk = fake_shopify.add_product(domain, "Oak desk", [
            {"sku": "DESK", "price": "499.00", "policy": "CONTINUE", "available": 0}])
        lamp = fake_shopify.add_product(domain, "Linen lamp", [
            {"sku": "LAMP", "price": "79.00", "policy": "CONTINUE", "available": 2}])
        rug = fake_shopify.add_product(domain, "Wool rug", [{"sku": "RUG", "price": "259.00", "available": 5}])
        install_shop(runtime, fake_shopify, domain)
        variants[domain] = {"desk": desk["variants"][0]["id"], "lamp": lamp["variants"][0]["id"],
                            "rug": rug["variants"][0]["id"]}
    return variants


def place(runtime, fake_shopify, store, lines, *, domain=SHOP, shipping="15.00", locale="en"):
    """An order in the store, processed by the app: (order as the store has it, its backorder)."""
    order = fake_shopify.place_order(domain, [(store[domain][name], qty) for name, qty in lines],
                                     shipping=shipping, locale=locale)
    drain(runtime)
    number = order["legacyResourceId"]
    with runtime.db.session() as s:
        backorder = s.scalars(select(Backorder).order_by(Backorder.id.desc())).first()
        assert backorder.line.order.platform_order_id == number and backorder.status == "open"
        s.expunge(backorder)
    return order, backorder


def shop_row(runtime, domain=SHOP) -> Shop:
    with runtime.db.session() as s:
        shop = s.scalars(select(Shop).where(Shop.domain == domain)).one()
        s.expunge(shop)
        return shop


def links_for(runtime, backorder, domain=SHOP) -> dict[str, str]:
    return choice_links(runtime, shop_row(runtime, domain), backorder.id, backorder.promise_version)


def open_link(fake_shopify, url: str, domain=SHOP, **options) -> httpx.Response:
    """A shopper opening the storefront link: Shopify proxies it to the app, signed."""
    parts = urlsplit(url)
    assert parts.netloc == domain and parts.path.startswith("/apps/backorders/")
    return fake_shopify.app_proxy(domain, parts.path[len("/apps/backorders"):], parse_qs(parts.query), **options)


def form_of(response: httpx.Response) -> dict:
    action = re.search(r'<form method="post" action="([^"]+)"', response.text).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="(\w)" value="([^"]*)">', response.text))
    return {"action": html_lib.unescape(action), **{k: html_lib.unescape(v) for k, v in fields.items()}}


def press(fake_shopify, page: httpx.Response, domain=SHOP) -> httpx.Response:
    """The shopper presses the page's button: the form posts through the storefront proxy path."""
    form = form_of(page)
    assert form["action"] == "/apps/backorders/choice"
    return post_form(fake_shopify, {"t": form["t"], "n": form["n"]}, domain)


def post_form(fake_shopify, fields: dict, domain=SHOP) -> httpx.Response:
    return fake_shopify.app_proxy(domain, "/choice", method="POST", body=urlencode(fields).encode(),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})


def shown(response: httpx.Response) -> str:
    """The page's text as the shopper reads it (entities decoded)."""
    return html_lib.unescape(response.text)


def choices(runtime) -> list[CustomerChoice]:
    with runtime.db.session() as s:
        return list(s.scalars(select(CustomerChoice).order_by(CustomerChoice.id)))


def backorder_now(runtime, backorder_id) -> Backorder:
    with runtime.db.session() as s:
        return s.get(Backorder, backorder_id)


def refund_calls(fake_shopify) -> int:
    return sum(1 for call in fake_shopify.calls if call.operation == "RefundLineCreate")


def test_opening_a_link_shows_what_it_will_do_and_changes_nothing(runtime, fake_shopify, store):
    order, backorder = place(runtime, fake_shopify, store, [("desk", 1)])
    links = links_for(runtime, backorder)
    for _ in range(2):  # a mail scanner, then the customer
        page = open_link(fake_shopify, links["refund"])
        assert page.status_code == 200 and page.headers["content-type"].startswith("application/liquid")
        assert page.headers["cache-control"] == "no-store"
        assert "Cancel this item and get a refund?" in shown(page) and "1 × Oak desk" in shown(page)
        assert form_of(page)["action"] == "/apps/backorders/choice"
    assert open_link(fake_shopify, links["keep"], method="HEAD").status_code == 200
    assert choices(runtime) == [] and refund_calls(fake_shopify) == 0
    assert order_money(fake_shopify, SHOP, order["id"])["refunds"] == []


def test_keep_waiting_records_consent_to_the_date_shown(runtime, fake_shopify, store):
    order, backorder = place(runtime, fake_shopify, store, [("desk", 1)])
    links = links_for(runtime, backorder)
    page = open_link(fake_shopify, links["keep"])
    eta = format_date(backorder.current_eta, format="long", locale="en")
    assert "Keep waiting for your item?" in shown(page) and eta in shown(page)
    done = press(fake_shopify, page)
    assert done.status_code == 200 and "Thank you for waiting" in shown(done)
    [choice] = choices(runtime)
    assert (choice.choice, choice.status, choice.accepted_eta, choice.promise_version) == (
        "keep", "recorded", backorder.current_eta, backorder.promise_version)
    assert choice.token_id == read_token(runtime, token_of(links["keep"])).jti and choice.decided_at is not None
    # Both links of the email are used up now: the refund link changes nothing.
    again = open_link(fake_shopify, links["refund"])
    assert "This email has already been answered" in shown(again) and "keep waiting" in shown(again)
    assert "<form" not in shown(again)
    assert len(choices(runtime)) == 1 and refund_calls(fake_shopify) == 0
    assert backorder_now(runtime, backorder.id).status == "open"


def test_keep_asks_again_when_the_date_moved_while_the_page_was_open(runtime, fake_shopify, store):
    _order, backorder = place(runtime, fake_shopify, store, [("desk", 1)])
    page = open_link(fake_shopify, links_for(runtime, backorder)["keep"])
    later = backorder.current_eta + timedelta(days=9)
    with runtime.db.session() as s:
        s.execute(update(Backorder).where(Backorder.id == backorder.id).values(current_eta=later))
    answer = press(fake_shopify, page)
    assert "The expected ship date changed" in shown(answer)
    assert format_date(later, format="long", locale="en") in shown(answer) and choices(runtime) == []
    assert "Thank you for waiting" in shown(press(fake_shopify, answer))
    assert choices(runtime)[0].accepted_eta == later


def test_refund_through_the_app_proxy_refunds_exactly_that_line_once(runtime, fake_shopify, store):
    order, backorder = place(runtime, fake_shopify, store, [("desk", 1)], shipping="15.00")
    page = open_link(fake_shopify, links_for(runtime, backorder)["refund"])
    done = press(fake_shopify, page)
    assert done.status_code == 200 and "Your refund is on its way" in shown(done)
    again = press(fake_shopify, page)  # a double click, or the back button and submit again
    assert "Your refund is on its way" in shown(again)

    money = order_money(fake_shopify, SHOP, order["id"])
    [refund] = money["refunds"]
    assert refund["lines"] == [{"lineItemId": order["lineItems"][0]["id"], "quantity": 1, "restockType": "CANCEL"}]
    # The line was the only thing to ship: its shipping is refunded too, through the order's payment.
    assert (refund["shipping"], refund["amount"], money["displayFinancialStatus"]) == ("15.00", "514.00", "REFUNDED")
    assert "Backorder Desk" in refund["note"]
    assert refund_calls(fake_shopify) == 1
    # The oversold unit is released (-1 -> 0), and no unit that does not exist is put on the shelf.
    assert fake_shopify.available(SHOP, store[SHOP]["desk"]) == 0

    [choice] = choices(runtime)
    assert (choice.choice, choice.status, choice.refund_reference) == ("refund", "refunded", refund["id"])
    assert backorder_now(runtime, backorder.id).status == "refunded"
    with runtime.db.session() as s:
        [note] = s.scalars(select(Notification).where(Notification.kind == "refund_confirmation")).all()
        assert note.backorder_id == backorder.id and note.idempotency_key.endswith(f":v{backorder.promise_version}")
    # The store's orders/updated (refund) is processed like any other update: the line stays refunded.
    fake_shopify.flush_webhooks()
    drain(runtime)
    assert backorder_now(runtime, backorder.id).status == "refunded"


def test_two_posts_at_once_refund_once(runtime, fake_shopify, store):
    order, backorder = place(runtime, fake_shopify, store, [("desk", 1)])
    page = open_link(fake_shopify, links_for(runtime, backorder)["refund"])
    start = threading.Barrier(2)
    answers = []

    def click():
        start.wait()
        answers.append(shown(press(fake_shopify, page)))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 2 and all(("refund is on its way" in a or "being processed" in a) for a in answers)
    assert len(order_money(fake_shopify, SHOP, order["id"])["refunds"]) == 1 and refund_calls(fake_shopify) == 1
    [choice] = choices(runtime)
    assert choice.status == "refunded"


def test_refund_of_part_of_an_order_keeps_the_shipping(runtime, fake_shopify, store):
    # 3 lamps with 2 in stock (1 backordered) and a rug: the rest of the order still ships.
    order, backorder = place(runtime, fake_shopify, store, [("lamp", 3), ("rug", 1)], shipping="15.00")
    assert backorder.quantity == 1
    done = press(fake_shopify, open_link(fake_shopify, links_for(runtime, backorder)["refund"]))
    assert "Your refund is on its way" in shown(done)
    [refund] = order_money(fake_shopify, SHOP, order["id"])["refunds"]
    assert refund["lines"][0]["quantity"] == 1 and (refund["shipping"], refund["amount"]) == ("0.00", "79.00")
    lamp_line = fake_shopify.order(SHOP, order["id"])["lineItems"][0]
    assert (lamp_line["quantity"], lamp_line["currentQuantity"]) == (3, 2)
    assert order_money(fake_shopify, SHOP, order["id"])["displayFinancialStatus"] == "PARTIALLY_REFUNDED"


def test_approval_mode_queues_the_request_until_the_merchant_approves(runtime, fake_shopify, store):
    with runtime.db.session() as s:
        s.execute(update(Shop).where(Shop.domain == SHOP).values(settings={"require_refund_approval": True}))
    order, backorder = place(runtime, fake_shopify, store, [("desk", 1)])
    page = open_link(fake_shopify, links_for(runtime, backorder)["refund"])
    assert "The shop reviews refund requests" in shown(page)
    assert "Request received" in shown(press(fake_shopify, page))
    [choice] = choices(runtime)
    assert choice.status == "awaiting_approval" and refund_calls(fake_shopify) == 0
    shop = shop_row(runtime)
    [queued] = services.refund_requests(runtime, shop.id)
    assert (queued["choice_id"], queued["status"], queued["item"]) == (choice.id, "awaiting_approval", "Oak desk")

    assert services.approve_refund(runtime, shop.id, choice.id) == "refunded"
    assert len(order_money(fake_shopify, SHOP, order["id"])["refunds"]) == 1
    assert backorder_now(runtime, backorder.id).status == "refunded"
    with pytest.raises(services.ChoiceError):
        services.approve_refund(runtime, shop.id, choice.id)  # approving twice refunds nothing more
    assert refund_calls(fake_shopify) == 1 and services.refund_requests(runtime, shop.id) == []


def test_rejecting_a_request_leaves_the_line_waiting(runtime, fake_shopify, store):
    with runtime.db.session() as s:
        s.execute(update(Shop).where(Shop.domain == SHOP).values(settings={"require_refund_approval": "yes"}))
    order, backorder = place(runtime, fake_shopify, store, [("desk", 1)])
    links = links_for(runtime, backorder)
    press(fake_shopify, open_link(fake_shopify, links["refund"]))
    [choice] = choices(runtime)
    shop = shop_row(runtime)
    assert services.reject_refund(runtime, shop.id, choice.id, "made to order") == "rejected"
    assert choices(runtime)[0].error == "made to order" and backorder_now(runtime, backorder.id).status == "open"
    assert "The shop has reviewed your request" in shown(open_link(fake_shopify, links["refund"]))
    assert refund_calls(fake_shopify) == 0 and order_money(fake_shopify, SHOP, order["id"])["refunds"] == []


@pytest.mark.parametrize("spoil, heading", [
    ("tamper", "This link doesn't work"),
    ("expired", "This link has expired"),
    ("other_shop", "This link doesn't work"),
    ("wrong_line", "This link doesn't work"),
])
def test_bad_links_get_a_clear_page_and_change_nothing(runtime, fake_shopify, store, spoil, heading):
    order, backorder = place(runtime, fake_shopify, store, [("desk", 1)])
    shop = shop_row(runtime)
    token = token_of(links_for(runtime, backorder)["refund"])
    if spoil == "tamper":
        token = token[:-3] + ("abc" if not token.endswith("abc") else "xyz")
    elif spoil == "expired":
        token = make_token(runtime, shop.id, backorder.id, backorder.promise_version, "refund", expires_in_days=14,
                           now=time.time() - 15 * 86400)
    elif spoil == "other_shop":  # a genuine link of the rival shop, opened through this shop
        _rival_order, rival_backorder = place(runtime, fake_shopify, store, [("desk", 1)], domain=RIVAL)
        token = token_of(links_for(runtime, rival_backorder, RIVAL)["refund"])
    elif spoil == "wrong_line":  # signed by us, but for a line this shop does not have
        token = make_token(runtime, shop.id, backorder.id + 999, 1, "refund", expires_in_days=14)
    url = f"https://{SHOP}/apps/backorders/choice?t={token}"
    page = open_link(fake_shopify, url)
    assert page.status_code == 200 and heading in shown(page) and "<form" not in shown(page)
    # Posting it anyway (with a nonce from a genuine page) changes nothing either.
    genuine = form_of(open_link(fake_shopify, links_for(runtime, backorder)["refund"]))
    posted = post_form(fake_shopify, {"t": token, "n": genuine["n"]})
    assert heading in shown(posted)
    assert choices(runtime) == [] and refund_calls(fake_shopify) == 0
    assert order_money(fake_shopify, SHOP, order["id"])["refunds"] == []


def test_a_post_without_a_fresh_form_nonce_only_asks_again(runtime, fake_shopify, store):
    _order, backorder = place(runtime, fake_shopify, store, [("desk", 1)])
    token = token_of(links_for(runtime, backorder)["refund"])
    for nonce in ("", "forged", form_nonce_for_other_link(runtime)):
        answer = post_form(fake_shopify, {"t": token, "n": nonce})
        assert "Please confirm your choice again" in shown(answer) and "<form" in shown(answer)
    assert choices(runtime) == [] and refund_calls(fake_shopify) == 0


def form_nonce_for_other_link(runtime) -> str:
    from plugin.choices.forms import form_nonce

    return form_nonce(runtime, "another-links-jti", None)


def test_a_line_no_longer_waiting_cannot_be_changed(runtime, fake_shopify, store):
    order, backorder = place(runtime, fake_shopify, store, [("desk", 1)])
    links = links_for(runtime, backorder)
    page = open_link(fake_shopify, links["refund"])
    with runtime.db.session() as s:
        s.execute(update(Backorder).where(Backorder.id == backorder.id).values(status="shipped"))
    answer = press(fake_shopify, page)
    assert "This item can no longer be changed" in shown(answer) and "already been sent" in shown(answer)
    assert choices(runtime) == [] and refund_calls(fake_shopify) == 0


def test_a_refund_the_store_refuses_fails_and_the_shop_follows_up(runtime, fake_shopify, store):
    order, backorder = place(runtime, fake_shopify, store, [("desk", 1)])
    page = open_link(fake_shopify, links_for(runtime, backorder)["refund"])
    fake_shopify.hold_webhooks = True  # the merchant cancels it in Shopify; the app has not heard yet
    fake_shopify.cancel_order(SHOP, order["id"])
    answer = press(fake_shopify, page)
    assert "We couldn't refund this automatically" in shown(answer) and "will get in touch" in shown(answer)
    [choice] = choices(runtime)
    assert choice.status == "failed" and "can still be refunded" in choice.error
    assert backorder_now(runtime, backorder.id).status == "open" and refund_calls(fake_shopify) == 0
    [queued] = services.refund_requests(runtime, shop_row(runtime).id)
    assert queued["status"] == "failed"


def test_a_crash_after_the_refund_is_finished_without_refunding_again(runtime, fake_shopify, store, monkeypatch):
    order, backorder = place(runtime, fake_shopify, store, [("desk", 1)])
    page = open_link(fake_shopify, links_for(runtime, backorder)["refund"])

    def crash(*_args, **_kwargs):
        raise RuntimeError("killed before recording the refund")

    real = services._mark_refunded
    monkeypatch.setattr(services, "_mark_refunded", crash)
    assert "Your refund is being processed" in shown(press(fake_shopify, page))
    assert choices(runtime)[0].status == "refunding" and len(order_money(fake_shopify, SHOP, order["id"])["refunds"]) == 1
    monkeypatch.setattr(services, "_mark_refunded", real)
    assert "Your refund is being processed" in shown(press(fake_shopify, page))  # the guard: no second attempt
    assert refund_calls(fake_shopify) == 1

    assert services.resume_refunds(runtime, older_than=timedelta(0)) == 1
    [choice] = choices(runtime)
    money = order_money(fake_shopify, SHOP, order["id"])
    assert choice.status == "refunded" and choice.refund_reference == money["refunds"][0]["id"]
    assert len(money["refunds"]) == 1 and refund_calls(fake_shopify) == 1  # found by its note, not sent again
    assert services.resume_refunds(runtime, older_than=timedelta(0)) == 0


def test_shopify_unreachable_leaves_the_refund_to_resume(runtime, fake_shopify, store, monkeypatch):
    order, backorder = place(runtime, fake_shopify, store, [("desk", 1)])
    page = open_link(fake_shopify, links_for(runtime, backorder)["refund"])
    connector, make_client = runtime.connector("shopify"), runtime.connector("shopify").graphql

    def without_waiting(shop):  # the client's retries and backoff as they are, minus the sleeping
        client = make_client(shop)
        client.sleep = lambda _seconds: None
        return client

    monkeypatch.setattr(connector, "graphql", without_waiting)
    fake_shopify.fail_next(6, status=503)  # every attempt of the client's first call
    assert "Your refund is being processed" in shown(press(fake_shopify, page))
    [choice] = choices(runtime)
    assert choice.status == "refunding" and choice.error.startswith("will retry")
    assert services.resume_refunds(runtime, older_than=timedelta(0)) == 1
    assert choices(runtime)[0].status == "refunded"
    assert len(order_money(fake_shopify, SHOP, order["id"])["refunds"]) == 1


def test_polish_customers_get_the_page_in_polish(runtime, fake_shopify, store):
    _order, backorder = place(runtime, fake_shopify, store, [("desk", 1)], locale="pl-PL")
    page = open_link(fake_shopify, links_for(runtime, backorder)["keep"])
    assert 'lang="pl"' in shown(page) and "Czy chcesz poczekać na produkt?" in shown(page)
    assert format_date(backorder.current_eta, format="long", locale="pl") in shown(page)
    assert "Tak, poczekam" in shown(page)
    assert "Dziękujemy za cierpliwość" in shown(press(fake_shopify, page))


def test_item_names_cannot_inject_liquid(runtime, fake_shopify, store):
    _order, backorder = place(runtime, fake_shopify, store, [("desk", 1)])
    with runtime.db.session() as s:
        s.get(Backorder, backorder.id).line.title = "{{ customer.email }} <b>{% raw %}"
    page = open_link(fake_shopify, links_for(runtime, backorder)["keep"])
    assert "{{" not in page.text and "{%" not in page.text and "<b>" not in page.text
    assert "&#123;&#123; customer.email &#125;&#125; &lt;b&gt;" in page.text
    # What Shopify does with it: render it as Liquid, which shows the name exactly as typed.
    rendered = Environment().from_string(page.text).render()
    assert rendered == page.text and "{{ customer.email }} <b>{% raw %}" in html_lib.unescape(rendered)


def test_the_apps_own_page_serves_the_same_choice(runtime, fake_shopify, store, client):
    order, backorder = place(runtime, fake_shopify, store, [("desk", 1)])
    token = token_of(links_for(runtime, backorder)["refund"])
    page = client.get(f"/choice?t={token}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    body = page.get_data(as_text=True)
    assert body.startswith("<!doctype html>") and "Cancel this item and get a refund?" in body
    fields = dict(re.findall(r'<input type="hidden" name="(\w)" value="([^"]*)">', body))
    assert 'action="/choice"' in body and choices(runtime) == []
    done = client.post("/choice", data={k: html_lib.unescape(v) for k, v in fields.items()})
    assert done.status_code == 200 and "Your refund is on its way" in done.get_data(as_text=True)
    assert len(order_money(fake_shopify, SHOP, order["id"])["refunds"]) == 1
    assert client.get("/choice?t=nonsense").status_code == 404
    assert client.post(f"/choice?t={token}").status_code == 404  # a token in the query, no form: nothing happens
    assert refund_calls(fake_shopify) == 1


def test_unsigned_proxy_requests_are_refused(runtime, fake_shopify, store):
    _order, backorder = place(runtime, fake_shopify, store, [("desk", 1)])
    url = links_for(runtime, backorder)["refund"]
    assert open_link(fake_shopify, url, secret="not-the-app-secret").status_code == 401
    assert open_link(fake_shopify, url, timestamp=int(time.time()) - 3600).status_code == 401
    assert choices(runtime) == []
