"""The data model. Every row that belongs to a shop carries shop_id and is filtered by ShopScope."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

from plugin.db.types import EncryptedText, UTCDateTime


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class ShopOwned:
    """Mixin for rows that belong to one shop; a shop-scoped session only ever sees its own."""

    @declared_attr
    def shop_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)


class ShopOwnedWithoutKey(ShopOwned):
    """For the rows an ETA recompute writes by the hundred thousand (order marks, events, tally
    changes): `shop_id` without a foreign key (migration 0020). PostgreSQL checks a key for every
    inserted row with a query of its own (~0.1 s of a 1,000-SKU recompute's ~1.2 s of server
    time); the shop's row is there for as long as its rows are being written. Deleting a
    shop deletes these rows through the trigger shops_delete_bulk_rows."""

    @declared_attr
    def shop_id(cls) -> Mapped[int]:
        return mapped_column(Integer, index=True)


class Shop(Base):
    __tablename__ = "shops"
    __table_args__ = (UniqueConstraint("platform", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    domain: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default="installed")  # installed | uninstalled
    access_token: Mapped[str | None] = mapped_column(EncryptedText)
    access_token_expires_at: Mapped[datetime | None]
    refresh_token: Mapped[str | None] = mapped_column(EncryptedText)
    refresh_token_expires_at: Mapped[datetime | None]
    scopes: Mapped[str | None] = mapped_column(Text)
    # WooCommerce: the store's base URL (scheme and path: WordPress may live in a folder), the
    # REST consumer secret (the key is access_token) and the secret its webhooks are signed with.
    store_url: Mapped[str | None] = mapped_column(String(512))
    api_secret: Mapped[str | None] = mapped_column(EncryptedText)
    webhook_secret: Mapped[str | None] = mapped_column(EncryptedText)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    installed_at: Mapped[datetime | None]
    uninstalled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def is_installed(self) -> bool:
        return self.status == "installed"

    def setting(self, name: str):
        from plugin.shop_settings import DEFAULT_SHOP_SETTINGS

        return (self.settings or {}).get(name, DEFAULT_SHOP_SETTINGS[name])


class Variant(ShopOwned, Base):
    __tablename__ = "variants"
    __table_args__ = (UniqueConstraint("shop_id", "platform_variant_id"), Index(None, "shop_id", "sku"))

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_variant_id: Mapped[str] = mapped_column(String(255))
    platform_product_id: Mapped[str | None] = mapped_column(String(255))
    sku: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(512))
    inventory_tracked: Mapped[bool] = mapped_column(Boolean, default=True)
    continue_selling: Mapped[bool] = mapped_column(Boolean, default=False)
    sellable_quantity: Mapped[int] = mapped_column(Integer, default=0)
    location_quantities: Mapped[dict[str, Any]] = mapped_column(default=dict)
    inventory_read_at: Mapped[datetime | None]
    # Set when stock, supply or backorders of this variant changed: the next recompute takes it.
    eta_dirty: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # Bumped with every such change. A recompute that read revision r writes its answer only
    # while the variant is still at r, so a change made while it computed is never lost.
    eta_revision: Mapped[int] = mapped_column(Integer, default=0)
    product_title: Mapped[str | None] = mapped_column(String(512))
    product_handle: Mapped[str | None] = mapped_column(String(255))
    # What one more unit ordered now would be promised (the storefront's "ships by" date), kept
    # only while the variant is out of stock and sold anyway; computed by the ETA recompute.
    next_eta_promise: Mapped[date | None] = mapped_column(Date)
    next_eta_earliest: Mapped[date | None] = mapped_column(Date)
    next_eta_likely: Mapped[date | None] = mapped_column(Date)
    next_eta_latest: Mapped[date | None] = mapped_column(Date)
    next_eta_covered_by: Mapped[str | None] = mapped_column(String(20))
    # The merchant's word for this variant (admin Products page), read by the ETA recompute:
    # `manual_eta` is promised to its lines not covered by stock while the day has not passed;
    # `manual_lead_time_days` replaces the supplier's lead time for lines nothing is on order for
    # (today + that many days). None: the engine decides. A line's own override still wins.
    manual_eta: Mapped[date | None] = mapped_column(Date)
    manual_lead_time_days: Mapped[int | None] = mapped_column(Integer)
    # Digest of the storefront metafield value it should have, and of what the store holds
    # (None: nothing). They differ -> storefront_dirty, and the push job writes or clears it.
    storefront_digest: Mapped[str | None] = mapped_column(String(64))
    storefront_pushed_digest: Mapped[str | None] = mapped_column(String(64))
    storefront_dirty: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Order(ShopOwned, Base):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("shop_id", "platform_order_id"),)

    # No index of its own: the unique key above starts with it (migration 0012).
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    id: Mapped[int] = mapped_column(primary_key=True)
    platform_order_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    customer_name: Mapped[str | None] = mapped_column(String(255))
    customer_locale: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | cancelled
    placed_at: Mapped[datetime]
    platform_updated_at: Mapped[datetime | None]
    currency: Mapped[str | None] = mapped_column(String(3))  # the shop's currency of the line prices
    tags_written: Mapped[str | None] = mapped_column(String(255))
    etas_written: Mapped[str | None] = mapped_column(Text)  # the metafield value last written
    # Whether the store must be told again (a line's ETA or status changed): an OrderMark row.
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", cascade="all, delete-orphan")


class OrderMark(ShopOwnedWithoutKey, Base):
    """An order whose ETAs or status changed since the store was told (migration 0014): the push
    job writes its marks (tag, line ETAs metafield) and deletes the row (plugin/backorders/marks.py).

    A narrow table of its own rather than a flag on orders: a recompute marks hundreds of
    thousands of orders at once, and rewriting each order row for one flag (on PostgreSQL a new
    row version with an entry in every index; on SQLite a page of the wide orders table each)
    cost about as much as the lines' own updates. Keyed (shop, order): the push job's pages.
    """

    __tablename__ = "order_marks"
    __table_args__ = {"sqlite_with_rowid": False}

    shop_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # (no foreign key: ShopOwnedWithoutKey)
    # No foreign key: on PostgreSQL its check row-locks the order, a WAL write per mark (migration
    # 0017). Deleting orders deletes their marks (trigger orders_delete_marks).
    order_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrderLine(ShopOwned, Base):
    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "platform_line_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    platform_line_id: Mapped[str] = mapped_column(String(255))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id", ondelete="SET NULL"), index=True)
    sku: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(512))
    quantity: Mapped[int] = mapped_column(Integer)
    open_quantity: Mapped[int] = mapped_column(Integer)  # ordered, not yet fulfilled or removed
    # One unit's price in the order's currency, before discounts (the payload's `price`): what the
    # admin's "value waiting to ship" multiplies by the backordered units.
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 4, asdecimal=True))

    order: Mapped[Order] = relationship(back_populates="lines")
    variant: Mapped[Variant | None] = relationship()
    backorder: Mapped["Backorder | None"] = relationship(back_populates="line", uselist=False)


BACKORDER_STATUSES = ("open", "ready", "shipped", "cancelled", "refunded")
BACKORDERS_FILLFACTOR = 70  # PostgreSQL; see Backorder.__table_args__


class Backorder(ShopOwned, Base):
    __tablename__ = "backorders"
    __table_args__ = (
        Index(None, "shop_id", "variant_id", "status"),
        # The admin's list and overview: filters on status with the promised date or the order
        # time, and by supplier. (Promises kept are counted in the tallies, by ship day: no index
        # on shipped_at, which every line a recompute moves would get an entry in on PostgreSQL.)
        Index(None, "shop_id", "status", "promised_eta"),
        Index(None, "shop_id", "status", "ordered_at"),
        Index(None, "shop_id", "supplier_id", "status"),
        # The few lines with a merchant's ETA override, found per batch by the recompute.
        Index("ix_backorders_overridden", "shop_id", "variant_id",
              postgresql_where=text("eta_override IS NOT NULL"), sqlite_where=text("eta_override IS NOT NULL")),
        # PostgreSQL: pages filled to 70 % (migration 0021), so that a recompute's update of a
        # line that moves no indexed column finds room on the line's page and is a HOT update
        # (no index entries). At 100 % the first full recompute left every live row on a full
        # page, and of the next day's 822,068 updates 77 were HOT (with 70 %: 519,898).
        {"postgresql_with": {"fillfactor": BACKORDERS_FILLFACTOR}},
    )

    # No index of its own: every index above starts with it (migration 0012), and PostgreSQL
    # writes an entry in each index for every line an ETA recompute moves.
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"), unique=True)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id", ondelete="SET NULL"))
    quantity: Mapped[int] = mapped_column(Integer)
    # promised_eta: the date last told to the customer (moves only when a delay is announced);
    # original_eta: the first one (refund offers measure from it); current_eta: today's promise.
    promised_eta: Mapped[date | None] = mapped_column(Date)
    original_eta: Mapped[date | None] = mapped_column(Date)
    current_eta: Mapped[date | None] = mapped_column(Date)
    refund_offered_at: Mapped[datetime | None]
    # The engine's range (P10 / P50 / P90) and what covers the line: stock | supply | lead_time.
    eta_earliest: Mapped[date | None] = mapped_column(Date)
    eta_likely: Mapped[date | None] = mapped_column(Date)
    eta_latest: Mapped[date | None] = mapped_column(Date)
    covered_by: Mapped[str | None] = mapped_column(String(20))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id", ondelete="SET NULL"))
    # Bumped whenever the promise given to the customer changes; events and emails key on it.
    promise_version: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[int] = mapped_column(Integer, default=0)  # > 0 jumps the first-come queue
    eta_computed_at: Mapped[datetime | None]
    # The merchant's own ship date for the line (admin "override ETA"), with why and when. While
    # set, the recompute promises this date instead of the engine's (the P10/P50/P90 range stays
    # the engine's), so it survives every recompute; None: the engine decides.
    eta_override: Mapped[date | None] = mapped_column(Date)
    eta_override_reason: Mapped[str | None] = mapped_column(Text)
    eta_override_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="open")
    ordered_at: Mapped[datetime]
    shipped_at: Mapped[datetime | None]  # when the line was seen shipped (promises kept measure it)
    # A copy of the order line's unit price, kept by the database (migration 0009): filled on
    # insert, updated when the line's price changes. The tallies below need it on the row itself.
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 4, asdecimal=True), server_default=FetchedValue())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    line: Mapped[OrderLine] = relationship(back_populates="backorder")


TALLY_BY_DAY, TALLY_BY_SUPPLIER = 1, 2


class _TallyColumns:
    """What a tally row counts: lines, units, their value (lines without a price add no value but
    are counted apart in priced_lines), for one key of backorders.

    grain 1 (TALLY_BY_DAY): waiting lines (open, ready) by (status, promised_eta, slipped,
    day = UTC day ordered) and shipped lines by (promised_eta, day = UTC day shipped).
    grain 2 (TALLY_BY_SUPPLIER): every line by (status, promised_eta, slipped, supplier_id).
    slipped: waiting, and the current ETA is later than the promise (delayed = slipped, or the
    promised day has gone by: the day is known only when reading).
    """

    grain: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    promised_eta: Mapped[date | None] = mapped_column(Date)
    slipped: Mapped[bool] = mapped_column(Boolean)
    supplier_id: Mapped[int | None] = mapped_column(Integer)
    day: Mapped[date | None] = mapped_column(Date)
    lines: Mapped[int] = mapped_column(Integer)
    units: Mapped[int] = mapped_column(Integer)
    value: Mapped[Decimal] = mapped_column(Numeric(18, 4, asdecimal=True))
    priced_lines: Mapped[int] = mapped_column(Integer)


class BackorderTallyChange(_TallyColumns, ShopOwnedWithoutKey, Base):
    """What each write to `backorders` changed in the tallies: appended by database triggers
    (migration 0009), never updated, so concurrent writers never wait on each other here.
    plugin/admin/tallies.py folds them into `backorder_tallies` now and then; readers add both."""

    __tablename__ = "backorder_tally_changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)


class BackorderTally(_TallyColumns, ShopOwned, Base):
    """The admin's counts of backorder lines, folded: one row per key (see _TallyColumns)."""

    __tablename__ = "backorder_tallies"
    __table_args__ = (
        Index("uq_backorder_tallies_key", "shop_id", "grain", "status", "promised_eta", "slipped", "supplier_id", "day",
              unique=True, postgresql_nulls_not_distinct=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)


class BackorderTallyPause(Base):
    """A shop whose tally update triggers are paused (SQLite, migration 0010): present only inside
    the transaction of a bulk line write that tallies its lines itself (plugin/eta/bulk.py), and
    deleted before that transaction commits, so no other statement ever sees one."""

    __tablename__ = "backorder_tally_pauses"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)


