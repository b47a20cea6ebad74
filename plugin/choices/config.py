"""The shop settings the choice reads, each read defensively: a missing or malformed value is the default.

The settings themselves are declared with the email settings (plugin/shop_settings.py); this
module never assumes a name is there, so a shop saved before a setting existed still works.
"""
from __future__ import annotations

DEFAULT_LINK_EXPIRY_DAYS = 14
MAX_LINK_EXPIRY_DAYS = 365


def _stored(shop, name: str):
    stored = shop.settings if isinstance(getattr(shop, "settings", None), dict) else {}
    if name in stored:
        return stored[name]
    try:
        from plugin.shop_settings import DEFAULT_SHOP_SETTINGS
    except ImportError:  # pragma: no cover - the module is always there; its names may not be
        return None
    return DEFAULT_SHOP_SETTINGS.get(name)


def link_expiry_days(shop) -> int:
    """How long keep-or-refund links work after the email was written (1..365 days)."""
    value = _stored(shop, "refund_link_expiry_days")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return DEFAULT_LINK_EXPIRY_DAYS
    try:
        days = int(value)
    except ValueError:
        return DEFAULT_LINK_EXPIRY_DAYS
    return min(max(days, 1), MAX_LINK_EXPIRY_DAYS) if days > 0 else DEFAULT_LINK_EXPIRY_DAYS


def refund_approval_required(shop) -> bool:
    """True: "cancel and refund" waits in the merchant's queue instead of refunding at once."""
    value = _stored(shop, "require_refund_approval")
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
