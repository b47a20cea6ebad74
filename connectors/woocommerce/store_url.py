"""A WooCommerce store's address as the merchant types it, made canonical.

The store URL is WordPress's home URL: scheme, host, port and the folder WordPress lives in
(`https://example.com/shop`). The shop's `domain` is that without the scheme (`example.com/shop`):
what webhooks name in X-WC-Webhook-Source, and unique per store even when two stores share a host.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from plugin.netguard import PrivateAddress, check_public_url

_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")
# Pages of a WordPress site a merchant may paste instead of its home.
_ADMIN_TAILS = ("/wp-admin", "/wp-login.php", "/wp-json", "/index.php")


class InvalidStoreUrl(ValueError):
    """Not an address we can connect to; the message is for the merchant."""


def normalize_store_url(text: str | None, *, allow_http: bool = False) -> tuple[str, str]:
    """(store_url, domain) of what the merchant typed, or InvalidStoreUrl saying what is wrong."""
    value = (text or "").strip()
    if not value:
        raise InvalidStoreUrl("Enter your store's address, for example https://shop.example.com.")
    if len(value) > 400 or re.search(r"[\s\x00-\x1f\x7f]", value):
        raise InvalidStoreUrl("That does not look like a web address.")
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise InvalidStoreUrl("That does not look like a web address.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise InvalidStoreUrl("The store's address must start with https://.")
    if scheme == "http" and not allow_http:
        raise InvalidStoreUrl("The store must be served over https:// (its API keys travel with every call).")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise InvalidStoreUrl("Enter only the store's address, without a login, '?' or '#' part.")
    host = (parts.hostname or "").rstrip(".")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidStoreUrl("The store's host name is not valid.") from None
    if not (_HOST.match(host) or _is_ip(host)):
        raise InvalidStoreUrl("The store's host name is not valid.")
    path = parts.path.rstrip("/")
    for tail in _ADMIN_TAILS:
        where = path.lower().find(tail)
        if where >= 0:
            path = path[:where]
    path = path.rstrip("/")
    netloc = host if ":" not in host else f"[{host}]"
    default_port = 443 if scheme == "https" else 80
    if port is not None and port != default_port:
        netloc = f"{netloc}:{port}"
    store_url = f"{scheme}://{netloc}{path}"
    domain = f"{netloc}{path}".lower()
    if len(store_url) > 512 or len(domain) > 255:
        raise InvalidStoreUrl("The store's address is too long.")
    return store_url, domain


def check_store_reachable_publicly(store_url: str, *, allow_private: bool) -> None:
    """Refuse stores on loopback, private or link-local addresses (outside dev and test): the app
    would otherwise call its own network for whoever types such an address."""
    try:
        check_public_url(store_url, allow_private=allow_private, what="the store's address")
    except PrivateAddress as exc:
        raise InvalidStoreUrl(str(exc)) from None


def domain_of_source(source: str | None) -> str | None:
    """The shop domain of X-WC-Webhook-Source (WordPress's home_url('/'), so with a slash)."""
    if not source:
        return None
    try:
        return normalize_store_url(source, allow_http=True)[1]
    except InvalidStoreUrl:
        return None


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