class Supplier(ShopOwned, Base):
    __tablename__ = "suppliers"
    __table_args__ = (UniqueConstraint("shop_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    lead_time_days: Mapped[int] = mapped_column(Integer, default=14)
    lead_time_spread_days: Mapped[int] = mapped_column(Integer, default=0)
    handling_days: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Feed: "url" (fetched on a schedule), "upload" (CSV sent through the app), "manual" (typed in),
    # "shopify_incoming" (the store's own inventory shipments).
    feed_kind: Mapped[str] = mapped_column(String(30), default="manual")
    feed_url: Mapped[str | None] = mapped_column(Text)
    feed_format: Mapped[str | None] = mapped_column(String(10))  # csv | json
    feed_auth_header: Mapped[str | None] = mapped_column(EncryptedText)  # e.g. "Authorization: Bearer ..."
    feed_etag: Mapped[str | None] = mapped_column(Text)
    feed_last_modified: Mapped[str | None] = mapped_column(String(100))
    sync_interval_minutes: Mapped[int] = mapped_column(Integer, default=360)
    sync_cron: Mapped[str | None] = mapped_column(String(100))
    last_synced_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    skus: Mapped[list["SupplierSku"]] = relationship(back_populates="supplier", cascade="all, delete-orphan")


class SupplierSku(ShopOwned, Base):
    """Which SKUs a supplier supplies: the primary source, or a substitute when the primary cannot."""

    __tablename__ = "supplier_skus"
    __table_args__ = (UniqueConstraint("supplier_id", "sku"), Index(None, "shop_id", "sku"))

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="primary")  # primary | substitute

    supplier: Mapped[Supplier] = relationship(back_populates="skus")


SUPPLY_STATUSES = ("ordered", "shipped", "received", "cancelled")


class SupplyLine(ShopOwned, Base):
    """Incoming stock from a supplier (a purchase-order line), kept current by the supplier's feed."""

    __tablename__ = "supply_lines"
    __table_args__ = (
        UniqueConstraint("supplier_id", "po_reference", "sku"),
        Index(None, "shop_id", "sku"),
        # The lateness fit's history (BulkSql.lateness_history): its GROUP BY read in index order,
        # without the table or a sort. The WHERE is the query's, word for word (SQLite's rule).
        Index("ix_supply_lines_history", "shop_id", "supplier_id", "promised_date", "received_date",
              postgresql_where=text("status <> 'cancelled' AND promised_date IS NOT NULL"),
              sqlite_where=text("status <> 'cancelled' AND promised_date IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id", ondelete="SET NULL"))
    sku: Mapped[str] = mapped_column(String(255))
    location: Mapped[str | None] = mapped_column(String(255))  # platform location id; None: any
    quantity: Mapped[int] = mapped_column(Integer)
    # First date the supplier promised; expected_date is the current one. Their gap, and the
    # actual receipt date, are what supplier lateness is learnt from.
    promised_date: Mapped[date | None] = mapped_column(Date)
    expected_date: Mapped[date | None] = mapped_column(Date)
    received_date: Mapped[date | None] = mapped_column(Date)
    po_reference: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default="ordered")
    tracking: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(30), default="manual")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SupplyLineChange(ShopOwned, Base):
    """History: every change of a PO line's expected date or status, with where it came from."""

    __tablename__ = "supply_line_changes"
    __table_args__ = (Index(None, "supply_line_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supply_line_id: Mapped[int] = mapped_column(ForeignKey("supply_lines.id", ondelete="CASCADE"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    old_expected_date: Mapped[date | None] = mapped_column(Date)
    new_expected_date: Mapped[date | None] = mapped_column(Date)
    old_status: Mapped[str | None] = mapped_column(String(20))
    new_status: Mapped[str | None] = mapped_column(String(20))
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))


