"""Shop domains: the only hosts the app ever sends a merchant to or a credential to.

A `shop` parameter is attacker-controlled until checked; an unchecked one turns the install
redirect into an open redirect and the code exchange into sending our client secret anywhere.
ShopifyAPI's `sanitize_shop_domain` does the check (single-label name under myshopify.com).
"""
from __future__ import annotations

from shopify.utils.shop_url import sanitize_shop_domain

MYSHOPIFY = ".myshopify.com"


class InvalidShopDomain(ValueError):
    """The value is not a shop's own `<name>.myshopify.com` domain."""


def normalize_shop_domain(value: str | None) -> str:
    """`Shop.myshopify.com`, `https://shop.myshopify.com/admin` or `shop` -> `shop.myshopify.com`."""
    domain = sanitize_shop_domain(value) if value else None
    if not domain:
        raise InvalidShopDomain(
            f"{str(value)[:100]!r} is not a Shopify store domain; expected your-store.myshopify.com"
        )
    return domain


def shop_name(domain: str) -> str:
    """`shop.myshopify.com` -> `shop`: the form shopify_app's results and refresh calls use."""
    return normalize_shop_domain(domain)[: -len(MYSHOPIFY)]

