"""What the app writes into a WooCommerce store: order line ETAs, an order note, storefront ETAs.

Order (`write_order_marks`): each backordered line gets two meta, a visible one ("Estimated ship
date: 20 December 2026", its key in the customer's language, manifest.json
woocommerce.line_item_meta.label) that WooCommerce shows on the order screen, in My account and
in its emails, and a hidden `_backorder_desk_eta` with the ISO date for machines (the companion
plugin shows it when the visible one is missing). The order itself carries `_backorder_desk_etas`
(what the lines say, as one digest) and an order note telling the new dates; the note goes to
the customer (WooCommerce emails it) when the shop's `woocommerce_note_to_customer` is on.

Idempotent: the order is read first and only what differs is written (one PUT), and the note is
added only when the digest it records changed. The digest is saved before the note is added, so a
crash in between loses one note rather than ever sending the customer the same note twice.
WooCommerce has no order tags; the `tag` of the Connector protocol has no counterpart here.

Note: WooCommerce recalculates an order's totals whenever a REST update includes line_items, so
the PUT includes them only when a line's meta really changes.

Storefront (`write_product_etas`): the same JSON value the Shopify variant metafield holds
(plugin/storefront/push.py), as meta on the product or variation, in batch requests of at most
100 (products/batch, products/<id>/variations/batch); removing it sends the value null, which
WooCommerce's meta store turns into a delete.
"""
from __future__ import annotations

import json
from typing import Mapping, Sequence

from babel.dates import format_date

from connectors.base import LineEta
from connectors.woocommerce.client import WooClient
from connectors.woocommerce.manifest import line_meta_key, line_meta_label, line_meta_labels, product_meta_key
from plugin.locales import choose_locale

ORDER_ETAS_META = "_backorder_desk_etas"
ORDER_NOTED_META = "_backorder_desk_noted"

_NOTE = {
    "en": ("Backorder Desk: estimated ship date", "{qty} × {name}: {date}"),
    "pl": ("Backorder Desk: przewidywana data wysyłki", "{qty} × {name}: {date}"),
}


def etas_digest(etas: Sequence[LineEta]) -> str:
    return json.dumps([{"line_id": e.platform_line_id, "sku": e.sku, "quantity": e.quantity, "eta": e.eta.isoformat()}
                       for e in sorted(etas, key=lambda e: e.platform_line_id)], separators=(",", ":"))


def _meta_values(items) -> dict[str, object]:
    return {m.get("key"): m.get("value") for m in items or [] if isinstance(m, dict)}


def write_order_marks(client: WooClient, order_id: str, etas: Sequence[LineEta], *, fallback_locale: str | None,
                      note_to_customer: bool) -> dict:
    """Write the line ETAs, the digest and (when it changed) a note. Returns what was written."""
    order = client.get(f"orders/{order_id}", {"all_item_meta": "true"})
    locale = choose_locale(_order_locale(order), fallback_locale)
    label = line_meta_label(locale)
    labels = line_meta_labels()
    hidden = line_meta_key()
    by_line = {str(e.platform_line_id): e for e in etas}
    lines = {str(item.get("id")): item for item in order.get("line_items") or []}
    line_updates = []
    for line_id, item in lines.items():
        meta = _meta_values(item.get("meta_data"))
        eta = by_line.get(line_id)
        if eta is None:
            # No longer backordered: take our dates off the line (null deletes a meta).
            ours = [key for key in meta if key == hidden or key in labels]
            if ours:
                line_updates.append({"id": int(line_id), "meta_data": [{"key": key, "value": None} for key in ours]})
            continue
        shown = format_date(eta.eta, format="long", locale=locale)
        wanted = {label: shown, hidden: eta.eta.isoformat()}
        stale_labels = [key for key in meta if key in labels and key != label]  # the language changed
        if all(meta.get(k) == v for k, v in wanted.items()) and not stale_labels:
            continue
        line_updates.append({"id": int(line_id), "meta_data": [{"key": k, "value": v} for k, v in wanted.items()]
                             + [{"key": key, "value": None} for key in stale_labels]})
    order_meta = _meta_values(order.get("meta_data"))
    digest = etas_digest(etas)
    update: dict = {}
    if line_updates:
        update["line_items"] = line_updates
    meta_updates = []
    if order_meta.get(ORDER_ETAS_META) != digest:
        meta_updates.append({"key": ORDER_ETAS_META, "value": digest})
    note_due = bool(etas) and order_meta.get(ORDER_NOTED_META) != digest
    if note_due:
        meta_updates.append({"key": ORDER_NOTED_META, "value": digest})
    if meta_updates:
        update["meta_data"] = meta_updates
    if update:
        client.put(f"orders/{order_id}", update)
    if note_due:
        client.post(f"orders/{order_id}/notes", {"note": _note_text(etas, lines, locale),
                                                 "customer_note": bool(note_to_customer)})
    return {"lines": len(line_updates), "note": note_due, "customer_note": bool(note_due and note_to_customer)}


def _note_text(etas: Sequence[LineEta], lines: Mapping[str, dict], locale: str) -> str:
    title, row = _NOTE.get(locale, _NOTE["en"])
    rows = []
    for eta in sorted(etas, key=lambda e: e.platform_line_id):
        item = lines.get(str(eta.platform_line_id)) or {}
        name = item.get("name") or eta.sku or eta.platform_line_id
        rows.append(row.format(qty=eta.quantity, name=name, date=format_date(eta.eta, format="long", locale=locale)))
    return title + "\n" + "\n".join(rows)


def _order_locale(order: dict) -> str | None:
    from connectors.woocommerce.orders import _locale

    return _locale(order)


def write_product_etas(client: WooClient, items: Sequence[tuple[str, str | None]], parents: Mapping[str, str]) -> int:
    """Set (value) or remove (None) the storefront ETA meta of each (variant id, value); `parents`
    maps variation ids to their product. Returns the number of batch requests made."""
    key = product_meta_key()
    simple: list[dict] = []
    variations: dict[str, list[dict]] = {}
    for variant_id, value in items:
        entry = {"id": int(variant_id), "meta_data": [{"key": key, "value": value}]}
        parent = parents.get(str(variant_id))
        if parent and parent != str(variant_id):
            variations.setdefault(parent, []).append(entry)
        else:
            simple.append(entry)
    calls = 0
    if simple:
        client.batch("products", update=simple)
        calls += 1
    for parent, entries in variations.items():
        client.batch(f"products/{parent}/variations", update=entries)
        calls += 1
    return calls
