"""Which connector serves which platform name; the only place that lists platforms."""
from __future__ import annotations


def build_connector(platform: str, runtime):
    if platform == "shopify":
        from connectors.shopify.connector import ShopifyConnector

        return ShopifyConnector(runtime)
    if platform == "woocommerce":
        from connectors.woocommerce.connector import WooCommerceConnector

        return WooCommerceConnector(runtime)
    raise KeyError(f"unknown platform {platform!r}")


PLATFORMS = ("shopify", "woocommerce")
