"""What the Products page reads and the one thing it writes: a variant's manual ETA or lead time.

The list pages over `variants` alone (SKU order, the (shop_id, sku) index; a search by SKU
prefix or title words; optionally only variants with waiting lines), then reads the page's
figures in three grouped queries bounded by the page: waiting backorder units per variant,
open supply per SKU (ordered or shipped supply lines: what is still to come), and the SKU's
supplier (the primary one in the supplier's SKU list, else a substitute, else whoever has
supply on the way).

`set_manual_eta` stores the merchant's date or lead time on the variant and recomputes its SKU
in the same transaction (plugin/eta/recompute.py reads both: see Variant.manual_eta), exactly
as a line's ETA override does, so the lines' dates, the delay emails a later date causes and
the orders' store marks follow at once.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import exists, func, select, update

from plugin.admin.product_schemas import ManualEtaIn, ProductPage, ProductQuery, ProductRow, ProductSupplier
from plugin.admin.queries import _matching_variants
from plugin.db.models import Backorder, Shop, Supplier, SupplierSku, SupplyLine, Variant

WAITING = ("open", "ready")
INCOMING = ("ordered", "shipped")


class VariantNotFound(LookupError):
    """No such variant in this shop (another shop's id looks exactly like a missing one)."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _waiting_exists():
    return exists().where(Backorder.shop_id == Variant.shop_id, Backorder.variant_id == Variant.id,
                          Backorder.status.in_(WAITING))


def _conditions(query: ProductQuery) -> list:
    conditions = []
    if query.q:
        conditions.append(Variant.id.in_(_matching_variants(query.q)))
    if query.backordered:
        conditions.append(_waiting_exists())
    return conditions


def list_products(runtime, shop_id: int, query: ProductQuery, *, today: date | None = None) -> ProductPage:
    today = today or utcnow().date()
    conditions = _conditions(query)
    with runtime.db.shop_session(shop_id) as session:
        total = session.scalar(select(func.count()).select_from(Variant).where(*conditions)) or 0
        variants = list(session.scalars(
            select(Variant).where(*conditions).order_by(Variant.sku.asc().nulls_last(), Variant.id.asc())
            .limit(query.per_page).offset((query.page - 1) * query.per_page)))
        rows = _rows(session, variants, today)
    pages = max(1, -(-total // query.per_page))
    return ProductPage(rows=rows, total=total, page=query.page, per_page=query.per_page, pages=pages)


def product_row(runtime, shop_id: int, variant_id: int, *, today: date | None = None) -> ProductRow | None:
    with runtime.db.shop_session(shop_id) as session:
        variant = session.get(Variant, variant_id)
        if variant is None or variant.shop_id != shop_id:
            return None
        return _rows(session, [variant], today or utcnow().date())[0]


def _rows(session, variants: list[Variant], today: date) -> list[ProductRow]:
    if not variants:
        return []
    ids = [v.id for v in variants]
    skus = sorted({v.sku for v in variants if v.sku})
    waiting: dict[int, tuple] = {}
    for variant_id, units, lines, first, last in session.execute(
            select(Backorder.variant_id, func.sum(Backorder.quantity), func.count(),
                   func.min(Backorder.current_eta), func.max(Backorder.current_eta))
            .where(Backorder.variant_id.in_(ids), Backorder.status.in_(WAITING)).group_by(Backorder.variant_id)):
        waiting[variant_id] = (int(units or 0), int(lines), _day(first), _day(last))
    incoming: dict[str, tuple] = {}
    on_order_supplier: dict[str, int] = {}
    if skus:
        for sku, units, lots, first in session.execute(
                select(SupplyLine.sku, func.sum(SupplyLine.quantity), func.count(), func.min(SupplyLine.expected_date))
                .where(SupplyLine.sku.in_(skus), SupplyLine.status.in_(INCOMING)).group_by(SupplyLine.sku)):
            incoming[sku] = (int(units or 0), int(lots), _day(first))
        for sku, supplier_id in session.execute(
                select(SupplyLine.sku, func.min(SupplyLine.supplier_id))
                .where(SupplyLine.sku.in_(skus), SupplyLine.status.in_(INCOMING)).group_by(SupplyLine.sku)):
            on_order_supplier[sku] = supplier_id
    suppliers = _suppliers_of(session, skus, on_order_supplier)
    rows = []
    for v in variants:
        units, lines, first, last = waiting.get(v.id, (0, 0, None, None))
        supply_units, supply_lots, supply_next = incoming.get(v.sku or "", (0, 0, None))
        manual = v.manual_eta
        rows.append(ProductRow(
            id=v.id, sku=v.sku, title=_title(v), sellable=v.sellable_quantity, tracked=v.inventory_tracked,
            continue_selling=v.continue_selling, incoming_units=supply_units, incoming_lots=supply_lots,
            incoming_next_date=supply_next, backordered_units=units, backordered_lines=lines,
            lines_eta_first=first, lines_eta_last=last,
            eta_promise=v.next_eta_promise, eta_earliest=v.next_eta_earliest, eta_likely=v.next_eta_likely,
            eta_latest=v.next_eta_latest, eta_covered_by=v.next_eta_covered_by,
            supplier=suppliers.get(v.sku or ""), manual_eta=manual,
            manual_eta_passed=manual is not None and manual < today,
            manual_lead_time_days=v.manual_lead_time_days))
    return rows


def _suppliers_of(session, skus: list[str], fallback: dict[str, int]) -> dict[str, ProductSupplier]:
    if not skus:
        return {}
    found: dict[str, ProductSupplier] = {}
    listed = session.execute(
        select(SupplierSku.sku, SupplierSku.role, Supplier.id, Supplier.name, Supplier.lead_time_days)
        .join(Supplier, Supplier.id == SupplierSku.supplier_id)
        .where(SupplierSku.sku.in_(skus), Supplier.active.is_(True))
        .order_by(SupplierSku.sku, SupplierSku.role, Supplier.id)).all()  # "primary" sorts before "substitute"
    for sku, role, supplier_id, name, lead in listed:
        found.setdefault(sku, ProductSupplier(id=supplier_id, name=name, role=role, lead_time_days=lead))
    missing = {sku: sid for sku, sid in fallback.items() if sku not in found}
    if missing:
        known = {sid: (name, lead) for sid, name, lead in session.execute(
            select(Supplier.id, Supplier.name, Supplier.lead_time_days).where(Supplier.id.in_(set(missing.values()))))}
        for sku, supplier_id in missing.items():
            if supplier_id in known:
                name, lead = known[supplier_id]
                found[sku] = ProductSupplier(id=supplier_id, name=name, role="supply", lead_time_days=lead)
    return found


def _title(variant: Variant) -> str:
    product, title = variant.product_title or "", variant.title or ""
    if product and title and title != product and title.lower() != "default title":
        return f"{product} – {title}"
    return product or title or variant.sku or variant.platform_variant_id


def _day(value):
    if isinstance(value, str):  # SQLite's min()/max() of a date column come back as text
        return date.fromisoformat(value[:10])
    return value


# -- the manual ETA / lead time ---------------------------------------------------------------
def set_manual_eta(runtime, shop_id: int, variant_id: int, change: ManualEtaIn) -> set[int]:
    """Store the variant's manual ETA and lead time (None clears) and recompute its SKU now.

    Returns the ids of the orders whose store marks changed (the caller pushes them)."""
    from plugin.eta.recompute import recompute_variants_in_session

    with runtime.db.shop_session(shop_id) as session:
        variant = session.scalars(select(Variant).where(Variant.id == variant_id).with_for_update()).one_or_none()
        if variant is None:
            raise VariantNotFound(variant_id)
        if (variant.manual_eta, variant.manual_lead_time_days) == (change.manual_eta, change.manual_lead_time_days):
            return set()
        session.execute(update(Variant).where(Variant.id == variant_id).values(
            manual_eta=change.manual_eta, manual_lead_time_days=change.manual_lead_time_days,
            eta_dirty=True, eta_revision=Variant.eta_revision + 1))
        shop = session.get(Shop, shop_id)
        return set(recompute_variants_in_session(runtime, session, shop, [variant_id]).order_ids)