class SyncRun(ShopOwned, Base):
    """One supplier feed sync and its report: counts, and each rejected row with line and reason."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        Index(None, "supplier_id", "started_at"),
        # The latest run that changed what supplier lateness is learnt from (plugin/eta/recompute.py).
        Index("ix_sync_runs_history", "shop_id", "id", postgresql_where=text("history_changed"),
              sqlite_where=text("history_changed")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(30))  # url | upload | manual | shopify_incoming
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | ok | partial | failed | not_modified
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_applied: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[Any]] = mapped_column(default=list)  # [{"line": 7, "reason": "..."}]
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # Whether it changed the purchase-order history lateness is fitted on: a line added, received,
    # cancelled (or back), or given its first promised date. A sync that only moves expected dates
    # leaves the stored lateness fit (LatenessFit) good.
    history_changed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class LatenessFit(Base):
    """The shop's last fitted supplier-lateness model, kept so that a recompute in a fresh process
    (a restarted worker, `backorder-desk recompute`) need not read and fit the whole PO history.

    Good while nothing changed the history and the day is the same: `history_run_id` is the
    latest SyncRun with history_changed (0: none), `fitted_for` the fit's today, `fit_version`
    plugin.domain.lateness.FIT_VERSION; `state` is LatenessModel.to_state() as JSON text.
    """

    __tablename__ = "lateness_fits"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    history_run_id: Mapped[int] = mapped_column(Integer)
    fitted_for: Mapped[date] = mapped_column(Date)
    fit_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BackorderEvent(ShopOwnedWithoutKey, Base):
    """What the ETA engine noticed about a line, kept for the emails and the admin to act on."""

    __tablename__ = "backorder_events"
    __table_args__ = (
        UniqueConstraint("backorder_id", "kind", "promise_version"),
        # The events whose emails the outbox job has not queued yet (plugin/notifications/event_messages.py).
        Index("ix_backorder_events_unhandled", "shop_id", "id", postgresql_where=text("handled_at IS NULL"),
              sqlite_where=text("handled_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key, as order_marks.order_id (migration 0017): deleting lines deletes their
    # events (trigger backorders_delete_events). The unique key below serves lookups by line.
    backorder_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # delay | refund_offer | ready
    promise_version: Mapped[int] = mapped_column(Integer)
    old_date: Mapped[date | None] = mapped_column(Date)
    new_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[datetime | None]  # its emails are in the outbox (or were decided against)


class ComplianceRequest(ShopOwned, Base):
    """A privacy webhook (customers/data_request, customers/redact, shop/redact) and what was done.

    data_request: `export` holds the customer's data as the app had it, for the merchant to send
    on. redact: `export` holds only anonymous counts of what was erased. Keyed by the webhook's
    event so a redelivery is recorded once.
    """

    __tablename__ = "compliance_requests"
    __table_args__ = (UniqueConstraint("shop_id", "topic", "request_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(50))
    request_key: Mapped[str] = mapped_column(String(255))  # data_request id, or the event id
    customer_ref: Mapped[str | None] = mapped_column(String(64))  # a digest, never the address itself
    export: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]


class WebhookEvent(Base):
    """The durable inbox. A row is written before the platform gets its 200; the worker does the rest.

    Not shop-scoped: events arrive before we know (or even have) the shop, and the worker serves all.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("platform", "dedupe_key"),
        Index(None, "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    dedupe_key: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(100))
    shop_domain: Mapped[str | None] = mapped_column(String(255))
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    # pending -> processing -> done | failed (retry later) | dead ; rejected / ignored are final on arrival
    status: Mapped[str] = mapped_column(String(20), default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None]
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]


