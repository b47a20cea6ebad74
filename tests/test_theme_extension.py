"""The Shopify theme app extension (connectors/shopify/extension): what a shopper sees and adds.

The Liquid is rendered with python-liquid plus Shopify's tags and filters (tests/support/
liquid_shopify.py) against product, variant and metafield objects shaped like Shopify's. Then a
real headless Chromium (Debian's, driven by Playwright) loads a minimal product page built from
that output, switches variants, and submits the add-to-cart form, with every request answered by
the test itself: the storefront never calls Backorder Desk's server.
"""
from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import json
import re
import tomllib
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from liquid import Environment

from tests.support.liquid_shopify import (
    ASSET_BASE_URL,
    EXTENSION_DIR,
    REPO,
    Metafield,
    ShopifyEnvironment,
    block_schema,
    data_of,
    json_filter,
    make_block,
    make_product,
    make_request,
    make_variant,
    ruby_strftime,
    visible_text,
)

NOW = dt.datetime(2026, 12, 1, 14, 0)  # the shop's clock while these tests run
MANIFEST = json.loads((REPO / "manifest.json").read_text(encoding="utf-8"))
PROPERTY_NAME = MANIFEST["shopify"]["line_item_property"]

ETA_OAK_160 = {"promise": "2026-12-15", "earliest": "2026-12-10", "likely": "2026-12-12",
               "latest": "2026-12-22", "label": "Ships by 15 Dec 2026", "updated_at": "2026-12-01T14:00:00Z"}
ETA_WALNUT_160 = {"promise": "2027-01-20", "earliest": "2027-01-12", "likely": "2027-01-16",
                  "latest": "2027-01-27", "label": "Ships by 20 Jan 2027", "updated_at": "2026-12-01T14:00:00Z"}

OAK_120, OAK_160, WALNUT_160, WALNUT_120 = 45678901234501, 45678901234502, 45678901234503, 45678901234504


def desk(*, variant_param: int | None = None) -> dict:
    """A product with every case side by side."""
    return make_product(8123456789012, "Standing desk", [
        # In stock (sold beyond stock too, but there is stock): nothing to say.
        make_variant(OAK_120, "Oak / 120 cm", quantity=3, policy="continue"),
        # Out of stock, sold anyway, with the app's ETA: on backorder.
        make_variant(OAK_160, "Oak / 160 cm", quantity=0, policy="continue", eta=ETA_OAK_160),
        # Oversold already (negative stock), later date.
        make_variant(WALNUT_160, "Walnut / 160 cm", quantity=-2, policy="continue", eta=ETA_WALNUT_160),
        # Sold out and not sold beyond stock: unavailable, never on backorder.
        make_variant(WALNUT_120, "Walnut / 120 cm", quantity=0, policy="deny"),
    ], variant_param=variant_param)


@pytest.fixture(scope="module")
def liquid() -> ShopifyEnvironment:
    return ShopifyEnvironment(now=NOW)


def block_html(liquid, product, *, locale="en", show_range=False) -> str:
    return liquid.render_block("backorder_eta", product=product, request=make_request(locale),
                               block=make_block(show_range=show_range))


def embed_html(liquid, product, *, locale="en", page_type="product") -> str:
    return liquid.render_block("backorder_embed", product=product, request=make_request(locale, page_type=page_type),
                               block=make_block("backorder_embed_XyZ789"))


def one_variant(**kwargs) -> dict:
    return make_product(8123456789012, "Standing desk", [make_variant(OAK_160, "Oak / 160 cm", **kwargs)])


# --- the extension as Shopify CLI deploys it -------------------------------------------------------

def test_extension_has_the_layout_shopify_cli_deploys():
    config = tomllib.loads((EXTENSION_DIR / "shopify.extension.toml").read_text(encoding="utf-8"))
    assert config["type"] == "theme"
    assert config["name"]
    allowed = {"assets": {".js", ".css", ".svg", ".png", ".jpg", ".webp"}, "blocks": {".liquid"},
               "snippets": {".liquid"}, "locales": {".json"}}
    for path in EXTENSION_DIR.rglob("*"):
        relative = path.relative_to(EXTENSION_DIR)
        if path.is_dir():
            assert len(relative.parts) == 1 and relative.parts[0] in allowed, relative
        elif len(relative.parts) == 1:
            assert relative.name == "shopify.extension.toml", relative
        else:
            assert len(relative.parts) == 2 and path.suffix in allowed[relative.parts[0]], relative


