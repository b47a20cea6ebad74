"""WooCommerce facts from manifest.json (scope, webhook topics, the meta keys the companion plugin reads)."""
from __future__ import annotations

from connectors.shopify.manifest import manifest

PLATFORM = "woocommerce"


def woocommerce_manifest() -> dict:
    return manifest()["woocommerce"]


def app_name() -> str:
    return manifest()["name"]


def api_version() -> str:
    return woocommerce_manifest().get("api_version", "wc/v3")


def scope() -> str:
    return woocommerce_manifest()["scope"]


def webhook_topics() -> list[str]:
    return list(woocommerce_manifest()["webhook_topics"])


def line_meta_key() -> str:
    """Hidden order line meta: the ISO date (the companion plugin shows it when no label is there)."""
    return woocommerce_manifest()["line_item_meta"]["key"]


def line_meta_label(locale: str | None) -> str:
    """The visible order line meta's key, in the customer's language when we have it."""
    labels = woocommerce_manifest()["line_item_meta"]["label"]
    language = (locale or "en").replace("_", "-").split("-")[0].lower()
    return labels.get(language, labels["en"])


def line_meta_labels() -> set[str]:
    return set(woocommerce_manifest()["line_item_meta"]["label"].values())


def product_meta_key() -> str:
    """Product / variation meta holding the storefront ETA JSON the companion plugin shows."""
    return woocommerce_manifest()["product_meta_key"]


def companion_route() -> str:
    return woocommerce_manifest()["companion_plugin_route"]
