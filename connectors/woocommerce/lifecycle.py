"""A WooCommerce store's connection and disconnection, recorded through plugin.shops.services.

connect: the REST keys (from /wc-auth's callback, or pasted by the merchant) are stored encrypted
with the store URL and a per-shop webhook secret (kept across reconnects, new after a
disconnect); `finish_connect` then checks the keys with one call (listing webhooks, which the
subscriptions need anyway), creates or repairs the app's webhooks, and tells the companion plugin
where the app is, when it is installed (best effort: the store works without it).

disconnect: the app's webhooks are deleted in the store and the companion plugin told to forget
us (best effort: keys the merchant already revoked cannot do it), then the keys and secrets are
deleted here. WooCommerce offers no API to delete an API key: the page says where to revoke it.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field

from connectors.woocommerce.client import WooClient, WooCommerceError
from connectors.woocommerce.manifest import PLATFORM, companion_route
from connectors.woocommerce.subscriptions import SubscriptionReport, delete_subscriptions, delivery_url, \
    ensure_subscriptions
from plugin.db.models import Shop
from plugin.shops.services import find_shop, install_shop, uninstall_shop

log = logging.getLogger(__name__)


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


def store_keys(runtime, *, store_url: str, domain: str, consumer_key: str, consumer_secret: str,
               scopes: str | None) -> Shop:
    existing = find_shop(runtime.db, PLATFORM, domain)
    secret = existing.webhook_secret if existing is not None and existing.webhook_secret else new_webhook_secret()
    shop = install_shop(runtime.db, platform=PLATFORM, domain=domain, name=None, access_token=consumer_key,
                        access_token_expires_at=None, refresh_token=None, refresh_token_expires_at=None,
                        scopes=scopes, store_url=store_url, api_secret=consumer_secret, webhook_secret=secret)
    log.info("woocommerce store keys stored", extra={"shop": domain})
    return shop


@dataclass
class ConnectResult:
    shop: Shop
    subscriptions: SubscriptionReport
    companion: str  # configured | not installed | failed: <why>
    notes: list[str] = field(default_factory=list)


def finish_connect(runtime, shop: Shop) -> ConnectResult:
    """Verify the keys and subscribe. Raises WooCommerceError when the keys do not work."""
    connector = runtime.connector(PLATFORM)
    client = connector.client(shop)
    report = ensure_subscriptions(client, delivery_url(runtime), shop.webhook_secret, set_secret=True)
    companion = _configure_companion(runtime, client, shop)
    return ConnectResult(shop, report, companion)


def _configure_companion(runtime, client: WooClient, shop: Shop) -> str:
    """POST the app's URL and the shop's launch secret (derived by the admin, plugin/admin/auth.py)
    to the companion plugin's settings route, so WooCommerce > Backorders opens the app's admin."""
    from plugin.admin.auth import woocommerce_launch_secret

    try:
        client.post(_companion_endpoint(), {"app_url": runtime.settings.public_url,
                                            "launch_secret": woocommerce_launch_secret(runtime, shop)},
                    idempotent=True, namespace=_companion_namespace())
    except WooCommerceError as exc:
        if exc.status == 404:
            return "not installed"
        log.warning("companion plugin not configured", extra={"shop": shop.domain, "error": str(exc)[:300]})
        return f"failed: {exc}"
    return "configured"


def _companion_namespace() -> str:
    return companion_route().rsplit("/", 1)[0]


def _companion_endpoint() -> str:
    return companion_route().rsplit("/", 1)[1]


@dataclass
class DisconnectResult:
    webhooks_deleted: int = 0
    store_errors: list[str] = field(default_factory=list)


def disconnect(runtime, shop_id: int) -> DisconnectResult:
    """Delete our webhooks in the store (best effort) and forget the keys. Idempotent."""
    from plugin.backorders.services import load_shop

    result = DisconnectResult()
    shop = load_shop(runtime, shop_id)
    if shop.platform != PLATFORM:
        raise ValueError("not a WooCommerce shop")
    if shop.is_installed and shop.access_token and shop.api_secret:
        client = runtime.connector(PLATFORM).client(shop)
        try:
            result.webhooks_deleted = len(delete_subscriptions(client, delivery_url(runtime)))
        except WooCommerceError as exc:
            result.store_errors.append(f"webhooks: {exc}")
        try:
            client.delete(_companion_endpoint(), namespace=_companion_namespace())
        except WooCommerceError as exc:
            if exc.status != 404:
                result.store_errors.append(f"companion plugin: {exc}")
    uninstall_shop(runtime.db, PLATFORM, shop.domain)
    log.info("woocommerce store disconnected", extra={"shop": shop.domain, "webhooks_deleted": result.webhooks_deleted,
                                                      "store_errors": len(result.store_errors)})
    return result