def test_block_schemas_target_the_product_section_and_the_body():
    block = block_schema(EXTENSION_DIR / "blocks" / "backorder_eta.liquid")
    assert block["target"] == "section"
    assert block["enabled_on"] == {"templates": ["product"]}
    assert [(s["id"], s["type"], s["default"]) for s in block["settings"]] == [("show_range", "checkbox", False)]

    embed = block_schema(EXTENSION_DIR / "blocks" / "backorder_embed.liquid")
    assert embed["target"] == "body"


def _schema_keys(value) -> list[str]:
    if isinstance(value, str):
        return [value[2:]] if value.startswith("t:") else []
    if isinstance(value, dict):
        return [k for v in value.values() for k in _schema_keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in _schema_keys(v)]
    return []


def test_theme_editor_texts_exist_in_english_and_polish():
    keys = [key for path in sorted((EXTENSION_DIR / "blocks").glob("*.liquid"))
            for key in _schema_keys(block_schema(path))]
    assert keys
    for name in ("en.default.schema.json", "pl.schema.json"):
        texts = json.loads((EXTENSION_DIR / "locales" / name).read_text(encoding="utf-8"))
        for key in keys:
            node = texts
            for part in key.split("."):
                node = node[part]
            assert isinstance(node, str) and node, (name, key)
    # Shopify's limit for a block's name in the theme editor.
    english = json.loads((EXTENSION_DIR / "locales" / "en.default.schema.json").read_text(encoding="utf-8"))
    assert all(len(block["name"]) <= 25 for block in english["blocks"].values())


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def test_storefront_texts_match_in_both_languages_and_the_manifest():
    english = _flatten(json.loads((EXTENSION_DIR / "locales" / "en.default.json").read_text(encoding="utf-8")))
    polish = _flatten(json.loads((EXTENSION_DIR / "locales" / "pl.json").read_text(encoding="utf-8")))
    assert english.keys() == polish.keys()
    for key in english:
        assert re.findall(r"{{\s*(\w+)\s*}}", english[key]) == re.findall(r"{{\s*(\w+)\s*}}", polish[key]), key
    assert len(english["backorder_eta.months"].split("|")) == len(polish["backorder_eta.months"].split("|")) == 12
    # One name for the property, declared once in manifest.json.
    assert english["backorder_eta.line_item_property"] == PROPERTY_NAME["en"]
    assert polish["backorder_eta.line_item_property"] == PROPERTY_NAME["pl"]


def test_the_extension_uses_only_standard_liquid_and_the_shopify_parts_modelled_here(liquid):
    standard = Environment()
    shopify_filters = {"t", "asset_url", "json", "date"}
    shopify_tags = {"schema"}
    sources = sorted((EXTENSION_DIR / "blocks").glob("*.liquid")) + sorted((EXTENSION_DIR / "snippets").glob("*.liquid"))
    used_filters: set[str] = set()
    for path in sources:
        analysis = liquid.from_string(path.read_text(encoding="utf-8")).analyze(include_partials=False)
        used_filters |= set(analysis.filters)
        assert set(analysis.tags) <= set(standard.tags) | shopify_tags, path.name
        unknown = set(analysis.filters) - set(standard.filters) - shopify_filters
        assert not unknown, (path.name, unknown)
    assert shopify_filters <= used_filters  # each modelled filter is exercised by the templates


def test_snippets_read_only_their_parameters_as_render_isolates_them(liquid):
    # Inside {% render %} a snippet sees its arguments and Shopify's global objects, nothing else.
    expected = {"backorder-eta-date": {"iso"}, "backorder-eta-message": {"variant", "show_range"},
                "backorder-eta-data": {"product", "show_range"}}
    for name, parameters in expected.items():
        assert set(liquid.get_template(name).analyze(include_partials=False).globals) <= parameters | {"request"}, name


