"""The demo of `make run`: a dev store (the faithful fake Shopify) with a shop that installs the app.

The dev store is mounted under FAKE_MOUNT in the same process, and every Shopify call of the app
goes to it through the real connector code, so the demo exercises what production runs. The demo
shop's two suppliers, their history and the URL feed one of them publishes (mounted at
FEEDS_MOUNT) are in `plugin.devdemo_suppliers`; they are seeded once, through the app's services.
"""
from __future__ import annotations

import logging

import httpx
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from plugin.devdemo_suppliers import FEEDS_MOUNT, SupplierFeeds, seed_demo_suppliers

log = logging.getLogger(__name__)

DEMO_SHOP = "demo-backorders.myshopify.com"
FAKE_MOUNT = "/_fake/shopify"
DEMO_API_KEY = "demo-api-key"
DEMO_API_SECRET = "demo-api-secret-not-for-production"

DEMO_PRODUCTS = [
    {"title": "Oak desk", "variants": [{"sku": "DESK-OAK", "title": "Default", "price": "499.00",
                                        "tracked": True, "policy": "CONTINUE", "available": 2}]},
    {"title": "Linen lamp", "variants": [
        {"sku": "LAMP-LINEN-S", "title": "Small", "price": "79.00", "tracked": True, "policy": "CONTINUE", "available": 0},
        {"sku": "LAMP-LINEN-L", "title": "Large", "price": "99.00", "tracked": True, "policy": "CONTINUE", "available": 4},
    ]},
    {"title": "Wool rug", "variants": [{"sku": "RUG-WOOL", "title": "Default", "price": "259.00",
                                        "tracked": True, "policy": "DENY", "available": 5}]},
]


def build_demo(settings):
    """Runtime + WSGI app for the demo; installs the demo shop through token exchange."""
    from connectors.shopify.devstore import FakeShopify
    from plugin.app import create_app
    from plugin.runtime import build_runtime

    if not settings.shopify_api_key:
        settings = settings.model_copy(update={"shopify_api_key": DEMO_API_KEY, "shopify_api_secret": DEMO_API_SECRET})
    fake = FakeShopify(settings.shopify_api_key, settings.shopify_api_secret,
                       webhook_url=f"{settings.public_url}/webhooks/shopify",
                       # Like Shopify, send the webhooks our own writes cause (tagsAdd -> orders/updated).
                       api_webhooks="thread")
    runtime = build_runtime(settings, shopify_transport=httpx.WSGITransport(app=fake.wsgi_app))
    runtime.extras["devstore"] = fake
    feeds = runtime.extras["supplier_feeds"] = SupplierFeeds()
    app = create_app(runtime)
    seed_store(fake)
    install_demo_shop(runtime, fake)
    seed_demo_suppliers(runtime, demo_shop_id(runtime), feeds)
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {FAKE_MOUNT: fake.wsgi_app, FEEDS_MOUNT: feeds.wsgi_app})
    return runtime, app


def seed_store(fake) -> None:
    fake.create_shop(DEMO_SHOP, name="Demo Backorders")
    for product in DEMO_PRODUCTS:
        fake.add_product(DEMO_SHOP, product["title"], variants=product["variants"])


def install_demo_shop(runtime, fake) -> None:
    """What Shopify's managed install does when the merchant opens the app: token exchange."""
    from connectors.shopify.tokens import ShopifyTokens

    ShopifyTokens(runtime).install_with_session_token(DEMO_SHOP, fake.session_token(DEMO_SHOP))
    log.info("demo shop installed", extra={"shop": DEMO_SHOP})


def demo_shop_id(runtime) -> int:
    from plugin.shops.services import find_shop

    shop = find_shop(runtime.db, "shopify", DEMO_SHOP)
    if shop is None:
        raise RuntimeError(f"the demo shop {DEMO_SHOP} is not installed")
    return shop.id
