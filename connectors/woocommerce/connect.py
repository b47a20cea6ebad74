"""Connecting a WooCommerce store: the /wc-auth/v1/authorize dance, pasted keys, and disconnecting.

1. GET /connect/woocommerce: the merchant types the store's address. POST checks it (https, a
   real host name, no private or loopback address outside dev and test) and redirects to
   {store}/wc-auth/v1/authorize with app_name, scope (manifest.json), return_url, callback_url
   and user_id = a signed, expiring state naming the store (itsdangerous, the app's secret key);
   its nonce is also kept in this browser's session.
2. The merchant approves in WordPress; WooCommerce creates the keys and POSTs them as JSON to
   /connect/woocommerce/callback (server to server, so no session): the state is checked, the keys
   stored encrypted, and the answer is 200 (anything else makes WooCommerce delete the keys).
3. WooCommerce sends the browser to /connect/woocommerce/return?success=1|0&user_id=<state>. A
   refusal shows a page saying so; an approval finishes the connection (the keys are tried, the
   webhooks created: lifecycle.finish_connect) and shows the result. The browser that started
   the dance (same nonce) may then disconnect the store from here.
Alternatively /connect/woocommerce/keys takes a key and secret made by hand in WooCommerce >
Settings > Advanced > REST API; they are tried with one call before anything is stored.
"""
from __future__ import annotations

import hmac
import logging
import secrets
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, request, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from markupsafe import Markup, escape

from connectors.base import ConnectorError
from connectors.woocommerce import lifecycle
from connectors.woocommerce.manifest import PLATFORM, app_name, scope
from connectors.woocommerce.store_url import InvalidStoreUrl, check_store_reachable_publicly, normalize_store_url
from plugin.shops.services import find_shop

log = logging.getLogger(__name__)
bp = Blueprint("woocommerce_connect", __name__)

BASE = "/connect/woocommerce"
STATE_SALT = "backorder-desk.woocommerce-connect.v1"
STATE_MAX_AGE = 3600  # logging in to WordPress and approving may take a while
_NONCE_KEY = "wc_connect_nonce"
_SHOP_KEY = "wc_shop"
_CSRF_KEY = "wc_csrf"


def _runtime():
    return current_app.extensions["backorder_desk"]