def test_the_metafield_is_read_through_the_app_reserved_namespace(liquid):
    message = (EXTENSION_DIR / "snippets" / "backorder-eta-message.liquid").read_text(encoding="utf-8")
    assert "variant.metafields['$app'].backorder_eta.value" in message
    assert MANIFEST["shopify"]["variant_metafield"] == {"namespace": "$app", "key": "backorder_eta", "type": "json"}
    # The same value under any other namespace is not ours and shows nothing.
    for namespace in ("app", "custom", "backorder_desk"):
        product = one_variant(quantity=0, policy="continue",
                              metafields={namespace: {"backorder_eta": Metafield("json", ETA_OAK_160)}})
        assert block_html(liquid, product).strip() == ""


# --- the app block: what a shopper reads ---------------------------------------------------------------

def test_in_stock_product_shows_nothing_and_ships_no_markup(liquid):
    product = make_product(1, "Lamp", [make_variant(11, "Small", quantity=4), make_variant(12, "Large", quantity=9)])
    assert block_html(liquid, product).strip() == ""
    assert embed_html(liquid, product).strip() == ""


def test_out_of_stock_variant_without_the_metafield_shows_nothing(liquid):
    assert block_html(liquid, one_variant(quantity=0, policy="continue")).strip() == ""


def test_metafield_left_on_a_variant_that_is_not_on_backorder_shows_nothing(liquid):
    cases = {
        "back in stock": dict(quantity=5, policy="continue"),
        "not sold beyond stock": dict(quantity=0, policy="deny"),
        "stock not tracked": dict(quantity=0, policy="continue", tracked=False),
    }
    for case, kwargs in cases.items():
        assert block_html(liquid, one_variant(eta=ETA_OAK_160, **kwargs)).strip() == "", case


def test_backordered_variant_shows_the_promised_date(liquid):
    html = block_html(liquid, one_variant(quantity=0, policy="continue", eta=ETA_OAK_160))
    assert visible_text(html) == "Available on backorder — ships by 15 December 2026"
    assert "translation missing" not in html


def test_polish_shopper_reads_polish_with_the_month_in_the_genitive(liquid):
    product = one_variant(quantity=-1, policy="continue", eta=ETA_OAK_160)
    assert visible_text(block_html(liquid, product, locale="pl")) == "Dostępne na zamówienie — wysyłka do 15 grudnia 2026"
    # Shopify gives regional locales as "pl-PL": the Polish file still applies.
    assert visible_text(block_html(liquid, product, locale="pl-PL")) == "Dostępne na zamówienie — wysyłka do 15 grudnia 2026"
    # A language the extension has no file for falls back to the default, English.
    assert visible_text(block_html(liquid, product, locale="de")) == "Available on backorder — ships by 15 December 2026"


def test_range_setting_shows_earliest_and_latest(liquid):
    product = one_variant(quantity=0, policy="continue", eta=ETA_OAK_160)
    assert visible_text(block_html(liquid, product, show_range=True)) == \
        "Available on backorder — ships between 10 December 2026 and 22 December 2026"
    assert visible_text(block_html(liquid, product, locale="pl", show_range=True)) == \
        "Dostępne na zamówienie — wysyłka między 10 grudnia 2026 a 22 grudnia 2026"


def test_range_setting_falls_back_to_the_promise_without_a_range(liquid):
    one_day = {**ETA_OAK_160, "earliest": "2026-12-15", "latest": "2026-12-15"}
    no_range = {k: v for k, v in ETA_OAK_160.items() if k not in ("earliest", "latest")}
    for eta in (one_day, no_range):
        product = one_variant(quantity=0, policy="continue", eta=eta)
        assert visible_text(block_html(liquid, product, show_range=True)) == \
            "Available on backorder — ships by 15 December 2026"


def test_several_variants_the_selected_one_is_shown_and_every_one_travels_with_the_page(liquid):
    # No ?variant=: Shopify selects the first available variant, in stock: nothing visible yet.
    html = block_html(liquid, desk())
    assert visible_text(html) == ""
    assert 'data-backorder-eta-message hidden' in html
    (data,) = data_of(html)
    assert data["selected"] == OAK_120
    assert data["variant_ids"] == [OAK_120, OAK_160, WALNUT_160, WALNUT_120]
    assert data["variants"] == {
        str(OAK_160): {"promise": "2026-12-15", "date": "15 December 2026",
                       "message": "Available on backorder — ships by 15 December 2026"},
        str(WALNUT_160): {"promise": "2027-01-20", "date": "20 January 2027",
                          "message": "Available on backorder — ships by 20 January 2027"},
    }
    assert data["property"] == {"name": "Estimated ship date", "hidden": "_backorder_eta"}

    # ?variant= names a backordered variant: its message is rendered by Shopify, no JS needed.
    assert visible_text(block_html(liquid, desk(variant_param=WALNUT_160))) == \
        "Available on backorder — ships by 20 January 2027"
    # A variant of another product in ?variant= is ignored, as Shopify does.
    assert visible_text(block_html(liquid, desk(variant_param=999))) == ""


