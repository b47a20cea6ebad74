"""A Shopify shop's install and uninstall, in Shopify's terms, recorded through plugin.shops.services."""
from __future__ import annotations

import logging
from connectors.base import ConnectorError
from connectors.shopify import operations as ops
from connectors.shopify.graphql import ShopifyGraphQL
from connectors.shopify.http import shopify_http_client
from connectors.shopify.manifest import api_version
from connectors.shopify.shop_domain import InvalidShopDomain, normalize_shop_domain
from connectors.shopify.throttle import BucketModel
from plugin.db.models import Shop
from plugin.shops.services import install_shop, uninstall_shop

log = logging.getLogger(__name__)

PLATFORM = "shopify"


def complete_install(runtime, shop_domain: str, grant) -> Shop:
    """Record the shop with its new credentials (a `tokens.TokenGrant`) and its display name."""
    domain = normalize_shop_domain(shop_domain)
    return install_shop(
        runtime.db,
        platform=PLATFORM,
        domain=domain,
        name=fetch_shop_name(runtime, domain, grant.access_token),
        access_token=grant.access_token,
        access_token_expires_at=grant.access_token_expires_at,
        refresh_token=grant.refresh_token,
        refresh_token_expires_at=grant.refresh_token_expires_at,
        scopes=grant.scopes,
    )


def fetch_shop_name(runtime, shop_domain: str, access_token: str) -> str | None:
    """The store's name from the ShopInfo query; None (keep what we know) if Shopify cannot say now.

    A missing name must not fail an install the merchant is waiting on; the token is what matters.
    """
    with shopify_http_client(runtime) as http:
        # The token was issued a moment ago; a 401 here will not be cured by another one.
        client = ShopifyGraphQL(http, shop_domain, api_version(), lambda _force: access_token,
                                BucketModel(), max_attempts=2)
        try:
            data = client.execute(ops.SHOP_INFO)
        except ConnectorError as exc:
            log.warning("could not read the shop name", extra={"shop": shop_domain, "error": str(exc)[:200]})
            return None
    return ((data or {}).get("shop") or {}).get("name") or None


def on_app_uninstalled(runtime, event) -> None:
    """app/uninstalled: Shopify has already revoked our tokens; forget them and mark the shop.

    Idempotent (a redelivery changes nothing). An event received before the current install (the
    merchant reinstalled before the worker got to it) is ignored, so it cannot undo the reinstall;
    our own receive time is compared with our own install time, so no clock skew is involved.
    """
    payload = event.payload if isinstance(event.payload, dict) else {}
    try:
        domain = normalize_shop_domain(event.shop_domain or payload.get("myshopify_domain"))
    except InvalidShopDomain:
        log.warning("app/uninstalled without a valid shop domain", extra={"event_id": event.id})
        return
    shop = uninstall_shop(runtime.db, PLATFORM, domain, occurred_at=event.received_at)
    log.info("shopify app uninstalled", extra={"shop": domain, "status": shop.status if shop else "unknown"})

