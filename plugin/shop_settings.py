"""Per-shop settings the merchant can change, with their defaults.

`Shop.setting(name)` returns the stored value or the default here. Settings that are maps
(`email_kinds`, `email_texts`) are read through the helpers below, which merge what the shop
stored over the defaults, so a kind added later is on for every shop that never touched it.
"""
from __future__ import annotations

DEFAULT_EMAIL_KINDS: dict[str, bool] = {
    # To the customer.
    "confirmation": True,         # an order with backordered lines was processed
    "delay": True,                # the promised date moved later
    "refund_offer": True,         # the delay ran past the refund threshold: keep waiting or refund
    "refund_confirmation": True,  # the line was refunded
    "ready": True,                # stock arrived, the line ships soon
    "shipped": True,              # the backordered line is on its way
    # To the merchant.
    "digest": True,               # daily: open lines, delayed lines, refund requests awaiting approval
}

DEFAULT_SHOP_SETTINGS: dict[str, object] = {
    # Tag written on orders that have at least one backordered line.
    "order_tag": "backorder",
    # Until supplier ETAs are known (supplier feeds), a backorder ships this many days after the order.
    "default_lead_time_days": 14,
    # The promise told to customers is this quantile of the ETA distribution (P80 by default).
    "promise_quantile": 0.8,
    # A promise that moves later by more than this many days is a delay worth telling the customer.
    "delay_grace_days": 2,
    # A line whose ETA has run this many days past its original promise gets a refund offer.
    "refund_threshold_days": 14,
    # -- emails ------------------------------------------------------------------------------------
    # Which kinds are sent: {kind: bool}, merged over DEFAULT_EMAIL_KINDS (see email_kind_enabled).
    "email_kinds": {},
    # The From display name (None: the shop's name) and Reply-To address (None: none).
    "email_sender_name": None,
    "email_reply_to": None,
    # Where the daily digest goes (None: no digest), and in which language.
    "merchant_email": None,
    "merchant_locale": "en",
    # Look of the emails: a #rrggbb colour for the header and buttons, an https logo URL.
    "brand_color": "#2f5d50",
    "logo_url": None,
    # Where a customer can see or cancel the order when the platform gave no order status page
    # (None: the shop's storefront, https://<domain>/).
    "order_help_url": None,
    # Subject and intro overrides: {kind: {locale: {"subject": str, "intro": str}}}; placeholders
    # such as {shop_name} and {order_name} are filled in (see plugin/notifications/catalog.py).
    "email_texts": {},
    # -- the customer's choice -------------------------------------------------------------------
    # "Cancel and refund" waits for the merchant's approval instead of refunding at once.
    "require_refund_approval": False,
    # Keep-or-refund links stop working this many days after the email was written.
    "refund_link_expiry_days": 14,
    # -- WooCommerce -------------------------------------------------------------------------------
    # The order note telling a backorder's ship date goes to the customer (WooCommerce emails it)
    # instead of staying private to the shop's staff.
    "woocommerce_note_to_customer": False,
}


def email_kind_enabled(shop, kind: str) -> bool:
    stored = shop.setting("email_kinds") or {}
    if not isinstance(stored, dict):
        stored = {}
    return bool(stored.get(kind, DEFAULT_EMAIL_KINDS.get(kind, False)))


def email_text_override(shop, kind: str, locale: str, part: str) -> str | None:
    """The merchant's own subject or intro for this kind and language, if there is one."""
    texts = shop.setting("email_texts") or {}
    value = ((texts.get(kind) or {}).get(locale) or {}).get(part) if isinstance(texts, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None