def test_the_range_setting_also_shapes_the_messages_the_script_switches_to(liquid):
    (data,) = data_of(block_html(liquid, desk(), locale="pl", show_range=True))
    assert data["variants"][str(WALNUT_160)]["message"] == \
        "Dostępne na zamówienie — wysyłka między 12 stycznia 2027 a 27 stycznia 2027"
    assert data["variants"][str(WALNUT_160)]["date"] == "20 stycznia 2027"


def test_a_promise_already_past_is_not_shown(liquid):
    yesterday = {**ETA_OAK_160, "promise": "2026-11-30"}
    today = {**ETA_OAK_160, "promise": "2026-12-01"}
    assert block_html(liquid, one_variant(quantity=0, policy="continue", eta=yesterday)).strip() == ""
    assert visible_text(block_html(liquid, one_variant(quantity=0, policy="continue", eta=today))) == \
        "Available on backorder — ships by 1 December 2026"


def test_a_malformed_metafield_value_shows_nothing_rather_than_a_wrong_date(liquid):
    for promise in ("2026-13-01", "2026-12-32", "15/12/2026", "2026-12-5", "soon", "", None):
        eta = {**ETA_OAK_160, "promise": promise}
        assert block_html(liquid, one_variant(quantity=0, policy="continue", eta=eta)).strip() == "", promise
    assert block_html(liquid, one_variant(quantity=0, policy="continue", eta={})).strip() == ""


def test_every_month_is_named_in_both_languages(liquid):
    english, polish = [], []
    for month in range(1, 13):
        eta = {**ETA_OAK_160, "promise": f"2027-{month:02d}-09"}
        product = one_variant(quantity=0, policy="continue", eta=eta)
        english.append(visible_text(block_html(liquid, product)).rsplit("ships by ", 1)[1])
        polish.append(visible_text(block_html(liquid, product, locale="pl")).rsplit("wysyłka do ", 1)[1])
    assert english[0] == "9 January 2027" and english[11] == "9 December 2027"
    assert polish == [f"9 {m} 2027" for m in ("stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca",
                                             "sierpnia", "września", "października", "listopada", "grudnia")]


def test_assets_are_referenced_on_shopifys_cdn_and_stay_small(liquid):
    html = block_html(liquid, desk())
    assert f'<script src="{ASSET_BASE_URL}backorder-eta.js" defer></script>' in html
    assert f'<link rel="stylesheet" href="{ASSET_BASE_URL}backorder-eta.css">' in html
    # Theme Check's budget for an app block's JavaScript; the script loads deferred on every
    # product page that has the block or the embed.
    assert (EXTENSION_DIR / "assets" / "backorder-eta.js").stat().st_size < 10_000


# --- the app embed ---------------------------------------------------------------------------------

def test_embed_carries_the_property_name_and_dates_in_the_shoppers_language(liquid):
    html = embed_html(liquid, desk(), locale="pl")
    assert visible_text(html) == ""  # nothing to read: it only feeds the product form
    (data,) = data_of(html)
    assert data["property"] == {"name": "Przewidywana data wysyłki", "hidden": "_backorder_eta"}
    assert {k: (v["promise"], v["date"]) for k, v in data["variants"].items()} == {
        str(OAK_160): ("2026-12-15", "15 grudnia 2026"),
        str(WALNUT_160): ("2027-01-20", "20 stycznia 2027"),
    }
    assert f'<script src="{ASSET_BASE_URL}backorder-eta.js" defer></script>' in html


def test_embed_renders_nothing_outside_product_pages(liquid):
    assert embed_html(liquid, desk(), page_type="collection").strip() == ""
    assert liquid.render_block("backorder_embed", request=make_request("en", page_type="index")).strip() == ""


# --- the support itself: the Shopify parts behave as Shopify's do ----------------------------------------

