"""The /wc-auth/v1/ "authorize" endpoint (WC_Auth): an app asks the merchant for API keys.

GET /wc-auth/v1/authorize?app_name&scope&user_id&return_url&callback_url validates the five
parameters (each missing one: "Error: Missing parameter app_name." on a 401 page; scope must be
read, write or read_write; callback_url must be https: "Error: The callback_url needs to be over
SSL."), sends a visitor who is not logged in to /wc-auth/v1/login, then shows the grant page:
Approve links to /wc-auth/v1/access_granted with a nonce, Deny goes straight to
`return_url?success=0&user_id=<user_id>`. On approval WooCommerce creates the key and POSTs
`{"key_id", "user_id", "consumer_key", "consumer_secret", "key_permissions"}` as JSON to the
callback_url (user_id is the app's own value, echoed); an answer other than 200 deletes the key
and shows "Error: An error occurred in the request and at the time were unable to send the
consumer data."; a 200 redirects (302) to `return_url?success=1&user_id=<user_id>`.

For tests: `FakeWooCommerce.approve(url)` / `deny(url)` act as the merchant (logged in,
clicking the button) and return the final redirect; `auto_approve = True` (or "deny") makes
the authorize URL itself answer with that redirect. `allow_insecure_callback=True` accepts an
http callback_url (loopback demos); `allow_local_urls` applies as for webhooks.
"""
from __future__ import annotations

import hashlib
import hmac
import html
from datetime import datetime
from urllib.parse import quote, unquote_plus, urlencode, urlsplit

from .php import add_query_arg, rawurlencode

PARAMS = ("app_name", "user_id", "return_url", "callback_url", "scope")
SCOPES = {"read": "Read", "write": "Write", "read_write": "Read/Write"}
PERMISSIONS_IN_SCOPE = {
    "read": ["View coupons", "View customers", "View orders and sales reports", "View products"],
    "write": ["Create webhooks", "Create coupons", "Create customers", "Create orders", "Create products"],
    "read_write": ["Create webhooks", "View and manage coupons", "View and manage customers",
                   "View and manage orders and sales reports", "View and manage products"],
}
SESSION_COOKIE = "wordpress_logged_in_devstore"
CALLBACK_FAILED = "An error occurred in the request and at the time were unable to send the consumer data"


class WcAuthError(Exception):
    """What wp_die() shows: 'Error: <message>.' with HTTP 401."""


def formatted_url(url: str) -> str:
    url = unquote_plus(url)
    return url if "://" in url else "https://" + url


def _valid_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return bool(parts.scheme) and bool(parts.netloc) and " " not in url


def validate(params: dict, *, allow_insecure_callback: bool = False) -> dict:
    data = {}
    for name in PARAMS:
        value = params.get(name)
        if value in (None, ""):
            raise WcAuthError(f"Missing parameter {name}")
        if not isinstance(value, str):
            raise WcAuthError(f"Invalid parameter {name}")
        data[name] = value
    if data["scope"] not in SCOPES:
        raise WcAuthError(f"Invalid scope {data['scope']}")
    for name in ("return_url", "callback_url"):
        url = formatted_url(data[name])
        if not _valid_url(url):
            raise WcAuthError(f"The {url} is not a valid URL")
    if not formatted_url(data["callback_url"]).lower().startswith("https://") and not allow_insecure_callback:
        raise WcAuthError("The callback_url needs to be over SSL")
    return data


def build_url(home_url: str, data: dict, endpoint: str) -> str:
    query = {"app_name": data["app_name"], "user_id": data["user_id"],
             "return_url": rawurlencode(formatted_url(data["return_url"])),
             "callback_url": rawurlencode(formatted_url(data["callback_url"])), "scope": data["scope"]}
    built = add_query_arg(f"{home_url}/wc-auth/v1/{endpoint}", query)
    return quote(built, safe=":/?&=%#+,;@!$'()*[]~")  # esc_url_raw


def return_url(data: dict, success: int) -> str:
    return add_query_arg(formatted_url(data["return_url"]), {"success": success, "user_id": data["user_id"]})


def nonce(salt: str, data: dict) -> str:
    message = "|".join(data[name] for name in PARAMS)
    return hmac.new(salt.encode(), message.encode(), hashlib.sha256).hexdigest()[:10]


def session_token(salt: str, login: str) -> str:
    return f"{login}|" + hmac.new(salt.encode(), f"session|{login}".encode(), hashlib.sha256).hexdigest()


def error_page(message: str) -> tuple[int, dict, str]:
    body = (f"<!DOCTYPE html><html><head><title>Access denied</title></head><body id=\"error-page\">"
            f"<div class=\"wp-die-message\">Error: {html.escape(message)}.</div></body></html>")
    return 401, {"Content-Type": "text/html; charset=UTF-8"}, body


def redirect(location: str) -> tuple[int, dict, str]:
    return 302, {"Location": location, "Content-Type": "text/html; charset=UTF-8"}, ""


