"""What the Suppliers pages change, through plugin/suppliers/services.py wherever it has the use case.

* create: `create_supplier` (the supplier and its SKU list in one transaction), then the two
  things it does not take (cron, active) in a second short one.
* edit: the supplier's fields in one transaction (locked row; a changed feed URL forgets the
  old ETag; a changed lead time, spread, handling or active flag marks its SKUs' variants
  eta_dirty, since every ETA from this supplier depends on them), then `set_supplier_skus`
  (which marks the SKUs it touched). The built-in "Shopify incoming" supplier keeps its feed.
* upload and sync now: `sync_supplier(source="upload", body=...)` / `sync_supplier()` for URL
  feeds, which record the report (`SyncRun`) the page then shows.
"""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from plugin.admin.supplier_schemas import SupplierIn
from plugin.db.models import Supplier, SupplierSku, SupplyLine, SyncRun, Variant
from plugin.suppliers import services

BUILT_IN = "shopify_incoming"
# Fields whose change moves every ETA the supplier's lots or lead time give.
ETA_FIELDS = ("lead_time_days", "lead_time_spread_days", "handling_days", "active")


class SupplierNotFound(LookupError):
    pass


class SupplierRefused(ValueError):
    """The change cannot be made: `field` (or "") and a catalogue key saying why."""

    def __init__(self, field: str, key: str):
        super().__init__(key)
        self.field, self.key = field, key


def create(runtime, shop_id: int, data: SupplierIn) -> int:
    with runtime.db.shop_session(shop_id) as session:  # the common case, said next to the field
        if session.scalar(select(Supplier.id).where(Supplier.name == data.name)) is not None:
            raise SupplierRefused("name", "form.error.name_taken")
    try:
        supplier = services.create_supplier(
            runtime, shop_id, name=data.name, email=data.email, lead_time_days=data.lead_time_days,
            lead_time_spread_days=data.lead_time_spread_days, handling_days=data.handling_days,
            feed_kind=data.feed_kind, feed_url=data.feed_url, feed_format=data.feed_format,
            feed_auth_header=data.feed_auth_header or None, sync_interval_minutes=data.sync_interval_minutes,
            primary_skus=data.primary_skus, substitute_skus=data.substitute_skus)
    except services.SupplierInvalid as exc:
        if "already exists" in str(exc):
            raise SupplierRefused("name", "form.error.name_taken") from None
        raise SupplierRefused("", "form.error.supplier_invalid") from exc
    if data.sync_cron or not data.active:
        with runtime.db.shop_session(shop_id) as session:
            session.execute(update(Supplier).where(Supplier.id == supplier.id)
                            .values(sync_cron=data.sync_cron, active=data.active))
    return supplier.id


def edit(runtime, shop_id: int, supplier_id: int, data: SupplierIn) -> None:
    try:
        with runtime.db.shop_session(shop_id) as session:
            supplier = session.scalars(select(Supplier).where(Supplier.id == supplier_id).with_for_update()).one_or_none()
            if supplier is None:
                raise SupplierNotFound(supplier_id)
            built_in = supplier.feed_kind == BUILT_IN
            moved = any(getattr(supplier, name) != getattr(data, name) for name in ETA_FIELDS)
            values = {"name": data.name, "email": data.email, "lead_time_days": data.lead_time_days,
                      "lead_time_spread_days": data.lead_time_spread_days, "handling_days": data.handling_days,
                      "active": data.active}
            if not built_in:
                values.update(feed_kind=data.feed_kind, feed_url=data.feed_url, feed_format=data.feed_format,
                              sync_interval_minutes=data.sync_interval_minutes, sync_cron=data.sync_cron)
                if data.feed_url != supplier.feed_url:  # a new address is read whole
                    values.update(feed_etag=None, feed_last_modified=None)
                if data.clear_auth_header:
                    values["feed_auth_header"] = None
                elif data.feed_auth_header:
                    values["feed_auth_header"] = data.feed_auth_header
            for name, value in values.items():
                setattr(supplier, name, value)
            session.flush()
            if moved:
                _mark_supplier_skus_dirty(session, shop_id, supplier_id)
    except IntegrityError:
        raise SupplierRefused("name", "form.error.name_taken") from None
    if not built_in:
        services.set_supplier_skus(runtime, shop_id, supplier_id, primary=data.primary_skus,
                                   substitutes=data.substitute_skus)


def _mark_supplier_skus_dirty(session, shop_id: int, supplier_id: int) -> None:
    skus = select(SupplierSku.sku).where(SupplierSku.shop_id == shop_id, SupplierSku.supplier_id == supplier_id)
    supplied = select(SupplyLine.sku).where(SupplyLine.shop_id == shop_id, SupplyLine.supplier_id == supplier_id,
                                            SupplyLine.status.in_(("ordered", "shipped")))
    session.execute(update(Variant).where(Variant.shop_id == shop_id, Variant.sku.in_(skus.union(supplied)))
                    .values(eta_dirty=True, eta_revision=Variant.eta_revision + 1)
                    .execution_options(synchronize_session=False))


def _feed_kind(runtime, shop_id: int, supplier_id: int) -> str:
    with runtime.db.shop_session(shop_id) as session:
        kind = session.scalar(select(Supplier.feed_kind).where(Supplier.id == supplier_id))
    if kind is None:
        raise SupplierNotFound(supplier_id)
    return kind


def upload(runtime, shop_id: int, supplier_id: int, body: bytes) -> SyncRun:
    """Apply an uploaded file: good rows apply, each bad one is reported with its line."""
    if _feed_kind(runtime, shop_id, supplier_id) == BUILT_IN:
        raise SupplierRefused("file", "suppliers.upload_not_here")
    return services.sync_supplier(runtime, shop_id, supplier_id, source="upload", body=body)


def sync_now(runtime, shop_id: int, supplier_id: int) -> SyncRun:
    """Fetch a URL feed now (outside its schedule), or read the store's incoming shipments."""
    kind = _feed_kind(runtime, shop_id, supplier_id)
    if kind == BUILT_IN:
        return services.sync_shopify_incoming(runtime, shop_id)
    if kind != "url":
        raise SupplierRefused("", "suppliers.sync_not_url")
    return services.sync_supplier(runtime, shop_id, supplier_id)
