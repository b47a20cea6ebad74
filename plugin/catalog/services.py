"""Catalogue sync: every variant of the shop, read from the platform, kept in `variants`.

* The platform is read outside any transaction (connector.read_catalog: paging, or a bulk export
  for a large shop); what it yields is written in transactions of CHUNK variants, so a big
  catalogue never holds the write lock for long and a slow store never holds it at all.
* Never back in time: a reading is stamped with the moment the read began (earlier, for a bulk
  export already in flight), and a variant whose stored reading is newer (an order's webhook
  read it meanwhile) is left alone, as plugin/backorders/services.py does.
* A new variant, or one whose ETA inputs changed (SKU, selling policy, tracking, stock at any
  location), gets eta_dirty and its eta_revision bumped: the recompute discards answers computed
  from an older revision. Names and handles are kept current without waking the recompute.
  An unchanged variant only has its reading re-stamped, in one statement per chunk.
* A variant gone from the store keeps its row (order lines and backorders point at it; their
  history stays) but stops being sold on backorder: continue_selling = False, dirty, revision
  bumped, so the storefront stops promising it. Existing backorders of it are not touched: the
  customers who bought it are still owed their units. Only a complete read retires anything,
  and an empty one retires nothing (an empty export is likelier a glitch than an empty shop).
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Iterable, Sequence

from sqlalchemy import or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from connectors.base import VariantStock
from plugin.backorders.services import load_shop
from plugin.db.models import Variant

log = logging.getLogger(__name__)

CHUNK = 1000      # variants per write transaction
IN_CHUNK = 500    # ids per IN (...) list
ATTEMPTS = 3      # a chunk that lost a deadlock (PostgreSQL) is tried again


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def sync_catalog(runtime, shop_id: int, *, bulk: bool | None = None) -> dict:
    """Read the shop's whole catalogue and store it. Returns counts: variants_seen, created,
    changed (ETA inputs), unchanged, stale (a newer reading was kept), retired (gone from the
    store), bulk (whether a bulk export was used). A platform error (ConnectorError) propagates;
    chunks written before it stay, and they are true readings."""
    shop = load_shop(runtime, shop_id)
    started = utcnow()
    read = runtime.connector(shop.platform).read_catalog(shop, bulk=bulk)
    counts = {"variants_seen": 0, "created": 0, "changed": 0, "unchanged": 0, "stale": 0, "retired": 0}
    seen: set[str] = set()
    batch: list[VariantStock] = []
    read_at: datetime | None = None
    for snap in read:
        if snap.platform_variant_id in seen:
            continue
        seen.add(snap.platform_variant_id)
        batch.append(snap)
        if len(batch) >= CHUNK:
            read_at = read_at or min(started, read.read_at or started)
            _apply(runtime, shop_id, batch, read_at, counts)
            batch = []
    read_at = read_at or min(started, read.read_at or started)
    if batch:
        _apply(runtime, shop_id, batch, read_at, counts)
    counts["variants_seen"] = len(seen)
    if seen:
        _retire_missing(runtime, shop_id, seen, read_at, counts)
    else:
        log.warning("catalogue read found no variants; none retired", extra={"shop_id": shop_id})
    counts["bulk"] = bool(read.bulk)
    log.info("catalogue synced", extra={"shop_id": shop_id, "catalog": counts})
    return counts


def _retry(work):
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return work()
        except OperationalError as exc:
            code = getattr(exc.orig, "sqlstate", None)
            if code not in ("40P01", "40001") or attempt == ATTEMPTS:
                raise
            log.info("catalogue chunk lost a lock race; trying again", extra={"sqlstate": code})


def _apply(runtime, shop_id: int, snaps: list[VariantStock], read_at: datetime, counts: dict) -> None:
    def work():
        with runtime.db.shop_session(shop_id) as session:
            return _apply_in_session(session, shop_id, snaps, read_at)

    for key, value in _retry(work).items():
        counts[key] += value


def _chunks(values: Sequence, size: int = IN_CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _lock(session: Session, platform_ids: Sequence[str]) -> dict[str, Variant]:
    """The variants with these ids, row-locked in id order on PostgreSQL (as the order handler
    locks them), so a revision bump is never lost; SQLite's one writer already serialises."""
    postgres = session.get_bind().dialect.name == "postgresql"
    rows: dict[str, Variant] = {}
    for chunk in _chunks(sorted(platform_ids)):
        query = select(Variant).where(Variant.platform_variant_id.in_(chunk)).order_by(Variant.id)
        if postgres:
            query = query.with_for_update()
        rows.update({row.platform_variant_id: row for row in session.scalars(query)})
    return rows


