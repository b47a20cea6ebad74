"""The merchant admin in a real browser: Debian's Chromium driven by Playwright, headless.

The real app (create_app on a runtime over a migrated SQLite database, the fake Shopify store on
the platform side) is served by werkzeug on 127.0.0.1 in a thread. Pages are opened as Shopify
admin frames them: GET /admin/...?embedded=1&shop=...&host=...&id_token=<session token>.

Shopify's CDN (App Bridge, Polaris) is unreachable here, and every test blocks it, so the pages
are checked as the issue requires them to be when those scripts cannot load. App Bridge's two
jobs for the app are played by the test instead, as App Bridge does them:

* fetches to /api/admin/* get `Authorization: Bearer <fresh session token>` (page.route);
* a document request without a token (a GET form, a link of the app's own) is bounced by the app
  to the session-token page (/auth/shopify/session-token?shopify-reload=<path>), where App Bridge
  gets a token and reloads <path> with `id_token`. Playwright cannot route a redirect's target,
  so the test's route sends such a request itself, checks that the app answered with that bounce,
  and answers the browser with the redirect App Bridge would make (<path> + a fresh `id_token`).

Each page's screenshot goes to test-artifacts/admin/<page>.png. Accessibility is checked on every
page: one h1 and a lang, every form control named (the aria snapshot), table headers with scope,
a visible focus ring for keyboard users, and a keyboard-only line action.
"""
from __future__ import annotations

import re
import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import select

from plugin.admin.layout import NAV
from plugin.db.migrate import upgrade
from plugin.db.models import Backorder, Shop, Supplier
from tests.flow_helpers import install_shop
from tests.shopify_helpers import app_home_query
from tests.test_admin_auth import add_line

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "admin"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOP = "browser-shop.myshopify.com"
TODAY = date.today()
# Roles of form controls in the aria snapshot; each must carry a name.
CONTROL_ROLES = ("textbox", "searchbox", "checkbox", "radio", "combobox", "listbox", "spinbutton", "slider",
                 "switch", "button")
# The admin's pages, as its navigation lists them: (nav key, path). A page whose route does not
# exist yet is skipped, not failed (the pages are being built one by one).
PAGES = tuple((key, path) for key, path, _label in NAV)


# -- the app, served ----------------------------------------------------------------------------------
class Site:
    """The running app: base URL, its runtime and fake Shopify, the seeded shop and its lines."""

    def __init__(self, base_url: str, app, runtime, fake_shopify, shop_id: int, lines: dict[str, int],
                 suppliers: dict[str, int]):
        self.base_url, self.app, self.runtime, self.fake = base_url, app, runtime, fake_shopify
        self.shop_id, self.lines, self.suppliers = shop_id, lines, suppliers

    def token(self, **kwargs) -> str:
        return self.fake.session_token(SHOP, **kwargs)

    def url(self, path: str, *, token: str | None = None, **params) -> str:
        """The URL Shopify admin frames: its context parameters and a fresh session token."""
        query = app_home_query(SHOP, self.token() if token is None else token)
        return f"{self.base_url}{path}?{query}" + (f"&{urlencode(params, doseq=True)}" if params else "")

    def has_page(self, path: str) -> bool:
        return any(rule.rule == path for rule in self.app.url_map.iter_rules())

    def backorder(self, backorder_id: int) -> Backorder:
        with self.runtime.db.session() as session:
            row = session.get(Backorder, backorder_id)
            session.expunge(row)
            return row


