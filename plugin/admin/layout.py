"""Rendering admin pages: the shared layout, navigation, links that keep the admin's context.

`render_page(ctx, template, heading_key=..., **values)` renders a template that extends
"admin/layout.html" and answers it with the verified request's headers (CSP frame-ancestors
for Shopify, frame-ancestors 'none' for launch sessions) and no caching. Templates get:

    admin        the AdminContext (admin.shop.name, admin.locale, admin.embedded, ...)
    t(key, **v)  the catalogue in the merchant's language (plugin/admin/i18n.py)
    url(path, **params)   a link to an admin page keeping shop/host/embedded/locale
    api(path)    the same-origin URL of an API route (fetch adds the session token)
    form_token   the hidden `_token` value for no-JavaScript forms
    fmt_date(d), fmt_money(amount, currency), fmt_number(n)

Layout blocks: `title` (the <title>), `heading` (page heading; default: t(heading_key)),
`primary_action` (buttons beside the heading), `content` (the page). A `result` value
({"tone": "success"|"critical"|"info", "text": ...}) shows a banner at the top.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache, partial
from pathlib import Path
from urllib.parse import urlencode

from flask import Response, current_app, g, render_template

from plugin.admin.i18n import format_day, format_money, format_number, translate

STATIC = Path(__file__).resolve().parent / "static"
# (key, path, catalogue key) of the navigation, in Shopify's app nav and the page's own nav.
NAV = (
    ("overview", "/admin", "nav.overview"),
    ("backorders", "/admin/backorders", "nav.backorders"),
    ("refunds", "/admin/refunds", "nav.refunds"),
    ("products", "/admin/products", "nav.products"),
    ("suppliers", "/admin/suppliers", "nav.suppliers"),
    ("emails", "/admin/emails", "nav.emails"),
    ("settings", "/admin/settings", "nav.settings"),
    ("jobs", "/admin/jobs", "nav.jobs"),
)
DOCUMENT_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def page_url(ctx, path: str, **params) -> str:
    values = dict(ctx.query) if ctx is not None else {}
    values.update({k: v for k, v in params.items() if v is not None and v != "" and v is not False})
    return path + ("?" + urlencode(values, doseq=True) if values else "")


@lru_cache(maxsize=32)
def _asset_version(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]


def asset(name: str) -> str:
    return f"/admin/static/{name}?v={_asset_version(name)}"


def template_values(ctx, heading_key: str | None = None) -> dict:
    locale = ctx.locale
    return {
        "admin": ctx,
        "t": partial(translate, locale),
        "url": partial(page_url, ctx),
        "api": lambda path: path,
        "asset": asset,
        "form_token": ctx.form_token(),
        "nav_items": NAV,
        "nav_current": getattr(g, "admin_nav", None),
        "heading_key": heading_key,
        "api_key": current_app.extensions["backorder_desk"].settings.shopify_api_key,
        "fmt_date": lambda value, style="medium": format_day(value, locale, style),
        "fmt_money": lambda amount, currency=None: format_money(amount, currency, locale),
        "fmt_number": lambda value: format_number(value, locale),
    }


def render_page(ctx, template: str, *, heading_key: str | None = None, status: int = 200, **values) -> Response:
    body = render_template(template, **template_values(ctx, heading_key), **values)
    response = Response(body, status=status, mimetype="text/html")
    response.headers.update(DOCUMENT_HEADERS)
    for name, value in ctx.headers.items():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def message_page(key: str, status: int, *, locale: str = "en") -> Response:
    """A small page of its own for refusals (bad launch link, expired session): never framed."""
    body = render_template("admin/message.html", locale=locale, t=partial(translate, locale), key=key)
    response = Response(body, status=status, mimetype="text/html")
    response.headers.update(DOCUMENT_HEADERS)
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'; object-src 'none'; base-uri 'none'"
    return response
