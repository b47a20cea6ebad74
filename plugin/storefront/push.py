"""Keep each variant's storefront ETA (a metafield the theme reads) equal to what the app promises.

The ETA recompute keeps `Variant.next_eta_*` (what one more unit ordered now would be promised)
and `storefront_digest`, the digest of the value the store should show (None: show nothing), and
sets `storefront_dirty` when that changes. This job writes the dirty ones:

* only what changed: a variant whose store value already has the digest is not written again;
* in batches of 25 (Shopify's limit for metafieldsSet and metafieldsDelete), one call each,
  paced by the GraphQL client from the throttle status, so the bucket is never overdrawn;
* what the store holds is recorded per batch (`storefront_pushed_digest`), so a failure half
  way costs only the batch that failed; the flag is cleared only if the value did not move again
  while we wrote it.

The digest covers the dates, not `updated_at`: a recompute that lands on the same dates writes
nothing to the store.
"""
from __future__ import annotations

import hashlib
import json
import logging
from functools import lru_cache
from datetime import date, datetime, timezone

from babel.dates import format_date
from sqlalchemy import bindparam, select, true, update

from plugin.db.models import Shop, Variant

log = logging.getLogger(__name__)

PAGE = 500  # dirty variants read per transaction
BATCH = 25  # metafields per platform call


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def storefront_fields(promise: date | None, earliest: date | None, likely: date | None,
                      latest: date | None) -> dict | None:
    """The metafield's value without its timestamp; None when the storefront should show nothing."""
    if promise is None:
        return None
    return {
        "promise": promise.isoformat(),
        "earliest": (earliest or promise).isoformat(),
        "likely": (likely or promise).isoformat(),
        "latest": (latest or promise).isoformat(),
        # Short English text for themes that show it as is; the app's theme blocks format the
        # dates in the shopper's own language instead.
        "label": _ships_by(promise),
    }


@lru_cache(maxsize=4096)
def _ships_by(promise: date) -> str:
    # Babel formats a date in ~80 us; a full recompute asks for the label of every variant (a
    # hundred thousand), over a few hundred distinct days.
    return f"Ships by {format_date(promise, format='medium', locale='en')}"


@lru_cache(maxsize=65536)
def storefront_digest(promise: date | None, earliest: date | None, likely: date | None,
                      latest: date | None) -> str | None:
    fields = storefront_fields(promise, earliest, likely, latest)
    if fields is None:
        return None
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


_COLUMNS = (Variant.id, Variant.platform_variant_id, Variant.next_eta_promise, Variant.next_eta_earliest,
            Variant.next_eta_likely, Variant.next_eta_latest, Variant.storefront_pushed_digest)


def push_storefront_etas(runtime, shop_id: int) -> dict[str, int]:
    """Write (or remove) the storefront ETA of every dirty variant of the shop; returns counts."""
    counts = {"set": 0, "cleared": 0, "unchanged": 0, "calls": 0}
    with runtime.db.session() as session:
        shop = session.get(Shop, shop_id)
        if shop is None or not shop.is_installed:
            return counts
        session.expunge(shop)
    connector = runtime.connector(shop.platform)
    after = 0
    while True:
        with runtime.db.shop_session(shop_id) as session:
            rows = session.execute(select(*_COLUMNS).where(Variant.storefront_dirty == true(), Variant.id > after)
                                   .order_by(Variant.id).limit(PAGE)).all()
        if not rows:
            break
        after = rows[-1].id
        sets, clears, same = [], [], []
        stamp = utcnow().isoformat(timespec="seconds").replace("+00:00", "Z")
        for row in rows:
            fields = storefront_fields(row.next_eta_promise, row.next_eta_earliest, row.next_eta_likely,
                                       row.next_eta_latest)
            digest = storefront_digest(row.next_eta_promise, row.next_eta_earliest, row.next_eta_likely,
                                       row.next_eta_latest)
            if digest == row.storefront_pushed_digest:
                same.append((row.id, digest))
            elif fields is None:
                clears.append((row, None))
            else:
                value = json.dumps(dict(fields, updated_at=stamp), separators=(",", ":"))
                sets.append((row, digest, value))
        _record_pushed(runtime, shop_id, same)
        counts["unchanged"] += len(same)
        for start in range(0, len(sets), BATCH):
            batch = sets[start:start + BATCH]
            connector.set_variant_etas(shop, [(row.platform_variant_id, value) for row, _, value in batch])
            counts["calls"] += 1
            _record_pushed(runtime, shop_id, [(row.id, digest) for row, digest, _ in batch])
            counts["set"] += len(batch)
        for start in range(0, len(clears), BATCH):
            batch = clears[start:start + BATCH]
            connector.clear_variant_etas(shop, [row.platform_variant_id for row, _ in batch])
            counts["calls"] += 1
            _record_pushed(runtime, shop_id, [(row.id, None) for row, _ in batch])
            counts["cleared"] += len(batch)
    if counts["set"] or counts["cleared"]:
        log.info("storefront etas pushed", extra={"shop_id": shop_id, **counts})
    return counts


def _record_pushed(runtime, shop_id: int, pushed: list[tuple[int, str | None]]) -> None:
    """The store now holds these digests; a variant stays dirty if its value moved meanwhile."""
    if not pushed:
        return
    table = Variant.__table__
    with runtime.db.shop_session(shop_id) as session:
        conn = session.connection()
        conn.execute(update(table).where(table.c.id == bindparam("v_id"), table.c.shop_id == shop_id)
                     .values(storefront_pushed_digest=bindparam("v_digest")),
                     [{"v_id": variant_id, "v_digest": digest} for variant_id, digest in pushed])
        conn.execute(update(table).where(
            table.c.shop_id == shop_id, table.c.id.in_([variant_id for variant_id, _ in pushed]),
            table.c.storefront_digest.is_not_distinct_from(table.c.storefront_pushed_digest))
            .values(storefront_dirty=False))