def test_shopify_filters_modelled_as_shopify_has_them(liquid):
    assert json_filter({"a": "</script><b>&", "ł": "—"}) == '{"a":"\\u003c/script\\u003e\\u003cb\\u003e\\u0026","ł":"—"}'
    moment = dt.datetime(2027, 1, 5, 9, 7)
    assert ruby_strftime(moment, "%-d %B %Y, %e|%-m|%d|%^b|%H:%M") == "5 January 2027,  5|1|05|JAN|09:07"
    with pytest.raises(ValueError):
        ruby_strftime(moment, "%Q")
    render = lambda source, locale="en": liquid.from_string(source).render(request=make_request(locale))  # noqa: E731
    assert render("{{ 'now' | date: '%Y-%m-%d' }}") == "2026-12-01"
    assert render("{{ 'not a date' | date: '%Y' }}") == "not a date"
    assert render("{{ 'backorder_eta.nope' | t }}", "pl") == "translation missing: pl.backorder_eta.nope"
    assert render("{{ 'backorder_eta.ships_by' | t: date: '<b>' }}") == \
        "Available on backorder — ships by &lt;b&gt;"
    assert render("{% schema %}{\"name\": \"x\"}{% endschema %}") == ""
    with pytest.raises(ValueError):
        render("{{ 'no-such-file.js' | asset_url }}")


# --- in a real browser ---------------------------------------------------------------------------------

ARTIFACTS = REPO / "test-artifacts"
SHOP = "https://shop.test"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# A minimal theme: the product section with its add-to-cart form (as Shopify's {% form 'product' %}
# writes it) and the app block inside the section; app embeds go at the end of the body.
THEME_PAGE = """<!doctype html>
<html lang="{{ request.locale.iso_code }}">
<head>
  <meta charset="utf-8">
  <title>{{ product.title }}</title>
  <style>
    body { font-family: "DejaVu Sans", sans-serif; max-width: 34rem; margin: 2.5rem auto; padding: 0 1rem; color: #1d1d1f; }
    h1 { font-size: 1.6rem; margin-bottom: 0.25rem; }
    .price { margin-top: 0; color: #555; }
    form { display: grid; gap: 0.6rem; }
    select, input, button { font: inherit; padding: 0.45rem; }
    button { background: #1d1d1f; color: #fff; border: 0; cursor: pointer; }
  </style>
</head>
<body>
  <main>
    <section id="shopify-section-template--product__main" class="product">
      <h1>{{ product.title }}</h1>
      <p class="price">450.00 PLN</p>
      {{ theme_form }}
      {{ app_block }}
    </section>
  </main>
  {{ app_embed }}
  {{ theme_script }}
</body>
</html>
"""

# The classic form: a <select name="id"> of variants.
SELECT_FORM = """<form method="post" action="/cart/add" id="product-form-main" accept-charset="UTF-8" enctype="multipart/form-data" data-type="add-to-cart-form">
  <input type="hidden" name="form_type" value="product">
  <input type="hidden" name="utf8" value="✓">
  <label for="variant-select">Finish / width</label>
  <select name="id" id="variant-select">
    {%- for variant in product.variants %}
    <option value="{{ variant.id }}"{% if variant.id == product.selected_or_first_available_variant.id %} selected{% endif %}{% unless variant.available %} disabled{% endunless %}>{{ variant.title }}</option>
    {%- endfor %}
  </select>
  <label for="quantity">Quantity</label>
  <input type="number" id="quantity" name="quantity" value="1" min="1">
  <button type="submit" name="add">Add to cart</button>
</form>"""

# A theme in the style of today's Shopify themes: option radios, a hidden `id` input the theme
# sets without announcing it (after a moment, as if it fetched the variant), and an add to cart
# by fetch() with the form's FormData.
RADIO_FORM = """<form method="post" action="/cart/add" id="product-form-main" accept-charset="UTF-8" enctype="multipart/form-data">
  <input type="hidden" name="form_type" value="product">
  <input type="hidden" name="id" value="{{ product.selected_or_first_available_variant.id }}">
  <fieldset>
    {%- for variant in product.variants %}
    <label><input type="radio" name="variant-choice" value="{{ variant.id }}"{% if variant.id == product.selected_or_first_available_variant.id %} checked{% endif %}> {{ variant.title }}</label>
    {%- endfor %}
  </fieldset>
  <input type="hidden" name="quantity" value="1">
  <button type="submit">Add to cart</button>
</form>"""