class Notification(ShopOwned, Base):
    """The email outbox; rows are committed with the event that caused them and sent by a job.

    status: pending -> sending (claimed under a lease) -> sent | failed (retry later) | dead |
    skipped (never to be sent: no address, kind switched off; `reason` says why).
    """

    __tablename__ = "notifications"
    __table_args__ = (Index(None, "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Never contains an address: (kind, line or order, promise version) and the like.
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(50))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    backorder_id: Mapped[int | None] = mapped_column(ForeignKey("backorders.id", ondelete="SET NULL"))
    recipient: Mapped[str | None] = mapped_column(String(320))
    locale: Mapped[str | None] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(Text)
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    # What the message is rendered from (dates, lines, links), kept so a retry renders the same.
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerChoice(ShopOwned, Base):
    """What a customer chose from a delay/refund email: keep waiting, or cancel and refund the line.

    One choice per (line, promise version): the links of one email are single-use together.
    status: recorded (keep) | awaiting_approval | refunding | refunded | failed | rejected.
    """

    __tablename__ = "customer_choices"
    __table_args__ = (UniqueConstraint("backorder_id", "promise_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    backorder_id: Mapped[int] = mapped_column(ForeignKey("backorders.id", ondelete="CASCADE"), index=True)
    promise_version: Mapped[int] = mapped_column(Integer)
    token_id: Mapped[str] = mapped_column(String(64), unique=True)  # the link's nonce (jti)
    choice: Mapped[str] = mapped_column(String(20))  # keep | refund
    status: Mapped[str] = mapped_column(String(20))
    # The date the customer agreed to wait for (keep), or the refund's platform id (refund).
    accepted_eta: Mapped[date | None] = mapped_column(Date)
    refund_reference: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class JobRun(Base):
    __tablename__ = "job_runs"
    # (shop_id, started_at): a shop's own runs, newest first (the admin's Jobs page).
    __table_args__ = (Index(None, "job_name", "started_at"), Index(None, "shop_id", "started_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    job_name: Mapped[str] = mapped_column(String(100))
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | ok | error
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class Heartbeat(Base):
    """Last sign of life of each worker and scheduler process, read by /healthz."""

    __tablename__ = "heartbeats"

    component: Mapped[str] = mapped_column(String(100), primary_key=True)  # e.g. "worker:host:pid"
    kind: Mapped[str] = mapped_column(String(20))  # worker | scheduler
    beat_at: Mapped[datetime] = mapped_column(default=utcnow)


class LaunchNonce(ShopOwned, Base):
    """A WooCommerce admin launch link's nonce, kept while the link could still be replayed.

    Links live 5 minutes (plugin/admin/launch.py); a nonce seen once is refused after that, and
    rows older than the window are deleted as new links arrive.
    """

    __tablename__ = "launch_nonces"
    __table_args__ = (UniqueConstraint("shop_id", "nonce"), Index(None, "used_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime] = mapped_column(default=utcnow)