def login_page(fake, data: dict, error: str = "") -> tuple[int, dict, str]:
    action = html.escape(build_url(fake.memory.site.home_url, data, "login"))
    denied = html.escape(return_url(data, 0))
    notice = f'<ul class="woocommerce-error"><li>{html.escape(error)}</li></ul>' if error else ""
    body = (f"<!DOCTYPE html><html><head><title>{html.escape(fake.memory.site.name)}</title></head><body>"
            f"<h1>{html.escape(data['app_name'])} would like to connect to your store</h1>{notice}"
            f'<form method="post" class="wc-auth-login" action="{action}">'
            '<input type="text" name="username" id="username"><input type="password" name="password" id="password">'
            f'<input type="submit" name="login" value="Login"></form><a href="{denied}" class="wc-auth-cancel">Cancel</a>'
            "</body></html>")
    return 200, {"Content-Type": "text/html; charset=UTF-8"}, body


def grant_page(fake, data: dict) -> tuple[int, dict, str]:
    site = fake.memory.site
    granted = build_url(site.home_url, data, "access_granted") + "&wc_auth_nonce=" + nonce(site.salt, data)
    items = "".join(f"<li>{html.escape(p)}</li>" for p in PERMISSIONS_IN_SCOPE[data["scope"]])
    body = (f"<!DOCTYPE html><html><head><title>{html.escape(site.name)}</title></head><body>"
            f"<h1>{html.escape(data['app_name'])} would like to connect to your store</h1>"
            f"<p>This will give \"{html.escape(data['app_name'])}\" {SCOPES[data['scope']]} access which will allow it to:</p>"
            f"<ul class=\"wc-auth-permissions\">{items}</ul>"
            f'<p class="wc-auth-actions"><a href="{html.escape(granted)}" class="button button-primary wc-auth-approve">Approve</a>'
            f'<a href="{html.escape(return_url(data, 0))}" class="button wc-auth-deny">Deny</a></p>'
            f"<p class=\"wc-auth-logged-in-as\">Logged in as {html.escape(site.admin_login)}</p></body></html>")
    return 200, {"Content-Type": "text/html; charset=UTF-8"}, body


def grant(fake, data: dict) -> str:
    """access_granted: create the key, POST it to the callback, answer the return_url redirect."""
    site = fake.memory.site
    with fake.lock:
        description = f"{data['app_name'][:170]} - API ({datetime.utcnow().strftime('%Y-%m-%d %H:%M:%S')})"
        key = fake.keys.create(site.admin_user_id, description, data["scope"])
    consumer = {"key_id": key.key_id, "user_id": data["user_id"], "consumer_key": key.consumer_key,
                "consumer_secret": key.consumer_secret, "key_permissions": key.permissions}
    delivery = fake.webhook_service.post_json("auth_callback", formatted_url(data["callback_url"]), consumer)
    if delivery.status != 200:
        with fake.lock:
            fake.keys.revoke(key.key_id)
        fake.authorizations.append({"app_name": data["app_name"], "user_id": data["user_id"], "approved": True,
                                    "key_id": None, "error": delivery.error or CALLBACK_FAILED})
        raise WcAuthError(delivery.error or CALLBACK_FAILED)
    fake.authorizations.append({"app_name": data["app_name"], "user_id": data["user_id"], "approved": True,
                                "key_id": key.key_id, "error": None})
    return return_url(data, 1)


def handle(fake, method: str, route: str, query: dict, form: dict, cookies: dict) -> tuple[int, dict, str]:
    """One request under /wc-auth/v1/<route>."""
    site = fake.memory.site
    logged_in = hmac.compare_digest(cookies.get(SESSION_COOKIE, ""), session_token(site.salt, site.admin_login))
    params = {**query, **form}
    try:
        data = validate(params, allow_insecure_callback=fake.allow_insecure_callback)
        route = route.strip("/").lower()
        if route == "login" and method == "POST":
            if form.get("username") == site.admin_login and form.get("password") == site.admin_password:
                status, headers, body = redirect(build_url(site.home_url, data, "authorize"))
                headers["Set-Cookie"] = f"{SESSION_COOKIE}={session_token(site.salt, site.admin_login)}; Path=/; HttpOnly"
                return status, headers, body
            return login_page(fake, data, "Unknown username or incorrect password.")
        if route == "authorize" and fake.auto_approve:
            if fake.auto_approve == "deny":
                return redirect(return_url(data, 0))
            return redirect(grant(fake, data))
        if route == "login":
            return redirect(build_url(site.home_url, data, "authorize")) if logged_in else login_page(fake, data)
        if route == "authorize":
            return grant_page(fake, data) if logged_in else redirect(build_url(site.home_url, data, "login"))
        if route == "access_granted" and logged_in:
            if not hmac.compare_digest(str(query.get("wc_auth_nonce", "")), nonce(site.salt, data)):
                raise WcAuthError("Invalid nonce verification")
            return redirect(grant(fake, data))
        raise WcAuthError("You do not have permission to access this page")
    except WcAuthError as error:
        return error_page(str(error))


def merchant_login_cookie(fake) -> str:
    site = fake.memory.site
    return urlencode({SESSION_COOKIE: session_token(site.salt, site.admin_login)})
