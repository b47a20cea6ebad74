"""The merchant's embedded admin: one blueprint for its pages (/admin/...) and its JSON API (/api/admin/...).

Page authors (products, suppliers, emails, settings, jobs) add a module to `FEATURE_MODULES`
and, in it:

    from plugin.admin.blueprint import admin_page
    from plugin.admin.layout import render_page

    @admin_page("/admin/products", nav="products")
    def products_page(ctx):                       # ctx: plugin.admin.auth.AdminContext
        return render_page(ctx, "admin/products.html", heading_key="nav.products", rows=...)

and JSON routes with `plugin.admin.api.api_route` (they appear in /api/admin/openapi.json).
`admin_page` verifies the request before the view runs: a GET as a document (Shopify session
token, or the WooCommerce launch cookie), a POST as a no-JavaScript form (`_token` field, see
auth.py). Views never see an unverified request and read the shop only through
`runtime.db.shop_session(ctx.shop_id)`.
"""
from __future__ import annotations

import importlib
from functools import wraps
from typing import Callable

from flask import Blueprint, Response, g, request

from plugin.admin.auth import authenticate_document, authenticate_form

bp = Blueprint("admin", __name__, template_folder="templates", static_folder="static",
               static_url_path="/admin/static")

ADMIN_ROOT = "/admin"
# Modules that register pages and API routes when imported; page authors append theirs.
FEATURE_MODULES = (
    "plugin.admin.overview",
    "plugin.admin.backorders",
    "plugin.admin.refunds",
    "plugin.admin.products",
    "plugin.admin.suppliers",
    "plugin.admin.emails",
    "plugin.admin.settings",
    "plugin.admin.jobs",
    "plugin.admin.openapi",
)


def admin_page(rule: str, *, nav: str | None = None, methods: tuple[str, ...] = ("GET",),
               endpoint: str | None = None) -> Callable:
    """Register a page route: `view(ctx, **path_params)` runs only for a verified merchant.

    `nav` is the key of the navigation entry to show as current (see layout.NAV).
    """
    if not (rule == ADMIN_ROOT or rule.startswith(ADMIN_ROOT + "/")):
        raise ValueError(f"admin pages live under {ADMIN_ROOT}: {rule}")

    def decorator(func: Callable) -> Callable:
        @wraps(func)
        def view(**kwargs):
            if request.method in ("GET", "HEAD"):
                context = authenticate_document(subpath=request.path[len(ADMIN_ROOT):])
            else:
                context = authenticate_form()
            if isinstance(context, Response):
                return context
            g.admin = context
            g.admin_nav = nav
            return func(context, **kwargs)

        bp.add_url_rule(rule, endpoint or func.__name__, view, methods=list(methods))
        return func

    return decorator


def _register_features() -> None:
    from plugin.admin.launch import LAUNCH_PATH, launch_woocommerce

    bp.add_url_rule(LAUNCH_PATH, "launch_woocommerce", launch_woocommerce, methods=["GET"])
    for name in FEATURE_MODULES:
        importlib.import_module(name)


_register_features()