RADIO_SCRIPT = """<script>
  document.querySelectorAll('input[name="variant-choice"]').forEach(function (radio) {
    radio.addEventListener('change', function () {
      setTimeout(function () { document.querySelector('#product-form-main input[name="id"]').value = radio.value; }, 50);
    });
  });
  document.querySelector('#product-form-main').addEventListener('submit', function (event) {
    event.preventDefault();
    fetch('/cart/add.js', { method: 'POST', body: new FormData(event.target) });
  });
</script>"""


def theme_page(liquid, product, *, locale="en", form=SELECT_FORM, script="", show_range=False) -> str:
    request = make_request(locale)
    objects = dict(product=product, request=request)
    return liquid.from_string(THEME_PAGE).render(
        **objects,
        theme_form=liquid.from_string(form).render(**objects),
        theme_script=script,
        app_block=liquid.render_block("backorder_eta", **objects, block=make_block(show_range=show_range)),
        app_embed=liquid.render_block("backorder_embed", **objects, block=make_block("backorder_embed_XyZ789")),
    )


def form_fields(request) -> list[tuple[str, str]]:
    """The fields of a urlencoded or multipart form post, in order."""
    body = request.post_data_buffer or b""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    return [(part.get_param("name", header="content-disposition"), part.get_content())
            for part in message.iter_parts()]


def properties(fields) -> dict[str, str]:
    return {name: value for name, value in fields if name.startswith("properties[")}


class Storefront:
    """One browser page on https://shop.test, every request answered here and recorded."""

    def __init__(self, browser, *, java_script_enabled=True):
        self.context = browser.new_context(java_script_enabled=java_script_enabled, locale="en-GB",
                                           viewport={"width": 760, "height": 620})
        self.page = self.context.new_page()
        self.pages: dict[str, str] = {}
        self.requests: list[str] = []
        self.cart_posts: list[list[tuple[str, str]]] = []
        self.context.route("**/*", self._answer)
        self.page.on("request", lambda request: self.requests.append(request.url))

    def _answer(self, route):
        request = route.request
        url = urlsplit(request.url)
        if request.url.startswith(ASSET_BASE_URL):
            path = EXTENSION_DIR / "assets" / request.url[len(ASSET_BASE_URL):].split("?")[0]
            kind = "text/javascript" if path.suffix == ".js" else "text/css"
            return route.fulfill(status=200, content_type=kind, body=path.read_bytes())
        if request.url.startswith(SHOP) and url.path in ("/cart/add", "/cart/add.js") and request.method == "POST":
            self.cart_posts.append(form_fields(request))
            if url.path.endswith(".js"):
                return route.fulfill(status=200, content_type="application/json", body="{}")
            return route.fulfill(status=200, content_type="text/html", body="<p>Added to cart</p>")
        if request.url.startswith(SHOP) and request.method == "GET" and url.path in self.pages:
            return route.fulfill(status=200, content_type="text/html; charset=utf-8", body=self.pages[url.path])
        return route.abort()

    def open(self, html: str, query: str = ""):
        self.pages["/products/desk"] = html
        self.page.goto(f"{SHOP}/products/desk{query}")

    def close(self):
        self.context.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def storefront(browser):
    store = Storefront(browser)
    yield store
    store.close()


def message(page):
    return page.locator("[data-backorder-eta-message]")


