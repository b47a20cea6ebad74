"""Which handler runs for which (platform, topic): the one place topics are wired to code.

A handler is `handler(runtime, event: InboxEvent) -> None`. It opens its own short transactions
(platform calls happen outside them) and must be idempotent: the worker may run it again after a
crash, and a platform may deliver the same change twice under different ids.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable


@dataclass(frozen=True)
class InboxEvent:
    id: int
    platform: str
    topic: str
    shop_id: int
    shop_domain: str
    headers: dict[str, str]
    payload: Any
    received_at: datetime


@dataclass(frozen=True)
class TopicRoute:
    handler: Callable[..., None]
    # Compliance topics (e.g. shop/redact) arrive after uninstall and must still run.
    allow_uninstalled: bool = False


def routes() -> dict[tuple[str, str], TopicRoute]:
    # Imported lazily: handlers import services, which import the connectors; the webhook
    # endpoint itself must stay importable without any of that.
    from connectors.shopify.lifecycle import on_app_uninstalled
    from plugin.backorders.handlers import on_order_cancelled, on_order_upsert
    from plugin.compliance.handlers import on_customers_data_request, on_customers_redact, on_shop_redact
    from connectors.woocommerce import webhooks as woo

    return {
        ("shopify", "orders/create"): TopicRoute(on_order_upsert),
        ("shopify", "orders/updated"): TopicRoute(on_order_upsert),
        ("shopify", "orders/cancelled"): TopicRoute(on_order_cancelled),
        ("shopify", "app/uninstalled"): TopicRoute(on_app_uninstalled),
        # Privacy duties outlive the install: shop/redact comes ~48 h after uninstall, and a
        # customer's request may reach a shop that has uninstalled but is not yet erased.
        ("shopify", "customers/data_request"): TopicRoute(on_customers_data_request, allow_uninstalled=True),
        ("shopify", "customers/redact"): TopicRoute(on_customers_redact, allow_uninstalled=True),
        ("shopify", "shop/redact"): TopicRoute(on_shop_redact, allow_uninstalled=True),
        # WooCommerce topics, normalised (order.updated -> orders/updated) by its connector.
        ("woocommerce", "orders/create"): TopicRoute(woo.on_order),
        ("woocommerce", "orders/updated"): TopicRoute(woo.on_order),
        ("woocommerce", "orders/restore"): TopicRoute(woo.on_order),
        ("woocommerce", "orders/delete"): TopicRoute(woo.on_order_deleted),
        ("woocommerce", "products/create"): TopicRoute(woo.on_product),
        ("woocommerce", "products/update"): TopicRoute(woo.on_product),
        ("woocommerce", "products/restore"): TopicRoute(woo.on_product),
        ("woocommerce", "products/delete"): TopicRoute(woo.on_product_deleted),
    }
