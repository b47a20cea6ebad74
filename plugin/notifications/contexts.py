"""What a message is rendered from: plain JSON built from the shop, the order and its lines.

The context is stored with the outbox row, so it holds no personal data: the customer's name
and address are in the recipient and the rendered parts only (which compliance redaction
erases), never here. Dates are ISO strings. Shape:

    {"v": 1, "kind", "locale",
     "shop": {"name", "domain", "url", "brand_color", "logo_url"},
     "envelope": {"from_name", "reply_to"},        # for the sender (outbox.py)
     "order": {"id", "name"},
     "lines": [{"backorder_id", "title", "sku", "quantity", "status",
                "promised", "earliest", "likely", "latest"}],
     "change": {"old_date", "new_date", "promise_version"},   # delay, refund_offer, ready
     "links": {"order", "keep", "refund", "tracking", "admin"},
     "expires_on", "approval_required",             # refund_offer
     "texts": {"subject", "intro"},                 # the merchant's overrides, when set
     "extra": {...},                                # what the caller added (amount, tracking)
     "digest": {...}}                               # the merchant's daily summary
"""
from __future__ import annotations

from datetime import date

from plugin.db.models import Backorder, Order, Shop
from plugin.notifications.render import brand_color, web_url
from plugin.shop_settings import email_text_override

CONTEXT_VERSION = 1


def iso(value: date | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def shop_block(shop: Shop) -> dict:
    return {
        "name": shop.name or shop.domain,
        "domain": shop.domain,
        "url": f"https://{shop.domain}/",
        "brand_color": brand_color(shop.setting("brand_color")),
        "logo_url": web_url(shop.setting("logo_url"), https_only=True),
    }


def envelope_block(shop: Shop) -> dict:
    return {
        "from_name": shop.setting("email_sender_name") or shop.name or shop.domain,
        "reply_to": shop.setting("email_reply_to") or None,
    }


def texts_block(shop: Shop, kind: str, locale: str) -> dict:
    texts = {}
    for part in ("subject", "intro"):
        override = email_text_override(shop, kind, locale, part)
        if override:
            texts[part] = override
    return texts


def order_block(order: Order) -> dict:
    return {"id": order.id, "name": order.name or f"#{order.platform_order_id}"}


def line_block(backorder: Backorder) -> dict:
    line = backorder.line
    return {
        "backorder_id": backorder.id,
        "title": line.title or line.sku or "",
        "sku": line.sku,
        "quantity": backorder.quantity,
        "status": backorder.status,
        "promised": iso(backorder.promised_eta or backorder.current_eta),
        "earliest": iso(backorder.eta_earliest),
        "likely": iso(backorder.eta_likely),
        "latest": iso(backorder.eta_latest),
    }


def order_link(shop: Shop, order_status_url: str | None = None) -> str | None:
    """Where the customer sees (and may cancel) the order: the platform's order status page when
    the caller has it, else the shop's help page setting, else the storefront."""
    return web_url(order_status_url) or web_url(shop.setting("order_help_url")) or f"https://{shop.domain}/"


def message_context(shop: Shop, kind: str, locale: str, *, order: Order | None = None,
                    backorders: list[Backorder] = (), **parts) -> dict:
    return with_order(shop_context(shop, kind, locale), order=order, backorders=backorders, **parts)


def shop_context(shop: Shop, kind: str, locale: str) -> dict:
    """The part of a context that depends on the shop, the kind and the language only: the same
    for every message of a batch, so a caller queueing thousands builds it once."""
    context = {
        "v": CONTEXT_VERSION,
        "kind": kind,
        "locale": locale,
        "shop": shop_block(shop),
        "envelope": envelope_block(shop),
        "order": {},
        "lines": [],
        "change": {},
        "links": {},
        "extra": {},
    }
    texts = texts_block(shop, kind, locale)
    if texts:
        context["texts"] = texts
    return context


def with_order(base: dict, *, order: Order | None = None, backorders=(), **parts) -> dict:
    """A message's context: a shop_context with its order, lines and other parts (None ones left out)."""
    context = dict(base)
    if order is not None:
        context["order"] = order_block(order)
    context["lines"] = [line_block(b) for b in backorders]
    context.update({name: value for name, value in parts.items() if value is not None})
    return context