@pytest.mark.slow
def test_browser_switching_variants_updates_the_message_and_the_cart_properties(liquid, storefront):
    from playwright.sync_api import expect

    page = storefront.page
    storefront.open(theme_page(liquid, desk()))
    expect(message(page)).to_be_hidden()  # the in-stock variant is selected

    page.select_option("select[name=id]", str(OAK_160))
    expect(message(page)).to_be_visible()
    expect(message(page)).to_have_text("Available on backorder — ships by 15 December 2026")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "theme-extension-product-page.png"), full_page=True)

    page.select_option("select[name=id]", str(WALNUT_160))
    expect(message(page)).to_have_text("Available on backorder — ships by 20 January 2027")

    with page.expect_request(f"{SHOP}/cart/add"):
        page.click("button[name=add]")
    page.wait_for_load_state()
    posted = storefront.cart_posts[-1]
    assert ("id", str(WALNUT_160)) in posted
    assert properties(posted) == {"properties[Estimated ship date]": "20 January 2027",
                                  "properties[_backorder_eta]": "2027-01-20"}

    # Back on the page: a backordered variant, then an in-stock one; the properties go again.
    storefront.open(theme_page(liquid, desk()))
    page.select_option("select[name=id]", str(OAK_160))
    expect(message(page)).to_be_visible()
    page.select_option("select[name=id]", str(OAK_120))
    expect(message(page)).to_be_hidden()
    assert page.locator("#product-form-main input[data-backorder-eta-property]").count() == 0
    with page.expect_request(f"{SHOP}/cart/add"):
        page.click("button[name=add]")
    page.wait_for_load_state()
    posted = storefront.cart_posts[-1]
    assert ("id", str(OAK_120)) in posted
    assert properties(posted) == {}

    # Nothing but the page itself, the extension's assets from the CDN and the cart was requested.
    allowed = {f"{SHOP}/products/desk", f"{ASSET_BASE_URL}backorder-eta.js", f"{ASSET_BASE_URL}backorder-eta.css",
               f"{SHOP}/cart/add"}
    assert set(storefront.requests) <= allowed, set(storefront.requests) - allowed


@pytest.mark.slow
def test_browser_follows_the_themes_variant_events_and_the_url(liquid, storefront):
    from playwright.sync_api import expect

    page = storefront.page
    storefront.open(theme_page(liquid, desk()))
    expect(message(page)).to_be_hidden()

    # A theme announcing the variant with a (non-bubbling) variant:change event on its section.
    page.evaluate("""id => document.querySelector('section').dispatchEvent(
        new CustomEvent('variant:change', {detail: {variant: {id: id}}}))""", WALNUT_160)
    expect(message(page)).to_have_text("Available on backorder — ships by 20 January 2027")

    # A theme that only rewrites the URL, as Shopify themes do with ?variant=.
    page.evaluate("id => history.replaceState({}, '', '/products/desk?variant=' + id)", OAK_160)
    expect(message(page)).to_have_text("Available on backorder — ships by 15 December 2026")
    page.evaluate("id => history.pushState({}, '', '/products/desk?variant=' + id)", OAK_120)
    expect(message(page)).to_be_hidden()


@pytest.mark.slow
def test_browser_theme_with_a_silent_id_input_and_fetch_add_to_cart(liquid, storefront):
    from playwright.sync_api import expect

    page = storefront.page
    storefront.open(theme_page(liquid, desk(), form=RADIO_FORM, script=RADIO_SCRIPT, locale="pl"))
    page.check(f"input[name=variant-choice][value='{OAK_160}']")
    expect(message(page)).to_have_text("Dostępne na zamówienie — wysyłka do 15 grudnia 2026")

    with page.expect_request(f"{SHOP}/cart/add.js"):
        page.click("button[type=submit]")
    assert properties(storefront.cart_posts[-1]) == {"properties[Przewidywana data wysyłki]": "15 grudnia 2026",
                                                    "properties[_backorder_eta]": "2026-12-15"}

    page.check(f"input[name=variant-choice][value='{OAK_120}']")
    expect(message(page)).to_be_hidden()
    with page.expect_request(f"{SHOP}/cart/add.js"):
        page.click("button[type=submit]")
    posted = storefront.cart_posts[-1]
    assert ("id", str(OAK_120)) in posted and properties(posted) == {}


@pytest.mark.slow
def test_browser_without_javascript_still_reads_the_servers_text(liquid, browser):
    store = Storefront(browser, java_script_enabled=False)
    try:
        store.open(theme_page(liquid, desk(variant_param=OAK_160), locale="pl", show_range=True),
                   query=f"?variant={OAK_160}")
        assert store.page.inner_text("[data-backorder-eta-message]") == \
            "Dostępne na zamówienie — wysyłka między 10 grudnia 2026 a 22 grudnia 2026"
        ARTIFACTS.mkdir(exist_ok=True)
        store.page.screenshot(path=str(ARTIFACTS / "theme-extension-product-page-pl-no-js.png"), full_page=True)
    finally:
        store.close()
