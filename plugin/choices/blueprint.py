"""The pages a keep-or-refund link opens. A GET shows what the link will do; only a POST acts.

Mail scanners and link previews open (GET, HEAD) every link in an email, so opening one never
changes anything: it shows the item, the date and one button. The button POSTs the link's token
and a per-page form nonce (forms.py) back to the same page.

- `GET|POST /proxy/shopify/choice` (manifest.json shopify.app_proxy.path + /choice): the Shopify
  storefront's `https://<shop>/apps/backorders/choice?t=…`, proxied and signed by Shopify. The
  signature is checked as connectors/shopify/app_proxy.py checks it, the token must be for the
  shop the request came through, and the answer is Liquid (application/liquid), rendered by
  Shopify inside the shop's theme. The form posts back through the storefront path Shopify says
  the proxy has (`path_prefix`), so it also works when the merchant renamed it.
- `GET|POST /choice`: the app's own page (other platforms), a whole HTML document, not cached,
  never framed, sending no Referer (the URL holds the token). No cookies: the token is the
  capability and the form nonce ties a POST to a page this app rendered.

A tampered, expired or foreign token, a link of an email already answered, or a line that no
longer waits for stock: a page that says so, and nothing changes.
"""
from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, current_app, request

from connectors.shopify.app_proxy import ProxyRejected, app_proxy_path, verify_app_proxy
from plugin.choices.forms import StaleForm, form_nonce, read_form_nonce
from plugin.choices.links import APP_CHOICE_PATH, LinkRejected, read_token
from plugin.choices.pages import Page, build_page, render_body, render_document
from plugin.choices.services import Outcome, decide_choice, view_choice
from plugin.locales import LOCALES, choose_locale
from plugin.storefront.availability import installed_shop_id

log = logging.getLogger(__name__)

bp = Blueprint("choices", __name__)
PROXY_CHOICE_PATH = app_proxy_path() + APP_CHOICE_PATH
_SAFE_PREFIX = re.compile(r"^/[A-Za-z0-9_\-]+(?:/[A-Za-z0-9_\-]+)*$")
APP_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
}


@bp.route(APP_CHOICE_PATH, methods=["GET", "POST"])
def app_choice():
    page, shop_name = _answer(request_shop_id=None, action=APP_CHOICE_PATH)
    response = Response(render_document(page, shop_name), status=page.status, mimetype="text/html")
    response.headers.update(APP_PAGE_HEADERS)
    return response


@bp.route(PROXY_CHOICE_PATH, methods=["GET", "POST"])
def proxy_choice():
    runtime = _runtime()
    query = request.query_string.decode("utf-8", errors="replace")
    url = runtime.settings.public_url + request.path + (f"?{query}" if query else "")
    try:
        proxied = verify_app_proxy(runtime.settings, url)
    except ProxyRejected as exc:
        log.warning("app proxy request rejected", extra={"reason": exc.code, "path": request.path})
        return _text("Unauthorized", 401)
    shop_id = installed_shop_id(runtime.db, "shopify", proxied.shop_domain)
    if shop_id is None:
        return _text("Not Found", 404)
    prefix = proxied.path_prefix if proxied.path_prefix and _SAFE_PREFIX.match(proxied.path_prefix) else None
    if prefix is None:
        from connectors.shopify.manifest import shopify_manifest

        proxy = shopify_manifest()["app_proxy"]
        prefix = f"/{proxy['prefix']}/{proxy['subpath']}"
    page, _shop_name = _answer(request_shop_id=shop_id, action=prefix + APP_CHOICE_PATH)
    # 200 whatever the page says: Shopify renders a Liquid answer in the theme only then.
    response = Response(render_body(page), content_type="application/liquid; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


def _answer(*, request_shop_id: int | None, action: str) -> tuple[Page, str | None]:
    runtime = _runtime()
    browser_locale = request.accept_languages.best_match(LOCALES)
    posted = request.method == "POST"
    token = request.form.get("t") if posted else request.args.get("t")
    try:
        claims = read_token(runtime, token)
    except LinkRejected as rejected:
        return build_page(Outcome(rejected.reason), choose_locale(browser_locale)), None
    if request_shop_id is not None and claims.shop_id != request_shop_id:
        return build_page(Outcome("invalid"), choose_locale(browser_locale)), None  # another shop's link

    note = None
    if posted:
        try:
            shown_eta = read_form_nonce(runtime, request.form.get("n"), claims.jti)
        except StaleForm:
            outcome = view_choice(runtime, claims)
            note = "confirm_again" if outcome.state == "confirm" else None
        else:
            outcome = decide_choice(runtime, claims, shown_eta=shown_eta)
    else:
        outcome = view_choice(runtime, claims)

    line = outcome.line
    locale = choose_locale(line.locale_hint if line else None, browser_locale)
    form = None
    if outcome.state in ("confirm", "changed"):
        form = (action, token, form_nonce(runtime, claims.jti, line.eta))
    return build_page(outcome, locale, form=form, note=note), (line.shop_name if line else None)


def _runtime():
    return current_app.extensions["backorder_desk"]


def _text(message: str, status: int) -> Response:
    response = Response(message + "\n", status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response
