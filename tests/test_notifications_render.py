"""Email rendering: both parts, English and Polish, inlined CSS, escaping, the shop's look and texts."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from datetime import date
from types import SimpleNamespace

import pytest

from plugin.db.models import Shop
from plugin.notifications import kinds
from plugin.locales import choose_locale
from plugin.notifications.catalog import CATALOGUES, placeholders
from plugin.notifications.contexts import message_context
from plugin.notifications.preview import preview, sample_context
from plugin.notifications.render import DEFAULT_BRAND_COLOR, render, text_on

TODAY = date(2026, 12, 1)
RUNTIME = SimpleNamespace(settings=SimpleNamespace(shopify_api_key="test-api-key", public_url="https://app.example.test"))


def make_shop(**settings) -> Shop:
    return Shop(id=7, platform="shopify", domain="linen-oak.myshopify.com", name="Linen & Oak", settings=settings)


def line(title="Oak desk", promised="2026-12-15", status="open", **dates) -> dict:
    return {"backorder_id": 1, "title": title, "sku": "DESK-OAK", "quantity": 2, "status": status,
            "promised": promised, "earliest": dates.get("earliest", "2026-12-10"),
            "likely": dates.get("likely", "2026-12-13"), "latest": dates.get("latest", "2026-12-18")}


def confirmation(shop: Shop, locale: str, lines: list[dict] | None = None) -> dict:
    context = message_context(shop, kinds.CONFIRMATION, locale)
    context.update(order={"id": 1, "name": "#1001"}, lines=lines or [line()],
                   links={"order": "https://linen-oak.myshopify.com/"})
    return context


def style_rules(html: str) -> str:
    return " ".join(re.findall(r"<style[^>]*>(.*?)</style>", html, flags=re.S))


# -- catalogues ---------------------------------------------------------------------------------

def test_every_language_has_the_same_keys_and_placeholders():
    english = CATALOGUES["en"]
    for locale, catalogue in CATALOGUES.items():
        assert set(catalogue) == set(english), locale
        for key, text in catalogue.items():
            assert placeholders(text) == placeholders(english[key]), (locale, key)
            assert text.strip(), (locale, key)


def test_every_kind_has_its_texts():
    for kind in kinds.ALL_KINDS:
        for part in ("subject", "heading", "intro"):
            assert f"{kind}.{part}" in CATALOGUES["en"]


@pytest.mark.parametrize("given, chosen", [("pl", "pl"), ("pl-PL", "pl"), ("pl_PL", "pl"), ("PL", "pl"),
                                           ("en-GB", "en"), ("de", "en"), (None, "en"), ("", "en")])
def test_the_customer_locale_chooses_the_language(given, chosen):
    assert choose_locale(given) == chosen


# -- rendering ----------------------------------------------------------------------------------

@pytest.mark.parametrize("locale", ["en", "pl"])
@pytest.mark.parametrize("kind", kinds.ALL_KINDS)
def test_every_kind_renders_both_parts_in_both_languages(kind, locale):
    rendered = render(sample_context(RUNTIME, make_shop(), kind, locale, TODAY), customer_name="Anna")
    assert rendered.subject and "\n" not in rendered.subject
    assert rendered.text.strip() and "<" not in rendered.text.replace("Linen & Oak", "")
    assert rendered.html.startswith("<!DOCTYPE html>") and f'lang="{locale}"' in rendered.html
    heading = CATALOGUES[locale][f"{kind}.heading"]
    assert heading in rendered.text
    assert heading in rendered.html.replace("&amp;", "&")
    assert "Linen &amp; Oak" in rendered.html and "Linen & Oak" in rendered.text


def test_english_confirmation_lists_items_with_their_dates():
    rendered = render(confirmation(make_shop(), "en"), customer_name="Jon Snow")
    assert rendered.subject == "Order #1001: some items are on backorder"
    for part in (rendered.text, rendered.html):
        assert "Hello Jon Snow," in part
        assert "Oak desk" in part and "Quantity: 2" in part
        assert "Estimated ship date: December 15, 2026" in part
        assert "Most likely between December 10, 2026 and December 18, 2026" in part
        assert "cancel these items" in part
        assert "https://linen-oak.myshopify.com/" in part


def test_polish_confirmation_is_polish_with_polish_dates():
    rendered = render(confirmation(make_shop(), "pl"), customer_name="Anna Kowalska")
    assert rendered.subject == "Zamówienie #1001: część produktów jest na zamówienie"
    for part in (rendered.text, rendered.html):
        assert "Dzień dobry Anna Kowalska," in part
        assert "Przewidywana data wysyłki: 15 grudnia 2026" in part
        assert "Najprawdopodobniej między 10 grudnia 2026 a 18 grudnia 2026" in part
        assert "Ilość: 2" in part
        assert "December" not in part and "Quantity" not in part


def test_polish_delay_shows_old_and_new_dates():
    context = sample_context(RUNTIME, make_shop(), kinds.DELAY, "pl", TODAY)
    context["change"] = {"old_date": "2026-12-15", "new_date": "2027-01-08", "promise_version": 2}
    rendered = render(context)
    assert "Poprzedni termin: 15 grudnia 2026" in rendered.text
    assert "Nowy termin: 8 stycznia 2027" in rendered.text
    assert "Przepraszamy za oczekiwanie" in rendered.html
    assert "Dzień dobry," in rendered.text  # no name: a greeting without one


def test_a_line_covered_by_stock_says_it_ships_soon():
    rendered = render(confirmation(make_shop(), "en", [line(status="ready")]))
    assert "In stock now: ships soon" in rendered.text and "Estimated ship date" not in rendered.text


def test_a_line_without_a_date_yet_says_so():
    rendered = render(confirmation(make_shop(), "en", [line(promised=None, earliest=None, latest=None)]))
    assert "We will tell you the ship date as soon as we know it." in rendered.text


def test_css_is_inlined_into_style_attributes():
    rendered = render(confirmation(make_shop(brand_color="#aa2200"), "en"))
    html = rendered.html
    # The layout lives in style attributes; only the small-screen @media rules stay in <style>.
    assert re.search(r'<td class="header"[^>]*style="[^"]*background-color: #aa2200', html)
    assert re.search(r'<td class="content"[^>]*style="[^"]*padding: 28px', html)
    assert re.search(r'<a class="button button-secondary"[^>]*style="[^"]*border: 2px solid #aa2200', html)
    assert re.search(r'<body style="[^"]*font-family', html)
    rules = style_rules(html)
    assert rules.strip().startswith("@media") and ".header {" not in rules and "font-family" not in rules
    for tag in re.findall(r"<(?:td|table|p|h1|a|div|span)\b[^>]*>", html):
        if "class=" in tag:
            assert "style=" in tag, tag


def test_product_titles_and_shop_names_are_escaped():
    shop = make_shop(logo_url="https://cdn.example.test/logo.png?a=1&b=2")
    shop.name = 'Evil "<b>Shop</b>'
    title = "<script>alert('x')</script> Desk"
    rendered = render(confirmation(shop, "en", [line(title=title)]))
    parsed = Elements()
    parsed.feed(rendered.html)
    # They are text, never markup: no such elements, and the reader sees them as written.
    assert "script" not in parsed.tags and "b" not in parsed.tags
    assert title in parsed.text and 'Evil "<b>Shop</b>' in parsed.text
    assert "&lt;script&gt;alert('x')&lt;/script&gt; Desk" in rendered.html
    assert parsed.attributes["img"]["alt"] == 'Evil "<b>Shop</b>'
    assert parsed.attributes["img"]["src"] == "https://cdn.example.test/logo.png?a=1&b=2"
    # Plain text is not HTML: it says the title as it is.
    assert title in rendered.text


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: dict[str, dict] = {}
        self.text = ""

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes[tag] = dict(attrs)

    def handle_data(self, data):
        self.text += data


def test_a_bad_brand_colour_or_logo_url_falls_back_to_safe_defaults():
    shop = make_shop(brand_color="red;} body{display:none", logo_url="javascript:alert(1)")
    html = render(confirmation(shop, "en")).html
    assert f"background-color: {DEFAULT_BRAND_COLOR}" in html
    assert "display:none" not in html.replace("display: none", "") and "javascript:" not in html
    assert '<span class="shop-name"' in html and "<img" not in html


def test_links_other_than_http_are_dropped():
    context = confirmation(make_shop(), "en")
    context["links"] = {"order": "javascript:alert(1)"}
    rendered = render(context)
    assert "javascript:" not in rendered.html and "View your order" not in rendered.text


def test_button_text_contrasts_with_the_brand_colour():
    assert text_on("#ffffff") == "#1f2421"
    assert text_on("#ffe066") == "#1f2421"
    assert text_on("#2f5d50") == "#ffffff"
    assert text_on("#000") == "#ffffff"


def test_subject_and_intro_overrides_per_kind_and_language():
    shop = make_shop(email_texts={"confirmation": {"pl": {
        "subject": "{shop_name}: {order_name} <czeka>", "intro": "Dziękujemy!\n\nDrugi akapit: {item}."}}})
    rendered = render(confirmation(shop, "pl"))
    assert rendered.subject == "Linen & Oak: #1001 <czeka>"
    assert "<title>Linen &amp; Oak: #1001 &lt;czeka&gt;</title>" in rendered.html
    assert "<p>Dziękujemy!</p>" in re.sub(r' style="[^"]*"', "", rendered.html)
    assert "Drugi akapit: Oak desk." in rendered.text
    assert CATALOGUES["pl"]["confirmation.intro"] not in rendered.text
    # English customers of the same shop still get the catalogue's texts.
    english = render(confirmation(shop, "en"))
    assert english.subject == "Order #1001: some items are on backorder"


def test_an_unknown_placeholder_in_an_override_is_left_as_written():
    shop = make_shop(email_texts={"confirmation": {"en": {"subject": "Order {order_name} {oops} {0.__class__}"}}})
    assert render(confirmation(shop, "en")).subject == "Order #1001 {oops} {0.__class__}"


def test_refund_offer_carries_both_links_and_the_expiry():
    rendered = render(sample_context(RUNTIME, make_shop(require_refund_approval=True), kinds.REFUND_OFFER, "en",
                                     TODAY))
    assert "Keep waiting" in rendered.html and "Cancel and refund" in rendered.html
    assert "#keep-waiting" in rendered.text and "#cancel-and-refund" in rendered.text
    assert "These links work once, until December 15, 2026." in rendered.text  # 14 days by default
    assert "Our team confirms each refund request" in rendered.text


def test_shipped_shows_tracking_when_known():
    rendered = render(sample_context(RUNTIME, make_shop(), kinds.SHIPPED, "pl", TODAY))
    assert "Numer przesyłki: JD014600006281930270" in rendered.text
    assert "Śledź przesyłkę" in rendered.html


# -- preview (reads the shop from the database) ---------------------------------------------------

@pytest.fixture
def shop_id(runtime):
    with runtime.db.session() as session:
        shop = Shop(platform="shopify", domain="preview.myshopify.com", name="Preview Shop", status="installed",
                    settings={"brand_color": "#123456",
                              "email_texts": {"delay": {"en": {"subject": "Sorry, {order_name} moved",
                                                               "intro": "Our own words."}}}})
        session.add(shop)
        session.flush()
        return shop.id


@pytest.mark.parametrize("kind", kinds.ALL_KINDS)
def test_preview_renders_every_kind_with_sample_data(runtime, shop_id, kind):
    for locale in ("en", "pl-PL"):
        rendered = preview(runtime, shop_id, kind, locale)
        assert rendered.subject and rendered.text and rendered.html
        assert "Preview Shop" in rendered.text and "#123456" in rendered.html


def test_preview_shows_the_shops_own_texts(runtime, shop_id):
    rendered = preview(runtime, shop_id, kinds.DELAY, "en", today=TODAY)
    assert rendered.subject == "Sorry, #1001 moved"
    assert "Our own words." in rendered.text
    assert "Previous date: December 13, 2026" in rendered.text
    polish = preview(runtime, shop_id, kinds.DELAY, "pl", today=TODAY)
    assert polish.subject == "Zamówienie #1001: nowy termin wysyłki"
    assert "Poprzedni termin: 13 grudnia 2026" in polish.text


def test_preview_refuses_an_unknown_kind(runtime, shop_id):
    with pytest.raises(ValueError):
        preview(runtime, shop_id, "newsletter", "en")