@pytest.fixture(scope="module")
def sqlite_migrated(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("admin-browser") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


def seed(runtime, shop_id: int) -> tuple[dict[str, int], dict[str, int]]:
    with runtime.db.shop_session(shop_id) as session:
        nordic = Supplier(shop_id=shop_id, name="Nordic Oak Works", lead_time_days=12)
        linen = Supplier(shop_id=shop_id, name="Linen & Light", lead_time_days=20, feed_kind="upload")
        session.add_all([nordic, linen])
        session.flush()
        suppliers = {"nordic": nordic.id, "linen": linen.id}
    now = datetime.now(timezone.utc)
    lines = {
        "oak": add_line(runtime, shop_id, order_name="#1001", sku="DESK-OAK", title="Oak desk", quantity=3,
                        promised=TODAY + timedelta(days=5), ordered_at=now - timedelta(days=40),
                        supplier_id=suppliers["nordic"], customer="Ada Lovelace"),
        "lamp": add_line(runtime, shop_id, order_name="#1002", sku="LAMP-LINEN-S", title="Linen lamp small",
                         promised=TODAY + timedelta(days=2), current=TODAY + timedelta(days=12),
                         ordered_at=now - timedelta(days=9), supplier_id=suppliers["linen"],
                         customer="Grace Hopper"),  # delayed: the ETA moved past the promise
        "lamp_large": add_line(runtime, shop_id, order_name="#1003", sku="LAMP-LINEN-L", title="Linen lamp large",
                               quantity=2, promised=TODAY - timedelta(days=1), ordered_at=now - timedelta(days=20),
                               supplier_id=suppliers["linen"], status="ready",
                               customer="Edsger Dijkstra"),  # delayed: the promised day went by
        "rug": add_line(runtime, shop_id, order_name="#1004", sku="RUG-WOOL", title="Wool rug",
                        promised=TODAY + timedelta(days=30), ordered_at=now - timedelta(days=1),
                        customer="Barbara Liskov"),
        "shipped": add_line(runtime, shop_id, order_name="#1005", sku="DESK-OAK", title="Oak desk", status="shipped",
                            promised=TODAY - timedelta(days=3), ordered_at=now - timedelta(days=50),
                            customer="Alan Turing"),
    }
    return lines, suppliers


@pytest.fixture
def site(sqlite_migrated, tmp_path, settings_factory, fake_shopify):
    import shutil

    from werkzeug.serving import make_server

    from plugin.app import create_app
    from plugin.runtime import build_runtime

    # The socket first: the app's public URL (APP_URL) is where the server listens, so the
    # session-token bounce and every absolute URL the app makes point back at it.
    holder = {}
    server = make_server("127.0.0.1", 0, lambda environ, start: holder["app"](environ, start), threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    database = tmp_path / "admin.sqlite3"
    shutil.copy(sqlite_migrated, database)
    runtime = build_runtime(settings_factory(f"sqlite:///{database}", app_url=base_url),
                            shopify_transport=httpx.WSGITransport(app=fake_shopify.wsgi_app))
    app = holder["app"] = create_app(runtime)
    fake_shopify.create_shop(SHOP)
    install_shop(runtime, fake_shopify, SHOP)
    with runtime.db.session() as session:
        shop = session.scalars(select(Shop).where(Shop.domain == SHOP)).one()
        shop.name = "Browser Test Shop"
        shop_id = shop.id
    lines, suppliers = seed(runtime, shop_id)
    thread = threading.Thread(target=server.serve_forever, name="admin-browser-server", daemon=True)
    thread.start()
    try:
        yield Site(base_url, app, runtime, fake_shopify, shop_id, lines, suppliers)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        runtime.close()


# -- the browser --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Admin:
    """One browser tab on the admin, with App Bridge's part played as described in the module doc."""

    def __init__(self, browser, site: Site, *, locale: str = "en-GB"):
        self.site = site
        self.context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.cdn_blocked: list[str] = []
        self.api_calls: list[tuple[str, str, int | None]] = []
        self.console_errors: list[str] = []
        self.token_override: str | None = None  # fetches send this instead of a fresh token (forged/expired tests)
        self.bounces: list[str] = []  # document requests the app bounced for a session token
        self.context.route("https://cdn.shopify.com/**", self._block_cdn)
        self.context.route(f"{site.base_url}/api/admin/**", self._with_session_token)
        self.context.route(f"{site.base_url}/admin**", self._document)
        self.page.on("response", self._on_response)
        self.page.on("console", lambda message: message.type == "error" and self.console_errors.append(message.text))

    def _block_cdn(self, route):
        self.cdn_blocked.append(route.request.url)
        route.abort("internetdisconnected")

    def _with_session_token(self, route):
        token = self.token_override or self.site.token()
        route.continue_(headers={**route.request.headers, "authorization": f"Bearer {token}"})

    def _document(self, route):
        request = route.request
        if request.resource_type != "document" or request.method != "GET" or "id_token=" in request.url:
            route.continue_()
            return
        answer = route.fetch(max_redirects=0)
        location = urlsplit(answer.headers.get("location", ""))
        if answer.status != 302 or location.path != "/auth/shopify/session-token":
            route.fulfill(response=answer)
            return
        self.bounces.append(request.url)
        reload = parse_qs(location.query)["shopify-reload"][0]
        assert reload.startswith("/admin"), reload
        separator = "&" if "?" in reload else "?"
        route.fulfill(status=302, headers={"Location": f"{self.site.base_url}{reload}{separator}id_token={self.site.token()}"})

    def _on_response(self, response):
        if "/api/admin/" in response.url:
            self.api_calls.append((response.request.method, urlsplit(response.url).path, response.status))

    def open(self, path: str, **params):
        response = self.page.goto(self.site.url(path, **params))
        assert response is not None and response.status == 200, (path, response and response.status)
        self.page.wait_for_load_state("load")
        return response

    def submit(self, button) -> None:
        """Click a button that submits a form the browser itself sends (a GET or a no-JS POST)."""
        with self.page.expect_navigation():
            button.click()
        self.page.wait_for_load_state("load")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self):
        self.context.close()


@pytest.fixture
def admin(browser, site):
    tab = Admin(browser, site)
    yield tab
    tab.close()


# -- accessibility checks -----------------------------------------------------------------------------
def open_all_details(page) -> None:
    """Open every <details> so the controls inside them are in the accessibility tree."""
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")


def unnamed_controls(page) -> list[str]:
    """Form controls in the page's aria snapshot without an accessible name."""
    snapshot = page.locator("body").aria_snapshot()
    pattern = re.compile(r'^\s*- (%s)(?: "(?P<name>(?:[^"\\]|\\.)*)"| (?P<regex>/.*/))?(?=[\s:\[]|$)'
                         % "|".join(CONTROL_ROLES))
    missing = []
    for line in snapshot.splitlines():
        match = pattern.match(line)
        if match and not ((match.group("name") or "").strip() or match.group("regex")):
            missing.append(line.strip())
    return missing


def controls_without_label(page) -> list[str]:
    """The DOM's own view: visible inputs, selects, textareas and buttons with no label of any kind."""
    return page.evaluate("""() => {
      const out = [];
      for (const el of document.querySelectorAll('input, select, textarea, button')) {
        if (el.type === 'hidden' || !el.getClientRects().length) continue;
        const labelled = (el.labels && [...el.labels].some(l => l.textContent.trim()))
          || (el.getAttribute('aria-label') || '').trim()
          || (el.getAttribute('aria-labelledby') || '').split(/\\s+/).some(id => {
               const ref = id && document.getElementById(id); return ref && ref.textContent.trim(); })
          || (el.title || '').trim()
          || ((el.tagName === 'BUTTON') && el.textContent.trim())
          || (['submit', 'reset', 'button'].includes(el.type) && (el.value || '').trim());
        if (!labelled) out.push(el.outerHTML.slice(0, 160));
      }
      return out;
    }""")


def table_header_problems(page) -> list[str]:
    return page.evaluate("""() => {
      const out = [];
      for (const table of document.querySelectorAll('table')) {
        const ths = table.querySelectorAll('th');
        const where = table.id || (table.caption && table.caption.textContent.trim()) || table.outerHTML.slice(0, 80);
        if (!table.querySelector('thead th, tr:first-child th')) out.push('no header row: ' + where);
        for (const th of ths) {
          if (!['col', 'row', 'colgroup', 'rowgroup'].includes(th.getAttribute('scope')))
            out.push('th without scope in ' + where + ': ' + th.outerHTML.slice(0, 80));
        }
        if (!(table.caption && table.caption.textContent.trim()) && !table.getAttribute('aria-label')
            && !table.getAttribute('aria-labelledby')) out.push('table without a caption: ' + where);
      }
      return out;
    }""")


def focus_ring(page) -> dict:
    """The focused element and whether it shows a focus indicator (outline or box shadow)."""
    return page.evaluate("""() => {
      const el = document.activeElement;
      if (!el || el === document.body) return {tag: null, visible: false};
      const style = getComputedStyle(el);
      const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
      const shadow = style.boxShadow && style.boxShadow !== 'none';
      return {tag: el.tagName.toLowerCase(), text: (el.textContent || el.value || '').trim().slice(0, 60),
              visible: Boolean(outline || shadow), outline: style.outline, focusVisible: el.matches(':focus-visible')};
    }""")


def check_accessibility(page, *, lang: str = "en") -> None:
    assert page.locator("html").get_attribute("lang") == lang
    headings = page.locator("h1")
    assert headings.count() == 1, [headings.nth(i).inner_text() for i in range(headings.count())]
    expect_visible(headings.first)
    assert page.title().strip()
    open_all_details(page)
    assert unnamed_controls(page) == []
    assert controls_without_label(page) == []
    assert table_header_problems(page) == []
    # Landmarks: one main, the app's own navigation named.
    assert page.locator("main").count() == 1
    assert page.get_by_role("navigation", name=re.compile(r"\S")).count() >= 1
    # Keyboard: from the top, the first Tab lands on the skip link, which then shows; every stop
    # shows where the focus is.
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    page.keyboard.press("Tab")
    skip = page.locator("a.bd-skip")
    assert page.evaluate("() => document.activeElement.classList.contains('bd-skip')")
    assert skip.bounding_box()["x"] >= 0 and skip.get_attribute("href") == "#main"
    for _ in range(4):
        ring = focus_ring(page)
        assert ring["tag"] is not None and ring["visible"], ring
        page.keyboard.press("Tab")


def test_the_accessibility_checks_catch_what_they_look_for(browser):
    """The checks above on a page with each fault: they must report it (else they prove nothing)."""
    page = browser.new_page()
    try:
        page.set_content("""<!doctype html><html><head><title>t</title><style>:focus { outline: none; }</style></head>
          <body><h1>One</h1><h1>Two</h1><main>
          <input id="nameless" type="text"><select><option>x</option></select><label>Named <input type="checkbox"></label>
          <button></button><table><tr><th>No scope</th></tr><tr><td>1</td></tr></table></main></body></html>""")
        assert len(unnamed_controls(page)) == 3, page.locator("body").aria_snapshot()
        assert len(controls_without_label(page)) == 3
        assert any("without scope" in p for p in table_header_problems(page))
        assert any("without a caption" in p for p in table_header_problems(page))
        page.locator("#nameless").focus()
        assert focus_ring(page)["visible"] is False
        with pytest.raises(AssertionError):
            check_accessibility(page)
    finally:
        page.close()


def expect_visible(locator) -> None:
    from playwright.sync_api import expect

    expect(locator).to_be_visible()


def stays_usable_without_the_cdn(admin: Admin) -> None:
    """App Bridge and Polaris were asked for and refused; the page still reads and navigates."""
    page = admin.page
    assert any("app-bridge.js" in url for url in admin.cdn_blocked), admin.cdn_blocked
    assert any("polaris.js" in url for url in admin.cdn_blocked), admin.cdn_blocked
    expect_visible(page.locator("h1"))
    nav = page.get_by_role("navigation", name="Backorder Desk")
    expect_visible(nav)
    for key, path in PAGES:
        link = nav.locator(f'a[href^="{path}?"]')
        assert link.count() == 1, (key, path)
        href = link.get_attribute("href")
        assert f"shop={SHOP}" in href and "embedded=1" in href and "id_token" not in href, href
    # Our own stylesheet and script loaded (same origin).
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") != "rgba(0, 0, 0, 0)"


# -- every page loads with a valid session token --------------------------------------------------
@pytest.mark.parametrize("key,path", PAGES, ids=[key for key, _ in PAGES])
def test_each_page_loads_with_a_valid_session_token(admin, site, key, path):
    if not site.has_page(path):
        pytest.skip(f"{path} is not built yet")
    response = admin.open(path)
    page = admin.page
    assert response.headers["content-security-policy"].startswith(
        f"frame-ancestors https://{SHOP} https://admin.shopify.com")
    assert response.headers["cache-control"] == "no-store"
    assert page.locator(f'.bd-nav a[aria-current="page"][href^="{path}?"]').count() == 1
    assert "Browser Test Shop" in page.locator(".bd-shop").inner_text()
    stays_usable_without_the_cdn(admin)
    admin.screenshot(key)
    check_accessibility(page)
    assert not [error for error in admin.console_errors if "cdn.shopify.com" not in error and
                "ERR_INTERNET_DISCONNECTED" not in error], admin.console_errors


def test_overview_shows_the_shops_figures_and_charts(admin, site):
    admin.open("/admin")
    page = admin.page
    figures = {name: page.locator(f'[data-figure="{name}"]').inner_text() for name in
               ("open_lines", "open_units", "delayed_lines", "promises_kept_share")}
    assert figures["open_lines"].startswith("4")
    assert figures["open_units"].startswith("7")  # 3 + 1 + 2 + 1
    assert figures["delayed_lines"].startswith("2")
    assert figures["promises_kept_share"].startswith("0%") or "%" in figures["promises_kept_share"]
    assert page.locator("figure.bd-chart svg").count() == 3
    # Each chart has its table alternative, reachable by keyboard (a <details> summary).
    summaries = page.locator("details.bd-chart-table > summary")
    assert summaries.count() == 3
    summaries.first.focus()
    page.keyboard.press("Enter")
    expect_visible(page.locator("details.bd-chart-table").first.locator("table"))


# -- the backorders table ------------------------------------------------------------------------------
def table_orders(page) -> list[str]:
    return [text.strip() for text in page.locator("#backorders-table tbody th[scope=row]").all_inner_texts()]


def test_filter_the_backorders_table(admin, site):
    from playwright.sync_api import expect

    admin.open("/admin/backorders")
    page = admin.page
    assert table_orders(page) == ["#1003", "#1002", "#1001", "#1004"]  # waiting, soonest promise first

    # The filter form, used as a merchant would: a label to find each control, then Apply.
    page.get_by_label("Supplier").select_option(label="Linen & Light")
    admin.submit(page.get_by_role("button", name="Apply"))
    assert table_orders(page) == ["#1003", "#1002"]
    assert parse_qs(urlsplit(page.url).query)["supplier_id"] == [str(site.suppliers["linen"])]
    expect(page.get_by_label("Supplier")).to_have_value(str(site.suppliers["linen"]))

    page.get_by_label("Supplier").select_option(value="")
    page.get_by_label("Only delayed lines").check()
    admin.submit(page.get_by_role("button", name="Apply"))
    assert sorted(table_orders(page)) == ["#1002", "#1003"]
    assert page.locator("#backorders-table .bd-delayed").count() == 2

    page.get_by_label("Only delayed lines").uncheck()
    page.get_by_label("Product or SKU").fill("wool")
    admin.submit(page.get_by_role("button", name="Apply"))
    assert table_orders(page) == ["#1004"]

    # Status: shipped lines only (the default is the waiting ones).
    page.get_by_label("Product or SKU").fill("")
    page.get_by_role("group", name="Status").get_by_label("Shipped").check()
    admin.submit(page.get_by_role("button", name="Apply"))
    assert table_orders(page) == ["#1005"]
    admin.screenshot("backorders-filtered")

    # Sorting by a column header link (its state announced with aria-sort).
    admin.open("/admin/backorders")
    admin.submit(page.locator("#backorders-table thead").get_by_role("link", name="Ordered", exact=True))
    header = page.locator("#backorders-table thead th[aria-sort]")
    assert header.count() == 1 and header.get_attribute("aria-sort") in ("ascending", "descending")


# -- line actions -----------------------------------------------------------------------------------
def test_override_an_eta_and_see_it_persisted(admin, site):
    from playwright.sync_api import expect

    from plugin.admin.i18n import format_day

    backorder_id = site.lines["oak"]
    new_date = TODAY + timedelta(days=21)
    admin.open("/admin/backorders")
    page = admin.page
    row = page.locator(f"#line-{backorder_id}")
    row.locator("summary").click()
    form = row.get_by_role("group", name="Override the ETA")
    form.get_by_label("New ship date").fill(new_date.isoformat())
    form.get_by_label("Reason (kept with the date)").fill("Supplier confirmed by phone")
    form.get_by_role("checkbox", name=re.compile("Change the ship date")).check()
    with page.expect_response(lambda r: r.url.endswith(f"/api/admin/backorders/{backorder_id}/eta")) as answer:
        form.get_by_role("button", name="Save the ship date").click()
    assert answer.value.status == 200
    shown = format_day(new_date, "en")
    expect(page.locator(f"#result-{backorder_id}")).to_contain_text(f"is now {shown}")
    expect(row.locator('[data-field="current_eta"]')).to_contain_text(shown)
    assert ("POST", f"/api/admin/backorders/{backorder_id}/eta", 200) in admin.api_calls

    # Persisted: a fresh load of the page shows it, and so does the database.
    admin.open("/admin/backorders")
    cell = page.locator(f"#line-{backorder_id} [data-field='current_eta']")
    expect(cell).to_contain_text(shown)
    expect(cell).to_contain_text("Set by hand: Supplier confirmed by phone")
    stored = site.backorder(backorder_id)
    assert (stored.eta_override, stored.eta_override_reason, stored.current_eta) == (
        new_date, "Supplier confirmed by phone", new_date)
    admin.screenshot("backorders-eta-overridden")


def test_keyboard_alone_reaches_and_runs_a_line_action(admin, site):
    """Tab to a line's actions, open them with Enter, confirm with Space, run with Enter; every
    stop on the way shows where the focus is."""
    from playwright.sync_api import expect

    backorder_id = site.lines["rug"]
    admin.open("/admin/backorders")
    page = admin.page

    def tab_to(selector: str, limit: int = 80) -> int:
        for presses in range(1, limit + 1):
            page.keyboard.press("Tab")
            ring = focus_ring(page)
            assert ring["visible"], (presses, ring.get("focusVisible"), ring.get("outline"), page.evaluate("() => document.activeElement.outerHTML.slice(0, 200)"))
            if page.evaluate("(s) => document.activeElement === document.querySelector(s)", selector):
                return presses
        raise AssertionError(f"{selector} not reached with {limit} Tab presses")

    tab_to(f"#line-{backorder_id} summary")
    page.keyboard.press("Enter")
    expect(page.locator(f"#line-{backorder_id} details")).to_have_attribute("open", "")
    ship = f'#line-{backorder_id} form[data-action="shipped"]'
    tab_to(f'{ship} input[name="confirm"]')
    page.keyboard.press("Space")
    expect(page.locator(f'{ship} input[name="confirm"]')).to_be_checked()
    tab_to(f'{ship} button[type="submit"]')
    with page.expect_response(lambda r: r.url.endswith(f"/api/admin/backorders/{backorder_id}/shipped")) as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 200
    expect(page.locator(f"#result-{backorder_id}")).to_contain_text("is marked as shipped")
    expect(page.locator(f'#line-{backorder_id} [data-field="status"]')).to_contain_text("Shipped")
    assert site.backorder(backorder_id).status == "shipped"


# -- settings and suppliers ----------------------------------------------------------------------------
def test_change_a_setting_and_see_it_persisted(admin, site):
    from playwright.sync_api import expect

    from plugin.admin.settings_store import read_settings

    if not site.has_page("/admin/settings"):
        pytest.skip("/admin/settings is not built yet")
    admin.open("/admin/settings")
    page = admin.page
    page.get_by_label("Order tag").fill("waiting-list")
    page.get_by_label("Grace period (days)").fill("5")
    admin.submit(page.get_by_role("button", name="Save settings"))
    expect(page.locator("#bd-result")).to_contain_text("Settings saved.")

    admin.open("/admin/settings")
    expect(page.get_by_label("Order tag")).to_have_value("waiting-list")
    expect(page.get_by_label("Grace period (days)")).to_have_value("5")
    stored = read_settings(site.runtime, site.shop_id)
    assert (stored["order_tag"], stored["delay_grace_days"]) == ("waiting-list", 5)
    admin.screenshot("settings-saved")


def test_upload_a_supplier_csv_with_a_bad_row(admin, site):
    from playwright.sync_api import expect

    from plugin.db.models import SupplyLine

    supplier_id = site.suppliers["linen"]
    path = f"/admin/suppliers/{supplier_id}"
    if not site.has_page("/admin/suppliers/<int:supplier_id>"):
        pytest.skip("the supplier page is not built yet")
    admin.open(path)
    page = admin.page
    check_accessibility(page)
    admin.open(path)
    expected = (TODAY + timedelta(days=14)).isoformat()
    csv = ("sku,quantity,po_reference,expected_date\n"
           f"LAMP-LINEN-S,10,PO-7781,{expected}\n"
           f"LAMP-LINEN-L,lots,PO-7781,{expected}\n"
           f"RUG-WOOL,4,PO-7781,{expected}\n")
    page.get_by_label("CSV file from the supplier").set_input_files(
        files=[{"name": "linen-po-7781.csv", "mimeType": "text/csv", "buffer": csv.encode()}])
    admin.submit(page.get_by_role("button", name="Upload and apply"))

    errors = page.locator("#row-errors")
    expect(errors).to_be_visible()
    rejected = errors.locator("tbody tr")
    expect(rejected).to_have_count(1)
    assert rejected.locator("th").inner_text().strip() == "3"  # the file's line, header included
    assert "quantity" in rejected.locator("td").inner_text().lower()
    check_accessibility(page)
    admin.open(path)  # (the check opened every <details>) the page as the merchant sees it
    expect(page.locator("#row-errors tbody tr")).to_have_count(1)  # the last sync's report stays on the page
    admin.screenshot("supplier-upload-row-error")
    with site.runtime.db.shop_session(site.shop_id) as session:
        applied = session.execute(select(SupplyLine.sku, SupplyLine.quantity).where(
            SupplyLine.supplier_id == supplier_id, SupplyLine.po_reference == "PO-7781")).all()
    assert sorted(applied) == [("LAMP-LINEN-S", 10), ("RUG-WOOL", 4)]


# -- refused sessions -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["forged", "expired"])
def test_a_forged_or_expired_session_token_gets_401_and_no_data(admin, site, kind):
    bad = (site.token(secret="not-the-app-secret-not-the-app-secret") if kind == "forged"
           else site.token(exp_in=-60))
    page = admin.page
    secrets_of_the_shop = ("Ada Lovelace", "Grace Hopper", "#1001", "Oak desk", "Browser Test Shop")

    # A page opened with the token: shopify_app's answer is the bounce to the session-token page
    # (App Bridge would fetch a good token there), never the page; nothing of the shop is shown.
    response = page.goto(site.url("/admin/backorders", token=bad))
    first = response.request.redirected_from
    assert first is not None and first.response().status == 302
    assert urlsplit(first.response().headers["location"]).path == "/auth/shopify/session-token"
    assert urlsplit(page.url).path == "/auth/shopify/session-token"
    html = page.content()
    assert not any(secret in html for secret in secrets_of_the_shop)
    # The same page fetched with the token as a bearer (as App Bridge sends it): 401.
    status, body = page.evaluate("""async ([path, token]) => {
        const r = await fetch(path, {headers: {Authorization: 'Bearer ' + token}});
        return [r.status, await r.text()];
    }""", [f"/admin/backorders?embedded=1&shop={SHOP}", bad])
    assert status == 401 and not any(secret in body for secret in secrets_of_the_shop)

    # API fetches from a good page, with the bad token: 401, an error and nothing else.
    admin.open("/admin/backorders")
    admin.token_override = bad
    for path in ("/api/admin/backorders", "/api/admin/overview", f"/api/admin/backorders/{site.lines['oak']}"):
        status, body = page.evaluate("""async (path) => {
            const r = await fetch(path);
            return [r.status, await r.json()];
        }""", path)
        assert status == 401, path
        assert set(body) == {"error"} and body["error"]["code"] in ("invalid_session_token", "unauthenticated"), body
    # ...and a line action sent with it changes nothing, and says so on the page.
    backorder_id = site.lines["lamp"]
    row = page.locator(f"#line-{backorder_id}")
    row.locator("summary").click()
    form = row.get_by_role("group", name="Mark as shipped")
    form.get_by_role("checkbox").check()
    with page.expect_response(lambda r: r.url.endswith(f"/api/admin/backorders/{backorder_id}/shipped")) as answer:
        form.get_by_role("button", name="Mark as shipped").click()
    assert answer.value.status == 401
    from playwright.sync_api import expect

    expect(page.locator(f"#result-{backorder_id}")).to_contain_text("forged or expired")
    assert site.backorder(backorder_id).status == "open"


# -- Polish -------------------------------------------------------------------------------------------
def test_polish_locale_renders_polish(browser, site):
    from playwright.sync_api import expect

    tab = Admin(browser, site, locale="pl-PL")
    try:
        page = tab.page
        tab.open("/admin", locale="pl-PL")  # Shopify passes the merchant's admin language
        assert page.locator("html").get_attribute("lang") == "pl"
        expect(page.locator("h1")).to_have_text("Przegląd")
        nav = page.get_by_role("navigation", name="Backorder Desk")
        for polish in ("Przegląd", "Zamówienia oczekujące", "Produkty", "Dostawcy", "Ustawienia"):
            expect(nav.get_by_role("link", name=polish, exact=True)).to_be_visible()
        for english in ("Overview", "Backorders", "Suppliers", "Settings"):
            expect(nav.get_by_role("link", name=english, exact=True)).to_have_count(0)
        expect(page.get_by_text("Otwarte pozycje oczekujące")).to_be_visible()
        tab.screenshot("overview-pl")
        check_accessibility(page, lang="pl")

        tab.open("/admin/backorders", locale="pl-PL")
        expect(page.locator("h1")).to_have_text("Zamówienia oczekujące")
        expect(page.get_by_role("button", name="Zastosuj")).to_be_visible()
        assert "Waiting for stock" not in page.locator("#backorders-table").inner_text()
        tab.screenshot("backorders-pl")
        check_accessibility(page, lang="pl")
    finally:
        tab.close()
