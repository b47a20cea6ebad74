"""Storefront availability: a variant's "ships by" date and the shop's items sold on backorder.

These read the next-unit promise the ETA recompute keeps on each variant (`Variant.next_eta_*`:
what one more unit ordered now would be promised). A variant counts as *sold on backorder* only
while it is tracked, out of stock, sold anyway (continue selling) and has such a promise; in
every other case the shopper is told nothing, rather than a date that does not apply.

Shop-owned rows are read through `db.shop_session`, so a shop only ever sees its own variants.
Texts exist in English and Polish; dates in the JSON label are formatted with Babel for the
shopper's language. Platform-neutral: the Shopify app proxy (connectors/shopify/app_proxy.py)
verifies the request and renders these views.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from babel.dates import format_date
from sqlalchemy import select

from plugin.db import Database
from plugin.db.models import Shop, Variant

from plugin.locales import DEFAULT_LOCALE

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "label": "Available on backorder — ships by {date}",
        "heading": "Available on backorder",
        "intro": "These items are out of stock right now, but you can order them today: each one ships by "
                 "the date shown.",
        "ships_by": "Ships by",
        "expected": "Expected to ship between {earliest} and {latest}",
        "empty": "Nothing is on backorder right now.",
        "previous": "Previous page",
        "next": "Next page",
        "page": "Page {page}",
    },
    "pl": {
        "label": "Dostępne na zamówienie — wysyłka do {date}",
        "heading": "Dostępne na zamówienie",
        "intro": "Tych produktów chwilowo nie ma w magazynie, ale możesz je zamówić już dziś: każdy wyślemy "
                 "najpóźniej w podanym terminie.",
        "ships_by": "Wysyłka do",
        "expected": "Przewidywana wysyłka: od {earliest} do {latest}",
        "empty": "Obecnie żaden produkt nie jest dostępny na zamówienie.",
        "previous": "Poprzednia strona",
        "next": "Następna strona",
        "page": "Strona {page}",
    },
}




def messages(locale: str) -> dict[str, str]:
    return MESSAGES.get(locale, MESSAGES[DEFAULT_LOCALE])


@dataclass(frozen=True)
class VariantAvailability:
    platform_variant_id: str
    sku: str | None
    product_title: str | None
    variant_title: str | None
    product_handle: str | None
    backorder: bool
    promise: date | None
    earliest: date | None
    likely: date | None
    latest: date | None

    def as_json(self, locale: str) -> dict:
        """The storefront's ETA answer; dates are ISO 8601, the label is in the shopper's language."""
        variant: int | str = int(self.platform_variant_id) if self.platform_variant_id.isdigit() else self.platform_variant_id
        return {
            "variant": variant,
            "backorder": self.backorder,
            "promise": _iso(self.promise),
            "earliest": _iso(self.earliest),
            "likely": _iso(self.likely),
            "latest": _iso(self.latest),
            "label": backorder_label(self.promise, locale) if self.backorder else None,
        }


@dataclass(frozen=True)
class BackorderPage:
    items: list[VariantAvailability]
    page: int
    per_page: int
    has_next: bool


def backorder_label(promise: date | None, locale: str) -> str | None:
    if promise is None:
        return None
    return messages(locale)["label"].format(date=format_date(promise, format="long", locale=locale))


def is_sold_on_backorder(variant: Variant) -> bool:
    return bool(variant.inventory_tracked and variant.continue_selling and variant.sellable_quantity <= 0
                and variant.next_eta_promise is not None)


def installed_shop_id(db: Database, platform: str, domain: str) -> int | None:
    """The id of the shop if the app is installed there now; an uninstalled shop shows nothing."""
    with db.session() as session:
        row = session.execute(
            select(Shop.id, Shop.status).where(Shop.platform == platform, Shop.domain == domain)
        ).first()
    return row.id if row is not None and row.status == "installed" else None


def variant_availability(db: Database, shop_id: int, platform_variant_id: str) -> VariantAvailability | None:
    """None when the shop has no such variant (another shop's variant is, for this shop, unknown)."""
    with db.shop_session(shop_id) as session:
        variant = session.scalars(
            select(Variant).where(Variant.platform_variant_id == platform_variant_id)
        ).one_or_none()
        return _availability(variant) if variant is not None else None


def backorder_page(db: Database, shop_id: int, page: int, per_page: int = 50) -> BackorderPage:
    """The shop's items sold on backorder, by product and variant title, one page of them."""
    page = max(1, page)
    query = (
        select(Variant)
        .where(Variant.next_eta_promise.is_not(None), Variant.continue_selling.is_(True),
               Variant.inventory_tracked.is_(True), Variant.sellable_quantity <= 0)
        # NULL titles last, the same on SQLite and PostgreSQL; the id keeps pages stable.
        .order_by(Variant.product_title.is_(None), Variant.product_title, Variant.title.is_(None),
                  Variant.title, Variant.id)
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    )
    with db.shop_session(shop_id) as session:
        rows = [_availability(v) for v in session.scalars(query)]
    return BackorderPage(items=rows[:per_page], page=page, per_page=per_page, has_next=len(rows) > per_page)


def _availability(variant: Variant) -> VariantAvailability:
    backorder = is_sold_on_backorder(variant)
    return VariantAvailability(
        platform_variant_id=variant.platform_variant_id,
        sku=variant.sku,
        product_title=variant.product_title,
        variant_title=variant.title,
        product_handle=variant.product_handle,
        backorder=backorder,
        promise=variant.next_eta_promise if backorder else None,
        earliest=variant.next_eta_earliest if backorder else None,
        likely=variant.next_eta_likely if backorder else None,
        latest=variant.next_eta_latest if backorder else None,
    )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None