def _serializer(runtime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(runtime.settings.resolved_secret_key(), salt=STATE_SALT)


def make_state(runtime, store_url: str, domain: str, nonce: str) -> str:
    return _serializer(runtime).dumps({"u": store_url, "d": domain, "n": nonce})


class BadState(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def read_state(runtime, state: str | None) -> dict:
    if not state or len(state) > 1000:
        raise BadState("The connection request is missing its signed state.")
    try:
        data = _serializer(runtime).loads(state, max_age=STATE_MAX_AGE)
    except SignatureExpired:
        raise BadState("The connection request expired (it is valid for an hour). Please start again.") from None
    except BadSignature:
        raise BadState("The connection request's state is not one this app issued.") from None
    if not isinstance(data, dict) or not data.get("u") or not data.get("d"):
        raise BadState("The connection request's state is not one this app issued.")
    return data


def _allow_private(runtime) -> bool:
    return bool(runtime.settings.private_urls_allowed)


def _store_from_form(runtime, text: str | None) -> tuple[str, str]:
    allow = _allow_private(runtime)
    store_url, domain = normalize_store_url(text, allow_http=allow)
    check_store_reachable_publicly(store_url, allow_private=allow)
    return store_url, domain


# -- pages ------------------------------------------------------------------------------------------

def _page(title: str, body: Markup | str, status: int = 200) -> Response:
    html = Markup(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>{title} · {app}</title><style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;"
        "margin:3rem auto;padding:0 1rem;color:#1d2b27}}input[type=text],input[type=url],input[type=password]"
        "{{width:100%;padding:.5rem;font:inherit}}button{{padding:.5rem 1rem;font:inherit}}"
        ".error{{color:#a12b1b}}.ok{{color:#2f5d50}}</style></head><body><h1>{title}</h1>{body}</body></html>"
    ).format(title=title, app=app_name(), body=Markup(body) if isinstance(body, Markup) else escape(body))
    return Response(str(html), status=status, mimetype="text/html")


def _csrf() -> str:
    token = session.get(_CSRF_KEY)
    if not token:
        token = session[_CSRF_KEY] = secrets.token_urlsafe(24)
    return token


def _connect_form(error: str | None = None, value: str = "", status: int = 200) -> Response:
    parts = [Markup("<p class=\"error\">{}</p>").format(error)] if error else []
    parts.append(Markup(
        "<form method=\"post\" action=\"{action}\"><p><label>Your store's address<br>"
        "<input type=\"url\" name=\"store_url\" required placeholder=\"https://shop.example.com\" value=\"{value}\">"
        "</label></p><p><button type=\"submit\">Connect with WooCommerce</button></p></form>"
        "<p>WooCommerce will ask you to log in and approve access ({scope}). "
        "<a href=\"{keys}\">Paste API keys instead</a>.</p>"
    ).format(action=BASE, value=value, scope=scope(), keys=f"{BASE}/keys"))
    connected = session.get(_SHOP_KEY)
    if connected:
        parts.append(Markup(
            "<hr><p>Connected in this browser: <strong>{shop}</strong></p>"
            "<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">"
            "<input type=\"hidden\" name=\"shop\" value=\"{shop}\"><button type=\"submit\">Disconnect this store</button>"
            "</form>").format(shop=connected, action=f"{BASE}/disconnect", csrf=_csrf()))
    return _page("Connect your WooCommerce store", Markup("").join(parts), status)


@bp.get(BASE)
def connect_page():
    return _connect_form()


@bp.post(BASE)
def start_connect():
    runtime = _runtime()
    typed = request.form.get("store_url", "")
    try:
        store_url, domain = _store_from_form(runtime, typed)
    except InvalidStoreUrl as exc:
        return _connect_form(str(exc), typed, status=400)
    nonce = secrets.token_urlsafe(16)
    session[_NONCE_KEY] = nonce
    base = runtime.settings.public_url
    query = urlencode({
        "app_name": app_name(),
        "scope": scope(),
        "user_id": make_state(runtime, store_url, domain, nonce),
        "return_url": f"{base}{BASE}/return",
        "callback_url": f"{base}{BASE}/callback",
    })
    log.info("woocommerce connect started", extra={"shop": domain})
    return redirect(f"{store_url}/wc-auth/v1/authorize?{query}", code=302)


@bp.post(f"{BASE}/callback")
def callback():
    """WooCommerce posts {key_id, user_id, consumer_key, consumer_secret, key_permissions}."""
    runtime = _runtime()
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        return {"error": "expected a JSON object"}, 400
    try:
        state = read_state(runtime, str(data.get("user_id") or ""))
    except BadState as exc:
        log.warning("woocommerce callback with a bad state", extra={"reason": exc.message})
        return {"error": exc.message}, 400
    key, secret = data.get("consumer_key"), data.get("consumer_secret")
    if not _looks_like_key(key, "ck_") or not _looks_like_key(secret, "cs_"):
        return {"error": "consumer_key and consumer_secret are required"}, 400
    permissions = str(data.get("key_permissions") or "")
    if permissions and permissions != scope():
        return {"error": f"the app needs {scope()} access, not {permissions}"}, 400
    try:
        store_url, domain = normalize_store_url(state["u"], allow_http=_allow_private(runtime))
    except InvalidStoreUrl as exc:
        return {"error": str(exc)}, 400
    lifecycle.store_keys(runtime, store_url=store_url, domain=domain, consumer_key=key, consumer_secret=secret,
                         scopes=permissions or scope())
    return {"ok": True}, 200


@bp.get(f"{BASE}/return")
def return_page():
    runtime = _runtime()
    try:
        state = read_state(runtime, request.args.get("user_id"))
    except BadState as exc:
        return _page("Connection failed", Markup("<p class=\"error\">{}</p><p><a href=\"{}\">Start again</a></p>")
                     .format(exc.message, BASE), 400)
    domain = state["d"]
    same_browser = hmac.compare_digest(str(session.get(_NONCE_KEY) or ""), str(state.get("n") or "-"))
    if request.args.get("success") != "1":
        return _page("Access was not granted", Markup(
            "<p class=\"error\">{shop} did not give {app} access, so nothing was connected and no keys were "
            "created.</p><p>If that was a mistake, <a href=\"{again}\">start again</a> and choose "
            "<em>Approve</em> on the store's page.</p>").format(shop=domain, app=app_name(), again=BASE))
    shop = find_shop(runtime.db, PLATFORM, domain)
    if shop is None or not shop.is_installed or not shop.access_token or not shop.api_secret:
        return _page("Connection incomplete", Markup(
            "<p class=\"error\">{shop} approved access, but its API keys never reached {app} (WooCommerce sends "
            "them to {callback}, which must be reachable from the store).</p><p><a href=\"{again}\">Try again</a>"
            " or <a href=\"{keys}\">paste the keys</a>.</p>").format(
                shop=domain, app=app_name(), callback=f"{runtime.settings.public_url}{BASE}/callback", again=BASE,
                keys=f"{BASE}/keys"), 502)
    if same_browser:
        session.pop(_NONCE_KEY, None)
        session[_SHOP_KEY] = domain
    return _finish(runtime, shop)


def _finish(runtime, shop) -> Response:
    try:
        result = lifecycle.finish_connect(runtime, shop)
    except ConnectorError as exc:
        log.warning("woocommerce connect could not finish", extra={"shop": shop.domain, "error": str(exc)[:300]})
        return _page("Connected, but not finished", Markup(
            "<p class=\"error\">The keys of {shop} were saved, but the store refused to set up notifications: "
            "{error}</p><p>Check that the keys have <strong>Read/Write</strong> access and that the store can "
            "reach {app}; the app retries every 15 minutes.</p>").format(shop=shop.domain, error=str(exc),
                                                                       app=runtime.settings.public_url), 502)
    companion = {"configured": "The Backorder Desk plugin in your store is set up.",
                 "not installed": "Install the Backorder Desk plugin in WordPress to show ship dates to shoppers."}
    return _page("Store connected", Markup(
        "<p class=\"ok\">{shop} is connected. New and updated orders reach {app} at once; backordered lines "
        "get their estimated ship date.</p><p>{companion}</p><p><a href=\"{base}\">Back</a></p>").format(
            shop=shop.domain, app=app_name(), base=BASE,
            companion=companion.get(result.companion, "The Backorder Desk plugin could not be set up.")))


# -- pasted keys --------------------------------------------------------------------------------

def _keys_form(error: str | None = None, value: str = "", status: int = 200) -> Response:
    parts = [Markup("<p class=\"error\">{}</p>").format(error)] if error else []
    parts.append(Markup(
        "<p>In WordPress: WooCommerce &gt; Settings &gt; Advanced &gt; REST API &gt; Add key, with "
        "<strong>Read/Write</strong> permissions.</p>"
        "<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">"
        "<p><label>Store address<br><input type=\"url\" name=\"store_url\" required value=\"{value}\"></label></p>"
        "<p><label>Consumer key<br><input type=\"text\" name=\"consumer_key\" required autocomplete=\"off\"></label></p>"
        "<p><label>Consumer secret<br><input type=\"password\" name=\"consumer_secret\" required autocomplete=\"off\">"
        "</label></p><p><button type=\"submit\">Connect</button></p></form>").format(
            action=f"{BASE}/keys", csrf=_csrf(), value=value))
    return _page("Connect with API keys", Markup("").join(parts), status)


@bp.get(f"{BASE}/keys")
def keys_page():
    return _keys_form()


@bp.post(f"{BASE}/keys")
def submit_keys():
    runtime = _runtime()
    typed = request.form.get("store_url", "")
    if not hmac.compare_digest(str(request.form.get("csrf") or ""), str(session.get(_CSRF_KEY) or "-")):
        return _keys_form("The form expired; please try again.", typed, 400)
    key = (request.form.get("consumer_key") or "").strip()
    secret = (request.form.get("consumer_secret") or "").strip()
    try:
        store_url, domain = _store_from_form(runtime, typed)
    except InvalidStoreUrl as exc:
        return _keys_form(str(exc), typed, 400)
    if not _looks_like_key(key, "ck_") or not _looks_like_key(secret, "cs_"):
        return _keys_form("A consumer key starts with ck_ and a consumer secret with cs_.", typed, 400)
    try:  # one call: do the keys open this store's API?
        runtime.connector(PLATFORM).client_for(store_url, key, secret).get("products", {"per_page": 1, "_fields": "id"})
    except ConnectorError as exc:
        return _keys_form(f"The store did not accept these keys: {exc}", typed, 400)
    shop = lifecycle.store_keys(runtime, store_url=store_url, domain=domain, consumer_key=key, consumer_secret=secret,
                                scopes=None)
    session[_SHOP_KEY] = domain
    return _finish(runtime, shop)


# -- disconnect ---------------------------------------------------------------------------------

@bp.post(f"{BASE}/disconnect")
def disconnect():
    runtime = _runtime()
    domain = request.form.get("shop") or ""
    if not hmac.compare_digest(str(request.form.get("csrf") or ""), str(session.get(_CSRF_KEY) or "-")):
        return _page("Not disconnected", "The form expired; please try again.", 400)
    if not domain or session.get(_SHOP_KEY) != domain:
        return _page("Not disconnected", "Only the browser that connected this store can disconnect it here.", 403)
    shop = find_shop(runtime.db, PLATFORM, domain)
    if shop is None:
        return _page("Not disconnected", "This store is not connected.", 404)
    result = lifecycle.disconnect(runtime, shop.id)
    session.pop(_SHOP_KEY, None)
    problems = Markup("").join(Markup("<li>{}</li>").format(p) for p in result.store_errors)
    return _page("Store disconnected", Markup(
        "<p class=\"ok\">{shop} is disconnected: {app} deleted its {count} webhook(s) in the store and forgot "
        "the API keys.</p>{problems}<p>WooCommerce cannot delete an API key through its API: revoke it in "
        "WooCommerce &gt; Settings &gt; Advanced &gt; REST API.</p>").format(
            shop=domain, app=app_name(), count=result.webhooks_deleted,
            problems=Markup("<p class=\"error\">Could not clean up in the store:</p><ul>{}</ul>").format(problems)
            if result.store_errors else ""))


def _looks_like_key(value, prefix: str) -> bool:
    return isinstance(value, str) and value.startswith(prefix) and 8 <= len(value) <= 200 and value.isprintable() \
        and " " not in value