def _reading(snap: VariantStock) -> dict:
    return {"sku": snap.sku, "inventory_tracked": snap.tracked, "continue_selling": snap.continue_selling,
            "sellable_quantity": snap.sellable, "location_quantities": dict(snap.by_location)}


def _names(snap: VariantStock) -> dict:
    return {"platform_product_id": snap.platform_product_id, "title": snap.title,
            "product_title": snap.product_title, "product_handle": snap.product_handle}


def _insert_new(session: Session, shop_id: int, snaps: list[VariantStock], read_at: datetime) -> set[str]:
    """Insert variants not seen before; those another transaction inserted meanwhile are skipped
    (and handled as existing rows by the caller). Returns the ids inserted."""
    now = utcnow()
    table = Variant.__table__
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (insert(table).on_conflict_do_nothing(index_elements=["shop_id", "platform_variant_id"])
                 .returning(table.c.platform_variant_id))
    values = [dict(shop_id=shop_id, platform_variant_id=snap.platform_variant_id, **_names(snap), **_reading(snap),
                   inventory_read_at=read_at, eta_dirty=True, eta_revision=1, storefront_dirty=False, updated_at=now)
              for snap in snaps]
    return set(session.execute(statement, values).scalars())


def _apply_in_session(session: Session, shop_id: int, snaps: list[VariantStock], read_at: datetime) -> dict:
    counts = {"created": 0, "changed": 0, "unchanged": 0, "stale": 0}
    rows = _lock(session, [snap.platform_variant_id for snap in snaps])
    new = [snap for snap in snaps if snap.platform_variant_id not in rows]
    inserted = _insert_new(session, shop_id, new, read_at) if new else set()
    counts["created"] = len(inserted)
    raced = [snap.platform_variant_id for snap in new if snap.platform_variant_id not in inserted]
    if raced:
        rows.update(_lock(session, raced))
    restamp: list[int] = []
    for snap in snaps:
        if snap.platform_variant_id in inserted:
            continue
        row = rows[snap.platform_variant_id]
        if row.inventory_read_at is not None and row.inventory_read_at > read_at:
            counts["stale"] += 1
            continue
        reading = _reading(snap)
        names = {key: value for key, value in _names(snap).items() if value is not None}
        if any(getattr(row, key) != value for key, value in reading.items()):
            for key, value in {**reading, **names}.items():
                setattr(row, key, value)
            row.inventory_read_at = read_at
            row.eta_dirty = True
            row.eta_revision = Variant.eta_revision + 1
            counts["changed"] += 1
        elif any(getattr(row, key) != value for key, value in names.items()):
            for key, value in names.items():  # renamed, or first seen by the catalogue: no ETA input moved
                setattr(row, key, value)
            row.inventory_read_at = read_at
            counts["unchanged"] += 1
        else:
            restamp.append(row.id)
            counts["unchanged"] += 1
    session.flush()
    table = Variant.__table__
    for chunk in _chunks(restamp):
        # The same reading, confirmed at read_at; updated_at keeps saying when the row last changed.
        session.execute(update(table).where(
            table.c.shop_id == shop_id, table.c.id.in_(chunk),
            or_(table.c.inventory_read_at.is_(None), table.c.inventory_read_at < read_at),
        ).values(inventory_read_at=read_at, updated_at=table.c.updated_at))
    return counts


def _retire_missing(runtime, shop_id: int, seen: set[str], read_at: datetime, counts: dict) -> None:
    """Variants the complete read did not contain (and that no newer reading vouches for) are gone
    from the store: they stop selling on backorder; their rows and backorders stay."""
    with runtime.db.shop_session(shop_id) as session:
        candidates = session.execute(select(Variant.id, Variant.platform_variant_id).where(
            Variant.continue_selling == true(),
            or_(Variant.inventory_read_at.is_(None), Variant.inventory_read_at < read_at))).all()
    gone = sorted(variant_id for variant_id, platform_id in candidates if platform_id not in seen)
    for start in range(0, len(gone), CHUNK):
        chunk = gone[start:start + CHUNK]

        def work(chunk=chunk):
            retired = 0
            with runtime.db.shop_session(shop_id) as session:
                for ids in _chunks(chunk):
                    retired += session.execute(
                        update(Variant).where(Variant.id.in_(ids), Variant.continue_selling == true(),
                                              or_(Variant.inventory_read_at.is_(None), Variant.inventory_read_at < read_at))
                        .values(continue_selling=False, inventory_read_at=read_at, eta_dirty=True,
                                eta_revision=Variant.eta_revision + 1)
                        .execution_options(synchronize_session=False)).rowcount
            return retired

        counts["retired"] += _retry(work)
