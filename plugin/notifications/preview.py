"""A preview of any kind of email with sample data, in the shop's look and with its own texts.

For the merchant's email settings: what a customer would receive, before any order needs it.
It reads the shop in a short session and writes nothing; the sample links go nowhere real
(no signed link is minted for a preview).
"""
from __future__ import annotations

from datetime import date, timedelta

from plugin.db.models import Shop
from plugin.notifications import kinds
from plugin.locales import choose_locale
from plugin.notifications.contexts import iso, message_context
from plugin.notifications.render import Rendered, render

SAMPLE_CUSTOMER = {"en": "Alex Morgan", "pl": "Anna Kowalska"}
SAMPLE_TITLES = ("Oak desk - Natural / 140 cm", "Linen lamp shade - Small")


def preview(runtime, shop_id: int, kind: str, locale: str, *, today: date | None = None) -> Rendered:
    if kind not in kinds.ALL_KINDS:
        raise ValueError(f"unknown email kind {kind!r}")
    with runtime.db.shop_session(shop_id) as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            raise LookupError(f"shop {shop_id} not found")
        context = sample_context(runtime, shop, kind, choose_locale(locale), today or date.today())
    customer = None if kind == kinds.DIGEST else SAMPLE_CUSTOMER.get(context["locale"], SAMPLE_CUSTOMER["en"])
    return render(context, customer_name=customer)


def sample_context(runtime, shop: Shop, kind: str, locale: str, today: date) -> dict:
    promised, later = today + timedelta(days=12), today + timedelta(days=26)
    lines = [_sample_line(1, SAMPLE_TITLES[0], "DESK-OAK-140", 1, "open", promised)]
    if kind == kinds.CONFIRMATION:
        lines.append(_sample_line(2, SAMPLE_TITLES[1], "LAMP-LINEN-S", 2, "open", today + timedelta(days=20)))
    if kind in (kinds.READY, kinds.SHIPPED):
        lines[0]["status"] = "ready" if kind == kinds.READY else "shipped"
    context = message_context(shop, kind, locale)
    context["order"] = {"id": 0, "name": "#1001"}
    context["lines"] = lines
    shop_url = context["shop"]["url"]
    context["links"] = {"order": shop_url}
    if kind in (kinds.DELAY, kinds.REFUND_OFFER):
        old = promised if kind == kinds.DELAY else today - timedelta(days=3)
        context["change"] = {"old_date": iso(old), "new_date": iso(later), "promise_version": 2}
        lines[0]["promised"] = iso(later)
    if kind == kinds.REFUND_OFFER:
        from plugin.choices.config import link_expiry_days, refund_approval_required

        context["links"] = {"keep": shop_url + "#keep-waiting", "refund": shop_url + "#cancel-and-refund"}
        context["expires_on"] = iso(today + timedelta(days=link_expiry_days(shop)))
        context["approval_required"] = refund_approval_required(shop)
    if kind == kinds.READY:
        context["change"] = {"old_date": iso(promised), "new_date": iso(today + timedelta(days=2)),
                             "promise_version": 1}
    if kind == kinds.REFUND_CONFIRMATION:
        context["extra"] = {"amount": "499.00 PLN" if locale == "pl" else "$499.00"}
        context["links"] = {}
    if kind == kinds.SHIPPED:
        context["extra"] = {"carrier": "DHL", "tracking_number": "JD014600006281930270"}
        context["links"]["tracking"] = "https://www.dhl.com/"
    if kind == kinds.DIGEST:
        context.update(_sample_digest(runtime, shop, today))
    return context


def _sample_line(n: int, title: str, sku: str, quantity: int, status: str, promised: date) -> dict:
    return {"backorder_id": n, "title": title, "sku": sku, "quantity": quantity, "status": status,
            "promised": iso(promised), "earliest": iso(promised - timedelta(days=4)),
            "likely": iso(promised - timedelta(days=2)), "latest": iso(promised + timedelta(days=3))}


def _sample_digest(runtime, shop: Shop, today: date) -> dict:
    from plugin.notifications.digest import admin_link

    row = {"order_name": "#1001", "title": SAMPLE_TITLES[0], "quantity": 1}
    return {
        "order": {},
        "lines": [],
        "links": {"admin": admin_link(runtime, shop)},
        "digest": {
            "day": iso(today),
            "open_count": 3, "delayed_count": 1, "awaiting_count": 1,
            "open": [
                {**row, "promised": iso(today + timedelta(days=12))},
                {"order_name": "#1002", "title": SAMPLE_TITLES[1], "quantity": 2,
                 "promised": iso(today + timedelta(days=20))},
                {"order_name": "#1003", "title": SAMPLE_TITLES[1], "quantity": 1,
                 "promised": iso(today + timedelta(days=20))},
            ],
            "delayed": [{**row, "original": iso(today - timedelta(days=3)), "promised": iso(today + timedelta(days=26))}],
            "awaiting": [{**row, "requested": iso(today)}],
        },
    }
